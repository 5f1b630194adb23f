"""`synthgate generate` and `synthgate run` with the offline rules generator, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import MODEL_FREE_CONFIG, REPO

import synthgate
from synthgate.cli.main import main
from synthgate.generate.rows import GENERATED_SCHEMA
from synthgate.io.rundir import load_run

REAL = REPO / "examples" / "real.csv"
FAST = MODEL_FREE_CONFIG


def write_config(tmp_path: Path, generate: str) -> Path:
    path = tmp_path / "gen.toml"
    path.write_text(FAST + "[generate]\n" + generate + "\n", encoding="utf-8")
    return path


def test_generate_writes_candidates_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = write_config(tmp_path, "per_label = 3\nseed = 7")
    out = tmp_path / "cands.parquet"
    assert main(["generate", "--real", str(REAL), "--out", str(out), "--config", str(conf)]) == 0
    frame = pl.read_parquet(out)
    assert frame.schema == pl.Schema(GENERATED_SCHEMA)
    assert frame.height == 9 and frame["source_id"].null_count() == 0
    before = out.read_bytes()
    capsys.readouterr()
    args = ["generate", "--real", str(REAL), "--out", str(out), "--config", str(conf)]
    assert main([*args, "--n", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"synthgate: error: {out}: exists; pass --force to replace it"
    assert out.read_bytes() == before
    assert main([*args, "--n", "1", "--force"]) == 0
    assert pl.read_parquet(out).height == 3
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_run_leaves_a_run_directory_like_score(tmp_path: Path) -> None:
    conf = write_config(tmp_path, "per_label = 8\nlabels = ['negative', 'question']")
    out = tmp_path / "run"
    assert main(["run", "--real", str(REAL), "--out", str(out), "--config", str(conf)]) == 0
    run = load_run(out)
    frame = run.frame
    assert set(GENERATED_SCHEMA) <= set(frame.columns)
    assert frame.filter("accepted").group_by("label").len()["len"].min() >= 8
    report = json.loads((out / "report.json").read_text())
    assert set(report["generation"]["by_label"]) == {"negative", "question"}
    page = (out / "report.html").read_text()
    assert "<a href='#generation'>Generation yield</a>" in page
    yields = page.split("id='generation'")[1].split("</section>")[0]
    assert "question" in yields and "negative" in yields and "positive" not in yields
    record = json.loads((out / "run.json").read_text())
    assert record["generation"]["generator"] == "rules"
    assert record["inputs"]["real"]["rows"] == pl.read_csv(REAL).height
    # what `synthgate score` gives for the same rows with the same config
    generated = frame.select(list(GENERATED_SCHEMA))
    again = synthgate.score(generated, pl.read_csv(REAL), run.config)
    assert again["reasons"].to_list() == frame["reasons"].to_list()
    assert main(["run", "--real", str(REAL), "--out", str(out), "--config", str(conf)]) == 2
    assert (
        main(["run", "--real", str(REAL), "--out", str(out), "--config", str(conf), "--force"]) == 0
    )


@pytest.mark.parametrize(
    ("generate", "message"),
    [
        ("per_label = 2\nbalance = true", "generate.balance: per_label and balance"),
        ("", "generate.per_label: no quota set"),
        ("per_label = 2\nprompt = '{label} {txt}'", "generate.prompt: unknown placeholder {txt}"),
        ("per_label = 2\nlabels = ['spam']", "generate.labels: label 'spam' has no real rows"),
        ("per_label = 2\ngenerator = 'gpt3'", "generate.generator: must be one of rules"),
        ("per_label = 2\ngenerator = 'causal'", "generate.model: the causal generator needs"),
        (
            "per_label = 2\ngenerator = 'causal'\nmodel = 'nobody/no-such-model'",
            "generate.model: cannot load 'nobody/no-such-model' (not a local folder",
        ),
    ],
)
def test_bad_generate_config_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], generate: str, message: str
) -> None:
    conf = write_config(tmp_path, generate)
    out = tmp_path / "run"
    assert main(["run", "--real", str(REAL), "--out", str(out), "--config", str(conf)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"synthgate: error: {message}") and "\n" not in err
    assert not out.exists()


def test_real_without_labels_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real.csv"
    pl.DataFrame({"text": ["one row here", "another row"]}).write_csv(real)
    conf = write_config(tmp_path, "per_label = 2")
    out = tmp_path / "c.parquet"
    assert main(["generate", "--real", str(real), "--out", str(out), "--config", str(conf)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "synthgate: error: real: no label column 'label'; generating needs labelled rows"


def run_with_holdout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(holdout file, config, run folder) of `synthgate run --holdout` on three negative rows."""
    holdout = tmp_path / "test.csv"
    pl.read_csv(REAL).filter(pl.col("label") == "negative").head(3).write_csv(holdout)
    conf = write_config(tmp_path, "per_label = 3\nlabels = ['negative']")
    out = tmp_path / "run"
    args = ["run", "--real", str(REAL), "--out", str(out), "--config", str(conf)]
    assert main([*args, "--holdout", str(holdout)]) == 0
    return holdout, conf, out


def test_run_with_a_holdout_records_it_and_regates(tmp_path: Path) -> None:
    holdout, _, out = run_with_holdout(tmp_path)
    record = json.loads((out / "run.json").read_text())
    assert record["inputs"]["holdout"]["rows"] == 3
    held = set(pl.read_csv(holdout)["id"])
    run = load_run(out)
    assert not set(run.frame["source_id"]) & held
    assert run.config["gate"]["rules"]["leak_holdout"]["max"] is False
    assert (
        main(
            [
                "regate",
                str(out),
                "--config",
                str(out / "config.toml"),
                "--out",
                str(tmp_path / "re"),
            ]
        )
        == 0
    )


def test_library_run_takes_the_holdout_as_the_command_line_does(tmp_path: Path) -> None:
    holdout, conf, out = run_with_holdout(tmp_path)
    run = synthgate.run(pl.read_csv(REAL), conf, holdout=pl.read_csv(holdout))
    assert run.config["gate"]["rules"]["leak_holdout"]["max"] is False
    assert run.report["generation"]["leak_holdout"] == 0
    assert not set(run.frame["source_id"]) & set(pl.read_csv(holdout)["id"])
    keep = ["id", "text", "source_id", "seed", "leak_holdout", "reasons", "accepted"]
    assert run.frame.select(keep).equals(load_run(out).frame.select(keep))


def test_init_config_shows_the_generate_table_with_a_comment_on_every_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["init-config"]) == 0
    text = capsys.readouterr().out
    table = text.split("\n[generate]\n", 1)[1].split("\n[", 1)[0]
    keys = [line.split(" = ", 1)[0] for line in table.splitlines() if " = " in line]
    assert keys == list(synthgate.default_config()["generate"])
    assert all("  # " in line for line in table.splitlines() if " = " in line)


def test_the_example_run_config_is_the_offline_one() -> None:
    conf = synthgate.load_config(REPO / "examples" / "run.toml")
    assert conf["generate"]["generator"] == "rules" and conf["generate"]["per_label"] > 0


def test_every_config_in_the_readme_generate_section_is_valid() -> None:
    import re
    import tomllib

    section = (REPO / "README.md").read_text(encoding="utf-8").split("\n## Generate\n")[1]
    blocks = re.findall(r"```toml\n(.+?)\n```", section.split("\n## ")[0], flags=re.S)
    assert len(blocks) >= 4
    for block in blocks:
        synthgate.config.merge_config(tomllib.loads(block))
