"""Approximate search with a FAISS HNSW graph over float32, float16, int8 or binary codes, our int64 ids and
tombstone deletes (the shared machinery is in ``_coded.py``).

float32 builds ``IndexHNSWFlat``; float16 / int8 ``IndexHNSWSQ`` (the graph walks compressed codes, int8
ranges calibrated from the data); binary ``IndexBinaryHNSW`` over sign bits (Hamming distance). Compressed
graphs fetch ``rescore × k`` candidates (the beam is at least that wide) and re-rank them with the float32
vectors. A filter is answered exactly over the rows it keeps (recall 1.0) when that costs less than the graph
search would (measured on GloVe: up to about 20% of the rows at M=16, ef=128); a broad one searches the graph
with a selector and a beam widened by sqrt(n / kept).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from . import _coded
from ._coded import CodedIndex, faiss, threads_for_build
from .quantize import set_sq_calibration, sq_type

COMPACT_FRACTION = _coded.COMPACT_FRACTION
EXACT_FILTER_MIN = _coded.EXACT_FILTER_MIN  # a filter keeping at most this many rows is always searched exactly
EXACT_FILTER_COST = 10  # graph distance evaluations cost about this many exact (BLAS) rows each
MAX_FILTER_WIDEN = 8.0
ADD_CHUNK = 20_000  # rows per FAISS add call (progress bar granularity)


class HNSWIndex(CodedIndex):
    """HNSW graph search (FAISS), parameters saved with the index.

    ``M`` links per node, ``ef_construction`` build beam, ``ef_search`` default query beam (override per call
    with ``search(..., ef=)``), ``seed`` for the level draw, ``precision`` of the codes the graph holds
    (float32, float16, int8, binary) and ``rescore`` (compressed codes: re-rank ``rescore × k`` candidates with
    the float32 vectors). ``build_threads=1`` makes the graph bit-for-bit reproducible for a seed; with more
    threads FAISS inserts concurrently and the graph may differ run to run.
    """

    kind = "hnsw"
    data_file = "hnsw.faiss"


    def __init__(
        self,
        dim: int,
        metric: str = "cosine",
        M: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
        seed: int = 0,
        build_threads: int | None = None,
        precision: str = "float32",
        rescore: int | None = None,
    ) -> None:
        super().__init__(dim, metric, precision, rescore)
        for name, v in (("M", M), ("ef_construction", ef_construction), ("ef_search", ef_search)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < 1:
                raise InputError(f"{name} must be >= 1, got {v}")
        self.params = {"M": int(M), "ef_construction": int(ef_construction), "ef_search": int(ef_search),
                       "seed": int(seed)}
        if self.precision != "float32":
            self.params.update(precision=self.precision, rescore=self.rescore)
        self.build_threads = build_threads
        self._params_cache: dict[int, Any] = {}
        # FAISS's binary graph opens a parallel region even for one query; the float graphs split only batches
        self.one_thread_query = self.precision == "binary"
        self._reset()

    def _new_faiss(self) -> Any:
        fm = faiss.METRIC_L2 if self.metric == "l2" else faiss.METRIC_INNER_PRODUCT
        M = self.params["M"]
        if self.precision == "float32":
            index = faiss.IndexHNSWFlat(self.dim, M, fm)
        elif self.precision == "binary":
            index = faiss.IndexBinaryHNSW(self._bits, M)
        else:
            index = faiss.IndexHNSWSQ(self.dim, sq_type(self.precision), M, fm)
        index.hnsw.efConstruction = self.params["ef_construction"]
        index.hnsw.efSearch = self.params["ef_search"]
        index.hnsw.rng = faiss.RandomGenerator(self.params["seed"])
        self._params_cache = {}
        return index

    def _install_calibration(self) -> None:
        assert self.calibration is not None
        set_sq_calibration(faiss.downcast_index(self._index.storage), self.calibration)
        self._index.is_trained = True

    # ------------------------------------------------------------------ float32 rows
    def _floats_in_faiss(self) -> bool:
        return self.precision == "float32"

    def _faiss_floats(self) -> np.ndarray:
        n = self._index.ntotal
        if n == 0:
            return np.empty((0, self.dim), np.float32)
        storage = faiss.downcast_index(self._index.storage)
        return faiss.rev_swig_ptr(storage.get_xb(), n * self.dim).reshape(n, self.dim)

    def vectors(self) -> np.ndarray:
        """All stored rows by position (a zero-copy view of FAISS's flat storage; dead rows included). float32
        graphs only: compressed graphs keep codes, not vectors."""
        if self.precision != "float32":
            raise InputError(f"a {self.precision} HNSW graph keeps codes, not float32 vectors")
        return self._faiss_floats()

    # ------------------------------------------------------------------ mutation
    def _insert(self, ids: np.ndarray, vecs: np.ndarray, progress: bool = False) -> None:
        restore, changed = threads_for_build(self.build_threads)
        try:
            chunks: Iterable[int] = range(0, len(vecs), ADD_CHUNK)
            if progress:
                from tqdm.auto import tqdm

                chunks = tqdm(chunks, desc="hnsw build", unit="chunk")
            for s in chunks:  # bookkeeping follows each chunk, so an interrupted add leaves a consistent index
                start = self._index.ntotal
                part = vecs[s : s + ADD_CHUNK]
                self._index.add(self._codes_of(part))
                self._keep_floats(start, part)
                self._track(ids[s : s + ADD_CHUNK], start)
        finally:
            if changed:
                faiss.omp_set_num_threads(restore)

    # ------------------------------------------------------------------ search
    def _check_search_kw(self, kw: dict[str, Any]) -> None:
        for key, ef in kw.items():
            if key != "ef":
                raise InputError(f"unknown search parameter(s) for an hnsw index: {', '.join(sorted(kw))}; it "
                                 "takes ef")
            if ef is not None and int(ef) < 1:
                raise InputError(f"ef must be >= 1, got {ef}")

    def _filter_widen(self, n: int, m: int) -> float:
        # a selective filter discards most visited nodes: widen the beam by sqrt(n / m) (at most 8x)
        return min(MAX_FILTER_WIDEN, math.sqrt(n / max(m, 1)))

    def _exact_limit(self, k: int, widen: float, **kw: Any) -> int:
        # the graph visits about ef * 2M nodes; scanning the kept rows exactly is cheaper below this
        ef = self.params["ef_search"] if kw.get("ef") is None else int(kw["ef"])
        return max(EXACT_FILTER_MIN, EXACT_FILTER_COST * max(int(ef * widen), k) * 2 * self.params["M"])

    def _faiss_search(self, q: np.ndarray, k: int, sel: Any, widen: float, **kw: Any
                      ) -> tuple[np.ndarray, np.ndarray]:
        ef = kw.get("ef")
        e = self.params["ef_search"] if ef is None else int(ef)
        e = max(int(e * widen), k)
        if sel is None:  # reuse one parameter object per beam width (building one costs as much as a query)
            params = self._params_cache.get(e)
            if params is None:
                params = self._params_cache[e] = faiss.SearchParametersHNSW()
                params.efSearch = e
        else:
            params = faiss.SearchParametersHNSW()
            params.efSearch = e
            params.sel = sel
        return self._run(self._index, q, k, params)

    # ------------------------------------------------------------------ persistence
    def _faiss_matches(self, index: Any) -> bool:
        want = {"float32": faiss.IndexHNSWFlat, "binary": faiss.IndexBinaryHNSW}.get(self.precision,
                                                                                     faiss.IndexHNSWSQ)
        return isinstance(index, want) and index.d == (self._bits if self.precision == "binary" else self.dim)

    def _load_faiss(self, folder: Path, doc: dict[str, Any], npos: int, mmap: bool) -> None:
        super()._load_faiss(folder, doc, npos, mmap)
        self._index.hnsw.efSearch = self.params["ef_search"]
        self._index.hnsw.rng = faiss.RandomGenerator(self.params["seed"] + npos)

    @classmethod
    def load(cls, path: str | Path, mmap: bool = False) -> HNSWIndex:
        """Read an index written by ``save`` (checksums verified; params restored)."""
        out = super().load(path, mmap)
        assert isinstance(out, HNSWIndex)
        return out

