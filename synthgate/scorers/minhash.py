"""MinHash signatures (datasketch) and LSH banding done as array operations."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
from datasketch import MinHash

_CHUNK = 4096


def shingles(text: str, size: int) -> set[bytes]:
    """Character `size`-grams of a normalised text as bytes; a shorter text is one shingle."""
    raw = text.encode("utf-8")
    if len(raw) <= size:
        return {raw}
    return {raw[i : i + size] for i in range(len(raw) - size + 1)}


def signatures(texts: Iterable[str], size: int, num_perm: int, seed: int) -> np.ndarray:
    """One row of `num_perm` uint32 min-hashes per text (datasketch, CRC32 shingle hashes)."""
    texts = list(texts)
    out = np.zeros((len(texts), num_perm), dtype=np.uint32)
    # Chunks keep datasketch's per-text objects from piling up (peak memory).
    for lo in range(0, len(texts), _CHUNK):
        sets = [shingles(t, size) for t in texts[lo : lo + _CHUNK]]
        # CRC32 instead of datasketch's default SHA-1 halves the time and needs no
        # cryptographic strength: MinHash only needs well-spread 32-bit values.
        hashes = MinHash.bulk(sets, num_perm=num_perm, seed=seed, hashfunc=zlib.crc32)
        out[lo : lo + len(sets)] = np.stack([m.hashvalues for m in hashes])
    return out


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) whose S-curve best separates Jaccard above and below `threshold`.

    The same weighted false-positive / false-negative areas as datasketch's MinHashLSH,
    integrated on a grid.
    """
    grid = np.linspace(0.0, 1.0, 201)
    best, best_cost = (1, num_perm), float("inf")
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        p = 1.0 - (1.0 - grid**rows) ** bands
        fp = np.trapezoid(np.where(grid < threshold, p, 0.0), grid)
        fn = np.trapezoid(np.where(grid >= threshold, 1.0 - p, 0.0), grid)
        if fp + fn < best_cost:
            best, best_cost = (bands, rows), fp + fn
    return best


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 keys, one hash of each band's `rows` min-hashes."""
    keys = np.zeros((sigs.shape[0], bands), dtype=np.uint64)
    with np.errstate(over="ignore"):  # wrap-around is the hash
        for r in range(rows):
            keys = keys * np.uint64(0x100000001B3) + sigs[:, r::rows][:, :bands].astype(np.uint64)
    return keys


def estimated_jaccard(sigs: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of equal min-hashes for each pair (left[i], right[i]), in chunks to bound memory."""
    out = np.empty(len(left), dtype=np.float64)
    step = max(1, (1 << 24) // max(sigs.shape[1], 1))
    for lo in range(0, len(left), step):
        hi = lo + step
        out[lo:hi] = (sigs[left[lo:hi]] == sigs[right[lo:hi]]).mean(axis=1)
    return out
