"""Grammatical acceptability of a candidate, as T5's CoLA task (or a CoLA classifier) reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl

from synthgate.acceptability import Classifier
from synthgate.errors import check_params
from synthgate.scorers.base import Resources, lookup
from synthgate.scorers.t5_answers import answer_table, present, summary, t5_answerer
from synthgate.t5 import COLA, COLA_PROMPT, Answers

BACKENDS = ("t5", "classifier")


@dataclass
class ColaScorer:
    """Probability that the candidate is grammatically acceptable (CoLA), from the run's T5.

    With `backend = "t5"`: in `score` mode the likelihood of "acceptable" renormalised over
    "acceptable" and "unacceptable"; in `generate` mode 1 or 0 from the greedy answer
    (unparsable: null and `cola_unparsable`). With `backend = "classifier"`: the softmax
    probability of the acceptable class of a sequence classifier. Null for empty text."""

    backend: str = field(
        default="t5", metadata={"help": "'t5' (the [t5] model) or 'classifier' (see classifier)"}
    )
    classifier: str = field(
        default="",
        metadata={
            "help": "backend 'classifier': a Hugging Face sequence-classification model "
            "fine-tuned on CoLA (name or folder; `synthgate train acceptability` makes one)"
        },
    )

    name: ClassVar[str] = "cola"
    requires: ClassVar[tuple[str, ...]] = ("id", "text")
    enabled_by_default: ClassVar[bool] = False  # needs a model on disk
    columns: ClassVar[dict[str, pl.DataType]] = {
        "cola_p_acceptable": pl.Float64(),
        "cola_truncated": pl.Boolean(),
        "cola_unparsable": pl.Boolean(),
    }

    def __post_init__(self) -> None:
        check_params(
            "scorers.cola",
            self,
            {
                "backend": (self.backend in BACKENDS, "'t5' or 'classifier'"),
                "classifier": (
                    self.backend != "classifier" or bool(self.classifier),
                    "a model name or folder when backend = 'classifier'",
                ),
            },
        )

    @property
    def needs(self) -> tuple[str, ...]:
        """The shared T5, unless a classifier of its own does the work."""
        return ("t5",) if self.backend == "t5" else ()

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources) -> Self:
        """Answer every distinct candidate text once."""
        if self.backend == "classifier":
            prompt = pl.col("text")  # the classifier reads the sentence itself
            answerer, model, mode = self._classify, self.classifier, "classifier"
        else:
            prompt = pl.format(COLA_PROMPT, "text")
            t5 = resources.get("t5", candidates, real)
            answerer = t5_answerer(t5, COLA, resources.progress)
            model, mode = (t5.model, t5.mode) if t5 else (None, "")
        prompts = candidates.select(pl.when(present(pl.col("text"))).then(prompt).alias("p"))["p"]
        self.table_ = answer_table(candidates["id"], prompts, COLA, answerer)
        self.summary_: dict[str, Any] = summary(self.table_, COLA, model, mode)
        return self

    def prepare(self) -> None:
        """Load the classifier of `backend = "classifier"` now: a bad folder fails at once."""
        if self.backend == "classifier" and getattr(self, "classifier_", None) is None:
            self.classifier_ = Classifier(self.classifier)
            self.classifier_.load()

    def _classify(self, texts: list[str]) -> Answers:
        self.prepare()
        p, truncated = self.classifier_.p_acceptable(texts)
        return Answers(p, truncated, np.zeros(len(texts), dtype=bool))

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Look up each row's answer by id."""
        return lookup(self.table_, batch, self.columns)
