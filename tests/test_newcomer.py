"""What a newcomer meets first (issue 9): progress in a log file, `score` on file paths, a label
typo rejected and explained, text from the data shown escaped, and init-config comments that
are whole sentences."""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl
import pytest
from conftest import read_sms
from rich.console import Console

import synthgate
from synthgate.cli.console import PLAIN, progress_bars, progress_lines, scorer_lines, summary_table
from synthgate.cli.main import main
from synthgate.config import render_default, scorer_summary
from synthgate.errors import SynthgateError
from synthgate.io.files import read_table
from synthgate.scorers import SCORERS

# Lexical scorers and a TF-IDF label model: no embedding pass, so these runs take seconds.
LEXICAL = {
    "scorers": {
        "similarity": {"enabled": False},
        "discriminator": {"enabled": False},
        "dedup": {"semantic": False},
        "label": {"features": "tfidf", "cv_folds": 0},
    }
}
LEXICAL_TOML = """
[scorers.similarity]
enabled = false
[scorers.discriminator]
enabled = false
[scorers.dedup]
semantic = false
[scorers.label]
features = "tfidf"
cv_folds = 0
"""
EVIL = "\x1b[31m[bold]evil"  # a label that would recolour the terminal, and rich markup


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def plain_console() -> tuple[Console, io.StringIO]:
    """A console writing to a string, as stderr is when redirected to a log file."""
    buffer = io.StringIO()
    return Console(file=buffer, width=200), buffer


def test_progress_in_a_log_is_a_line_every_few_seconds_and_one_at_the_end() -> None:
    console, buffer = plain_console()
    assert not console.is_terminal
    clock = Clock()
    update = progress_lines(console, clock=clock, every=5.0)
    for now, step, done, total in [
        (0, "embed", 0, 5000),  # a start is not worth a line
        (1, "embed", 1000, 5000),
        (5, "embed", 1234, 5000),  # 5 s since the step began
        (6, "fit quality", 0, 1),
        (6, "fit quality", 1, 1),  # a completed step: always a line
        (8, "embed", 2000, 5000),  # 3 s since the last embed line
        (10, "embed", 3000, 5000),
        (11, "embed", 5000, 5000),
        (20, "embed", 5000, 5000),  # already reported complete
    ]:
        clock.now = now
        update(step, done, total)
    assert buffer.getvalue().splitlines() == [
        "embed 1,234/5,000 (25%) 5 s",
        "fit quality 1/1 (100%) 0 s",
        "embed 3,000/5,000 (60%) 10 s",
        "embed 5,000/5,000 (100%) 11 s",
    ]


def test_a_step_run_again_reports_again_with_its_own_time() -> None:
    console, buffer = plain_console()
    clock = Clock()
    update = progress_lines(console, clock=clock)
    for now, done in [(0, 0), (2, 4), (30, 0), (33, 4)]:  # evaluate fits once per seed
        clock.now = now
        update("fit", done, 4)
    assert buffer.getvalue().splitlines() == ["fit 4/4 (100%) 2 s", "fit 4/4 (100%) 3 s"]


def test_progress_bars_choose_lines_off_a_terminal_and_bars_on_one() -> None:
    console, buffer = plain_console()
    with progress_bars(console) as update:
        update("score", 1, 2)
        update("score", 2, 2)
    assert buffer.getvalue() == "score 2/2 (100%) 0 s\n"
    terminal = io.StringIO()
    with progress_bars(Console(file=terminal, force_terminal=True, width=100)) as update:
        update("score", 1, 2)
    assert "━" in terminal.getvalue() and "(50%)" not in terminal.getvalue()


def test_progress_lines_escape_the_step_name() -> None:
    console, buffer = plain_console()
    progress_lines(console)("\x1b[2J[bold]", 1, 1)
    assert buffer.getvalue() == "\\x1b[2J[bold] 1/1 (100%) 0 s\n"


def test_scorer_warnings_and_rule_names_are_shown_escaped() -> None:
    console, buffer = plain_console()
    summaries = {"label": {"skipped": None, "warnings": [f"label {EVIL}: no real row has it"]}}
    for line in scorer_lines(summaries):
        console.print(line, **PLAIN)
    assert buffer.getvalue() == "warning: label \\x1b[31m[bold]evil: no real row has it\n"
    report = {
        "rows": 3,
        "accepted": 2,
        "rejected": 1,
        "rejected_by_rule": {"[bold]mine\x07": 1},
        "rejected_only_by_rule": {},
        "skipped_by_rule": {},
    }
    console.print(summary_table(report))
    assert "[bold]mine\\x07" in buffer.getvalue() and "\x07" not in buffer.getvalue()


def sms_files(tmp_path: Path) -> tuple[Path, Path, pl.DataFrame]:
    """300 real SMS; 40 held-out ones as candidates, the spam among them labelled SPAM."""
    sms = read_sms().with_row_index("n").with_columns(pl.col("n").cast(pl.String))
    real = sms.head(300).select(id="n", text="text", label="label")
    cand = sms.slice(300, 40).select(
        id=pl.lit("c") + pl.col("n"),
        text="text",
        label=pl.col("label").replace({"spam": "SPAM"}),
        batch=pl.lit("round-1"),  # a column of the user's own
    )
    real.write_csv(tmp_path / "real.csv")
    cand.write_csv(tmp_path / "cands.csv")
    return tmp_path / "cands.csv", tmp_path / "real.csv", cand


def test_score_takes_paths_and_rejects_a_label_the_real_set_lacks(tmp_path) -> None:
    cands, real, frame = sms_files(tmp_path)
    from_paths = synthgate.score(str(cands), real, LEXICAL)
    from_frames = synthgate.score(read_table(cands), read_table(real), LEXICAL)
    assert from_paths.equals(from_frames)
    spam = from_paths.filter(pl.col("label") == "SPAM")
    assert spam.height == (frame["label"] == "SPAM").sum() > 0
    assert spam["label_unknown"].all()
    assert not spam["accepted"].any()
    assert spam["reasons"].list.contains("label_unknown").all()
    ham = from_paths.filter(pl.col("label") == "ham")
    assert not ham["label_unknown"].any()
    assert not ham["reasons"].list.contains("label_unknown").any()


@pytest.mark.parametrize(
    ("args", "name"),
    [((["a.csv"], pl.DataFrame({"text": ["x"]})), "candidates"), ((pl.DataFrame(), 3), "real")],
)
def test_score_names_the_argument_that_is_neither_a_frame_nor_a_path(args, name) -> None:
    with pytest.raises(SynthgateError, match=rf"^{name}: must be a polars DataFrame or a path"):
        synthgate.score(*args)


def test_score_on_a_missing_path_names_the_file(tmp_path) -> None:
    with pytest.raises(SynthgateError, match=r"nope\.csv"):
        synthgate.score(tmp_path / "nope.csv", tmp_path / "real.csv")


def test_cli_warns_of_the_typo_and_evaluate_prints_labels_escaped(tmp_path, capsys) -> None:
    cands, real, frame = sms_files(tmp_path)
    evil = frame.with_columns(label=pl.when(pl.col("label") == "ham").then(pl.lit(EVIL)))
    evil.drop_nulls("label").head(3).vstack(frame).unique("id").write_csv(cands)
    (tmp_path / "conf.toml").write_text(LEXICAL_TOML, encoding="utf-8")
    args = ["score", str(cands), "--real", str(real), "--out", str(tmp_path / "run")]
    assert main([*args, "--config", str(tmp_path / "conf.toml")]) == 0
    err = capsys.readouterr().err
    spam = (frame["label"] == "SPAM").sum()
    assert f"label 'SPAM': no real row has it; {spam} candidates flagged label_unknown " in err
    assert "(did you mean 'spam'?)" in err
    assert "\\x1b[31m[bold]evil" in err and "\x1b" not in err
    test = (
        read_sms()
        .slice(400, 60)
        .with_columns(
            label=pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(EVIL)).otherwise("label")
        )
    )
    test.write_csv(tmp_path / "test.csv")
    args = ["evaluate", "--train", str(real), "--test", str(tmp_path / "test.csv")]
    args += ["--allow-overlap"]  # SMS sends "Sorry, I'll call later" many times over
    assert main([*args, "--run", str(tmp_path / "run"), "--seeds", "2"]) == 0
    shown = capsys.readouterr()
    assert "\x1b" not in shown.out + shown.err
    assert "\\x1b[31m[bold]evil" in shown.err  # the unseen test label, named and escaped


COMMENT = re.compile(r"(?:^|  )# (.*)$")
ENDS = re.compile(r"[\w.)\]'\"`]$")
# A comment ending on one of these stops mid-sentence ("... trained on the").
DANGLING = {"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the"}
DANGLING |= {"to", "with", "that", "is", "than"}


def comments() -> list[str]:
    return [m.group(1) for line in render_default().splitlines() if (m := COMMENT.search(line))]


def test_every_init_config_comment_is_complete() -> None:
    found = comments()
    assert len(found) > 100
    for comment in found:
        assert ENDS.search(comment), comment
        last = re.sub(r"[^\w\s]", " ", comment).split()[-1].lower()
        assert last not in DANGLING, comment


@pytest.mark.parametrize("name", list(SCORERS))
def test_a_scorers_comment_is_its_first_whole_sentence(name: str) -> None:
    summary = scorer_summary(SCORERS[name])
    paragraph = " ".join((SCORERS[name].__doc__ or "").split("\n\n")[0].split())
    assert summary.endswith("."), summary
    assert paragraph.lower().startswith(summary.lower()), (summary, paragraph)
    enabled = str(getattr(SCORERS[name], "enabled_by_default", True)).lower()  # T5 ones: off
    assert f"enabled = {enabled}  # run the {name} scorer: {summary}" in render_default()
    if name == "label":  # its first sentence spans three docstring lines
        assert summary.endswith("whether no real row has that label at all.")
