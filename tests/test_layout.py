"""The package's shape: imports point one way (no cycles between modules or between the
pipeline's folders), the low layers know nothing of the pages and tools built on them, and the
top of the package stays small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "synthgate"


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """module -> the synthgate modules it imports (lazy imports in functions included)."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("synthgate"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in modules else str(node.module))
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("synthgate.")}
        graph[name] = {d for d in deps if d in modules and d not in (name, "synthgate")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep, [*path, dep])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def _folder(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def _folders(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for module, deps in graph.items():
        out.setdefault(_folder(module), set()).update(
            _folder(d) for d in deps if _folder(d) != _folder(module)
        )
    return out


def test_no_import_cycle_between_modules() -> None:
    assert _cycle(_graph()) is None


def test_no_import_cycle_between_folders() -> None:
    assert _cycle(_folders(_graph())) is None


@pytest.mark.parametrize(
    ("low", "high"),
    [
        ("gate", {"pipeline", "report", "tune", "evaluate", "cli", "io", "scorers"}),
        ("scorers", {"pipeline", "report", "tune", "evaluate", "cli", "io", "config"}),
        ("io", {"pipeline", "report", "tune", "evaluate", "cli", "scorers", "job"}),
        ("report", {"pipeline", "tune", "evaluate", "cli", "job"}),
        ("pipeline", {"tune", "evaluate", "cli", "job", "regate", "rounds"}),
        ("generate", {"pipeline", "config", "rounds", "job", "report", "tune", "cli", "io"}),
    ],
)
def test_lower_layers_do_not_import_higher_ones(low: str, high: set[str]) -> None:
    assert not _folders(_graph()).get(low, set()) & high


def test_the_top_of_the_package_stays_small() -> None:
    top = [p for p in PACKAGE.glob("*.py")]
    assert len(top) <= 16, sorted(p.name for p in top)
    assert not (PACKAGE / "plant.py").exists()  # test tooling lives in tests/
