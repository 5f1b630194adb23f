"""The generator stage without a model: the [generate] table, prompts, the rules generator and
the quota loop (generate → score → gate in rounds)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar, Self

import polars as pl
import pytest
from conftest import REPO

from synthgate.config import gate_for, merge_config
from synthgate.errors import ConfigError, SynthgateError
from synthgate.generate import GENERATORS
from synthgate.generate.base import outputs
from synthgate.generate.prompts import PromptBuilder, Template, keyword_pools
from synthgate.generate.rows import GENERATED_SCHEMA
from synthgate.generate.rules import RulesGenerator
from synthgate.rounds import generate, quotas, real_rows, run_rounds

# Model-free scorers only, so a round takes a fraction of a second.
FAST = {
    "scorers": {
        "similarity": {"enabled": False},
        "discriminator": {"enabled": False},
        "label": {"enabled": False},
        "dedup": {"semantic": False},
    }
}


def config(**generate: object) -> dict:
    return merge_config({**FAST, "generate": generate})


@pytest.fixture(scope="module")
def real() -> pl.DataFrame:
    return pl.read_csv(REPO / "examples" / "real.csv")


def test_unknown_placeholder_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^generate\.prompt: unknown placeholder \{lable\}; "):
        Template("{lable}: ")
    with pytest.raises(ConfigError, match=r"^generate\.prompt: unknown placeholder \{lable\}"):
        merge_config({"generate": {"prompt": "{lable}:"}})
    with pytest.raises(ConfigError, match=r"^generate\.prompt: bad template"):
        Template("{label")


def test_template_fills_and_keeps_literal_braces() -> None:
    template = Template("{{x}} {label}: {text}")
    assert template.fill(label="spam", text="hi", sentence="", keywords="") == "{x} spam: hi"
    assert template.uses_row and not Template("{label} {keywords}").uses_row


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"generator": "gpt"},
            r"^generate\.generator: must be one of rules, causal, seq2seq, infill; got 'gpt'$",
        ),
        ({"per_label": 5, "balance": True}, r"^generate\.balance: per_label and balance"),
        ({"top_p": 0.0}, r"^generate\.top_p: must be a number in \(0, 1\]"),
        ({"dtype": "int8"}, r"^generate\.dtype: must be auto, float32"),
        ({"min_new_tokens": 9, "max_new_tokens": 8}, r"^generate\.min_new_tokens: must be <="),
        (
            {"temperature": 0, "num_return_sequences": 2},
            r"^generate\.num_return_sequences: must be <= num_beams \(1\) when temperature = 0",
        ),
        ({"batch_size": 0}, r"^generate\.batch_size: must be an int >= 1; got 0$"),
        ({"labels": "spam"}, r"^generate\.labels: must be a list of strings"),
        ({"temprature": 1.0}, r"^generate\.temprature: unknown key; available: generator, "),
    ],
)
def test_generate_table_errors_name_the_key(table: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        merge_config({"generate": table})


def test_quotas(real: pl.DataFrame) -> None:
    rows = real_rows(real, None)
    counts = dict(rows.group_by("label").len().iter_rows())
    top = max(counts.values())
    assert quotas(rows, config(per_label=7)["generate"]) == {
        k: 7 for k in rows["label"].unique(maintain_order=True)
    }
    balanced = quotas(rows, config(balance=True)["generate"])
    assert balanced == {k: top - v for k, v in counts.items() if v < top}
    assert quotas(rows, config(per_label=3, labels=["question"])["generate"]) == {"question": 3}
    with pytest.raises(SynthgateError, match=r"^generate\.labels: label 'spam' has no real rows"):
        quotas(rows, config(per_label=3, labels=["spam"])["generate"])
    with pytest.raises(ConfigError, match=r"^generate\.per_label: no quota set"):
        quotas(rows, config()["generate"])


def test_rules_edits_are_seeded_and_use_the_labels_words(real: pl.DataFrame) -> None:
    rows = real_rows(real, None)
    gen = RulesGenerator(num_return_sequences=3).fit(rows)
    requests = PromptBuilder(Template("{text}"), seed=1).fit(rows).build("question", 40)
    first, again = gen.generate(requests, 5), gen.generate(requests, 5)
    assert first.equals(again)
    assert not first["text"].equals(gen.generate(requests, 6)["text"])
    assert first["request"].to_list() == [i for i in range(40) for _ in range(3)]
    vocab = set(gen.vocab_["question"])
    prompts = requests["prompt"][first["request"]]
    changed = 0
    for prompt, text in zip(prompts, first["text"], strict=True):
        before, after = Counter(prompt.split()), Counter(text.split())
        changed += text != prompt
        assert set(after - before) <= vocab  # an inserted word comes from the label's rows
        assert after.total() > 0 and abs(after.total() - before.total()) <= math.ceil(
            0.1 * before.total()
        )
    assert changed >= 0.95 * first.height


def test_prompts_walk_every_row_before_reusing_one(real: pl.DataFrame) -> None:
    rows = real_rows(real, None)
    n = rows.filter(pl.col("label") == "question").height
    builder = PromptBuilder(Template("{label}: {sentence} | {keywords}"), seed=0).fit(rows)
    built = pl.concat([builder.build("question", n - 3), builder.build("question", 6)])
    assert built["source_id"].head(n).n_unique() == n
    assert built["prompt"][0].startswith("question: ")
    keywords = built["prompt"][0].split(" | ")[1].split()
    assert len(keywords) == 2 and set(keywords) <= set(keyword_pools(rows)["question"])
    assert (
        PromptBuilder(Template("{label}:")).fit(rows).build("question", 2)["source"].null_count()
        == 2
    )


def test_seed_flips_a_coin_between_keywords_and_a_sentence(real: pl.DataFrame) -> None:
    rows = real_rows(real, None)
    pool = set(keyword_pools(rows)["question"])

    def built(seed: int) -> pl.DataFrame:
        builder = PromptBuilder(Template("summarize: {label}. {seed}"), seed=seed).fit(rows)
        return builder.build("question", 200)

    prompts = built(0)
    seeds = prompts["prompt"].str.strip_prefix("summarize: question. ")
    from_row = prompts["source"].is_not_null()
    for text, source in zip(seeds, prompts["source"], strict=True):
        if source is None:  # two keywords of the label
            assert len(text.split()) == 2 and set(text.split()) <= pool
        else:  # one sentence of the row it names
            assert text in source
    assert 0.4 < from_row.mean() < 0.6  # p = 0.5 over 200 prompts
    assert prompts.equals(built(0)) and not prompts.equals(built(1))


def test_generate_one_round_reproducible(real: pl.DataFrame) -> None:
    conf = config(per_label=4, seed=3)
    first = generate(real, conf)
    assert first.schema == pl.Schema(GENERATED_SCHEMA)
    assert first.group_by("label").len()["len"].to_list() == [4, 4, 4]
    assert first.equals(generate(real, conf))
    assert not first["text"].equals(generate(real, config(per_label=4, seed=4))["text"])
    assert generate(real, conf, n=2).height == 6
    assert first["id"].to_list() == [str(i) for i in range(12)]
    assert (first["round"] == 1).all() and (first["generator"] == "rules").all()


def test_rounds_reach_each_quota(real: pl.DataFrame) -> None:
    result = run_rounds(real, config(per_label=15, labels=["positive", "question"]))
    frame = result.run.frame
    kept = frame.filter("accepted").group_by("label").len()
    assert dict(kept.iter_rows()).keys() == {"positive", "question"}
    assert all(n >= 15 for _, n in kept.iter_rows())
    assert frame.height == result.run.report["rows"]
    by_label = result.run.report["generation"]["by_label"]
    assert by_label["question"]["quota"] == 15
    assert by_label["question"]["accepted"] == kept.filter(pl.col("label") == "question")["len"][0]


def test_a_label_stops_at_max_factor(real: pl.DataFrame) -> None:
    conf = config(per_label=4, max_factor=2.5)
    conf["gate"]["rules"]["quality_words"]["min"] = 10_000  # nothing passes
    result = run_rounds(real, conf)
    made = dict(result.run.frame.group_by("label").len().iter_rows())
    assert made == {k: math.ceil(4 * 2.5) for k in made} and len(made) == 3
    assert result.run.report["accepted"] == 0
    assert len(result.generation.rounds) > 1  # it kept trying, round after round, then stopped


@dataclass
class _Echo:
    """The same few texts every round: later copies must lose to earlier ones."""

    name: ClassVar[str] = "rules"
    default_prompt: ClassVar[str] = "{text}"

    num_return_sequences: int = 1

    def fit(self, real: pl.DataFrame) -> Self:
        self.batch_sizes_: list[int] = []
        return self

    def generate(self, requests: pl.DataFrame, seed: int, progress: object = None) -> pl.DataFrame:
        texts = [
            f"{label} sample number {i % 3} from the echo generator here"
            for i, label in enumerate(requests["label"])
        ]
        n = requests.height
        return outputs(list(range(n)), texts, [False] * n, [seed] * n)


def test_later_rounds_dedup_against_earlier_ones_and_never_flip(
    real: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(GENERATORS, "rules", _Echo)
    result = run_rounds(real, config(per_label=5, labels=["negative"], max_factor=4.0))
    frame = result.run.frame
    assert frame["round"].max() > 1
    assert frame.filter("accepted").height == 3  # three distinct texts, ever
    assert frame.filter("accepted")["round"].unique().to_list() == [1]
    assert (
        frame.filter(pl.col("round") > 1)["reasons"]
        .list.first()
        .str.starts_with("duplicate_of:")
        .all()
    )
    assert all(r["kept_by_earlier_rounds"] == 0 for r in result.generation.rounds)
    assert frame.height == 20


def test_holdout_is_never_a_source_and_its_copies_are_rejected(
    real: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = real_rows(real, None)
    question = rows.filter(pl.col("label") == "question")
    holdout = question.head(question.height - 4).select("text")  # all but four questions
    conf = config(per_label=4, labels=["question"], max_factor=2.0)
    frame = run_rounds(real, conf, holdout=holdout).run.frame
    assert set(frame["source_id"]) <= set(question.tail(4)["id"])  # only rows outside it
    assert not frame["leak_holdout"].any() and frame.filter("accepted").height >= 4
    with pytest.raises(SynthgateError, match="label 'question' has no real rows"):
        run_rounds(real, conf, holdout=question.select("text"))
    # a near copy of a holdout row is rejected with a reason of its own
    monkeypatch.setitem(GENERATORS, "rules", _Copy)
    near = question.select(pl.col("text") + " thanks")
    result = run_rounds(
        real, config(per_label=4, labels=["question"], max_factor=1.0), holdout=near
    )
    frame = result.run.frame
    assert frame.height == 4 and frame["leak_holdout"].all()
    assert all("leak_holdout" in r for r in frame["reasons"])
    assert result.run.report["generation"]["leak_holdout"] == 4
    assert result.run.report["rejected_by_reason"]["leak_holdout"] == 4


def test_the_library_run_rejects_copies_of_the_holdout(
    real: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import synthgate

    monkeypatch.setitem(GENERATORS, "rules", _Copy)
    question = real_rows(real, None).filter(pl.col("label") == "question")
    near = question.select(pl.col("text") + " thanks")
    conf = config(per_label=4, labels=["question"], max_factor=1.0)
    run = synthgate.run(real, conf, holdout=near)
    assert run.frame.height == 4 and run.frame["leak_holdout"].all()
    assert run.report["rejected_by_reason"]["leak_holdout"] == 4
    assert "leak_holdout" not in synthgate.run(real, conf).frame.columns


@dataclass
class _Copy:
    """Returns each prompt unchanged (the source row's text)."""

    num_return_sequences: int = 1

    name: ClassVar[str] = "rules"
    default_prompt: ClassVar[str] = "{text}"

    def fit(self, real: pl.DataFrame) -> Self:
        self.batch_sizes_: list[int] = []
        return self

    def generate(self, requests: pl.DataFrame, seed: int, progress: object = None) -> pl.DataFrame:
        n = requests.height
        return outputs(list(range(n)), requests["prompt"].to_list(), [False] * n, [seed] * n)


BLENDER = (
    "the blender broke after two weeks of daily use and the lid cracked too",
    "the blender broke after two weeks and the support line never answered me",
    "the blender broke after two weeks of daily use, the lid cracked and the support line never "
    "answered me",
)


@dataclass
class _Bridge:
    """Round 1: two texts A, B in separate near-duplicate clusters (and a copy of A); later
    rounds: a text near both, which merges their clusters."""

    num_return_sequences: int = 1
    calls: int = field(default=0, init=False)

    name: ClassVar[str] = "rules"
    default_prompt: ClassVar[str] = "{text}"

    def fit(self, real: pl.DataFrame) -> Self:
        self.batch_sizes_: list[int] = []
        return self

    def generate(self, requests: pl.DataFrame, seed: int, progress: object = None) -> pl.DataFrame:
        self.calls += 1
        first = [BLENDER[0], BLENDER[1], BLENDER[0]]
        texts = [first[i % 3] if self.calls == 1 else BLENDER[2] for i in range(requests.height)]
        n = requests.height
        return outputs(list(range(n)), texts, [False] * n, [seed] * n)


def test_a_cluster_merge_in_a_later_round_does_not_flip_an_accepted_row(
    real: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(GENERATORS, "rules", _Bridge)
    conf = config(per_label=3, labels=["negative"], max_factor=2.0)
    conf["gate"]["unique"]["column"] = "dedup_cluster"  # one row per family of near variants
    conf["gate"]["rules"]["quality_length_z"]["enabled"] = False
    result = run_rounds(real, conf)
    frame = result.run.frame
    first = frame.filter(pl.col("round") == 1)
    assert first["accepted"].to_list() == [True, True, False]  # A and B, not A's copy
    assert frame["dedup_cluster"].n_unique() == 1  # the bridge joined A's and B's clusters
    assert frame.filter("accepted")["id"].to_list() == ["0", "1"]  # B was not taken back
    assert (
        frame.filter(pl.col("round") > 1)["reasons"]
        .list.first()
        .str.starts_with("duplicate_of:0")
        .all()
    )
    assert result.run.report["generation"]["kept_by_earlier_rounds"] == 1
    # the same rows gated once, as `synthgate score` would: B loses to A
    from synthgate.gate import gate_frame

    scored = gate_frame(frame.drop("reasons", "accepted"), gate_for(conf, frame))
    assert scored["accepted"].to_list()[:2] == [True, False]
