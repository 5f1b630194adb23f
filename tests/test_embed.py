"""The shared embedding pass and the similarity scorer, on the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import synthgate
from synthgate.cli.main import main
from synthgate.embed import Embedder, Embeddings, resolve_device
from synthgate.errors import SynthgateError
from synthgate.scorers import SimilarityScorer
from synthgate.scorers.base import Resources


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def test_encode_gives_unit_vectors_in_input_order(embedder: Embedder) -> None:
    texts = ["a short one", "a much longer sentence about the weather and the sea", "hi"]
    forward = embedder.encode(texts)
    backward = embedder.encode(texts[::-1])
    assert forward.shape == (3, 384)
    assert np.allclose(np.linalg.norm(forward, axis=1), 1.0, atol=1e-5)
    assert np.allclose(forward, backward[::-1], atol=1e-5)


def test_each_distinct_text_is_encoded_once(embedder: Embedder) -> None:
    seen: list[int] = []
    original = embedder.encode

    class Counting(Embedder):
        def encode(self, texts, progress=None):
            seen.append(len(texts))
            return original(texts, progress)

    counting = Counting()
    table = Embeddings.build(
        [pl.Series(["x y", "x y", None, "  "]), pl.Series(["x y", "z"])], counting
    )
    assert seen == [2]
    rows = table.rows(pl.Series(["z", "x y", None, "unknown", "  "]))
    assert rows.tolist() == [1, 0, -1, -1, -1]


def test_similarity_is_cosine_to_the_source(embedder: Embedder) -> None:
    candidates = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "text": ["I will phone you this evening", "Bananas are yellow", "no source"],
            "source": ["I will call you tonight", "The meeting moved to Friday", None],
        }
    )
    columns = [candidates["text"], candidates["source"]]
    resources = Resources(embeddings=Embeddings.build(columns, embedder))
    out = SimilarityScorer().fit(candidates, candidates, resources).score(candidates)
    cos = out["similarity_cosine"].to_list()
    vecs = embedder.encode(["I will phone you this evening", "I will call you tonight"])
    assert cos[0] == pytest.approx(float(vecs[0] @ vecs[1]), abs=1e-5)
    assert cos[0] > 0.6 > cos[1]
    assert cos[2] is None


def test_unloadable_model_is_one_clear_error() -> None:
    with pytest.raises(
        SynthgateError,
        match=r"^embedding\.model: cannot load '/no/such/model'.*"
        r"local sentence-transformers folder",
    ):
        Embedder(model="/no/such/model").load()


def test_unloadable_model_from_the_cli(tmp_path, capsys) -> None:
    (tmp_path / "c.csv").write_text("text\nhello there\n")
    (tmp_path / "r.csv").write_text("text\ngood morning\n")
    (tmp_path / "g.toml").write_text('[embedding]\nmodel = "nobody/no-such-model"\n')
    args = ["score", str(tmp_path / "c.csv"), "--real", str(tmp_path / "r.csv")]
    code = main([*args, "--out", str(tmp_path / "out"), "--config", str(tmp_path / "g.toml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (  # before it, plain progress lines: stderr is not a terminal here
        "synthgate: error: embedding.model: cannot load 'nobody/no-such-model' (no network "
        "here?); pass a local sentence-transformers folder instead: "
        '[embedding] model = "/path/to/model"'
    )
    assert not any(line.startswith("synthgate: error") for line in err[:-1])
    assert not (tmp_path / "out").exists()


def test_device_auto_is_cpu_here_and_recorded(tmp_path) -> None:
    assert resolve_device("auto") == "cpu"
    run = synthgate.pipeline.score_step(
        pl.DataFrame({"text": ["hello there friend"]}), pl.DataFrame({"text": ["good day"]})
    )
    assert run.device == "cpu"


def test_neighbour_search_runs_once_for_every_scorer(embedder: Embedder, monkeypatch) -> None:
    from synthgate import resources as resources_module
    from synthgate.scorers import DedupScorer, DiscriminatorScorer

    calls: list[int] = []
    search = resources_module.candidate_neighbours

    def counting(*args):
        calls.append(1)
        return search(*args)

    monkeypatch.setattr(resources_module, "candidate_neighbours", counting)
    texts = [f"message number {i} about {w}" for i, w in enumerate("abcdefghij" * 2)]
    cand = pl.DataFrame({"id": [f"c{i}" for i in range(20)], "text": texts})
    real = pl.DataFrame({"id": [f"r{i}" for i in range(20)], "text": [t + "!" for t in texts]})
    resources = Resources(embeddings=Embeddings.build([cand["text"], real["text"]], embedder))
    DedupScorer().fit(cand, real, resources)
    DiscriminatorScorer().fit(cand, real, resources)
    assert calls == [1]
