"""Reading the user's files: paths are paths (no globbing), a folder reads its files, blank lines
are not rows, odd line endings and header-less TSV read as meant, and every unreadable input is
one line naming the file (and the line). Ends with a fuzz test of random small CSV/JSONL inputs.
Scoring here is lexical only (no model), so each run takes a fraction of a second."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from conftest import REPO, shared_dir
from test_output_safety import LEXICAL

from synthgate.cli.main import main
from synthgate.errors import SynthgateError
from synthgate.io.files import file_sha256, read_table
from synthgate.io.rundir import load_run

REAL = [
    "Call me later when you are free.",
    "See you at home tonight, ok?",
    "I will call you when I get home from work tonight.",
    "Can you pick up some milk and bread on the way back please?",
    "Sorry I missed your call, was in a meeting.",
    "Are you coming to the cinema with us tonight or not?",
]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Path]:
    """A real set and the lexical config; `out` is where a run goes."""
    real, conf = tmp_path / "real.csv", tmp_path / "lexical.toml"
    pl.DataFrame({"text": REAL}).write_csv(real)
    conf.write_text(LEXICAL, encoding="utf-8")
    return {"real": real, "conf": conf, "out": tmp_path / "run"}


def score(env: dict[str, Path], cand: Path | str, *extra: str, real: Path | None = None) -> int:
    argv = ["score", str(cand), "--real", str(real or env["real"]), "--out", str(env["out"])]
    return main([*argv, "--config", str(env["conf"]), *extra])


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The single stderr line of a failed command, without its prefix."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("synthgate: error: "), err
    assert "Traceback" not in err
    return err.removeprefix("synthgate: error: ").rstrip("\n")


def scored_texts(env: dict[str, Path]) -> list[str]:
    return pl.read_parquet(env["out"] / "scored.parquet")["text"].to_list()


# --- paths are paths -----------------------------------------------------------------------


def test_a_file_name_with_glob_characters_is_read_as_named(env, tmp_path: Path, capsys) -> None:
    for name in ("c1.parquet", "c2.parquet", "c3.parquet"):  # what 'c*.parquet' would match
        pl.DataFrame({"text": ["a decoy row that must not be read"]}).write_parquet(tmp_path / name)
    cand = tmp_path / "d[1].parquet"
    pl.DataFrame({"text": ["Shall we meet at the park later today?"] * 2}).write_parquet(cand)
    assert score(env, cand) == 0, capsys.readouterr().err
    assert scored_texts(env) == ["Shall we meet at the park later today?"] * 2
    assert json.loads((env["out"] / "run.json").read_text())["inputs"]["candidates"]["rows"] == 2


def test_a_pattern_is_not_expanded(env, tmp_path: Path, capsys) -> None:
    for name in ("c1.parquet", "c2.parquet"):
        pl.DataFrame({"text": ["one row"]}).write_parquet(tmp_path / name)
    assert score(env, tmp_path / "c*.parquet") == 2
    assert one_line(capsys) == (
        f"{tmp_path / 'c*.parquet'}: no such file; paths are not globbed: "
        "pass a folder to read many files"
    )


def test_a_run_folder_named_with_brackets_reads_back(env, tmp_path: Path, capsys) -> None:
    cand = tmp_path / "cand.csv"
    cand.write_text("text\nShall we meet at the park later today?\n", encoding="utf-8")
    env["out"] = tmp_path / "run[1]"
    assert score(env, cand) == 0, capsys.readouterr().err
    assert load_run(env["out"]).frame.height == 1
    assert main(["report", str(env["out"]), "--out", str(tmp_path / "r.html")]) == 0


def test_a_folder_reads_every_table_file_in_name_order(env, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "b.csv").write_text("id,text\nb1,Second shard row here.\n", encoding="utf-8")
    pl.DataFrame({"id": ["a1", "a2"], "text": ["First row.", "Second row."]}).write_parquet(
        folder / "a.parquet"
    )
    (folder / ".hidden.csv").write_text("id,text\nh,hidden\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not a table", encoding="utf-8")
    assert score(env, folder) == 0, capsys.readouterr().err
    frame = pl.read_parquet(env["out"] / "scored.parquet")
    assert frame["id"].to_list() == ["a1", "a2", "b1"]
    record = json.loads((env["out"] / "run.json").read_text())["inputs"]["candidates"]
    assert record["rows"] == 3 and record["sha256"] == file_sha256(folder)
    (folder / "b.csv").write_text("id,text\nb1,Changed.\n", encoding="utf-8")
    assert file_sha256(folder) != record["sha256"]


def test_an_empty_folder_says_what_it_lacks(env, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "cand.csv"
    folder.mkdir()
    assert score(env, folder) == 2
    assert one_line(capsys) == (
        f"{folder}: folder holds no table files (.csv, .tsv, .jsonl, .ndjson, .parquet)"
    )


# --- what is and is not a row ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "texts"),
    [
        ("id,text\na,First one.\n\n\nb,Second one.\n\n", ["First one.", "Second one."]),
        ("text\nFirst one.\n\nSecond one.\n\n\n", ["First one.", "Second one."]),
        ("text\r\nFirst one.\r\n\r\nSecond one.\r\n", ["First one.", "Second one."]),
        ('text\n"a quoted\n\nparagraph"\n\n""\n', ["a quoted\n\nparagraph", ""]),
    ],
    ids=["two-columns", "one-column", "crlf", "blank-inside-quotes-is-text"],
)
def test_blank_lines_are_not_rows(env, tmp_path: Path, content: str, texts, capsys) -> None:
    cand = tmp_path / "cand.csv"
    cand.write_text(content, encoding="utf-8", newline="")
    assert score(env, cand) == 0, capsys.readouterr().err
    assert scored_texts(env) == texts


def test_blank_lines_in_a_tsv_are_not_rows(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    path.write_text('label\ttext\nham\tsay "hi\n\nspam\twin\n\n', encoding="utf-8")
    assert read_table(path).to_dicts() == [
        {"label": "ham", "text": 'say "hi'},
        {"label": "spam", "text": "win"},
    ]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_cr_only_line_endings_read_as_lines(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"mac{suffix}"
    body = "id,text\ra,First.\rb,Second.\r" if suffix == ".csv" else '{"id":"a"}\r{"id":"b"}\r'
    path.write_bytes(body.encode())
    assert read_table(path)["id"].to_list() == ["a", "b"]


# --- header-less files ----------------------------------------------------------------------


def test_the_sms_collection_as_distributed_reads_with_no_header() -> None:
    path = shared_dir() / "data" / "sms_spam" / "SMSSpamCollection.tsv"
    frame = read_table(path, header=False)
    assert frame.columns == ["1", "2"]
    assert frame.height == 5574
    assert frame["1"].value_counts()["count"].sum() == 5574
    assert set(frame["1"]) == {"ham", "spam"}


def test_no_header_names_columns_by_position(env, tmp_path: Path, capsys) -> None:
    cand, real = tmp_path / "cand.tsv", tmp_path / "real.tsv"
    cand.write_text("ham\tShall we meet at the park later today?\n", encoding="utf-8")
    real.write_text("".join(f"ham\t{t}\n" for t in REAL), encoding="utf-8")
    args = ("--no-header", "--text-col", "2", "--label-col", "1")
    assert score(env, cand, *args, real=real) == 0, capsys.readouterr().err
    frame = pl.read_parquet(env["out"] / "scored.parquet")
    assert frame["2"].to_list() == ["Shall we meet at the park later today?"]
    assert frame["1"].to_list() == ["ham"]


def test_a_header_less_file_read_with_a_header_says_so(env, tmp_path: Path, capsys) -> None:
    real = tmp_path / "real.tsv"
    lines = ["Go until jurong point, crazy.. Available only", "Ok lar... Joking wif u oni..."]
    real.write_text("".join(f"ham\t{t}\n" for t in lines), encoding="utf-8")
    cand = tmp_path / "cand.csv"
    cand.write_text("text\nShall we meet?\n", encoding="utf-8")
    assert score(env, cand, real=real) == 2
    assert one_line(capsys).endswith("(a CSV/TSV file with no header line needs --no-header)")
    assert score(env, cand, "--no-header", real=real) == 2
    assert one_line(capsys).endswith("name columns by position, e.g. --text-col 2)")


# --- files that are not files, and odd JSON ------------------------------------------------


def test_a_fifo_is_named_as_one(env, tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "cand.csv"
    os.mkfifo(fifo)
    assert score(env, fifo) == 2
    assert one_line(capsys) == f"{fifo}: is a FIFO (named pipe); give a file or a folder of files"


def test_a_symlink_loop_and_a_broken_link_are_named(env, tmp_path: Path, capsys) -> None:
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    assert score(env, tmp_path / "a.csv") == 2
    assert (
        one_line(capsys) == f"{tmp_path / 'a.csv'}: cannot open (Too many levels of symbolic links)"
    )
    (tmp_path / "c.csv").symlink_to(tmp_path / "gone.csv")
    assert score(env, tmp_path / "c.csv") == 2
    assert (
        one_line(capsys)
        == f"{tmp_path / 'c.csv'}: broken symbolic link (its target does not exist)"
    )


def test_a_lone_surrogate_escape_spoils_only_its_character(env, tmp_path: Path, capsys) -> None:
    cand = tmp_path / "cand.jsonl"
    cand.write_text(
        '{"text": "Shall we meet \\ud83d at the park?"}\n{"text": "Fine \\ud83d\\ude00 thanks."}\n',
        encoding="utf-8",
    )
    assert score(env, cand) == 0, capsys.readouterr().err
    assert scored_texts(env) == ["Shall we meet \ufffd at the park?", "Fine \U0001f600 thanks."]


def test_a_type_mix_names_the_line_and_key(env, tmp_path: Path, capsys) -> None:
    cand = tmp_path / "cand.jsonl"
    cand.write_text('{"text": "a", "n": 1}\n\n{"text": "b", "n": null}\n{"text": "c", "n": true}\n')
    assert score(env, cand) == 2
    assert one_line(capsys) == f"{cand}:4: key 'n' holds a boolean here but a number on line 1"


# --- writing: a full disk ------------------------------------------------------------------

_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
from synthgate.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_write_that_fails_names_the_file_and_cause_and_leaves_no_temp(
    env, tmp_path: Path, capsys
) -> None:
    """A file-size limit stands in for a full disk: the OS refuses the write the same way."""
    cand = tmp_path / "cand.csv"
    rows = [f"Row number {i} of a file too large to write under the limit." for i in range(400)]
    pl.DataFrame({"text": rows}).write_csv(cand)
    argv = [str(cand), "--real", str(env["real"]), "--config", str(env["conf"])]
    done = subprocess.run(
        [sys.executable, "-c", _LIMITED, "score", *argv, "--out", str(env["out"])],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]  # beside progress
    assert errors == [
        f"synthgate: error: {env['out'] / 'scored.parquet'}: cannot write (File too large)"
    ], done.stderr
    assert not env["out"].exists()  # a failed run leaves no run directory, and no temp file


# --- fuzz ----------------------------------------------------------------------------------

PIECES = [
    "Shall we meet at the park later today?",
    "win a FREE prize now!!!",
    'a "quoted" word',
    "comma, separated, words",
    "tab\there",
    "new\nline",
    "crlf\r\nline",
    "",
    "   ",
    "=SUM(A1:A2)",
    "ünïcödé ✓ 漢字",
    "\x00\x07 control",
    "<|endoftext|>",
    "no no no no no no no no",
    "\u2028 line separator",
    "\\ud800",
]


def _random_records(rng: random.Random) -> list[dict[str, str]]:
    n = rng.randint(1, 8)
    labels = ["ham", "spam", "", "SPAM"]
    return [
        {
            "id": f"r{i}",
            "text": " ".join(rng.choice(PIECES) for _ in range(rng.randint(1, 3))),
            "label": rng.choice(labels),
        }
        for i in range(n)
    ]


def _serialise(records: list[dict[str, str]], fmt: str, rng: random.Random) -> bytes:
    if fmt == "jsonl":
        lines = [json.dumps(r, ensure_ascii=rng.random() < 0.5) for r in records]
        return ("\n".join(lines) + "\n" * rng.randint(0, 2)).encode()
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=rng.choice(["\n", "\r\n"]), quoting=csv.QUOTE_ALL)
    writer.writerow(["id", "text", "label"])
    writer.writerows([r["id"], r["text"], r["label"]] for r in records)
    body = buffer.getvalue()
    if rng.random() < 0.3:
        body += "\n\n"  # trailing blank lines: not rows
    return ("\ufeff" if rng.random() < 0.2 else "").encode() + body.encode()


def _corrupt(data: bytes, rng: random.Random) -> bytes:
    choice = rng.randrange(4)
    if choice == 0:
        return data[: rng.randrange(len(data))]
    if choice == 1:
        i = rng.randrange(len(data))
        return data[:i] + bytes([rng.randrange(256)]) + data[i + 1 :]
    if choice == 2:
        i = rng.randrange(len(data))
        return data[:i] + rng.choice([b'"', b",", b"\n", b"{", b"\xff", b"\t"]) + data[i:]
    return data + rng.choice([b"garbage", b'"unclosed', b"{", b",,,,,\n"])


@pytest.mark.parametrize("chunk", range(4))
def test_fuzzed_inputs_end_in_rows_out_equal_rows_in_or_one_line(
    env, tmp_path: Path, chunk: int, capsys
) -> None:
    """250 random small files (fixed seed): a well-formed file scores every record it holds;
    a corrupted one scores or fails with exit 2 and one line, never a traceback."""
    rng = random.Random(1000 + chunk)
    outcomes = {"scored": 0, "refused": 0}
    for trial in range(62 if chunk < 3 else 64):
        fmt = rng.choice(["csv", "jsonl"])
        records = _random_records(rng)
        data = _serialise(records, fmt, rng)
        broken = rng.random() < 0.5
        if broken:
            data = _corrupt(data, rng)
        cand = tmp_path / f"cand{trial}.{fmt}"
        cand.write_bytes(data)
        env["out"] = tmp_path / f"run{trial}"
        try:
            code = score(env, cand)
        except SystemExit as exc:  # argparse; never expected here
            pytest.fail(f"trial {trial}: exit {exc.code}")
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        if code == 0:
            rows = pl.read_parquet(env["out"] / "scored.parquet").height
            assert rows == read_table(cand).height, f"trial {trial}"
            if not broken:
                assert rows == len(records), f"trial {trial}: {data!r}"
            outcomes["scored"] += 1
        else:
            assert code == 2 and broken, f"trial {trial}: exit {code} for {data!r}"
            assert captured.err.count("\n") == 1, captured.err
            outcomes["refused"] += 1
    assert outcomes["scored"] > 0


def test_read_table_errors_are_synthgate_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b'text\n"never closed\n')
    with pytest.raises(SynthgateError, match=r"x.csv:2: unterminated quote"):
        read_table(path)
