"""Which features the discriminator uses, measured.

First, on real generations (500 GPT-2 samples vs 1,000 WebText documents, ../shared/data/
gpt2_output) and on human vs human (two random halves of WebText): the run ROC-AUC of every
`features` option against a plain character 2-5-gram TF-IDF (char_wb) + logistic regression in
5 folds, and the time per 1,000 rows. Then, on SMS Spam, the out-of-fold ROC-AUC of real versus
candidate text for character n-gram TF-IDF, sentence embeddings and both (logistic regression,
class_weight balanced), with folds grouped by source and near-duplicates (what the scorer does)
and with plain stratified k-fold; then planted cases on madewithml (title. description, two
halves of dataset.csv; loops, shuffles, special tokens, the tag echoed) with the char_wb
baseline beside them. Last, the fine-tuned encoder on the two real pairs:

    python benchmarks/discriminator_features.py [--no-encoder | --encoder-full | --only madewithml]

(a) real vs real must stay near 0.5; (b) copies and near-copies of the real rows must not fall
below 0.5 (plain k-fold inverts: each copy is judged by a model that saw its twin labelled
real); (c) machine-like text must score high. Then the per-row p of the default scorer on a
mixed candidate set, for a gate threshold. Reads ../shared/data (or $SYNTHGATE_SHARED/data);
embeds ~12,000 texts once (a few minutes on 2 CPU cores; --only madewithml: 3,341 texts and that
table alone, about 2 minutes); the encoder fine-tunes MiniLM 10 times, on 300 WebText / 150 GPT-2
rows unless --encoder-full (the whole pair: about 20 more minutes on 2 CPU cores). Results:
benchmarks/README.md.
"""

from __future__ import annotations

import os
import platform
import random
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import _paths  # noqa: F401  (tests/ on sys.path, for plant)
import numpy as np
import plant
import polars as pl
from sklearn.metrics import roc_auc_score

from synthgate.embed import Embedder, Embeddings, resolve_device
from synthgate.scorers.base import Resources
from synthgate.scorers.crossfit import fold_splits, out_of_fold
from synthgate.scorers.discriminator import DiscriminatorScorer, fold_groups

LINEAR = ("both", "embeddings", "tfidf")

SHARED = Path(os.environ.get("SYNTHGATE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SEED = 0
N = 1000  # rows per side of each case
ENCODER_WEB_ROWS = 300  # WebText rows (and half as many GPT-2 samples) the encoder is run on
TEMPLATES = (
    "Dear {name}, your {item} order #{n} has been shipped. Reply STOP to opt out.",
    "Hi {name}! Don't forget your {item} appointment on {day}. See you soon!",
    "{name}, you have been selected to receive a free {item}. Call {n} today.",
    "Reminder: your {item} subscription renews on {day}. Questions? Text HELP.",
)
FILLS = {
    "name": ("John", "Sarah", "Mike", "Anna", "Customer", "Friend"),
    "item": ("phone", "pizza", "gym", "dentist", "ringtone", "voucher", "holiday"),
    "day": ("Monday", "Friday", "the weekend", "tomorrow", "12/03"),
}


def sms() -> list[str]:
    """The SMS Spam texts (label<TAB>text, no header, no quoting)."""
    path = SHARED / "data/sms_spam/SMSSpamCollection.tsv"
    return [line.rstrip("\n").split("\t", 1)[1] for line in path.open(encoding="utf-8")]


def shuffled(text: str, rng: random.Random) -> str:
    """The same words in random order."""
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


def template(rng: random.Random) -> str:
    """A fill-in-the-blanks message."""
    fills = {key: rng.choice(values) for key, values in FILLS.items()}
    return rng.choice(TEMPLATES).format(n=rng.randint(10000, 99999), **fills)


def frame(texts: list[str], sources: list[str] | None = None) -> pl.DataFrame:
    """A candidate frame, with a `source` column when given."""
    cols = {"id": [f"c{i}" for i in range(len(texts))], "text": texts}
    return pl.DataFrame(cols | ({"source": sources} if sources else {}))


def cases() -> dict[str, tuple[pl.DataFrame, pl.Series]]:
    """Name -> (candidates, real texts)."""
    rng = random.Random(SEED)
    texts = sms()
    order = rng.sample(range(len(texts)), 2 * N)
    real, other = [texts[i] for i in order[:N]], [texts[i] for i in order[N:]]
    vocab = sorted({w for t in texts for w in t.split()})
    edits = [plant.near_copy(t, rng, vocab) for t in real]
    swaps = [plant.word_swap(t, rng) for t in real]
    return {
        "(a) real vs real (SMS, two disjoint samples)": (frame(other), pl.Series(real)),
        "(b) 2-word edits of the real rows (plant.near_copy)": (
            frame(edits, real),
            pl.Series(real),
        ),
        "(b) adjacent-word swaps of the real rows": (frame(swaps, real), pl.Series(real)),
        "(b) the same swaps, no source column": (frame(swaps), pl.Series(real)),
        "(b) exact copies of the real rows (plant.exact_copy)": (
            frame([plant.exact_copy(t, rng) for t in real], real),
            pl.Series(real),
        ),
        "(c) loops (plant.loop)": (frame([plant.loop(t, rng) for t in other]), pl.Series(real)),
        "(c) shuffled word order": (frame([shuffled(t, rng) for t in other]), pl.Series(real)),
        "(c) template-filled": (frame([template(rng) for _ in other]), pl.Series(real)),
    }


def madewithml_cases() -> dict[str, tuple[pl.DataFrame, pl.Series]]:
    """The planted cases on madewithml: dataset.csv (764 rows; text = title. description)
    shuffled into two halves, the real rows and the rows the (c) defects are planted in."""
    rng = random.Random(SEED)
    rows = pl.read_csv(SHARED / "data/madewithml/dataset.csv").sample(
        fraction=1.0, shuffle=True, seed=SEED
    )
    texts = (rows["title"] + ". " + rows["description"]).to_list()
    half = len(texts) // 2
    real, other, tags = texts[:half], texts[half:], rows["tag"].to_list()[half:]
    vocab = sorted({w for t in texts for w in t.split()})

    def planted(make: Callable[[str], str]) -> tuple[pl.DataFrame, pl.Series]:
        return frame([make(t) for t in other]), pl.Series(real)

    def copies(make: Callable[[str], str]) -> tuple[pl.DataFrame, pl.Series]:
        return frame([make(t) for t in real], real), pl.Series(real)

    return {
        f"(a) real vs real (two halves, {len(other)} / {half})": (frame(other), pl.Series(real)),
        "(b) 2-word edits of the real rows": copies(lambda t: plant.near_copy(t, rng, vocab)),
        "(b) adjacent-word swaps of the real rows": copies(lambda t: plant.word_swap(t, rng)),
        "(b) exact copies of the real rows": copies(lambda t: plant.exact_copy(t, rng)),
        "(c) loops (plant.loop)": planted(lambda t: plant.loop(t, rng)),
        "(c) shuffled word order": planted(lambda t: shuffled(t, rng)),
        "(c) leftover special tokens (plant.artifact)": planted(lambda t: plant.artifact(t, rng)),
        "(c) tag echoed in front (plant.label_echo)": (
            frame([plant.label_echo(t, tag) for t, tag in zip(other, tags, strict=True)]),
            pl.Series(real),
        ),
    }


def measure(cand: pl.DataFrame, real: pl.Series, emb: Embeddings, timing: dict) -> list[str]:
    """Cells: groups, then AUC grouped / plain for each feature set."""
    y = np.r_[np.zeros(real.len(), int), np.ones(cand.height, int)]
    texts = pl.concat([real, cand["text"]])
    groups = fold_groups(cand, real, emb, DiscriminatorScorer.group_cosine)
    cells = [f"{len(np.unique(groups))}"]
    for features in LINEAR:
        vectors = emb.of(texts)[0] if features != "tfidf" else None
        grams = texts.to_list() if features != "embeddings" else None
        for g in (groups, np.arange(len(y))):
            start = time.perf_counter()
            p = out_of_fold(grams, vectors, y, fold_splits(y, g, 5, SEED), SEED)
            timing[features] = timing.get(features, 0.0) + time.perf_counter() - start
            cells.append(f"{roc_auc_score(y, p):.3f}")
    return cells


def planted_table(built: dict, emb: Embeddings, baseline: bool = False) -> None:
    """One row per case: groups, grouped / plain AUC per linear option (and the baseline)."""
    head = " | ".join(f"{f} grouped | {f} plain" for f in LINEAR)
    extra = " | char_wb baseline (plain) |" if baseline else " |"
    print(f"| case | groups | {head}{extra}\n|---|---|{'---|' * (2 * len(LINEAR) + baseline)}")
    timing: dict[str, float] = {}
    for name, (cand, real) in built.items():
        cells = measure(cand, real, emb, timing)
        cells += [f"{char_baseline(cand, real):.3f}"] if baseline else []
        print(f"| {name} | {' | '.join(cells)} |", flush=True)
    print(
        "\nclassifier seconds per feature set, all cases:", {k: round(v) for k, v in timing.items()}
    )


def mixture(emb_of: dict[str, list[str]], real: pl.Series, emb: Embeddings) -> None:
    """Per-row p of the default scorer: held-out real rows mixed with machine-like ones."""
    kinds = {k: v[: (800 if k == "held-out real" else 70)] for k, v in emb_of.items()}
    texts = [t for v in kinds.values() for t in v]
    kind = [k for k, v in kinds.items() for _ in v]
    scorer = DiscriminatorScorer().fit(frame(texts), pl.DataFrame({"text": real}), Resources(emb))
    p = scorer.score(frame(texts))["discriminator_p_synthetic"]
    out = pl.DataFrame({"kind": kind, "p": p})
    print(f"\n## Per-row p, default scorer, mixed candidates: {scorer.summary_}\n")
    print("| candidates | rows | median p | p > 0.5 | p > 0.7 | p > 0.9 |")
    print("|---|---|---|---|---|---|")
    for k in kinds:
        q = out.filter(pl.col("kind") == k)["p"]
        shares = " | ".join(f"{(q > c).mean():.1%}" for c in (0.5, 0.7, 0.9))
        print(f"| {k} | {q.len()} | {q.median():.2f} | {shares} |")


def gpt2_pairs(web_rows: int = 1000) -> dict[str, tuple[pl.DataFrame, pl.Series]]:
    """Real GPT-2 samples vs WebText, and WebText vs WebText (two random halves): the first
    `web_rows` WebText documents and half as many GPT-2 samples."""
    folder = SHARED / "data/gpt2_output"
    gpt2 = pl.read_ndjson(folder / "gpt2.valid.jsonl")["text"].head(web_rows // 2)
    web = pl.read_ndjson(folder / "webtext.valid.jsonl")["text"].head(web_rows)
    halves, n = web.sample(fraction=1.0, shuffle=True, seed=SEED), web_rows // 2
    return {
        f"GPT-2 vs WebText ({n:,} / {web_rows:,})": (frame(gpt2.to_list()), web),
        f"WebText vs WebText ({n:,} / {n:,})": (frame(halves[n:].to_list()), halves[:n]),
    }


def char_baseline(cand: pl.DataFrame, real: pl.Series) -> float:
    """The issue's yardstick: char_wb 2-5-gram TF-IDF + logistic regression, 5 plain folds."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    y = np.r_[np.zeros(real.len(), int), np.ones(cand.height, int)]
    pipe = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)), LogisticRegression(max_iter=1000)
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    texts = pl.concat([real, cand["text"]]).to_list()
    return roc_auc_score(
        y, cross_val_predict(pipe, texts, y, cv=folds, method="predict_proba")[:, 1]
    )


def real_generations(pairs: dict, emb: Embeddings, options: list[str]) -> None:
    """AUC of each option on both pairs, and its seconds per 1,000 rows (both pairs together)."""
    print(f"| option | {' | '.join(pairs)} | s / 1,000 rows |\n|---|---|---|---|")
    rows = sum(c.height + r.len() for c, r in pairs.values())
    for option in options:
        cells, start = [], time.perf_counter()
        for cand, real in pairs.values():
            if option == "char_wb baseline":
                cells.append(f"{char_baseline(cand, real):.3f}")
                continue
            real_frame = pl.DataFrame({"text": real})
            scorer = DiscriminatorScorer(features=option).fit(cand, real_frame, Resources(emb))
            cells.append(f"{scorer.summary_['roc_auc']:.3f}")
        per_1000 = (time.perf_counter() - start) / rows * 1000
        print(f"| {option} | {' | '.join(cells)} | {per_1000:.1f} |", flush=True)


def machine() -> str:
    """Cores, device and library versions."""
    libs = ("polars", "scikit-learn", "torch", "transformers", "sentence-transformers")
    found = ", ".join(f"{lib} {version(lib)}" for lib in libs)
    device = resolve_device("auto")
    return f"{platform.platform()}, {os.cpu_count()} cores, device {device}; Python " + (
        f"{platform.python_version()}, {found}"
    )


def embed(built: list[dict]) -> Embeddings:
    """The run's one embedding pass over every text of the given cases; prints the machine."""
    start = time.perf_counter()
    columns = [s for cases in built for c, r in cases.values() for s in (c["text"], r)]
    emb = Embeddings.build(columns, Embedder())
    took = time.perf_counter() - start
    print(
        f"{machine()}\nembedded {emb.texts.len()} texts in {took:.0f} s (the run's shared pass)\n"
    )
    return emb


def main() -> None:
    """Print the tables (--only madewithml: its planted table alone)."""
    mwml = madewithml_cases()
    if sys.argv[1:] == ["--only", "madewithml"]:
        emb = embed([mwml])
        print("## madewithml: planted cases, grouped vs plain folds\n")
        planted_table(mwml, emb, baseline=True)
        return
    built, pairs = cases(), gpt2_pairs()
    emb = embed([built, pairs, mwml])
    print("## Real generations: ROC-AUC (0.5: indistinguishable)\n")
    real_generations(pairs, emb, ["char_wb baseline", *LINEAR])
    print("\n## SMS Spam: planted cases, grouped vs plain folds\n")
    planted_table(built, emb)
    print("\n## madewithml: planted cases, grouped vs plain folds\n")
    planted_table(mwml, emb, baseline=True)
    real = built["(a) real vs real (SMS, two disjoint samples)"][1]
    pick = {"held-out real": "(a)", "loops": "loops", "shuffled": "shuffled", "templates": "templ"}
    named = {
        k: next(c["text"].to_list() for n, (c, _) in built.items() if v in n)
        for k, v in pick.items()
    }
    mixture(named, real, emb)
    if "--no-encoder" not in sys.argv:
        # A third of the pair by default, the default beside it on the same rows; --encoder-full:
        # the whole pair (about 20 minutes on 2 CPU cores).
        small = pairs if "--encoder-full" in sys.argv else gpt2_pairs(ENCODER_WEB_ROWS)
        print("\n## Real generations: the fine-tuned encoder (defaults: 1 epoch, batch 32)\n")
        real_generations(small, emb, ["char_wb baseline", "both", "encoder"])


if __name__ == "__main__":
    main()
