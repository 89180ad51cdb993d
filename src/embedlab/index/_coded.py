"""What the FAISS-backed index kinds share (HNSW, compressed exact, IVF): our int64 ids over FAISS row numbers,
tombstone deletes, filters, training, the float32 rows that rescore compressed codes, and persistence.

FAISS numbers rows 0..n-1 in insertion order ("positions"); we keep position -> id and a sorted id -> position
map. ``remove`` marks tombstones that searches exclude through a FAISS ID selector; once more than a quarter
of the positions are dead the index is rebuilt from the live rows. A filter keeping few rows is answered
exactly over their float32 rows (recall 1.0) when that costs less than the coded search would; a broad one
runs the coded search with a selector.

Float32 rows come from, in order: a *vector source* set with ``set_vector_source`` (a collection's memory-mapped
segments: resident memory stays the codes), FAISS's own storage (float32 HNSW), or the index's own copy (kept
when neither exists, saved as ``vectors.npy`` and memory-mapped by ``load(..., mmap=True)``).

An index that must be trained (int8 ranges, IVF centroids) keeps rows added before training in a float32
buffer, searched exactly, and trains itself on them once there are ``train_min()`` of them (or when ``train``
is called with a sample); then they move into the codes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np
from numpy.typing import ArrayLike

from ..errors import FormatVersionError, InputError
from ..metrics import as_matrix, normalize
from . import _store
from .base import Index
from .exact import bitmap_selector, n_threads, search_matrix, unit_rows
from .quantize import (
    PRECISION_FORMAT,
    Calibration,
    binarize,
    binary_bytes,
    check_precision,
    check_rescore,
    code_bytes,
)
from .rescore import RowSource, rescore_topk

faiss: Any = _faiss  # its generated stubs lack much of the SWIG API used here
swig_ptr = faiss.swig_ptr
set_threads = faiss._swigfaiss.omp_set_num_threads  # the C function itself: a single query toggles it twice
_norm_sq = faiss._swigfaiss.fvec_norm_L2sqr  # (float*, d) -> squared norm; single queries call the C functions
_renorm = faiss._swigfaiss.fvec_renorm_L2  # (d, n, float*): unit rows in place, as faiss.normalize_L2
_F32 = np.dtype(np.float32)  # native float32 (a non-native byte order takes the general path)
THREADS = n_threads()

COMPACT_FRACTION = 0.25  # dead/total positions above which the index is rebuilt
EXACT_FILTER_MIN = 2000  # a filter keeping at most this many rows is always searched exactly
ADD_CHUNK = 20_000  # rows per FAISS add call (progress bar granularity)
CALIBRATE_MIN = 1000  # an int8 index calibrates itself once this many rows were added (or on train())


class CodedIndex(Index):
    """Base of the FAISS-backed kinds; see the module docstring. Subclasses build the FAISS index and run its
    search (``_new_faiss``, ``_faiss_search``), and may need training (``_train_codes``)."""

    kind = "coded"
    data_file = "codes.faiss"
    #: whether FAISS would split one query's scan over threads (flat and binary scans): run it on one thread
    one_thread_query = True

    def __init__(self, dim: int, metric: str = "cosine", precision: str = "float32",
                 rescore: int | None = None) -> None:
        super().__init__(dim, metric)
        self.precision = check_precision(precision, self.metric)
        self.rescore = self._check_rescore(rescore)
        self.params: dict[str, Any] = {}
        self.calibration: Calibration | None = None
        self._source: RowSource | None = None
        self._bits = 8 * binary_bytes(self.dim)

    # ------------------------------------------------------------------ hooks for the kinds
    def _check_rescore(self, rescore: Any) -> int | None:
        return check_rescore(rescore, self.precision)

    def _new_faiss(self) -> Any:
        raise NotImplementedError

    def _faiss_search(self, q: np.ndarray, k: int, sel: Any, widen: float, **kw: Any) -> tuple[np.ndarray, np.ndarray]:
        """(distances, positions) of the k best codes per query; ``sel`` a FAISS selector or None; ``widen`` how
        much broader than usual to search (filters)."""
        raise NotImplementedError

    def _floats_in_faiss(self) -> bool:
        """Whether FAISS's own storage holds the float32 rows by position (float32 HNSW)."""
        return False

    def _faiss_floats(self) -> np.ndarray:
        raise NotImplementedError

    def _trainable(self) -> bool:
        """Whether the codes need training before rows can be added."""
        return self.precision == "int8"

    def train_min(self) -> int:
        """Rows an untrained index waits for before it trains itself on them."""
        return CALIBRATE_MIN

    def _train_codes(self, x: np.ndarray) -> None:
        """Train on prepared float32 rows (int8: calibrate the ranges)."""
        cal = Calibration.fit(x, self.dim)
        self.calibration = cal
        self._install_calibration()

    def _install_calibration(self) -> None:
        raise NotImplementedError

    def _code_bytes(self) -> int:
        return code_bytes(self.precision, self.dim)

    # ------------------------------------------------------------------ state
    def _reset(self, keep_training: bool = False) -> None:
        self._index = self._new_faiss()
        if keep_training and self.calibration is not None:
            self._install_calibration()
        elif not keep_training:
            self.calibration = None
        self._pos_ids = np.empty(0, np.int64)  # position -> id
        self._dead = np.empty(0, bool)
        self._n_dead = 0
        self._sorted = np.empty(0, np.int64)  # live ids, sorted
        self._order = np.empty(0, np.int64)  # their positions
        self._alive_sel: tuple[Any, np.ndarray] | None = None
        self._floats: np.ndarray | None = None  # own float32 rows by position (capacity may exceed ntotal)
        self._pending_ids = np.empty(0, np.int64)  # rows waiting for training
        self._pending = np.empty((0, self.dim), np.float32)

    @property
    def trained(self) -> bool:
        """Whether the codes are trained (always for kinds that need no training)."""
        return not self._trainable() or self._is_trained()

    def _is_trained(self) -> bool:
        return self.calibration is not None

    def _ntotal(self) -> int:
        return int(self._index.ntotal)

    def __len__(self) -> int:
        return len(self._sorted) + len(self._pending_ids)

    def ids(self) -> np.ndarray:
        return np.concatenate([self._pos_ids[~self._dead], self._pending_ids])

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Position of each live id, -1 where absent or removed (pending rows have none)."""
        if not len(self._sorted) or not len(ids):
            return np.full(len(ids), -1, np.int64)
        at = np.minimum(np.searchsorted(self._sorted, ids), len(self._sorted) - 1)
        return np.where(self._sorted[at] == ids, self._order[at], -1)

    def _selector_alive(self) -> Any:
        if self._alive_sel is None:
            self._alive_sel = bitmap_selector(~self._dead)
        return self._alive_sel[0]

    def memory_bytes(self) -> int:
        """Resident bytes of the codes, id maps and any float32 rows this index keeps itself (not a source's)."""
        n = self._ntotal()
        out = n * self._code_bytes() + self._pos_ids.nbytes + self._dead.nbytes + self._sorted.nbytes
        out += self._order.nbytes + self._pending.nbytes
        if self._floats is not None and not isinstance(self._floats, np.memmap):
            out += self._floats.nbytes
        return int(out)

    # ------------------------------------------------------------------ float32 rows
    def _keeps_floats(self) -> bool:
        """Whether this index must keep its own float32 copy (nothing else can give it the rows it rescores)."""
        return self._source is None and not self._floats_in_faiss() and self.rescore is not None

    def set_vector_source(self, source: RowSource | None) -> None:
        """Read float32 rows (for rescoring and exact filtered search) through ``source(ids) -> rows`` (sorted,
        distinct ids in; rows as the index stores them out: unit length for cosine) instead of keeping a copy.
        A Collection passes its memory-mapped segments, so resident memory stays the compressed codes."""
        self._source = source
        if source is not None:
            self._floats = None

    @property
    def has_vector_source(self) -> bool:
        return self._source is not None

    def _can_read_floats(self) -> bool:
        return self._source is not None or self._floats_in_faiss() or self._floats is not None

    def _fetch(self, ids: np.ndarray) -> np.ndarray:
        """Float32 rows of sorted, distinct live ids."""
        if self._source is not None:
            return self._source(ids)
        pos = self._positions(ids)
        if self._floats_in_faiss():
            return np.take(self._faiss_floats(), pos, axis=0)
        if self._floats is None:
            raise InputError(f"this {self.kind} index ({self.precision}) has no float32 vectors to rescore with: it "
                             "was saved without them (a collection keeps them in its segments); call "
                             "set_vector_source(fn) first")
        return np.take(self._floats, pos, axis=0)

    def _rows_at_positions(self, pos: np.ndarray) -> np.ndarray:
        if self._floats_in_faiss():
            return np.take(self._faiss_floats(), pos, axis=0)
        if self._floats is not None and self._source is None:
            return np.take(self._floats, pos, axis=0)
        ids = self._pos_ids[pos]
        o = np.argsort(ids, kind="stable")
        rows = np.empty((len(pos), self.dim), np.float32)
        rows[o] = self._fetch(ids[o])
        return rows

    def _keep_floats(self, start: int, vecs: np.ndarray) -> None:
        if not self._keeps_floats():
            return
        need = start + len(vecs)
        cur = self._floats
        if cur is None or len(cur) < need or not cur.flags.writeable:
            cap = max(need, 2 * (len(cur) if cur is not None else 0), 1024)
            new = np.empty((cap, self.dim), np.float32)
            if cur is not None and start:
                new[:start] = cur[:start]
            self._floats = cur = new
        cur[start:need] = vecs

    # ------------------------------------------------------------------ mutation
    def _prepare(self, vectors: ArrayLike) -> np.ndarray:
        vecs = as_matrix(vectors, dim=self.dim, name="vectors")
        return normalize(vecs) if self.metric == "cosine" else vecs

    def add(self, ids: Iterable[int], vectors: ArrayLike, progress: bool = False) -> None:
        vecs = as_matrix(vectors, dim=self.dim, name="vectors")
        ids = self._ids(ids, len(vecs))
        if not len(ids):
            return
        present = self._positions(ids) >= 0
        if len(self._pending_ids):
            present |= np.isin(ids, self._pending_ids)
        if present.any():
            raise InputError(
                f"ids already in the index: {ids[present][:5].tolist()}; remove them first to replace their vectors"
            )
        vecs = normalize(vecs) if self.metric == "cosine" else vecs
        if not self.trained:
            self._pending_ids = np.concatenate([self._pending_ids, ids])
            self._pending = np.concatenate([self._pending, vecs]).astype(np.float32, copy=False)
            if len(self._pending_ids) >= self.train_min():
                self._self_train()
            return
        self._insert(ids, vecs, progress)

    def _self_train(self) -> None:
        """Train on the buffered rows (when they allow it) and move them into the codes."""
        try:
            self._train_codes(self._sample(self._pending))
        except InputError:
            return  # e.g. all identical: keep buffering (searched exactly) until the rows allow training
        ids, vecs = self._pending_ids, self._pending
        self._pending_ids, self._pending = np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        self._insert(ids, vecs)

    def _sample(self, x: np.ndarray) -> np.ndarray:
        return x

    def train(self, vectors: ArrayLike) -> None:
        """Train the codes on a sample of vectors (int8: calibrate each dimension's range; IVF: the centroids).

        Rows already added are re-encoded with the new training (int8: recalibration). InputError for samples
        that cannot train (empty, all identical, fewer than an IVF's nlist)."""
        if not self._trainable():
            return
        x = self._prepare(vectors)
        live_ids, live = self._live_rows()
        self._reset()
        self._train_codes(x)
        if len(live_ids):
            o = np.argsort(live_ids, kind="stable")
            self._insert(live_ids[o], live[o])

    def _live_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Ids and float32 rows of every live row (coded and pending), for rebuilds."""
        live = np.flatnonzero(~self._dead)
        ids = self._pos_ids[live]
        rows = self._rows_at_positions(live) if len(live) else np.empty((0, self.dim), np.float32)
        return (np.concatenate([ids, self._pending_ids]),
                np.concatenate([np.asarray(rows, np.float32), self._pending]))

    def _codes_of(self, vecs: np.ndarray) -> np.ndarray:
        return binarize(vecs) if self.precision == "binary" else np.ascontiguousarray(vecs, dtype=np.float32)

    def _insert(self, ids: np.ndarray, vecs: np.ndarray, progress: bool = False) -> None:
        chunks: Iterable[int] = range(0, len(vecs), ADD_CHUNK)
        if progress:
            from tqdm.auto import tqdm

            chunks = tqdm(chunks, desc=f"{self.kind} build", unit="chunk")
        for s in chunks:  # bookkeeping follows each chunk, so an interrupted add leaves a consistent index
            start = self._ntotal()
            part = vecs[s : s + ADD_CHUNK]
            self._add_codes(self._codes_of(part), start)
            self._keep_floats(start, part)
            self._track(ids[s : s + ADD_CHUNK], start)

    def _add_codes(self, codes: np.ndarray, start: int) -> None:
        self._index.add(codes)

    def _track(self, ids: np.ndarray, start: int) -> None:
        pos = np.arange(start, start + len(ids), dtype=np.int64)
        self._pos_ids = np.concatenate([self._pos_ids, ids])
        self._dead = np.concatenate([self._dead, np.zeros(len(ids), bool)])
        o = np.argsort(ids, kind="stable")
        at = np.searchsorted(self._sorted, ids[o])
        self._sorted = np.insert(self._sorted, at, ids[o])
        self._order = np.insert(self._order, at, pos[o])
        self._alive_sel = None

    def remove(self, ids: Iterable[int]) -> int:
        ids = np.unique(np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, np.int64).ravel())
        gone = 0
        if len(self._pending_ids):
            keep = ~np.isin(self._pending_ids, ids)
            gone = int((~keep).sum())
            self._pending_ids, self._pending = self._pending_ids[keep], self._pending[keep]
        pos = self._positions(ids)
        pos = pos[pos >= 0]
        if not len(pos):
            return gone
        self._dead[pos] = True
        self._n_dead += len(pos)
        keep = ~np.isin(self._order, pos)
        self._sorted, self._order = self._sorted[keep], self._order[keep]
        self._alive_sel = None
        if self._n_dead > self._compact_fraction() * self._ntotal():
            self.compact()
        return gone + len(pos)

    def _compact_fraction(self) -> float:
        return COMPACT_FRACTION

    def compact(self, progress: bool = False) -> None:
        """Rebuild the codes from the live rows only (drops tombstones, reclaims their memory; int8 ranges are
        recalibrated from the live rows)."""
        ids, vecs = self._live_rows()
        ids, vecs = ids[: len(ids) - len(self._pending_ids)], vecs[: len(vecs) - len(self._pending)]
        pend_ids, pend = self._pending_ids, self._pending
        vecs = np.array(vecs, dtype=np.float32)  # detach from the storage being rebuilt
        self._reset(keep_training=not self._recalibrates())
        if self._trainable() and not self.trained and len(ids):
            try:
                self._train_codes(self._sample(vecs))
            except InputError:  # e.g. one row left: buffer it, searched exactly
                pass
        if not self.trained:
            self._pending_ids = np.concatenate([ids, pend_ids])
            self._pending = np.concatenate([vecs, pend]).astype(np.float32, copy=False)
            return
        if len(ids):
            self._insert(ids, vecs, progress)
        self._pending_ids, self._pending = pend_ids, pend

    def _recalibrates(self) -> bool:
        """Whether a rebuild re-trains (int8 ranges follow the live rows; IVF keeps its centroids)."""
        return self.precision == "int8"

    # ------------------------------------------------------------------ search
    def _query_rows(self, queries: ArrayLike) -> np.ndarray:
        """Queries as the index compares them: float32 (n, dim), unit rows for cosine. One float32 query row takes
        a short path: FAISS's own kernels (as ``unit_rows`` uses for batches) give its squared norm, which both
        proves every value finite and normalises a copy in place."""
        if (type(queries) is np.ndarray and queries.dtype is _F32 and queries.size == self.dim
                and queries.ndim <= 2 and queries.shape[-1] == self.dim):
            if self.metric != "cosine":
                row = np.ascontiguousarray(queries.reshape(1, self.dim))
                if math.isfinite(_norm_sq(swig_ptr(row), self.dim)):
                    return row
            else:
                row = queries.reshape(1, self.dim).copy()  # C order; normalised in place
                ptr = swig_ptr(row)
                if math.isfinite(_norm_sq(ptr, self.dim)):
                    _renorm(self.dim, 1, ptr)
                    return row
        q = self._queries(queries)
        return unit_rows(q) if self.metric == "cosine" else q

    def _exact_limit(self, k: int, widen: float, **kw: Any) -> int:
        """Kept rows up to which a filter is answered exactly over float32 rows instead of the coded search."""
        return EXACT_FILTER_MIN

    def _filter_widen(self, n: int, m: int) -> float:
        return 1.0

    def search(
        self, queries: ArrayLike, k: int = 10, filter: Iterable[int] | None = None, rescore: int | None = None,
        **kw: Any,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate k best rows per query (ids, scores), best first; with ``filter`` only those ids;
        ``rescore`` overrides the index's rescore factor for this call; other keywords are the kind's search
        parameters (``ef`` for HNSW, ``nprobe`` for IVF)."""
        k = self._check_k(k)
        q = self._query_rows(queries)
        r = self.rescore if rescore is None else self._check_rescore(rescore)
        if kw:  # no keywords pass every kind's check
            self._check_search_kw(kw)
        nq = len(q)
        if len(self._pending_ids):  # untrained: every row is in the float32 buffer
            return self._search_pending(q, k, filter)
        if not len(self._sorted):
            return np.full((nq, k), -1, np.int64), np.full((nq, k), -np.inf, np.float32)
        kk = k if r is None else k * r
        sel = self._selector_alive() if self._n_dead else None
        widen = 1.0
        _bits = None
        if filter is not None:
            fids = np.unique(np.asarray(list(filter) if not isinstance(filter, np.ndarray) else filter, np.int64))
            pos = np.sort(self._positions(fids))
            pos = pos[pos >= 0]
            m = len(pos)
            widen = self._filter_widen(len(self._sorted), m)
            if m <= self._exact_limit(max(kk, k), widen, **kw) and self._can_read_floats():
                return self._exact_over(q, k, pos)
            mask = np.zeros(self._ntotal(), bool)
            mask[pos] = True
            sel, _bits = bitmap_selector(mask)
        qc = binarize(q) if self.precision == "binary" else q
        if nq == 1 and self.one_thread_query:
            set_threads(1)
            try:
                D, I = self._faiss_search(qc, kk, sel, widen, **kw)
            finally:
                set_threads(THREADS)
        else:
            D, I = self._faiss_search(qc, kk, sel, widen, **kw)
        if r is not None:
            return self._rescore(q, I, k)
        out_ids = self._pos_ids[I]
        if self.metric == "l2":
            np.maximum(D, 0.0, out=D)
            np.sqrt(D, out=D)
            np.negative(D, out=D)
        if (I[0, -1] if nq == 1 else I[:, -1].min()) < 0:  # fewer than k rows reachable: FAISS pads the tail
            missing = I < 0
            out_ids[missing] = -1
            D[missing] = -np.inf
        return out_ids, D

    def _rescore(self, q: np.ndarray, I: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best of the candidate positions ``I`` by exact float32 scores, as (ids, scores)."""
        if self._source is not None:  # rows by id from the source (sorted ids: memory maps read in order)
            full = (I[0, -1] if len(I) == 1 else I[:, -1].min()) >= 0  # FAISS pads the tail with -1
            cand = self._pos_ids[I] if full else np.where(I >= 0, self._pos_ids[np.maximum(I, 0)], -1)
            return rescore_topk(q, cand, self._source, k, self.metric)
        rows = self._faiss_floats() if self._floats_in_faiss() else self._floats
        if rows is None:
            raise InputError(f"this {self.kind} index ({self.precision}) has no float32 vectors to rescore with: "
                             "it was saved without them (a collection keeps them in its segments); call "
                             "set_vector_source(fn) first")
        pos, sc = rescore_topk(q, I, lambda p: np.take(rows, p, axis=0), k, self.metric)
        ids = self._pos_ids[np.maximum(pos, 0)]
        ids[pos < 0] = -1
        return ids, sc

    def _run(self, index: Any, q: np.ndarray, k: int, params: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """FAISS's search without its Python wrapper's checks (ours were done): results straight into new arrays."""
        n = len(q)
        D = np.empty((n, k), np.int32 if self.precision == "binary" else np.float32)
        I = np.empty((n, k), np.int64)
        index.search_c(n, swig_ptr(q), k, swig_ptr(D), swig_ptr(I), params)
        return D, I

    def _check_search_kw(self, kw: dict[str, Any]) -> None:
        if kw:
            raise InputError(f"unknown search parameter(s) for a {self.kind} index: {', '.join(sorted(kw))}")

    def _exact_over(self, q: np.ndarray, k: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nq = len(q)
        out_ids = np.full((nq, k), -1, np.int64)
        out_sc = np.full((nq, k), -np.inf, np.float32)
        if len(pos):
            rows = np.ascontiguousarray(self._rows_at_positions(pos), dtype=np.float32)
            sc, ids = search_matrix(q, rows, self._pos_ids[pos], k, self.metric)
            out_ids[:, : ids.shape[1]], out_sc[:, : sc.shape[1]] = ids, sc
        return out_ids, out_sc

    def _search_pending(self, q: np.ndarray, k: int, filter: Iterable[int] | None) -> tuple[np.ndarray, np.ndarray]:
        nq = len(q)
        out_ids = np.full((nq, k), -1, np.int64)
        out_sc = np.full((nq, k), -np.inf, np.float32)
        rows = np.arange(len(self._pending_ids))
        if filter is not None:
            fids = np.asarray(list(filter) if not isinstance(filter, np.ndarray) else filter, np.int64)
            rows = np.flatnonzero(np.isin(self._pending_ids, fids))
        if len(rows):
            sc, ids = search_matrix(q, self._pending, self._pending_ids, k, self.metric, rows=rows)
            out_ids[:, : ids.shape[1]], out_sc[:, : sc.shape[1]] = ids, sc
        return out_ids, out_sc

    # ------------------------------------------------------------------ persistence
    def _manifest(self) -> dict[str, Any]:
        prec: dict[str, Any] = {"format": PRECISION_FORMAT, "name": self.precision, "rescore": self.rescore,
                                "calibration": "calibration.npy" if self.calibration is not None else None,
                                "vectors": "vectors.npy" if self._floats is not None else None}
        return {"kind": self.kind, "dim": self.dim, "metric": self.metric, "params": dict(self.params),
                "count": len(self), "positions": self._ntotal(), "pending": len(self._pending_ids),
                "precision": prec}

    def _writers(self) -> dict[str, Callable[[Path], None]]:
        n = self._ntotal()
        out: dict[str, Callable[[Path], None]] = {
            "ids.npy": lambda p: np.save(p, self._pos_ids),
            "dead.npy": lambda p: np.save(p, self._dead),
        }
        if len(self._pending_ids):
            out["pending_ids.npy"] = lambda p: np.save(p, self._pending_ids)
            out["pending.npy"] = lambda p: np.save(p, self._pending)
        if self.calibration is not None:
            cal = self.calibration
            out["calibration.npy"] = lambda p: np.save(p, cal.as_array())
        if self._floats is not None:
            floats = self._floats
            out["vectors.npy"] = lambda p: np.save(p, np.asarray(floats[:n]))
        return out

    def save(self, path: str | Path) -> None:
        """Write ``index.json`` (parameters and the precision block), the FAISS codes, the id maps, the int8
        calibration and (when the index keeps them) its float32 vectors, atomically."""
        writers = self._writers()
        writers.update(self._faiss_writers())
        _store.write_folder(path, self._manifest(), writers)

    def _faiss_writers(self) -> dict[str, Callable[[Path], None]]:
        if self.precision == "binary":
            return {self.data_file: lambda p: faiss.write_index_binary(self._index, str(p))}
        return {self.data_file: lambda p: faiss.write_index(self._index, str(p))}

    @classmethod
    def _from_manifest(cls, folder: Path, doc: dict[str, Any]) -> tuple[CodedIndex, int]:
        prec = precision_block(folder, doc)
        params = dict(doc["params"])
        params.setdefault("precision", prec["name"])
        try:
            self = cls(int(doc["dim"]), doc["metric"], **params)
            npos = int(doc.get("positions", doc["count"]))
        except (TypeError, KeyError, ValueError, InputError) as exc:
            raise _store.corrupt(folder, f"bad parameters in index.json ({exc})") from None
        if self.precision != prec["name"]:
            raise _store.corrupt(folder, "the precision in index.json's params and its precision block differ")
        return self, npos

    @classmethod
    def load(cls, path: str | Path, mmap: bool = False) -> CodedIndex:
        """Read an index written by ``save`` (checksums verified unless ``mmap``; parameters restored).
        ``mmap=True`` memory-maps the saved float32 vectors (and, for IVF, the inverted lists) read-only."""
        folder = Path(path)
        doc = _store.read_manifest(folder, cls.kind)
        self, npos = cls._from_manifest(folder, doc)
        prec = precision_block(folder, doc)
        pos_ids = _store.load_npy(folder, doc, "ids.npy", np.int64, (npos,))
        dead = _store.load_npy(folder, doc, "dead.npy", np.bool_, (npos,))
        if prec.get("calibration"):
            arr = _store.load_npy(folder, doc, "calibration.npy", np.float32, (2, self.dim))
            try:
                self.calibration = Calibration.from_array(arr)
            except InputError as exc:
                raise _store.corrupt(folder, f"calibration.npy is not a valid calibration ({exc})") from None
        elif self.precision == "int8" and npos:
            raise _store.corrupt(folder, "an int8 index with rows but no calibration (precision.calibration)")
        self._load_faiss(folder, doc, npos, mmap)
        if prec.get("vectors"):
            self._floats = _store.load_npy(folder, doc, "vectors.npy", np.float32, (npos, self.dim), mmap=mmap)
        npend = int(doc.get("pending", 0))
        if npend:
            self._pending_ids = _store.load_npy(folder, doc, "pending_ids.npy", np.int64, (npend,))
            self._pending = _store.load_npy(folder, doc, "pending.npy", np.float32, (npend, self.dim))
        live = np.flatnonzero(~dead)
        o = np.argsort(pos_ids[live], kind="stable")
        self._pos_ids, self._dead, self._n_dead = pos_ids, dead, int(dead.sum())
        self._sorted, self._order = pos_ids[live][o], live[o].astype(np.int64)
        if len(self) != int(doc["count"]) or (len(o) > 1 and (np.diff(self._sorted) == 0).any()):
            raise _store.corrupt(folder, "ids.npy does not match index.json")
        return self

    def _read_faiss(self, folder: Path, doc: dict[str, Any], name: str, flags: int = 0, deep: bool = True) -> Any:
        if deep:
            _store.verify_crc(folder, doc, name)
        try:
            if self.precision == "binary":
                return faiss.read_index_binary(str(folder / name), flags)
            return faiss.read_index(str(folder / name), flags)
        except RuntimeError as exc:
            raise _store.corrupt(folder, f"{name} cannot be read ({str(exc).splitlines()[0]})") from None

    def _load_faiss(self, folder: Path, doc: dict[str, Any], npos: int, mmap: bool) -> None:
        index = self._read_faiss(folder, doc, self.data_file)
        if not self._faiss_matches(index) or index.ntotal != npos:
            raise _store.corrupt(folder, f"{self.data_file} does not match index.json")
        self._index = index
        if self.calibration is not None:
            self._install_calibration()

    def _faiss_matches(self, index: Any) -> bool:
        want = type(self._new_faiss())
        return isinstance(index, want) and (index.d == (self._bits if self.precision == "binary" else self.dim))


def precision_block(folder: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """The ``precision`` block of a saved index: float32 for format-1 files (written before precisions existed);
    CorruptFileError when a newer file lacks it or it is malformed, FormatVersionError when it is newer."""
    if doc.get("format_version", 1) < 2:
        return {"format": 1, "name": "float32", "rescore": None}
    prec = doc.get("precision")
    if not isinstance(prec, dict):
        raise _store.corrupt(folder, "index.json lacks its 'precision' block (which codes the index holds)")
    fmt = prec.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt < 1:
        raise _store.corrupt(folder, f"index.json's precision block has no valid format (got {fmt!r})")
    if fmt > PRECISION_FORMAT:
        raise FormatVersionError(f"index at {folder} stores its precision in format {fmt}, newer than this embedlab "
                                 f"reads ({PRECISION_FORMAT}); upgrade embedlab to read it")
    if prec.get("name") not in ("float32", "float16", "int8", "binary"):
        raise _store.corrupt(folder, f"index.json names an unknown precision {prec.get('name')!r}")
    return prec


def threads_for_build(build_threads: int | None) -> tuple[int, bool]:
    """(threads to restore, whether to restore) around a build with ``build_threads``."""
    if build_threads:
        current = n_threads()
        faiss.omp_set_num_threads(int(build_threads))
        return current, True
    return 0, False
