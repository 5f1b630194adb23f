"""The transformers generators on tiny random models built in code (no download): batching
with left padding equals each prompt alone, order restored, prompt stripped, seeds, the
truncated flag, out-of-memory halving, and a model that cannot be loaded."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import torch
from conftest import save_tiny_t5
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from synthgate.errors import SynthgateError
from synthgate.generate.hf import CausalGenerator

WORDS = "ham spam : call me now free prize win the a to you i will see later text stop".split()
EOS = "<|endoftext|>"


def tiny_gpt2(folder: Path, *, always_eos: bool = False) -> Path:
    """A 2-layer GPT-2 of a few thousand parameters and a word-level tokenizer, saved."""
    vocab = {w: i for i, w in enumerate([EOS, "[UNK]", *WORDS])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token=EOS, unk_token="[UNK]")
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(vocab),
        n_positions=64,
        n_embd=16,
        n_layer=2,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
    )
    model = GPT2LMHeadModel(config).eval()
    if always_eos:  # every hidden state is ln_f's bias, and eos's embedding points along it
        with torch.no_grad():
            model.transformer.ln_f.weight.zero_()
            model.transformer.ln_f.bias.fill_(1.0)
            model.transformer.wte.weight[0] = 10.0
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_gpt2(tmp_path_factory.mktemp("gpt2"))


def requests(prompts: list[str]) -> pl.DataFrame:
    n = len(prompts)
    return pl.DataFrame(
        {"label": ["ham"] * n, "prompt": prompts, "source": [None] * n, "source_id": [None] * n},
        schema={c: pl.String for c in ("label", "prompt", "source", "source_id")},
    )


PROMPTS = ["ham :", "spam : win a free prize now", "ham : see you", "spam : text stop to"]


def greedy(folder: Path, **kw: object) -> CausalGenerator:
    params = {"model": str(folder), "temperature": 0.0, "max_new_tokens": 6, "device": "cpu"}
    return CausalGenerator(**(params | kw)).fit(pl.DataFrame())  # type: ignore[arg-type]


def test_batch_with_left_padding_equals_each_prompt_alone(gpt2: Path) -> None:
    gen = greedy(gpt2, batch_size=4)
    batched = gen.generate(requests(PROMPTS), seed=0)
    assert batched["request"].to_list() == [0, 1, 2, 3]  # input order restored
    assert gen.batch_sizes_ == [4]
    tokenizer, model = gen.load()
    for prompt, text in zip(PROMPTS, batched["text"], strict=True):
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        alone = model.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=0)
        assert text == tokenizer.decode(alone[0, ids.shape[1] :], skip_special_tokens=True)
        assert not text.startswith(prompt)  # the prompt is not part of the output
    assert batched["truncated"].all()  # a random model never says eos in 6 greedy tokens


def test_sampling_is_reproducible_with_its_seed(gpt2: Path) -> None:
    gen = CausalGenerator(
        model=str(gpt2), batch_size=2, max_new_tokens=5, device="cpu", num_return_sequences=3
    ).fit(pl.DataFrame())
    first = gen.generate(requests(PROMPTS), seed=11)
    assert first.height == 12 and first["request"].to_list() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert first.equals(gen.generate(requests(PROMPTS), seed=11))
    assert not first["text"].equals(gen.generate(requests(PROMPTS), seed=12)["text"])
    assert first["seed"].n_unique() == 2  # one seed per batch of two prompts


def test_truncated_only_without_an_end_token(tmp_path: Path) -> None:
    folder = tiny_gpt2(tmp_path / "eos", always_eos=True)
    ended = greedy(folder, min_new_tokens=2, max_new_tokens=5).generate(requests(PROMPTS), 0)
    assert not ended["truncated"].any()
    assert [len(t.split()) for t in ended["text"]] == [2, 2, 2, 2]  # min_new_tokens, then eos
    assert EOS not in "".join(ended["text"])  # special tokens stripped
    cut = greedy(folder, min_new_tokens=2, max_new_tokens=2).generate(requests(PROMPTS), 0)
    assert cut["truncated"].all()


def test_out_of_memory_halves_the_batch(gpt2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gen = greedy(gpt2, batch_size=4)
    real_batch = gen.batch

    def small_gpu(prompts: list[str], seed: int) -> list[tuple[str, bool]]:
        if len(prompts) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected)")
        return real_batch(prompts, seed)

    monkeypatch.setattr(gen, "batch", small_gpu)
    out = gen.generate(requests(PROMPTS), seed=0)
    assert gen.batch_sizes_ == [1, 1, 1, 1]
    assert (
        out["text"].to_list()
        == greedy(gpt2, batch_size=4).generate(requests(PROMPTS), 0)["text"].to_list()
    )


def test_a_model_that_cannot_load_is_named(tmp_path: Path) -> None:
    gen = CausalGenerator(model="nobody/no-such-model", device="cpu").fit(pl.DataFrame())
    with pytest.raises(
        SynthgateError, match=r"^generate\.model: cannot load 'nobody/no-such-model'"
    ):
        gen.generate(requests(["ham :"]), seed=0)


def tiny_t5(folder: Path) -> Path:
    """A 1-layer T5 and a word-level tokenizer with T5's special tokens, saved."""

    vocab = {w: i for i, w in enumerate(["<pad>", "</s>", "<unk>", "paraphrase", *WORDS])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    return save_tiny_t5(folder, core)


def tiny_bart(folder: Path) -> Path:
    """A 1+1-layer BART and a word-level tokenizer with BART's special tokens, saved."""
    from transformers import BartConfig, BartForConditionalGeneration

    vocab = {w: i for i, w in enumerate(["<s>", "<pad>", "</s>", "<unk>", "paraphrase", *WORDS])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    torch.manual_seed(0)
    config = BartConfig(
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        bos_token_id=0,
        pad_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=0,
    )
    BartForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("build", [tiny_t5, tiny_bart], ids=["t5", "bart"])
def test_seq2seq_batch_equals_each_prompt_alone(tmp_path: Path, build: object) -> None:
    from synthgate.generate.hf import Seq2SeqGenerator

    folder = build(tmp_path / "model")  # type: ignore[operator]
    prompts = [f"paraphrase : {p}" for p in PROMPTS]
    gen = Seq2SeqGenerator(model=str(folder), temperature=0.0, max_new_tokens=5, device="cpu")
    batched = gen.fit(pl.DataFrame()).generate(requests(prompts), seed=0)
    tokenizer, model = gen.load()
    for prompt, text in zip(prompts, batched["text"], strict=True):
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        alone = model.generate(ids, max_new_tokens=5, do_sample=False)
        assert text == tokenizer.decode(alone[0], skip_special_tokens=True).strip()
        assert "<s>" not in text and "</s>" not in text
    assert batched["request"].to_list() == [0, 1, 2, 3]


def test_rounds_with_a_causal_model(gpt2: Path) -> None:
    from synthgate.config import merge_config
    from synthgate.rounds import run_rounds

    real = pl.DataFrame(
        {
            "label": ["ham", "spam"] * 6,
            "text": [
                f"{w} you later" if i % 2 == 0 else f"win a free {w} now"
                for i, w in enumerate(WORDS[:12])
            ],
        }
    )
    conf = merge_config(
        {
            "scorers": {n: {"enabled": False} for n in ("similarity", "discriminator", "label")}
            | {"dedup": {"semantic": False}},
            "gate": {"rules": {"quality_length_z": {"enabled": False}}},
            "generate": {
                "generator": "causal",
                "model": str(gpt2),
                "per_label": 3,
                "max_new_tokens": 6,
                "device": "cpu",
                "batch_size": 2,
                "seed": 5,
            },
        }
    )
    result = run_rounds(real, conf)
    frame = result.run.frame
    assert (frame["generator"] == "causal").all() and (frame["model"] == str(gpt2)).all()
    assert frame["source"].null_count() == frame.height  # "{label}:" reads no real row
    assert set(frame["prompt"]) == {"ham:", "spam:"}
    assert all(set(r["batch_sizes"]) == {2} for r in result.generation.record()["rounds"])
    again = run_rounds(real, conf).run.frame
    assert again.select("text", "label", "seed").equals(frame.select("text", "label", "seed"))


def test_a_model_per_label(gpt2: Path, tmp_path: Path) -> None:
    """`{label}` in `model` gives each label its own model: ham's always ends at once, spam's
    is the shared tiny GPT-2 (a folder as `finetune --per-label` writes them)."""
    from synthgate.config import merge_config
    from synthgate.rounds import generate

    models = tmp_path / "models"
    tiny_gpt2(models / "ham", always_eos=True)
    tiny_gpt2(models / "spam")
    real = pl.DataFrame({"label": ["ham", "spam"] * 3, "text": ["see you later"] * 6})
    table = {"generator": "causal", "per_label": 4, "max_new_tokens": 4, "device": "cpu"}
    conf = merge_config({"generate": table | {"model": f"{models}/{{label}}", "seed": 1}})
    frame = generate(real, conf)
    ham, spam = (frame.filter(pl.col("label") == label) for label in ("ham", "spam"))
    assert (ham["model"] == f"{models}/ham").all() and (spam["model"] == f"{models}/spam").all()
    assert (ham["text"] == "").all() and not ham["truncated"].any()
    one = merge_config({"generate": table | {"model": str(models / "spam"), "seed": 1}})
    alone = generate(real.filter(pl.col("label") == "spam"), one)
    assert spam.select("text", "seed").equals(alone.select("text", "seed"))
    assert frame["id"].to_list() == [str(i) for i in range(8)]
    with pytest.raises(SynthgateError, match=r"^generate\.model: cannot load '.*/models/cat'"):
        generate(real.with_columns(label=pl.lit("cat")), conf)


T5_SPIECE = Path(__file__).resolve().parent.parent.parent / "shared/data/t5_tokenizer/spiece.model"


def test_span_corruption_and_reassembly() -> None:
    import numpy as np

    from synthgate.generate.infill import corrupt, reassemble

    text = " ".join(f"w{i}" for i in range(40))
    masked, spans = corrupt(text, np.random.default_rng(3))
    assert masked.count("<extra_id_") == len(spans) == 2  # 6 words blanked, spans of 3
    assert sum(len(s.split()) for s in spans) == 6
    answer = "".join(f"<extra_id_{i}> {s} " for i, s in enumerate(spans)) + "</s><pad>"
    assert reassemble(masked, answer) == text
    assert reassemble(masked, "<extra_id_1> x </s>").count("x") == 1  # a missing span: nothing
    assert corrupt(text, np.random.default_rng(3)) == (masked, spans)


def test_infill_with_the_real_t5_vocabulary(tmp_path: Path) -> None:
    from transformers import T5Config, T5ForConditionalGeneration, T5Tokenizer

    from synthgate.generate.infill import InfillGenerator

    if not T5_SPIECE.is_file():
        pytest.fail(f"{T5_SPIECE} not found")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "spiece.model").write_bytes(T5_SPIECE.read_bytes())
    tokenizer = T5Tokenizer.from_pretrained(tmp_path / "src")
    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=8,
        d_kv=4,
        d_ff=16,
        num_layers=1,
        num_heads=2,
        decoder_start_token_id=0,
    )
    folder = tmp_path / "t5"
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    prompts = ["the quick brown fox jumps over the lazy dog and runs far away into the woods"] * 2
    gen = InfillGenerator(model=str(folder), temperature=0.0, max_new_tokens=8, device="cpu")
    out = gen.fit(pl.DataFrame()).generate(requests(prompts), seed=1)
    for text in out["text"]:
        assert "<extra_id" not in text and "</s>" not in text
        kept = [w for w in prompts[0].split() if w in text.split()]
        assert len(kept) >= 12  # all but the blanked words survive, in place


def test_progress_is_reported_per_batch(gpt2: Path) -> None:
    calls: list[tuple[int, int]] = []
    greedy(gpt2, batch_size=3).generate(requests(PROMPTS), 0, lambda _, d, t: calls.append((d, t)))
    assert calls == [(3, 4), (4, 4)]


def test_a_folder_that_is_not_a_model_is_named(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    gen = CausalGenerator(model=str(tmp_path), device="cpu").fit(pl.DataFrame())
    with pytest.raises(
        SynthgateError,
        match=r"^generate\.model: cannot load the folder '.+' with "
        r"AutoModelForCausalLM: ",
    ):
        gen.generate(requests(["ham :"]), seed=0)


def test_finetune_lowers_the_held_out_loss(gpt2: Path, tmp_path: Path) -> None:
    from synthgate.generate.finetune import finetune

    rows = pl.DataFrame(
        {"label": ["ham", "spam"] * 10, "text": ["see you later", "win a free prize now"] * 10}
    )
    result = finetune(
        rows, str(gpt2), tmp_path / "tuned", "causal", epochs=3, lr=1e-2, batch_size=4, device="cpu"
    )
    assert result["train_rows"] == 18 and result["held_out_rows"] == 2
    assert result["held_out_loss_after"] < 0.5 * result["held_out_loss_before"]
    tuned = greedy(tmp_path / "tuned", max_new_tokens=4).generate(requests(["spam :"]), 0)
    assert tuned["text"][0].startswith("win a free")  # it learnt the label's text


def test_finetune_seq2seq_on_source_text_pairs(tmp_path: Path) -> None:
    from synthgate.generate.finetune import finetune

    folder = tiny_t5(tmp_path / "t5")
    rows = pl.DataFrame({"source": ["see you later"] * 12, "text": ["i will see you"] * 12})
    result = finetune(
        rows,
        str(folder),
        tmp_path / "tuned",
        "seq2seq",
        epochs=3,
        lr=1e-2,
        batch_size=4,
        device="cpu",
    )
    assert result["held_out_loss_after"] < result["held_out_loss_before"]
    with pytest.raises(SynthgateError, match="needs a source column"):
        finetune(rows.drop("source"), str(folder), tmp_path / "x", "seq2seq", device="cpu")


def test_finetune_command_per_label(
    gpt2: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from synthgate.cli.main import main

    data = tmp_path / "train.csv"
    pl.DataFrame(
        {"label": ["ham", "spam"] * 6, "text": ["see you later", "win a prize"] * 6}
    ).write_csv(data)
    out = tmp_path / "models"
    args = [
        "finetune",
        "--model",
        str(gpt2),
        "--data",
        str(data),
        "--out",
        str(out),
        "--objective",
        "causal",
        "--per-label",
        "--device",
        "cpu",
        "--lr",
        "0.01",
    ]
    assert main(args) == 0
    report = json.loads((out / "finetune.json").read_text())
    assert set(report) == {"ham", "spam"} and (out / "spam" / "config.json").is_file()
    assert all(r["held_out_loss_after"] < r["held_out_loss_before"] for r in report.values())
    assert "ham: held-out loss" in capsys.readouterr().out
    assert main(args) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("already holds a fine-tune; pass --force to replace it")
    )
    assert main([*args, "--force"]) == 0


def test_out_of_memory_halving_reaches_run_json(
    gpt2: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`synthgate run` on a model whose batches of more than two prompts run out of memory:
    run.json records the halved sizes each round used, and each batch's rows carry its seed."""
    import json

    from synthgate.cli.main import main

    real = tmp_path / "real.csv"
    pl.DataFrame(
        {"label": ["ham", "spam"] * 4, "text": ["see you later", "win a free prize now"] * 4}
    ).write_csv(real)
    conf = tmp_path / "run.toml"
    conf.write_text(
        "[scorers.similarity]\nenabled = false\n[scorers.discriminator]\nenabled = false\n"
        "[scorers.label]\nenabled = false\n[scorers.dedup]\nsemantic = false\n"
        "[gate.rules.quality_length_z]\nenabled = false\n"
        f"[generate]\ngenerator = 'causal'\nmodel = '{gpt2}'\nper_label = 3\nmax_factor = 2.0\n"
        "max_new_tokens = 6\ndevice = 'cpu'\nbatch_size = 4\nseed = 5\n",
        encoding="utf-8",
    )
    real_batch = CausalGenerator.batch
    tried: list[int] = []

    def small_gpu(self: CausalGenerator, prompts: list[str], seed: int) -> list[tuple[str, bool]]:
        tried.append(len(prompts))
        if len(prompts) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected)")
        return real_batch(self, prompts, seed)

    monkeypatch.setattr(CausalGenerator, "batch", small_gpu)
    out = tmp_path / "run"
    assert main(["run", "--real", str(real), "--out", str(out), "--config", str(conf)]) == 0
    assert tried[0] == 4  # the configured size was tried first
    rounds = json.loads((out / "run.json").read_text())["generation"]["rounds"]
    assert rounds[0]["batch_sizes"] == [2, 2, 2]  # six prompts, halved from 4
    frame = pl.read_parquet(out / "scored.parquet")
    for record in rounds:
        sizes = record["batch_sizes"]
        assert sizes and max(sizes) <= 2
        assert sum(sizes) == sum(n["generated"] for n in record["labels"].values())
        rows = frame.filter(pl.col("round") == record["round"])
        first = 5 + 1_000_003 * record["round"]  # the round's seed
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        assert sorted(set(rows["seed"])) == [first + s for s in starts]
