"""What the command line shows: progress (rich bars on a terminal, plain lines in a log) and
tables, drawn with rich. Text that came from the user's data is escaped before it is shown."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from synthgate.progress import Progress as ProgressFn

LINE_EVERY = 5.0
"""Seconds between two progress lines of one step when stderr is not a terminal: a log file
shows life every few seconds without one line per batch (issue 9)."""
Clock = Callable[[], float]
PLAIN: dict[str, Any] = {"markup": False, "highlight": False, "soft_wrap": True}
"""How a line of text is printed: no markup, no colouring, no wrapping."""


@contextmanager
def progress_bars(
    console: Console, *, clock: Clock = time.monotonic, every: float = LINE_EVERY
) -> Iterator[ProgressFn]:
    """Rich bars on a terminal; elsewhere (a log file, a pipe) plain lines such as
    `embed 1,234/5,000 (25%) 12 s`, at most one per step per `every` seconds plus its last."""
    if not console.is_terminal:
        yield progress_lines(console, clock=clock, every=every)
        return
    with _bars(console) as update:
        yield update


def progress_lines(
    console: Console, *, clock: Clock = time.monotonic, every: float = LINE_EVERY
) -> ProgressFn:
    """A progress callback that prints a line per step when `every` seconds have passed since
    its last line (or its start), and one when it completes."""
    started: dict[str, float] = {}
    shown: dict[str, float] = {}
    finished: set[str] = set()

    def update(step: str, done: int, total: int) -> None:
        now = clock()
        if done >= total:
            if step in finished:
                return
            finished.add(step)
        else:
            if step in finished:  # the step runs again (evaluate: once per seed)
                finished.discard(step)
                started[step] = now
                shown.pop(step, None)
            first = started.setdefault(step, now)
            if now - shown.get(step, first) < every:
                return
        shown[step] = now
        console.print(_line(step, done, total, now - started.setdefault(step, now)), **PLAIN)

    return update


def _line(step: str, done: int, total: int, elapsed: float) -> str:
    share = f" ({100 * done / total:.0f}%)" if total else ""
    return f"{safe(step)} {done:,}/{total:,}{share} {elapsed:.0f} s"


@contextmanager
def _bars(console: Console) -> Iterator[ProgressFn]:
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
            tasks[step] = bars.add_task(escape(safe(step)), total=total)  # shown as markup
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
        table.add_row(
            Text(safe(rule)), f"{count:,}", f"{only:,}", f"{skipped:,}" if skipped else ""
        )
    table.add_section()
    table.add_row("rows in", f"{rows:,}", "", "")
    table.add_row("rejected", f"{report['rejected']:,}", "", "")
    table.add_row("accepted", f"{report['accepted']:,}", "", "")
    return table


def scorer_lines(summaries: dict[str, dict[str, Any]]) -> list[str]:
    """What corpus-level scorers found: their figures, then any warning (which may quote a
    label from the data, so control characters are escaped; print them with markup off)."""
    lines = []
    for name, summary in summaries.items():
        figures = [f"{k} {v:.3f}" for k, v in summary.items() if isinstance(v, float)]
        if figures:
            lines.append(f"{name}: {', '.join(figures)}")
        notes = [summary["skipped"]] if summary.get("skipped") else []
        lines += [f"warning: {safe(note)}" for note in notes + list(summary.get("warnings", []))]
    return lines


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def safe(text: object) -> str:
    """`text` with every control, format (bidi overrides, zero-width) and line-separator
    character written as a Python escape (`\\x1b`), so data cannot move the cursor, recolour
    the terminal or reorder what is shown. Markup is not touched: print with markup off, or
    wrap in `Text`, or use `escape`."""
    return "".join(_visible(ch) for ch in str(text))


def _visible(ch: str) -> str:
    if ch == ZWJ or unicodedata.category(ch) not in _HIDDEN:
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


_HIDDEN = {"Cc", "Cf", "Zl", "Zp", "Cs"}  # Unicode general categories that are not glyphs
ZWJ = "\u200d"  # joins emoji sequences (a family, a flag); kept so such labels still read
