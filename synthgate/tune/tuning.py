"""`synthgate tune`: keep-rate sweeps of every threshold, thresholds for a target acceptance or
(with human judgements) a target precision, and the files a person reads: tuning.html,
tuning.json and suggested.toml. Model-free: everything comes from the run's stored scores.

A knob is one numeric bound of one enabled rule (`similarity_cosine.min`); flag rules and the
`on_missing` checks are not swept: their on/off effect is reported instead. Keep-rates include
the unique step exactly as Gate.apply decides, so at the config's own thresholds the keep-rate
is the run's acceptance."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from synthgate.config import merge_config
from synthgate.errors import SynthgateError
from synthgate.io.rundir import Run
from synthgate.tune.changes import suggestion_changes
from synthgate.tune.engine import Problem, build_problem
from synthgate.tune.labels import RESAMPLES, Judged, read_judgements
from synthgate.tune.precision import reach_precision, sweep_labels
from synthgate.tune.sweep import fixed_effects, overview, sweeps
from synthgate.tune.target import reach_acceptance

__all__ = ["Tuning", "read_judgements", "tune"]


@dataclass
class Tuning:
    """What `tune` found: `data` holds every number (JSON-able), `config` the suggested full
    config (the run's own where nothing was asked)."""

    data: dict[str, Any]
    config: dict[str, Any]


def tune(
    run: Run,
    *,
    target_acceptance: float | None = None,
    judgements: pl.DataFrame | None = None,
    target_precision: float | None = None,
    seed: int = 0,
    extra: dict[str, Any] | None = None,
    resamples: int = RESAMPLES,
    freeze: Sequence[str] = (),
    unfreeze: Sequence[str] = (),
    suggested: dict[str, Any] | None = None,
) -> Tuning:
    """Sweeps of every knob of `run`'s gate; with `judgements` (see read_judgements) precision,
    recall and F1 along them; thresholds for `target_acceptance` or `target_precision`; `extra`
    ({"title", "note", "header", "rows"}) is one more section of tuning.html; `freeze` names
    columns or bounds (`quality_artifacts`, `similarity_cosine.max`) the targets may not move;
    rules marked `hard` (see config.HARD_RULES) are held too unless named in `unfreeze`.
    `suggested` is a config chosen elsewhere (`tune --objective`), reported as the suggestion."""
    _check_args(target_acceptance, judgements, target_precision, seed, resamples)
    problem = build_problem(run.frame, run.config)
    data: dict[str, Any] = {
        "overview": overview(problem, int(run.frame["accepted"].sum())),
        "sweeps": sweeps(problem),
        "fixed": fixed_effects(problem),
    }
    positions = problem.current()
    held = hard_knobs(problem, run.config, unfreeze)
    searched = frozen(problem, [*freeze, *held])
    judged = None
    if judgements is not None:
        judged = Judged(problem, run.frame[run.id_col], judgements, seed=seed, resamples=resamples)
        sweep_labels(judged, data["sweeps"])
        now = judged.metrics(judged.kept_at(positions)[:, None])[0]
        data["labels"] = {**judged.summary(), "seed": seed, "current": now}
    if target_acceptance is not None:
        positions, data["target_acceptance"] = reach_acceptance(searched, target_acceptance)
        if judged is not None:
            found = judged.metrics(judged.kept_at(positions)[:, None])[0]
            data["target_acceptance"]["labels"] = found
    if target_precision is not None:
        assert judged is not None  # _check_args
        positions, data["target_precision"] = reach_precision(searched, judged, target_precision)
    if freeze or held:
        data["frozen"] = sorted(k.name for k in searched.knobs if k.lo == k.hi)
    data["hard"] = held
    if extra is not None:
        data["extra"] = _extra(extra)
    if suggested is None:
        suggested = problem.with_positions(copy.deepcopy(run.config), positions)
    suggested = merge_config(suggested)
    data["suggestion"] = suggestion_changes(run, suggested)
    return Tuning(data, suggested)


def hard_knobs(problem: Problem, config: dict[str, Any], unfreeze: Sequence[str]) -> list[str]:
    """Bounds of rules marked `hard` that no target may move, less those in `unfreeze` (each
    of which must name a hard rule)."""
    rules = config["gate"]["rules"]
    hard = {c for c, t in rules.items() if t.get("enabled", True) and t.get("hard", False)}
    for name in unfreeze:
        if name.split(".")[0] not in hard:
            raise SynthgateError(
                f"--unfreeze {name}: not a hard rule; hard: {', '.join(sorted(hard)) or '(none)'}"
            )
    free = set(unfreeze)
    return sorted(
        k.name
        for k in problem.knobs
        if k.column in hard and k.column not in free and k.name not in free
    )


def frozen(problem: Problem, names: Sequence[str]) -> Problem:
    """`problem` with the named knobs pinned at their current threshold (a column name pins
    both its bounds); an unknown name is a SynthgateError listing the knobs."""
    knobs = {k.name: k for k in problem.knobs}
    pinned: set[str] = set()
    for name in names:
        found = {n for n, k in knobs.items() if name in (n, k.column)}
        if not found:
            raise SynthgateError(
                f"--freeze {name}: no numeric bound of that name; available: "
                f"{', '.join(sorted(knobs)) or '(none)'}"
            )
        pinned |= found
    pins = {n: knobs[n].position(knobs[n].current) for n in pinned}
    return replace(
        problem,
        knobs=[
            replace(k, lo=pins[k.name], hi=pins[k.name]) if k.name in pins else k
            for k in problem.knobs
        ],
    )


def _check_args(
    acceptance: float | None,
    judgements: pl.DataFrame | None,
    precision: float | None,
    seed: int,
    resamples: int,
) -> None:
    """Option combinations `tune` cannot serve, each as one line."""
    if acceptance is not None and precision is not None:
        raise SynthgateError(
            "--target-acceptance and --target-precision: give one of them, not both"
        )
    if precision is not None and judgements is None:
        raise SynthgateError("--target-precision: needs --labels (a judged sample)")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SynthgateError(f"--seed: must be an int; got {seed!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise SynthgateError(f"resamples: must be an int >= 1; got {resamples!r}")


def _extra(extra: dict[str, Any]) -> dict[str, Any]:
    """Another module's section, checked for the keys the page renders."""
    rows = extra.get("rows", [])
    header = extra.get("header", [])
    if not isinstance(header, list | tuple) or not isinstance(rows, list | tuple):
        raise SynthgateError("extra: header and rows must be lists")
    return {
        "title": str(extra.get("title", "More")),
        "note": str(extra.get("note", "")),
        "header": [str(h) for h in header],
        "rows": [list(r) for r in rows],
    }
