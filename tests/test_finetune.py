"""`synthgate finetune --objective seq2seq` on a real run directory (the paraphrase recipe's
last step): the rules generator makes and gates paraphrases of examples/real.csv, then a tiny
T5 (a tokenizer trained in code on the same texts) fine-tunes on the accepted source -> text
pairs. Also: an empty source is one line, and scored.parquet trains only its accepted rows."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from conftest import MODEL_FREE_CONFIG, REPO, save_tiny_t5
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, T5ForConditionalGeneration

from synthgate.cli.main import main
from synthgate.generate.hf import Seq2SeqGenerator

REAL = REPO / "examples" / "real.csv"
# Model-free scorers only; at least 14 words, so the gate rejects some of the paraphrases.
RUN_CONFIG = (
    MODEL_FREE_CONFIG
    + """
[gate.rules.quality_words]
min = 14
[generate]
generator = "rules"
per_label = 8
labels = ["question"]
seed = 3
"""
)
TRAIN = ["--objective", "seq2seq", "--device", "cpu", "--epochs", "3", "--lr", "0.01"]


def tiny_t5(folder: Path, texts: list[str]) -> Path:
    """A 1-layer T5 over a word-level vocabulary trained in code on `texts`, saved."""
    core = Tokenizer(models.WordLevel(unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    special = ["<pad>", "</s>", "<unk>"]
    core.train_from_iterator(
        ["paraphrase :", *texts], trainers.WordLevelTrainer(special_tokens=special)
    )
    return save_tiny_t5(folder, core)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `synthgate run` directory: rules paraphrases of the demo set's questions."""
    tmp = tmp_path_factory.mktemp("run")
    (tmp / "run.toml").write_text(RUN_CONFIG, encoding="utf-8")
    out = tmp / "run"
    assert (
        main(["run", "--real", str(REAL), "--out", str(out), "--config", str(tmp / "run.toml")])
        == 0
    )
    return out


@pytest.fixture(scope="module")
def t5(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_t5(tmp_path_factory.mktemp("t5"), pl.read_csv(REAL)["text"].to_list())


@pytest.fixture(scope="module")
def tuned(run_dir: Path, t5: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The command line's fine-tune on the run's accepted.parquet."""
    out = tmp_path_factory.mktemp("tuned") / "model"
    data = run_dir / "accepted.parquet"
    assert (
        main(["finetune", "--model", str(t5), "--data", str(data), "--out", str(out), *TRAIN]) == 0
    )
    return out


def pair_loss(folder: Path, sources: list[str], texts: list[str]) -> float:
    """Mean token loss of the model in `folder` on "paraphrase: {source} </s>" -> text."""
    tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    model = T5ForConditionalGeneration.from_pretrained(folder).eval()
    enc = tokenizer([f"paraphrase: {s} </s>" for s in sources], return_tensors="pt", padding=True)
    tgt = tokenizer(texts, return_tensors="pt", padding=True)
    labels = tgt["input_ids"].masked_fill(tgt["attention_mask"] == 0, -100)
    with torch.inference_mode():
        return float(model(**enc, labels=labels).loss)


def test_finetune_a_paraphraser_on_a_runs_accepted_rows(
    run_dir: Path, t5: Path, tuned: Path
) -> None:
    accepted = pl.read_parquet(run_dir / "accepted.parquet")
    assert accepted["source"].null_count() == 0 and accepted.height >= 8
    report = json.loads((tuned / "finetune.json").read_text())["(all)"]
    assert report["train_rows"] + report["held_out_rows"] == accepted.height
    assert report["accepted_only"] is True and report["rows_not_accepted"] == 0
    assert report["held_out_loss_after"] < report["held_out_loss_before"]
    # the held-out loss is the untrained model's on the file's own source -> text pairs
    n = accepted.height
    held = np.random.default_rng(0).permutation(n)[: max(1, math.ceil(0.1 * n))]
    sources = [accepted["source"][int(i)] for i in held]
    texts = [accepted["text"][int(i)] for i in held]
    assert pair_loss(t5, sources, texts) == pytest.approx(report["held_out_loss_before"], abs=1e-5)
    assert pair_loss(tuned, sources, texts) == pytest.approx(
        report["held_out_loss_after"], abs=1e-5
    )
    assert pair_loss(tuned, texts, sources) != pytest.approx(
        report["held_out_loss_after"], abs=1e-5
    )
    # the output folder loads as `[generate] model`
    gen = Seq2SeqGenerator(model=str(tuned), temperature=0.0, max_new_tokens=6, device="cpu")
    prompts = [f"paraphrase: {s} </s>" for s in sources]
    requests = pl.DataFrame(
        {"label": ["question"] * len(prompts), "prompt": prompts, "source": sources},
        schema_overrides={"source": pl.String},
    ).with_columns(source_id=pl.lit(None, pl.String))
    out = gen.fit(pl.DataFrame()).generate(requests, seed=0)
    assert out.height == len(prompts) and all(t.strip() for t in out["text"])


def test_scored_parquet_trains_only_the_accepted_rows(
    run_dir: Path, t5: Path, tuned: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scored = pl.read_parquet(run_dir / "scored.parquet")
    rejected = scored.filter(~pl.col("accepted")).height
    assert rejected > 0
    # a rejected row's empty source does not matter: it is not trained on
    first = int(scored["accepted"].not_().arg_max())  # type: ignore[arg-type]
    data = tmp_path / "scored.parquet"
    scored.with_columns(
        source=pl.when(pl.int_range(pl.len()) == first).then(None).otherwise(pl.col("source"))
    ).write_parquet(data)
    out = tmp_path / "model"
    capsys.readouterr()
    assert (
        main(["finetune", "--model", str(t5), "--data", str(data), "--out", str(out), *TRAIN]) == 0
    )
    printed = capsys.readouterr().out
    assert (
        f"{data} has an accepted column: trained on the accepted rows only "
        f"({rejected} rows not accepted left out)"
    ) in printed
    report = json.loads((out / "finetune.json").read_text())["(all)"]
    assert report["accepted_only"] is True and report["rows_not_accepted"] == rejected
    alone = json.loads((tuned / "finetune.json").read_text())["(all)"]
    same = ("train_rows", "held_out_rows", "held_out_loss_before", "held_out_loss_after")
    assert {k: report[k] for k in same} == {k: alone[k] for k in same}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {2: None, 5: "  "},
            "{data}: column 'source' is empty at row 3 (2 such rows); "
            "--objective seq2seq trains on source -> text pairs",
        ),
        ({4: ""}, "{data}: column 'source' is empty at row 5 (1 such row); "),
    ],
)
def test_an_empty_source_is_one_line_naming_the_file_column_and_row(
    run_dir: Path,
    t5: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[int, str | None],
    message: str,
) -> None:
    accepted = pl.read_parquet(run_dir / "accepted.parquet")
    sources = accepted["source"].to_list()
    for row, value in change.items():
        sources[row] = value
    data = tmp_path / "bad.parquet"
    accepted.with_columns(source=pl.Series(sources, dtype=pl.String)).write_parquet(data)
    out = tmp_path / "model"
    capsys.readouterr()
    assert (
        main(["finetune", "--model", str(t5), "--data", str(data), "--out", str(out), *TRAIN]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("synthgate: error: " + message.format(data=data)) and "\n" not in err
    assert not out.exists()


def test_an_accepted_column_that_is_not_true_false_is_named(
    t5: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "pairs.csv"
    pl.DataFrame(
        {
            "source": ["see you", "call me"],
            "text": ["see you soon", "call me now"],
            "accepted": ["yes", "no"],
        }
    ).write_csv(data)
    args = ["finetune", "--model", str(t5), "--data", str(data), "--out", str(tmp_path / "m")]
    assert main([*args, *TRAIN]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"synthgate: error: {data}: column 'accepted' holds String, not true/false; rename it, "
        "or pass a run's scored.parquet or accepted.parquet"
    )
