"""The README stays true: its commands, its column table."""

from __future__ import annotations

import re

from conftest import REPO

from synthgate.scorers import SCORERS

README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    section = README.split("## Set-up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.S)


def test_two_setup_commands_and_ci_runs_the_test_one() -> None:
    main_job, tests = _commands()
    assert "synthgate score examples/candidates.csv --real examples/real.csv" in main_job
    assert "pytest" in tests
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1] == tests
    assert "pip install torch==2.13.0 && pip install -e" in tests
    assert "pip install torch==2.13.0 && pip install -e . &&" in main_job


def test_every_output_column_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_{},.0-9]+)` \|", README, flags=re.M))
    expanded = set()
    for name in documented:
        match = re.match(r"(.*)\{(.+)\}(.*)", name)
        if not match:
            expanded.add(name)
            continue
        head, options, tail = match.groups()
        if ".." in options:
            lo, hi = options.split("..")
            options = ",".join(str(n) for n in range(int(lo), int(hi) + 1))
        expanded |= {f"{head}{o}{tail}" for o in options.split(",")}
    columns = {c for cls in SCORERS.values() for c in cls.columns} | {"reasons", "accepted"}
    assert columns <= expanded, sorted(columns - expanded)


def test_every_toml_block_is_a_valid_config() -> None:
    """The recipes and examples the README shows load as written (a typo'd key would not)."""
    import tomllib

    from synthgate.config import merge_config

    blocks = re.findall(r"```toml\n(.+?)\n```", README, flags=re.S)
    assert len(blocks) >= 4
    for block in blocks:
        table = tomllib.loads(block)
        assert merge_config(table), block
