"""A tiny T5 trained in code on stsb- and cola-style prompts: score mode and generate mode
agree on the answer, and the scorers' columns follow it."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest
import torch
from conftest import one_torch_thread, tiny_t5_model

from synthgate.resources import Resources
from synthgate.scorers import ColaScorer, StsbScorer
from synthgate.t5 import COLA, STSB, T5, cola_prompt, stsb_prompt

_one_thread = pytest.fixture(scope="module", autouse=True)(one_torch_thread)

# The answer is a function of one word, so a two-layer model learns it in a few hundred steps;
# "3.0" is two pieces ("▁3." + "0") and "2.0" one, so both kinds of tree path are exercised.
SIMILARITY = {"cat": "3.0", "dog": "1.4", "bird": "5.0", "fish": "2.0"}
VERBS = ["runs", "sleeps", "sings", "falls"]


def example(rng: random.Random) -> tuple[str, str, str]:
    """(task, prompt, answer): stsb by the noun of sentence 2, cola by a stray object."""
    noun, verb = rng.choice(list(SIMILARITY)), rng.choice(VERBS)
    if rng.random() < 0.5:
        return "stsb", stsb_prompt(f"a thing {verb} .", f"the {noun} {verb} ."), SIMILARITY[noun]
    ok = rng.random() < 0.5
    text = f"the {noun} {verb} ." if ok else f"the {noun} {verb} him ."
    return "cola", cola_prompt(text), "acceptable" if ok else "unacceptable"


@pytest.fixture(scope="module")
def trained(t5_tokenizer) -> tuple[T5, list[float]]:
    model = tiny_t5_model(seed=0, d_model=32, heads=4).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=5e-3)
    rng, losses = random.Random(0), []
    for _ in range(250):
        batch = [example(rng) for _ in range(16)]
        inputs = t5_tokenizer([b[1] for b in batch], return_tensors="pt", padding=True)
        labels = t5_tokenizer([b[2] for b in batch], return_tensors="pt", padding=True).input_ids
        loss = model(**inputs, labels=labels.masked_fill(labels == 0, -100)).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return T5.ready(model.eval(), t5_tokenizer, batch_size=8), losses


def test_score_and_generate_agree_on_the_answer(trained) -> None:
    t5, losses = trained
    assert np.mean(losses[-20:]) < 0.2 * np.mean(losses[:20])
    held_out = [example(random.Random(1000 + i)) for i in range(60)]
    for task in (STSB, COLA):
        rows = [(p, a) for name, p, a in held_out if name == task.name]
        prompts = [p for p, _ in rows]
        probs, _ = t5.probabilities(task, prompts)
        argmax = [task.answers[i] for i in probs.argmax(axis=1)]
        generated, _ = t5.generate(task, prompts)
        assert argmax == [g.strip() for g in generated]
        assert np.mean([a == truth for a, (_, truth) in zip(argmax, rows, strict=True)]) >= 0.9


def test_the_scorers_follow_the_answers(trained) -> None:
    t5 = trained[0]
    cands = pl.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "text": [
                "the bird sings .",
                "the dog runs .",
                "the cat falls him .",
                "the cat falls .",
            ],
            "source": ["a thing sings .", "a thing runs .", None, None],
        }
    )
    stsb = StsbScorer().fit(cands, cands.head(0), Resources(t5=t5)).score(cands)
    assert stsb["stsb_score"][0] == pytest.approx(5.0, abs=0.3)
    assert stsb["stsb_score"][1] == pytest.approx(1.4, abs=0.3)
    cola = ColaScorer().fit(cands, cands.head(0), Resources(t5=t5)).score(cands)
    assert cola["cola_p_acceptable"][2] < 0.5 < cola["cola_p_acceptable"][3]
    t5.mode = "generate"
    try:
        gen = ColaScorer().fit(cands, cands.head(0), Resources(t5=t5)).score(cands)
    finally:
        t5.mode = "score"
    assert gen["cola_p_acceptable"].to_list()[2:] == [0.0, 1.0]
    assert gen["cola_unparsable"].to_list()[2:] == [False, False]
