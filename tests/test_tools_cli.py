"""The review loop through the command line on madewithml: score, sample, judge, tune with the
judgements, regate with the suggestion, evaluate downstream, tune for a downstream objective."""

from __future__ import annotations

import json
import random
import re
import tomllib
from pathlib import Path

import plant
import polars as pl
import pytest
from conftest import shared_dir

from synthgate.cli.main import main

# Lexical scorers and a TF-IDF label model: no embedding pass, so the loop runs in seconds.
CONFIG = """
[scorers.similarity]
enabled = false
[scorers.discriminator]
enabled = false
[scorers.dedup]
semantic = false
[scorers.label]
features = "tfidf"
"""
LEAKED = 15


TEXT = pl.concat_str(["title", "description"], separator=". ", ignore_nulls=True)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("loop")
    data = shared_dir() / "data" / "madewithml"
    train = pl.read_csv(data / "dataset.csv").with_columns(text=TEXT, label=pl.col("tag"))
    test = pl.read_csv(data / "holdout.csv").with_columns(text=TEXT)
    rng = random.Random(0)
    labels = sorted(set(train["label"]))
    rows = []
    for i, (text, label) in enumerate(zip(train["text"], train["label"], strict=True)):
        if i % 2 == 0:  # clean paraphrase-like variants
            rows.append({"text": plant.word_swap(text, rng), "label": label, "kind": "good"})
        elif i % 4 == 1:  # off-label: another class's text under this label
            rows.append(
                {
                    "text": plant.word_swap(text, rng),
                    "label": plant.off_label(label, labels, rng),
                    "kind": "bad",
                }
            )
    rows += [{"text": t, "label": "other", "kind": "leak"} for t in test["text"].head(LEAKED)]
    cands = pl.DataFrame(rows).with_row_index("id").with_columns(pl.col("id").cast(pl.String))
    paths = {name: root / f"{name}.csv" for name in ("cands", "real", "train", "val")}
    cands.write_csv(paths["cands"])
    train.select("id", "text", "label").write_csv(paths["real"])
    split = train.sample(fraction=1.0, shuffle=True, seed=1)
    split.head(600).write_csv(paths["train"])
    split.tail(split.height - 600).write_csv(paths["val"])
    (root / "conf.toml").write_text(CONFIG, encoding="utf-8")
    args = ["score", str(paths["cands"]), "--real", str(paths["real"]), "--out", str(root / "run")]
    assert main([*args, "--config", str(root / "conf.toml")]) == 0
    return paths | {"root": root, "run": root / "run", "data": data}


def test_sample_then_tune_to_a_precision_then_regate(loop, capsys) -> None:
    run, review = str(loop["run"]), loop["root"] / "review.csv"
    assert main(["sample", run, "--n", "150", "--out", str(review)]) == 0
    sample = pl.read_csv(review, infer_schema=False)
    assert sample.height == 150 and set(sample["judgement"].fill_null("")) == {""}
    kinds = pl.read_csv(loop["cands"], infer_schema=False).select("id", "kind")
    judged = (
        sample.drop("judgement")
        .join(kinds, on="id")
        .with_columns(
            judgement=pl.when(pl.col("kind") == "good")
            .then(pl.lit("good"))
            .otherwise(pl.lit("bad"))
        )
    )
    assert judged.height == 150  # every sampled id is a candidate id
    judged.write_csv(review)
    out = loop["root"] / "tuned"
    code = main(
        ["tune", run, "--labels", str(review), "--target-precision", "0.95", "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "tuning.json").read_text())
    promised = data["target_precision"]
    printed = capsys.readouterr().out
    acc = data["suggestion"]["acceptance"]
    assert f"acceptance: {acc['before']:,} -> {acc['after']:,} of {acc['rows']:,} rows" in printed
    for change in data["suggestion"]["changes"]:
        assert f"changed {change['knob']}: " in printed
    assert re.search(r"precision on \d+ judged rows: [\d.]+ \[[\d.]+, [\d.]+\] -> ", printed)
    assert "held (hard rules; --unfreeze to move): " in printed
    assert "quality_artifacts" not in {
        c["knob"].split(".")[0] for c in data["suggestion"]["changes"]
    }
    assert (out / "tuning.html").is_file()
    new = loop["root"] / "regated"
    assert main(["regate", run, "--config", str(out / "suggested.toml"), "--out", str(new)]) == 0
    scored = pl.read_parquet(new / "scored.parquet").join(judged.select("id", "judgement"), on="id")
    kept = scored.filter("accepted")
    precision = (kept["judgement"] == "good").mean()
    assert precision >= 0.95
    assert precision == pytest.approx(promised["labels"]["precision"]["value"], abs=1e-9)


def test_evaluate_reports_the_planted_leakage(loop, capsys) -> None:
    data = loop["data"]
    args = ["evaluate", "--train", str(data / "dataset.csv"), "--test", str(data / "holdout.csv")]
    args += ["--run", str(loop["run"]), "--text-col", "title,description", "--label-col", "tag"]
    assert main([*args, "--seeds", "2", "--out", str(loop["root"] / "eval")]) == 0
    printed = capsys.readouterr().out
    assert f"leakage: {LEAKED} test rows" in printed and "accepted" in printed
    result = json.loads((loop["root"] / "eval" / "evaluation.json").read_text())
    assert set(result["conditions"]) == {"real", "all", "accepted", "oversample", "random"}
    assert result["leakage"]["all"]["test_rows"] == LEAKED


def test_objective_tuning_uses_train_and_validation_only(loop, capsys) -> None:
    args = ["tune", str(loop["run"]), "--objective", "macro-f1", "--train", str(loop["train"])]
    args += ["--validation", str(loop["val"]), "--out", str(loop["root"] / "objective")]
    assert main(args) == 0, capsys.readouterr().err
    data = json.loads((loop["root"] / "objective" / "tuning.json").read_text())
    assert data["suggested_by"] == "--objective macro-f1"
    trace = data["extra"]["rows"]
    assert trace[0][-1] == "start"
    chosen = [trace[0][3]] + [row[3] for row in trace if row[-1] == "chosen"]
    assert chosen == sorted(set(chosen))  # every move a strict gain on validation
    # each chosen bound is in suggested.toml; with no move, the thresholds are the run's own
    suggested = tomllib.loads((loop["root"] / "objective" / "suggested.toml").read_text())
    own = tomllib.loads((loop["run"] / "config.toml").read_text())
    for row in (r for r in trace if r[-1] == "chosen"):
        column, side = row[1].rsplit(".", 1)
        assert suggested["gate"]["rules"][column][side] == row[2]
    if len(chosen) == 1:
        assert suggested["gate"] == own["gate"]
    page = (loop["root"] / "objective" / "tuning.html").read_text()
    assert data["extra"]["title"] in page


def test_evaluate_with_no_usable_candidate_is_one_line(loop, capsys) -> None:
    data = loop["data"]
    args = ["evaluate", "--train", str(data / "dataset.csv"), "--test", str(data / "holdout.csv")]
    args += ["--run", str(loop["run"]), "--text-col", "title", "--label-col", "created_on"]
    args += ["--allow-overlap"]  # one title ("ELECTRA") is in both files
    assert main([*args, "--out", str(loop["root"] / "eval-none")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no candidate label is a class of column 'created_on'" in err and "\n" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target-precision", "0.9"], "--target-precision: needs --labels"),
        (["--objective", "macro-f1"], "--objective: needs --train and --validation"),
        (["--target-acceptance", "1.5"], "target"),
    ],
)
def test_tune_option_errors_are_one_line(loop, capsys, argv, message) -> None:
    assert main(["tune", str(loop["run"]), *argv, "--out", str(loop["root"] / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_evaluate_on_its_own_training_file_is_refused(loop, capsys) -> None:
    data = loop["data"] / "dataset.csv"
    args = ["evaluate", "--train", str(data), "--test", str(data), "--run", str(loop["run"])]
    args += ["--text-col", "title,description", "--label-col", "tag"]
    assert main([*args, "--out", str(loop["root"] / "eval-self")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "rows repeat a row of" in err and "--allow-overlap" in err
    assert not (loop["root"] / "eval-self").exists()
