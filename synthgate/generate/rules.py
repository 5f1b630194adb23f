"""The offline augmenter: EDA-style word edits (Wei & Zou 2019), no model, seeded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
import polars as pl

from synthgate.generate.base import outputs
from synthgate.progress import Progress, silent

ALPHA = 0.1  # share of a text's words one edit touches: EDA's recommended alpha (Wei & Zou 2019)
_VOCAB_WORD = re.compile(r"^[A-Za-z][A-Za-z']*$")


@dataclass
class RulesGenerator:
    """Random swap, deletion or insertion of a word from the same label's real vocabulary; each
    output's edit is drawn from (seed, its request's position, its copy), so the same config
    gives the same rows however they are batched."""

    num_return_sequences: int = 1

    name: ClassVar[str] = "rules"
    default_prompt: ClassVar[str] = "{text}"

    def fit(self, real: pl.DataFrame) -> Self:
        """Each label's vocabulary: the words of its real rows, in first-seen order."""
        self.vocab_: dict[str, list[str]] = {}
        for label, text in zip(real["label"], real["text"], strict=True):
            if label is None or text is None:
                continue
            words = self.vocab_.setdefault(str(label), [])
            words.extend(w for w in text.split() if _VOCAB_WORD.match(w))
        self.vocab_ = {k: list(dict.fromkeys(v)) for k, v in self.vocab_.items()}
        self.batch_sizes_: list[int] = []
        return self

    def generate(
        self, requests: pl.DataFrame, seed: int, progress: Progress = silent
    ) -> pl.DataFrame:
        """`num_return_sequences` edits of each request's prompt, request by request."""
        texts, index = [], []
        for i, (prompt, label) in enumerate(
            zip(requests["prompt"], requests["label"], strict=True)
        ):
            for copy in range(self.num_return_sequences):
                rng = np.random.default_rng([seed, i, copy])
                texts.append(edit(prompt, self.vocab_.get(label, []), rng))
                index.append(i)
        return outputs(index, texts, [False] * len(texts), [seed] * len(texts))


def edit(text: str, vocab: list[str], rng: np.random.Generator) -> str:
    """One EDA edit of `text`: swap, delete or insert ceil(ALPHA × words) words (at least one;
    a deletion keeps at least one word)."""
    words = text.split()
    if not words:
        return text
    n = max(1, int(np.ceil(ALPHA * len(words))))
    op = ("swap", "delete", "insert")[int(rng.integers(3))]
    if (op == "delete" and len(words) < 2) or (op == "insert" and not vocab):
        op = "swap"
    for _ in range(n):
        if op == "swap" and len(words) >= 2:
            i, j = rng.choice(len(words), size=2, replace=False)
            words[i], words[j] = words[j], words[i]
        elif op == "delete" and len(words) >= 2:
            del words[int(rng.integers(len(words)))]
        elif op == "insert":
            words.insert(int(rng.integers(len(words) + 1)), vocab[int(rng.integers(len(vocab)))])
    return " ".join(words)
