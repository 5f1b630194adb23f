"""What the scorers of one run share, by name: built lazily, once, by a registered builder.

A scorer names what its `fit` uses in `needs` and asks for it with `resources.get(name, ...)`;
the pipeline lets a run build only what its enabled scorers declared. A new shared model (the
T5 of `stsb` and `cola`, a generator) is one builder added to `RESOURCES`, not a pipeline edit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

import polars as pl

from synthgate.embed import Embeddings, embedder_from_config
from synthgate.progress import Progress, silent
from synthgate.t5 import t5_from_config
from synthgate.vectors import Neighbours, candidate_neighbours

Builder = Callable[["Resources", pl.DataFrame, pl.DataFrame], Any]
"""builder(resources, candidates, real) -> the resource, or None where it cannot be had."""


class Resources:
    """Shared state of one run. Pass ready-made ones by name (`Resources(embeddings=e)`); the
    rest are built on first `get` from the run's config, over `rows` (the pipeline's whole
    candidate and real frames) or else the frames of that first call. Every call must be about
    the same rows: a scorer may see only the columns it reads, never other rows."""

    def __init__(
        self,
        embeddings: Embeddings | None = None,
        *,
        config: dict[str, Any] | None = None,
        declared: Collection[str] | None = None,
        rows: tuple[pl.DataFrame, pl.DataFrame] | None = None,
        progress: Progress = silent,
        **given: Any,
    ) -> None:
        self.config = config
        self.progress = progress
        self.timings: dict[str, float] = {}
        self._declared = None if declared is None else _with_dependencies(declared)
        ready = {"embeddings": embeddings, **given}
        self._built = {k: v for k, v in ready.items() if v is not None}
        self._rows = rows  # the run's whole candidate and real frames, once known

    def get(self, name: str, candidates: pl.DataFrame, real: pl.DataFrame) -> Any:
        """The resource `name` for this run (None where it cannot be had), built once."""
        if self._declared is not None and name not in self._declared:
            raise RuntimeError(f"internal error: resource {name!r} used but no scorer needs it")
        self._check_rows(candidates, real)
        assert self._rows is not None
        if name not in self._built:
            start, before = time.perf_counter(), sum(self.timings.values())
            self._built[name] = RESOURCES[name](self, *self._rows)
            nested = sum(self.timings.values()) - before  # resources it asked for, timed apart
            self.timings[name] = time.perf_counter() - start - nested
        return self._built[name]

    def built(self, name: str) -> Any:
        """The resource `name` if it was given or built, else None; builds nothing."""
        return self._built.get(name)

    @property
    def embeddings(self) -> Embeddings | None:
        """The embeddings, if given or already built."""
        return self.built("embeddings")

    @property
    def device(self) -> str:
        """Where the run's models ran: the first built resource's device, else cpu."""
        devices = [getattr(r, "device", None) for r in self._built.values()]
        return next((d for d in devices if isinstance(d, str)), "cpu")

    def _check_rows(self, candidates: pl.DataFrame, real: pl.DataFrame) -> None:
        # Resources belong to one set of rows; ids are unique per run, so equal ids are the
        # same rows (compared by value: object ids could be reused by other frames).
        if self._rows is None:
            self._rows = (candidates, real)
        bound = self._rows
        if not (_key(candidates).equals(_key(bound[0])) and _key(real).equals(_key(bound[1]))):
            raise RuntimeError("internal error: resources asked for over other rows")


def _key(frame: pl.DataFrame) -> pl.Series:
    return frame["id"] if "id" in frame.columns else frame["text"]


def _embeddings(res: Resources, candidates: pl.DataFrame, real: pl.DataFrame) -> Any:
    """One encoding pass over every distinct candidate, real and source text."""
    if res.config is None:
        return None
    embedder = embedder_from_config(res.config["embedding"])
    columns = [candidates["text"], real["text"]]
    if "source" in candidates.columns:
        columns.append(candidates["source"])
    return Embeddings.build(columns, embedder, res.progress)


def _neighbours(res: Resources, candidates: pl.DataFrame, real: pl.DataFrame) -> Any:
    """Each candidate's nearest real row and nearest earlier candidate (dedup's semantic
    level and the discriminator's fold groups both read it)."""
    embeddings = res.get("embeddings", candidates, real)
    if embeddings is None:
        return None
    return candidate_neighbours(candidates["text"], real["text"], embeddings)


def _t5(res: Resources, candidates: pl.DataFrame, real: pl.DataFrame) -> Any:
    """The one T5 of `[t5]` that serves `stsb` and `cola` (it loads on first use)."""
    return None if res.config is None else t5_from_config(res.config["t5"])


RESOURCES: dict[str, Builder] = {
    "embeddings": _embeddings,
    "neighbours": _neighbours,
    "t5": _t5,
}
"""Every shared resource a scorer may name in `needs`, and how it is built."""
USES: dict[str, tuple[str, ...]] = {"neighbours": ("embeddings",)}
"""The resources a builder asks for in turn."""


def _with_dependencies(names: Collection[str]) -> set[str]:
    out, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(USES.get(name, ()))
    return out


__all__ = ["RESOURCES", "Neighbours", "Resources"]
