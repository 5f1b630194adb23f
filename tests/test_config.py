"""Config: defaults, merging, errors with dotted paths, rules on user columns."""

from __future__ import annotations

import re
import tomllib

import polars as pl
import pytest

import synthgate
from synthgate.config import DEFAULT_RULES, default_config, gate_for, merge_config, render_default
from synthgate.errors import ConfigError, SynthgateError
from synthgate.scorers import SCORERS


def test_every_default_rule_names_a_scorer_column_and_says_why() -> None:
    columns = {c for cls in SCORERS.values() for c in cls.columns}
    for column, (_, why) in DEFAULT_RULES.items():
        assert column in columns
        assert why


def test_rendered_default_round_trips() -> None:
    assert tomllib.loads(render_default()) == default_config()


def test_merge_overrides_only_what_is_given() -> None:
    merged = merge_config(
        {
            "scorers": {"dedup": {"num_perm": 64}},
            "gate": {"rules": {"repetition_loop_frac": {"max": 0.9}}},
        }
    )
    assert merged["scorers"]["dedup"]["num_perm"] == 64
    assert (
        merged["scorers"]["dedup"]["shingle_size"]
        == default_config()["scorers"]["dedup"]["shingle_size"]
    )
    assert merged["gate"]["rules"]["repetition_loop_frac"] == {
        "enabled": True,
        "max": 0.9,
        "on_missing": "skip",
        "hard": False,
    }
    assert merged["gate"]["rules"]["quality_artifacts"]["hard"] is True  # a defect rule


@pytest.mark.parametrize(
    ("user", "message"),
    [
        (
            {"sed": 1},
            r"^sed: unknown key; available: seed, batch_size, save_embeddings, "
            r"embedding, t5, scorers, gate, generate$",
        ),
        (
            {"scorers": {"qualty": {}}},
            rf"^scorers\.qualty: unknown scorer; available: {', '.join(SCORERS)}$",
        ),
        ({"scorers": {"dedup": {"numperm": 3}}}, r"^scorers\.dedup\.numperm: unknown key; "),
        ({"batch_size": "x"}, r"^batch_size: must be int; got 'x'$"),
        ({"batch_size": 0}, r"^batch_size: must be an int >= 1; got 0$"),
        (
            {"scorers": {"dedup": {"near_threshold": "high"}}},
            r"^scorers\.dedup\.near_threshold: must be a number",
        ),
        (
            {"gate": {"rules": {"quality_words": {"mni": 1}}}},
            r"^gate\.rules\.quality_words\.mni: unknown key; available: enabled, min, max",
        ),
        (
            {"gate": {"rules": {"quality_words": {"on_missing": "drop"}}}},
            r"^gate\.rules\.quality_words\.on_missing: must be 'skip' or 'reject'",
        ),
        (
            {"gate": {"rules": {"quality_words": {"min": "1"}}}},
            r"^gate\.rules\.quality_words\.min: must be a number or a boolean",
        ),
        (
            {"gate": {"rules": {"a<b": {"min": 1}}}},
            r"^gate\.rules\.a<b: must be a column name without '<', '>' or ':'; got 'a<b'$",
        ),
        ({"gate": {"uniq": {}}}, r"^gate\.uniq: unknown key; available: unique, rules$"),
    ],
)
def test_errors_name_the_dotted_path(user: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        merge_config(user)


def test_rule_on_a_column_nobody_provides(real_small: pl.DataFrame) -> None:
    config = merge_config({"gate": {"rules": {"logprob": {"min": -2.0}}}})
    with pytest.raises(
        ConfigError,
        match=r"^gate\.rules\.logprob: no scorer or input column "
        r"provides 'logprob'; available: .*quality_words",
    ):
        synthgate.score(real_small.head(2), real_small, config)


def test_rule_on_a_user_column_read_as_text(real_small: pl.DataFrame) -> None:
    candidates = pl.DataFrame(
        {
            "text": [
                "A fresh new message about lunch plans tomorrow",
                "Another fresh message about a football game",
            ],
            "logprob": ["-1.5", "-3.25"],
        }
    )
    config = merge_config({"gate": {"rules": {"logprob": {"min": -2.0}}}})
    out = synthgate.score(candidates, real_small, config)
    assert out["reasons"].to_list() == [[], ["logprob<-2"]]
    assert out["logprob"].to_list() == ["-1.5", "-3.25"]  # the user's column is left as given


def test_rule_on_a_user_column_that_is_not_numeric(real_small: pl.DataFrame) -> None:
    candidates = pl.DataFrame({"text": ["hello there", "hi"], "logprob": ["-1", "n/a"]})
    config = merge_config({"gate": {"rules": {"logprob": {"min": -2.0}}}})
    with pytest.raises(SynthgateError, match=r"column 'logprob' row 2: 'n/a' is not a number"):
        synthgate.score(candidates, real_small, config)


def test_disabled_scorer_makes_its_rules_inactive(real_small: pl.DataFrame) -> None:
    config = merge_config({"scorers": {"dedup": {"enabled": False}}})
    scored = synthgate.pipeline.score_step(real_small, real_small, config)
    run = synthgate.pipeline.gate_step(scored.frame, scored.config, scored.columns)
    assert not any(c.startswith("dedup_") for c in run.frame.columns)
    assert set(run.report["inactive_rules"]) == {
        "dedup_real_exact",
        "stsb_score",
        "cola_p_acceptable",
    }  # T5 ones: off by default
    assert gate_for(run.config, run.frame).unique is None  # no cluster column, no unique step
    reasons = run.frame["reasons"].explode().drop_nulls().to_list()
    assert not [r for r in reasons if r.startswith(("dedup_", "duplicate_of"))]


def test_scorer_parameters_reach_the_scorer(real_small: pl.DataFrame) -> None:
    config = merge_config(
        {
            "scorers": {"repetition": {"loop_min_repeats": 2}},
            "gate": {"rules": {"repetition_loop_frac": {"max": 0.1}}},
        }
    )
    candidates = pl.DataFrame({"text": ["see you see you later then"]})
    out = synthgate.score(candidates, real_small, config)
    assert "repetition_loop_frac>0.1" in out["reasons"][0]


def test_discriminator_encoder_keys_merge_and_are_documented() -> None:
    user = {"features": "encoder", "epochs": 2, "batch_size": 8, "device": "cpu"}
    merged = merge_config({"scorers": {"discriminator": user}})
    assert merged["scorers"]["discriminator"] | user == merged["scorers"]["discriminator"]
    (scorer,) = [s for s in synthgate.config.build_scorers(merged) if s.name == "discriminator"]
    assert (scorer.features, scorer.epochs, scorer.device) == ("encoder", 2, "cpu")
    section = render_default().split("[scorers.discriminator]")[1].split("\n\n")[0]
    for key in ("features", "folds", "encoder", "epochs", "batch_size", "device"):
        assert re.search(rf"^{key} = .+  # \S", section, flags=re.M), key
    assert "'encoder'" in section


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("features", "bert", "must be one of both, embeddings, tfidf, encoder; got 'bert'"),
        ("folds", 10**9, "must be an int from 2 to 20; got 1000000000"),
        ("folds", 1, "must be an int from 2 to 20; got 1"),
        ("epochs", 0, "must be an int >= 1; got 0"),
        ("device", "gpu", "must be auto, cpu, cuda, cuda:N or mps; got 'gpu'"),
        ("epochs", "2", "must be int; got '2'"),
    ],
)
def test_discriminator_keys_are_checked(key: str, value: object, message: str) -> None:
    with pytest.raises(
        ConfigError, match=rf"^scorers\.discriminator\.{key}: {re.escape(message)}$"
    ):
        merge_config({"scorers": {"discriminator": {key: value}}})
