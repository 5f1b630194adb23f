"""How varied the accepted set is beside the real set: distinct-n and embedding coverage."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from synthgate.io.rundir import RunEmbeddings

COVERAGE_K = 5  # Naeem et al. 2020 ("Reliable Fidelity and Diversity Metrics"), k = 5
DISTINCT_SAMPLE = 20_000  # rows per side: bounds the time on million-row runs
COVERAGE_SAMPLE = 5_000  # rows per side: coverage costs real x accepted dot products
_WORD = r"\w+"


def distinct_n(texts: pl.Series, n: int) -> float | None:
    """Distinct n-grams over all n-grams of lower-cased word tokens (Li et al. 2016)."""
    words = (
        pl.DataFrame({"t": texts.cast(pl.String).fill_null("")})
        .with_row_index("row")
        .select("row", w=pl.col("t").str.to_lowercase().str.extract_all(_WORD))
        .explode("w")
        .drop_nulls("w")
    )
    grams = pl.concat_str([pl.col("w").shift(-k).over("row") for k in range(n)], separator=" ")
    found = words.select(g=grams).drop_nulls("g")["g"]
    return found.n_unique() / found.len() if found.len() else None


def knn_radius(vectors: np.ndarray, k: int = COVERAGE_K, chunk: int = 512) -> np.ndarray:
    """Cosine to each row's k-th nearest other row (-inf where fewer than k others)."""
    n = vectors.shape[0]
    out = np.full(n, -np.inf, dtype=np.float32)
    if n <= k:
        return out
    for lo in range(0, n, chunk):
        sims = vectors[lo : lo + chunk] @ vectors.T
        sims[np.arange(sims.shape[0]), np.arange(lo, lo + sims.shape[0])] = -np.inf  # not itself
        out[lo : lo + chunk] = -np.partition(-sims, k - 1, axis=1)[:, k - 1]
    return out


def coverage(real: np.ndarray, generated: np.ndarray, k: int = COVERAGE_K) -> float | None:
    """Share of real rows whose k-NN ball (among real rows) holds a generated row."""
    if real.shape[0] <= k:
        return None
    if generated.shape[0] == 0:
        return 0.0
    radius = knn_radius(real, k)
    covered = np.zeros(real.shape[0], dtype=bool)
    for lo in range(0, real.shape[0], 512):
        best = (real[lo : lo + 512] @ generated.T).max(axis=1)
        covered[lo : lo + 512] = best >= radius[lo : lo + 512]
    return float(covered.mean())


def run_diversity(
    frame: pl.DataFrame,
    columns: dict[str, str | None],
    real: pl.DataFrame | None,
    embeddings: RunEmbeddings | None,
    seed: int,
) -> dict[str, Any]:
    """diversity() of the accepted rows of a gated frame beside the real set."""
    mask = frame["accepted"].to_numpy()
    text, label = columns.get("text") or "text", columns.get("label")
    keep = [pl.col(text).alias("text")]
    if label and label in frame.columns:
        keep.append(pl.col(label).cast(pl.String).alias("label"))
    accepted = frame.filter(pl.col("accepted")).select(keep)
    vectors = (None, None)
    if embeddings is not None:
        vectors = (embeddings.candidates[np.flatnonzero(mask)], embeddings.real)
    return diversity(accepted, real, *vectors, seed=seed)


def diversity(
    accepted: pl.DataFrame,
    real: pl.DataFrame | None,
    accepted_vectors: np.ndarray | None = None,
    real_vectors: np.ndarray | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Per label (and `(all)`): rows, distinct-1/2 of accepted and real on equal-size samples
    (at most DISTINCT_SAMPLE rows), and coverage of the real set by the accepted set when
    vectors are given (on seeded samples of at most COVERAGE_SAMPLE rows a side: the k-NN
    radii come from the real sample, so a sampled coverage reads a little higher).

    `accepted` and `real` hold `text` and, optionally, `label`, row-aligned with the vectors."""
    groups = {"(all)": (pl.lit(True), pl.lit(True))}
    if real is not None and "label" in real.columns:
        real = real.with_columns(pl.col("label").cast(pl.String))
    if real is not None and "label" in accepted.columns and "label" in real.columns:
        labels = sorted(set(real["label"].drop_nulls().cast(pl.String).to_list()))
        groups |= {lab: (pl.col("label") == lab, pl.col("label") == lab) for lab in labels}
    out: dict[str, Any] = {}
    for name, (a_pred, r_pred) in groups.items():
        a_rows = _rows(accepted, a_pred)
        r_rows = _rows(real, r_pred) if real is not None else np.zeros(0, dtype=np.int64)
        entry = _distinct(accepted, real, a_rows, r_rows, seed)
        if accepted_vectors is not None and real_vectors is not None:
            rng = np.random.default_rng(seed)
            r_pick, a_pick = _at_most(r_rows, rng), _at_most(a_rows, rng)
            entry["coverage"] = coverage(
                _nonzero(real_vectors[r_pick]), _nonzero(accepted_vectors[a_pick])
            )
            entry["coverage_sample"] = [len(r_pick), len(a_pick)]
        out[name] = entry
    return out


def _rows(frame: pl.DataFrame, pred: pl.Expr) -> np.ndarray:
    return frame.with_row_index("_i").filter(pred)["_i"].to_numpy().astype(np.int64)


def _distinct(
    acc: pl.DataFrame, real: pl.DataFrame | None, a_rows: np.ndarray, r_rows: np.ndarray, seed: int
) -> dict[str, Any]:
    # distinct-n falls as a set grows, so both sides are measured on samples of equal size
    size = min(len(a_rows), len(r_rows)) if real is not None else len(a_rows)
    size = min(size, DISTINCT_SAMPLE)
    rng = np.random.default_rng(seed)
    entry: dict[str, Any] = {"accepted": len(a_rows), "real": len(r_rows), "sample": size}
    for side, frame, rows in (("accepted", acc, a_rows), ("real", real, r_rows)):
        if frame is None:
            continue
        pick = np.sort(rng.choice(rows, size, replace=False)) if size else rows[:0]
        texts = frame["text"].gather(pick)
        for n in (1, 2):
            entry[f"{side}_distinct_{n}"] = distinct_n(texts, n)
    return entry


def _at_most(rows: np.ndarray, rng: np.random.Generator, size: int = COVERAGE_SAMPLE) -> np.ndarray:
    """A seeded sample of at most `size` of `rows`, in order."""
    return rows if len(rows) <= size else np.sort(rng.choice(rows, size, replace=False))


def _nonzero(vectors: np.ndarray) -> np.ndarray:
    """Rows with a vector (a blank text has none), as float32."""
    vectors = vectors.astype(np.float32)
    return vectors[np.linalg.norm(vectors, axis=1) > 0]
