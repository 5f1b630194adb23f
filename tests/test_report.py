"""report.json numbers against hand counts."""

from __future__ import annotations

import polars as pl
import pytest

from synthgate.gate import Gate, Rule, Unique
from synthgate.report.summary import build_report


@pytest.fixture
def report() -> dict:
    frame = pl.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "label": ["x", "x", "y", "y", "y", None],
            "s": [0.1, 0.9, 0.95, None, 0.2, 0.3],
            "t": [0, 5, 0, 0, 7, 0],
            "cluster": ["a", "b", "c", "d", "a", "a"],
        }
    )
    gate = Gate((Rule("s", max=0.5), Rule("t", max=3)), Unique("cluster"))
    # a: pass; b: s, t; c: s; d: pass (s missing, skipped); e: t; f: duplicate_of:a
    return build_report(gate.apply(frame), gate, ["s", "t"], "label", ["gone"])


def test_counts(report: dict) -> None:
    assert (report["rows"], report["accepted"], report["rejected"]) == (6, 2, 4)
    assert report["rejected_by_reason"] == {"s>0.5": 2, "t>3": 2, "duplicate_of": 1}
    assert report["rejected_by_rule"] == {"s": 2, "t": 2, "unique": 1}
    assert report["rejected_only_by_rule"] == {"s": 1, "t": 1, "unique": 1}
    assert report["skipped_by_rule"] == {"s": 1, "t": 0}
    assert report["inactive_rules"] == ["gone"]


def test_acceptance_by_label(report: dict) -> None:
    assert report["acceptance_by_label"] == {
        "(none)": {"rows": 1, "accepted": 0, "rate": 0.0},
        "x": {"rows": 2, "accepted": 1, "rate": 0.5},
        "y": {"rows": 3, "accepted": 1, "rate": pytest.approx(1 / 3)},
    }


def test_quantiles(report: dict) -> None:
    s = report["score_quantiles"]["s"]
    assert (s["count"], s["null"], s["min"], s["max"]) == (5, 1, 0.1, 0.95)
    assert s["p50"] == pytest.approx(0.3)
    assert report["score_quantiles"]["t"]["p25"] == pytest.approx(0.0)
