"""The `[generate]` table: defaults with where they come from, what each key allows, and the
checks that span keys. The config module validates it the way it validates the other tables."""

from __future__ import annotations

from typing import Any

from synthgate.errors import ConfigError
from synthgate.generate.prompts import Template

GENERATE_DEFAULTS: dict[str, Any] = {
    "generator": "rules",
    "model": "",
    "prompt": "",
    "per_label": 0,
    "balance": False,
    "labels": [],
    "max_factor": 10.0,
    "batch_size": 32,
    "max_new_tokens": 64,
    "min_new_tokens": 0,
    "temperature": 1.0,
    "top_k": 50,
    "top_p": 1.0,
    "num_beams": 1,
    "no_repeat_ngram_size": 0,
    "num_return_sequences": 1,
    "device": "auto",
    "dtype": "auto",
    "seed": 0,
}
GENERATE_HELP = {
    "generator": "rules (offline word edits, no model), causal (GPT-2-style LM), seq2seq "
    "(paraphrase with T5/BART) or infill (T5 span filling)",
    "model": "a transformers model name or a local folder (rules needs none); {label} in it "
    "gives each label its own model (finetune --per-label writes DIR/<label>)",
    "prompt": "template with {label}, {text}, {keywords}, {sentence}, {seed}; empty: the "
    "generator's own ('{text}' rules, '{label}:' causal, 'paraphrase: {text} </s>' seq2seq)",
    "per_label": "accepted samples wanted per label (0: not set; set this or balance)",
    "balance": "bring every label up to the largest label's real row count",
    "labels": "labels to generate for; empty: every label of the real set",
    "max_factor": "stop a label once this many times its quota has been generated",
    "batch_size": "prompts per forward pass (halved and retried on CUDA out-of-memory)",
    "max_new_tokens": "tokens generated at most per sample; a sample that hits it is truncated",
    "min_new_tokens": "tokens generated at least per sample",
    "temperature": "sampling temperature; 0 decodes greedily (or by beam search)",
    "top_k": "sample from the k most likely tokens (50: the label-conditioned GPT-2 recipe)",
    "top_p": "sample from the smallest token set with this much probability (1.0: off)",
    "num_beams": "beams of beam search (1: none; the class-balancing T5 recipe uses 4)",
    "no_repeat_ngram_size": "never repeat an n-gram of this size (0: off)",
    "num_return_sequences": "samples per prompt",
    "device": "'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'",
    "dtype": "'auto' (bfloat16 on CUDA, float32 on CPU), 'float32', 'bfloat16' or 'float16'",
    "seed": "seed of the prompts' draws and of sampling",
}
DTYPES = ("auto", "float32", "bfloat16", "float16")
_DEVICES = ("auto", "cpu", "cuda", "mps")


def generate_limits(generators: tuple[str, ...]) -> dict[str, tuple[Any, str]]:
    """Dotted key -> (check, what is allowed) for the keys of `[generate]` with a range."""
    at_least = {
        "batch_size": 1,
        "max_new_tokens": 1,
        "min_new_tokens": 0,
        "top_k": 0,
        "num_beams": 1,
        "no_repeat_ngram_size": 0,
        "num_return_sequences": 1,
        "per_label": 0,
    }
    limits: dict[str, tuple[Any, str]] = {
        f"generate.{k}": (lambda v, lo=lo: v >= lo, f"an int >= {lo}") for k, lo in at_least.items()
    }
    return limits | {
        "generate.generator": (lambda v: v in generators, f"one of {', '.join(generators)}"),
        "generate.max_factor": (lambda v: v >= 1.0, "a number >= 1"),
        "generate.temperature": (lambda v: v >= 0.0, "a number >= 0"),
        "generate.top_p": (lambda v: 0.0 < v <= 1.0, "a number in (0, 1]"),
        "generate.device": (
            lambda v: v in _DEVICES or v.startswith("cuda:"),
            "auto, cpu, cuda or cuda:N",
        ),
        "generate.dtype": (lambda v: v in DTYPES, ", ".join(DTYPES)),
        "generate.seed": (lambda v: 0 <= v < 2**32, "an int from 0 to 2**32 - 1"),
    }


def check_table(table: dict[str, Any]) -> None:
    """Checks that span keys of a merged `[generate]` table, and the prompt template."""
    Template(table["prompt"])
    if table["min_new_tokens"] > table["max_new_tokens"]:
        raise ConfigError(
            f"generate.min_new_tokens: must be <= max_new_tokens ({table['max_new_tokens']}); "
            f"got {table['min_new_tokens']}"
        )
    if table["temperature"] == 0 and table["num_return_sequences"] > table["num_beams"]:
        raise ConfigError(
            f"generate.num_return_sequences: must be <= num_beams ({table['num_beams']}) when "
            "temperature = 0: greedy and beam search return only their beams; got "
            f"{table['num_return_sequences']}"
        )
    if table["per_label"] and table["balance"]:
        raise ConfigError(
            "generate.balance: per_label and balance cannot both be set; "
            "choose a fixed quota or balancing"
        )


def check_quota(table: dict[str, Any]) -> None:
    """A job that generates needs a quota: per_label or balance."""
    if not table["per_label"] and not table["balance"]:
        raise ConfigError(
            "generate.per_label: no quota set; set per_label = N (accepted rows per label) "
            "or balance = true"
        )
