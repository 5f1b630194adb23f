"""The T5 scorers on tiny random T5 models over the real T5 vocabulary: the prefix tree equals
scoring each answer on its own, batching and order change nothing, flags and nulls, loading."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from conftest import one_torch_thread, tiny_t5_model

import synthgate.t5.decode
import synthgate.t5.model
from synthgate import config as cfg
from synthgate.cli.main import main
from synthgate.errors import ConfigError, SynthgateError
from synthgate.pipeline import score
from synthgate.resources import Resources
from synthgate.scorers import ColaScorer, StsbScorer
from synthgate.t5 import COLA, STSB, T5, Task, cola_prompt, stsb_prompt
from synthgate.t5.prefix import prefix_free, prefix_tree

_one_thread = pytest.fixture(scope="module", autouse=True)(one_torch_thread)

PAIRS = [
    ("A man is playing a guitar.", "A man plays the guitar on a stage."),
    ("Two dogs run.", "A cat sleeps on the warm windowsill all afternoon long, dreaming."),
    ("x", "y"),
    ("The stock market fell sharply today.", "Shares dropped."),
    ("A woman slices an onion.", "A woman is cutting an onion into thin slices."),
    ("Kids play football in the park.", "Children are playing soccer."),
    ("He sings.", "She dances and he sings loudly in the rain."),
]
STSB_PROMPTS = [stsb_prompt(s, c) for s, c in PAIRS]


def naive_log_likelihoods(t5: T5, task, prompts: list[str]) -> np.ndarray:
    """Each answer scored by a decoder pass of its own: the slow way the tree must equal."""
    model, tokenizer = t5.load()
    pieces = prefix_free(t5._answer_pieces(task), tokenizer.eos_token_id)
    out = np.zeros((len(prompts), len(pieces)))
    for i, prompt in enumerate(prompts):
        inputs = tokenizer(prompt, return_tensors="pt")
        for k, answer in enumerate(pieces):
            decoder = torch.tensor([[0, *answer[:-1]]])
            with torch.inference_mode():
                logits = model(**inputs, decoder_input_ids=decoder).logits[0]
            logp = torch.log_softmax(logits.double(), dim=-1)
            out[i, k] = float(logp[torch.arange(len(answer)), torch.tensor(answer)].sum())
    return out


def test_the_real_vocabulary_shares_prefixes(tiny_t5) -> None:
    tree = tiny_t5().tree(STSB)
    assert len(tree.tokens) == 3  # the prefixes (), "▁" and "▁3.": not 26 decoder inputs
    assert tree.positions.tolist() == [0, 1, 1]
    assert tree.n_answers == 26


def test_prefix_tree_equals_naive_per_answer_scoring(tiny_t5) -> None:
    t5 = tiny_t5(batch_size=3)
    for task, prompts in ((STSB, STSB_PROMPTS[:3]), (COLA, [cola_prompt(c) for _, c in PAIRS])):
        tree, _ = t5.log_likelihoods(task, prompts)
        naive = naive_log_likelihoods(t5, task, prompts)
        np.testing.assert_allclose(tree, naive, rtol=0, atol=1e-4)
        assert np.ptp(naive, axis=0).max() > 1e-3  # the prompts do move the answers' scores


def test_a_tree_of_uneven_branches_equals_naive_scoring(tiny_t5) -> None:
    # "▁" + "4.2" + three pieces, "▁" + "4.2", "▁2.0", "▁yes" + three: branches of 5 and 4
    # pieces sharing the start node, each node at its own position
    task = Task("x", ("4.2 out of five", "4.2", "2.0", "yes indeed it is"), (0.0, 1.0, 2.0, 3.0))
    t5 = tiny_t5(batch_size=2)
    assert t5.tree(task).positions.tolist() == [0, 1, 1, 2, 2, 3, 3, 4]
    tree, _ = t5.log_likelihoods(task, STSB_PROMPTS[:3])
    np.testing.assert_allclose(tree, naive_log_likelihoods(t5, task, STSB_PROMPTS[:3]), atol=1e-4)


@pytest.mark.parametrize("variant", ["plain passes", "v1.1: gated, untied", "mt5"])
def test_other_decoders_equal_naive_scoring(t5_tokenizer, variant: str, monkeypatch) -> None:
    """The T5 decoder on a v1.1-shaped T5 (gated GELU, no output rescaling), and the plain
    forward passes that serve other architectures (an mT5; a T5 sent down them), equal naive
    scoring."""
    task = Task("x", ("4.2 out of five", "4.2", "2.0", "yes indeed it is"), (0.0, 1.0, 2.0, 3.0))
    model = tiny_t5_model(seed=3, gated=variant != "plain passes", mt5=variant == "mt5")
    if variant == "plain passes":
        monkeypatch.setattr(synthgate.t5.decode, "T5_FAMILY", ())
    t5 = T5.ready(model, t5_tokenizer, batch_size=2)
    for task_, prompts in ((task, STSB_PROMPTS[:3]), (STSB, STSB_PROMPTS[3:])):
        got, _ = t5.log_likelihoods(task_, prompts)
        np.testing.assert_allclose(got, naive_log_likelihoods(t5, task_, prompts), atol=1e-4)


def test_mixed_dtypes_take_hf_passes_and_ready_models_run_in_eval_mode(t5_tokenizer) -> None:
    """A T5 with some weights in another dtype (as HF keeps `wo` in float32 for float16 or
    quantised checkpoints) takes HF's own passes and scores as naive passes do; a model handed
    over in training mode runs without dropout."""
    model = tiny_t5_model(seed=5).train()
    t5 = T5.ready(model, t5_tokenizer, batch_size=2, dtype="bfloat16")
    assert not model.training
    for module in model.modules():  # after ready(), which casts the whole model to its dtype
        if hasattr(module, "wo"):
            module.wo.float()
    assert not synthgate.t5.decode.written_for(model)
    got, _ = t5.log_likelihoods(STSB, STSB_PROMPTS[:3])
    naive = naive_log_likelihoods(t5, STSB, STSB_PROMPTS[:3])
    np.testing.assert_allclose(got, naive, atol=0.05)  # bfloat16: the passes' shapes differ


def test_an_answer_that_is_a_prefix_of_another_ends_with_eos() -> None:
    assert prefix_free([[5], [5, 6], [7]], eos=1) == [[5, 1], [5, 6], [7]]
    tree = prefix_tree([[5], [5, 6], [7]], start=0, eos=1)
    assert tree.tokens.tolist() == [0, 5]  # prefixes (), (5,): two nodes
    assert tree.ancestors.tolist() == [[True, False], [True, True]]
    assert tree.paths() == [[0, 1]]
    assert sorted(
        zip(tree.answer.tolist(), tree.node.tolist(), tree.token.tolist(), strict=True)
    ) == [
        (0, 0, 5),
        (0, 1, 1),
        (1, 0, 5),
        (1, 1, 6),
        (2, 0, 7),
    ]


def test_batch_size_and_order_change_nothing(tiny_t5, monkeypatch) -> None:
    one, _ = tiny_t5(batch_size=1).log_likelihoods(STSB, STSB_PROMPTS)
    value = tiny_t5(batch_size=1).answer(STSB, STSB_PROMPTS).value
    for size, chunk in ((2, 256), (3, 256), (64, 256), (2, 2), (1, 3)):
        monkeypatch.setattr(synthgate.t5.model, "DECODE_ROWS", chunk)  # decoder chunks
        ll, _ = tiny_t5(batch_size=size).log_likelihoods(STSB, STSB_PROMPTS)
        np.testing.assert_allclose(ll, one, rtol=0, atol=1e-4)
        np.testing.assert_allclose(
            tiny_t5(batch_size=size).answer(STSB, STSB_PROMPTS).value, value, rtol=0, atol=1e-5
        )
    order = np.random.default_rng(0).permutation(len(STSB_PROMPTS))
    shuffled, _ = tiny_t5(batch_size=3).log_likelihoods(STSB, [STSB_PROMPTS[i] for i in order])
    np.testing.assert_allclose(shuffled, one[order], rtol=0, atol=1e-4)


def test_scores_are_a_probability_weighted_mean(tiny_t5) -> None:
    t5 = tiny_t5()
    probs, _ = t5.probabilities(STSB, STSB_PROMPTS)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    expected = probs @ np.arange(26) * 0.2
    np.testing.assert_allclose(t5.answer(STSB, STSB_PROMPTS).value, expected, atol=1e-12)
    assert t5.answer(COLA, ["cola sentence: hi"]).value[0] == pytest.approx(
        t5.probabilities(COLA, ["cola sentence: hi"])[0][0, 0]
    )


def test_long_prompts_are_cut_and_flagged(tiny_t5) -> None:
    t5 = tiny_t5(max_length=16)
    _, tokenizer = t5.load()
    lengths = [len(tokenizer(p).input_ids) for p in STSB_PROMPTS]
    answers = t5.answer(STSB, STSB_PROMPTS)
    assert answers.truncated.tolist() == [n > 16 for n in lengths]
    assert 0 < answers.truncated.sum() < len(STSB_PROMPTS)
    cut = tiny_t5(max_length=64).answer(STSB, STSB_PROMPTS)
    assert not cut.truncated.any()
    short = ~answers.truncated  # prompts within both limits score the same, cut ones do not
    cut_ll, _ = t5.log_likelihoods(STSB, STSB_PROMPTS)
    whole_ll, _ = tiny_t5(max_length=64).log_likelihoods(STSB, STSB_PROMPTS)
    np.testing.assert_allclose(cut_ll[short], whole_ll[short], atol=1e-4)
    assert (np.abs(cut_ll - whole_ll).max(axis=1)[~short] > 1e-3).all()


def _candidates() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "text": [PAIRS[0][1], PAIRS[1][1], "", None, PAIRS[0][1], "Fine."],
            "source": [PAIRS[0][0], None, "x", "x", PAIRS[0][0], "  "],
        }
    )


def test_rows_without_a_source_or_text_are_null(tiny_t5) -> None:
    cands = _candidates()
    t5 = tiny_t5()
    stsb = StsbScorer().fit(cands, cands.head(0), Resources(t5=t5)).score(cands)
    assert stsb["stsb_score"].is_null().to_list() == [False, True, True, True, False, True]
    assert stsb["stsb_truncated"].to_list() == [False, None, None, None, False, None]
    assert stsb["stsb_score"][0] == stsb["stsb_score"][4]  # one prompt, answered once
    assert 0.0 <= stsb["stsb_score"][0] <= 5.0
    cola = ColaScorer().fit(cands, cands.head(0), Resources(t5=t5)).score(cands)
    assert cola["cola_p_acceptable"].is_null().to_list() == [False, False, True, True, False, False]
    assert stsb["stsb_unparsable"].drop_nulls().to_list() == [False, False]


def test_the_generate_mode_parser() -> None:
    assert [STSB.parse(t) for t in ["3.8", " 5.0 ", "0", "5.2", "-0.2", "nan", "four", ""]] == [
        3.8,
        5.0,
        0.0,
        None,
        None,
        None,
        None,
        None,
    ]
    assert [COLA.parse(t) for t in ["acceptable", "unacceptable", "Acceptable", "yes"]] == [
        1.0,
        0.0,
        None,
        None,
    ]


def test_an_unparsable_generated_answer_is_null_and_flagged(tiny_t5) -> None:
    cands = _candidates()
    t5 = tiny_t5(mode="generate")  # a random model answers gibberish
    out = StsbScorer().fit(cands, cands.head(0), Resources(t5=t5)).score(cands)
    assert out["stsb_unparsable"].to_list() == [True, None, None, None, True, None]
    assert out["stsb_score"].null_count() == cands.height


def test_one_t5_serves_both_scorers_and_loads_once(tmp_path, t5_tokenizer, monkeypatch) -> None:
    folder = tmp_path / "tiny-t5"
    tiny_t5_model(seed=1).save_pretrained(folder)
    t5_tokenizer.save_pretrained(folder)
    loads = []
    real_load = synthgate.t5.model.load_t5
    monkeypatch.setattr(synthgate.t5.model, "load_t5", lambda *a: loads.append(a) or real_load(*a))
    conf = {
        "t5": {"model": str(folder), "batch_size": 2},
        "scorers": {"stsb": {"enabled": True}, "cola": {"enabled": True}},
    }
    out = score(_candidates(), pl.DataFrame({"text": ["A real sentence."]}), conf)
    assert len(loads) == 1
    assert out["stsb_score"].null_count() == 4 and out["cola_p_acceptable"].null_count() == 2
    assert "stsb_score<4" in out.filter(pl.col("id") == "a")["reasons"][0]


@pytest.mark.parametrize("name", ["/no/such/t5-base", "t5-small"])
def test_an_unloadable_model_is_one_clear_line(name: str) -> None:
    conf = cfg.merge_config({"t5": {"model": name}})
    t5 = synthgate.t5.t5_from_config(conf["t5"])
    with pytest.raises(SynthgateError) as err:
        t5.load()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"t5.model: cannot load {name!r}")
    assert '[t5] model = "/path/to/' in message


def test_cli_exits_2_naming_the_model(tmp_path, capsys) -> None:
    (tmp_path / "c.csv").write_text("text,source\nA dog runs.,A dog is running.\n")
    (tmp_path / "r.csv").write_text("text\nA cat sleeps.\n")
    config = tmp_path / "t5.toml"
    config.write_text('[t5]\nmodel = "/no/such/t5"\n[scorers.stsb]\nenabled = true\n')
    args = [str(tmp_path / "c.csv"), "--real", str(tmp_path / "r.csv")]
    code = main(["score", *args, "--out", str(tmp_path / "run"), "--config", str(config)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.splitlines() == [err.splitlines()[-1]]  # before any other work, one line
    assert "t5.model: cannot load '/no/such/t5'" in err


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({"t5": {"dtype": "float16"}}, r"^t5\.dtype: must be auto, float32, bfloat16; got"),
        ({"t5": {"mode": "beam"}}, r"^t5\.mode: must be score or generate; got 'beam'$"),
        ({"t5": {"batch_size": 0}}, r"^t5\.batch_size: must be an int >= 1; got 0$"),
        ({"t5": {"devic": "cpu"}}, r"^t5\.devic: unknown key; available: model, device, dtype"),
        ({"scorers": {"cola": {"backend": "bert"}}}, r"^scorers\.cola\.backend: must be 't5' or"),
        ({"scorers": {"cola": {"backend": "classifier"}}}, r"^scorers\.cola\.classifier: must"),
    ],
)
def test_t5_config_errors_name_the_dotted_path(user: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cfg.merge_config(user)


def test_off_by_default_and_ready_to_switch_on() -> None:
    conf = cfg.default_config()
    assert not conf["scorers"]["stsb"]["enabled"] and not conf["scorers"]["cola"]["enabled"]
    assert conf["t5"]["model"] == "t5-base" and conf["t5"]["dtype"] == "auto"
    rendered = cfg.render_default()
    assert "[gate.rules.stsb_score]" in rendered and "[gate.rules.cola_p_acceptable]" in rendered
    rules = conf["gate"]["rules"]
    assert rules["stsb_score"]["min"] == 4.0 and rules["cola_p_acceptable"]["min"] == 0.5
