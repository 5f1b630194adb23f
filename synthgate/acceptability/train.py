"""Fine-tune an encoder into a CoLA acceptability classifier, offline: the `classifier` backend
of the `cola` scorer (`synthgate train acceptability`)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthgate.embed import DEFAULT_MODEL, _packaged_path, _quiet
from synthgate.errors import SynthgateError
from synthgate.progress import Progress, silent

METRICS_FILE = "acceptability.json"  # beside the model: held-out MCC, settings, losses
LABELS = {0: "unacceptable", 1: "acceptable"}  # CoLA's label 1 is acceptable


@dataclass(frozen=True)
class Trained:
    """What a training run measured: per-step losses and the held-out Matthews correlation."""

    out: Path
    losses: list[float]
    mcc: float
    accuracy: float
    train_rows: int
    held_out_rows: int


def read_cola(path: str | Path) -> tuple[list[str], list[int]]:
    """(sentences, labels) of a CoLA file: `source<TAB>label<TAB>orig_label<TAB>sentence`."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SynthgateError(f"{path}: cannot read: {exc.strerror}") from exc
    texts, labels = [], []
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        if not line.strip():
            continue
        if len(fields) != 4 or fields[1] not in ("0", "1"):
            raise SynthgateError(
                f"{path}:{number}: must be CoLA's source<TAB>label (0 or 1)<TAB>orig<TAB>sentence"
            )
        texts.append(fields[3])
        labels.append(int(fields[1]))
    if len(set(labels)) < 2:
        raise SynthgateError(f"{path}: needs acceptable (1) and unacceptable (0) rows")
    return texts, labels


def split(labels: list[int], held_out: float, seed: int) -> tuple[list[int], list[int]]:
    """(train rows, held-out rows), the held-out share drawn within each label."""
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted(set(labels)):
        rows = [i for i, y in enumerate(labels) if y == label]
        rng.shuffle(rows)
        cut = max(1, round(held_out * len(rows)))
        test += rows[:cut]
        train += rows[cut:]
    return sorted(train), sorted(test)


def train_acceptability(
    data: str | Path,
    out: str | Path,
    base: str | None = None,
    *,
    epochs: int = 4,
    lr: float = 5e-5,
    batch_size: int = 32,
    max_length: int = 64,
    held_out: float = 0.1,
    limit: int | None = None,
    seed: int = 0,
    progress: Progress = silent,
) -> Trained:
    """Fine-tune `base` (default: the embedded all-MiniLM-L6-v2) on CoLA rows of `data` and
    save the classifier and its held-out metrics into `out`."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    texts, labels = read_cola(data)
    if limit is not None:
        keep = sorted(random.Random(seed).sample(range(len(texts)), min(limit, len(texts))))
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
    train, test = split(labels, held_out, seed)
    torch.manual_seed(seed)
    model, tokenizer = _base(base)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * -(-len(train) // batch_size)
    schedule = get_linear_schedule_with_warmup(optimiser, int(0.1 * steps), steps)
    rng, losses = random.Random(seed), []
    model.train()
    progress("train", 0, steps)
    for _ in range(epochs):
        order = train[:]
        rng.shuffle(order)
        for lo in range(0, len(order), batch_size):
            rows = order[lo : lo + batch_size]
            batch = _batch(tokenizer, [texts[i] for i in rows], max_length)
            loss = model(**batch, labels=torch.tensor([labels[i] for i in rows])).loss
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
            progress("train", len(losses), steps)
    mcc, accuracy = _evaluate(model.eval(), tokenizer, texts, labels, test, max_length, progress)
    result = Trained(Path(out), losses, mcc, accuracy, len(train), len(test))
    _save(model, tokenizer, result, base or DEFAULT_MODEL, epochs, lr, batch_size, max_length)
    return result


def _base(base: str | None) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    name = base or DEFAULT_MODEL
    path = _packaged_path(name) or name
    label2id = {v: k for k, v in LABELS.items()}
    try:
        with _quiet():
            tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False)
            model = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=2, id2label=LABELS, label2id=label2id, trust_remote_code=False
            )
    except Exception as exc:
        raise SynthgateError(
            f"--base: cannot load {name!r} (not on disk, and no network here?); pass a local "
            "folder holding a Hugging Face encoder (config.json, weights, tokenizer)"
        ) from exc
    return model, tokenizer


def _batch(tokenizer: Any, texts: list[str], max_length: int) -> Any:
    return tokenizer(
        texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"
    )


def _evaluate(
    model: Any,
    tokenizer: Any,
    texts: list[str],
    labels: list[int],
    rows: list[int],
    max_length: int,
    progress: Progress,
) -> tuple[float, float]:
    """(Matthews correlation, accuracy) of the model on `rows`."""
    import torch
    from sklearn.metrics import matthews_corrcoef

    predicted = []
    progress("held-out", 0, len(rows))
    for lo in range(0, len(rows), 64):
        chunk = rows[lo : lo + 64]
        with torch.inference_mode():
            logits = model(**_batch(tokenizer, [texts[i] for i in chunk], max_length)).logits
        predicted += logits.argmax(dim=-1).tolist()
        progress("held-out", lo + len(chunk), len(rows))
    truth = np.array([labels[i] for i in rows])
    return float(matthews_corrcoef(truth, predicted)), float(np.mean(truth == predicted))


def _save(model: Any, tokenizer: Any, result: Trained, base: str, *settings: float | int) -> None:
    result.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(result.out)
    tokenizer.save_pretrained(result.out)
    keys = ("epochs", "lr", "batch_size", "max_length")
    record = {
        "base": base,
        **dict(zip(keys, settings, strict=True)),
        "train_rows": result.train_rows,
        "held_out_rows": result.held_out_rows,
        "held_out_mcc": round(result.mcc, 4),
        "held_out_accuracy": round(result.accuracy, 4),
        "losses": [round(x, 4) for x in result.losses],
    }
    (result.out / METRICS_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
