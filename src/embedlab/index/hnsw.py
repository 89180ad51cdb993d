"""Approximate search with a FAISS HNSW graph (``IndexHNSWFlat``), our int64 ids and tombstone deletes.

FAISS numbers rows 0..n-1 in insertion order ("positions"); we keep position -> id and a sorted id -> position
map. ``remove`` marks tombstones that searches exclude through a FAISS ID selector; when more than a quarter
of the positions are dead the graph is rebuilt from the live vectors (which stay readable in the flat storage).
A filter is answered exactly over the rows it keeps (recall 1.0) when that costs less than the graph search
would (measured on GloVe: up to about 20% of the rows at M=16, ef=128); a broad one searches the graph with a
selector and a beam widened by sqrt(n / kept).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..metrics import as_matrix, normalize
from . import _store
from .base import Index
from .exact import bitmap_selector, n_threads, search_matrix, unit_rows

faiss: Any = _faiss  # its generated stubs lack much of the SWIG API used here (SearchParametersHNSW, ...)

COMPACT_FRACTION = 0.25  # dead/total positions above which the graph is rebuilt
EXACT_FILTER_MIN = 2000  # a filter keeping at most this many rows is always searched exactly
EXACT_FILTER_COST = 10  # graph distance evaluations cost about this many exact (BLAS) rows each
MAX_FILTER_WIDEN = 8.0
ADD_CHUNK = 20_000  # rows per FAISS add call (progress bar granularity)


class HNSWIndex(Index):
    """HNSW graph search (FAISS), parameters saved with the index.

    ``M`` links per node, ``ef_construction`` build beam, ``ef_search`` default query beam (override per call
    with ``search(..., ef=)``), ``seed`` for the level draw. ``build_threads=1`` makes the graph bit-for-bit
    reproducible for a seed; with more threads FAISS inserts concurrently and the graph may differ run to run.
    """

    kind = "hnsw"

    def __init__(
        self,
        dim: int,
        metric: str = "cosine",
        M: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
        seed: int = 0,
        build_threads: int | None = None,
    ) -> None:
        super().__init__(dim, metric)
        for name, v in (("M", M), ("ef_construction", ef_construction), ("ef_search", ef_search)):
            if int(v) < 1:
                raise InputError(f"{name} must be >= 1, got {v}")
        self.params = {"M": int(M), "ef_construction": int(ef_construction), "ef_search": int(ef_search),
                       "seed": int(seed)}
        self.build_threads = build_threads
        self._params_cache: dict[int, Any] = {}
        self._reset()

    def _new_faiss(self) -> Any:
        fm = faiss.METRIC_L2 if self.metric == "l2" else faiss.METRIC_INNER_PRODUCT
        index = faiss.IndexHNSWFlat(self.dim, self.params["M"], fm)
        index.hnsw.efConstruction = self.params["ef_construction"]
        index.hnsw.efSearch = self.params["ef_search"]
        index.hnsw.rng = faiss.RandomGenerator(self.params["seed"])
        return index

    def _reset(self) -> None:
        self._index = self._new_faiss()
        self._pos_ids = np.empty(0, np.int64)  # position -> id
        self._dead = np.empty(0, bool)
        self._n_dead = 0
        self._sorted = np.empty(0, np.int64)  # live ids, sorted
        self._order = np.empty(0, np.int64)  # their positions
        self._alive_sel: tuple[Any, np.ndarray] | None = None

    # ------------------------------------------------------------------ bookkeeping
    def __len__(self) -> int:
        return len(self._sorted)

    def ids(self) -> np.ndarray:
        return self._pos_ids[~self._dead]

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Position of each live id, -1 where absent or removed."""
        if not len(self._sorted) or not len(ids):
            return np.full(len(ids), -1, np.int64)
        at = np.minimum(np.searchsorted(self._sorted, ids), len(self._sorted) - 1)
        return np.where(self._sorted[at] == ids, self._order[at], -1)

    def vectors(self) -> np.ndarray:
        """All stored rows by position (a zero-copy view of FAISS's flat storage; dead rows included)."""
        n = self._index.ntotal
        if n == 0:
            return np.empty((0, self.dim), np.float32)
        storage = faiss.downcast_index(self._index.storage)
        return faiss.rev_swig_ptr(storage.get_xb(), n * self.dim).reshape(n, self.dim)

    def _selector_alive(self) -> Any:
        if self._alive_sel is None:
            self._alive_sel = bitmap_selector(~self._dead)
        sel = self._alive_sel
        return sel[0]

    # ------------------------------------------------------------------ mutation
    def add(self, ids: Iterable[int], vectors: ArrayLike, progress: bool = False) -> None:
        vecs = as_matrix(vectors, dim=self.dim, name="vectors")
        ids = self._ids(ids, len(vecs))
        if not len(ids):
            return
        present = self._positions(ids) >= 0
        if present.any():
            raise InputError(
                f"ids already in the index: {ids[present][:5].tolist()}; remove them first to replace their vectors"
            )
        self._insert(ids, normalize(vecs) if self.metric == "cosine" else vecs, progress)

    def _insert(self, ids: np.ndarray, vecs: np.ndarray, progress: bool = False) -> None:
        threads = n_threads()
        if self.build_threads:
            faiss.omp_set_num_threads(int(self.build_threads))
        try:
            chunks = range(0, len(vecs), ADD_CHUNK)
            if progress:
                from tqdm.auto import tqdm

                chunks = tqdm(chunks, desc="hnsw build", unit="chunk")
            for s in chunks:  # bookkeeping follows each chunk, so an interrupted add leaves a consistent index
                start = self._index.ntotal
                self._index.add(np.ascontiguousarray(vecs[s : s + ADD_CHUNK]))
                self._track(ids[s : s + ADD_CHUNK], start)
        finally:
            if self.build_threads:
                faiss.omp_set_num_threads(threads)

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
        pos = self._positions(ids)
        pos = pos[pos >= 0]
        if not len(pos):
            return 0
        self._dead[pos] = True
        self._n_dead += len(pos)
        keep = ~np.isin(self._order, pos)
        self._sorted, self._order = self._sorted[keep], self._order[keep]
        self._alive_sel = None
        if self._n_dead > COMPACT_FRACTION * self._index.ntotal:
            self.compact()
        return len(pos)

    def compact(self, progress: bool = False) -> None:
        """Rebuild the graph from the live rows only (drops tombstones and reclaims their memory)."""
        live = np.flatnonzero(~self._dead)
        ids, vecs = self._pos_ids[live], np.array(self.vectors()[live])
        self._reset()
        if len(ids):
            self._insert(ids, vecs, progress)

    # ------------------------------------------------------------------ search
    def search(
        self, queries: ArrayLike, k: int = 10, filter: Iterable[int] | None = None, ef: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate k best rows per query (ids, scores), best first; ``ef`` overrides ``ef_search``.

        With ``filter``, only those ids: exact over them when that is cheaper than the graph (narrow filters), else
        the graph with a selector and a wider beam.
        """
        k = self._check_k(k)
        q = self._queries(queries)
        if self.metric == "cosine":
            q = unit_rows(q)
        ef = self.params["ef_search"] if ef is None else int(ef)
        if ef < 1:
            raise InputError(f"ef must be >= 1, got {ef}")
        nq, n = len(q), len(self)
        if n == 0:
            return np.full((nq, k), -1, np.int64), np.full((nq, k), -np.inf, np.float32)
        sel = self._selector_alive() if self._n_dead else None
        if filter is not None:
            fids = np.unique(np.asarray(list(filter) if not isinstance(filter, np.ndarray) else filter, np.int64))
            pos = np.sort(self._positions(fids))
            pos = pos[pos >= 0]
            m = len(pos)
            # a selective filter discards most visited nodes: widen the beam by sqrt(n / m) (at most 8x)
            ef = int(ef * min(MAX_FILTER_WIDEN, math.sqrt(n / max(m, 1))))
            # the graph visits about ef * 2M nodes; scanning the m kept rows exactly is cheaper below this
            if m <= max(EXACT_FILTER_MIN, EXACT_FILTER_COST * max(ef, k) * 2 * self.params["M"]):
                out_ids = np.full((nq, k), -1, np.int64)
                out_sc = np.full((nq, k), -np.inf, np.float32)
                if len(pos):
                    sc, ids = search_matrix(q, self.vectors(), self._pos_ids, k, self.metric, rows=pos)
                    out_ids[:, : ids.shape[1]], out_sc[:, : sc.shape[1]] = ids, sc
                return out_ids, out_sc
            mask = np.zeros(self._index.ntotal, bool)
            mask[pos] = True
            sel, _bits = bitmap_selector(mask)
        if sel is None:  # reuse one parameter object per beam width (building one costs as much as a query)
            params = self._params_cache.get(max(ef, k))
            if params is None:
                params = self._params_cache[max(ef, k)] = faiss.SearchParametersHNSW()
                params.efSearch = max(ef, k)
        else:
            params = faiss.SearchParametersHNSW()
            params.efSearch = max(ef, k)
            params.sel = sel
        D, I = self._index.search(q, k, params=params)
        out_ids = self._pos_ids[I]
        if self.metric == "l2":
            np.maximum(D, 0.0, out=D)
            np.sqrt(D, out=D)
            np.negative(D, out=D)
        missing = I < 0
        if missing.any():  # fewer than k rows reachable: pad
            out_ids[missing] = -1
            D[missing] = -np.inf
        return out_ids, D

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write ``index.json`` (with the parameters), ``hnsw.faiss``, ``ids.npy`` and ``dead.npy`` atomically."""
        _store.write_folder(
            path,
            {"kind": self.kind, "dim": self.dim, "metric": self.metric, "params": dict(self.params),
             "count": len(self), "positions": int(self._index.ntotal)},
            {
                "hnsw.faiss": lambda p: faiss.write_index(self._index, str(p)),
                "ids.npy": lambda p: np.save(p, self._pos_ids),
                "dead.npy": lambda p: np.save(p, self._dead),
            },
        )

    @classmethod
    def load(cls, path: str | Path) -> HNSWIndex:
        """Read an index written by ``save`` (checksums verified; params restored)."""
        folder = Path(path)
        doc = _store.read_manifest(folder, cls.kind)
        try:
            self = cls(int(doc["dim"]), doc["metric"], **doc["params"])
            npos = int(doc["positions"])
        except (TypeError, KeyError, ValueError, InputError) as exc:
            raise _store.corrupt(folder, f"bad parameters in index.json ({exc})") from None
        pos_ids = _store.load_npy(folder, doc, "ids.npy", np.int64, (npos,))
        dead = _store.load_npy(folder, doc, "dead.npy", np.bool_, (npos,))
        _store.verify_crc(folder, doc, "hnsw.faiss")
        try:
            index = faiss.read_index(str(folder / "hnsw.faiss"))  # already the concrete class (and owns itself)
        except RuntimeError as exc:
            raise _store.corrupt(folder, f"hnsw.faiss cannot be read ({str(exc).splitlines()[0]})") from None
        if not isinstance(index, faiss.IndexHNSWFlat) or index.d != self.dim or index.ntotal != npos:
            raise _store.corrupt(folder, "hnsw.faiss does not match index.json")
        index.hnsw.efSearch = self.params["ef_search"]
        index.hnsw.rng = faiss.RandomGenerator(self.params["seed"] + npos)
        live = np.flatnonzero(~dead)
        o = np.argsort(pos_ids[live], kind="stable")
        self._index, self._pos_ids, self._dead, self._n_dead = index, pos_ids, dead, int(dead.sum())
        self._sorted, self._order = pos_ids[live][o], live[o].astype(np.int64)
        if len(self._sorted) != int(doc["count"]) or (len(o) > 1 and (np.diff(self._sorted) == 0).any()):
            raise _store.corrupt(folder, "ids.npy does not match index.json")
        return self
