"""Dedup: exact, MinHash near and semantic duplicates, against the real set and within
candidates, merged into one cluster id per candidate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl

from synthgate.errors import check_params
from synthgate.scorers import minhash
from synthgate.scorers.base import Resources, lookup
from synthgate.scorers.semantic import SemanticMatches, semantic_matches
from synthgate.text import normalize
from synthgate.vectors import components, nearest_other


@dataclass
class DedupScorer:
    """Nearest real row by MinHash Jaccard, exact real copies, and one cluster id per candidate.

    Texts are compared after `synthgate.text.normalize` (HTML entities, NFKC, case, punctuation,
    whitespace). `dedup_exact_cluster` groups candidates of equal normalised text (copies: the
    gate's unique step keeps one of each); `dedup_cluster` also joins candidates whose
    estimated Jaccard reaches `near_threshold` or whose cosine reaches `semantic_threshold`
    (families of variants, such as several edits of one source).
    """

    shingle_size: int = field(
        default=3, metadata={"help": "character n-gram size of the MinHash shingles"}
    )
    num_perm: int = field(default=128, metadata={"help": "MinHash permutations"})
    near_threshold: float = field(
        default=0.5,
        metadata={"help": "Jaccard at which two candidates join one cluster (and LSH is tuned)"},
    )
    max_real_per_bucket: int = field(
        default=8, metadata={"help": "real rows compared per LSH bucket (bounds the pair count)"}
    )
    semantic: bool = field(
        default=True, metadata={"help": "also compare meaning, with the run's embeddings"}
    )
    semantic_threshold: float = field(
        default=0.95,
        metadata={"help": "cosine at which a candidate joins the cluster of an earlier one"},
    )
    seed: int = field(default=0, metadata={"help": "MinHash seed (set from the top-level seed)"})

    name: ClassVar[str] = "dedup"
    requires: ClassVar[tuple[str, ...]] = ("id", "text")
    columns: ClassVar[dict[str, pl.DataType]] = {
        "dedup_real_exact": pl.Boolean(),
        "dedup_real_jaccard": pl.Float64(),
        "dedup_real_match": pl.String(),
        "dedup_semantic_real_cosine": pl.Float64(),
        "dedup_semantic_real_match": pl.String(),
        "dedup_cluster": pl.String(),
        "dedup_cluster_size": pl.Int64(),
        "dedup_exact_cluster": pl.String(),
    }

    def __post_init__(self) -> None:
        check_params(
            "scorers.dedup",
            self,
            {
                "shingle_size": (self.shingle_size >= 1, "an int >= 1"),
                "num_perm": (self.num_perm >= 8, "an int >= 8"),
                "near_threshold": (0.0 < self.near_threshold <= 1.0, "in (0, 1]"),
                "max_real_per_bucket": (self.max_real_per_bucket >= 1, "an int >= 1"),
                "semantic_threshold": (0.0 < self.semantic_threshold <= 1.0, "in (0, 1]"),
            },
        )

    @property
    def needs(self) -> tuple[str, ...]:
        """Nearest neighbours by embedding when the semantic level is on."""
        return ("embeddings", "neighbours") if self.semantic else ()

    def fit(self, candidates: pl.DataFrame, real: pl.DataFrame, resources: Resources) -> Self:
        """Compare every candidate with the real set and with each other; keep a table by id."""
        cand_key = normalize(candidates["text"])
        nodes = (  # one node per distinct non-empty candidate text, in first-seen order
            pl.DataFrame({"key": cand_key, "row": np.arange(len(cand_key))})
            .filter(pl.col("key") != "")
            .group_by("key", maintain_order=True)
            .agg(pl.col("row").first())
        )
        reals = (
            pl.DataFrame({"key": normalize(real["text"]), "id": real["id"]})
            .filter(pl.col("key") != "")
            .unique("key", keep="first", maintain_order=True)
        )
        sigs = minhash.signatures(
            [*nodes["key"], *reals["key"]], self.shingle_size, self.num_perm, self.seed
        )
        best_j, best_real = self._real_matches(sigs, len(nodes))
        cluster = self._clusters(sigs[: len(nodes)])
        exact_idx = nodes.join(
            reals.with_row_index("ridx"), on="key", how="left", maintain_order="left"
        )["ridx"]
        exact = exact_idx.is_not_null()
        match_idx = exact_idx.cast(pl.Int64).fill_null(pl.Series(best_real)).to_numpy()
        node_table = pl.DataFrame(
            {
                "key": nodes["key"],
                "dedup_real_exact": exact,
                "dedup_real_jaccard": np.where(exact.to_numpy(), 1.0, best_j),
                "dedup_real_match": reals["id"]
                .gather(np.clip(match_idx, 0, None))
                .set(pl.Series(match_idx < 0), None)
                if reals.height
                else pl.Series([None] * nodes.height, dtype=pl.String),
                "first_row": nodes["row"].gather(cluster),
            }
        )
        semantic = None
        neighbours = resources.get("neighbours", candidates, real) if self.semantic else None
        if neighbours is not None:
            semantic = semantic_matches(real, neighbours, self.semantic_threshold)
        self.table_ = self._rows_table(candidates["id"], cand_key, node_table, semantic)
        emb = resources.get("embeddings", candidates, real) if self.semantic else None
        self.summary_: dict[str, Any] = {}
        if emb is not None:
            self.summary_["real_nearest_cosine"] = real_nearest(reals["key"], real, emb, self.seed)
        return self

    def score(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Look up each row's dedup columns by id."""
        return lookup(self.table_, batch, self.columns)

    def _real_matches(self, sigs: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
        """Best estimated Jaccard to a real row (0.0 when LSH finds none) and its index (-1)."""
        best_j = np.zeros(n_nodes)
        best_real = np.full(n_nodes, -1)
        if sigs.shape[0] == n_nodes:
            return best_j, best_real
        buckets = self._buckets(sigs)
        cand = buckets.filter(pl.col("node") < n_nodes)
        real = (
            buckets.filter(pl.col("node") >= n_nodes)
            .group_by(["band", "key"], maintain_order=True)
            .head(self.max_real_per_bucket)
            .rename({"node": "real"})
        )
        pairs = cand.join(real, on=["band", "key"]).select("node", "real").unique()
        if pairs.height:
            left, right = pairs["node"].to_numpy(), pairs["real"].to_numpy()
            j = minhash.estimated_jaccard(sigs, left, right)
            top = (
                pl.DataFrame({"node": left, "real": right - n_nodes, "j": j})
                .sort(["j", "real"], descending=[True, False])
                .unique("node", keep="first")
            )
            best_j[top["node"].to_numpy()] = top["j"].to_numpy()
            best_real[top["node"].to_numpy()] = top["real"].to_numpy()
        return best_j, best_real

    def _clusters(self, sigs: np.ndarray) -> np.ndarray:
        """Each node's cluster representative: the first node it is linked to by LSH + check."""
        buckets = self._buckets(sigs)
        heads = buckets.group_by(["band", "key"]).agg(head=pl.col("node").min())
        edges = (
            buckets.join(heads, on=["band", "key"])
            .filter(pl.col("node") != pl.col("head"))
            .select("node", "head")
            .unique()
        )
        left, right = edges["node"].to_numpy(), edges["head"].to_numpy()
        keep = minhash.estimated_jaccard(sigs, left, right) >= self.near_threshold
        return components(sigs.shape[0], left[keep], right[keep])

    def _buckets(self, sigs: np.ndarray) -> pl.DataFrame:
        bands, rows = minhash.lsh_params(self.near_threshold, self.num_perm)
        keys = minhash.band_keys(sigs, bands, rows)
        n = sigs.shape[0]
        return pl.DataFrame(
            {
                "band": np.tile(np.arange(bands, dtype=np.int32), n),
                "key": keys.ravel(),
                "node": np.repeat(np.arange(n, dtype=np.int64), bands),
            }
        )

    @staticmethod
    def _rows_table(
        ids: pl.Series, keys: pl.Series, nodes: pl.DataFrame, semantic: SemanticMatches | None
    ) -> pl.DataFrame:
        """Per-row columns. Clusters join rows linked at any level; rows with no text to
        compare stay alone and get nulls."""
        rows = pl.DataFrame({"id": ids, "key": keys, "row": np.arange(len(ids))}).join(
            nodes, on="key", how="left", maintain_order="left"
        )
        left, right = [rows["row"].to_numpy()], [rows["first_row"].fill_null(-1).to_numpy()]
        if semantic is not None:
            left.append(np.arange(len(ids)))
            right.append(semantic.parent)
            rows = rows.with_columns(
                dedup_semantic_real_cosine=semantic.real_cosine,
                dedup_semantic_real_match=semantic.real_match,
            )
        else:
            rows = rows.with_columns(
                dedup_semantic_real_cosine=pl.lit(None, pl.Float64),
                dedup_semantic_real_match=pl.lit(None, pl.String),
            )
        lhs, rhs = np.concatenate(left), np.concatenate(right)
        linked = rhs >= 0
        first = components(len(ids), lhs[linked], rhs[linked])
        rows = rows.with_columns(dedup_cluster=ids.gather(first))
        size = pl.len().over("dedup_cluster").cast(pl.Int64)
        exact = pl.when(pl.col("key") != "").then(pl.col("id").first().over("key"))
        return rows.with_columns(
            dedup_cluster_size=size, dedup_exact_cluster=exact.otherwise(pl.col("id"))
        ).select("id", *DedupScorer.columns)


REFERENCE_ROWS = 2000  # real rows whose nearest other real row is searched (a sample beyond)
QUANTILES = (0.5, 0.9, 0.95, 0.99)


def real_nearest(keys: pl.Series, real: pl.DataFrame, emb: Any, seed: int) -> dict[str, Any]:
    """How close real rows are to each other: quantiles of each distinct real text's cosine
    to its nearest other distinct real text (a sample of REFERENCE_ROWS), the yardstick for
    the candidates' `dedup_semantic_real_cosine`. In templated data they run close to 1."""
    first = pl.DataFrame({"key": normalize(real["text"]), "text": real["text"]}).filter(
        pl.col("key").is_in(keys.implode())
    )
    texts = first.unique("key", keep="first", maintain_order=True)["text"]
    vectors, found = emb.of(texts)
    vectors = vectors[found]
    rng = np.random.default_rng(seed)
    queries = np.arange(len(vectors))
    if len(queries) > REFERENCE_ROWS:
        queries = np.sort(rng.choice(queries, REFERENCE_ROWS, replace=False))
    best = nearest_other(vectors, queries)
    best = best[best > -1.0]
    if not len(best):
        return {"rows": 0}
    values = np.quantile(best, QUANTILES)
    found_q = {
        f"p{round(q * 100):02d}": round(float(v), 4) for q, v in zip(QUANTILES, values, strict=True)
    }
    return {"rows": len(best), **found_q}
