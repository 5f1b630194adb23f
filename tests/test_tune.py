"""`synthgate tune`: sweeps, target acceptance and target precision on hand-built scored frames,
every number checked against hand computation or against Gate.apply itself."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from synthgate.config import gate_for, load_config, merge_config
from synthgate.errors import SynthgateError
from synthgate.gate import numeric_column
from synthgate.io.rundir import Run
from synthgate.pipeline import gate_step
from synthgate.regate import regate
from synthgate.tune.changes import LOOSEN_WARN, describe
from synthgate.tune.engine import shortest
from synthgate.tune.labels import read_judgements
from synthgate.tune.page import write_tuning
from synthgate.tune.tuning import tune

# Twenty rows. Rules on the columns present: quality_invalid (flag), quality_words >= 1 (the
# defaults), 0.5 <= similarity_cosine <= 0.98 (HAND_GATE); the unique step on dedup_cluster
# (clusters r2 = {2, 3} and r10 = {10, 11, 12}).
# Accepted: 3 (keeper of r2; 2 fails sim), 5, 6, 7, 8, 9, 10, 14, 17.
SIM = [0.10, 0.20, 0.45, 0.60, 0.65, 0.70, 0.72, 0.75, 0.80, 0.85,
       0.88, 0.90, 0.40, 0.95, 0.97, 0.99, 1.00, None, 0.55, 0.30]  # fmt: skip
WORDS = [5, 5, 5, 5, 0, 3, 4, 6, 2, 7, 8, 9, 9, 0, 10, 11, 12, 3, 1, 0]
CLUSTER = {3: "r2", 11: "r10", 12: "r10"}
ACCEPTED = [3, 5, 6, 7, 8, 9, 10, 14, 17]
# judged rows: good / bad; 2 is good but rejected; 4, 0 and 15 are good and rejected too
JUDGED = {"r0": "good", "r1": "bad", "r2": "good", "r3": "good", "r4": "good", "r5": "good",
          "r6": "bad", "r7": "good", "r8": "bad", "r9": "good", "r10": "good", "r14": "bad",
          "r15": "good", "r17": "good", "r19": "bad"}  # fmt: skip


def hand_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [f"r{i}" for i in range(20)],
            "text": [f"text {i}" for i in range(20)],
            "similarity_cosine": SIM,
            "quality_words": WORDS,
            "quality_invalid": [i == 18 for i in range(20)],
            "dedup_cluster": [CLUSTER.get(i, f"r{i}") for i in range(20)],
        },
        schema_overrides={"similarity_cosine": pl.Float64, "quality_words": pl.Int64},
    )


# The defaults with a two-sided similarity rule and the unique step over dedup_cluster.
HAND_GATE = {
    "unique": {"column": "dedup_cluster"},
    # quality_words is a hard rule by default; here it is a plain knob for the mechanics
    # (test_hard_rules_* below hold it)
    "rules": {"similarity_cosine": {"min": 0.5, "max": 0.98}, "quality_words": {"hard": False}},
}


def make_run(frame: pl.DataFrame, user: dict | None = None) -> Run:
    user = user or {}
    gate = user.get("gate", {})
    gate = {
        "unique": {**HAND_GATE["unique"], **gate.get("unique", {})},
        "rules": {**HAND_GATE["rules"], **gate.get("rules", {})},
    }
    return gate_step(frame, merge_config({**user, "gate": gate}), {"text": "text", "id": "id"})


@pytest.fixture(scope="module")
def run() -> Run:
    found = make_run(hand_frame())
    assert np.flatnonzero(found.frame["accepted"].to_numpy()).tolist() == ACCEPTED
    return found


def judgements(pairs: dict[str, str]) -> pl.DataFrame:
    good = {"good": True, "bad": False}
    return pl.DataFrame({"id": list(pairs), "good": [good[v] for v in pairs.values()]})


def sweep(tuning, knob: str) -> dict:
    return next(s for s in tuning.data["sweeps"] if s["knob"] == knob)


def point(tuning, knob: str, threshold: float) -> dict:
    return next(p for p in sweep(tuning, knob)["points"] if p["threshold"] == threshold)


def gate_rate(run: Run, config: dict) -> float:
    """Acceptance under `config` by Gate.apply itself."""
    base = run.frame.drop("reasons", "accepted")
    gate = gate_for(config, base)
    base = base.with_columns(numeric_column(base, r.column) for r in gate.rules)  # as gated_run
    return float(gate.apply(base, id_col=run.id_col)["accepted"].mean())


def with_bound(config: dict, column: str, side: str, value: float) -> dict:
    rules = {**config["gate"]["rules"], column: {**config["gate"]["rules"][column], side: value}}
    return {**config, "gate": {**config["gate"], "rules": rules}}


def test_overview_and_flags_by_hand(run: Run) -> None:
    t = tune(run)
    assert t.data["overview"] == {
        "rows": 20,
        "run_accepted": 9,
        "joint_keep_rate": 9 / 20,
        "without_unique": 10 / 20,  # 11 passes every rule and is a copy of 10
        "unique_step": True,
        "loosest": 16 / 20,  # all but 18 (flag) and the copies 3 (of 2), 11 and 12 (of 10)
        "tightest": 0.0,  # the null in 17 passes both similarity bounds, not quality_words
    }
    # 18 fails only the flag: without it, 10 rows
    assert t.data["fixed"] == [
        {"check": "quality_invalid", "rejects": 1, "with": 9 / 20, "without": 10 / 20}
    ]
    assert [s["knob"] for s in t.data["sweeps"]] == [
        "quality_words.min",
        "similarity_cosine.min",
        "similarity_cosine.max",
    ]
    assert t.config == run.config  # nothing asked: the run's own config


def test_sweeps_by_hand(run: Run) -> None:
    t = tune(run)
    sim = sweep(t, "similarity_cosine.min")
    assert sim["current"] == 0.5 and sim["values"] == 19
    assert sim["current_quantile"] == 5 / 19  # 0.10 0.20 0.30 0.40 0.45 are below 0.5
    # min 0.10: 0 and 1 come back; 2 takes 3's place in its cluster, 12 is a copy of 10,
    # 19 still fails quality_words
    assert point(t, "similarity_cosine.min", 0.1) | {"current": None} == {
        "threshold": 0.1, "quantile": 0.0, "alone": 1.0, "joint": 11 / 20, "current": None,
    }  # fmt: skip
    # min 1.0: only 16 (fails the max) and the null in 17 pass it
    assert point(t, "similarity_cosine.min", 1.0)["joint"] == 1 / 20
    assert point(t, "similarity_cosine.min", 1.0)["alone"] == 2 / 20
    words = sweep(t, "quality_words.min")
    assert [p["threshold"] for p in words["points"]] == list(range(13))
    assert point(t, "quality_words.min", 0)["joint"] == 11 / 20  # 4 and 13 come back
    assert point(t, "quality_words.min", 6) == {
        "threshold": 6,
        "quantile": 12 / 20,
        "alone": 8 / 20,
        "joint": 4 / 20,
        "current": False,
    }  # fmt: skip  (7, 9, 10, 14 kept; 11 copies 10, 12 15 16 fail similarity)
    high = sweep(t, "similarity_cosine.max")["points"]
    assert [p["threshold"] for p in high] == sorted(p["threshold"] for p in high)
    assert high[-1] == {
        "threshold": 1.0,
        "quantile": 0.0,
        "alone": 1.0,
        "joint": 11 / 20,
        "current": False,
    }  # fmt: skip  (15 and 16 pass)


def test_every_sweep_point_equals_gate_apply(run: Run) -> None:
    t = tune(run)
    for s in t.data["sweeps"]:
        for p in s["points"]:
            config = with_bound(run.config, s["column"], s["side"], p["threshold"])
            assert p["joint"] == gate_rate(run, config), (s["knob"], p)


def test_target_acceptance_loosens_the_cheapest_bound(run: Run, tmp_path: Path) -> None:
    # +1 row: max 0.98 -> 0.99 lets 15 in (1 of 19 values); quality_words 1 -> 0 costs 3 of 20;
    # similarity min would cross 0.45, 0.40, 0.30 (no gain: copies, a word-less row) first
    t = tune(run, target_acceptance=0.5)
    found = t.data["target_acceptance"]
    assert found["changes"] == [
        {
            "knob": "similarity_cosine.max", "column": "similarity_cosine", "side": "max",
            "old": 0.98, "new": 0.99, "old_quantile": 2 / 19, "new_quantile": 1 / 19,
            "change": 1 / 19,
        }
    ]  # fmt: skip
    assert (found["acceptance"], found["accepted"], found["direction"]) == (0.5, 10, "loosen")
    assert found["reachable"] == [0.0, 0.8] and found["total_change"] == 1 / 19
    assert t.config["gate"]["rules"]["similarity_cosine"]["max"] == 0.99
    write_tuning(t, run, tmp_path)
    suggested = load_config(tmp_path / "suggested.toml")
    assert suggested == t.config
    assert regate(run, suggested).report["accepted"] == 10


def test_frozen_bounds_stay_where_they_are(run: Run) -> None:
    free = tune(run, target_acceptance=0.5).data["target_acceptance"]["changes"]
    assert [c["knob"] for c in free] == ["similarity_cosine.max"]
    t = tune(run, target_acceptance=0.5, freeze=["similarity_cosine.max"])
    moved = [c["knob"] for c in t.data["target_acceptance"]["changes"]]
    assert moved and "similarity_cosine.max" not in moved
    assert t.config["gate"]["rules"]["similarity_cosine"]["max"] == 0.98
    assert regate(run, t.config).report["accepted"] >= 10
    assert t.data["frozen"] == ["similarity_cosine.max"]
    both = tune(run, freeze=["similarity_cosine"]).data["frozen"]
    assert both == ["similarity_cosine.max", "similarity_cosine.min"]
    # the sweeps still show every bound
    assert "similarity_cosine.max" in [s["knob"] for s in t.data["sweeps"]]
    with pytest.raises(
        SynthgateError, match=r"^--freeze simlarity: no numeric bound .*available: "
    ):
        tune(run, freeze=["simlarity"])


def test_target_acceptance_tightens(run: Run) -> None:
    # -1 row: max 0.98 -> 0.95 drops 14 (one value, 0.97); quality_words' next row (18, one
    # word) and similarity min's (18 at 0.55) already fail the flag, so they gain nothing
    found = tune(run, target_acceptance=0.4).data["target_acceptance"]
    assert [(c["knob"], c["new"], c["change"]) for c in found["changes"]] == [
        ("similarity_cosine.max", 0.95, 1 / 19)
    ]
    assert (found["acceptance"], found["direction"]) == (0.4, "tighten")


def test_target_acceptance_across_plateaus(run: Run) -> None:
    # 0.3 = 6 rows: three must go. Dropping 5 and 17 together (3 words) overshoots, so the
    # search lands on 6 exactly through other bounds; regate confirms the promise
    t = tune(run, target_acceptance=0.3)
    assert t.data["target_acceptance"]["acceptance"] == 0.3
    assert regate(run, t.config).report["accepted"] == 6
    t = tune(run, target_acceptance=0.8)  # the loosest reachable
    assert regate(run, t.config).report["accepted"] == 16


def test_unreachable_targets(run: Run) -> None:
    with pytest.raises(SynthgateError) as err:
        tune(run, target_acceptance=0.9)
    message = str(err.value)
    assert "--target-acceptance 0.9: out of reach" in message and "0.8" in message
    assert "\n" not in message
    with pytest.raises(SynthgateError, match=r"between 0 and 1; got 1\.5"):
        tune(run, target_acceptance=1.5)
    with pytest.raises(SynthgateError, match="give one of them"):
        tune(run, target_acceptance=0.5, target_precision=0.5, judgements=judgements(JUDGED))
    with pytest.raises(SynthgateError, match="needs --labels"):
        tune(run, target_precision=0.5)


def test_label_metrics_by_hand(run: Run) -> None:
    t = tune(run, judgements=judgements(JUDGED), resamples=50)
    labels = t.data["labels"]
    assert (labels["judged"], labels["good"], labels["bad"], labels["not_judged"]) == (15, 10, 5, 0)
    now = labels["current"]
    # accepted judged: 3 5 6 7 8 9 10 14 17; good among them: 3 5 7 9 10 17
    assert (now["accepted_judged"], now["accepted_good"]) == (9, 6)
    assert [now[m]["value"] for m in ("precision", "recall", "f1")] == [6 / 9, 6 / 10, 12 / 19]
    # similarity min 0.10: 0 (good) and 1 (bad) come in, 2 (good) replaces 3 (good)
    at = point(t, "similarity_cosine.min", 0.1)["labels"]
    assert (at["accepted_judged"], at["accepted_good"]) == (11, 7)
    assert at["precision"]["value"] == 7 / 11 and at["recall"]["value"] == 7 / 10


def test_bootstrap_intervals_match_a_plain_loop(run: Run) -> None:
    resamples, seed = 200, 7
    now = tune(run, judgements=judgements(JUDGED), resamples=resamples, seed=seed)
    now = now.data["labels"]["current"]
    kept = np.array([int(i[1:]) in ACCEPTED for i in JUDGED])
    good = np.array([v == "good" for v in JUDGED.values()])
    draws = np.random.default_rng(seed).integers(0, kept.size, size=(resamples, kept.size))
    found: dict[str, list[float]] = {"precision": [], "recall": [], "f1": []}
    for rows in draws:
        hit, k, g = (kept & good)[rows].sum(), kept[rows].sum(), good[rows].sum()
        if k:
            found["precision"].append(hit / k)
        if g:
            found["recall"].append(hit / g)
        found["f1"].append(2 * hit / (k + g))
    for name, values in found.items():
        assert now[name]["ci"] == pytest.approx(list(np.percentile(values, [2.5, 97.5])))
    assert now["precision"]["ci"][0] < 6 / 9 < now["precision"]["ci"][1]


def test_target_precision_by_hand(run: Run) -> None:
    # Coordinate ascent, knobs in rule order. quality_words 1 -> 3 drops 8 (bad): 6/8 = 0.75.
    # Then similarity max 0.98 -> 0.99 adds 15 (good): 7/9, recall 7/10; min stays (lowering
    # it lets 1 (bad) in with 0, and 2 only replaces 3).
    t = tune(run, judgements=judgements(JUDGED), target_precision=0.75, resamples=20)
    found = t.data["target_precision"]
    assert [(c["knob"], c["old"], c["new"], c["change"]) for c in found["changes"]] == [
        ("quality_words.min", 1, 3, 2 / 20),
        ("similarity_cosine.max", 0.98, 0.99, 1 / 19),
    ]
    got = [found["labels"][m]["value"] for m in ("precision", "recall", "f1")]
    assert got == [7 / 9, 7 / 10, 14 / 19]
    assert found["acceptance"] == 9 / 20  # 8 out, 15 in
    again = regate(run, t.config).frame.filter(pl.col("accepted"))["id"].to_list()
    kept = [i for i in JUDGED if i in again]
    assert sum(JUDGED[i] == "good" for i in kept) / len(kept) == 7 / 9


def test_target_precision_out_of_reach(run: Run) -> None:
    # 18 (good) fails the flag, which is not swept: no threshold keeps a good row
    pairs = {"r18": "good", "r5": "bad", "r6": "bad"}
    with pytest.raises(SynthgateError) as err:
        tune(run, judgements=judgements(pairs), target_precision=0.9, resamples=10)
    assert str(err.value) == (
        "--target-precision 0.9: no thresholds on the sweep grid reach it; the best precision "
        "found on the 3 judged rows is 0 (recall 0)"
    )


def test_read_judgements(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "sample.csv"
    path.write_text(
        "id,label,text,accepted,reasons,judgement\n"
        "r3,,t,true,, Good \nr8,,t,true,,BAD\nr0,,t,false,similarity_cosine<0.5,\n",
        encoding="utf-8",
    )
    found = read_judgements(path, run)
    assert found.schema == {"id": pl.String, "good": pl.Boolean}
    assert found.to_dicts() == [
        {"id": "r3", "good": True},
        {"id": "r8", "good": False},
        {"id": "r0", "good": None},
    ]
    jsonl = tmp_path / "j.jsonl"
    jsonl.write_text('{"id": "r3", "judgement": "good"}\n', encoding="utf-8")
    assert read_judgements(jsonl, run)["good"].to_list() == [True]
    parquet = tmp_path / "j.parquet"
    pl.DataFrame({"id": ["r3", "r8"], "judgement": ["bad", None]}).write_parquet(parquet)
    assert read_judgements(parquet, run)["good"].to_list() == [False, None]
    t = tune(run, judgements=found, resamples=10)
    assert t.data["labels"]["not_judged"] == 1 and t.data["labels"]["judged"] == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id,verdict\nr1,good\n", "no 'judgement' column; found: id, verdict"),
        ("id,judgement\nr1,good\nr2,maybe\n", "row 2: judgement 'maybe' is not good, bad or empty"),
        (
            "id,judgement\nr1,good\nr2,bad\nr1,bad\n",
            "row 3: id 'r1' appears again (first at row 1)",
        ),
        (
            "id,judgement\nr1,\nr2, \n",
            "no judged rows: judgement is empty on all 2 rows (write good or bad)",
        ),
        (
            "id,judgement\nr1,good\nx1,good\nx2,bad\nx3,good\nx4,good\n",
            "4 ids not in the run (row 2: 'x1', row 3: 'x2', row 4: 'x3' and 1 more)",
        ),
        ("id,judgement\nr1,good\nzz,bad\n", "1 id not in the run (row 2: 'zz')"),
    ],
)
def test_bad_judgement_files(run: Run, tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SynthgateError) as err:
        read_judgements(path, run)
    assert str(err.value) == f"{path}: {expected}"


def test_written_files(run: Run, tmp_path: Path) -> None:
    extra = {
        "title": "Downstream",
        "note": "n",
        "header": ["bound", "F1"],
        "rows": [["a.min", 0.5]],
    }
    t = tune(run, judgements=judgements(JUDGED), target_acceptance=0.5, extra=extra, resamples=20)
    out = write_tuning(t, run, tmp_path / "tuned")
    assert json.loads((out / "tuning.json").read_text()) == t.data
    page = (out / "tuning.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    namespaces = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert set(re.findall(r"https?://[^\s'\"<>]*", page)) <= namespaces
    assert page.count("<svg") == 6  # keep-rate and P/R/F1 per knob
    assert "<h2>Downstream</h2>" in page and "a.min" in page
    assert "similarity_cosine.max" in page and "0.99" in page


def random_run(rows: int, seed: int) -> Run:
    rng = np.random.default_rng(seed)
    sim = rng.beta(5, 2, rows)
    sim[rng.random(rows) < 0.05] = np.nan  # -> null below
    logprob = rng.normal(-3, 1.5, rows)
    logprob[rng.random(rows) < 0.01] = np.nan  # a user column may hold NaN: polars puts it last
    cluster = rng.integers(0, rows // 2, rows).astype(str).astype(object)
    cluster[rng.random(rows) < 0.1] = None
    frame = pl.DataFrame(
        {
            "id": [f"c{i}" for i in range(rows)],
            "text": ["t"] * rows,
            "similarity_cosine": pl.Series(sim).fill_nan(None),
            "quality_words": rng.poisson(3, rows),
            "repetition_loop_frac": rng.random(rows) ** 3,
            "logprob": logprob,
            "quality_invalid": rng.random(rows) < 0.02,
            "dedup_cluster": list(cluster),
        }
    )
    user = {
        "gate": {
            "rules": {"logprob": {"min": -5.0, "max": 1.0, "on_missing": "reject"}},
            "unique": {"prefer": "similarity_cosine"},
        }
    }
    return make_run(frame, user)


@pytest.fixture(scope="module")
def big() -> Run:
    return random_run(20_000, 3)


def test_fast_keep_rate_equals_gate_apply_on_20k_rows(big: Run) -> None:
    t = tune(big)
    assert t.data["overview"]["joint_keep_rate"] == float(big.frame["accepted"].mean())
    assert [s["knob"] for s in t.data["sweeps"]] == [
        "quality_words.min",
        "repetition_loop_frac.max",
        "similarity_cosine.min",
        "similarity_cosine.max",
        "logprob.min",
        "logprob.max",
    ]
    for s in t.data["sweeps"]:
        for p in s["points"][::8]:
            config = with_bound(big.config, s["column"], s["side"], p["threshold"])
            assert p["joint"] == gate_rate(big, config), (s["knob"], p)
    missing = next(f for f in t.data["fixed"] if f["check"] == "logprob:missing")
    nan_or_null = big.frame["logprob"].is_null() | big.frame["logprob"].is_nan()
    assert missing["rejects"] == int(nan_or_null.sum())  # NaN is a missing value


@pytest.mark.parametrize("target", [0.1, 0.3, 0.45])
def test_target_acceptance_on_20k_rows(big: Run, target: float) -> None:
    t = tune(big, target_acceptance=target)
    found = t.data["target_acceptance"]
    rate = gate_rate(big, t.config)
    assert rate == found["acceptance"]
    start = float(big.frame["accepted"].mean())
    assert rate >= target if start < target else rate <= target
    assert abs(rate - target) <= 0.001  # the last move stops where the target is first reached
    assert found["changes"]
    for change in found["changes"]:  # quantile units: the share of values crossing the bound
        column = big.frame[change["column"]].drop_nulls()
        column = column.drop_nans() if column.dtype.is_float() else column  # NaN is missing
        if change["side"] == "min":
            rejected = [(column < change[k]).mean() for k in ("old", "new")]
        else:
            rejected = [(column > change[k]).mean() for k in ("old", "new")]
        assert [change["old_quantile"], change["new_quantile"]] == pytest.approx(rejected)
        assert change["change"] == pytest.approx(abs(rejected[1] - rejected[0]))


def test_label_decisions_follow_the_preferred_keeper(big: Run) -> None:
    rng = np.random.default_rng(0)
    rows = rng.choice(big.frame.height, 300, replace=False)
    ids = big.frame["id"].gather(rows)
    pairs = {i: ("good" if rng.random() < 0.7 else "bad") for i in ids}
    t = tune(big, judgements=judgements(pairs), resamples=20)
    for s in t.data["sweeps"][:3]:
        for p in s["points"][::10]:
            config = with_bound(big.config, s["column"], s["side"], p["threshold"])
            base = big.frame.drop("reasons", "accepted")
            decided = gate_for(config, base).apply(base)
            kept = decided.filter(pl.col("id").is_in(list(pairs)) & pl.col("accepted"))["id"]
            assert p["labels"]["accepted_judged"] == kept.len()
            good = sum(pairs[i] == "good" for i in kept)
            assert p["labels"]["accepted_good"] == good


@pytest.mark.parametrize(
    ("below", "upto", "expected"),
    [
        (0.40122, 0.41837, 0.41),
        (-1.0, -0.99, -0.99),  # a max of 0.99 written as -s
        (2.0, 3.0, 3.0),
        (-np.inf, 0.12, 0.0),  # below the smallest value: a round number under it
        (0.12, np.inf, 1.0),
        (0.9999, 1.0, 1.0),
    ],
)
def test_shortest_bound_between_two_values(below: float, upto: float, expected: float) -> None:
    assert shortest(below, upto) == expected


def test_target_already_met_changes_nothing(run: Run) -> None:
    t = tune(run, target_acceptance=0.45)
    found = t.data["target_acceptance"]
    assert (found["direction"], found["changes"], found["accepted"]) == ("none", [], 9)
    assert t.config == run.config


def test_integer_bounds_stay_integers(run: Run) -> None:
    t = tune(run, judgements=judgements(JUDGED), target_precision=0.75, resamples=10)
    new = t.config["gate"]["rules"]["quality_words"]["min"]
    assert new == 3 and isinstance(new, int)


def test_text_user_column_and_no_numeric_rule(tmp_path: Path) -> None:
    # a user column read from CSV is text; the gate parses it, and so must tune
    frame = hand_frame().with_columns(
        logprob=pl.Series([str(-i / 4) for i in range(20)]).replace("-1.0", "")
    )
    user = {"gate": {"rules": {"logprob": {"min": -3.0}}}}
    run = make_run(frame, user)
    t = tune(run)
    logprob = sweep(t, "logprob.min")
    assert logprob["values"] == 19  # "" is a null once parsed (numeric_column, as the gate)
    for p in logprob["points"]:
        assert p["joint"] == gate_rate(
            run, with_bound(run.config, "logprob", "min", p["threshold"])
        )
    # only the flag and the unique step left: nothing to move
    off = {"quality_words": {"enabled": False}, "similarity_cosine": {"enabled": False}}
    flags_only = make_run(hand_frame(), {"gate": {"rules": off}})
    t = tune(flags_only, judgements=judgements(JUDGED), resamples=10)
    assert t.data["sweeps"] == [] and t.data["overview"]["joint_keep_rate"] == 16 / 20
    write_tuning(t, flags_only, tmp_path)
    with pytest.raises(SynthgateError, match=r"runs from 0\.8 .* to 0\.8 "):
        tune(flags_only, target_acceptance=0.5)


def hard_run(frame: pl.DataFrame | None = None) -> Run:
    """The hand run with quality_words hard again (as the default config has it)."""
    return make_run(frame if frame is not None else hand_frame(), HARD)


HARD = {"gate": {"rules": {"quality_words": {"hard": True}}}}


@pytest.mark.parametrize(
    "target",
    [
        {"target_acceptance": 0.65},  # the loosest reachable with quality_words held
        {"target_acceptance": 0.3},
        {"judgements": judgements(JUDGED), "target_precision": 0.75, "resamples": 20},
    ],
)
def test_hard_rules_never_move_unless_unfrozen(target: dict) -> None:
    held = hard_run()
    found = tune(held, **target)
    assert found.config["gate"]["rules"]["quality_words"]["min"] == 1
    assert found.data["hard"] == ["quality_words.min"]
    assert "quality_words.min" in found.data["frozen"]
    changed = [c["knob"] for c in found.data["suggestion"]["changes"]]
    assert "quality_words.min" not in changed
    free = tune(held, unfreeze=["quality_words"], **target)
    assert free.data["hard"] == []
    if "target_precision" in target:  # it moves quality_words once it may (tests above)
        assert free.config["gate"]["rules"]["quality_words"]["min"] != 1
    assert tune(held, unfreeze=["quality_words"], target_acceptance=0.8).config  # reachable
    with pytest.raises(SynthgateError, match="out of reach"):
        tune(held, target_acceptance=0.8)  # held, the loosest is 0.65


def test_unfreeze_names_a_hard_rule() -> None:
    with pytest.raises(SynthgateError, match=r"^--unfreeze similarity_cosine: not a hard rule"):
        tune(hard_run(), unfreeze=["similarity_cosine"])


def test_default_config_marks_the_defect_rules_hard() -> None:
    rules = merge_config({})["gate"]["rules"]
    hard = sorted(c for c, t in rules.items() if t["hard"])
    assert hard == sorted(
        ["quality_invalid", "quality_words", "quality_artifacts", "quality_label_echo",
         "dedup_real_exact"]
    )  # fmt: skip


def test_objective_search_holds_hard_and_frozen_bounds() -> None:
    from synthgate.tune.objective import bounds, held_bounds

    held = hard_run()
    assert ("quality_words", "min") in bounds(held)
    assert held_bounds(held, [], []) == ["quality_words.min"]
    assert held_bounds(held, [], ["quality_words"]) == []
    with pytest.raises(SynthgateError, match=r"^--freeze nope"):
        held_bounds(held, ["nope"], [])


def test_the_suggestion_says_what_changed_and_marks_suggested_toml(
    run: Run, tmp_path: Path
) -> None:
    t = tune(run, target_acceptance=0.8)
    summary = t.data["suggestion"]
    assert summary["acceptance"] == {"rows": 20, "before": 9, "after": 16}
    assert summary["acceptance"]["after"] == regate(run, t.config).report["accepted"]
    for c in summary["changes"]:
        column, side = c["knob"].rsplit(".", 1)
        alone = with_bound(run.config, column, side, c["new"])
        base = run.frame["accepted"]
        flipped = (regate(run, alone).frame["accepted"] != base).sum()
        assert c["rows_changed"] == flipped, c
    assert {c["knob"] for c in summary["changes"]} >= {"similarity_cosine.max"}
    lines = describe(summary)
    assert lines[-1] == "acceptance: 9 -> 16 of 20 rows (45.0% -> 80.0%)"
    assert any(line.startswith("changed similarity_cosine.max: 0.98 -> ") for line in lines)
    write_tuning(t, run, tmp_path)
    text = (tmp_path / "suggested.toml").read_text()
    marked = [line for line in text.splitlines() if line.endswith("(tune)")]
    assert len(marked) == len(summary["changes"])
    assert any(line.startswith("max = ") and "# was 0.98 (tune)" in line for line in marked)
    assert load_config(tmp_path / "suggested.toml") == t.config  # comments change nothing


def test_a_far_loosening_is_warned_about(run: Run) -> None:
    t = tune(run, target_acceptance=0.8)
    far = [c for c in t.data["suggestion"]["changes"] if c["quantile_change"] > LOOSEN_WARN]
    assert far  # the loosest reachable moves some bound a long way
    warned = t.data["suggestion"]["warnings"]
    assert len(warned) == sum(c["direction"] == "loosened" for c in far)
    assert all("look at those rows" in w for w in warned)
    assert tune(run, target_acceptance=0.5).data["suggestion"]["warnings"] == []  # 1/19 only
