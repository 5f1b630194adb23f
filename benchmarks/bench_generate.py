"""Batched sampling (synthgate's causal and seq2seq generators) against the recipes' way (one
sample at a time, no KV cache) on randomly initialised models of GPT-2 small's and t5-base's
exact shapes.

    python benchmarks/bench_generate.py [--shape gpt2|t5-base|tiny|tiny-t5] [--loop-rows 2]
                                        [--rows 64] [--batch-sizes 32,64] [--new-tokens 64]
                                        [--threads N] [--device cpu|cuda] [--repeats 3]

Both sides get the same prompts (8 to 24 tokens) and generate exactly `--new-tokens` tokens
each (min_new_tokens = max_new_tokens), top-k 50 sampling, so tokens/s compare like for like.
For T5 the loop encodes each prompt once and re-runs the decoder over everything decoded so
far for every new token (no cache), as a loop over `model(...)` calls does.
The loop and the batched passes are interleaved `--repeats` times and the medians compared, so a
load that comes and goes on a shared machine slows both sides alike (each repeat's own ratio is
printed too). The model and a word-level tokenizer are built in code and saved to a temporary
folder, which `[generate] model` then names (no download). Results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

from synthgate.generate.hf import CausalGenerator, Seq2SeqGenerator

GPT2 = {"n_layer": 12, "n_head": 12, "n_positions": 1024}
T5 = {"d_ff": 3072, "d_kv": 64, "num_layers": 12, "num_heads": 12}
SHAPES: dict[str, tuple[str, dict[str, int]]] = {
    "gpt2": ("causal", {**GPT2, "n_embd": 768, "vocab_size": 50257}),
    "tiny": ("causal", {**GPT2, "n_embd": 64, "n_layer": 2, "n_head": 2, "vocab_size": 1000}),
    "t5-base": ("seq2seq", {**T5, "d_model": 768, "vocab_size": 32128}),
    "tiny-t5": (
        "seq2seq",
        {
            **T5,
            "d_model": 64,
            "d_ff": 128,
            "d_kv": 16,
            "num_layers": 2,
            "num_heads": 4,
            "vocab_size": 1000,
        },
    ),
}


def build(folder: Path, shape: str) -> int:
    """Save a random model of `shape` and a tokenizer whose words w1 … wN are its tokens."""
    kind, dims = SHAPES[shape]
    specials = ["<|endoftext|>"] if kind == "causal" else ["<pad>", "</s>"]
    vocab = {t: i for i, t in enumerate(specials)}
    vocab |= {f"w{i}": i for i in range(len(specials), dims["vocab_size"])}
    core = Tokenizer(models.WordLevel(vocab, unk_token=specials[-1]))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    torch.manual_seed(0)
    if kind == "causal":
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|endoftext|>")
        model = GPT2LMHeadModel(GPT2Config(**dims, bos_token_id=0, eos_token_id=0))
    else:
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=core, pad_token="<pad>", eos_token="</s>"
        )
        config = T5Config(**dims, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
        model = T5ForConditionalGeneration(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def prompts(n: int, vocab: int) -> list[str]:
    gen = torch.Generator().manual_seed(1)
    lengths = torch.randint(8, 25, (n,), generator=gen)
    return [
        " ".join(f"w{int(t)}" for t in torch.randint(2, vocab, (int(k),), generator=gen))
        for k in lengths
    ]


def requests(texts: list[str]) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {"label": ["x"] * n, "prompt": texts, "source": [None] * n, "source_id": [None] * n},
        schema={c: pl.String for c in ("label", "prompt", "source", "source_id")},
    )


def recipe_loop(gen: CausalGenerator, texts: list[str], new_tokens: int) -> float:
    """The recipes' way: one prompt at a time, the whole sequence (for T5: the whole decoded
    sequence, after one encoder pass) re-run for every token with no cache, top-k 50
    sampling. Returns seconds."""
    tokenizer, model = gen.load()
    seq2seq = gen.name == "seq2seq"
    torch.manual_seed(0)
    start = time.perf_counter()
    with torch.inference_mode():
        for text in texts:
            ids = tokenizer(text, return_tensors="pt")["input_ids"].to(model.device)
            if seq2seq:
                encoded = model.get_encoder()(input_ids=ids).last_hidden_state
                ids = torch.zeros((1, 1), dtype=torch.long, device=model.device)
            for _ in range(new_tokens):
                if seq2seq:
                    out = model(encoder_outputs=(encoded,), decoder_input_ids=ids, use_cache=False)
                else:
                    out = model(ids, use_cache=False)
                top = torch.topk(out.logits[:, -1, :], 50)
                pick = torch.multinomial(torch.softmax(top.values, -1), 1)
                ids = torch.cat([ids, top.indices.gather(1, pick)], dim=1)
    return time.perf_counter() - start


def batched(gen: CausalGenerator, texts: list[str]) -> float:
    start = time.perf_counter()
    out = gen.generate(requests(texts), seed=0)
    assert out.height == len(texts)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=list(SHAPES), default="gpt2")
    parser.add_argument("--loop-rows", type=int, default=2)
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--batch-sizes", default="32,64")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's own)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, auto (dtype: auto)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved measurements")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        params = build(Path(tmp), args.shape)
        kind, dims = SHAPES[args.shape]
        texts = prompts(args.rows, dims["vocab_size"])
        cls = CausalGenerator if kind == "causal" else Seq2SeqGenerator
        common = {"model": tmp, "device": args.device, "top_k": 50, "temperature": 1.0}
        fixed = {"max_new_tokens": args.new_tokens, "min_new_tokens": args.new_tokens}
        loop_gen = cls(**common, **fixed).fit(pl.DataFrame())
        gen_for = {
            b: cls(**common, **fixed, batch_size=b).fit(pl.DataFrame())
            for b in map(int, args.batch_sizes.split(","))
        }
        loop_gen.load()
        recipe_loop(loop_gen, texts[:1], 2)  # warm-up
        for gen in gen_for.values():
            gen.load()
            batched(gen, texts[:2])  # warm-up
        names = ["recipe loop (batch 1, no cache)"] + [
            f"synthgate {kind}, batch {b}" for b in gen_for
        ]
        counts = [args.loop_rows] + [args.rows] * len(gen_for)
        times: list[list[float]] = [[] for _ in names]
        for _ in range(args.repeats):  # interleaved: each repeat measures every method once
            times[0].append(recipe_loop(loop_gen, texts[: args.loop_rows], args.new_tokens))
            for i, gen in enumerate(gen_for.values(), start=1):
                times[i].append(batched(gen, texts))
    print(
        f"# {args.shape} shape, {params / 1e6:.1f} M parameters, float32, CPU, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} cores, {platform.processor()}, "
        f"torch {torch.__version__}; {args.new_tokens} new tokens per row, "
        f"median of {args.repeats} interleaved repeats, load average {os.getloadavg()[0]:.1f}"
    )
    print("| method | rows | median seconds | rows/s | tokens/s |")
    print("|---|---|---|---|---|")
    tokens = [[n * args.new_tokens / t for t in ts] for n, ts in zip(counts, times, strict=True)]
    for name, n, ts, tps in zip(names, counts, times, tokens, strict=True):
        mid = statistics.median(ts)
        print(f"| {name} | {n} | {mid:.1f} | {n / mid:.2f} | {statistics.median(tps):.1f} |")
    best = max(statistics.median(tps) for tps in tokens[1:])
    per_repeat = [max(t[r] for t in tokens[1:]) / tokens[0][r] for r in range(args.repeats)]
    print(
        f"\nbest batched / recipe loop: {best / statistics.median(tokens[0]):.1f}x tokens/s "
        f"(per repeat: {', '.join(f'{x:.1f}x' for x in per_repeat)})"
    )


if __name__ == "__main__":
    main()
