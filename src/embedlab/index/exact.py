"""Exact nearest-neighbour search: FAISS's BLAS kernels and heaps over one or two float32 matrices.

Rows live in a *base* matrix (which may be a caller's read-only ``np.memmap``, never copied) and a small
growable *tail* for rows added later. Removal marks tombstones; searches skip them (over-fetching when there
are few, a FAISS ID selector or a chunked gather when there are many), and once more than a quarter of the
rows are dead the live rows are compacted into a fresh base so the space is reclaimed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np
from numpy.typing import ArrayLike

from .._threads import cpu_count
from ..errors import InputError
from ..metrics import as_matrix, normalize
from . import _store
from .base import Index
from .quantize import PRECISION_FORMAT

faiss: Any = _faiss  # its generated stubs lack much of the SWIG API used here (SearchParametersHNSW, ...)

COMPACT_FRACTION = 0.25  # dead/total rows above which the arrays are rebuilt
OVERFETCH_MAX = 256  # at most this many dead rows in a matrix: search k + dead and drop them
GATHER_BYTES = 256 << 20  # cap on the rows copied at once when searching a subset with BLAS
SELECTOR_MAX_QUERIES = 20  # below this FAISS scans row by row anyway, so a selector costs nothing extra
GEMV_MIN_DIM = 100  # one query with many dead rows, dim >= this: one BLAS mat-vec with the dead rows masked


def n_threads() -> int:
    """Threads for FAISS work: OMP_NUM_THREADS when set (embedlab sets it to the core count), else the cores."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else cpu_count()


faiss.omp_set_num_threads(n_threads())  # once, at import (FAISS may have been imported before embedlab)
_THREADS = n_threads()
_set_threads = faiss._swigfaiss.omp_set_num_threads  # the C function itself (single queries toggle it twice)


def faiss_knn(
    q: np.ndarray, mat: np.ndarray, k: int, metric: str, sel: Any | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k rows of ``mat`` per query as (higher-is-better scores, row numbers); ``k <= len(mat)``.

    Calls FAISS's exhaustive kernels on the arrays in place (no copy, memmaps welcome); one query runs on one
    thread. A BLAS matrix-vector product + argpartition was used for one wide query until 2026-11-30, when a quiet
    machine measured FAISS's single-thread scan 1.4-1.7x faster at 100-384 dims and 20k-1M rows (equal at 768):
    the argpartition over every score costs more than the scan saves, and the scan is memory-bound anyway.
    """
    return _knn(q, mat, k, metric, sel)


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


@contextmanager
def query_threads(nq: int) -> Iterator[None]:
    """FAISS runs one query on one thread. Its scans of a single query otherwise open a parallel region over the
    rows: on an idle 2-core machine that gains nothing (the scan is memory-bound), and on a busy one the threads
    wait on each other at every barrier (measured: flat, int8 and binary scans 6-200x slower with 2 threads
    than with 1 at load 20). Batches keep every thread (FAISS splits them by query)."""
    if nq > 1:
        yield
        return
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(n_threads())


def _knn(
    q: np.ndarray, mat: np.ndarray, k: int, metric: str, sel: Any | None = None
) -> tuple[np.ndarray, np.ndarray]:
    nq, d = q.shape
    D = np.empty((nq, k), dtype=np.float32)
    I = np.empty((nq, k), dtype=np.int64)
    ptr = faiss.swig_ptr
    if nq == 1:  # one query, one thread (see query_threads)
        _set_threads(1)
    try:
        if metric == "l2":
            faiss.knn_L2sqr(ptr(q), ptr(mat), d, nq, len(mat), k, ptr(D), ptr(I), None, sel)
        else:
            faiss.knn_inner_product(ptr(q), ptr(mat), d, nq, len(mat), k, ptr(D), ptr(I), sel)
    finally:
        if nq == 1:
            _set_threads(_THREADS)
    if metric == "l2":
        np.maximum(D, 0.0, out=D)
        np.sqrt(D, out=D)
        np.negative(D, out=D)
    return D, I


def unit_rows(q: np.ndarray) -> np.ndarray:
    """A unit-length copy of the rows (zero rows stay zero); FAISS's kernel, cheap even for one query."""
    out = np.array(q, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(out)
    return out


def bitmap_selector(mask: np.ndarray) -> tuple[Any, np.ndarray]:
    """A FAISS selector accepting the rows where ``mask`` is True (keep the returned bitmap alive)."""
    bits = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)), bits


def merge_topk(parts: list[tuple[np.ndarray, np.ndarray]], nq: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge per-part (scores, ids) into the k best per row, padded with id -1 / score -inf."""
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

    Returns (scores, ids) with at most k columns (fewer when fewer rows qualify).
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


class ExactIndex(Index):
    """Exact search (brute force with FAISS kernels); the reference every approximate index is measured against.

    >>> idx = ExactIndex(3, "cosine"); idx.add([7, 8], [[1, 0, 0], [0, 1, 0]])
    >>> idx.search([[1, 0.1, 0]], k=1)[0]
    array([[7]])
    """

    kind = "exact"

    def __init__(self, dim: int, metric: str = "cosine") -> None:
        super().__init__(dim, metric)
        self._set_base(np.empty((0, self.dim), np.float32), np.empty(0, np.int64))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_matrix(
        cls, ids: ArrayLike, matrix: ArrayLike, metric: str = "cosine", prepared: bool = True, copy: bool = False
    ) -> ExactIndex:
        """Wrap an existing ``(n, d)`` float32 matrix (e.g. a read-only ``np.memmap``) without copying it.

        ``prepared=True`` promises the rows are already as the index stores them (unit length for cosine, finite),
        so nothing is read at open time; ``prepared=False`` checks and, for cosine, normalises (a copy).
        """
        mat = np.asarray(matrix)
        if mat.ndim != 2:
            raise InputError(f"matrix must be 2-D, got shape {mat.shape}")
        self = cls(mat.shape[1], metric)
        if not prepared:
            mat = as_matrix(mat, dim=self.dim, name="matrix")
            if self.metric == "cosine":
                mat, copy = normalize(mat), False
        owned = not (isinstance(matrix, np.ndarray) and np.may_share_memory(mat, matrix))
        if mat.dtype != np.float32 or not mat.flags.c_contiguous or copy:
            mat, owned = np.array(mat, dtype=np.float32, order="C", copy=True), True
        ids = np.asarray(ids, dtype=np.int64).ravel()
        if len(ids) != len(mat):
            raise InputError(f"got {len(ids)} ids for {len(mat)} rows; pass one id per row")
        self._set_base(mat, ids, owned)
        return self

    def _set_base(self, mat: np.ndarray, ids: np.ndarray, owned: bool = True) -> None:
        self._base, self._base_ids = mat, ids
        self._base_owned = owned  # False: the caller's matrix (e.g. a memmap); never compacted behind its back
        self._base_dead: np.ndarray | None = None
        self._base_ndead = 0
        self._order = np.argsort(ids, kind="stable")
        self._sorted = ids[self._order]
        if len(ids) > 1 and (self._sorted[1:] == self._sorted[:-1]).any():
            dup = self._sorted[1:][self._sorted[1:] == self._sorted[:-1]][:5].tolist()
            raise InputError(f"ids must be unique; repeated: {dup}")
        self._tail = np.empty((0, self.dim), np.float32)
        self._tail_ids = np.empty(0, np.int64)
        self._tail_dead = np.empty(0, bool)
        self._tail_n = self._tail_ndead = 0
        self._tail_pos: dict[int, int] = {}

    # ------------------------------------------------------------------ lookup
    def _locate(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each id: where it lives (0 absent/removed, 1 base, 2 tail) and its row there."""
        where = np.zeros(len(ids), np.int8)
        rows = np.full(len(ids), -1, np.int64)
        nb = len(self._base_ids)
        if nb and len(ids):
            pos = np.minimum(np.searchsorted(self._sorted, ids), nb - 1)
            hit = self._sorted[pos] == ids
            r = self._order[pos]
            if self._base_dead is not None:
                hit &= ~self._base_dead[r]
            where[hit], rows[hit] = 1, r[hit]
        if self._tail_pos:
            for i in np.flatnonzero(where == 0):
                t = self._tail_pos.get(int(ids[i]))
                if t is not None:
                    where[i], rows[i] = 2, t
        return where, rows

    def _rows(self) -> int:
        return len(self._base_ids) + self._tail_n

    def __len__(self) -> int:
        return self._rows() - self._base_ndead - self._tail_ndead

    def ids(self) -> np.ndarray:
        base = self._base_ids if self._base_dead is None else self._base_ids[~self._base_dead]
        tail = self._tail_ids[: self._tail_n][~self._tail_dead[: self._tail_n]]
        return np.concatenate([base, tail])

    def memory_bytes(self) -> int:
        """Bytes of the rows (base + appended tail) and the id maps."""
        return int(self._base.nbytes + self._base_ids.nbytes + self._order.nbytes + self._sorted.nbytes
                   + self._tail.nbytes + self._tail_ids.nbytes + self._tail_dead.nbytes)

    def _live(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """Live ids and the row blocks (views where possible) holding their vectors, in the same order."""
        blocks = [self._base if self._base_dead is None else self._base[~self._base_dead]]
        blocks.append(self._tail[: self._tail_n][~self._tail_dead[: self._tail_n]])
        return self.ids(), blocks

    # ------------------------------------------------------------------ mutation
    def add(self, ids: Iterable[int], vectors: ArrayLike) -> None:
        vecs = as_matrix(vectors, dim=self.dim, name="vectors")
        ids = self._ids(ids, len(vecs))
        if not len(ids):
            return
        where, _ = self._locate(ids)
        if where.any():
            dup = ids[where > 0][:5].tolist()
            raise InputError(f"ids already in the index: {dup}; remove them first to replace their vectors")
        vecs = normalize(vecs) if self.metric == "cosine" else vecs
        if self._tail_n + len(ids) > len(self._base_ids):  # tail would outgrow base: fold all into a new base
            live_ids, blocks = self._live()
            self._set_base(np.concatenate(blocks + [vecs]).astype(np.float32, copy=False),
                           np.concatenate([live_ids, ids]))
            return
        need = self._tail_n + len(ids)
        if need > len(self._tail):
            cap = max(need, 2 * len(self._tail), 1024)
            for name, shape, dt in (("_tail", (cap, self.dim), np.float32), ("_tail_ids", (cap,), np.int64),
                                    ("_tail_dead", (cap,), bool)):
                new = np.zeros(shape, dt)
                new[: self._tail_n] = getattr(self, name)[: self._tail_n]
                setattr(self, name, new)
        s = self._tail_n
        self._tail[s:need] = vecs
        self._tail_ids[s:need] = ids
        self._tail_dead[s:need] = False
        self._tail_pos.update(zip(ids.tolist(), range(s, need), strict=True))
        self._tail_n = need

    def remove(self, ids: Iterable[int]) -> int:
        ids = np.unique(np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, np.int64).ravel())
        where, rows = self._locate(ids)
        base_rows = rows[where == 1]
        if len(base_rows):
            if self._base_dead is None:
                self._base_dead = np.zeros(len(self._base_ids), bool)
            self._base_dead[base_rows] = True
            self._base_ndead += len(base_rows)
        tail_rows = rows[where == 2]
        if len(tail_rows):
            self._tail_dead[tail_rows] = True
            self._tail_ndead += len(tail_rows)
            for i in self._tail_ids[tail_rows].tolist():
                del self._tail_pos[i]
        removed = int((where > 0).sum())
        if removed and (self._base_ndead + self._tail_ndead) > COMPACT_FRACTION * self._rows():
            if self._base_owned:
                self.compact()
            elif self._tail_ndead > COMPACT_FRACTION * self._tail_n:
                self._compact_tail()
        return removed

    def _compact_tail(self) -> None:
        keep = ~self._tail_dead[: self._tail_n]
        n = int(keep.sum())
        self._tail[:n] = self._tail[: self._tail_n][keep]
        self._tail_ids[:n] = self._tail_ids[: self._tail_n][keep]
        self._tail_dead[:n] = False
        self._tail_n, self._tail_ndead = n, 0
        self._tail_pos = dict(zip(self._tail_ids[:n].tolist(), range(n), strict=True))

    def compact(self) -> None:
        """Rebuild the arrays from the live rows only (drops tombstones, reclaims their memory).

        Runs by itself once more than a quarter of the rows are dead, except over a matrix wrapped with
        ``from_matrix`` (a memory map stays a memory map; call this to trade it for an in-RAM copy)."""
        live_ids, blocks = self._live()
        mat = np.concatenate(blocks) if len(blocks[1]) else np.array(blocks[0], dtype=np.float32, order="C")
        self._set_base(mat, live_ids)

    # ------------------------------------------------------------------ search
    def search(
        self, queries: ArrayLike, k: int = 10, filter: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact k best rows per query (ids, scores), best first; ``filter`` restricts to those ids."""
        k = self._check_k(k)
        q = self._queries(queries)
        if self.metric == "cosine":
            q = unit_rows(q)
        segs = [(self._base, self._base_ids, self._base_dead, self._base_ndead)]
        if self._tail_n:
            n = self._tail_n
            segs.append((self._tail[:n], self._tail_ids[:n], self._tail_dead[:n], self._tail_ndead))
        parts = []
        if filter is None:
            for mat, ids, dead, nd in segs:
                if len(mat) - nd > 0:
                    parts.append(search_matrix(q, mat, ids, k, self.metric, dead, nd))
        else:
            fids = np.unique(np.asarray(list(filter) if not isinstance(filter, np.ndarray) else filter, np.int64))
            where, rows = self._locate(fids)
            for seg_no, (mat, ids, _, _) in enumerate(segs, start=1):
                sub = np.sort(rows[where == seg_no])
                if len(sub):
                    parts.append(search_matrix(q, mat, ids, k, self.metric, rows=sub))
        return merge_topk(parts, len(q), k)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write the live rows to ``path`` (``index.json``, ``ids.npy``, ``vectors.npy``) atomically."""
        live_ids, blocks = self._live()

        def write_vectors(p: Path) -> None:
            out = np.lib.format.open_memmap(p, mode="w+", dtype=np.float32, shape=(len(live_ids), self.dim))
            at = 0
            step = max(1, GATHER_BYTES // (4 * self.dim))
            for block in blocks:
                for s in range(0, len(block), step):
                    part = block[s : s + step]
                    out[at : at + len(part)] = part
                    at += len(part)
            out.flush()
            del out

        _store.write_folder(
            path,
            {"kind": self.kind, "dim": self.dim, "metric": self.metric, "params": {}, "count": len(live_ids),
             "precision": {"format": PRECISION_FORMAT, "name": "float32", "rescore": None}},
            {"ids.npy": lambda p: np.save(p, live_ids), "vectors.npy": write_vectors},
        )

    @classmethod
    def load(cls, path: str | Path, mmap: bool = False) -> ExactIndex:
        """Read an index written by ``save``; ``mmap=True`` maps the vectors read-only instead of reading them
        (fast open; checksums are then skipped, sizes and headers are still checked)."""
        from ._coded import precision_block

        folder = Path(path)
        doc = _store.read_manifest(folder, cls.kind)
        name = precision_block(folder, doc)["name"]
        if name != "float32":
            raise InputError(f"index at {folder} holds {name} codes, not float32 rows; open it with "
                             "embedlab.index.load_index")
        n, dim = int(doc["count"]), int(doc["dim"])
        ids = _store.load_npy(folder, doc, "ids.npy", np.int64, (n,))
        mat = _store.load_npy(folder, doc, "vectors.npy", np.float32, (n, dim), mmap=mmap)
        try:
            return cls.from_matrix(ids, mat, doc["metric"], prepared=True)
        except InputError as exc:
            raise _store.corrupt(folder, str(exc)) from None
