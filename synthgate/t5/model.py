"""One seq2seq model for every T5 task of a run: answer probabilities or greedy answers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from synthgate.embed import resolve_device
from synthgate.progress import Progress, silent
from synthgate.t5.decode import answer_log_likelihoods, encode
from synthgate.t5.load import load_t5, torch_dtype
from synthgate.t5.prefix import PrefixTree, prefix_tree
from synthgate.t5.tasks import Task

DEFAULT_MODEL = "t5-base"
# A decoder chunk's bounds, for memory: its float32 logits at stsb's 3 read nodes are
# DECODE_ROWS x 3 x 32,128 (99 MB), its encoder states DECODE_PIECES x d_model (50 MB at
# t5-base's 768). 256 rows already run the decoder's matmuls at the large-matmul rate here.
DECODE_ROWS = 256
DECODE_PIECES = 16_384


@dataclass(frozen=True)
class Answers:
    """Per prompt, in input order: the answer's value (NaN where there is none), whether the
    prompt was cut to `max_length` tokens, and whether a generated answer could not be read."""

    value: np.ndarray
    truncated: np.ndarray
    unparsable: np.ndarray


@dataclass
class T5:
    """A T5 checkpoint, loaded on first use; `answer` scores prompts in length-sorted batches."""

    model: str = DEFAULT_MODEL
    device: str = "cpu"
    dtype: str = "auto"
    batch_size: int = 32
    max_length: int = 512
    mode: str = "score"

    @classmethod
    def ready(cls, model: Any, tokenizer: Any, **params: Any) -> T5:
        """A T5 over an already built model and tokenizer (tests, benchmarks)."""
        t5 = cls(**params)
        model = model.to(t5.device, torch_dtype(t5.dtype, t5.device)).eval()  # no dropout
        t5.model_, t5.tokenizer_ = model, tokenizer
        return t5

    def load(self) -> tuple[Any, Any]:
        """(model, tokenizer), loaded once; remote code is never trusted."""
        if getattr(self, "model_", None) is None:
            self.model_, self.tokenizer_ = load_t5(self.model, self.device, self.dtype)
        return self.model_, self.tokenizer_

    def answer(self, task: Task, prompts: list[str], progress: Progress = silent) -> Answers:
        """The value of each prompt's answer: in `score` mode the probability-weighted mean of
        the task's answer values, in `generate` mode the greedy answer parsed."""
        if self.mode == "generate":
            texts, truncated = self.generate(task, prompts, progress)
            values = [task.parse(t) for t in texts]
            unparsable = np.array([v is None for v in values], dtype=bool)
            value = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            return Answers(value, truncated, unparsable)
        probs, truncated = self.probabilities(task, prompts, progress)
        value = probs @ np.asarray(task.values, dtype=np.float64)
        return Answers(value, truncated, np.zeros(len(prompts), dtype=bool))

    def probabilities(
        self, task: Task, prompts: list[str], progress: Progress = silent
    ) -> tuple[np.ndarray, np.ndarray]:
        """((n, answers) answer probabilities renormalised over the task's answers, (n,)
        truncated flags)."""
        ll, truncated = self.log_likelihoods(task, prompts, progress)
        probs = np.exp(ll - ll.max(axis=1, keepdims=True)) if len(ll) else ll
        return probs / probs.sum(axis=1, keepdims=True), truncated

    def log_likelihoods(
        self, task: Task, prompts: list[str], progress: Progress = silent
    ) -> tuple[np.ndarray, np.ndarray]:
        """((n, answers) teacher-forced log-likelihoods of the task's answers, (n,) truncated
        flags): one encoder pass per prompt, one decoder pass over the answers' distinct
        prefixes."""
        import torch

        model, _ = self.load()
        tree = self.tree(task)
        ids, truncated = self._encode(prompts)
        out = np.zeros((len(prompts), len(task.answers)), dtype=np.float64)
        for idx, states, mask in self._encoded(ids, f"t5 {task.name}", progress):
            with torch.inference_mode():
                ll = answer_log_likelihoods(model, states, mask, tree)
            out[idx] = ll.double().cpu().numpy()
        return out, truncated

    def generate(
        self, task: Task, prompts: list[str], progress: Progress = silent
    ) -> tuple[list[str], np.ndarray]:
        """(greedy answer text, truncated flag) per prompt, decoded as the recipes decode."""
        import torch

        model, tokenizer = self.load()
        # Room for the longest answer, its end-of-sequence and one piece more, so an
        # over-long answer reads as unparsable rather than as a cut valid one.
        longest = max(len(p) for p in self._answer_pieces(task))
        texts = [""] * len(prompts)
        ids, truncated = self._encode(prompts)
        for idx, inputs, mask in self._batches(ids, f"t5 {task.name}", progress):
            with torch.inference_mode():
                out = model.generate(
                    input_ids=inputs,
                    attention_mask=mask,
                    max_new_tokens=longest + 2,
                    do_sample=False,
                    num_beams=1,
                )
            for i, text in zip(
                idx, tokenizer.batch_decode(out, skip_special_tokens=True), strict=True
            ):
                texts[i] = text
        return texts, truncated

    def tree(self, task: Task) -> PrefixTree:
        """The prefix tree of `task`'s answers in this model's vocabulary, on its device."""
        model, tokenizer = self.load()
        start = model.config.decoder_start_token_id
        return prefix_tree(self._answer_pieces(task), start, tokenizer.eos_token_id).to(self.device)

    def _answer_pieces(self, task: Task) -> list[list[int]]:
        tokenizer = self.load()[1]
        return [tokenizer(a, add_special_tokens=False).input_ids for a in task.answers]

    def _encode(self, prompts: list[str]) -> tuple[list[list[int]], np.ndarray]:
        """Token ids of each prompt, cut to `max_length` (keeping the end-of-sequence)."""
        tokenizer = self.load()[1]
        ids = tokenizer(list(prompts)).input_ids if prompts else []
        truncated = np.array([len(x) > self.max_length for x in ids], dtype=bool)
        eos = tokenizer.eos_token_id
        keep = self.max_length - (eos is not None)
        cut = [x if len(x) <= self.max_length else [*x[:keep], eos][: self.max_length] for x in ids]
        return cut, truncated

    def _encoded(
        self, ids: list[list[int]], step: str, progress: Progress
    ) -> Iterator[tuple[np.ndarray, Any, Any]]:
        """(rows, encoder states, attention mask) over whole batches joined into chunks of at
        most DECODE_ROWS rows and DECODE_PIECES prompt pieces (padding included): the decoder
        reads its weights once per chunk instead of once per batch, which is most of its cost
        when it runs a few nodes a row."""
        import torch

        model = self.load()[0]
        chunk: list[tuple[np.ndarray, Any, Any]] = []
        for idx, inputs, mask in self._batches(ids, step, progress):
            with torch.inference_mode():
                states = encode(model, inputs, mask)
            rows = sum(len(c[0]) for c in chunk) + len(idx)
            if chunk and (rows > DECODE_ROWS or rows * chunk[0][2].shape[1] > DECODE_PIECES):
                yield _joined(chunk)
                chunk = []
            chunk.append((idx, states, mask))
        if chunk:
            yield _joined(chunk)

    def _batches(
        self, ids: list[list[int]], step: str, progress: Progress
    ) -> Iterator[tuple[np.ndarray, Any, Any]]:
        """(rows, input ids, attention mask) batches, longest first: little padding."""
        import torch

        pad = self.load()[1].pad_token_id or 0
        order = np.argsort([-len(x) for x in ids], kind="stable")
        progress(step, 0, len(ids))
        for lo in range(0, len(ids), self.batch_size):
            idx = order[lo : lo + self.batch_size]
            width = len(ids[idx[0]])
            inputs = torch.full((len(idx), width), pad, dtype=torch.long)
            mask = torch.zeros_like(inputs)
            for row, i in enumerate(idx):
                inputs[row, : len(ids[i])] = torch.tensor(ids[i])
                mask[row, : len(ids[i])] = 1
            yield idx, inputs.to(self.device), mask.to(self.device)
            progress(step, min(lo + self.batch_size, len(ids)), len(ids))


def _joined(chunk: list[tuple[np.ndarray, Any, Any]]) -> tuple[np.ndarray, Any, Any]:
    """One (rows, states, mask) from batches of falling width, padded to the first's."""
    import torch
    from torch.nn.functional import pad

    width = chunk[0][2].shape[1]
    states = [pad(s, (0, 0, 0, width - s.shape[1])) for _, s, _ in chunk]
    masks = [pad(m, (0, width - m.shape[1])) for _, _, m in chunk]
    return np.concatenate([c[0] for c in chunk]), torch.cat(states), torch.cat(masks)


def t5_from_config(table: dict[str, Any]) -> T5:
    """The run's T5 from the `[t5]` table (validated by the config); nothing loads yet."""
    return T5(**{**table, "device": resolve_device(table["device"])})
