"""Generators on transformers models: causal LMs (GPT-2) and seq2seq paraphrasers (T5, BART).
Prompts are sorted by length into batches (less padding), causal prompts are padded on the
left with pad = eos, the KV cache is on, and the prompt and special tokens are stripped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import polars as pl

from synthgate.embed import _hub_reachable, _quiet, resolve_device
from synthgate.errors import ConfigError, SynthgateError
from synthgate.generate.base import outputs
from synthgate.progress import Progress, silent


@dataclass
class CausalGenerator:
    """A causal LM sampled from each prompt; the output is what follows the prompt."""

    model: str = ""
    batch_size: int = 32
    max_new_tokens: int = 64
    min_new_tokens: int = 0
    temperature: float = 1.0
    top_k: int = 50
    top_p: float = 1.0
    num_beams: int = 1
    no_repeat_ngram_size: int = 0
    num_return_sequences: int = 1
    device: str = "auto"
    dtype: str = "auto"

    name: ClassVar[str] = "causal"
    default_prompt: ClassVar[str] = "{label}:"
    auto_class: ClassVar[str] = "AutoModelForCausalLM"

    def fit(self, real: pl.DataFrame) -> Self:
        """Nothing to learn from the real rows; the model loads on first use."""
        if not self.model:
            raise ConfigError(
                f"generate.model: the {self.name} generator needs a model: a transformers name "
                "or a local folder"
            )
        self.batch_sizes_: list[int] = []
        return self

    def load(self) -> tuple[Any, Any]:
        """(tokenizer, model), loaded once, in eval mode on the configured device and dtype."""
        if getattr(self, "model_", None) is None:
            self.device_ = resolve_device(self.device)
            self.tokenizer_, self.model_ = load_model(
                self.model, self.auto_class, self.device_, torch_dtype(self.dtype, self.device_)
            )
            if self.name == "causal":
                self.tokenizer_.padding_side = "left"  # the prompt's end meets the new tokens
                if self.tokenizer_.pad_token is None:
                    self.tokenizer_.pad_token = self.tokenizer_.eos_token
        return self.tokenizer_, self.model_

    def generate(
        self, requests: pl.DataFrame, seed: int, progress: Progress = silent
    ) -> pl.DataFrame:
        """Outputs for every request, longest prompts first in batches of `batch_size`; a
        CUDA out-of-memory error halves the batch and retries it, and the halved size stays."""
        import torch

        tokenizer, _ = self.load()
        prompts = requests["prompt"].to_list()
        lengths = [len(ids) for ids in tokenizer(prompts)["input_ids"]]
        order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
        size, start = self.batch_size, 0
        index: list[int] = []
        texts: list[str] = []
        truncated: list[bool] = []
        seeds: list[int] = []
        while start < len(order):
            batch = order[start : start + size]
            try:
                got = self.batch([prompts[i] for i in batch], seed + start)
            except torch.cuda.OutOfMemoryError:
                if size == 1:
                    raise SynthgateError(
                        f"generate.batch_size: out of GPU memory with one prompt; "
                        f"model {self.model!r} does not fit on {self.device_}"
                    ) from None
                size = max(1, size // 2)
                torch.cuda.empty_cache()
                continue
            self.batch_sizes_.append(size)
            n = self.num_return_sequences
            index += [batch[k // n] for k in range(len(got))]
            texts += [t for t, _ in got]
            truncated += [t for _, t in got]
            seeds += [seed + start] * len(got)
            start += len(batch)
            progress("generate", start, len(order))
        return outputs(index, texts, truncated, seeds)

    def batch(self, prompts: list[str], seed: int) -> list[tuple[str, bool]]:
        """(text, truncated) for each prompt × num_return_sequences, sampled with `seed`."""
        tokenizer, rows = self.new_tokens(prompts, seed)
        eos = tokenizer.eos_token_id
        return [
            (tokenizer.decode(row, skip_special_tokens=True).strip(), bool((row != eos).all()))
            for row in rows
        ]

    def new_tokens(self, prompts: list[str], seed: int) -> tuple[Any, Any]:
        """(tokenizer, the generated token ids of each output without the prompt)."""
        import torch

        tokenizer, model = self.load()
        enc = tokenizer(prompts, return_tensors="pt", padding=True).to(self.device_)
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = model.generate(**enc, **self.generate_kwargs(tokenizer))
        # a causal output continues its (left-padded) prompt; a seq2seq one starts with the
        # decoder's start token
        skip = enc["input_ids"].shape[1] if self.name == "causal" else 1
        return tokenizer, out[:, skip:]

    def generate_kwargs(self, tokenizer: Any) -> dict[str, Any]:
        """The arguments of `model.generate`: temperature 0 decodes greedily (or by beams)."""
        sample = self.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": self.max_new_tokens,
            "min_new_tokens": self.min_new_tokens,
            "do_sample": sample,
            "num_beams": self.num_beams,
            "num_return_sequences": self.num_return_sequences,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "use_cache": True,
        }
        if sample:
            kwargs |= {"temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p}
        return kwargs


@dataclass
class Seq2SeqGenerator(CausalGenerator):
    """A seq2seq model (T5, BART) rewriting each prompt: paraphrases that keep their source."""

    name: ClassVar[str] = "seq2seq"
    default_prompt: ClassVar[str] = "paraphrase: {text} </s>"
    auto_class: ClassVar[str] = "AutoModelForSeq2SeqLM"


def torch_dtype(name: str, device: str) -> Any:
    """`auto` is bfloat16 on CUDA (what the GPU computes fastest) and float32 elsewhere."""
    import torch

    if name == "auto":
        name = "bfloat16" if device.startswith("cuda") else "float32"
    return getattr(torch, name)


def load_model(name: str, auto_class: str, device: str, dtype: Any) -> tuple[Any, Any]:
    """Tokenizer and model from a local folder or the hub cache; the hub only when it
    answers. A model that cannot be loaded is one line naming it."""
    import transformers

    cls = getattr(transformers, auto_class)
    try:
        with _quiet():
            local = Path(name).exists()
            try:
                kwargs = {} if local else {"local_files_only": True}
                tokenizer = transformers.AutoTokenizer.from_pretrained(name, **kwargs)
                model = cls.from_pretrained(name, dtype=dtype, **kwargs)
            except OSError:
                if local or not _hub_reachable():
                    raise
                tokenizer = transformers.AutoTokenizer.from_pretrained(name)
                model = cls.from_pretrained(name, dtype=dtype)
    except Exception as exc:
        if Path(name).exists():
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise SynthgateError(
                f"generate.model: cannot load the folder {name!r} with {auto_class}: {first}"
            ) from exc
        raise SynthgateError(
            f"generate.model: cannot load {name!r} (not a local folder, not in the hub cache, "
            f'no network?); pass a local folder instead: [generate] model = "/path/to/model"'
        ) from exc
    return tokenizer, model.to(device).eval()
