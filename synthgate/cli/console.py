"""What the command line shows: progress bars and tables, drawn with rich."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from synthgate.progress import Progress as ProgressFn


@contextmanager
def progress_bars(console: Console) -> Iterator[ProgressFn]:
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
        f"({pct(report['accepted'], rows)})"
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


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"
