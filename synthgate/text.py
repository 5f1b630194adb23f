"""Text normalisation shared by the scorers."""

from __future__ import annotations

import html

import polars as pl

_PUNCT = r"[\p{P}\p{S}]+"


def unescape_html(texts: pl.Series) -> pl.Series:
    """Decode HTML entities (`&lt;`, `&amp;lt;`, `&#39;`); only rows holding '&' pay for it."""
    has_amp = texts.str.contains("&", literal=True).fill_null(False)
    if not has_amp.any():
        return texts
    decoded = [_unescape(t) if flag else t for t, flag in zip(texts, has_amp, strict=True)]
    return pl.Series(texts.name, decoded, dtype=pl.String)


def normalize(texts: pl.Series) -> pl.Series:
    """The dedup key: HTML entities decoded, NFKC, lower case, no punctuation, single spaces."""
    return (
        unescape_html(texts.fill_null(""))
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(_PUNCT, "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def _unescape(text: str, rounds: int = 3) -> str:
    # Scraped and re-exported text is often escaped twice (`&amp;lt;`): decode to a fixed point.
    for _ in range(rounds):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text
