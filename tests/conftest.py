"""Shared fixtures. Tests never download: HF_HUB_OFFLINE is set before anything imports a hub."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """../shared beside the repository, or $SYNTHGATE_SHARED."""
    return Path(os.environ.get("SYNTHGATE_SHARED", REPO.parent / "shared"))


def read_sms() -> pl.DataFrame:
    """SMS Spam Collection as label, text (tab-separated, no header, no quoting)."""
    path = shared_dir() / "data" / "sms_spam" / "SMSSpamCollection.tsv"
    if not path.is_file():
        pytest.fail(f"{path} not found (set SYNTHGATE_SHARED)")
    rows = [line.rstrip("\n").split("\t", 1) for line in path.open(encoding="utf-8")]
    return pl.DataFrame({"label": [r[0] for r in rows], "text": [r[1] for r in rows]})


@pytest.fixture(scope="session")
def sms() -> pl.DataFrame:
    return read_sms()


@pytest.fixture
def real_small() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "label": ["ham", "ham", "spam", "ham", "spam", "ham"],
            "text": [
                "Are you coming to the cinema tonight or not?",
                "I will call you when I get home from work.",
                "WINNER! You have won a 1000 pound prize. Call 09061701461 now to claim.",
                "Can you pick up some milk on the way back please",
                "Free entry in a weekly competition to win cup final tickets. Text WIN to 87121",
                "Sorry, I missed your call. Talk tomorrow?",
            ],
        }
    )


@pytest.fixture(scope="session")
def t5_tokenizer():
    """The real T5 SentencePiece vocabulary (32,100 pieces) from ../shared/data."""
    from transformers import T5Tokenizer

    folder = shared_dir() / "data" / "t5_tokenizer"
    if not (folder / "spiece.model").is_file():
        pytest.fail(f"{folder}/spiece.model not found (set SYNTHGATE_SHARED)")
    return T5Tokenizer.from_pretrained(str(folder))


def tiny_t5_model(
    seed: int = 0, d_model: int = 16, heads: int = 2, gated: bool = False, mt5: bool = False
):
    """A randomly initialised T5 of a few hundred KB over the real T5 vocabulary's ids; `gated`
    gives T5 v1.1's shape (gated GELU, an untied head), `mt5` an mT5 of that shape."""
    import torch
    from transformers import (
        MT5Config,
        MT5ForConditionalGeneration,
        T5Config,
        T5ForConditionalGeneration,
    )

    torch.manual_seed(seed)
    config_class, model_class = (
        (MT5Config, MT5ForConditionalGeneration) if mt5 else (T5Config, T5ForConditionalGeneration)
    )
    config = config_class(
        vocab_size=32128,
        d_model=d_model,
        d_kv=8,
        d_ff=2 * d_model,
        num_layers=2,
        num_heads=heads,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        **({"feed_forward_proj": "gated-gelu", "tie_word_embeddings": False} if gated else {}),
    )
    return model_class(config).eval()


@pytest.fixture(scope="session")
def tiny_t5(t5_tokenizer):
    """T5(**params) over one session-wide tiny random model and the real vocabulary."""
    from synthgate.t5 import T5

    model = tiny_t5_model()
    return lambda **params: T5.ready(model, t5_tokenizer, **params)


def one_torch_thread():
    """Tiny models run fastest on one thread: on two shared cores, more threads only wait for
    each other (training the tiny test models took 3x longer on two)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# Model-free scorers only: a run over it loads no model.
MODEL_FREE_CONFIG = """
[scorers.similarity]
enabled = false
[scorers.discriminator]
enabled = false
[scorers.label]
enabled = false
[scorers.dedup]
semantic = false
"""


def save_tiny_t5(folder, core):
    """A 1-layer T5 over the `tokenizers` tokenizer `core` (which has T5's <pad>, </s> and
    <unk>), saved with it to `folder` so that it loads as a model name."""
    import torch
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=core.get_vocab_size(),
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_heads=2,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_tiny_bert(folder, tokenizer, width: int, layers: int = 1, **config) -> str:
    """A BERT `width` wide with `layers` layers and 2 heads over `tokenizer`, seeded and saved
    with it to `folder`, so that it loads as an encoder name."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    bert = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=width,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * width,
        **config,
    )
    BertModel(bert).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
