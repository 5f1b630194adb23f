"""The command line: thin wrappers over the library; only it and console.py touch rich."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from synthgate import __version__
from synthgate import config as cfg
from synthgate.cli.console import progress_bars, scorer_lines, summary_table
from synthgate.cli.generate import add_commands as add_generate_commands
from synthgate.cli.generate import add_finetune, finetune_command, generate_command, run_command
from synthgate.errors import SynthgateError
from synthgate.io.guard import check_file, check_files
from synthgate.io.inputs import Columns
from synthgate.io.rundir import (
    EVALUATION_FILES,
    HTML_FILE,
    RUN_FILES,
    TUNING_FILES,
    load_run,
)
from synthgate.job import run_job, write_run

Handler = Callable[[argparse.Namespace, Console, Console], int]


def build_parser() -> argparse.ArgumentParser:
    """The `synthgate` argument parser."""
    parser = argparse.ArgumentParser(
        prog="synthgate", description="Score synthetic text candidates and gate them."
    )
    parser.add_argument("--version", action="version", version=f"synthgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    score = sub.add_parser("score", help="score and gate candidates; write a run directory")
    score.add_argument("candidates", help="candidate samples (.csv .tsv .jsonl .ndjson .parquet)")
    score.add_argument("--real", required=True, help="real samples, same formats")
    score.add_argument("--out", required=True, help="run directory to write")
    score.add_argument("--config", help="TOML config (see `synthgate init-config`)")
    for role in ("text", "label", "source", "id"):
        score.add_argument(f"--{role}-col", default=None, help=f"{role} column (default: {role})")
    _add_no_header(score)
    _add_force(score, "an earlier run in --out (never a folder of other files)")
    sub.add_parser("init-config", help="print the default config, a comment on each key")
    report = sub.add_parser("report", help="(re)write a run directory's report.html")
    report.add_argument("run", help="run directory")
    report.add_argument("--out", help=f"HTML file to write (default: RUN/{HTML_FILE})")
    _add_force(report, "an existing --out file")
    regate = sub.add_parser("regate", help="apply new thresholds to stored scores (no model)")
    regate.add_argument("run", help="run directory to read")
    regate.add_argument("--config", required=True, help="TOML config with the new thresholds")
    regate.add_argument("--out", required=True, help="new run directory to write")
    _add_force(regate, "an earlier run in --out (never a folder of other files)")
    _add_tune(sub)
    _add_sample(sub)
    _add_evaluate(sub)
    _add_export(sub)
    add_generate_commands(sub)
    add_finetune(sub)
    _add_train(sub)
    return parser


def _add_train(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model a scorer can use")
    what = train.add_subparsers(dest="what", required=True)
    acc = what.add_parser(
        "acceptability", help="fine-tune a CoLA classifier for [scorers.cola] backend = classifier"
    )
    acc.add_argument("--data", required=True, help="CoLA .tsv: source, label, orig, sentence")
    acc.add_argument("--out", required=True, help="folder to write the model into")
    acc.add_argument("--base", help="encoder to fine-tune (default: the embedded all-MiniLM-L6-v2)")
    acc.add_argument("--epochs", type=int, default=4, help="passes over the data (default 4)")
    acc.add_argument("--lr", type=float, default=5e-5, help="peak learning rate (default 5e-5)")
    acc.add_argument("--batch-size", type=int, default=32, help="sentences per step (default 32)")
    acc.add_argument("--max-length", type=int, default=64, help="tokens per sentence (default 64)")
    acc.add_argument("--held-out", type=float, default=0.1, help="share held out (default 0.1)")
    acc.add_argument("--limit", type=int, help="train on this many random rows only")
    acc.add_argument("--seed", type=int, default=0, help="seed for the split and the training")
    _add_force(acc, "a model an earlier `synthgate train` wrote in --out")


def _add_export(sub: argparse._SubParsersAction) -> None:
    export = sub.add_parser("export", help="a run's accepted rows as CSV, JSON lines or Parquet")
    export.add_argument("run", help="run directory")
    export.add_argument("--out", required=True, help="file to write (.csv .jsonl .parquet)")
    export.add_argument("--format", choices=["csv", "jsonl", "parquet"], help="default: by --out")
    export.add_argument(
        "--rows", choices=["accepted", "rejected", "all"], default="accepted", help="which rows"
    )
    export.add_argument("--accepted", action="store_const", const="accepted", dest="rows")
    export.add_argument("--scores", action="store_true", help="add every score column")
    _add_force(export, "an existing --out file")


def _add_tune(sub: argparse._SubParsersAction) -> None:
    tune = sub.add_parser("tune", help="threshold sweeps and suggestions: tuning.html, TOML")
    tune.add_argument("run", help="run directory")
    tune.add_argument(
        "--out",
        help="folder for tuning.html, tuning.json, suggested.toml (default: the run directory)",
    )
    tune.add_argument("--target-acceptance", type=float, help="overall acceptance to reach, 0..1")
    tune.add_argument("--labels", help="judged sample: columns id and judgement (good/bad)")
    tune.add_argument("--target-precision", type=float, help="precision to reach (needs --labels)")
    tune.add_argument(
        "--freeze",
        action="append",
        default=[],
        metavar="RULE[,RULE]",
        help="columns or bounds (quality_artifacts, similarity_cosine.max) the "
        "targets must not move; repeatable",
    )
    tune.add_argument(
        "--unfreeze",
        action="append",
        default=[],
        metavar="RULE[,RULE]",
        help="hard rules (empty text, artifacts, label echo, real copies; `hard = true` in the "
        "config) the targets may move after all; repeatable",
    )
    tune.add_argument("--objective", choices=["macro-f1"], help="tune for a downstream score")
    tune.add_argument("--train", help="real training rows (with --objective)")
    tune.add_argument("--validation", help="real validation rows (with --objective)")
    _add_table_columns(tune)
    tune.add_argument("--seed", type=int, default=0, help="seed for bootstrap and training")
    _add_force(tune, "existing tuning files in the folder")


def _add_sample(sub: argparse._SubParsersAction) -> None:
    sample = sub.add_parser("sample", help="a stratified sample for people to judge")
    sample.add_argument("run", help="run directory")
    sample.add_argument("--n", type=int, required=True, help="rows in the sample")
    sample.add_argument("--out", required=True, help="CSV to write (fill in its judgement column)")
    sample.add_argument("--seed", type=int, default=0, help="sampling seed")
    _add_force(sample, "an existing --out file (judgements in it are lost)")


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("evaluate", help="downstream classifier: real vs real + candidates")
    ev.add_argument("--train", required=True, help="real training rows")
    ev.add_argument("--test", required=True, help="real test rows (never used for tuning)")
    ev.add_argument("--run", required=True, help="run directory")
    ev.add_argument("--out", help="folder for evaluation.json and .html (default: the run)")
    ev.add_argument("--seeds", type=int, default=5, help="random draws (default 5)")
    _add_table_columns(ev)
    _add_force(ev, "existing evaluation files in the folder")


def _add_force(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--force", action="store_true", help=f"replace {what}")


def _add_table_columns(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--text-col",
        default="text",
        help="text column of the train/validation/test files; a comma list "
        "joins columns with '. ' (e.g. title,description)",
    )
    parser.add_argument("--label-col", default="label", help="label column of those files")
    parser.add_argument(
        "--allow-overlap",
        action="store_true",
        help="go on when the held-out split repeats training rows (normally refused)",
    )
    _add_no_header(parser)


def _add_no_header(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-header",
        dest="header",
        action="store_false",
        help="CSV/TSV inputs have no header line: columns are named by position (--text-col 2)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input or config)."""
    args = build_parser().parse_args(argv)
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    try:
        return COMMANDS[args.command](args, out, err)
    except SynthgateError as exc:
        return _fail(err, str(exc))
    except OSError as exc:  # a path the library did not check: a config folder, a full disk
        return _fail(err, f"{exc.filename or 'synthgate'}: {exc.strerror or exc}")


def _fail(err: Console, message: str) -> int:
    err.print(f"synthgate: error: {message}", markup=False, soft_wrap=True)
    return 2


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, soft_wrap=True)


def _init_config(args: argparse.Namespace, out: Console, err: Console) -> int:
    sys.stdout.write(cfg.render_default())
    return 0


def _score(args: argparse.Namespace, out: Console, err: Console) -> int:
    roles = {r: getattr(args, f"{r}_col") for r in ("text", "label", "source", "id")}
    columns = Columns(
        **{r: v for r, v in roles.items() if v is not None},
        explicit=frozenset(r for r, v in roles.items() if v is not None),
    )
    with progress_bars(err) as progress:
        result = run_job(
            args.candidates,
            args.real,
            args.out,
            args.config,
            columns,
            progress,
            force=args.force,
            header=args.header,
        )
    out.print(summary_table(result.report))
    for line in scorer_lines(result.report.get("scorers", {})):
        _say(err if line.startswith("warning:") else out, line)
    written = [name for name in RUN_FILES if (result.out_dir / name).is_file()]
    _say(out, f"wrote {result.out_dir}/ ({', '.join(written)})")
    return 0


def _report(args: argparse.Namespace, out: Console, err: Console) -> int:
    from synthgate.io.files import write_text
    from synthgate.report.page import render_report

    run = load_run(args.run)
    target = Path(args.run) / HTML_FILE  # rewriting the run's own page is this command's job
    if args.out is not None:
        target = check_file(args.out, force=args.force, inputs=[args.run])
    write_text(target, render_report(run))
    _say(out, f"wrote {target}")
    return 0


def _regate(args: argparse.Namespace, out: Console, err: Console) -> int:
    from synthgate.regate import regate

    if os.path.realpath(args.out) == os.path.realpath(args.run):
        raise SynthgateError(f"{args.out}: --out must differ from the run directory it re-gates")
    run = load_run(args.run, vectors=True)
    new = regate(run, cfg.load_config(args.config))
    write_run(new, args.out, force=args.force, inputs=[args.config])
    out.print(summary_table(new.report))
    _say(out, f"wrote {args.out}/ (from {args.run}, config {args.config})")
    return 0


def _tune(args: argparse.Namespace, out: Console, err: Console) -> int:
    from synthgate.cli.tools import tune_command

    folder = args.out if args.out is not None else args.run
    inputs = [args.run, args.labels, args.train, args.validation]
    check_files(folder, TUNING_FILES, force=args.force, inputs=inputs)
    return tune_command(args, lambda text: _say(out, text))


def _sample(args: argparse.Namespace, out: Console, err: Console) -> int:
    from synthgate.cli.tools import sample_command

    check_file(args.out, force=args.force, inputs=[args.run])
    return sample_command(args, lambda text: _say(out, text))


def _evaluate(args: argparse.Namespace, out: Console, err: Console) -> int:
    from synthgate.cli.tools import evaluate_command

    folder = args.out if args.out is not None else args.run
    inputs = [args.run, args.train, args.test]
    check_files(folder, EVALUATION_FILES, force=args.force, inputs=inputs)
    return evaluate_command(args, out)


def _export(args: argparse.Namespace, out: Console, err: Console) -> int:
    from synthgate.io.export import export_rows, write_export

    target = check_file(args.out, force=args.force, inputs=[args.run])
    frame = export_rows(load_run(args.run), rows=args.rows, scores=args.scores)
    write_export(frame, target, args.format)
    _say(out, f"wrote {target}: {frame.height:,} {args.rows} rows, {frame.width} columns")
    return 0


def _train(args: argparse.Namespace, out: Console, err: Console) -> int:
    from synthgate.acceptability.train import METRICS_FILE, train_acceptability

    target = Path(args.out)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        if not args.force:
            raise SynthgateError(
                f"{target}: --out exists and is not empty; pass --force to replace"
            )
        if not (target / METRICS_FILE).is_file():
            raise SynthgateError(
                f"{target}: --force replaces only a model `synthgate train` wrote (it has "
                f"{METRICS_FILE}); this folder holds other files"
            )
    settings = ("epochs", "lr", "batch_size", "max_length", "held_out", "limit", "seed")
    with progress_bars(err) as progress:
        result = train_acceptability(
            args.data,
            target,
            args.base,
            progress=progress,
            **{k: getattr(args, k) for k in settings},
        )
    _say(
        out,
        f"held-out MCC {result.mcc:.3f}, accuracy {result.accuracy:.3f} "
        f"({result.held_out_rows:,} rows; trained on {result.train_rows:,})",
    )
    _say(out, f'wrote {target}/: [scorers.cola] backend = "classifier", classifier = "{target}"')
    return 0


COMMANDS: dict[str, Handler] = {
    "score": _score,
    "init-config": _init_config,
    "report": _report,
    "regate": _regate,
    "tune": _tune,
    "sample": _sample,
    "evaluate": _evaluate,
    "export": _export,
    "generate": generate_command,
    "run": run_command,
    "finetune": finetune_command,
    "train": _train,
}


if __name__ == "__main__":
    raise SystemExit(main())
