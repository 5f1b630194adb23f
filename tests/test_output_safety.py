"""Nothing of the user's is overwritten unasked, one writer per run directory, and a run
directory whose files disagree (or were tampered with) is refused with one line naming the file.
Scoring here is lexical only (no model), so every case runs in a fraction of a second."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from synthgate.cli.main import main
from synthgate.errors import SynthgateError
from synthgate.io.guard import LOCK_FILE, locked
from synthgate.io.rundir import load_run

LEXICAL = """
[scorers.dedup]
semantic = false
[scorers.similarity]
enabled = false
[scorers.label]
enabled = false
[scorers.discriminator]
enabled = false
[gate.rules.dedup_semantic_real_cosine]
enabled = false
[gate.rules.similarity_cosine]
enabled = false
[gate.rules.label_p_intended]
enabled = false
"""
TEXTS = [
    "Shall we meet at the park later today?",
    "My train is late again so see you at eight.",
    '=HYPERLINK("http://x") call me',
    "Did you remember to feed the cat this morning?",
    "no no no no no no no no no no no no",
]


def _inputs(folder: Path) -> tuple[Path, Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    cand, real, conf = folder / "cand.csv", folder / "real.csv", folder / "lexical.toml"
    pl.DataFrame({"text": TEXTS, "label": ["ham"] * len(TEXTS)}).write_csv(cand)
    real_texts = [
        "Call me later.",
        "See you at home tonight, ok?",
        "I will call you when I get home from work tonight.",
        "Can you pick up some milk and bread on the way back please, we have run out?",
        "Sorry I missed your call.",
        "Are you coming to the cinema with us tonight or not? Let me know soon.",
    ]
    pl.DataFrame({"text": real_texts}).write_csv(real)
    conf.write_text(LEXICAL, encoding="utf-8")
    return cand, real, conf


def _score(cand: Path, real: Path, conf: Path, out: Path | str, *extra: str) -> int:
    return main(
        ["score", str(cand), "--real", str(real), "--config", str(conf), "--out", str(out), *extra]
    )


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("base")
    cand, real, conf = _inputs(root / "in")
    assert _score(cand, real, conf, root / "run") == 0
    return root / "run"


@pytest.fixture
def copy(base_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base_run, tmp_path / "run"))


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("synthgate: error: "), err
    return err


def test_score_into_the_folder_of_its_inputs_is_refused_and_touches_nothing(
    tmp_path: Path, capsys
) -> None:
    cand, real, conf = _inputs(tmp_path / "user")
    before = {p.name: p.read_bytes() for p in (tmp_path / "user").iterdir()}
    for extra in ((), ("--force",)):
        assert _score(cand, real, conf, tmp_path / "user", *extra) == 2
        assert "is an input of this run and lies inside --out" in _error(capsys)
    assert {p.name: p.read_bytes() for p in (tmp_path / "user").iterdir()} == before
    elsewhere = [Path(shutil.copy(p, tmp_path)) for p in (cand, real, conf)]
    assert _score(*elsewhere, tmp_path / "user", "--force") == 2  # inputs elsewhere now
    assert "not a synthgate run" in _error(capsys)
    assert {p.name: p.read_bytes() for p in (tmp_path / "user").iterdir()} == before


def test_an_empty_out_is_an_error(tmp_path: Path, capsys) -> None:
    cand, real, conf = _inputs(tmp_path / "in")
    assert _score(cand, real, conf, "") == 2
    assert "--out: empty path" in _error(capsys)
    assert sorted(p.name for p in Path.cwd().iterdir() if p.name == "scored.parquet") == []


def test_force_never_replaces_a_run_whose_input_lies_inside_it(copy: Path, capsys) -> None:
    cand, real, conf = _inputs(copy.parent / "in")
    inside = copy / "cand.csv"
    shutil.copy(cand, inside)
    assert _score(inside, real, conf, copy, "--force") == 2
    assert "is an input of this run" in _error(capsys)


def test_regate_refuses_a_folder_of_other_files_even_with_force(
    copy: Path, tmp_path: Path, capsys
) -> None:
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me", encoding="utf-8")
    conf = copy / "config.toml"
    for extra in ((), ("--force",)):
        args = ["regate", str(copy), "--config", str(conf), "--out", str(other), *extra]
        assert main(args) == 2
        assert "not a synthgate run" in _error(capsys)
    assert (other / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_sample_does_not_overwrite_judgements_or_the_run(
    copy: Path, tmp_path: Path, capsys
) -> None:
    review = tmp_path / "review.csv"
    review.write_text("id,judgement\n0,good\n", encoding="utf-8")
    assert main(["sample", str(copy), "--n", "3", "--out", str(review)]) == 2
    assert "exists; pass --force" in _error(capsys)
    assert review.read_text(encoding="utf-8") == "id,judgement\n0,good\n"
    target = copy / "scored.parquet"
    before = target.read_bytes()
    assert main(["sample", str(copy), "--n", "3", "--out", str(target), "--force"]) == 2
    assert "is an input of this command" in _error(capsys)
    assert target.read_bytes() == before
    assert main(["sample", str(copy), "--n", "3", "--out", str(review), "--force"]) == 0


def test_tune_twice_needs_force(copy: Path, capsys) -> None:
    assert main(["tune", str(copy)]) == 0
    first = (copy / "tuning.json").read_bytes()
    assert main(["tune", str(copy)]) == 2
    assert "tuning.html: exists; pass --force" in _error(capsys)
    assert (copy / "tuning.json").read_bytes() == first
    assert main(["tune", str(copy), "--force"]) == 0


def test_report_out_is_not_overwritten_unasked(copy: Path, tmp_path: Path, capsys) -> None:
    page = tmp_path / "page.html"
    page.write_text("mine", encoding="utf-8")
    assert main(["report", str(copy), "--out", str(page)]) == 2
    assert page.read_text(encoding="utf-8") == "mine"
    capsys.readouterr()
    assert main(["report", str(copy)]) == 0  # the run's own page is the command's to rewrite


def test_a_second_writer_gets_one_line(copy: Path, tmp_path: Path, capsys) -> None:
    cand, real, conf = _inputs(tmp_path / "in")
    with locked(copy):
        assert _score(cand, real, conf, copy, "--force") == 2
        assert f"another synthgate process (pid {os.getpid()})" in _error(capsys)
    assert not (copy / LOCK_FILE).exists()
    assert _score(cand, real, conf, copy, "--force") == 0


def test_a_stale_lock_of_a_dead_process_is_taken_over(copy: Path, tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (copy / LOCK_FILE).write_text(dead.stdout, encoding="utf-8")  # its owner is gone
    cand, real, conf = _inputs(tmp_path / "in")
    assert _score(cand, real, conf, copy, "--force") == 0
    assert not (copy / LOCK_FILE).exists()


def test_two_processes_into_one_out_never_mix_their_files(tmp_path: Path) -> None:
    cand, real, conf = _inputs(tmp_path / "in")
    out = tmp_path / "shared"
    code = "import sys; from synthgate.cli.main import main; sys.exit(main(sys.argv[1:]))"
    args = [sys.executable, "-c", code, "score", str(cand), "--real", str(real)]
    args += ["--config", str(conf), "--out", str(out), "--force"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
    assert 0 in [code for code, _ in results]
    for code, err in results:
        assert code == 0 or (code == 2 and err.count("\n") == 1), err
    run = load_run(out)  # consistent: every count agrees across the files
    assert run.frame.height == len(TEXTS)


def test_temporary_files_of_a_killed_run_are_removed_by_the_next(
    copy: Path, tmp_path: Path
) -> None:
    (copy / "run.json").unlink()  # killed before it finished: no run.json yet
    leftover = copy / ".scored.parquet.k1ll3d.tmp"
    leftover.write_bytes(b"half a file")
    cand, real, conf = _inputs(tmp_path / "in")
    assert _score(cand, real, conf, copy, "--force") == 0
    assert not leftover.exists()
    assert load_run(copy).frame.height == len(TEXTS)


def _tamper_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda r: _tamper_json(r / "run.json", counts=[1]), "run.json: 'counts' must hold"),
        (lambda r: _tamper_json(r / "run.json", columns="x"), "run.json: 'columns' must map"),
        (
            lambda r: _tamper_json(r / "run.json", columns={"text": "reasons", "id": "id"}),
            "run.json: 'columns.text' cannot be 'reasons'",
        ),
        (lambda r: (r / "report.json").write_text("{}"), "report.json: rows is None"),
        (
            lambda r: pl.read_parquet(r / "scored.parquet").write_parquet(r / "accepted.parquet"),
            "rows, but run.json counts",
        ),
        (
            lambda r: (
                pl.read_parquet(r / "scored.parquet")
                .with_columns(pl.col("quality_alpha_frac").cast(pl.String))
                .write_parquet(r / "scored.parquet")
            ),
            "column 'quality_alpha_frac' is String, not Float64",
        ),
        (
            lambda r: (
                pl.read_parquet(r / "scored.parquet")
                .with_columns(reasons=pl.lit(None, pl.List(pl.String)))
                .write_parquet(r / "scored.parquet")
            ),
            "column 'reasons' is null at row 1",
        ),
        (
            lambda r: (
                pl.read_parquet(r / "real.parquet").drop("text").write_parquet(r / "real.parquet")
            ),
            "real.parquet: needs a String column 'text'",
        ),
    ],
)
def test_a_tampered_run_is_one_line(copy: Path, tamper, message: str, capsys) -> None:
    tamper(copy)
    with pytest.raises(SynthgateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_run(copy)
    assert main(["report", str(copy)]) == 2
    assert message in _error(capsys)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            {"candidates": np.zeros((5, 4), np.float16), "real": np.zeros((2, 3), np.float16)},
            "differ in width",
        ),
        (
            {"candidates": np.zeros((5, 4), np.int64), "real": np.zeros((2, 4), np.int64)},
            "must hold finite floats",
        ),
        (
            {"candidates": np.zeros(5, np.float16), "real": np.zeros((2, 4), np.float16)},
            "must be a 2-D array",
        ),
        (
            {"candidates": np.zeros((4, 4), np.float16), "real": np.zeros((2, 4), np.float16)},
            "4 candidate and 2 real",
        ),
    ],
)
def test_embeddings_of_the_wrong_shape_or_type_are_one_line(
    copy: Path, arrays, message: str
) -> None:
    np.savez(copy / "embeddings.npz", **arrays)
    with pytest.raises(SynthgateError, match=message):
        load_run(copy, vectors=True)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("seed = -1\n", "seed: must be an int from 0 to 2**32 - 1; got -1"),
        (f"seed = {2**32}\n", "seed: must be an int from 0 to 2**32 - 1"),
        (
            "[gate.rules.quality_words]\nmin = -inf\n",
            "gate.rules.quality_words.min: must be a finite number",
        ),
        (
            "[gate.rules.repetition_loop_frac]\nmax = inf\n",
            "repetition_loop_frac.max: must be a finite number",
        ),
        (
            "[gate.rules.repetition_loop_frac]\nmax = nan\n",
            "repetition_loop_frac.max: must be a finite number",
        ),
        (
            "[gate.rules.quality_words]\nmin = 5\nmax = 2\n",
            "gate.rules.quality_words.min: must be <= max (2); got 5",
        ),
        (
            "[gate.rules.id]\nmin = 1\n",
            "gate.rules.id: must name a numeric or Boolean score column",
        ),
        (
            "[gate.rules.dedup_cluster]\nmax = 1\n",
            "gate.rules.dedup_cluster: must name a numeric or Boolean column",
        ),
        (
            '[gate.unique]\ncolumn = "text"\n',
            "gate.unique.column: must name a cluster id column; got 'text'",
        ),
        (
            '[gate.unique]\ncolumn = "nothing"\n',
            "gate.unique.column: must name a cluster id column; got 'nothing'",
        ),
        (
            "label.cv_folds",
            "scorers.label.cv_folds: must be 0 (off) or an int from 2 to",
        ),
    ],
)
def test_configs_that_cannot_be_meant_are_refused_before_work(
    tmp_path: Path, toml: str, message: str, capsys
) -> None:
    cand, real, conf = _inputs(tmp_path / "in")
    text = LEXICAL + toml if not toml.startswith("seed") else toml + LEXICAL
    if toml == "label.cv_folds":  # a parameter of a scorer that is switched off is checked too
        text = LEXICAL.replace("[scorers.label]\n", "[scorers.label]\ncv_folds = 1000000\n")
    conf.write_text(text, encoding="utf-8")
    assert _score(cand, real, conf, tmp_path / "out") == 2
    assert message in _error(capsys)
    assert not (tmp_path / "out").exists()  # nothing written, no empty folder left


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("synthgate 0.")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_writes_the_accepted_rows(base_run: Path, tmp_path: Path, fmt: str, capsys) -> None:
    out = tmp_path / f"accepted.{fmt}"
    assert main(["export", str(base_run), "--accepted", "--out", str(out)]) == 0
    scored = pl.read_parquet(base_run / "scored.parquet")
    want = scored.filter("accepted")
    if fmt == "parquet":
        back = pl.read_parquet(out)
    elif fmt == "jsonl":
        back = pl.read_ndjson(out)
    else:
        back = pl.read_csv(out, infer_schema=False)
    assert back.height == want.height and back.height < scored.height
    assert back.columns == ["text", "label", "id"]  # the candidates' own columns and id
    assert back["id"].cast(pl.String).to_list() == want["id"].cast(pl.String).to_list()
    assert main(["export", str(base_run), "--out", str(out)]) == 2  # exists: not replaced
    assert "exists; pass --force" in capsys.readouterr().err


def test_export_csv_cells_cannot_run_as_formulas(base_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    assert main(["export", str(base_run), "--rows", "all", "--out", str(out)]) == 0
    back = pl.read_csv(out, infer_schema=False)
    formula = [t for t in back["text"] if "HYPERLINK" in t]
    assert formula == ['\'=HYPERLINK("http://x") call me']
    assert {"accepted", "reasons"} <= set(back.columns)
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in back["reasons"].drop_nulls())
