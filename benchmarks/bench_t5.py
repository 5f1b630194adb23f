"""Speed of the `stsb` + `cola` scorers against the recipes' way, on t5-base's exact shape.

    python benchmarks/bench_t5.py [--rows 128] [--recipe-rows 8] [--batch-size 16]
                                  [--dtypes float32,bfloat16] [--seed 0] [--repeats 3]

A randomly initialised T5 of t5-base's shape (same compute as the real checkpoint) with the real
vocabulary (../shared/data/t5_tokenizer/spiece.model) answers both tasks for STS-B train pairs
(../shared/data/stsb; sentence 1 is the source, sentence 2 the candidate), in the same run:

1. synthgate's way: `T5.answer` (length-sorted batches, one encoder pass per prompt, one decoder
   pass over the answers' distinct prefixes for chunks of up to 256 rows), on `--rows` pairs,
   stsb then cola;
2. the recipes' way: one `generate()` per sample per task, greedy, with `max_new_tokens` (and
   `min_new_tokens`, so a random model that stops at once is not faster than a real one) fixed
   to the longest real answer in pieces with its end-of-sequence (stsb 3, cola 2), on the first
   `--recipe-rows` pairs;
3. the encoder passes of (1) alone, over the same batches: the floor of (1);
4. a matrix-multiply peak (4096 x 4096 matmuls, best of 5) in each dtype, and the achieved
   FLOP/s of (1): 2 x non-embedding parameters x tokens, the encoder's per real prompt token,
   the decoder's per distinct answer prefix, and the output projection (2 x d_model x
   vocabulary) per prefix read.

The four are interleaved `--repeats` times and their medians compared, so a shared machine's
load slows every side alike. For bfloat16 it also reports the largest difference from float32
in the answer probabilities and log-likelihoods of the same rows. Results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from synthgate.t5 import COLA, STSB, T5, cola_prompt, stsb_prompt
from synthgate.t5.decode import encode

SHARED = Path(os.environ.get("SYNTHGATE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
T5_BASE = dict(d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12, vocab_size=32128)


def pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """`n` random STS-B train pairs: the first 7 tab-separated fields, no quoting."""
    path = SHARED / "data" / "stsb" / "sts-train.csv"
    rows = [line.rstrip("\n").split("\t")[:7] for line in path.open(encoding="utf-8")]
    rows = [r for r in rows if len(r) == 7]
    pick = np.random.default_rng(seed).choice(len(rows), size=n, replace=False)
    return [(rows[i][5], rows[i][6]) for i in pick]


def model_and_tokenizer() -> tuple[object, object]:
    from transformers import T5Config, T5ForConditionalGeneration, T5Tokenizer

    torch.manual_seed(0)
    config = T5Config(**T5_BASE, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    model = T5ForConditionalGeneration(config).eval()
    return model, T5Tokenizer.from_pretrained(str(SHARED / "data" / "t5_tokenizer"))


def matmul_peak(dtype: torch.dtype, n: int = 4096, repeats: int = 5) -> float:
    """Best FLOP/s of an n x n matmul in `dtype` on this CPU."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n**3 / (time.perf_counter() - start))
    return best


def flops(t5: T5, prompts: dict[str, list[str]]) -> float:
    """2 x parameters x tokens for the work a row needs: the encoder per real prompt token,
    the decoder per node of the answers' prefix tree (its cross-attention key and value
    projections included: they run on the node side, see synthgate/t5/decode.py), and the
    output projection per node read (padding not counted, nor attention scores)."""
    model, _ = t5.load()
    embedding = model.shared.weight.numel()
    encoder = sum(p.numel() for p in model.encoder.parameters()) - embedding
    decoder = sum(p.numel() for p in model.decoder.parameters()) - embedding
    head = model.config.d_model * model.config.vocab_size
    total = 0.0
    for task in (STSB, COLA):
        ids, _ = t5._encode(prompts[task.name])
        tree = t5.tree(task)
        total += 2 * encoder * sum(len(x) for x in ids)
        total += 2 * (decoder * len(tree.tokens) + head * len(tree.read_nodes()[0])) * len(ids)
    return total


def ours(t5: T5, prompts: dict[str, list[str]]) -> tuple[float, dict[str, np.ndarray]]:
    start = time.perf_counter()
    ll = {task.name: t5.log_likelihoods(task, prompts[task.name])[0] for task in (STSB, COLA)}
    return time.perf_counter() - start, ll


def encoder_only(t5: T5, prompts: dict[str, list[str]]) -> float:
    """Seconds of the encoder passes alone over the same batches: the floor of (1)."""
    model, _ = t5.load()
    start = time.perf_counter()
    for task in (STSB, COLA):
        ids, _ = t5._encode(prompts[task.name])
        for _, inputs, mask in t5._batches(ids, "encode", lambda *a: None):
            with torch.inference_mode():
                encode(model, inputs, mask)
    return time.perf_counter() - start


def recipes(t5: T5, prompts: dict[str, list[str]], rows: int) -> float:
    """One generate() per sample per task, as the recipes ran it."""
    model, tokenizer = t5.load()
    start = time.perf_counter()
    for task in (STSB, COLA):
        steps = max(len(tokenizer(a).input_ids) for a in task.answers)
        for prompt in prompts[task.name][:rows]:
            inputs = tokenizer(prompt, return_tensors="pt")
            with torch.inference_mode():
                out = model.generate(
                    **inputs, max_new_tokens=steps, min_new_tokens=steps, do_sample=False
                )
            tokenizer.decode(out[0], skip_special_tokens=True)
    return time.perf_counter() - start


def softmax(ll: np.ndarray) -> np.ndarray:
    p = np.exp(ll - ll.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=128)
    parser.add_argument("--recipe-rows", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved measurements")
    args = parser.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__} ({torch.get_num_threads()} threads), transformers "
        f"{metadata.version('transformers')}"
    )
    data = pairs(args.rows, args.seed)
    prompts = {
        "stsb": [stsb_prompt(s, c) for s, c in data],
        "cola": [cola_prompt(c) for _, c in data],
    }
    model, tokenizer = model_and_tokenizer()
    print(f"t5-base shape, {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters")
    reference: dict[str, np.ndarray] = {}
    print(
        f"medians of {args.repeats} interleaved repeats\n"
        "| dtype | ours rows/s | encoder alone rows/s | recipes rows/s | ratio (per repeat) "
        "| GFLOP/s | matmul peak | share |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in args.dtypes.split(","):
        t5 = T5.ready(model, tokenizer, batch_size=args.batch_size, dtype=name)
        ours(t5, {k: v[: args.batch_size] for k, v in prompts.items()})  # warm-up
        runs: dict[str, list[float]] = {"ours": [], "encoder": [], "recipes": [], "peak": []}
        for _ in range(args.repeats):  # interleaved, so a shared machine's load hits all alike
            took, ll = ours(t5, prompts)
            runs["ours"].append(took)
            runs["encoder"].append(encoder_only(t5, prompts))
            runs["recipes"].append(recipes(t5, prompts, args.recipe_rows))
            runs["peak"].append(matmul_peak(getattr(torch, name)))
        took, floor, recipe, peak = (statistics.median(runs[k]) for k in runs)
        achieved = flops(t5, prompts) / took
        ratios = [
            (args.rows / o) / (args.recipe_rows / r)
            for o, r in zip(runs["ours"], runs["recipes"], strict=True)
        ]
        print(
            f"| {name} | {args.rows / took:.1f} | {args.rows / floor:.1f} | "
            f"{args.recipe_rows / recipe:.2f} | "
            f"{(args.rows / took) / (args.recipe_rows / recipe):.1f}x "
            f"({', '.join(f'{r:.1f}' for r in ratios)}) | {achieved / 1e9:.0f} | "
            f"{peak / 1e9:.0f} | {achieved / peak:.0%} |"
        )
        if not reference:
            reference = ll
            continue
        for task in ("stsb", "cola"):
            dp = np.abs(softmax(ll[task]) - softmax(reference[task])).max()
            dll = np.abs(ll[task] - reference[task]).max()
            first = args.dtypes.split(",")[0]
            print(f"  {name} vs {first} {task}: max |dp| {dp:.2e}, max |d log p| {dll:.3f}")


if __name__ == "__main__":
    main()
