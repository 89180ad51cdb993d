"""Re-ranking candidates with their float32 vectors: the second stage of every compressed search.

An index with compressed codes (float16, int8, binary, PQ) fetches ``rescore × k`` candidates by their codes;
``rescore_topk`` reads those candidates' float32 rows (one read of the distinct ids, sorted, so memory-mapped
segments are read in file order) and keeps the k best by their exact scores.
"""

from __future__ import annotations

import numpy as np

from .base import RowSource
from .kernels import faiss, neg_distances


def rescore_topk(q: np.ndarray, cand: np.ndarray, fetch: RowSource, k: int, metric: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The k best of each query's candidate ids by exact float32 scores.

    Each distinct candidate's row is fetched once (ids sorted, so memory maps are read in file order) and scored
    with FAISS's gathered products (``fvec_inner_products_by_idx`` / ``fvec_L2sqr_by_idx``, what FAISS's
    ``IndexRefineFlat`` runs): the re-ranking stage of Jégou et al. (2011) [1]_.

    Parameters
    ----------
    q : np.ndarray
        ``(nq, d)`` float32 queries, prepared (unit length for cosine).
    cand : np.ndarray
        ``(nq, c)`` int64 candidate ids (or positions: whatever ``fetch`` takes), -1 = none.
    fetch : RowSource
        ``(m,)`` sorted distinct ids -> ``(m, d)`` float32 rows, as the index stores them.
    k : int
        Results per query (>= 1).
    metric : str
        ``cosine``, ``dot`` (inner product) or ``l2`` (minus the Euclidean distance).

    Returns
    -------
    ids : np.ndarray
        ``(nq, k)`` int64, best first, ties by smaller id, padded with -1.
    scores : np.ndarray
        ``(nq, k)`` float32, higher is better, padded with -inf.

    References
    ----------
    .. [1] H. Jégou, R. Tavenard, M. Douze and L. Amsaleg, "Searching in one billion vectors: re-rank with source
       coding", ICASSP 2011.
    """
    nq, c = cand.shape
    if nq == 1:
        return _rescore_one(q[0], cand[0], fetch, k, metric)
    out_ids = np.full((nq, k), -1, np.int64)
    out_sc = np.full((nq, k), -np.inf, np.float32)
    valid = cand >= 0
    if not valid.any():
        return out_ids, out_sc
    uniq, inv = np.unique(cand[valid], return_inverse=True)
    rows = fetch(uniq)  # each distinct candidate read once, in id order
    at = np.zeros(cand.shape, np.int64)  # each (query, candidate) slot -> its row in ``rows``
    at[valid] = inv
    sc = np.empty(cand.shape, np.float32)
    d = q.shape[1]
    qc = np.ascontiguousarray(q, dtype=np.float32)
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    ptr = faiss.swig_ptr
    # FAISS's gathered products (what IndexRefineFlat runs): score[i, j] = <q[i], rows[at[i, j]]>, no copies
    if metric == "l2":
        faiss.fvec_L2sqr_by_idx(ptr(sc), ptr(qc), ptr(rows), ptr(at), d, nq, c)
        neg_distances(sc)
    else:
        faiss.fvec_inner_products_by_idx(ptr(sc), ptr(qc), ptr(rows), ptr(at), d, nq, c)
    sc[~valid] = -np.inf
    ids = np.where(valid, cand, np.iinfo(np.int64).max)
    order = np.lexsort((ids, -sc), axis=1)[:, :k]
    m = order.shape[1]
    out_ids[:, :m] = np.take_along_axis(ids, order, axis=1)
    out_sc[:, :m] = np.take_along_axis(sc, order, axis=1)
    gone = out_sc == -np.inf
    out_ids[gone] = -1
    return out_ids, out_sc


def _rescore_one(q: np.ndarray, cand: np.ndarray, fetch: RowSource, k: int, metric: str
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``rescore_topk`` for one query: its candidates are distinct, so a sort replaces the unique/gather."""
    c = cand[cand >= 0] if cand[-1] < 0 else cand.copy()  # FAISS pads the tail with -1
    c.sort()  # (ndarray methods here and below: the np.* wrappers cost a fair part of a fast query)
    if metric == "l2":
        diff = fetch(c) - q
        s = -np.sqrt(np.einsum("ij,ij->i", diff, diff))
    else:
        s = fetch(c) @ q
    order = (-s).argsort(kind="stable")[:k]  # c is sorted, so ties go to the smaller id
    m = len(order)
    if m == k:
        return c[order][None], s[order].astype(np.float32, copy=False)[None]
    out_ids = np.full((1, k), -1, np.int64)
    out_sc = np.full((1, k), -np.inf, np.float32)
    out_ids[0, :m], out_sc[0, :m] = c[order], s[order]
    return out_ids, out_sc
