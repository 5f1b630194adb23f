"""Vector and graph helpers: nearest neighbours of unit vectors by chunked matrix products
(memory O(chunk x n)), and connected components of the links they (or MinHash) find."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from synthgate.embed import Embeddings

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


def nearest_other(vectors: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """For each row index in `queries`, the highest cosine to any other row of `vectors`
    (leave one out; -1 when there is no other row)."""
    best = np.full(len(queries), -1.0)
    if len(vectors) < 2:
        return best
    for lo in range(0, len(queries), CHUNK):
        rows = queries[lo : lo + CHUNK]
        sims = vectors[rows] @ vectors.T
        sims[np.arange(len(rows)), rows] = -np.inf
        best[lo : lo + CHUNK] = np.clip(sims.max(axis=1), -1.0, 1.0)
    return best


@dataclass(frozen=True)
class Neighbours:
    """Per candidate row: cosine to and row of the nearest real row, and of the nearest earlier
    candidate (NaN and -1 where the row has no vector or there is no such row)."""

    real_cos: np.ndarray
    real_row: np.ndarray
    earlier_cos: np.ndarray
    earlier_row: np.ndarray

    def subset(self, keep: np.ndarray, real_keep: np.ndarray) -> Neighbours:
        """The same links among the kept candidate and real rows, renumbered."""
        cand_pos = np.where(keep, np.cumsum(keep) - 1, -1)
        real_pos = np.where(real_keep, np.cumsum(real_keep) - 1, -1)

        def move(rows: np.ndarray, pos: np.ndarray) -> np.ndarray:
            return np.where(rows >= 0, pos[np.clip(rows, 0, None)], -1)[keep]

        return Neighbours(
            self.real_cos[keep],
            move(self.real_row, real_pos) if len(real_pos) else self.real_row[keep],
            self.earlier_cos[keep],
            move(self.earlier_row, cand_pos),
        )


def candidate_neighbours(
    cand_text: pl.Series, real_text: pl.Series, embeddings: Embeddings
) -> Neighbours:
    """Nearest real row and nearest earlier candidate of every candidate, by cosine."""
    cand_vecs, found = embeddings.of(cand_text)
    real_vecs, real_found = embeddings.of(real_text)
    rows, real_rows = np.flatnonzero(found), np.flatnonzero(real_found)
    n = len(found)
    real_cos, real_row = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    best, where = nearest(cand_vecs[found], real_vecs[real_found])
    real_cos[rows] = np.clip(best, -1.0, 1.0)
    real_row[rows] = (
        np.where(where >= 0, real_rows[np.clip(where, 0, None)], -1) if len(real_rows) else -1
    )
    earlier_cos, earlier_row = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    best, where = nearest_earlier(cand_vecs[found])
    earlier_cos[rows] = best
    earlier_row[rows] = np.where(where >= 0, rows[np.clip(where, 0, None)], -1)
    return Neighbours(real_cos, real_row, earlier_cos, earlier_row)


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components of an undirected graph on nodes 0..n-1 with edges (left[i],
    right[i]): each node's label is the smallest node of its component."""
    if len(left) == 0:
        return np.arange(n)
    ones = np.ones(len(left), dtype=np.int8)
    graph = sparse.coo_matrix((ones, (left, right)), shape=(n, n))
    _, found = connected_components(graph, directed=False)
    smallest = np.full(found.max() + 1, n, dtype=np.int64)
    np.minimum.at(smallest, found, np.arange(n))
    return smallest[found]
