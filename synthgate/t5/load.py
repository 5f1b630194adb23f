"""Loading a T5 checkpoint offline-first, with one clear line when it cannot be had."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgate.embed import _hub_reachable, _quiet
from synthgate.errors import SynthgateError

DTYPES = ("auto", "float32", "bfloat16")


def torch_dtype(dtype: str, device: str) -> Any:
    """`auto` is bfloat16 on CUDA (T5 was trained in bfloat16) and float32 elsewhere."""
    import torch

    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    return getattr(torch, dtype)


def load_t5(name: str, device: str, dtype: str) -> tuple[Any, Any]:
    """(model, tokenizer) of the seq2seq checkpoint `name` (a hub name or a local folder):
    from the folder, else from the local cache, else from the hub only when it answers."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    local = Path(name).exists() or not _hub_reachable()
    kwargs: dict[str, Any] = {"trust_remote_code": False, "local_files_only": local}
    try:
        with _quiet():
            tokenizer = AutoTokenizer.from_pretrained(name, **kwargs)
            model = AutoModelForSeq2SeqLM.from_pretrained(
                name, dtype=torch_dtype(dtype, device), **kwargs
            )
    except Exception as exc:
        raise SynthgateError(
            f"t5.model: cannot load {name!r} (not on disk, and no network here?); pass a local "
            "folder holding a T5 checkpoint (config.json, weights, spiece.model): "
            f'[t5] model = "/path/to/{Path(name).name}"'
        ) from exc
    return model.to(device).eval(), tokenizer
