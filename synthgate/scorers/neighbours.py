"""Nearest neighbours of unit vectors by chunked matrix products: memory O(chunk x n)."""

from __future__ import annotations

import numpy as np

CHUNK = 512


def nearest(queries: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query row, the highest cosine to a `base` row and that row (-1 if base empty)."""
    best = np.full(len(queries), -1.0)
    where = np.full(len(queries), -1, dtype=np.int64)
    if len(base) == 0:
        return best, where
    for lo in range(0, len(queries), CHUNK):
        sims = queries[lo : lo + CHUNK] @ base.T
        where[lo : lo + CHUNK] = sims.argmax(axis=1)
        best[lo : lo + CHUNK] = np.take_along_axis(sims, where[lo : lo + CHUNK, None], 1)[:, 0]
    return best, where


def nearest_earlier(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row i, the highest cosine to a row j < i and that j (-1 for row 0)."""
    n = len(vectors)
    best = np.full(n, -1.0)
    where = np.full(n, -1, dtype=np.int64)
    for lo in range(1, n, CHUNK):
        hi = min(lo + CHUNK, n)
        sims = vectors[lo:hi] @ vectors[:hi].T
        block = sims[:, lo:hi]  # only the diagonal block holds pairs with j >= i
        block[np.triu_indices(hi - lo)] = -np.inf
        where[lo:hi] = sims.argmax(axis=1)
        best[lo:hi] = np.take_along_axis(sims, where[lo:hi, None], axis=1)[:, 0]
    if n:
        best[0] = -1.0
    return best, where
