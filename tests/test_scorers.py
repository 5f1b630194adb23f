"""Each scorer against values worked out by hand."""

from __future__ import annotations

import math
import zlib

import polars as pl
import pytest

from synthgate.errors import ConfigError
from synthgate.scorers import DedupScorer, QualityScorer, RepetitionScorer
from synthgate.scorers.base import Resources
from synthgate.scorers.minhash import lsh_params, shingles
from synthgate.scorers.repetition import dup_lines, dup_ngram_chars, loops, top_ngram_chars
from synthgate.text import normalize
from synthgate.vectors import components


def _frame(texts: list[str | None], labels: list[str | None] | None = None) -> pl.DataFrame:
    data = {"id": [f"c{i}" for i in range(len(texts))], "text": texts}
    if labels is not None:
        data["label"] = labels
    return pl.DataFrame(data, schema={k: pl.String for k in data})


# ---- quality ---------------------------------------------------------------------------------

REAL = _frame(["abc", "abcdefg", "abcdefghijklmno"], ["ham", "spam", "ham"])


def _quality(texts: list[str | None], labels=None) -> dict[str, list]:
    cands = _frame(texts, labels)
    return QualityScorer().fit(cands, REAL, Resources()).score(cands).to_dict(as_series=False)


def test_quality_counts_and_alpha_share() -> None:
    out = _quality(["Hello world", "ab 12", "", "  \n", None])
    assert out["quality_words"] == [2, 2, 0, 0, 0]
    assert out["quality_chars"] == [11, 5, 0, 3, 0]
    assert out["quality_alpha_frac"] == [1.0, 0.5, None, None, None]
    assert out["quality_invalid"] == [False, False, True, True, True]


def test_quality_length_z_is_a_modified_z_score_of_log_length() -> None:
    # real lengths 3, 7, 15 -> log1p = ln 4, ln 8, ln 16; median ln 8, MAD ln 2
    out = _quality(["x" * 7, "x" * 31])
    assert out["quality_length_z"][0] == pytest.approx(0.0)
    assert out["quality_length_z"][1] == pytest.approx(
        0.6745 * (math.log(32) - math.log(8)) / math.log(2)
    )


def test_quality_counts_artifacts() -> None:
    texts = [
        "hi <|endoftext|> there </s>",
        "first sample\n=====\nsecond sample",
        "bell\x07 and null\x00",
        "broken \ufffd byte",
        "[SEP] <pad><pad> <extra_id_0>",
        "a -- dash and a = sign ---- inline",
    ]
    assert _quality(texts)["quality_artifacts"] == [2, 1, 2, 1, 4, 0]


def test_quality_label_echo_uses_known_labels() -> None:
    texts = ["spam: win a prize", "Label: ham | see you", "spammy words here", "HAM = yes"]
    assert _quality(texts, ["spam"] * 4)["quality_label_echo"] == [True, True, False, True]


def test_quality_label_echo_is_missing_without_labels() -> None:
    cands = _frame(["spam: x"])
    out = QualityScorer().fit(cands, _frame(["abc"]), Resources()).score(cands)
    assert out["quality_label_echo"].to_list() == [None]


def test_quality_rejects_a_bad_regex() -> None:
    with pytest.raises(ConfigError, match=r"scorers\.quality\.artifact_patterns\[0\]"):
        QualityScorer(artifact_patterns=["(unclosed"])


# ---- repetition ------------------------------------------------------------------------------


def test_dup_lines_gopher() -> None:
    assert dup_lines("a\nbb\na\n\n") == (1 / 3, 1 / 4)
    assert dup_lines(" \n ") == (None, None)


def test_top_ngram_counts_only_repeated_grams() -> None:
    words = "the cat the cat the cat sat".split()
    assert top_ngram_chars(words, 2) == 18  # (the, cat) x3 = 6 chars x 3
    assert top_ngram_chars("call him now i said call him".split(), 2) == 0  # twice: speech
    assert top_ngram_chars("call him now i said call him".split(), 2, min_count=2) == 14
    assert top_ngram_chars(["one"], 2) == 0  # shorter than n: never rejected for it


def test_dup_ngram_walk_is_non_overlapping() -> None:
    assert dup_ngram_chars("a b c d e a b c d e".split(), 5) == 5
    assert dup_ngram_chars("a b c d".split(), 5) == 0


def test_dup_ngram_min_count_lets_one_echo_through() -> None:
    twice = "a b c d e x a b c d e".split()
    assert dup_ngram_chars(twice, 5) == 5  # Gopher / datatrove: any second occurrence
    assert dup_ngram_chars(twice, 5, min_count=3) == 0
    thrice = "a b c d e x a b c d e y a b c d e".split()
    assert dup_ngram_chars(thrice, 5, min_count=3) == 10  # the 2nd and 3rd occurrences
    # a real madewithml row: its title echoed once in its description
    echo = (
        "ELECTRA: Pre-training Text Encoders as Discriminators. PyTorch implementation of the "
        "electra model from the paper: ELECTRA - Pre-training Text Encoders as Discriminators "
        "Rather Than Generators"
    )
    loop = "the model is great. " * 4
    frame = pl.DataFrame({"text": [echo, loop]})
    default = RepetitionScorer().score(frame)  # nothing to fit: scores read the text alone
    gopher = RepetitionScorer(dup_ngram_min_count=2).score(frame)
    assert default["repetition_dup_5gram_frac"].to_list()[0] == 0.0
    assert gopher["repetition_dup_5gram_frac"].to_list()[0] > 0.15  # over Gopher's cut
    assert default["repetition_dup_5gram_frac"].to_list()[1] > 0.15  # a loop still is
    with pytest.raises(ConfigError, match=r"scorers\.repetition\.dup_ngram_min_count"):
        RepetitionScorer(dup_ngram_min_count=1)


def test_loops_find_back_to_back_spans() -> None:
    assert loops("go go go home".split(), 13, 3) == (0.75, 3)
    assert loops("i love you i love you i love you ok".split(), 13, 3) == (0.9, 3)
    assert loops("i love you i love you ok".split(), 13, 3) == (0.0, 1)  # twice is not a loop
    assert loops("a b a b a".split(), 13, 3) == (0.0, 1)


def test_repetition_scorer_row() -> None:
    text = "Buy now! Buy now! Buy now! Buy now!"
    out = RepetitionScorer().score(_frame([text, "", "Hello there"])).to_dict(as_series=False)
    # words: buy now x4 -> 24 word chars; top 2-gram (buy, now) x4 = 24; loop covers all 8 words
    assert out["repetition_top_2gram_frac"][0] == 1.0
    assert out["repetition_loop_frac"][0] == 1.0
    assert out["repetition_loop_repeats"][0] == 4
    assert out["repetition_dup_line_frac"][0] == 0.0  # one line
    raw = text.encode()
    assert out["repetition_compression_ratio"][0] == len(raw) / len(zlib.compress(raw))
    assert out["repetition_loop_frac"][1] is None  # empty text: nothing to measure
    assert out["repetition_top_2gram_frac"][2] == 0.0


# ---- dedup -----------------------------------------------------------------------------------


def test_normalize_handles_case_punctuation_entities_and_width() -> None:
    texts = [
        "Hello,  World!",
        "hello world",
        "HELLO &amp; world",
        "ｈｅｌｌｏ world",
        "&amp;lt;b&amp;gt;",
    ]
    assert normalize(pl.Series(texts)).to_list() == [
        "hello world",
        "hello world",
        "hello world",
        "hello world",
        "b",
    ]


def test_shingles_of_short_text_is_the_text() -> None:
    assert shingles("abc", 4) == {b"abc"}
    assert shingles("abcde", 4) == {b"abcd", b"bcde"}


def test_components_label_by_smallest_member() -> None:
    import numpy as np

    labels = components(6, np.array([5, 3, 1]), np.array([3, 1, 0]))
    assert labels.tolist() == [0, 0, 2, 0, 4, 0]


def test_lsh_params_fit_the_permutations() -> None:
    bands, rows = lsh_params(0.5, 128)
    assert bands * rows <= 128
    assert 0.35 < (1 / bands) ** (1 / rows) < 0.65  # the S-curve's midpoint sits near 0.5


def test_dedup_against_real_and_within_candidates() -> None:
    real = _frame(
        [
            "Hello, World! How are you doing today my friend?",
            "The quick brown fox jumps over the lazy dog near the river bank",
        ]
    ).with_columns(id=pl.Series(["r0", "r1"]))
    cands = _frame(
        [
            "hello world how are you doing today my friend",  # exact copy after normalising
            "The quick brown fox jumps over the lazy cat near the river bank",  # near copy
            "Completely unrelated text about baking bread at home",
            "completely unrelated text about baking bread at home!!",  # dup of the previous
            "...",  # nothing left after normalising
        ]
    )
    out = DedupScorer().fit(cands, real, Resources()).score(cands).to_dict(as_series=False)
    assert out["dedup_real_exact"] == [True, False, False, False, None]
    assert out["dedup_real_jaccard"][0] == 1.0
    assert 0.5 < out["dedup_real_jaccard"][1] < 1.0
    assert out["dedup_real_jaccard"][2:] == [0.0, 0.0, None]
    assert out["dedup_real_match"] == ["r0", "r1", None, None, None]
    assert out["dedup_cluster"] == ["c0", "c1", "c2", "c2", "c4"]
    assert out["dedup_cluster_size"] == [1, 1, 2, 2, 1]


def test_dedup_validates_parameters() -> None:
    with pytest.raises(ConfigError, match=r"scorers\.dedup\.near_threshold"):
        DedupScorer(near_threshold=1.5)


def test_a_resource_is_timed_without_the_resources_it_builds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`neighbours` builds `embeddings` on its way: each gets its own seconds, so the steps of a
    run add up (a nested build once counted twice made a scorer's fit time negative)."""
    import synthgate.resources as res

    clock = [0.0]
    monkeypatch.setattr(res.time, "perf_counter", lambda: clock[0])

    def inner(resources: Resources, cand: pl.DataFrame, real: pl.DataFrame) -> str:
        clock[0] += 5.0
        return "vectors"

    def outer(resources: Resources, cand: pl.DataFrame, real: pl.DataFrame) -> str:
        clock[0] += 1.0
        return resources.get("inner", cand, real) + " searched"

    monkeypatch.setitem(res.RESOURCES, "inner", inner)
    monkeypatch.setitem(res.RESOURCES, "outer", outer)
    frame = pl.DataFrame({"text": ["a"]})
    resources = Resources()
    assert resources.get("outer", frame, frame) == "vectors searched"
    assert resources.timings == {"inner": 5.0, "outer": 1.0}
