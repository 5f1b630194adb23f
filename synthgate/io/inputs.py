"""Turning a user's table into the canonical frame scorers read: id, text, label, source."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from synthgate.errors import SynthgateError


@dataclass(frozen=True)
class Columns:
    """Which input columns hold the text, label, source and id. Only `text` is required; a
    role whose column was named explicitly (not left at its default) must exist in the
    candidates. The real set needs only `text` and uses the other roles where present."""

    text: str = "text"
    label: str = "label"
    source: str = "source"
    id: str = "id"
    explicit: frozenset[str] = frozenset()


def canonical(
    frame: pl.DataFrame,
    cols: Columns,
    what: str,
    id_prefix: str = "",
    *,
    reference: bool = False,
) -> pl.DataFrame:
    """Select and cast the role columns of `frame` as String; make ids where there are none.
    `reference`: the real set, where an explicitly named column other than text may be absent."""
    if frame.height == 0:
        raise SynthgateError(f"{what}: no rows")
    found = ", ".join(frame.columns) or "(none)"
    out = {}
    for role in ("text", "label", "source", "id"):
        name = getattr(cols, role)
        if name in frame.columns:
            out[role] = _as_text(frame[name], what, name)
        elif role == "text" or (role in cols.explicit and not reference):
            raise SynthgateError(
                f"{what}: no {role} column {name!r}; columns found: {found}{_hint(frame)}"
            )
    result = pl.DataFrame(out)
    if "id" not in result.columns:
        result = result.with_columns(
            id=pl.lit(id_prefix) + pl.int_range(pl.len(), dtype=pl.Int64).cast(pl.String)
        )
    _check_ids(result["id"], what, cols.id)
    return result


def _hint(frame: pl.DataFrame) -> str:
    """How to name a column of a file read without a header line, or how to read one."""
    if all(c.isdigit() for c in frame.columns):
        return " (read without a header line: name columns by position, e.g. --text-col 2)"
    if any(len(c) > 40 or len(c.split()) > 2 for c in frame.columns):  # a row read as a header
        return " (a CSV/TSV file with no header line needs --no-header)"
    return ""


def _as_text(series: pl.Series, what: str, name: str) -> pl.Series:
    if series.dtype == pl.String:
        return series
    if series.dtype.is_nested() or series.dtype == pl.Binary:
        raise SynthgateError(f"{what}: column {name!r} holds {series.dtype}, not text")
    return series.cast(pl.String)


def _check_ids(ids: pl.Series, what: str, name: str) -> None:
    empty = ids.is_null() | (ids.str.strip_chars() == "")  # "" is what an empty CSV cell reads as
    if empty.any():
        row = int(empty.arg_max())  # type: ignore[arg-type]
        raise SynthgateError(f"{what}: column {name!r} is empty at row {row + 1}")
    dup = ids.is_duplicated()
    if dup.any():
        first = int(dup.arg_max())  # type: ignore[arg-type]
        value = ids[first]
        rows = [i + 1 for i in (ids == value).arg_true().head(3).to_list()]
        raise SynthgateError(
            f"{what}: duplicate id {value!r} in column {name!r} (rows {', '.join(map(str, rows))})"
        )
