"""The discriminator's opt-in encoder: a fresh copy of a sentence encoder fine-tuned per fold."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np

from synthgate.scorers.crossfit import Splits

# Fine-tuning rate of BERT (Devlin et al. 2019, appendix A.3: 2e-5 to 5e-5); the head starts
# from scratch on unit-length embeddings, so it learns at a rate of its own.
ENCODER_LR, HEAD_LR = 5e-5, 1e-3


def fine_tuned_out_of_fold(
    texts: list[str],
    y: np.ndarray,
    splits: Splits,
    base: Any,
    epochs: int,
    batch_size: int,
    seed: int,
) -> np.ndarray:
    """Each row's P(candidate) from a copy of the SentenceTransformer `base` with a linear head,
    fine-tuned on the other folds' rows only."""
    p = np.full(len(y), np.nan)
    for train, test in splits:
        fitted = train_fold(base, [texts[i] for i in train], y[train], epochs, batch_size, seed)
        p[test] = predict(fitted, [texts[i] for i in test], batch_size)
    return p


def train_fold(
    base: Any, texts: list[str], y: np.ndarray, epochs: int, batch_size: int, seed: int
) -> tuple[Any, Any]:
    """(encoder, head): a copy of `base` (whose weights stay untouched) and a linear head on its
    sentence embedding, trained together on (texts, y)."""
    import torch

    torch.manual_seed(seed)
    model = copy.deepcopy(base).train()
    head = torch.nn.Linear(model.get_embedding_dimension(), 1).to(model.device)
    groups = [{"params": model.parameters()}, {"params": head.parameters(), "lr": HEAD_LR}]
    optimiser = torch.optim.AdamW(groups, lr=ENCODER_LR)
    # Candidates weighted by real/candidate rows: the class balance of the linear scorer.
    weight = torch.tensor(float((y == 0).sum()) / max(int(y.sum()), 1), device=model.device)
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=weight)
    target = torch.tensor(y, dtype=torch.float32, device=model.device)
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        for batch in _batches(order.permutation(len(texts)), batch_size):
            loss = loss_of(_logits((model, head), [texts[i] for i in batch]), target[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model.eval(), head


def predict(fitted: tuple[Any, Any], texts: list[str], batch_size: int) -> np.ndarray:
    """P(candidate) of each text, encoded longest first (less padding), in input order."""
    import torch

    p = np.zeros(len(texts))
    order = np.argsort([-len(t) for t in texts], kind="stable")
    with torch.inference_mode():
        for batch in _batches(order, batch_size):
            logits = _logits(fitted, [texts[i] for i in batch])
            p[batch] = torch.sigmoid(logits).float().cpu().numpy()
    return p


def _logits(fitted: tuple[Any, Any], texts: list[str]) -> Any:
    from sentence_transformers.util import batch_to_device

    model, head = fitted
    features = batch_to_device(model.preprocess(texts), model.device)
    return head(model(features)["sentence_embedding"]).squeeze(-1)


def _batches(order: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for lo in range(0, len(order), size):
        yield order[lo : lo + size]
