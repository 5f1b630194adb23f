"""Sampling loops: one span repeated six or more times back to back is rejected at any length."""

from __future__ import annotations

import random
import string

import polars as pl
import pytest

import synthgate
from synthgate.config import merge_config
from synthgate.scorers import SCORERS

ONLY_REPETITION = merge_config({"scorers": {n: {"enabled": n == "repetition"} for n in SCORERS}})
REAL = pl.DataFrame({"text": ["Is there any way I could get a refund for the order?"]})
# Like the query of issue 13: 18 words, "i" nine times, loop share exactly 0.5 (the share rule
# rejects only above 0.5), too short for the compression ratio, under every Gopher n-gram cut.
SHORT_LOOP = (
    "whether there's realistically anyway possible that i i i i i i i i i could get reimbursed"
)


def reasons(texts: list[str]) -> list[list[str]]:
    """The default gate's reasons for each text, scored by the repetition scorer alone."""
    out = synthgate.score(pl.DataFrame({"text": texts}), REAL, ONLY_REPETITION)
    return out["reasons"].to_list()


def test_the_short_loop_from_the_issue_is_rejected_by_its_repeats() -> None:
    out = synthgate.score(pl.DataFrame({"text": [SHORT_LOOP]}), REAL, ONLY_REPETITION)
    assert len(SHORT_LOOP.split()) == 18
    assert out["repetition_loop_frac"][0] == 0.5  # the share rule alone lets it through
    assert out["repetition_loop_repeats"][0] == 9
    assert out["reasons"][0].to_list() == ["repetition_loop_repeats>5"]
    assert not out["accepted"][0]


@pytest.mark.parametrize("span", [1, 4, 13])
def test_six_repeats_reject_and_five_pass_in_a_long_text(span: int) -> None:
    # 1,000 distinct words around the loop: its share, n-gram shares and compression stay low.
    rng = random.Random(0)
    words = ["".join(rng.choices(string.ascii_lowercase, k=6)) for _ in range(1000)]
    phrase = [f"loop{i}" for i in range(span)]
    six, five = (" ".join(words[:500] + phrase * k + words[500:]) for k in (6, 5))
    got_six, got_five = reasons([six, five])
    assert got_six == ["repetition_loop_repeats>5"]
    assert got_five == []


def test_a_span_of_fourteen_words_is_not_looked_for() -> None:
    # loop_max_span = 13 (as dolma): a longer span repeated is left to the n-gram rules.
    phrase = [f"p{i}" for i in range(14)]
    out = synthgate.score(pl.DataFrame({"text": [" ".join(phrase * 6)]}), REAL, ONLY_REPETITION)
    assert out["repetition_loop_repeats"][0] == 1
    assert "repetition_loop_repeats>5" not in out["reasons"][0].to_list()
