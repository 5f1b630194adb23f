"""Gate stored scores: a new config's thresholds applied with no model and no re-scoring."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from synthgate.errors import SynthgateError
from synthgate.io.rundir import Run
from synthgate.pipeline import gate_step

RESCORE_KEYS = ("seed", "embedding", "t5", "scorers")
"""Config tables the stored scores depend on: changing them means running `score` again."""


def regate(run: Run, config: dict[str, Any]) -> Run:
    """`run` gated again under `config`; refused when `config` changes what the scores mean."""
    for key in RESCORE_KEYS:
        changed = _first_difference(run.config[key], config[key], key)
        if changed:
            raise SynthgateError(
                f"{changed}: differs from the run's config, and the stored scores depend on it; "
                "run `synthgate score` again to apply it"
            )
    start = time.perf_counter()
    record = {
        **run.record,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "regated_from": {
            "path": str(run.path) if run.path else None,
            "config_sha256": run.record.get("config_sha256"),
        },
    }
    new = gate_step(
        run.frame,
        config,
        run.columns,
        real=run.real,
        embeddings=run.embeddings if config["save_embeddings"] else None,
        summaries=run.report.get("scorers"),
        record=record,
    )
    new.record["timings_s"] = {"regate": round(time.perf_counter() - start, 4)}
    return replace(new, path=run.path)


def _first_difference(old: Any, new: Any, path: str) -> str | None:
    """The dotted path of the first value that differs, or None."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            found = _first_difference(old.get(key), new.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    return None if old == new else path
