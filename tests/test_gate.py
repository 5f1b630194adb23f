"""The Gate: every failing rule, missing values, and the unique step."""

from __future__ import annotations

import polars as pl

from synthgate.gate import Gate, Rule, Unique, rule_expr


def _frame(**cols) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    return pl.DataFrame({"id": [str(i) for i in range(n)], **cols})


def test_records_every_failing_rule_in_rule_order() -> None:
    frame = _frame(a=[0.5, 2.0, -1.0], b=[10, 0, 0])
    gate = Gate((Rule("a", min=0.0, max=1.0), Rule("b", max=5)))
    out = gate.apply(frame)
    assert out["reasons"].to_list() == [["b>5"], ["a>1"], ["a<0"]]
    assert out["accepted"].to_list() == [False, False, False]
    assert out.select("id", "a", "b").equals(frame)


def test_bounds_are_inclusive() -> None:
    out = Gate((Rule("a", min=0.0, max=1.0),)).apply(_frame(a=[0.0, 1.0]))
    assert out["accepted"].to_list() == [True, True]


def test_boolean_flags() -> None:
    frame = _frame(flag=[True, False, None])
    out = Gate((Rule("flag", max=False),)).apply(frame)
    assert out["reasons"].to_list() == [["flag"], [], []]
    out = Gate((Rule("flag", min=True),)).apply(frame)
    assert out["reasons"].to_list() == [[], ["not:flag"], []]


def test_missing_values_skip_or_reject() -> None:
    frame = _frame(a=[None, 3.0])
    assert Gate((Rule("a", max=1.0),)).apply(frame)["reasons"].to_list() == [[], ["a>1"]]
    rejected = Gate((Rule("a", max=1.0, on_missing="reject"),)).apply(frame)
    assert rejected["reasons"].to_list() == [["a:missing"], ["a>1"]]


def test_unique_keeps_first_passing_member() -> None:
    frame = _frame(cluster=["0", "0", "0", "3", "3"], bad=[1.0, 0.0, 0.0, 0.0, 0.0])
    out = Gate((Rule("bad", max=0.5),), Unique("cluster")).apply(frame)
    # row 0 fails its own rule, so row 1 is the keeper and row 2 its duplicate
    assert out["reasons"].to_list() == [["bad>0.5"], [], ["duplicate_of:1"], [], ["duplicate_of:3"]]
    assert out["accepted"].to_list() == [False, True, False, True, False]


def test_unique_can_prefer_a_score() -> None:
    frame = _frame(cluster=["0", "0", "0"], quality=[0.2, 0.9, None])
    out = Gate((), Unique("cluster", prefer="quality")).apply(frame)
    assert out["reasons"].to_list() == [["duplicate_of:1"], [], ["duplicate_of:1"]]
    out = Gate((), Unique("cluster", prefer="quality", prefer_highest=False)).apply(frame)
    assert out["reasons"].to_list() == [[], ["duplicate_of:0"], ["duplicate_of:0"]]


def test_regating_lets_a_copy_take_over_when_the_keeper_fails() -> None:
    frame = _frame(cluster=["0", "0"], score=[0.9, 0.1])
    loose = Gate((Rule("score", max=1.0),), Unique("cluster")).apply(frame)
    strict = Gate((Rule("score", max=0.5),), Unique("cluster")).apply(frame)
    assert loose["reasons"].to_list() == [[], ["duplicate_of:0"]]
    assert strict["reasons"].to_list() == [["score>0.5"], []]


def test_no_rules_accepts_everything() -> None:
    out = Gate(()).apply(_frame(a=[1, 2]))
    assert out["accepted"].to_list() == [True, True]
    assert out["reasons"].dtype == pl.List(pl.String)


def test_rule_of_each_reason() -> None:
    reasons = pl.Series(
        [
            "quality_length_z<-3.5",
            "a>0.3",
            "quality_invalid",
            "not:flag",
            "x:missing",
            "duplicate_of:17",
        ]
    )
    rules = pl.select(rule_expr(pl.lit(reasons))).to_series().to_list()
    assert rules == ["quality_length_z", "a", "quality_invalid", "flag", "x", "unique"]


def test_nan_in_a_user_column_is_missing_not_a_pass() -> None:
    from synthgate.gate import gate_frame

    frame = pl.DataFrame({"id": ["a", "b", "c"], "logprob": ["nan", "-9", "1.5"]})
    skip = gate_frame(frame, Gate((Rule("logprob", min=-3),)))
    assert skip["reasons"].to_list() == [[], ["logprob<-3"], []]
    strict = gate_frame(frame, Gate((Rule("logprob", min=-3, on_missing="reject"),)))
    assert strict["reasons"].to_list() == [["logprob:missing"], ["logprob<-3"], []]
    floats = frame.with_columns(pl.col("logprob").cast(pl.Float64))
    assert gate_frame(floats, Gate((Rule("logprob", min=-3, on_missing="reject"),)))[
        "accepted"
    ].to_list() == [False, False, True]
