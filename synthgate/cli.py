"""The command line: thin wrappers over the library; the only module that touches rich."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from synthgate import config as cfg
from synthgate.errors import SynthgateError
from synthgate.inputs import Columns
from synthgate.job import RUN_FILES, run_job
from synthgate.pipeline import Progress as ProgressFn


def build_parser() -> argparse.ArgumentParser:
    """The `synthgate` argument parser."""
    parser = argparse.ArgumentParser(
        prog="synthgate", description="Score synthetic text candidates and gate them."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score and gate candidates; write a run directory")
    score.add_argument("candidates", help="candidate samples (.csv .tsv .jsonl .ndjson .parquet)")
    score.add_argument("--real", required=True, help="real samples, same formats")
    score.add_argument("--out", required=True, help="run directory to write")
    score.add_argument("--config", help="TOML config (see `synthgate init-config`)")
    for role in ("text", "label", "source", "id"):
        score.add_argument(f"--{role}-col", default=None, help=f"{role} column (default: {role})")
    sub.add_parser("init-config", help="print the default config, a comment on each key")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input or config)."""
    args = build_parser().parse_args(argv)
    err = Console(stderr=True, highlight=False)
    try:
        if args.command == "init-config":
            sys.stdout.write(cfg.render_default())
            return 0
        return _score(args, Console(highlight=False), err)
    except SynthgateError as exc:
        return _fail(err, str(exc))
    except OSError as exc:  # a path the library did not check: a config folder, a full disk
        return _fail(err, f"{exc.filename or 'synthgate'}: {exc.strerror or exc}")


def _fail(err: Console, message: str) -> int:
    err.print(f"synthgate: error: {message}", markup=False, soft_wrap=True)
    return 2


def _score(args: argparse.Namespace, out: Console, err: Console) -> int:
    roles = {r: getattr(args, f"{r}_col") for r in ("text", "label", "source", "id")}
    columns = Columns(
        **{r: v for r, v in roles.items() if v is not None},
        explicit=frozenset(r for r, v in roles.items() if v is not None),
    )
    if Path(args.out).exists() and not Path(args.out).is_dir():  # fail before scoring
        raise SynthgateError(f"{args.out}: --out exists and is not a directory")
    with _progress(err) as progress:
        result = run_job(args.candidates, args.real, args.out, args.config, columns, progress)
    out.print(summary_table(result.report))
    for line in scorer_lines(result.report.get("scorers", {})):
        (err if line.startswith("warning:") else out).print(line, markup=False, soft_wrap=True)
    out.print(f"wrote {result.out_dir}/ ({', '.join(RUN_FILES)})", soft_wrap=True)
    return 0


@contextmanager
def _progress(console: Console) -> Iterator[ProgressFn]:
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, Any] = {}

    def update(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bars.add_task(step, total=total)
        bars.update(tasks[step], completed=done, total=total)

    bars.start()
    try:
        yield update
    except BaseException:
        # A failed run leaves only its error line: erase the bars, skip Progress.stop's newline.
        bars.live.transient = True
        bars.live.stop()
        raise
    bars.stop()


def summary_table(report: dict[str, Any]) -> Table:
    """Rows in, accepted, and per rule: rows rejected by it and by it alone."""
    rows = report["rows"]
    table = Table(
        title=f"synthgate: {report['accepted']:,} of {rows:,} accepted "
        f"({_pct(report['accepted'], rows)})"
    )
    table.add_column("rule", no_wrap=True)  # a truncated rule name is no use
    table.add_column("rejected", justify="right")
    table.add_column("only by this rule", justify="right")
    table.add_column("skipped (missing)", justify="right")
    for rule, count in report["rejected_by_rule"].items():
        only = report["rejected_only_by_rule"].get(rule, 0)
        skipped = report["skipped_by_rule"].get(rule, 0)
        table.add_row(rule, f"{count:,}", f"{only:,}", f"{skipped:,}" if skipped else "")
    table.add_section()
    table.add_row("rows in", f"{rows:,}", "", "")
    table.add_row("rejected", f"{report['rejected']:,}", "", "")
    table.add_row("accepted", f"{report['accepted']:,}", "", "")
    return table


def scorer_lines(summaries: dict[str, dict[str, Any]]) -> list[str]:
    """What corpus-level scorers found: their figures, then any warning."""
    lines = []
    for name, summary in summaries.items():
        figures = [f"{k} {v:.3f}" for k, v in summary.items() if isinstance(v, float)]
        if figures:
            lines.append(f"{name}: {', '.join(figures)}")
        notes = [summary["skipped"]] if summary.get("skipped") else []
        lines += [f"warning: {note}" for note in notes + list(summary.get("warnings", []))]
    return lines


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


if __name__ == "__main__":
    raise SystemExit(main())
