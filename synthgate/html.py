"""Self-contained HTML pages: inline CSS, plots as inline SVG, no script, no network."""

from __future__ import annotations

import html
import io
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { border: 1px solid #ddd; padding: .25em .6em; vertical-align: top; }
th { background: #f4f4f6; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { max-width: 60em; white-space: pre-wrap; word-break: break-word; }
.note { color: #555; } .grid { display: flex; flex-wrap: wrap; gap: 1em; }
.grid figure { margin: 0; } figcaption { font-size: .9em; color: #555; }
nav ul { display: flex; flex-wrap: wrap; gap: .2em 1.2em; list-style: none; padding: 0; }
summary { cursor: pointer; } summary h2 { display: inline-block; margin: 1.2em 0 .2em; }
details > summary::marker { font-size: 1.2em; }
"""


def esc(value: Any) -> str:
    """`value` as HTML text."""
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, body: Iterable[str]) -> str:
    """A complete, self-contained HTML document."""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width'><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body>\n<h1>{esc(title)}</h1>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def section(title: str, *parts: str, anchor: str = "", folded: bool = False) -> str:
    """An <h2> section; `anchor` gives it an id for the page's navigation. `folded` puts its
    content in a closed <details> (a click opens it; no script)."""
    ident = f" id='{esc(anchor)}'" if anchor else ""
    body = "\n".join(parts)
    if folded:
        head = f"<details><summary><h2>{esc(title)}</h2></summary>\n"
        return f"<section{ident}>{head}{body}\n</details></section>"
    return f"<section{ident}><h2>{esc(title)}</h2>\n{body}\n</section>"


def para(text: str, cls: str = "") -> str:
    """A paragraph of escaped text."""
    return f"<p class='{cls}'>{esc(text)}</p>" if cls else f"<p>{esc(text)}</p>"


def fmt(value: Any) -> str:
    """Numbers for people: 1,234 / 0.873 / 12.5%-free; None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], text_cols: Sequence[int] = ()
) -> str:
    """An HTML table; numbers right-aligned, columns in `text_cols` wrapped as prose."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            cls = " class='text'" if i in text_cols else (" class='num'" if numeric else "")
            cells.append(f"<td{cls}>{esc(fmt(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(width: float = 5.0, height: float = 3.0) -> Figure:
    """A matplotlib Figure not tied to pyplot (no global state, safe in any thread)."""
    return Figure(figsize=(width, height), layout="constrained")


def svg(fig: Figure, caption: str = "") -> str:
    """`fig` as an inline <svg> inside a <figure>."""
    buffer = io.StringIO()
    no_meta = {"Creator": None, "Date": None, "Format": None, "Type": None}  # no URLs, no time
    # ids from content, not uuid4; text as <text> in the page font, not paths per glyph (smaller)
    with matplotlib.rc_context({"svg.hashsalt": "synthgate", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata=no_meta)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML prolog and doctype: inline SVG has none
    return inline_figure(text, caption)


def inline_figure(markup: str, caption: str = "") -> str:
    """SVG markup (built by the caller, its text escaped) inside a <figure> with a caption."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f"<figure>{markup}{cap}</figure>"
