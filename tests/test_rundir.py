"""Run directories read back and re-gated: hand-made frames, numbers checked by hand."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from synthgate import config as cfg
from synthgate.errors import SynthgateError
from synthgate.io.rundir import EMBEDDINGS_FILE, RunEmbeddings, load_run
from synthgate.job import write_run
from synthgate.pipeline import gate_step
from synthgate.regate import regate
from synthgate.report.diversity import coverage, distinct_n, knn_radius

COLUMNS = {"text": "text", "label": "label", "source": None, "id": "id"}
REAL = pl.DataFrame({"id": ["r0"], "text": ["one"], "label": ["x"]})
VECTORS = RunEmbeddings(np.eye(6, 4, dtype=np.float32), np.eye(1, 4, dtype=np.float32))
ONLY_SIMILARITY = {
    "scorers": {name: {"enabled": name == "similarity"} for name in cfg.default_config()["scorers"]}
}


def hand_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "text": ["one two", "two three", "three four", "four five", "five six", "six one"],
            "label": ["x", "x", "x", "y", "y", "y"],
            "similarity_cosine": [0.3, 0.6, 0.7, 0.99, None, 0.8],
            "dedup_cluster": ["a", "a", "c", "d", "e", "c"],
        }
    )


# A two-sided rule and a unique step over clusters, set here (the defaults have neither).
HAND_GATE = {
    "unique": {"column": "dedup_cluster"},
    "rules": {"similarity_cosine": {"min": 0.5, "max": 0.98}},
}


def hand_run(rules: dict | None = None, **kw):
    gate = {**HAND_GATE, "rules": {**HAND_GATE["rules"], **(rules or {})}}
    conf = cfg.merge_config({**ONLY_SIMILARITY, "gate": gate})
    return gate_step(hand_frame(), conf, COLUMNS, **kw)


def test_gated_run_decides_by_hand() -> None:
    run = hand_run()
    # a: 0.3 < 0.5; d: 0.99 > 0.98; e: null, skipped; b: cluster a, keeper is a? a fails, so b
    # keeps; f: cluster c with c (passes, first) -> duplicate_of:c
    assert run.frame["accepted"].to_list() == [False, True, True, False, True, False]
    assert run.frame["reasons"].to_list() == [
        ["similarity_cosine<0.5"],
        [],
        [],
        ["similarity_cosine>0.98"],
        [],
        ["duplicate_of:c"],
    ]
    assert run.report["skipped_by_rule"] == {"similarity_cosine": 1}
    assert run.record["counts"] == {"rows": 6, "accepted": 3, "rejected": 3}
    assert run.report["acceptance_by_label"]["x"] == {"rows": 3, "accepted": 2, "rate": 2 / 3}


def test_co_rejection_counts_rows_rejected_by_both_rules() -> None:
    frame = pl.DataFrame(
        {"id": list("1234"), "text": ["w"] * 4, "a": [0.1, 0.1, 0.9, 0.9], "b": [2, 0, 2, 0]}
    )
    conf = cfg.merge_config(
        {**ONLY_SIMILARITY, "gate": {"rules": {"a": {"min": 0.5}, "b": {"max": 1}}}}
    )
    report = gate_step(frame, conf, COLUMNS).report
    assert report["co_rejection"] == {"a": {"a": 2, "b": 1}, "b": {"a": 1, "b": 2}}
    assert report["rejected_only_by_rule"] == {"a": 1, "b": 1}


def test_distinct_n_by_hand() -> None:
    texts = pl.Series(["A b a", "a B, c!"])
    assert distinct_n(texts, 1) == 3 / 6  # a b a | a b c
    assert distinct_n(texts, 2) == 3 / 4  # "a b" "b a" | "a b" "b c"; never across rows
    assert distinct_n(pl.Series(["one"]), 2) is None


def test_coverage_by_hand() -> None:
    angles = np.deg2rad(np.arange(0, 360, 45))
    real = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
    # each point's 2nd nearest other point is 45 degrees away
    np.testing.assert_allclose(knn_radius(real, k=2), np.cos(np.deg2rad(45)), rtol=1e-5)
    gen = np.array([[np.cos(np.deg2rad(10)), np.sin(np.deg2rad(10))]], dtype=np.float32)
    # 0 (10 deg away) and 45 (35 deg away) are covered; 315 (55 deg) and the rest are not
    assert coverage(real, gen, k=2) == 2 / 8
    assert coverage(real, gen[:0], k=2) == 0.0
    assert coverage(real[:2], gen, k=2) is None  # too few real rows for a 2-NN ball


def test_diversity_in_the_report_per_label() -> None:
    real = pl.DataFrame({"id": ["r0", "r1"], "text": ["one one", "two three"], "label": ["x", "y"]})
    div = hand_run(real=real).report["diversity"]
    assert div["x"]["accepted"] == 2 and div["x"]["real"] == 1 and div["x"]["sample"] == 1
    assert div["x"]["real_distinct_1"] == 1 / 2  # "one one"
    assert div["(all)"]["sample"] == 2
    assert "coverage" not in div["(all)"]  # no embeddings kept


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    real = pl.DataFrame({"id": ["r0"], "text": ["one"], "label": ["x"]})
    vectors = RunEmbeddings(np.eye(6, 4, dtype=np.float32), np.eye(1, 4, dtype=np.float32))
    run = hand_run(real=real, embeddings=vectors)
    run.record["format_version"] = cfg.FORMAT_VERSION
    write_run(run, tmp_path / "run", html=False)
    back = load_run(tmp_path / "run", vectors=True)
    assert back.frame.equals(run.frame)
    assert back.config == run.config
    assert back.report == json.loads(json.dumps(run.report))
    assert back.real is not None and back.real.equals(real)
    assert back.embeddings is not None
    np.testing.assert_array_equal(back.embeddings.candidates, vectors.candidates)
    assert back.label_col == "label" and back.id_col == "id"


def test_regate_applies_new_thresholds_and_records_its_parent(tmp_path: Path) -> None:
    run = hand_run()
    run.record["format_version"] = cfg.FORMAT_VERSION
    write_run(run, tmp_path / "run", html=False)
    loaded = load_run(tmp_path / "run")
    gate = {**HAND_GATE, "rules": {"similarity_cosine": {"min": 0.2, "max": 1.0}}}
    looser = cfg.merge_config({**ONLY_SIMILARITY, "gate": gate})
    new = regate(loaded, looser)
    # a now passes and keeps cluster a, so b becomes its duplicate; d passes
    assert new.frame["accepted"].to_list() == [True, False, True, True, True, False]
    assert new.frame["reasons"][1].to_list() == ["duplicate_of:a"]
    assert new.record["regated_from"]["config_sha256"] == run.record["config_sha256"]
    assert new.record["config_sha256"] == cfg.sha256(looser)
    assert new.report["accepted"] == 4


def test_regate_refuses_a_change_the_scores_depend_on() -> None:
    run = hand_run()
    conf = copy.deepcopy(run.config)
    conf["scorers"]["dedup"]["near_threshold"] = 0.4
    with pytest.raises(SynthgateError, match=r"^scorers\.dedup\.near_threshold: differs"):
        regate(run, conf)


def _rewrite(root: Path, column: pl.Expr) -> None:
    pl.read_parquet(root / "scored.parquet").with_columns(column).write_parquet(
        root / "scored.parquet"
    )


def _written(tmp_path: Path) -> Path:
    run = hand_run(real=REAL, embeddings=VECTORS)
    run.record["format_version"] = cfg.FORMAT_VERSION
    return write_run(run, tmp_path / "run", html=False)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "run.json").unlink(), r"missing run\.json \(run\.json is written last"),
        (lambda d: (d / "scored.parquet").unlink(), r"missing scored\.parquet$"),
        (lambda d: (d / "run.json").write_text("{", "utf-8"), r"run\.json: cannot read JSON"),
        (
            lambda d: (d / "run.json").write_text('{"format_version": 99}', "utf-8"),
            r"run\.json: format_version 99 is not supported",
        ),
        (
            lambda d: (d / "scored.parquet").write_bytes(b"PAR1 broken"),
            r"scored\.parquet: cannot read parquet",
        ),
        (
            lambda d: (
                pl.read_parquet(d / "scored.parquet").head(2).write_parquet(d / "scored.parquet")
            ),
            r"scored\.parquet: 2 rows, but run\.json counts 6",
        ),
        (
            lambda d: (d / "config.toml").write_text("seed = 'x'\n", "utf-8"),
            r"config\.toml: seed: must be int",
        ),
        (
            lambda d: (d / EMBEDDINGS_FILE).write_bytes(b"not numpy"),
            r"embeddings\.npz: cannot read embeddings",
        ),
        (
            lambda d: _rewrite(d, pl.col("reasons").list.join(";")),
            r"scored\.parquet: column 'reasons' is String, not List\(String\)",
        ),
        (
            lambda d: _rewrite(d, pl.col("accepted").cast(pl.Int32)),
            r"scored\.parquet: column 'accepted' is Int32, not Boolean",
        ),
        (
            lambda d: (
                pl.read_parquet(d / "scored.parquet")
                .drop("text")
                .write_parquet(d / "scored.parquet")
            ),
            r"scored\.parquet: no text column 'text' \(run\.json names it\)",
        ),
    ],
)
def test_a_damaged_run_is_one_line(tmp_path: Path, damage, message: str) -> None:
    root = _written(tmp_path)
    damage(root)
    with pytest.raises(SynthgateError, match=message) as info:
        load_run(root, vectors=True)
    assert "\n" not in str(info.value)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(SynthgateError, match="no such run directory"):
        load_run(tmp_path / "nothing")


def test_rewriting_a_folder_leaves_nothing_of_the_earlier_run(tmp_path: Path) -> None:
    root = _written(tmp_path)
    (root / "tuning.html").write_text("old", encoding="utf-8")
    assert (root / "real.parquet").is_file() and (root / EMBEDDINGS_FILE).is_file()
    plain = hand_run()
    plain.record["format_version"] = cfg.FORMAT_VERSION
    write_run(plain, root, html=False, force=True)  # replacing a run is asked for
    left = sorted(p.name for p in root.iterdir())
    assert left == ["accepted.parquet", "config.toml", "report.json", "run.json", "scored.parquet"]
    assert load_run(root).real is None


def test_files_are_readable_by_others_as_the_umask_allows(tmp_path: Path) -> None:
    root = _written(tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    for path in root.iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


def test_regate_without_save_embeddings_drops_them(tmp_path: Path) -> None:
    loaded = load_run(_written(tmp_path), vectors=True)
    assert load_run(tmp_path / "run").embeddings is None  # read only when asked for
    conf = copy.deepcopy(loaded.config)
    conf["save_embeddings"] = False
    new = regate(loaded, conf)
    assert new.embeddings is None
    write_run(new, tmp_path / "new", html=False)
    assert not (tmp_path / "new" / EMBEDDINGS_FILE).exists()
    assert "coverage" not in new.report["diversity"]["(all)"]


def test_diversity_with_integer_labels() -> None:
    frame = hand_frame().with_columns(label=pl.Series([1, 1, 1, 2, 2, 2]))
    real = pl.DataFrame({"id": ["r0", "r1"], "text": ["a b", "c d"], "label": [1, 2]})
    conf = cfg.merge_config({**ONLY_SIMILARITY, "gate": HAND_GATE})
    div = gate_step(frame, conf, COLUMNS, real=real).report["diversity"]
    assert div["1"]["real"] == 1 and div["2"]["accepted"] == 1
