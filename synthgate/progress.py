"""How the library reports progress without printing: a callback the caller supplies."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
"""progress(step, done, total): called as work advances; the CLI draws bars from it."""


def silent(step: str, done: int, total: int) -> None:
    """The progress callback used when none is given."""
