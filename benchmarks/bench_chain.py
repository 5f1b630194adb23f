"""The whole default chain against the floor set by the embedding model.

    python benchmarks/bench_chain.py [--rows 10000] [--semantic-rows 100000]

1. 10,000 candidates (built as in bench_score.py, each with its source) against the 5,574 SMS
   messages: the whole `synthgate score` (run_job: read, embed, every default scorer, gate,
   write) versus encoding the same distinct texts once with sentence-transformers alone, same
   model, max sequence length, batch size and dtype. Target on CPU: whole run <= 1.3x the floor.
2. The semantic level of dedup alone at 100,000 candidates (random unit vectors of the model's
   dimension against the real set's): time and peak memory.

Each measurement runs in a fresh process so that its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from bench_score import build_candidates, machine, read_sms  # beside this script

import synthgate
from synthgate.config import default_config
from synthgate.embed import Embeddings, embedder_from_config
from synthgate.scorers.semantic import semantic_matches
from synthgate.vectors import candidate_neighbours


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor(cand: Path, real: Path) -> dict[str, Any]:
    """Encode every distinct text once with the bare model (loaded before the clock starts)."""
    c, r = pl.read_parquet(cand), pl.read_csv(real)
    texts = pl.concat([c["text"], c["source"], r["text"]])
    distinct = texts.filter(texts.str.strip_chars() != "").unique(maintain_order=True).to_list()
    embedder = embedder_from_config(default_config()["embedding"])
    model = embedder.load()
    start = time.perf_counter()
    model.encode(distinct, batch_size=embedder.batch_size, normalize_embeddings=True)
    return {"seconds": time.perf_counter() - start, "texts": len(distinct), "peak_mb": peak_mb()}


def whole(cand: Path, real: Path, out: Path) -> dict[str, Any]:
    """`run_job` with the default config, model load included."""
    start = time.perf_counter()
    result = synthgate.run_job(cand, real, out)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "peak_mb": peak_mb(),
        "timings": result.run["timings_s"],
        "accepted": result.report["accepted"],
        "scorers": result.report["scorers"],
    }


def semantic(rows: int, real_rows: int) -> dict[str, Any]:
    """Nearest real row and nearest earlier candidate for `rows` random unit vectors."""
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((rows + real_rows, 384), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = pl.Series([f"t{i}" for i in range(rows + real_rows)])
    table = Embeddings(texts, vecs)
    cand = pl.DataFrame({"id": texts[:rows], "text": texts[:rows]})
    real = pl.DataFrame({"id": texts[rows:], "text": texts[rows:]})
    base = peak_mb()
    start = time.perf_counter()
    semantic_matches(real, candidate_neighbours(cand["text"], real["text"], table), 0.95)
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_mb(), "base_mb": base}


def spawn(*args: str) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--semantic-rows", type=int, default=100_000)
    parser.add_argument("--child", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        paths = [Path(p) for p in rest]
        fn = {"floor": floor, "whole": whole}.get(kind)
        result = fn(*paths) if fn else semantic(int(rest[0]), int(rest[1]))
        print(json.dumps(result))
        return
    real = read_sms()
    with tempfile.TemporaryDirectory() as tmp:
        cand_path, real_path = Path(tmp) / "cand.parquet", Path(tmp) / "real.csv"
        build_candidates(real, args.rows, seed=0).drop("kind").write_parquet(cand_path)
        real.write_csv(real_path)
        base = spawn("floor", str(cand_path), str(real_path))
        run = spawn("whole", str(cand_path), str(real_path), str(Path(tmp) / "run"))
    sem = spawn("semantic", str(args.semantic_rows), str(real.height))
    print(f"## Whole default chain, {args.rows:,} candidates x {real.height:,} real rows\n")
    print("| | seconds | peak RSS MB |\n|---|---|---|")
    print(
        f"| encode {base['texts']:,} distinct texts, bare model (floor) | "
        f"{base['seconds']:.1f} | {base['peak_mb']:.0f} |"
    )
    print(f"| whole `synthgate score` | {run['seconds']:.1f} | {run['peak_mb']:.0f} |")
    print(f"| **ratio** | **{run['seconds'] / base['seconds']:.2f}x** (target <= 1.3x) | |\n")
    print("steps (s): " + ", ".join(f"{k} {v:.2f}" for k, v in run["timings"].items()))
    print(f"accepted: {run['accepted']:,}; scorers: {json.dumps(run['scorers'])}\n")
    print(f"## Semantic dedup alone, {args.semantic_rows:,} candidates x {real.height:,} real\n")
    print(
        f"{sem['seconds']:.1f} s, peak RSS {sem['peak_mb']:.0f} MB "
        f"({sem['base_mb']:.0f} MB before, vectors included)\n"
    )
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()))


if __name__ == "__main__":
    main()
