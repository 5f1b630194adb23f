"""Candidate answers scored as a prefix tree: one decoder pass over their distinct prefixes.

In the real T5 vocabulary the 26 STS-B answers share their first piece ("▁" + "4.2") or are one
piece ("▁2.0"), so a row needs the next-piece distributions after only a few prefixes, not 26
decoder passes. An answer's log-likelihood is the sum of its pieces' log-probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads only when a model runs: `init-config` stays quick
    import torch


@dataclass(frozen=True)
class PrefixTree:
    """Decoder inputs that cover every proper prefix of the answers, and where each answer's
    pieces are read from their logits."""

    inputs: torch.Tensor  # (S, L) start token + a maximal prefix, right-padded
    mask: torch.Tensor  # (S, L) 1 where `inputs` is real
    seq: torch.Tensor  # (R,) for each read: the sequence,
    pos: torch.Tensor  # (R,) the position whose logits predict the piece,
    token: torch.Tensor  # (R,) the piece,
    answer: torch.Tensor  # (R,) and the answer it belongs to
    n_answers: int

    def positions(self) -> tuple[torch.Tensor, torch.Tensor]:
        """((P,) the distinct decoder positions read, flat over (S, L); (R,) each read's one)."""
        import torch

        flat = self.seq * self.inputs.shape[1] + self.pos
        return torch.unique(flat, return_inverse=True)

    def self_attention_mask(self, dtype: torch.dtype) -> torch.Tensor:
        """(1, 1, S * L, S * L) additive mask that lets the S sequences, laid end to end as one
        decoder input, each attend causally to itself only (its padding comes last, so no real
        piece sees it). Within a sequence the distance between two places is the distance
        between their positions, so T5's relative position bias is the same as when each
        sequence runs alone."""
        import torch

        s, length = self.inputs.shape
        seq = torch.arange(s * length, device=self.inputs.device) // length
        allowed = (seq[:, None] == seq[None, :]).tril()
        out = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
        return out.masked_fill(~allowed, torch.finfo(dtype).min)[None, None]

    def log_likelihoods(self, logp: torch.Tensor) -> torch.Tensor:
        """(B, n_answers) answer log-likelihoods from next-piece log-probabilities of shape
        (B, P, V) at `positions()`."""
        import torch

        pieces = logp[:, self.positions()[1], self.token]  # (B, R)
        out = torch.zeros(logp.shape[0], self.n_answers, dtype=pieces.dtype, device=pieces.device)
        return out.index_add_(1, self.answer, pieces)


def prefix_free(answers: list[list[int]], eos: int) -> list[list[int]]:
    """The answers' pieces, with end-of-sequence appended to any answer that is a prefix of
    another (so that "1" cannot also count as the start of "1.5")."""
    out = []
    for a in answers:
        longer = any(len(b) > len(a) and b[: len(a)] == a for b in answers)
        out.append([*a, eos] if longer or not a else list(a))
    return out


def prefix_tree(answers: list[list[int]], start: int, eos: int, pad: int = 0) -> PrefixTree:
    """The tree of `answers` (lists of piece ids, without end-of-sequence)."""
    import torch

    pieces = prefix_free(answers, eos)
    prefixes = {tuple(p[:i]) for p in pieces for i in range(len(p))}
    maximal = sorted(
        p for p in prefixes if not any(len(q) > len(p) and q[: len(p)] == p for q in prefixes)
    )
    where: dict[tuple[int, ...], tuple[int, int]] = {}  # prefix -> (sequence, position)
    for s, p in enumerate(maximal):
        for i in range(len(p) + 1):
            where.setdefault(p[:i], (s, i))
    reads = [(*where[tuple(a[:j])], a[j], k) for k, a in enumerate(pieces) for j in range(len(a))]
    length = max(len(p) for p in maximal) + 1
    inputs = torch.full((len(maximal), length), pad, dtype=torch.long)
    mask = torch.zeros_like(inputs)
    for s, p in enumerate(maximal):
        inputs[s, : len(p) + 1] = torch.tensor([start, *p])
        mask[s, : len(p) + 1] = 1
    seq, pos, token, answer = (torch.tensor(col) for col in zip(*reads, strict=True))
    return PrefixTree(inputs, mask, seq, pos, token, answer, len(answers))
