"""The commands that read a finished run: tune, sample, evaluate (thin wrappers)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from synthgate.cli.console import PLAIN, progress_bars, safe
from synthgate.errors import SynthgateError
from synthgate.io.files import read_table
from synthgate.io.rundir import load_run

Say = Callable[[str], None]


def tune_command(args: argparse.Namespace, say: Say) -> int:
    """`synthgate tune`: tuning.html, tuning.json, suggested.toml."""
    from synthgate.tune.changes import describe
    from synthgate.tune.labels import read_judgements
    from synthgate.tune.page import write_tuning
    from synthgate.tune.tuning import tune

    _check_objective(args)
    run = load_run(args.run)
    judgements = read_judgements(args.labels, run) if args.labels else None
    freeze, unfreeze = _names(args.freeze), _names(args.unfreeze)
    suggested, extra = None, None
    if args.objective:
        suggested, extra = _objective(args, run, freeze=freeze, unfreeze=unfreeze)
    tuning = tune(
        run,
        target_acceptance=args.target_acceptance,
        judgements=judgements,
        target_precision=args.target_precision,
        seed=args.seed,
        extra=extra,
        freeze=freeze,
        unfreeze=unfreeze,
        suggested=suggested,
    )
    if suggested is not None:  # the downstream search chose the thresholds
        tuning.data["suggested_by"] = f"--objective {args.objective}"
    out = Path(args.out) if args.out else Path(args.run)
    write_tuning(tuning, run, out)
    summary = tuning.data["suggestion"]
    for line in describe(summary):
        say(safe(line))
    for line in _label_lines(tuning.data):
        say(line)
    for line in summary["warnings"]:
        Console(stderr=True).print(f"warning: {safe(line)}", **PLAIN)
    if tuning.data.get("hard"):
        say(f"held (hard rules; --unfreeze to move): {', '.join(tuning.data['hard'])}")
    say(f"wrote {out}/ (tuning.html, tuning.json, suggested.toml; changed keys marked '# was')")
    say(f"apply it: synthgate regate {args.run} --config {out / 'suggested.toml'} --out NEW_DIR")
    return 0


def _check_objective(args: argparse.Namespace) -> None:
    if args.objective and not (args.train and args.validation):
        raise SynthgateError("--objective: needs --train and --validation (real labelled rows)")
    if not args.objective and (args.train or args.validation):
        raise SynthgateError("--train/--validation: only used with --objective macro-f1")
    if args.objective and (args.target_acceptance is not None or args.target_precision is not None):
        raise SynthgateError("--objective: give it or a --target-*, not both")


def _objective(args: argparse.Namespace, run, **held: list[str]) -> tuple[dict, dict]:
    from synthgate.tune.objective import tune_objective

    return _on_splits(tune_objective, run, args, "validation", metric=args.objective, **held)


def _names(values: list[str]) -> list[str]:
    """`--freeze a,b --freeze c` -> [a, b, c]."""
    return [name.strip() for arg in values for name in arg.split(",") if name.strip()]


def _label_lines(data: dict) -> list[str]:
    """Precision and recall on the judged rows before -> after, with their 95% intervals."""
    if "labels" not in data:
        return []
    found = (data.get("target_precision") or data.get("target_acceptance") or {}).get("labels")
    now = data["labels"]["current"]
    out = []
    for name in ("precision", "recall"):
        after = f" -> {_ci(found[name])}" if found else ""
        out.append(f"{name} on {data['labels']['judged']} judged rows: {_ci(now[name])}{after}")
    return out


def _ci(stat: dict) -> str:
    value, (lo, hi) = stat["value"], stat["ci"]
    if value is None:
        return "undefined"
    band = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""
    return f"{value:.3f}{band}"


def _on_splits(fn: Callable[..., Any], run, args: argparse.Namespace, held: str, **kw: Any) -> Any:
    """`fn(run, train, held-out split, ...)` with the column flags and progress bars."""
    held_path = getattr(args, held)
    train = read_table(args.train, header=args.header)
    other = read_table(held_path, header=args.header)
    with progress_bars(Console(stderr=True)) as progress:
        return fn(
            run,
            train,
            other,
            text_col=args.text_col,
            label_col=args.label_col,
            names=(str(args.train), str(held_path)),
            progress=progress,
            allow_overlap=args.allow_overlap,
            **kw,
        )


def sample_command(args: argparse.Namespace, say: Say) -> int:
    """`synthgate sample`: a stratified review file with an empty judgement column."""
    from synthgate.sample import sample, write_sample

    run = load_run(args.run)
    frame = sample(run, args.n, seed=args.seed)
    path = write_sample(frame, args.out)
    strata = frame["stratum"].n_unique() if frame.height else 0
    say(
        f"wrote {path}: {frame.height:,} rows from {strata} strata; fill in `judgement` "
        f"(good/bad) and pass it to: synthgate tune {args.run} --labels {path}"
    )
    return 0


def evaluate_command(args: argparse.Namespace, out: Console) -> int:
    """`synthgate evaluate`: real vs real + candidates, downstream F1 on the test split."""
    from synthgate.evaluate.conditions import evaluate, write_evaluation

    run = load_run(args.run)
    result = _on_splits(evaluate, run, args, "test", seeds=args.seeds)
    target = Path(args.out) if args.out else Path(args.run)
    write_evaluation(result, target)
    out.print(evaluation_table(result.data))
    from synthgate.evaluate.page import verdict_rows, warnings

    for metric, best, *vs in verdict_rows(result.data):
        out.print(f"{metric}: best {best}; accepted − all {vs[0]}, − oversample {vs[1]}", **PLAIN)

    leak = result.data["leakage"]
    out.print(
        f"leakage: {leak['all']['test_rows']} test rows duplicated by candidates "
        f"({leak['accepted']['test_rows']} by accepted ones)"
    )
    err = Console(stderr=True)
    for line in warnings(result.data):  # they quote labels from the data: escaped, no markup
        err.print(f"warning: {safe(line)}", **PLAIN)
    out.print(f"wrote {safe(target)}/ (evaluation.json, evaluation.html)", **PLAIN)
    return 0


def evaluation_table(data: dict) -> Table:
    """Mean ± std of each F1 per training condition."""
    table = Table(title=f"downstream classifier on the test split, {data.get('seeds', '')} seeds")
    table.add_column("training set", no_wrap=True)
    for metric in ("micro", "macro", "weighted"):
        table.add_column(f"{metric} F1", justify="right")
    for name, cond in data["conditions"].items():
        cells = [_pm(cond["metrics"][f"{m}_f1"]) for m in ("micro", "macro", "weighted")]
        table.add_row(Text(safe(name)), *cells)
    return table


def _pm(stat: dict) -> str:
    return f"{stat['mean']:.3f} ± {stat['std']:.3f}" if stat.get("mean") is not None else "n/a"
