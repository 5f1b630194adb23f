"""The two tasks of the original multi-task T5 checkpoints: prompts, answers and parsers.

Raffel et al. 2020 (appendix D) train t5-small/base/large on `stsb sentence1: … sentence2: …`
with the similarity rounded to 0.2 steps as text, and on `cola sentence: …` with
`acceptable` / `unacceptable`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STSB_VALUES = tuple(round(0.2 * i, 1) for i in range(26))  # 0.0, 0.2, …, 5.0


@dataclass(frozen=True)
class Task:
    """A T5 task: its candidate answers and the value each stands for."""

    name: str
    answers: tuple[str, ...]
    values: tuple[float, ...]

    def parse(self, text: str) -> float | None:
        """The value of a generated answer as the recipes read it; None if it is not one."""
        text = text.strip()
        if self.name == "stsb":
            try:
                value = float(text)
            except ValueError:
                return None
            return value if math.isfinite(value) and 0.0 <= value <= 5.0 else None
        return dict(zip(self.answers, self.values, strict=True)).get(text)


STSB = Task("stsb", tuple(f"{v:.1f}" for v in STSB_VALUES), STSB_VALUES)
COLA = Task("cola", ("acceptable", "unacceptable"), (1.0, 0.0))


STSB_PROMPT = "stsb sentence1: {} sentence2: {}"  # source, candidate
COLA_PROMPT = "cola sentence: {}"


def stsb_prompt(source: str, candidate: str) -> str:
    """The STS-B prompt of the T5 checkpoints."""
    return STSB_PROMPT.format(source, candidate)


def cola_prompt(candidate: str) -> str:
    """The CoLA prompt of the T5 checkpoints."""
    return COLA_PROMPT.format(candidate)
