"""The `synthgate` command line: init-config, and a whole score run on a small CSV."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from synthgate.cli.main import main
from synthgate.config import FORMAT_VERSION, default_config
from synthgate.io.rundir import RUN_FILES

CANDIDATES = {
    "cid": ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"],
    "lab": ["ham"] * 8,
    "body": [
        "Shall we meet at the park later today?",
        "My train is late again so see you at eight.",
        "shall we meet at the park later today",  # a copy of c1 up to case and punctuation
        "",
        "Did you remember <|endoftext|> to feed the cat?",
        "I will call you when I get home from work.",  # a copy of real row r1
        "Did you remember to feed the cat this morning?",
        "See you soon\nSee you soon\nSee you soon\nSee you soon",  # a quoted field in the CSV
    ],
}
EXPECTED_REASONS = {
    "c1": [],
    "c2": [],
    "c3": ["duplicate_of:c1"],
    "c4": ["quality_invalid", "quality_words<1", "quality_length_z<-3.5"],
    "c5": ["quality_artifacts>0"],
    "c6": ["dedup_real_exact"],
    "c7": [],
    "c8": [
        "repetition_dup_line_frac>0.3",
        "repetition_dup_line_char_frac>0.2",
        "repetition_top_2gram_frac>0.2",
        "repetition_top_3gram_frac>0.18",
        "repetition_top_4gram_frac>0.16",
        # 12 words: every 5- and 6-gram starting a line occurs 3 times; each 7- to 9-gram
        # only twice, under dup_ngram_min_count = 3
        "repetition_dup_5gram_frac>0.15",
        "repetition_dup_6gram_frac>0.14",
        "repetition_loop_frac>0.5",
    ],
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def run(
    tmp_path: Path, real_small: pl.DataFrame, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """`synthgate score` with non-default text, label and id columns; its files and output."""
    cand, real, out = tmp_path / "cand.csv", tmp_path / "real.csv", tmp_path / "run"
    pl.DataFrame(CANDIDATES).write_csv(cand)
    real_small.rename({"text": "body", "label": "lab"}).with_columns(
        cid=pl.format("r{}", pl.int_range(pl.len()))
    ).write_csv(real)
    args = ["score", str(cand), "--real", str(real), "--out", str(out)]
    code = main([*args, "--text-col", "body", "--label-col", "lab", "--id-col", "cid"])
    captured = capsys.readouterr()
    return {
        "code": code,
        "out": captured.out,
        "err": captured.err,
        "dir": out,
        "cand": cand,
        "real": real,
    }


def test_init_config_is_the_default_config(capsys) -> None:
    assert main(["init-config"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert tomllib.loads(captured.out) == default_config()


def test_init_config_comments_every_key(capsys) -> None:
    main(["init-config"])
    key_lines = [ln for ln in capsys.readouterr().out.splitlines() if re.match(r"\w+ = ", ln)]
    assert len(key_lines) > 20
    # a multi-line array (`key = [`) carries its comment on the closing `]` line
    bare = [ln for ln in key_lines if "  # " not in ln and not ln.endswith("[")]
    assert bare == []


def test_score_exits_zero_and_writes_every_file(run) -> None:
    assert run["code"] == 0, run["err"]
    assert "Traceback" not in run["err"]
    assert sorted(p.name for p in run["dir"].iterdir()) == sorted(RUN_FILES)


def test_scored_rows_in_input_order_with_reasons(run) -> None:
    scored = pl.read_parquet(run["dir"] / "scored.parquet")
    assert scored.height == len(CANDIDATES["cid"])
    assert scored["cid"].to_list() == CANDIDATES["cid"]
    assert scored["body"].to_list() == CANDIDATES["body"]
    assert "id" not in scored.columns  # the id column is the user's, no second one is added
    assert dict(zip(scored["cid"], scored["reasons"].to_list(), strict=True)) == EXPECTED_REASONS
    assert scored["accepted"].to_list() == [not r for r in EXPECTED_REASONS.values()]
    assert scored.row(5, named=True)["dedup_real_match"] == "r1"  # the real set's own id


def test_accepted_parquet_holds_exactly_the_accepted_rows(run) -> None:
    scored = pl.read_parquet(run["dir"] / "scored.parquet")
    accepted = pl.read_parquet(run["dir"] / "accepted.parquet")
    assert accepted["cid"].to_list() == ["c1", "c2", "c7"]
    assert accepted.equals(scored.filter(pl.col("accepted")))


def test_run_json_records_config_and_inputs(run) -> None:
    record = json.loads((run["dir"] / "run.json").read_text(encoding="utf-8"))
    assert record["format_version"] == FORMAT_VERSION
    assert record["config_sha256"] == sha256(run["dir"] / "config.toml")
    assert tomllib.loads((run["dir"] / "config.toml").read_text(encoding="utf-8")) == (
        default_config()
    )
    inputs = record["inputs"]
    assert inputs["candidates"]["sha256"] == sha256(run["cand"])
    assert inputs["real"]["sha256"] == sha256(run["real"])
    assert (inputs["candidates"]["rows"], inputs["real"]["rows"]) == (8, 6)
    assert record["counts"] == {"rows": 8, "accepted": 3, "rejected": 5}


def test_report_json_counts(run) -> None:
    report = json.loads((run["dir"] / "report.json").read_text(encoding="utf-8"))
    assert (report["rows"], report["accepted"], report["rejected"]) == (8, 3, 5)
    assert report["rejected_by_rule"]["unique"] == 1
    assert report["rejected_by_rule"]["quality_artifacts"] == 1


def test_summary_table_names_every_rejecting_rule(run) -> None:
    report = json.loads((run["dir"] / "report.json").read_text(encoding="utf-8"))
    rules = [rule for rule, n in report["rejected_by_rule"].items() if n]
    assert {"unique", "quality_artifacts", "repetition_dup_line_char_frac"} <= set(rules)
    table = run["out"]
    assert "synthgate: 3 of 8 accepted (37.5%)" in table
    assert re.search(r"accepted\s*│\s*3 │", table)
    for rule in rules:
        assert re.search(rf"│ {rule}\s", table), rule  # whole, not cut to fit the width
    assert "wrote " in table and "run.json" in table


def test_score_with_default_columns(tmp_path, real_small, capsys) -> None:
    cand, real, out = tmp_path / "c.jsonl", tmp_path / "r.parquet", tmp_path / "out"
    pl.DataFrame({"text": CANDIDATES["body"]}).write_ndjson(cand)
    real_small.write_parquet(real)
    assert main(["score", str(cand), "--real", str(real), "--out", str(out)]) == 0
    scored = pl.read_parquet(out / "scored.parquet")
    assert scored["id"].to_list() == [str(i) for i in range(8)]  # made ids: the row numbers
    assert scored["reasons"][2].to_list() == ["duplicate_of:0"]
    assert scored["text"].to_list() == CANDIDATES["body"]


def test_score_with_a_config_file(tmp_path, real_small, capsys) -> None:
    cand, real, out = tmp_path / "c.csv", tmp_path / "r.csv", tmp_path / "out"
    pl.DataFrame({"text": CANDIDATES["body"]}).write_csv(cand)
    real_small.write_csv(real)
    conf = tmp_path / "synthgate.toml"
    conf.write_text("[gate.unique]\nenabled = false\n", encoding="utf-8")
    args = ["score", str(cand), "--real", str(real), "--out", str(out), "--config", str(conf)]
    assert main(args) == 0
    scored = pl.read_parquet(out / "scored.parquet")
    assert scored["reasons"][2].to_list() == []  # the copy of row 0 is kept now
    written = tomllib.loads((out / "config.toml").read_text(encoding="utf-8"))
    assert written["gate"]["unique"]["enabled"] is False


def test_rerun_needs_force_then_replaces_the_run_directory(run, capsys) -> None:
    args = ["score", str(run["cand"]), "--real", str(run["real"]), "--out", str(run["dir"])]
    args += ["--text-col", "body", "--label-col", "lab", "--id-col", "cid"]
    before = (run["dir"] / "run.json").read_bytes()
    capsys.readouterr()
    assert main(args) == 2
    assert "already holds a synthgate run; pass --force" in capsys.readouterr().err
    assert (run["dir"] / "run.json").read_bytes() == before  # untouched
    assert main([*args, "--force"]) == 0
    assert sorted(p.name for p in run["dir"].iterdir()) == sorted(RUN_FILES)  # no temp files


def test_console_script(tmp_path) -> None:
    script = Path(sys.executable).with_name("synthgate")
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "score" in done.stdout and "init-config" in done.stdout
    missing = tmp_path / "nope.csv"
    args = [script, "score", missing, "--real", missing, "--out", tmp_path / "out"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == f"synthgate: error: {missing}: no such file\n"
