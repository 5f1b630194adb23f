"""The discriminator: a cross-fitted, grouped classifier of real versus candidate text."""

from __future__ import annotations

import json
import random

import numpy as np
import plant
import polars as pl
import pytest
from conftest import read_sms, save_tiny_bert

from synthgate.embed import Embedder, Embeddings
from synthgate.errors import ConfigError
from synthgate.scorers.base import Resources
from synthgate.scorers.discriminator import DiscriminatorScorer

COL = "discriminator_p_synthetic"


@pytest.fixture(scope="module")
def data(sms: pl.DataFrame) -> dict[str, list[str]]:
    """Two disjoint samples of 600 distinct SMS texts, word swaps of the first and loops."""
    rng = random.Random(0)
    texts = sms["text"].unique(maintain_order=True).to_list()
    rows = rng.sample(texts, 1200)
    real, other = rows[:600], rows[600:]
    return {
        "real": real,
        "other": other,
        "swaps": [plant.word_swap(t, rng) for t in real[:300]],
        "loops": [plant.loop(t, rng) for t in other[:200]],
    }


@pytest.fixture(scope="module")
def emb(data: dict[str, list[str]]) -> Embeddings:
    """One embedding pass over every text of this module (~1,700 texts)."""
    return Embeddings.build([pl.Series(v) for v in data.values()], Embedder())


def frame(texts: list[str | None], sources: list[str] | None = None) -> pl.DataFrame:
    cols = {"id": [f"c{i}" for i in range(len(texts))], "text": texts}
    return pl.DataFrame(cols | ({"source": sources} if sources else {}))


def real_frame(texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"id": [f"real:{i}" for i in range(len(texts))], "text": texts})


def fit(cand: pl.DataFrame, real: list[str], emb: Embeddings | None, **kw) -> DiscriminatorScorer:
    return DiscriminatorScorer(**kw).fit(cand, real_frame(real), Resources(emb))


def test_real_against_real_is_chance(data, emb) -> None:
    scorer = fit(frame(data["other"]), data["real"], emb)
    assert abs(scorer.summary_["roc_auc"] - 0.5) < 0.05, scorer.summary_
    assert abs(scorer.summary_["accuracy"] - 0.5) < 0.05, scorer.summary_


@pytest.mark.parametrize("with_source", [True, False])
def test_near_copies_of_real_rows_do_not_invert(data, emb, with_source) -> None:
    # Plain k-fold gives 0.10 here: each swap is judged by a model that saw its source as real.
    sources = data["real"][:300] if with_source else None
    scorer = fit(frame(data["swaps"], sources), data["real"][:300], emb)
    assert scorer.summary_["roc_auc"] >= 0.45, scorer.summary_


def test_machine_like_candidates_are_told_apart(data, emb) -> None:
    scorer = fit(frame(data["loops"]), data["real"], emb)
    p = scorer.score(frame(data["loops"]))[COL]
    assert scorer.summary_["roc_auc"] > 0.9, scorer.summary_
    assert p.median() > 0.8


def test_copies_of_real_rows_are_not_scored_by_a_model_that_saw_them(data, emb) -> None:
    # Each candidate is a real row verbatim. Grouped with its twin, no model saw either, and a
    # text seen once per label is a coin toss. Plain k-fold gives AUC 0.07 here: every copy is
    # scored by a model that learnt its twin as real.
    copies = data["real"][:300]
    scorer = fit(frame(copies), copies, emb)
    p = scorer.score(frame(copies))[COL]
    assert abs(scorer.summary_["roc_auc"] - 0.5) < 0.05, scorer.summary_
    assert (p - 0.5).abs().max() < 0.05


def test_too_few_real_rows_leaves_the_column_empty(data, emb) -> None:
    scorer = fit(frame(data["other"][:50]), data["real"][:3], emb)
    out = scorer.score(frame(data["other"][:50]))
    assert out[COL].null_count() == 50
    assert scorer.summary_ == {
        "skipped": "discriminator: 3 real rows with text, need at least 5 (one per fold); "
        "scores left empty"
    }


def test_too_few_groups_leaves_the_column_empty(data, emb) -> None:
    # Ten real rows and their ten copies, all linked into few groups by one shared text.
    cand = frame([data["real"][0]] * 8 + data["real"][1:3])
    scorer = fit(cand, [data["real"][0]] * 8 + data["real"][1:3], emb)
    assert scorer.score(cand)[COL].null_count() == cand.height
    assert "3 groups of linked rows with text, need at least 5" in scorer.summary_["skipped"]


@pytest.mark.parametrize("features", ["embeddings", "both"])
def test_embedding_features_without_embeddings_are_skipped(data, features) -> None:
    scorer = fit(frame(data["other"][:20]), data["real"][:20], None, features=features)
    assert "no embeddings" in scorer.summary_["skipped"]


def test_blank_texts_get_null_and_others_a_probability(data, emb) -> None:
    texts = [*data["loops"][:100], "", "   ", None]
    out = fit(frame(texts), data["real"], emb).score(frame(texts))
    assert out[COL].tail(3).null_count() == 3
    assert out[COL].head(100).null_count() == 0
    assert out[COL].head(100).is_between(0.0, 1.0).all()


def test_whole_equals_split_batches_and_dtypes(data, emb) -> None:
    cand = frame(data["loops"] + data["other"][:100])
    scorer = fit(cand, data["real"], emb)
    whole = scorer.score(cand)
    parts = pl.concat([scorer.score(cand.slice(i, 37)) for i in range(0, cand.height, 37)])
    assert parts.equals(whole)
    assert whole.schema == pl.Schema({COL: pl.Float64})
    assert scorer.score(cand.head(0)).schema == pl.Schema({COL: pl.Float64})


def test_summary_is_json_and_counts_rows(data, emb) -> None:
    scorer = fit(frame(data["loops"]), data["real"], emb, folds=3)
    summary = json.loads(json.dumps(scorer.summary_))
    assert summary["candidates"] == 200
    assert summary["real"] == 600
    assert summary["folds"] == 3
    assert summary["features"] == "both"


def test_tfidf_features_work_without_embeddings(data) -> None:
    scorer = fit(frame(data["loops"]), data["real"][:300], None, features="tfidf")
    assert scorer.summary_["roc_auc"] > 0.8, scorer.summary_


def test_both_features(data, emb) -> None:
    scorer = fit(frame(data["loops"]), data["real"][:300], emb, features="both")
    assert scorer.summary_["features"] == "both"
    assert scorer.summary_["roc_auc"] > 0.9, scorer.summary_


def test_same_seed_same_scores(data, emb) -> None:
    cand = frame(data["other"][:200])
    first = fit(cand, data["real"], emb, seed=3).score(cand)
    assert fit(cand, data["real"], emb, seed=3).score(cand).equals(first)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("features", "words"),
        ("folds", 1),
        ("folds", 21),
        ("folds", 10**9),
        ("group_cosine", 0.0),
        ("epochs", 0),
        ("batch_size", 0),
        ("max_seq_length", 0),
        ("device", "gpu"),
    ],
)
def test_bad_parameters_name_the_config_key(key, value) -> None:
    with pytest.raises(ConfigError, match=rf"^scorers\.discriminator\.{key}: "):
        DiscriminatorScorer(**{key: value})


def test_constructor_stores_parameters_only() -> None:
    scorer = DiscriminatorScorer()
    assert not [k for k in vars(scorer) if k.endswith("_")]
    assert scorer.needs == ("embeddings", "neighbours")


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory) -> str:
    """A one-layer, 16-wide BERT with the MiniLM vocabulary, saved as a local model folder."""
    from transformers import AutoTokenizer

    from synthgate.embed import DEFAULT_MODEL, _packaged_path

    tokenizer = AutoTokenizer.from_pretrained(_packaged_path(DEFAULT_MODEL))
    return save_tiny_bert(tmp_path_factory.mktemp("tiny_encoder"), tokenizer, width=16)


def test_encoder_scores_every_row_with_a_model_that_never_saw_it_or_its_source(
    data, emb, tiny_encoder, monkeypatch
) -> None:
    from synthgate.scorers import finetune

    trained, scored = [], []
    train_fold, predict = finetune.train_fold, finetune.predict

    def recording_train(base, texts, y, *args):
        trained.append(set(texts))
        return train_fold(base, texts, y, *args)

    def recording_predict(fitted, texts, batch_size):
        scored.append(texts)
        return predict(fitted, texts, batch_size)

    monkeypatch.setattr(finetune, "train_fold", recording_train)
    monkeypatch.setattr(finetune, "predict", recording_predict)
    real, swaps = data["real"][:20], data["swaps"][:20]  # swaps[i] is a variant of real[i]
    cand = frame(swaps + data["loops"][:10], [*real, *[""] * 10])
    scorer = fit(cand, real, emb, features="encoder", encoder=tiny_encoder, folds=3, epochs=1)
    assert len(trained) == len(scored) == 3
    assert sorted(t for fold in scored for t in fold) == sorted(real + cand["text"].to_list())
    for seen, fold in zip(trained, scored, strict=True):
        assert not seen & set(fold)
        held_out = set(fold)
        assert all((r in held_out) == (s in held_out) for r, s in zip(real, swaps, strict=True))
    assert scorer.score(cand)[COL].is_between(0.0, 1.0).all()


@pytest.fixture(scope="module")
def memorising_encoder(tmp_path_factory, data) -> str:
    """A one-layer, 128-wide BERT over a 2,000-piece WordPiece vocabulary trained here on the
    module's SMS texts: small enough to fine-tune for several epochs in seconds (the MiniLM
    vocabulary's 30,522-row embedding table made each step 3x slower), big enough to memorise
    the rows it trains on."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    pieces = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    pieces.normalizer = normalizers.BertNormalizer(lowercase=True)
    pieces.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=2000, special_tokens=special)
    pieces.train_from_iterator(data["real"] + data["other"], trainer)
    pieces.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer = BertTokenizerFast(
        tokenizer_object=pieces,
        **{f"{n}_token": f"[{n.upper()}]" for n in ("unk", "pad", "cls", "sep", "mask")},
    )
    return save_tiny_bert(tmp_path_factory.mktemp("memorising_encoder"), tokenizer, width=128)


@pytest.mark.parametrize("leak", [False, True], ids=["grouped folds", "folds leak own rows"])
def test_encoder_human_against_human_is_chance(
    data, emb, memorising_encoder, monkeypatch, leak
) -> None:
    # Issue 13: human vs human stays within 0.08 of 0.5 with every option (the linear ones are
    # held to it in test_discriminator_real.py). Two disjoint samples of 200 SMS, 6 epochs: fold
    # seeds 0-3 gave 0.498, 0.464, 0.474, 0.469. The leaky case proves the check can fail: when
    # each fold also trains on the rows it scores, this encoder memorises them (0.86-0.90).
    from synthgate.scorers import discriminator

    if leak:
        honest = discriminator.fine_tuned_out_of_fold

        def leaky(texts, y, splits, *args):
            every = np.arange(len(y))
            return honest(texts, y, [(every, test) for _, test in splits], *args)

        monkeypatch.setattr(discriminator, "fine_tuned_out_of_fold", leaky)
    kw = {"folds": 2, "epochs": 6, "batch_size": 16, "device": "cpu"}
    cand, real = frame(data["other"][:200]), data["real"][:200]
    scorer = fit(cand, real, emb, features="encoder", encoder=memorising_encoder, **kw)
    auc = scorer.summary_["roc_auc"]
    assert (auc > 0.75) if leak else (abs(auc - 0.5) <= 0.08), scorer.summary_


def test_encoder_tells_loops_from_real_text() -> None:
    # The embedded MiniLM, fine-tuned in two folds on 16 real SMS and 16 planted loops.
    rng = random.Random(0)
    texts = read_sms()["text"].unique(maintain_order=True).to_list()
    real, loops = texts[:16], [plant.loop(t, rng) for t in texts[16:32]]
    kw = {"features": "encoder", "folds": 2, "epochs": 2, "batch_size": 8, "device": "cpu"}
    scorer = fit(frame(loops), real, None, **kw)
    assert scorer.summary_["features"] == "encoder"
    assert scorer.summary_["roc_auc"] > 0.8, scorer.summary_
