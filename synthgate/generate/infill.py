"""T5 span infilling: blank out spans of a real text with sentinels, let the model fill them,
and put the answers back (the span-corruption objective of Raffel et al. 2020)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from synthgate.generate.hf import Seq2SeqGenerator

NOISE_DENSITY = 0.15  # share of words blanked: T5's span corruption (Raffel et al. 2020, §3.1.4)
MEAN_SPAN = 3  # mean blanked span length in words (ibid.)
_SENTINEL = re.compile(r"<extra_id_(\d+)>")
_SPECIAL = re.compile(r"</s>|<pad>|<unk>")


@dataclass
class InfillGenerator(Seq2SeqGenerator):
    """A T5 model fills blanked spans of each prompt (a real text by default); each output is
    the prompt with its spans replaced by the model's."""

    name: ClassVar[str] = "infill"
    default_prompt: ClassVar[str] = "{text}"

    def batch(self, prompts: list[str], seed: int) -> list[tuple[str, bool]]:
        """(text, truncated) for each prompt × num_return_sequences: spans blanked with a
        generator seeded by `seed`, filled by the model, reassembled."""
        rng = np.random.default_rng(seed)
        masked = [corrupt(p, rng)[0] for p in prompts]
        tokenizer, rows = self.new_tokens(masked, seed)
        eos, n = tokenizer.eos_token_id, self.num_return_sequences
        return [
            (
                reassemble(masked[k // n], tokenizer.decode(row, skip_special_tokens=False)),
                bool((row != eos).all()),
            )
            for k, row in enumerate(rows)
        ]


def corrupt(text: str, rng: np.random.Generator) -> tuple[str, list[str]]:
    """`text` with about NOISE_DENSITY of its words blanked in spans of about MEAN_SPAN words,
    each replaced by the next sentinel `<extra_id_N>`; and the blanked spans, in order."""
    words = text.split()
    if not words:
        return text, []
    n_noise = max(1, round(len(words) * NOISE_DENSITY))
    n_spans = max(1, round(n_noise / MEAN_SPAN))
    length, segment = max(1, n_noise // n_spans), len(words) // n_spans
    out, spans, pos = [], [], 0
    for j in range(n_spans):
        start = j * segment + int(rng.integers(max(1, segment - length + 1)))
        out += [*words[pos:start], f"<extra_id_{j}>"]
        spans.append(" ".join(words[start : start + length]))
        pos = start + length
    out += words[pos:]
    return " ".join(out), spans


def reassemble(masked: str, answer: str) -> str:
    """`masked` with each sentinel replaced by the model's span for it (decoded `answer`:
    `<extra_id_0> span <extra_id_1> span </s>`); a span the model left out becomes nothing."""
    parts = _SENTINEL.split(_SPECIAL.sub(" ", answer))
    spans = {int(parts[i]): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    filled = _SENTINEL.sub(lambda m: spans.get(int(m.group(1)), ""), masked)
    return " ".join(filled.split())
