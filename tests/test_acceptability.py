"""`synthgate train acceptability` on a few hundred CoLA rows, and its output folder as the
`cola` scorer's classifier backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import one_torch_thread, save_tiny_bert, shared_dir

from synthgate.acceptability.classifier import Classifier, acceptable_index
from synthgate.acceptability.train import METRICS_FILE, read_cola, split
from synthgate.cli.main import main
from synthgate.embed import DEFAULT_MODEL, _packaged_path
from synthgate.errors import SynthgateError
from synthgate.resources import Resources
from synthgate.scorers import ColaScorer

_one_thread = pytest.fixture(scope="module", autouse=True)(one_torch_thread)

COLA_TSV = shared_dir() / "data" / "cola" / "in_domain_train.tsv"


def tiny_encoder(folder: Path) -> str:
    """A BERT of a few hundred KB, built in code, with the embedded model's tokenizer: the
    trainer's `--base` in tests (fine-tuning the real all-MiniLM-L6-v2 takes minutes)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(_packaged_path(DEFAULT_MODEL))
    return save_tiny_bert(folder, tokenizer, width=16, layers=2, max_position_embeddings=64)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[str, dict]:
    root = tmp_path_factory.mktemp("acceptability")
    out = root / "model"
    args = ["train", "acceptability", "--data", str(COLA_TSV), "--out", str(out)]
    args += ["--base", tiny_encoder(root / "base"), "--limit", "300", "--epochs", "3"]
    assert main([*args, "--batch-size", "16", "--max-length", "32", "--lr", "1e-3"]) == 0
    return str(out), json.loads((out / METRICS_FILE).read_text())


def test_the_loss_falls_and_the_held_out_split_is_measured(trained) -> None:
    _, metrics = trained
    losses = metrics["losses"]
    assert np.mean(losses[-8:]) < np.mean(losses[:8])
    assert metrics["train_rows"] + metrics["held_out_rows"] == 300
    assert metrics["held_out_rows"] == 30
    assert -1.0 <= metrics["held_out_mcc"] <= 1.0 and 0.0 <= metrics["held_out_accuracy"] <= 1


def test_the_folder_loads_back_as_the_cola_classifier_backend(trained) -> None:
    folder, _ = trained
    cands = pl.DataFrame(
        {"id": ["a", "b", "c", "d"], "text": ["The cat sat.", "Cat the sat the.", " ", None]}
    )
    scorer = ColaScorer(backend="classifier", classifier=folder)
    assert scorer.needs == ()  # no T5 is loaded for it
    out = scorer.fit(cands, cands.head(0), Resources()).score(cands)
    p = out["cola_p_acceptable"]
    assert p.is_null().to_list() == [False, False, True, True]
    assert all(0.0 < x < 1.0 for x in p.drop_nulls())
    assert out["cola_truncated"].to_list() == [False, False, None, None]
    assert out["cola_unparsable"].drop_nulls().to_list() == [False, False]
    whole, _ = Classifier(folder, batch_size=1).p_acceptable(["The cat sat.", "Cat the sat the."])
    np.testing.assert_allclose(p.drop_nulls().to_numpy(), whole, atol=1e-6)


def test_cli_refuses_to_overwrite(tmp_path, trained, capsys) -> None:
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    args = ["train", "acceptability", "--data", str(COLA_TSV), "--limit", "10"]
    assert main([*args, "--out", str(other)]) == 2
    assert main([*args, "--out", str(other), "--force"]) == 2
    assert "holds other files" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "keep"


def test_cola_files_and_the_split(tmp_path) -> None:
    texts, labels = read_cola(COLA_TSV)
    assert len(texts) == 8551 and 0.69 < np.mean(labels) < 0.71
    train, test = split(labels, 0.1, seed=0)
    assert not set(train) & set(test) and len(train) + len(test) == len(labels)
    assert abs(np.mean([labels[i] for i in test]) - np.mean(labels)) < 0.01  # per label
    bad = tmp_path / "bad.tsv"
    bad.write_text("src\t1\t\tfine\nsrc\tyes\t\toops\n")
    with pytest.raises(SynthgateError, match=r"bad\.tsv:2: must be CoLA's"):
        read_cola(bad)


def test_the_acceptable_class() -> None:
    assert acceptable_index({0: "LABEL_0", 1: "LABEL_1"}) == 1
    assert acceptable_index({0: "acceptable", 1: "unacceptable"}) == 0


def test_an_unloadable_classifier_is_one_clear_line() -> None:
    with pytest.raises(SynthgateError, match=r"^scorers\.cola\.classifier: cannot load '/no/cola'"):
        Classifier("/no/cola").load()


def test_cli_names_a_missing_classifier_before_any_work(tmp_path, capsys) -> None:
    (tmp_path / "c.csv").write_text("text\nA dog runs.\n")
    (tmp_path / "r.csv").write_text("text\nA cat sleeps.\n")
    config = tmp_path / "cola.toml"
    config.write_text(
        '[scorers.cola]\nenabled = true\nbackend = "classifier"\nclassifier = "/no/cola"\n'
    )
    args = [str(tmp_path / "c.csv"), "--real", str(tmp_path / "r.csv"), "--config", str(config)]
    assert main(["score", *args, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scorers.cola.classifier: cannot load '/no/cola'" in err[0]
