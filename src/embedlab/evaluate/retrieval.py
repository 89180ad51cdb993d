"""Retrieval metrics: recall@k, MRR and nDCG@k over ranked result lists, averaged over queries.

Each function takes ``retrieved`` (one ranked list of ids per query, best first) and ``relevant`` (per query:
one id, a collection of ids, or for nDCG a dict id → graded gain). Ids may be any hashable values.

    >>> recall_at_k([["a", "b"], ["c", "d"]], ["b", "x"], k=2)
    0.5
    >>> mrr([["a", "b"], ["c", "d"]], ["b", "c"])
    0.75
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ..errors import InputError

Relevant = Any  # an id, a collection of ids, or a mapping id -> gain


def _as_gains(rel: Relevant) -> dict[Hashable, float]:
    if isinstance(rel, Mapping):
        gains = {k: float(v) for k, v in rel.items()}
        if any(g < 0 or not math.isfinite(g) for g in gains.values()):
            raise InputError("relevance gains must be finite and >= 0")
        return {k: g for k, g in gains.items() if g > 0}
    if isinstance(rel, (str, bytes)) or not isinstance(rel, Iterable):
        return {rel: 1.0}
    return {r: 1.0 for r in rel}


def _pairs(retrieved: Sequence[Sequence[Hashable]], relevant: Sequence[Relevant],
           k: int | None) -> Iterator[tuple[list[Hashable], dict[Hashable, float]]]:
    if isinstance(retrieved, (str, bytes)) or not isinstance(retrieved, Sequence):
        raise InputError("retrieved must be a list with one ranked list of ids per query")
    if isinstance(relevant, (str, bytes)) or not isinstance(relevant, Sequence):
        raise InputError("relevant must be a list with one entry (id, ids or id -> gain) per query")
    if len(retrieved) != len(relevant):
        raise InputError(f"got {len(retrieved)} result lists for {len(relevant)} queries; pass one of each per query")
    if not retrieved:
        raise InputError("no queries given; pass at least one result list")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise InputError(f"k must be a positive integer, got {k!r}")
    for qi, (ranked, rel) in enumerate(zip(retrieved, relevant, strict=True)):
        if isinstance(ranked, (str, bytes)):
            raise InputError(f"results of query {qi} are a string; pass a list of ids")
        gains = _as_gains(rel)
        if not gains:
            raise InputError(f"query {qi} has no relevant items; metrics are undefined for it, leave it out")
        yield list(ranked if k is None else ranked[:k]), gains


def recall_at_k(retrieved: Sequence[Sequence[Hashable]], relevant: Sequence[Relevant], k: int) -> float:
    """Mean over queries of (relevant ids among the top ``k``) / (number of relevant ids).

    With one relevant id per query this is the hit rate (success@k)."""
    total, n = 0.0, 0
    for ranked, gains in _pairs(retrieved, relevant, k):
        total += len(set(ranked) & gains.keys()) / len(gains)
        n += 1
    return total / n


def mrr(retrieved: Sequence[Sequence[Hashable]], relevant: Sequence[Relevant], k: int | None = None) -> float:
    """Mean reciprocal rank of the first relevant id (0 for a query whose top ``k``, or whole list, has none)."""
    total, n = 0.0, 0
    for ranked, gains in _pairs(retrieved, relevant, k):
        total += next((1.0 / r for r, id_ in enumerate(ranked, 1) if id_ in gains), 0.0)
        n += 1
    return total / n


def ndcg_at_k(retrieved: Sequence[Sequence[Hashable]], relevant: Sequence[Relevant], k: int) -> float:
    """Mean normalised discounted cumulative gain at ``k``: ``sum gain_i / log2(i + 1)`` over the top ``k`` (linear
    gains, 1 for a plain relevant id), divided by the same sum for the ideal order. A repeated id counts once."""
    total, n = 0.0, 0
    for ranked, gains in _pairs(retrieved, relevant, k):
        seen: set[Hashable] = set()
        dcg = 0.0
        for i, id_ in enumerate(ranked, 1):
            if id_ in gains and id_ not in seen:
                dcg += gains[id_] / math.log2(i + 1)
            seen.add(id_)
        ideal = sorted(gains.values(), reverse=True)[:k]
        idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, 1))
        total += dcg / idcg
        n += 1
    return total / n


def retrieval_scores(retrieved: Sequence[Sequence[Hashable]], relevant: Sequence[Relevant],
                     ks: Sequence[int] = (1, 10)) -> dict[str, float]:
    """``{"recall@k": ..., "ndcg@k": ... for each k, "mrr": ...}`` in one call (MRR over the full lists)."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall@{k}"] = recall_at_k(retrieved, relevant, k)
    out["mrr"] = mrr(retrieved, relevant)
    for k in ks:
        out[f"ndcg@{k}"] = ndcg_at_k(retrieved, relevant, k)
    return out
