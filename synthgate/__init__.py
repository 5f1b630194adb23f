"""synthgate: score synthetic text candidates, gate them with every reason, keep the good ones."""

from pathlib import Path
from typing import Any

import polars as pl

from synthgate.config import default_config, load_config
from synthgate.errors import ConfigError, SynthgateError
from synthgate.gate import Gate, Rule, Unique
from synthgate.io.inputs import Columns
from synthgate.io.rundir import Run, load_run
from synthgate.job import run_job, write_run
from synthgate.pipeline import score
from synthgate.progress import Progress
from synthgate.regate import regate
from synthgate.rounds import generate as generate_candidates
from synthgate.rounds import run_rounds

# `synthgate.generate` stays the package of generators (`import synthgate.generate.rules as r`
# must keep working), so the library call that only generates is `generate_candidates`.


def run(
    real: pl.DataFrame,
    config: dict[str, Any] | str | Path | None = None,
    *,
    columns: Columns | None = None,
    progress: Progress | None = None,
    holdout: pl.DataFrame | None = None,
) -> Run:
    """`synthgate run` from Python: generate, score and gate in rounds; the last round's Run
    (every generated row with its scores, `reasons`, `accepted`; report["generation"]).
    `holdout` (the user's test rows, as `--holdout`): never a prompt source, and a candidate
    that copies one is rejected with reason `leak_holdout`."""
    return run_rounds(real, config, columns=columns, progress=progress, holdout=holdout).run


__version__ = "0.1.0"

__all__ = [
    "Columns",
    "ConfigError",
    "Gate",
    "Rule",
    "Run",
    "SynthgateError",
    "Unique",
    "__version__",
    "default_config",
    "generate_candidates",
    "load_config",
    "load_run",
    "regate",
    "run",
    "run_job",
    "score",
    "write_run",
]
