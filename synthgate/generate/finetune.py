"""Fine-tuning a generator on labelled rows: causal (`{label}: {text}<eos>`), seq2seq
(`source` → `text`, the paraphraser's last step) or infill (T5 span corruption), with the loss
on a held-out split before and after, pad tokens masked out of the loss."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from synthgate.errors import SynthgateError
from synthgate.generate.hf import load_model, torch_dtype
from synthgate.generate.infill import corrupt
from synthgate.progress import Progress, silent

OBJECTIVES = {
    "causal": "AutoModelForCausalLM",
    "seq2seq": "AutoModelForSeq2SeqLM",
    "infill": "AutoModelForSeq2SeqLM",
}
HELD_OUT = 0.1  # share of rows kept out of training to measure the loss on (at least one)


NEEDS = {"causal": ("label", "text"), "seq2seq": ("source", "text"), "infill": ("text",)}
PAIRS = {
    "causal": '"{label}: {text}<eos>"',
    "seq2seq": "source -> text pairs",
    "infill": "span corruption of text",
}


def check_rows(
    rows: pl.DataFrame,
    objective: str,
    what: str = "data",
    *,
    per_label: bool = False,
    train: pl.Series | None = None,
) -> None:
    """Raise, naming `what`, the column and the first row (from 1), if a column the objective
    reads is missing, or null or blank in a row it would train on (`train`: those rows; default
    all): an empty source or label would silently become an empty prompt."""
    if objective not in OBJECTIVES:
        raise SynthgateError(
            f"--objective: must be one of {', '.join(OBJECTIVES)}; got {objective!r}"
        )
    extra = per_label and objective != "causal"  # label then only splits the rows
    need = NEEDS[objective] + (("label",) if extra else ())
    for name in need:
        if name not in rows.columns:
            flag = "--per-label" if extra and name == "label" else f"--objective {objective}"
            raise SynthgateError(
                f"finetune: {flag} needs a {name} column in {what}; "
                f"columns found: {', '.join(rows.columns)}"
            )
    keep = pl.lit(True) if train is None else pl.lit(train)
    blank = rows.select([(_blank(pl.col(n).cast(pl.String)) & keep).alias(n) for n in need])
    bad = blank.select(pl.any_horizontal(pl.all())).to_series()
    if bad.any():
        row = int(bad.arg_max())  # type: ignore[arg-type]
        name = next(n for n in need if blank[n][row])
        why = (
            "--per-label trains one model per label"
            if extra and name == "label"
            else f"--objective {objective} trains on {PAIRS[objective]}"
        )
        n = int(bad.sum())
        raise SynthgateError(
            f"{what}: column {name!r} is empty at row {row + 1} "
            f"({n:,} such row{'' if n == 1 else 's'}); {why}"
        )


def _blank(column: pl.Expr) -> pl.Expr:
    return column.is_null() | (column.str.strip_chars() == "")  # "" is an empty CSV cell


def pairs(rows: pl.DataFrame, objective: str, seed: int) -> tuple[list[str], list[str]]:
    """(inputs, targets) of `objective` from rows that passed `check_rows`."""
    texts = rows["text"].to_list()
    if objective == "causal":
        return [f"{label}: {text}" for label, text in zip(rows["label"], texts, strict=True)], []
    if objective == "seq2seq":
        return [f"paraphrase: {s} </s>" for s in rows["source"]], texts
    rng = np.random.default_rng(seed)
    masked = [corrupt(t, rng) for t in texts]
    answers = [
        " ".join(f"<extra_id_{i}> {span}" for i, span in enumerate(spans)) for _, spans in masked
    ]
    return [m for m, _ in masked], answers


def finetune(
    rows: pl.DataFrame,
    model: str,
    out: Path,
    objective: str,
    *,
    epochs: int = 1,
    lr: float = 5e-5,
    batch_size: int = 8,
    seed: int = 0,
    device: str = "auto",
    progress: Progress = silent,
) -> dict[str, Any]:
    """Fine-tune `model` on `rows` and save it (tokenizer too) to `out`, which then loads as
    `[generate] model`. Returns the held-out loss before and after and the row counts."""
    import torch

    from synthgate.embed import resolve_device

    check_rows(rows, objective)  # before a model loads
    dev = resolve_device(device)
    tokenizer, net = load_model(model, OBJECTIVES[objective], dev, torch_dtype("float32", dev))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"  # training reads every position; the mask hides padding
    inputs, targets = pairs(rows, objective, seed)
    order = np.random.default_rng(seed).permutation(len(inputs))
    n_held = max(1, math.ceil(HELD_OUT * len(inputs))) if len(inputs) > 1 else 0
    held, train = order[:n_held], order[n_held:]
    if len(train) == 0:
        raise SynthgateError("finetune: --data needs at least two rows (one held out)")
    batch = _Batcher(tokenizer, inputs, targets, objective, dev)
    before = _loss(net, batch, held, batch_size)
    optimiser = torch.optim.AdamW(net.parameters(), lr=lr)
    torch.manual_seed(seed)
    per_epoch = math.ceil(len(train) / batch_size)
    done = 0
    for epoch in range(epochs):
        net.train()
        shuffled = np.random.default_rng([seed, epoch]).permutation(train)
        for part in np.array_split(shuffled, per_epoch):
            loss = net(**batch(part)).loss
            loss.backward()
            optimiser.step()
            optimiser.zero_grad()
            done += 1
            progress("finetune", done, epochs * per_epoch)
    after = _loss(net, batch, held, batch_size)
    out.mkdir(parents=True, exist_ok=True)
    net.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {
        "objective": objective,
        "model": model,
        "train_rows": len(train),
        "held_out_rows": len(held),
        "held_out_loss_before": before,
        "held_out_loss_after": after,
        "epochs": epochs,
        "lr": lr,
        "seed": seed,
    }


class _Batcher:
    """Token tensors for a set of row positions; pad positions are -100 in the labels."""

    def __init__(
        self, tokenizer: Any, inputs: list[str], targets: list[str], objective: str, device: str
    ) -> None:
        self.tok, self.inputs, self.targets = tokenizer, inputs, targets
        self.causal, self.device = objective == "causal", device

    def __call__(self, idx: np.ndarray) -> dict[str, Any]:
        texts = [self.inputs[i] for i in idx]
        if self.causal:
            eos = self.tok.eos_token
            enc = self.tok([t + eos for t in texts], return_tensors="pt", padding=True)
            labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        else:
            enc = self.tok(texts, return_tensors="pt", padding=True)
            tgt = self.tok([self.targets[i] for i in idx], return_tensors="pt", padding=True)
            labels = tgt["input_ids"].masked_fill(tgt["attention_mask"] == 0, -100)
        return {k: v.to(self.device) for k, v in {**enc, "labels": labels}.items()}


def _loss(net: Any, batch: _Batcher, idx: np.ndarray, batch_size: int) -> float:
    """Mean token loss over the rows `idx` (weighted by batch size)."""
    import torch

    net.eval()
    total, n = 0.0, 0
    with torch.inference_mode():
        for lo in range(0, len(idx), batch_size):
            part = idx[lo : lo + batch_size]
            total += float(net(**batch(part)).loss) * len(part)
            n += len(part)
    return round(total / n, 6) if n else float("nan")
