"""Bad input ends in one line on stderr and exit code 2, or in a kept row rejected for a reason.

Never a traceback, never a lost row, never a partial run directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import synthgate
from synthgate.cli.main import main
from synthgate.io.inputs import Columns, canonical
from synthgate.scorers import SCORERS

# ~40-50 characters each, like the real set, no commas: each passes the default gate.
GOOD = [
    "Shall we meet at the park later today?",
    "My train is late again so see you at eight.",
    "Did you remember to feed the cat this morning?",
    "The weather is lovely so fancy a walk by the river?",
]


@pytest.fixture
def real(tmp_path: Path, real_small: pl.DataFrame) -> Path:
    path = tmp_path / "real.csv"
    real_small.write_csv(path)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "run"


def fail(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    """Run `synthgate score ARGS`; assert exit 2, one stderr line, no run directory written;
    return the message after `synthgate: error: `."""
    argv = ["score", *map(str, args)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("synthgate: error: ")
    assert "Traceback" not in captured.err
    out_dir = Path(argv[argv.index("--out") + 1])
    assert not out_dir.exists(), "a failed run must not leave a run directory"
    return lines[0].removeprefix("synthgate: error: ")


def scored(capsys: pytest.CaptureFixture[str], *args: str | Path) -> pl.DataFrame:
    """Run `synthgate score ARGS`; assert exit 0; return scored.parquet."""
    argv = ["score", *map(str, args)]
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    return pl.read_parquet(Path(argv[argv.index("--out") + 1]) / "scored.parquet")


def reasons(frame: pl.DataFrame) -> list[list[str]]:
    return frame["reasons"].to_list()


# --- files ---------------------------------------------------------------------------------


def test_missing_candidates_file(capsys, tmp_path, real, out) -> None:
    msg = fail(capsys, tmp_path / "nope.csv", "--real", real, "--out", out)
    assert msg == f"{tmp_path / 'nope.csv'}: no such file"


def test_missing_real_file(capsys, tmp_path, out) -> None:
    cand = tmp_path / "cand.csv"
    pl.DataFrame({"text": GOOD}).write_csv(cand)
    msg = fail(capsys, cand, "--real", tmp_path / "real.jsonl", "--out", out)
    assert msg == f"{tmp_path / 'real.jsonl'}: no such file"


def test_unknown_extension(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.xlsx"
    cand.write_bytes(b"PK\x03\x04 not really a workbook")
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg.startswith(f"{cand}: unknown extension '.xlsx'; expected one of .csv, .tsv")


def test_directory_given_as_file(capsys, tmp_path, real, out) -> None:
    folder = tmp_path / "cand.csv"
    folder.mkdir()
    assert (
        fail(capsys, folder, "--real", real, "--out", out)
        == f"{folder}: folder holds no table files (.csv, .tsv, .jsonl, .ndjson, .parquet)"
    )


def test_truncated_parquet(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.parquet"
    pl.DataFrame({"text": GOOD * 50}).write_parquet(cand)
    data = cand.read_bytes()
    cand.write_bytes(data[: len(data) // 2])
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg.startswith(f"{cand}: cannot read parquet file: ")


def test_jsonl_broken_last_line_names_the_line(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.jsonl"
    good = [json.dumps({"text": t}) for t in GOOD[:2]]
    cand.write_text("\n".join([*good, '{"text": "cut off in the mid']) + "\n", encoding="utf-8")
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg.startswith(f"{cand}:3: invalid JSON")


def test_jsonl_line_that_is_not_an_object(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.jsonl"
    cand.write_text(json.dumps({"text": GOOD[0]}) + '\n["a", "list"]\n', encoding="utf-8")
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg == f"{cand}:2: expected a JSON object per line"


def test_csv_unterminated_quote_names_the_line(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.csv"
    cand.write_text(f'id,text\na,{GOOD[0]}\nb,"{GOOD[1]}\nc,{GOOD[2]}\n', encoding="utf-8")
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg.startswith(f"{cand}:3: unterminated quote")


def test_csv_row_with_too_many_fields_names_the_line(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.csv"
    cand.write_text(f"id,text\na,{GOOD[0]}\nb,x,y\n", encoding="utf-8")
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg == f"{cand}:3: 3 fields, but the header has 2"


def test_jsonl_keeps_line_separators_inside_strings(capsys, tmp_path, real, out) -> None:
    # U+2028 and U+0085 are legal unescaped in JSON; splitting lines on them loses rows.
    texts = [
        GOOD[0],
        "Shall we\u2028meet at the park later on?",
        "Meet me\x85at the station at six.",
    ]
    cand = tmp_path / "cand.jsonl"
    body = "\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in texts)
    cand.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))  # with a byte-order mark
    frame = scored(capsys, cand, "--real", real, "--out", out)
    assert frame["text"].to_list() == texts


# --- columns -------------------------------------------------------------------------------


def test_missing_text_column_lists_columns_found(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.csv"
    pl.DataFrame({"id": ["a"], "body": [GOOD[0]]}).write_csv(cand)
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg == "candidates: no text column 'text'; columns found: id, body"


def test_missing_text_column_in_real(capsys, tmp_path, out) -> None:
    cand, real = tmp_path / "cand.csv", tmp_path / "real.csv"
    pl.DataFrame({"text": GOOD}).write_csv(cand)
    pl.DataFrame({"sms": GOOD}).write_csv(real)
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg == "real: no text column 'text'; columns found: sms"


def test_text_col_naming_a_missing_column(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.csv"
    pl.DataFrame({"text": GOOD}).write_csv(cand)
    msg = fail(capsys, cand, "--real", real, "--out", out, "--text-col", "body")
    assert msg == "candidates: no text column 'body'; columns found: text"


def test_label_col_naming_a_missing_column(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.csv"
    pl.DataFrame({"text": GOOD, "label": ["ham"] * 4}).write_csv(cand)
    msg = fail(capsys, cand, "--real", real, "--out", out, "--label-col", "class")
    assert msg == "candidates: no label column 'class'; columns found: text, label"


def test_default_label_column_may_be_absent(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.csv"
    pl.DataFrame({"text": GOOD}).write_csv(cand)
    frame = scored(capsys, cand, "--real", real, "--out", out)
    assert frame["text"].to_list() == GOOD
    assert frame["accepted"].all()


def test_real_set_needs_only_text() -> None:
    """An explicit id/label/source column is required in the candidates, not in the real set."""
    cols = Columns(id="cid", label="lab", explicit=frozenset({"id", "label"}))
    real = canonical(pl.DataFrame({"text": GOOD}), cols, "real", "real:", reference=True)
    assert real["id"].to_list() == ["real:0", "real:1", "real:2", "real:3"]
    with pytest.raises(synthgate.SynthgateError, match="candidates: no label column 'lab'"):
        canonical(pl.DataFrame({"text": GOOD}), cols, "candidates")


def test_id_col_absent_from_real_set(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.csv"
    pl.DataFrame({"cid": ["x1", "x2", "x3", "x4"], "text": GOOD}).write_csv(cand)
    frame = scored(capsys, cand, "--real", real, "--out", out, "--id-col", "cid")
    assert frame["cid"].to_list() == ["x1", "x2", "x3", "x4"]


def test_text_column_that_is_not_text(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.jsonl"
    cand.write_text('{"text": {"body": "hi"}}\n', encoding="utf-8")
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg.startswith("candidates: column 'text' holds Struct")


@pytest.mark.parametrize("column", ["accepted", "reasons", "quality_words", "dedup_cluster"])
def test_input_column_clashing_with_an_output_column(
    capsys, tmp_path, real, out, column: str
) -> None:
    cand = tmp_path / "cand.csv"
    pl.DataFrame({"text": GOOD, column: ["1"] * 4}).write_csv(cand)
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg.startswith(f"candidates: column {column!r} clashes with an output column")


# --- empty input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("cand.csv", b"id,text\n", "no rows"),
        ("cand.tsv", b"id\ttext\n", "no rows"),
        ("cand.csv", b"", "empty file"),
        ("cand.jsonl", b"", "empty file"),
        ("cand.jsonl", b"\n\n  \n", "no rows"),
        ("cand.parquet", b"", "empty file"),
    ],
)
def test_empty_candidates(capsys, tmp_path, real, out, name, content, expected) -> None:
    cand = tmp_path / name
    cand.write_bytes(content)
    assert fail(capsys, cand, "--real", real, "--out", out) == f"{cand}: {expected}"


def test_empty_parquet_candidates(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.parquet"
    pl.DataFrame({"text": []}, schema={"text": pl.String}).write_parquet(cand)
    assert fail(capsys, cand, "--real", real, "--out", out) == f"{cand}: no rows"


def test_empty_real(capsys, tmp_path, out) -> None:
    cand, real = tmp_path / "cand.csv", tmp_path / "real.csv"
    pl.DataFrame({"text": GOOD}).write_csv(cand)
    real.write_text("label,text\n", encoding="utf-8")
    assert fail(capsys, cand, "--real", real, "--out", out) == f"{real}: no rows"


# --- ids -----------------------------------------------------------------------------------


def test_duplicate_ids_name_the_id_and_rows(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.csv"
    pl.DataFrame({"id": ["a", "b", "a", "c"], "text": GOOD}).write_csv(cand)
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg == "candidates: duplicate id 'a' in column 'id' (rows 1, 3)"


def test_duplicate_ids_in_a_named_id_column(capsys, tmp_path, out) -> None:
    cand, real = tmp_path / "cand.csv", tmp_path / "real.csv"
    pl.DataFrame({"uid": ["7", "8", "9", "8"], "text": GOOD}).write_csv(cand)
    pl.DataFrame({"uid": ["r1"], "text": [GOOD[0]]}).write_csv(real)
    msg = fail(capsys, cand, "--real", real, "--out", out, "--id-col", "uid")
    assert msg == "candidates: duplicate id '8' in column 'uid' (rows 2, 4)"


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "whitespace"])
def test_null_id(capsys, tmp_path, real, out, fmt: str) -> None:
    cand = tmp_path / f"cand.{'csv' if fmt == 'whitespace' else fmt}"
    ids = ["a", " " if fmt == "whitespace" else None, "c", "d"]
    frame = pl.DataFrame({"id": ids, "text": GOOD})
    if fmt == "jsonl":
        frame.write_ndjson(cand)
    elif fmt == "parquet":
        frame.write_parquet(cand)
    else:
        frame.write_csv(cand)  # a null is written as an empty cell and read back as ""
    msg = fail(capsys, cand, "--real", real, "--out", out)
    assert msg == "candidates: column 'id' is empty at row 2"


# --- odd text: kept, scored, rejected for a reason -----------------------------------------


def test_null_empty_and_blank_text_rejected_as_invalid(capsys, tmp_path, real, out) -> None:
    texts = [GOOD[0], None, "", "   \t  ", GOOD[1]]
    cand = tmp_path / "cand.jsonl"
    pl.DataFrame({"id": list("abcde"), "text": texts}).write_ndjson(cand)
    frame = scored(capsys, cand, "--real", real, "--out", out)
    assert frame["id"].to_list() == list("abcde")
    assert frame["accepted"].to_list() == [True, False, False, False, True]
    assert all("quality_invalid" in r for r in reasons(frame)[1:4])


def test_empty_text_cells_in_csv_rejected_as_invalid(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.csv"
    cand.write_text(f'id,text\na,{GOOD[0]}\nb,\nc,"  "\nd,{GOOD[1]}\n', encoding="utf-8")
    frame = scored(capsys, cand, "--real", real, "--out", out)
    assert frame["id"].to_list() == ["a", "b", "c", "d"]
    assert frame["text"].to_list() == [GOOD[0], "", "  ", GOOD[1]]
    assert [("quality_invalid" in r) for r in reasons(frame)] == [False, True, True, False]


def test_one_megabyte_text_is_scored_and_rejected(capsys, tmp_path, real, out) -> None:
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()
    huge = " ".join(words[(i * 7) % len(words)] for i in range(200_000))[: 1 << 20]
    cand = tmp_path / "cand.csv"
    pl.DataFrame({"id": ["a", "big", "b"], "text": [GOOD[0], huge, GOOD[1]]}).write_csv(cand)
    frame = scored(capsys, cand, "--real", real, "--out", out)
    assert frame["id"].to_list() == ["a", "big", "b"]
    assert frame["quality_chars"][1] == len(huge) >= 1_000_000
    assert "quality_length_z>3.5" in reasons(frame)[1]
    assert frame["accepted"].to_list() == [True, False, True]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b"])
def test_control_characters_rejected_as_artifacts(
    capsys, tmp_path, real, out, fmt: str, char: str
) -> None:
    texts = [GOOD[0], f"Shall we meet{char} at the park later on?", GOOD[1]]
    cand = tmp_path / f"cand.{fmt}"
    frame = pl.DataFrame({"id": ["a", "b", "c"], "text": texts})
    {"csv": frame.write_csv, "jsonl": frame.write_ndjson, "parquet": frame.write_parquet}[fmt](cand)
    result = scored(capsys, cand, "--real", real, "--out", out)
    assert result["text"].to_list() == texts
    assert result["accepted"].to_list() == [True, False, True]
    assert reasons(result)[1] == ["quality_artifacts>0"]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_invalid_utf8_row_kept_and_rejected(capsys, tmp_path, real, out, suffix: str) -> None:
    bad = b"Caf\xe9 au lait at nine and see you \xff there then"
    if suffix == ".jsonl":
        lines = [
            b'{"id": "a", "text": "%s"}' % GOOD[0].encode(),
            b'{"id": "b", "text": "%s"}' % bad,
        ]
        data = b"\n".join(lines) + b"\n"
    else:
        sep = b"\t" if suffix == ".tsv" else b","
        data = b"\n".join([b"id" + sep + b"text", b"a" + sep + GOOD[0].encode(), b"b" + sep + bad])
    cand = tmp_path / f"cand{suffix}"
    cand.write_bytes(data + b"\n")
    frame = scored(capsys, cand, "--real", real, "--out", out)
    assert frame["id"].to_list() == ["a", "b"]
    assert frame["text"][1] == "Caf\ufffd au lait at nine and see you \ufffd there then"
    assert frame["quality_artifacts"][1] == 2
    assert reasons(frame) == [[], ["quality_artifacts>0"]]


# --- config --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "sed = 1\n",
            "sed: unknown key; available: seed, batch_size, save_embeddings, "
            "embedding, t5, scorers, gate, generate",
        ),
        (
            "[scorers.qualty]\nenabled = false\n",
            "scorers.qualty: unknown scorer; available: " + ", ".join(SCORERS),
        ),
        ("[scorers.dedup]\nnum_perms = 64\n", "scorers.dedup.num_perms: unknown key; available:"),
        ('batch_size = "x"\n', "batch_size: must be int; got 'x'"),
        ("batch_size = 0\n", "batch_size: must be an int >= 1; got 0"),
        ("[scorers.dedup]\nnum_perm = 2\n", "scorers.dedup.num_perm: must be an int >= 8; got 2"),
        (
            '[gate.rules.quality_words]\non_missing = "drop"\n',
            "gate.rules.quality_words.on_missing: must be 'skip' or 'reject'; got 'drop'",
        ),
        (
            '[gate.rules.quality_words]\nmin = "3"\n',
            "gate.rules.quality_words.min: must be a number or a boolean; got '3'",
        ),
        ("[gate.rules.nope]\nmax = 1\n", "gate.rules.nope: no scorer or input column provides"),
        (
            "[scorers.discriminator]\nfolds = 1000000\n",
            "scorers.discriminator.folds: must be an int from 2 to 20; got 1000000",
        ),
        (
            "[scorers.label]\ncv_folds = 1000000\n",
            "scorers.label.cv_folds: must be 0 (off) or an int from 2 to 20; got 1000000",
        ),
        ('[gate.unique]\nprefer = "zzz"\n', "gate.unique.prefer: no column 'zzz'"),
        (
            '[scorers.quality]\nartifact_patterns = ["("]\n',
            "scorers.quality.artifact_patterns[0]: must be a regular expression; got '('",
        ),
    ],
)
def test_config_errors_start_with_the_dotted_path(
    capsys, tmp_path, real, out, toml: str, expected: str
) -> None:
    cand, conf = tmp_path / "cand.csv", tmp_path / "synthgate.toml"
    pl.DataFrame({"text": GOOD}).write_csv(cand)
    conf.write_text(toml, encoding="utf-8")
    msg = fail(capsys, cand, "--real", real, "--out", out, "--config", conf)
    assert msg.startswith(expected)


def test_invalid_toml_names_file_and_line(capsys, tmp_path, real, out) -> None:
    cand, conf = tmp_path / "cand.csv", tmp_path / "synthgate.toml"
    pl.DataFrame({"text": GOOD}).write_csv(cand)
    conf.write_text("seed = 1\nbatch_size = \n", encoding="utf-8")
    msg = fail(capsys, cand, "--real", real, "--out", out, "--config", conf)
    assert msg.startswith(f"{conf}: invalid TOML: ")
    assert "line 2" in msg


def test_missing_config_file(capsys, tmp_path, real, out) -> None:
    cand, conf = tmp_path / "cand.csv", tmp_path / "nope.toml"
    pl.DataFrame({"text": GOOD}).write_csv(cand)
    msg = fail(capsys, cand, "--real", real, "--out", out, "--config", conf)
    assert msg == f"{conf}: no such config file"


def test_config_that_is_a_directory(capsys, tmp_path, real, out) -> None:
    cand = tmp_path / "cand.csv"
    pl.DataFrame({"text": GOOD}).write_csv(cand)
    msg = fail(capsys, cand, "--real", real, "--out", out, "--config", tmp_path)
    assert msg.startswith(f"{tmp_path}: ")


def test_out_that_is_a_file(capsys, tmp_path, real) -> None:
    cand, out = tmp_path / "cand.csv", tmp_path / "run.txt"
    pl.DataFrame({"text": GOOD}).write_csv(cand)
    out.write_text("not a folder\n", encoding="utf-8")
    assert main(["score", str(cand), "--real", str(real), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"synthgate: error: {out}: --out exists and is not a directory\n"
    assert out.read_text(encoding="utf-8") == "not a folder\n"


# --- the Python API raises the same errors -------------------------------------------------


def test_api_raises_synthgate_error(real_small: pl.DataFrame) -> None:
    with pytest.raises(synthgate.SynthgateError, match="no text column 'text'; columns found: b"):
        synthgate.score(pl.DataFrame({"b": GOOD}), real_small)


def test_api_validates_a_config_dict(real_small: pl.DataFrame) -> None:
    with pytest.raises(synthgate.ConfigError, match=r"^scorers\.qualty: unknown scorer"):
        synthgate.score(pl.DataFrame({"text": GOOD}), real_small, {"scorers": {"qualty": {}}})


def test_api_keeps_every_row_in_order(real_small: pl.DataFrame) -> None:
    texts = [None, GOOD[0], "", "x\x00y", GOOD[1], "  "]
    frame = synthgate.score(pl.DataFrame({"text": texts}), real_small)
    assert frame["text"].to_list() == texts
    assert frame["id"].to_list() == [str(i) for i in range(6)]
    assert frame["accepted"].to_list() == [False, True, False, False, True, False]
