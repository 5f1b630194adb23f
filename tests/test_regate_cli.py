"""`synthgate regate` and `synthgate report` on the bundled demo, through the command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from conftest import REPO

from synthgate.cli.main import main

LOOSER = """
[gate.rules.similarity_cosine]
min = 0.1
[gate.rules.quality_words]
min = 10
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    args = [str(REPO / "examples/candidates.csv"), "--real", str(REPO / "examples/real.csv")]
    assert main(["score", *args, "--out", str(root / "run")]) == 0
    (root / "new.toml").write_text(LOOSER, encoding="utf-8")
    conf = str(root / "new.toml")
    assert main(["score", *args, "--out", str(root / "direct"), "--config", conf]) == 0
    return root


def test_regate_equals_scoring_with_the_new_config(demo: Path, capsys) -> None:
    out = demo / "regated"
    code = main(
        ["regate", str(demo / "run"), "--config", str(demo / "new.toml"), "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    regated = pl.read_parquet(out / "scored.parquet")
    direct = pl.read_parquet(demo / "direct" / "scored.parquet")
    original = pl.read_parquet(demo / "run" / "scored.parquet")
    assert regated["accepted"].to_list() == direct["accepted"].to_list()
    assert regated["reasons"].to_list() == direct["reasons"].to_list()
    assert regated["accepted"].to_list() != original["accepted"].to_list()  # the change mattered
    assert json.loads((out / "report.json").read_text()) == json.loads(
        (demo / "direct" / "report.json").read_text()
    )
    run = json.loads((out / "run.json").read_text())
    assert run["regated_from"]["path"] == str(demo / "run")
    assert (out / "report.html").stat().st_size > 1000
    assert (out / "embeddings.npz").read_bytes() == (demo / "run" / "embeddings.npz").read_bytes()


def test_report_rewrites_the_page(demo: Path, tmp_path: Path, capsys) -> None:
    assert main(["report", str(demo / "run"), "--out", str(tmp_path / "page.html")]) == 0
    assert (tmp_path / "page.html").read_text().startswith("<!DOCTYPE html>")
    msg = _error(capsys, "report", str(demo / "run"), "--out", str(tmp_path))
    assert msg == f"synthgate: error: {tmp_path}: is a directory; give a file name"


def _error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    return err


def test_regate_refuses_bad_runs_and_configs(demo: Path, tmp_path: Path, capsys) -> None:
    run, conf = str(demo / "run"), str(demo / "new.toml")
    assert "--out must differ" in _error(capsys, "regate", run, "--config", conf, "--out", run)
    rescore = tmp_path / "rescore.toml"
    rescore.write_text("[scorers.dedup]\nnear_threshold = 0.4\n", encoding="utf-8")
    msg = _error(capsys, "regate", run, "--config", str(rescore), "--out", str(tmp_path / "x"))
    assert msg.startswith("synthgate: error: scorers.dedup.near_threshold: differs")
    partial = tmp_path / "partial"
    shutil.copytree(demo / "run", partial)
    (partial / "run.json").unlink()
    msg = _error(capsys, "report", str(partial))
    assert "missing run.json" in msg and str(partial) in msg
    record = json.loads((demo / "run" / "run.json").read_text())
    (partial / "run.json").write_text(json.dumps(record | {"format_version": 2}))
    assert "format_version 2 is not supported" in _error(capsys, "report", str(partial))
    typo = tmp_path / "typo.toml"
    typo.write_text("[gate.rules.similarity_cosine]\nmni = 0.2\n", encoding="utf-8")
    msg = _error(capsys, "regate", run, "--config", str(typo), "--out", str(tmp_path / "y"))
    assert "gate.rules.similarity_cosine.mni: unknown key" in msg
