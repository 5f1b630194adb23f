"""`synthgate generate` and `synthgate run`: thin wrappers over the job functions."""

from __future__ import annotations

import argparse

from rich.console import Console

from synthgate.cli.console import PLAIN, progress_bars, summary_table
from synthgate.io.inputs import Columns
from synthgate.io.rundir import RUN_FILES
from synthgate.job import generate_job, generate_run_job


def add_commands(sub: argparse._SubParsersAction) -> None:
    """The `generate` and `run` subcommands."""
    gen = sub.add_parser("generate", help="generate candidates from real rows (no scoring)")
    _common(gen, "candidates file to write (.parquet .csv .jsonl)")
    gen.add_argument("--n", type=int, help="rows per label (default: the config's quota)")
    gen.add_argument("--force", action="store_true", help="replace an existing --out file")
    run = sub.add_parser("run", help="generate, score and gate in rounds; write a run directory")
    _common(run, "run directory to write")
    run.add_argument(
        "--force",
        action="store_true",
        help="replace an earlier run in --out (never a folder of other files)",
    )


def add_finetune(sub: argparse._SubParsersAction) -> None:
    """The `finetune` subcommand."""
    tune = sub.add_parser("finetune", help="fine-tune a generator on labelled rows")
    tune.add_argument("--model", required=True, help="transformers name or local folder")
    tune.add_argument("--data", required=True, help="training rows (a run's accepted.parquet too)")
    tune.add_argument("--out", required=True, help="folder for the model (loads as `model`)")
    tune.add_argument("--objective", required=True, choices=["causal", "seq2seq", "infill"])
    tune.add_argument("--per-label", action="store_true", help="one model per label: OUT/LABEL/")
    tune.add_argument("--epochs", type=int, default=1)
    tune.add_argument("--lr", type=float, default=5e-5, help="AdamW learning rate")
    tune.add_argument("--batch-size", type=int, default=8)
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    tune.add_argument("--force", action="store_true", help="replace an earlier fine-tune in --out")


def finetune_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Fine-tune; print the held-out loss before and after per model."""
    from synthgate.finetune_job import finetune_job

    with progress_bars(err) as progress:
        results = finetune_job(
            args.data,
            args.model,
            args.out,
            args.objective,
            per_label=args.per_label,
            force=args.force,
            progress=progress,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            seed=args.seed,
            device=args.device,
        )
    for name, r in results.items():
        out.print(
            f"{name}: held-out loss {r['held_out_loss_before']:.4f} -> "
            f"{r['held_out_loss_after']:.4f} ({r['train_rows']:,} rows trained, "
            f"{r['held_out_rows']:,} held out)",
            **PLAIN,
        )
    if any(r["accepted_only"] for r in results.values()):
        left = sum(r["rows_not_accepted"] for r in results.values())
        out.print(
            f"{args.data} has an accepted column: trained on the accepted rows only "
            f"({left:,} rows not accepted left out)",
            **PLAIN,
        )
    out.print(f"wrote {args.out}/", **PLAIN)
    return 0


def _common(parser: argparse.ArgumentParser, out_help: str) -> None:
    parser.add_argument("--real", required=True, help="labelled real rows, prompts' sources")
    parser.add_argument("--out", required=True, help=out_help)
    parser.add_argument("--config", help="TOML config with a [generate] table")
    parser.add_argument(
        "--holdout",
        help="your test rows: never a prompt source; run rejects copies of them (leak_holdout)",
    )
    parser.add_argument("--text-col", default=None, help="text column of --real (default: text)")
    parser.add_argument("--label-col", default=None, help="label column (default: label)")
    parser.add_argument(
        "--no-header",
        dest="header",
        action="store_false",
        help="a CSV/TSV --real has no header line: columns are named by position",
    )


def _columns(args: argparse.Namespace) -> Columns:
    roles = {"text": args.text_col, "label": args.label_col}
    given = {r: v for r, v in roles.items() if v is not None}
    return Columns(**given, explicit=frozenset(given))


def generate_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Write the candidates; say how many per label."""
    with progress_bars(err) as progress:
        path = generate_job(
            args.real,
            args.out,
            args.config,
            _columns(args),
            progress,
            n=args.n,
            force=args.force,
            header=args.header,
            holdout_path=args.holdout,
        )
    out.print(f"wrote {path}", **PLAIN)
    return 0


def run_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Generate in rounds into a run directory; print the summary and yield per label."""
    with progress_bars(err) as progress:
        result = generate_run_job(
            args.real,
            args.out,
            args.config,
            _columns(args),
            progress,
            force=args.force,
            header=args.header,
            holdout_path=args.holdout,
        )
    out.print(summary_table(result.report))
    for label, row in result.report["generation"]["by_label"].items():
        line = (
            f"{label}: {row['accepted']:,} accepted of {row['generated']:,} generated "
            f"(quota {row['quota']:,}, yield {row['yield']})"
        )
        out.print(line, **PLAIN)
    written = [name for name in RUN_FILES if (result.out_dir / name).is_file()]
    out.print(f"wrote {result.out_dir}/ ({', '.join(written)})", **PLAIN)
    return 0
