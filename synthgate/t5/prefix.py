"""Candidate answers scored as a prefix tree: one decoder pass over their distinct prefixes.

In the real T5 vocabulary the 26 STS-B answers share their first piece ("▁" + "4.2") or are one
piece ("▁2.0"), so a row needs the next-piece distributions after only three prefixes (none,
"▁" and "▁3."), not 26 decoder passes. An answer's log-likelihood is the sum of its pieces'
log-probabilities, each read at the node of the prefix before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads only when a model runs: `init-config` stays quick
    import torch


@dataclass(frozen=True)
class PrefixTree:
    """The answers' distinct proper prefixes as decoder nodes, and where each answer's pieces
    are read. Node i feeds `tokens[i]` (the start token for the empty prefix, else the
    prefix's last piece) at position `positions[i]` and attends to the nodes of its own
    prefixes, itself included (`ancestors[i]`)."""

    tokens: torch.Tensor  # (N,) the piece each node feeds the decoder
    positions: torch.Tensor  # (N,) its position: the length of its prefix
    ancestors: torch.Tensor  # (N, N) bool: node j's prefix is a prefix of node i's
    node: torch.Tensor  # (R,) for each read: the node whose next-piece distribution it reads,
    token: torch.Tensor  # (R,) the piece,
    answer: torch.Tensor  # (R,) and the answer it belongs to
    n_answers: int

    def to(self, device: str) -> PrefixTree:
        """The same tree with its tensors on `device`."""
        names = ("tokens", "positions", "ancestors", "node", "token", "answer")
        return replace(self, **{k: getattr(self, k).to(device) for k in names})

    def read_nodes(self) -> tuple[torch.Tensor, torch.Tensor]:
        """((P,) the distinct nodes read, (R,) each read's place among them)."""
        import torch

        return torch.unique(self.node, return_inverse=True)

    def paths(self) -> list[list[int]]:
        """The nodes from the root to each leaf, root first: decoder inputs that cover every
        node, for models that take only plain left-to-right sequences."""
        leaves = [i for i in range(len(self.tokens)) if self.ancestors[:, i].sum() == 1]
        return [
            sorted(self.ancestors[i].nonzero().flatten().tolist(), key=self._depth) for i in leaves
        ]

    def _depth(self, i: int) -> int:
        return int(self.positions[i])

    def log_likelihoods(self, logp: torch.Tensor) -> torch.Tensor:
        """(B, n_answers) answer log-likelihoods from (B, P, V) next-piece log-probabilities at
        `read_nodes()`."""
        import torch

        pieces = logp[:, self.read_nodes()[1], self.token]  # (B, R)
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


def prefix_tree(answers: list[list[int]], start: int, eos: int) -> PrefixTree:
    """The tree of `answers` (lists of piece ids, without end-of-sequence)."""
    import torch

    pieces = prefix_free(answers, eos)
    nodes = sorted({tuple(p[:i]) for p in pieces for i in range(len(p))}, key=lambda p: (len(p), p))
    index = {p: i for i, p in enumerate(nodes)}
    reads = [(index[tuple(a[:j])], a[j], k) for k, a in enumerate(pieces) for j in range(len(a))]
    ancestors = torch.tensor([[q == p[: len(q)] for q in nodes] for p in nodes], dtype=torch.bool)
    node, token, answer = (torch.tensor(col) for col in zip(*reads, strict=True))
    return PrefixTree(
        tokens=torch.tensor([p[-1] if p else start for p in nodes]),
        positions=torch.tensor([len(p) for p in nodes]),
        ancestors=ancestors,
        node=node,
        token=token,
        answer=answer,
        n_answers=len(answers),
    )
