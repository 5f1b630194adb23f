"""A Hugging Face sequence-classification model read as P(acceptable)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthgate.embed import _hub_reachable, _quiet, resolve_device
from synthgate.errors import SynthgateError

MAX_LENGTH = 128  # tokens per sentence: CoLA's longest is under 50 words


@dataclass
class Classifier:
    """A CoLA classifier (name or folder), loaded on first use; remote code is never trusted."""

    model: str
    device: str = "auto"
    batch_size: int = 64
    max_length: int = MAX_LENGTH

    def load(self) -> tuple[Any, Any]:
        """(model, tokenizer), loaded once."""
        if getattr(self, "model_", None) is None:
            self.model_, self.tokenizer_ = _load(self.model, resolve_device(self.device))
        return self.model_, self.tokenizer_

    def p_acceptable(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(P(acceptable), truncated) per text, in longest-first batches."""
        import torch

        model, tokenizer = self.load()
        index = acceptable_index(model.config.id2label)
        lengths = [len(ids) for ids in tokenizer(texts).input_ids] if texts else []
        out = np.zeros(len(texts))
        order = np.argsort([-n for n in lengths], kind="stable")
        for lo in range(0, len(texts), self.batch_size):
            idx = order[lo : lo + self.batch_size]
            batch = tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(model.device)
            with torch.inference_mode():
                logits = model(**batch).logits.double()
            out[idx] = torch.softmax(logits, dim=-1)[:, index].cpu().numpy()
        return out, np.array([n > self.max_length for n in lengths], dtype=bool)


def acceptable_index(id2label: dict[int, str]) -> int:
    """The class read as acceptable: the one named so, else 1 (CoLA's label 1 is acceptable)."""
    named = [i for i, name in id2label.items() if str(name).lower() == "acceptable"]
    return int(named[0]) if named else 1


def _load(name: str, device: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    local = Path(name).exists() or not _hub_reachable()
    kwargs: dict[str, Any] = {"trust_remote_code": False, "local_files_only": local}
    try:
        with _quiet():
            tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
            model = AutoModelForSequenceClassification.from_pretrained(name, **kwargs)
    except Exception as exc:
        raise SynthgateError(
            f"scorers.cola.classifier: cannot load {name!r} (not on disk, and no network "
            "here?); pass a local folder holding a sequence-classification model, such as "
            f'one `synthgate train acceptability` wrote: classifier = "/path/to/{Path(name).name}"'
        ) from exc
    if model.config.num_labels < 2:
        raise SynthgateError(
            f"scorers.cola.classifier: {name!r} has {model.config.num_labels} label; "
            "must be a classifier of at least 2 classes (unacceptable, acceptable)"
        )
    return model.to(device).eval(), tokenizer
