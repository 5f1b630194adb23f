"""The discriminator on real generations: GPT-2 samples against the WebText they imitate."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import shared_dir
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline

from synthgate.embed import Embedder, Embeddings
from synthgate.scorers.base import Resources
from synthgate.scorers.discriminator import DiscriminatorScorer


@pytest.fixture(scope="module")
def texts() -> dict[str, list[str]]:
    """The first 600 WebText documents and the first 300 GPT-2 samples; the first 400 WebText
    documents shuffled, for human-vs-human halves."""
    folder = shared_dir() / "data" / "gpt2_output"
    web = pl.read_ndjson(folder / "webtext.valid.jsonl")["text"].head(600)
    return {
        "webtext": web.to_list(),
        "gpt2": pl.read_ndjson(folder / "gpt2.valid.jsonl")["text"].head(300).to_list(),
        "shuffled": web.head(400).sample(fraction=1.0, shuffle=True, seed=0).to_list(),
    }


@pytest.fixture(scope="module")
def emb(texts: dict[str, list[str]]) -> Embeddings:
    return Embeddings.build([pl.Series(texts["webtext"] + texts["gpt2"])], Embedder())


def auc(cand: list[str], real: list[str], emb: Embeddings, **kw) -> float:
    frame = pl.DataFrame({"id": [f"c{i}" for i in range(len(cand))], "text": cand})
    scorer = DiscriminatorScorer(**kw).fit(frame, pl.DataFrame({"text": real}), Resources(emb))
    return scorer.summary_["roc_auc"]


def char_baseline(cand: list[str], real: list[str]) -> float:
    """Issue 13's yardstick: char_wb 2-5-gram TF-IDF + logistic regression, 5 plain folds."""
    y = np.r_[np.zeros(len(real), int), np.ones(len(cand), int)]
    pipe = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)), LogisticRegression(max_iter=1000)
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    p = cross_val_predict(pipe, real + cand, y, cv=folds, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def test_default_features_reach_the_character_baseline(texts, emb) -> None:
    # 600 / 300 rows: default 0.806, baseline 0.760 (embeddings alone 0.754, the old default);
    # fold seeds 0-4 put the default 0.033-0.062 ahead. At 400 / 200 the margin was 0.006 at
    # seed 0 (0.773 vs 0.767), the thinnest of five seeds (the others 0.029-0.043).
    default = auc(texts["gpt2"], texts["webtext"], emb)
    assert default >= char_baseline(texts["gpt2"], texts["webtext"])
    assert default > auc(texts["gpt2"], texts["webtext"], emb, features="embeddings")


@pytest.mark.parametrize("features", ["both", "embeddings", "tfidf"])
def test_human_against_human_is_chance(texts, emb, features) -> None:
    half = texts["shuffled"][:200], texts["shuffled"][200:]
    assert abs(auc(half[1], half[0], emb, features=features) - 0.5) <= 0.08
