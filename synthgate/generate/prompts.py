"""Prompts from real rows: a template with {label}, {text}, {keywords}, {sentence} and {seed},
filled from a seeded walk over each label's real rows."""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from synthgate.errors import ConfigError, SynthgateError

PLACEHOLDERS = ("label", "text", "keywords", "sentence", "seed")
_WORD = re.compile(r"[a-z][a-z']{2,}")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
KEYWORD_POOL = 20  # a label's most distinctive words that {keywords} draws two from
# {seed}: two keywords or one real sentence, each with probability 0.5 (the class-balancing
# recipe's coin flip per prompt)
SEED_SENTENCE_P = 0.5


@dataclass(frozen=True)
class Template:
    """A prompt template; an unknown placeholder, a positional `{}` or a stray brace is a
    ConfigError naming `generate.prompt`."""

    text: str

    def __post_init__(self) -> None:
        try:
            parsed = list(string.Formatter().parse(self.text))
        except ValueError as exc:
            raise ConfigError(f"generate.prompt: bad template {self.text!r}: {exc}") from exc
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if name not in PLACEHOLDERS or spec or conversion:
                allowed = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                raise ConfigError(
                    f"generate.prompt: unknown placeholder {{{name}}}; available: {allowed} "
                    "(write {{ and }} for literal braces)"
                )

    @property
    def names(self) -> set[str]:
        """The placeholders the template uses."""
        return {name for _, name, _, _ in string.Formatter().parse(self.text) if name}

    @property
    def uses_row(self) -> bool:
        """Whether every prompt is built from one real row (its text or one of its sentences)."""
        return bool(self.names & {"text", "sentence"})

    def fill(self, **values: str) -> str:
        """The template with `values` put in."""
        return self.text.format(**values)


@dataclass
class PromptBuilder:
    """Prompts per label. Each label's real rows are walked in a seeded shuffled order, on
    across rounds, so every row is a source once before any is used twice."""

    template: Template
    seed: int = 0
    cursor_: dict[str, int] = field(default_factory=dict)

    def fit(self, real: pl.DataFrame) -> PromptBuilder:
        """Learn each label's rows (in a seeded order) and keyword pool from `real` (id, text,
        label)."""
        self.rng_ = np.random.default_rng(self.seed)
        self.rows_: dict[str, pl.DataFrame] = {}
        for (label,), rows in real.filter(pl.col("text").is_not_null()).group_by(
            "label", maintain_order=True
        ):
            self.rows_[str(label)] = rows.sample(fraction=1.0, shuffle=True, seed=self.seed)
        self.keywords_ = keyword_pools(real)
        return self

    def build(self, label: str, n: int) -> pl.DataFrame:
        """`n` prompts for `label`: columns label, prompt, source, source_id (null unless the
        template reads a real row)."""
        rows = self.rows_.get(label)
        if rows is None or rows.height == 0:
            raise SynthgateError(
                f"generate.labels: label {label!r} has no real rows to build "
                f"prompts from; labels found: {', '.join(self.rows_)}"
            )
        start = self.cursor_.get(label, 0)
        self.cursor_[label] = start + n
        picked = rows[[(start + i) % rows.height for i in range(n)]]
        prompts, sources, ids = [], [], []
        for text, row_id in zip(picked["text"], picked["id"], strict=True):
            values = {"label": label, "text": text, "sentence": self._sentence(text)}
            values["keywords"] = self._keywords(label)
            # {seed}: a coin per prompt, drawn only when the template asks for it
            from_row = "seed" in self.template.names and self.rng_.random() < SEED_SENTENCE_P
            values["seed"] = values["sentence"] if from_row else values["keywords"]
            prompts.append(self.template.fill(**values))
            row = self.template.uses_row or from_row
            sources.append(text if row else None)
            ids.append(row_id if row else None)
        return pl.DataFrame(
            {"label": [label] * n, "prompt": prompts, "source": sources, "source_id": ids},
            schema={c: pl.String for c in ("label", "prompt", "source", "source_id")},
        )

    def _sentence(self, text: str) -> str:
        parts = [p for p in _SENTENCE.split(text.strip()) if p]
        return parts[int(self.rng_.integers(len(parts)))] if parts else text

    def _keywords(self, label: str) -> str:
        pool = self.keywords_.get(label) or []
        if not pool:
            return label
        pick = self.rng_.choice(len(pool), size=min(2, len(pool)), replace=False)
        return " ".join(pool[i] for i in sorted(pick))


def keyword_pools(real: pl.DataFrame) -> dict[str, list[str]]:
    """Each label's most distinctive words: count in the label × log of how few labels use it
    (tf-idf over labels as documents), words seen twice or more, best first."""
    counts: dict[str, Counter[str]] = {}
    for label, text in zip(real["label"], real["text"], strict=True):
        if label is not None and text is not None:
            counts.setdefault(str(label), Counter()).update(_WORD.findall(text.lower()))
    df = Counter(w for c in counts.values() for w in c)
    n_labels = len(counts)
    pools = {}
    for label, c in counts.items():
        scored = {w: k * math.log((1 + n_labels) / df[w]) for w, k in c.items() if k >= 2}
        ranked = sorted(scored, key=lambda w: (-scored[w], w)) or sorted(c, key=lambda w: -c[w])
        pools[label] = ranked[:KEYWORD_POOL]
    return pools
