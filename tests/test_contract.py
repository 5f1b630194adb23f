"""One contract, run over every registered scorer."""

from __future__ import annotations

import polars as pl
import pytest

from synthgate.embed import Embedder, Embeddings
from synthgate.scorers import SCORERS, Scorer
from synthgate.scorers.base import Resources

TEXTS = [
    "I will call you when I get home from work.",
    "i will call you when i get home from work",
    "WINNER!! You have won a prize. Call 09061701461 now <|endoftext|>",
    "",
    "   ",
    None,
    "ha ha ha ha ha ha ha ha",
    "spam: free entry in a weekly competition",
    "Line one\nLine one\nLine one",
    "Sorry, I missed your call. Talk tomorrow? &amp; bye",
    "A completely new and different message about the weather today.",
]


@pytest.fixture
def candidates() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [f"c{i}" for i in range(len(TEXTS))],
            "text": TEXTS,
            "label": ["ham", "ham", "spam", "ham", None, "ham", "ham", "spam", "ham", "ham", "ham"],
            "source": [TEXTS[1], TEXTS[0], None, "x", None, None, "ha ha", None, None, "", "hi"],
        }
    )


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def fitted(candidates: pl.DataFrame, real_small: pl.DataFrame, embedder: Embedder, tiny_t5):
    real = real_small.with_columns(id=pl.format("real:{}", pl.int_range(pl.len())))

    def make(name: str) -> Scorer:
        scorer = SCORERS[name]()
        resources = Resources()
        if "embeddings" in scorer.needs:
            columns = [candidates["text"], candidates["source"], real["text"]]
            resources = Resources(embeddings=Embeddings.build(columns, embedder))
        if "t5" in scorer.needs:  # a tiny random T5 over the real vocabulary
            resources = Resources(t5=tiny_t5(batch_size=4))
        return scorer.fit(candidates, real, resources)

    return make


@pytest.mark.parametrize("name", list(SCORERS))
def test_declares_name_columns_and_dtypes(name: str, candidates, fitted) -> None:
    scorer = fitted(name)
    assert isinstance(scorer, Scorer)
    assert scorer.name == name
    assert all(col.startswith(f"{name}_") for col in scorer.columns)
    out = scorer.score(candidates)
    assert out.schema == pl.Schema(scorer.columns)
    assert out.height == candidates.height


@pytest.mark.parametrize("name", list(SCORERS))
def test_never_nan(name: str, candidates, fitted) -> None:
    out = fitted(name).score(candidates)
    for col, dtype in out.schema.items():
        if dtype == pl.Float64:
            assert not out[col].is_nan().any(), col


@pytest.mark.parametrize("name", list(SCORERS))
def test_order_is_kept(name: str, candidates, fitted) -> None:
    scorer = fitted(name)
    forward = scorer.score(candidates)
    backward = scorer.score(candidates.reverse())
    assert backward.reverse().equals(forward)


@pytest.mark.parametrize("name", list(SCORERS))
def test_empty_batch(name: str, candidates, fitted) -> None:
    out = fitted(name).score(candidates.head(0))
    assert out.height == 0
    assert out.schema == pl.Schema(SCORERS[name].columns)


@pytest.mark.parametrize("name", list(SCORERS))
def test_input_not_mutated(name: str, candidates, fitted) -> None:
    before = candidates.clone()
    fitted(name).score(candidates)
    assert candidates.equals(before)


@pytest.mark.parametrize("name", list(SCORERS))
def test_whole_equals_batches(name: str, candidates, fitted) -> None:
    scorer = fitted(name)
    whole = scorer.score(candidates)
    parts = pl.concat(
        [scorer.score(candidates.slice(i, 3)) for i in range(0, candidates.height, 3)]
    )
    assert parts.equals(whole)


@pytest.mark.parametrize("name", list(SCORERS))
def test_constructor_only_stores_parameters(name: str) -> None:
    scorer = SCORERS[name]()
    assert not [k for k in vars(scorer) if k.endswith("_")]


@pytest.mark.parametrize("name", list(SCORERS))
def test_scores_something(name: str, candidates, fitted) -> None:
    out = fitted(name).score(candidates)
    assert any(out[col].null_count() < out.height for col in out.columns), "all null"
