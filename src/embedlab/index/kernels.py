"""Search kernels every index kind runs on.

FAISS's exhaustive scans and heaps, top-k merging, ID selectors, query preparation and FAISS's thread settings.
Indexes (``exact``, ``coded`` and the kinds) import these; this module imports no index.

Scores are higher-is-better throughout (``embedlab.metrics``): inner products for cosine / dot, the negated
Euclidean distance for l2. Results are ``(n_queries, k)``, best first, padded with id -1 / score -inf.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import faiss as _faiss
import numpy as np
from numpy.typing import ArrayLike

from .._threads import cpu_count
from ..metrics import as_matrix

faiss: Any = _faiss  # its generated stubs lack much of the SWIG API used here (SearchParametersHNSW, ...)
swig_ptr = faiss.swig_ptr

OVERFETCH_MAX = 256  # at most this many dead rows in a matrix: search k + dead and drop them
GATHER_BYTES = 256 << 20  # cap on the rows copied at once when searching a subset with BLAS
SELECTOR_MAX_QUERIES = 20  # below this FAISS scans row by row anyway, so a selector costs nothing extra
GEMV_MIN_DIM = 100  # one query with many dead rows, dim >= this: one BLAS mat-vec with the dead rows masked


def n_threads() -> int:
    """Threads for FAISS work: OMP_NUM_THREADS when set (embedlab sets it to the core count), else the cores.

    Returns
    -------
    int
        >= 1.
    """
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else cpu_count()


faiss.omp_set_num_threads(n_threads())  # once, at import (FAISS may have been imported before embedlab)
#: FAISS's thread count outside single-query sections
THREADS = n_threads()
#: the C function itself (a single query toggles it twice; the Python wrapper costs a fair part of a fast query)
set_threads = faiss._swigfaiss.omp_set_num_threads
_norm_sq = faiss._swigfaiss.fvec_norm_L2sqr  # (float*, d) -> squared norm; single queries call the C functions
_renorm = faiss._swigfaiss.fvec_renorm_L2  # (d, n, float*): unit rows in place, as faiss.normalize_L2
_F32 = np.dtype(np.float32)  # native float32 (a non-native byte order takes the general path)


@contextmanager
def query_threads(nq: int) -> Iterator[None]:
    """A context in which FAISS runs one query on one thread.

    FAISS's scans of a single query otherwise open a parallel region over the rows: on an idle 2-core machine that
    gains nothing (the scan is memory-bound), and on a busy one the threads wait on each other at every barrier
    (measured: flat, int8 and binary scans 6-200x slower with 2 threads than with 1 at load 20). Batches keep
    every thread (FAISS splits them by query).

    Parameters
    ----------
    nq : int
        Queries the block searches; 1 sets FAISS to one thread for the block (``n_threads()`` afterwards), more
        leave the setting alone.
    """
    if nq > 1:
        yield
        return
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(n_threads())


@contextmanager
def build_threads(threads: int | None) -> Iterator[None]:
    """A context in which a FAISS build runs on ``threads`` threads, restored afterwards.

    Parameters
    ----------
    threads : int or None
        OpenMP threads for the block (1 makes an HNSW build reproducible for a seed); None or 0: leave the
        setting alone.
    """
    if not threads:
        yield
        return
    current = n_threads()
    faiss.omp_set_num_threads(int(threads))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(current)


def neg_distances(D: np.ndarray) -> np.ndarray:
    """Squared L2 distances (as FAISS returns them) to higher-is-better scores -sqrt(max(d, 0)), in place.

    Parameters
    ----------
    D : np.ndarray
        float32 squared distances, any shape; overwritten.

    Returns
    -------
    np.ndarray
        ``D`` itself: minus the Euclidean distances (<= 0).
    """
    np.maximum(D, 0.0, out=D)
    np.sqrt(D, out=D)
    np.negative(D, out=D)
    return D


# ---------------------------------------------------------------------------------------------- queries
def unit_rows(q: np.ndarray) -> np.ndarray:
    """A unit-length copy of the rows (zero rows stay zero); FAISS's kernel, cheap even for one query.

    Parameters
    ----------
    q : np.ndarray
        ``(n, d)`` float rows.

    Returns
    -------
    np.ndarray
        ``(n, d)`` float32, C order, each row scaled to length 1.
    """
    out = np.array(q, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(out)
    return out


def prepare_queries(queries: ArrayLike, dim: int, metric: str) -> np.ndarray:
    """Queries as an index compares them: float32 ``(n, dim)``, unit rows for cosine.

    One float32 query row takes a short path: FAISS's own kernels (as ``unit_rows`` uses for batches) give its
    squared norm, which both proves every value finite and normalises a copy in place.

    Parameters
    ----------
    queries : array_like
        ``(n, dim)`` or one ``(dim,)`` vector, any real dtype.
    dim : int
        The index's dimension.
    metric : str
        ``cosine`` (rows normalised), ``dot`` or ``l2``.

    Returns
    -------
    np.ndarray
        ``(n, dim)`` float32, C order.

    Raises
    ------
    InputError
        Wrong dimension, not 1-D/2-D, or non-finite values.
    """
    if (type(queries) is np.ndarray and queries.dtype is _F32 and queries.size == dim
            and queries.ndim <= 2 and queries.shape[-1] == dim):
        if metric != "cosine":
            row = np.ascontiguousarray(queries.reshape(1, dim))
            if math.isfinite(_norm_sq(swig_ptr(row), dim)):
                return row
        else:
            row = queries.reshape(1, dim).copy()  # C order; normalised in place
            ptr = swig_ptr(row)
            if math.isfinite(_norm_sq(ptr, dim)):
                _renorm(dim, 1, ptr)
                return row
    q = as_matrix(queries, dim=dim, name="query vectors")
    return unit_rows(q) if metric == "cosine" else q


# ---------------------------------------------------------------------------------------------- exhaustive scans
def faiss_knn(
    q: np.ndarray, mat: np.ndarray, k: int, metric: str, sel: Any | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows of ``mat`` per query as (higher-is-better scores, row numbers); ``k <= len(mat)``.

    Calls FAISS's exhaustive kernels on the arrays in place (no copy, memmaps welcome); one query runs on one
    thread. A BLAS matrix-vector product + argpartition was used for one wide query until 2026-11-30, when a quiet
    machine measured FAISS's single-thread scan 1.4-1.7x faster at 100-384 dims and 20k-1M rows (equal at 768):
    the argpartition over every score costs more than the scan saves, and the scan is memory-bound anyway.

    Parameters
    ----------
    q : np.ndarray
        ``(nq, d)`` float32, C order.
    mat : np.ndarray
        ``(n, d)`` float32, C order (a read-only memory map is fine).
    k : int
        Results per query, ``1 <= k <= n``.
    metric : str
        ``cosine``/``dot`` (inner product) or ``l2``.
    sel : faiss.IDSelector, optional
        Only the rows it accepts are scanned.

    Returns
    -------
    scores : np.ndarray
        ``(nq, k)`` float32, best first.
    rows : np.ndarray
        ``(nq, k)`` int64 row numbers of ``mat`` (-1 where fewer rows pass ``sel``).
    """
    nq, d = q.shape
    D = np.empty((nq, k), dtype=np.float32)
    I = np.empty((nq, k), dtype=np.int64)
    ptr = swig_ptr
    if nq == 1:  # one query, one thread (see query_threads)
        set_threads(1)
    try:
        if metric == "l2":
            faiss.knn_L2sqr(ptr(q), ptr(mat), d, nq, len(mat), k, ptr(D), ptr(I), None, sel)
        else:
            faiss.knn_inner_product(ptr(q), ptr(mat), d, nq, len(mat), k, ptr(D), ptr(I), sel)
    finally:
        if nq == 1:
            set_threads(THREADS)
    if metric == "l2":
        neg_distances(D)
    return D, I


def faiss_search(index: Any, q: np.ndarray, k: int, params: Any = None, binary: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
    """FAISS's ``index.search`` without its Python wrapper's checks (the caller did them).

    Calls the SWIG ``search_c`` with the results going straight into new arrays.

    Parameters
    ----------
    index : faiss.Index or faiss.IndexBinary
        Any FAISS index.
    q : np.ndarray
        ``(nq, d)`` float32 (``(nq, d / 8)`` uint8 codes for a binary index), C order.
    k : int
        Results per query.
    params : faiss.SearchParameters, optional
        Per-call settings (efSearch, nprobe, a selector).
    binary : bool
        Whether ``index`` is a binary index (int32 Hamming distances).

    Returns
    -------
    distances : np.ndarray
        ``(nq, k)`` as FAISS reports them (float32; int32 for binary), FAISS's order.
    positions : np.ndarray
        ``(nq, k)`` int64 FAISS row numbers, -1 where fewer than k qualify.
    """
    n = len(q)
    D = np.empty((n, k), np.int32 if binary else np.float32)
    I = np.empty((n, k), np.int64)
    index.search_c(n, swig_ptr(q), k, swig_ptr(D), swig_ptr(I), params)
    return D, I


def _wide_single(q: np.ndarray, metric: str) -> bool:
    """One dot/cosine query over rows wide enough for the masked mat-vec (many dead rows) to beat a selector."""
    return len(q) == 1 and metric != "l2" and q.shape[1] >= GEMV_MIN_DIM


def _gemv_top(qv: np.ndarray, mat: np.ndarray, k: int, dead: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows by ``mat @ qv``, never a ``dead`` row (k must not exceed the live rows)."""
    s = mat @ qv
    if dead is not None:
        s[dead] = -np.inf
    top = np.argpartition(s, len(s) - k)[len(s) - k:]
    top = top[np.lexsort((top, -s[top]))]  # best first, ties by row number (as FAISS orders them)
    return s[top][None].astype(np.float32, copy=False), top[None].astype(np.int64, copy=False)


def bitmap_selector(mask: np.ndarray) -> tuple[Any, np.ndarray]:
    """A FAISS selector accepting the rows where ``mask`` is True.

    Parameters
    ----------
    mask : np.ndarray
        ``(n,)`` bool, one entry per row.

    Returns
    -------
    selector : faiss.IDSelectorBitmap
        Accepts row ``i`` where ``mask[i]``.
    bits : np.ndarray
        The packed bitmap the selector points into: keep it alive as long as the selector.
    """
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(len(mask), swig_ptr(bits)), bits


def merge_topk(parts: list[tuple[np.ndarray, np.ndarray]], nq: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-part results into the k best per query.

    Parameters
    ----------
    parts : list of (scores, ids)
        Each ``(nq, m)`` float32 scores (higher is better) and int64 ids; parts may have different widths.
    nq : int
        Queries.
    k : int
        Results per query.

    Returns
    -------
    ids : np.ndarray
        ``(nq, k)`` int64, best first, padded with -1.
    scores : np.ndarray
        ``(nq, k)`` float32, padded with -inf.
    """
    parts = [p for p in parts if p[0].shape[1]]
    if len(parts) == 1 and parts[0][0].shape[1] == k:
        return parts[0][1], parts[0][0]
    out_ids = np.full((nq, k), -1, dtype=np.int64)
    out_sc = np.full((nq, k), -np.inf, dtype=np.float32)
    if parts:
        sc = np.concatenate([p[0] for p in parts], axis=1)
        ids = np.concatenate([p[1] for p in parts], axis=1)
        order = np.argsort(-sc, axis=1, kind="stable")[:, :k]
        m = order.shape[1]
        out_sc[:, :m] = np.take_along_axis(sc, order, axis=1)
        out_ids[:, :m] = np.take_along_axis(ids, order, axis=1)
        out_ids[out_sc == -np.inf] = -1
    return out_ids, out_sc


def search_matrix(
    q: np.ndarray,
    mat: np.ndarray,
    row_ids: np.ndarray,
    k: int,
    metric: str,
    dead: np.ndarray | None = None,
    n_dead: int = 0,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k over one matrix, skipping ``dead`` rows, or over the subset ``rows`` only.

    Parameters
    ----------
    q : np.ndarray
        ``(nq, d)`` float32 queries, prepared (``prepare_queries``).
    mat : np.ndarray
        ``(n, d)`` float32 rows, C order (never copied whole; a memory map is fine).
    row_ids : np.ndarray
        ``(n,)`` int64 id of each row.
    k : int
        Results per query (>= 1).
    metric : str
        ``cosine``, ``dot`` or ``l2``.
    dead : np.ndarray, optional
        ``(n,)`` bool, rows never returned; ``n_dead`` of them are True.
    n_dead : int
        How many ``dead`` rows there are.
    rows : np.ndarray, optional
        Sorted row numbers: search only these (``dead`` is then ignored).

    Returns
    -------
    scores : np.ndarray
        ``(nq, m)`` float32, best first, ``m = min(k, rows that qualify)``.
    ids : np.ndarray
        ``(nq, m)`` int64 ids from ``row_ids``.
    """
    nq, n = len(q), len(mat)
    if rows is None and n_dead == 0:
        kk = min(k, n)
        if kk == 0:
            return np.empty((nq, 0), np.float32), np.empty((nq, 0), np.int64)
        D, I = faiss_knn(q, mat, kk, metric)
        return D, row_ids[I]
    if rows is None and _wide_single(q, metric):  # dead rows masked in the one mat-vec: no copy, no selector
        kk = min(k, n - n_dead)
        if kk == 0:
            return np.empty((nq, 0), np.float32), np.empty((nq, 0), np.int64)
        D, I = _gemv_top(q[0], mat, kk, dead)
        return D, row_ids[I]
    if rows is None and n_dead <= OVERFETCH_MAX:
        assert dead is not None  # n_dead > 0 comes with its mask
        kk = min(k + n_dead, n)
        D, I = faiss_knn(q, mat, kk, metric)
        keep = ~dead[I]
        # live hits keep their order; move them to the front, then cut to k
        order = np.argsort(~keep, axis=1, kind="stable")[:, : min(k, n - n_dead)]
        D = np.take_along_axis(D, order, axis=1)
        return D, row_ids[np.take_along_axis(I, order, axis=1)]
    if rows is None:
        assert dead is not None
        rows = np.flatnonzero(~dead)
    if len(rows) == 0:
        return np.empty((nq, 0), np.float32), np.empty((nq, 0), np.int64)
    if nq < SELECTOR_MAX_QUERIES and len(rows) * 8 > n:  # few queries, many rows: scan in place, no copy
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        sel, _bits = bitmap_selector(mask)
        kk = min(k, len(rows))
        D, I = faiss_knn(q, mat, kk, metric, sel)
        return D, row_ids[I]
    step = max(1, GATHER_BYTES // (4 * mat.shape[1]))
    parts = []
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        sub = np.take(mat, chunk, axis=0)
        kk = min(k, len(chunk))
        D, I = faiss_knn(q, sub, kk, metric)
        parts.append((D, row_ids[chunk[I]]))
    if len(parts) == 1:
        return parts[0]
    ids, sc = merge_topk(parts, nq, min(k, len(rows)))
    return sc, ids


def padded_topk(q: np.ndarray, mat: np.ndarray, row_ids: np.ndarray, k: int, metric: str,
                rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``search_matrix`` as an index answers: (ids, scores) padded to ``(nq, k)`` with -1 / -inf.

    The answer of an index whose only candidates are these rows (an untrained index's buffer, a filter kept
    small enough to search exactly).

    Parameters
    ----------
    q : np.ndarray
        ``(nq, d)`` float32 queries, prepared (``prepare_queries``).
    mat : np.ndarray
        ``(n, d)`` float32 rows, C order.
    row_ids : np.ndarray
        ``(n,)`` int64 id of each row.
    k : int
        Results per query (>= 1).
    metric : str
        ``cosine``, ``dot`` or ``l2``.
    rows : np.ndarray, optional
        Sorted row numbers: search only these.

    Returns
    -------
    ids : np.ndarray
        ``(nq, k)`` int64, best first, padded with -1.
    scores : np.ndarray
        ``(nq, k)`` float32, higher is better, padded with -inf.
    """
    nq = len(q)
    out_ids = np.full((nq, k), -1, np.int64)
    out_sc = np.full((nq, k), -np.inf, np.float32)
    if len(mat) if rows is None else len(rows):
        sc, ids = search_matrix(q, mat, row_ids, k, metric, rows=rows)
        out_ids[:, : ids.shape[1]], out_sc[:, : sc.shape[1]] = ids, sc
    return out_ids, out_sc
