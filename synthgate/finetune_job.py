"""`synthgate finetune` as a job: read the user's rows (a run's scored or accepted Parquet
too), check them, fine-tune one model or one per label, write finetune.json."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from synthgate.errors import SynthgateError
from synthgate.generate.finetune import check_rows, finetune
from synthgate.io.files import read_table, write_text
from synthgate.io.inputs import Columns, canonical
from synthgate.progress import Progress, silent

FINETUNE_FILE = "finetune.json"
_FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def finetune_job(
    data_path: str | Path,
    model: str,
    out_dir: str | Path,
    objective: str,
    *,
    per_label: bool = False,
    columns: Columns | None = None,
    header: bool = True,
    force: bool = False,
    progress: Progress | None = None,
    **train: Any,
) -> dict[str, Any]:
    """`synthgate finetune`: `model` fine-tuned on the rows of `data_path` (a run's
    accepted.parquet works: its source -> text pairs train a paraphraser) and saved to
    `out_dir`, or one model per label in `out_dir/<label>/`; finetune.json says the held-out
    losses. With an `accepted` column (a run's scored.parquet) only the accepted rows train,
    and finetune.json counts the others. A row it trains on whose source (seq2seq), label
    (causal, --per-label) or text is empty is an error naming the file, column and row.
    `train`: epochs, lr, batch_size, seed, device."""
    out = _finetune_dir(out_dir, force=force, inputs=[data_path, model])
    table = read_table(data_path, header=header)
    rows = canonical(table, columns or Columns(), str(data_path))
    keep = _accepted(table, data_path)
    check_rows(rows, objective, str(data_path), per_label=per_label, train=keep)
    if keep is not None:
        rows = rows.with_columns(_accepted=keep)
    if per_label:  # after check_rows, only rows left out (not accepted) can lack a label
        rows = rows.filter(pl.col("label").str.strip_chars().fill_null("") != "")
    groups = rows.partition_by("label", as_dict=True) if per_label else {(None,): rows}
    results = {}
    for (label,), part in groups.items():
        if label is not None and not _FOLDER_NAME.match(str(label)):
            raise SynthgateError(f"finetune: label {label!r} cannot name a folder of --out")
        target = out if label is None else out / str(label)
        taken = part if keep is None else part.filter("_accepted").drop("_accepted")
        if taken.height < 2:
            what = "" if label is None else f" of label {label!r}"
            raise SynthgateError(
                f"{data_path}: {taken.height} {'accepted ' if keep is not None else ''}rows"
                f"{what}; fine-tuning needs at least two (one held out)"
            )
        result = finetune(taken, model, target, objective, progress=progress or silent, **train)
        results["(all)" if label is None else str(label)] = result | {
            "accepted_only": keep is not None,
            "rows_not_accepted": part.height - taken.height,
        }
    write_text(out / FINETUNE_FILE, json.dumps(results, indent=2) + "\n")
    return results


def _accepted(table: pl.DataFrame, path: str | Path) -> pl.Series | None:
    """The rows to train on when --data has a gate's `accepted` column (a run's scored.parquet
    or accepted.parquet): only the accepted ones (null counts as not accepted)."""
    if "accepted" not in table.columns:
        return None
    column = table["accepted"]
    if column.dtype != pl.Boolean:
        raise SynthgateError(
            f"{path}: column 'accepted' holds {column.dtype}, not true/false; rename it, or "
            "pass a run's scored.parquet or accepted.parquet"
        )
    return column.fill_null(False)


def _finetune_dir(out_dir: str | Path, *, force: bool, inputs: list[str | Path]) -> Path:
    """A new or empty folder, or with `force` an earlier fine-tune's (it has finetune.json);
    never one that holds an input."""
    out = Path(out_dir)
    if str(out_dir).strip() == "":
        raise SynthgateError("--out: empty path; name a folder")
    if out.exists() and not out.is_dir():
        raise SynthgateError(f"{out}: --out exists and is not a directory")
    for given in inputs:
        if Path(given).exists() and Path(given).resolve().is_relative_to(out.resolve()):
            raise SynthgateError(
                f"{given}: is an input of this command and lies inside --out {out}"
            )
    if out.is_dir() and any(out.iterdir()):
        if not (out / FINETUNE_FILE).is_file():
            raise SynthgateError(f"{out}: --out holds files that are not a synthgate fine-tune")
        if not force:
            raise SynthgateError(
                f"{out}: --out already holds a fine-tune; pass --force to replace it"
            )
    return out
