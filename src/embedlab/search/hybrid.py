"""Hybrid search: vector hits and BM25 keyword hits fused by reciprocal rank (RRF).

    >>> hybrid_search(collection, "권한 거부", k=5)                    # both, fused
    >>> hybrid_search(collection, "ENOSPC", k=5, mode="keyword")        # BM25 only
    >>> hybrid_search(collection, "disk is full", k=5, mode="vector")   # == collection.search

Vectors find paraphrases and translations; keywords find rare exact tokens (error codes, names, ids) that a
sentence encoder blurs. RRF (Cormack et al., 2009) needs no score calibration between the two: a document's
fused score is ``sum_i w_i / (rrf_k + rank_i)`` over the lists it appears in (rank 1 = best), so what counts
is agreement near the top of both lists. Results are the Collection's own ``Hit`` objects; their ``score`` is
the cosine/dot/-L2 score for ``mode="vector"``, the BM25 score for ``"keyword"`` and the RRF score for
``"hybrid"`` (higher is better in all three).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..store import Hit
from .keyword import KeywordIndex

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Collection, Hit

MODES = ("vector", "keyword", "hybrid")
DEFAULT_RRF_K = 60


def rrf_fuse(rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None,
             k: float = DEFAULT_RRF_K) -> list[tuple[str, float]]:
    """Fuse ranked id lists (best first) into ``(id, score)`` pairs, best first, by weighted reciprocal rank.

    ``score(d) = sum_i weights[i] / (k + rank_i(d))``; ties go to the id with the better best rank, then to the
    one seen first. ``weights`` default to 1 each.

    >>> rrf_fuse([["a", "b"], ["b", "c"]], k=60)[0]
    ('b', 0.03252...)
    """
    if k < 0:
        raise InputError(f"rrf k must be >= 0, got {k}")
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise InputError(f"got {len(weights)} weights for {len(rankings)} rankings; pass one weight per ranking")
    if any(w < 0 for w in weights):
        raise InputError(f"weights must be >= 0, got {list(weights)}")
    score: dict[str, float] = {}
    best: dict[str, int] = {}
    first: dict[str, int] = {}
    order = 0
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, id_ in enumerate(ranking, 1):
            if id_ not in score:
                score[id_], best[id_], first[id_] = 0.0, rank, order
                order += 1
            score[id_] += w / (k + rank)
            best[id_] = min(best[id_], rank)
    return sorted(score.items(), key=lambda kv: (-kv[1], best[kv[0]], first[kv[0]]))


def hybrid_search(collection: Collection, query: str, k: int = 10, where: dict[str, Any] | None = None,
                  mode: str = "hybrid", *, weights: tuple[float, float] = (1.0, 1.0), rrf_k: float = DEFAULT_RRF_K,
                  candidates: int | None = None, keyword_index: KeywordIndex | None = None, ef: int | None = None,
                  nprobe: int | None = None, rescore: int | None = None) -> list[Hit]:
    """The best hits for a text query by vector, keyword or both (fused by reciprocal rank).

    Parameters
    ----------
    collection : Collection
        The collection searched.
    query : str
        The text searched for (non-empty).
    k : int
        Hits wanted (>= 1).
    where : dict or None
        A metadata filter applied to both lists, as in ``Collection.search``.
    mode : str
        ``"vector"`` (``Collection.search``), ``"keyword"`` (BM25) or ``"hybrid"`` (both, fused).
    weights : tuple of (float, float)
        (vector, keyword) weights of the fusion.
    rrf_k : float
        The RRF constant (>= 0).
    candidates : int or None
        How deep each list is read before fusing (default ``max(50, 4 k)``).
    keyword_index : KeywordIndex or None
        The keyword index to use; default the collection's saved one, rebuilt when stale
        (``KeywordIndex.for_collection``).
    ef, nprobe, rescore : int or None
        Tuning of the vector search, as for ``Collection.search`` (modes vector and hybrid; keyword refuses them).

    Returns
    -------
    list of Hit
        Best first; ``score`` is the vector score, the BM25 score or the RRF score by ``mode``.

    Raises
    ------
    InputError
        For an unknown mode, a query that is not a non-empty text, bad ``k``/``weights``/``candidates``, tuning
        of the vector search in keyword mode, or a collection without stored texts for a keyword search.
    """
    if mode not in MODES:
        raise InputError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
    tuning = {k_: v for k_, v in (("ef", ef), ("nprobe", nprobe), ("rescore", rescore)) if v is not None}
    if mode == "keyword" and tuning:
        raise InputError(f"{', '.join(tuning)} tune(s) the vector search; mode 'keyword' does not use it (leave "
                         "them out, or use mode vector or hybrid)")
    if not isinstance(query, str):
        raise InputError(f"hybrid_search takes a text query, got {type(query).__name__}; use "
                         "Collection.search for vectors or other items")
    if not query.strip():
        raise InputError("empty query; pass some words to search for")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a positive integer, got {k!r}")
    if len(weights) != 2:
        raise InputError(f"weights must be (vector, keyword), got {weights!r}")
    if mode == "vector":
        return collection.search(query, k=int(k), where=where, **tuning)
    total = collection.count()
    if total == 0:
        return []
    depth = min(total, int(candidates) if candidates else max(50, 4 * int(k)))
    if depth < 1:
        raise InputError(f"candidates must be >= 1, got {candidates}")
    kw = keyword_index if keyword_index is not None else KeywordIndex.for_collection(collection)
    allowed = _ids_matching(collection, where) if where is not None else None
    if allowed is not None and not allowed:
        return []
    kw_hits = kw.search(query, k=int(k) if mode == "keyword" else depth, allowed=allowed)
    if mode == "keyword":
        return _as_hits(collection, kw_hits)
    vec_hits = collection.search(query, k=depth, where=where, **tuning)
    by_id = {h.id: h for h in vec_hits}
    fused = rrf_fuse([[h.id for h in vec_hits], [i for i, _ in kw_hits]], weights=weights, k=rrf_k)[:int(k)]
    extra = [i for i, _ in fused if i not in by_id]
    if extra:
        for h in _as_hits(collection, [(i, 0.0) for i in extra]):
            by_id[h.id] = h
    return [_with_score(by_id[i], s) for i, s in fused]


def searcher(collection: Collection, mode: str = "vector", *, ef: int | None = None, nprobe: int | None = None,
             rescore: int | None = None) -> Callable[[Any, int, dict[str, Any] | None], list[Hit]]:
    """A ``search(query, k, where) -> hits`` function over ``collection`` in one search mode.

    What ``embedlab.passages.search_documents(..., search=...)`` takes, so that the CLI (``embedlab search
    --mode``) and the HTTP search route (``"mode"``) search the same way.

    Parameters
    ----------
    collection : Collection
        The collection searched.
    mode : str
        ``"vector"`` (``Collection.search``: a text, item or vector), ``"keyword"`` (BM25) or ``"hybrid"`` (both
        fused by reciprocal rank); keyword and hybrid take text queries only.
    ef, nprobe, rescore : int or None
        Tuning of the vector search, as for ``Collection.search``.

    Returns
    -------
    callable
        ``search(query, k, where)`` returning hits, best first.

    Raises
    ------
    InputError
        For an unknown mode, or tuning given with mode keyword (at once, before any search).
    """
    if mode not in MODES:
        raise InputError(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
    tuning = {k_: v for k_, v in (("ef", ef), ("nprobe", nprobe), ("rescore", rescore)) if v is not None}
    if mode == "keyword" and tuning:
        raise InputError(f"{', '.join(tuning)} tune(s) the vector search; mode 'keyword' does not use it (leave "
                         "them out, or use mode vector or hybrid)")
    if mode == "vector":
        return lambda query, k, where: collection.search(query, k=k, where=where, **tuning)
    return lambda query, k, where: hybrid_search(collection, query, k=k, where=where, mode=mode, ef=ef,
                                                 nprobe=nprobe, rescore=rescore)


def _ids_matching(collection: Collection, where: dict[str, Any]) -> set[str]:
    """Ids of the items whose metadata matches ``where`` (the Collection's own filter semantics)."""
    return set(collection.ids(where=where))


def _as_hits(collection: Collection, scored: list[tuple[str, float]]) -> list[Hit]:
    """Collection hits (metadata and source from the store) for ``(id, score)`` pairs; ids no longer stored are
    dropped (a keyword index passed in by the caller may be older than the collection)."""
    if not scored:
        return []
    found = {it.id: it for it in collection.get([i for i, _ in scored], missing="skip")}
    return [Hit(i, float(s), found[i].metadata, found[i].source) for i, s in scored if i in found]


def _with_score(hit: Hit, score: float) -> Hit:
    return replace(hit, score=float(score))
