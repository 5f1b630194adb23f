"""Known defects planted into clean text, to check that a gate catches each for its reason.

Used by the end-to-end tests and benchmarks/thresholds.py; handy for checking a new config.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import polars as pl

from synthgate.text import normalize

ARTIFACTS = ("<|endoftext|>", "</s>", "<pad> <pad>", "[SEP]", "\n=====\n", "<unk>")


def exact_copy(text: str, rng: random.Random) -> str:
    """The same text after normalisation: changed case, spacing or an HTML entity."""
    variants = [text.upper(), f"  {text} ", text.replace("&", "&amp;"), text.lower() + "."]
    return rng.choice(variants)


def near_copy(text: str, rng: random.Random, vocab: Sequence[str], edits: int = 2) -> str:
    """`edits` words replaced by other words from `vocab` (a copy that dodges exact dedup)."""
    words = text.split()
    for i in rng.sample(range(len(words)), min(edits, len(words))):
        words[i] = rng.choice([w for w in rng.sample(list(vocab), 8) if w != words[i]] or ["x"])
    return " ".join(words)


def loop(text: str, rng: random.Random) -> str:
    """A sampling rut: the text's opening words, then one short phrase over and over."""
    words = text.split()
    phrase = " ".join(words[: rng.randint(1, min(4, len(words)))])
    return " ".join([*words[:3], *([phrase] * rng.randint(6, 10))])


def artifact(text: str, rng: random.Random) -> str:
    """A leftover special token or separator line."""
    return (
        f"{text} {rng.choice(ARTIFACTS)}".strip()
        if rng.random() < 0.5
        else (f"{rng.choice(ARTIFACTS)} {text}")
    )


def label_echo(text: str, label: str) -> str:
    """The prompt's label leaked in front: `spam: ...`."""
    return f"{label}: {text}"


def empty(rng: random.Random) -> str:
    """Empty or whitespace-only text."""
    return rng.choice(["", " ", "   ", "\n", "\t \n"])


def holdout(frame: pl.DataFrame, fraction: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Shuffle and split a real set into (real, held-out); held-out rows whose normalised text
    is in the real part, or earlier in the held-out part, are dropped, so they are new."""
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    cut = round(shuffled.height * (1 - fraction))
    real, held = shuffled[:cut], shuffled[cut:]
    known = normalize(real["text"]).implode()
    held = (
        held.with_columns(_key=normalize(held["text"]))
        .filter(~pl.col("_key").is_in(known) & (pl.col("_key") != ""))
        .unique("_key", keep="first", maintain_order=True)
        .drop("_key")
    )
    return real, held


# Swaps that keep the meaning of an SMS (texting spellings and exact synonyms), so a reworded
# message stays a copy of its original.
_SYNONYMS = {
    "tomorrow": "tmrw",
    "tonight": "2nite",
    "you": "u",
    "your": "ur",
    "are": "r",
    "please": "pls",
    "ok": "okay",
    "okay": "ok",
    "sorry": "apologies",
    "message": "msg",
    "text": "txt",
    "thanks": "thank you",
}


def semantic_copy(text: str, rng: random.Random) -> str:
    """The same message reworded: its last sentence moved to the front, texting spellings."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    if len(sentences) > 1 and rng.random() < 0.5:
        sentences = [sentences[-1], *sentences[:-1]]
    words = " ".join(sentences).split()
    return " ".join(_SYNONYMS.get(w.lower(), w) for w in words)


def drift(source: str, pool: Sequence[str], rng: random.Random) -> str:
    """An unrelated text from `pool` given as the candidate of `source` (a failed paraphrase)."""
    return rng.choice([t for t in rng.sample(list(pool), 5) if t != source] or [pool[0]])


def off_label(label: str, labels: Sequence[str], rng: random.Random) -> str:
    """Another label than `label`: the text stays, the intended class is wrong."""
    return rng.choice([other for other in labels if other != label])


def word_swap(text: str, rng: random.Random) -> str:
    """Two adjacent words swapped: a near copy that keeps every word."""
    words = text.split()
    if len(words) > 1:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)
