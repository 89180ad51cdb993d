"""Approximate search with a FAISS HNSW graph over float32, float16, int8 or binary codes.

HNSW is the hierarchical navigable small world graph of Malkov & Yashunin (2018); FAISS builds and walks it. Our
int64 ids and tombstone deletes come from the shared machinery in ``coded.py``.

float32 builds ``IndexHNSWFlat``; float16 / int8 ``IndexHNSWSQ`` (the graph walks compressed codes, int8
ranges calibrated from the data); binary ``IndexBinaryHNSW`` over sign bits (Hamming distance). Compressed
graphs fetch ``rescore × k`` candidates (the beam is at least that wide) and re-rank them with the float32
vectors. A filter is answered exactly over the rows it keeps (recall 1.0) when that costs less than the graph
search would (measured on GloVe: up to about 20% of the rows at M=16, ef=128); a broad one searches the graph
with a selector and a beam widened by sqrt(n / kept).
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .base import SearchParams
from .coded import CodedIndex
from .faiss_codes import EXACT_FILTER_MIN, FaissCodes
from .kernels import build_threads, faiss, faiss_search
from .quantize import set_sq_calibration, sq_type

EXACT_FILTER_COST = 10  # graph distance evaluations cost about this many exact (BLAS) rows each
MAX_FILTER_WIDEN = 8.0


class HNSWCodes(FaissCodes):
    """A FAISS HNSW graph over float32, float16 / int8 or binary codes. See ``HNSWIndex``.

    float32 builds ``IndexHNSWFlat``, float16 / int8 ``IndexHNSWSQ`` (the graph walks compressed codes), binary
    ``IndexBinaryHNSW`` (Hamming distance over sign bits).

    Parameters
    ----------
    dim : int
        Dimension of the float32 rows (>= 1).
    metric : str
        ``cosine``, ``dot`` or ``l2``.
    precision : str
        ``float32``, ``float16``, ``int8`` or ``binary``.
    M : int
        Links per node (>= 1; 2M on the bottom layer, as FAISS builds it).
    ef_construction : int
        Beam width while inserting (>= 1).
    ef_search : int
        Default beam width of a query (>= 1).
    seed : int
        Seeds FAISS's level draw.
    build_threads : int or None
        FAISS threads while adding (None: FAISS's current setting).

    Raises
    ------
    InputError
        ``M``, ``ef_construction`` or ``ef_search`` below 1 or not an integer; a bad dimension, metric or
        precision.
    """

    data_file = "hnsw.faiss"
    settings = {"ef_search": "ef"}

    def __init__(self, dim: int, metric: str, precision: str, M: int, ef_construction: int, ef_search: int,
                 seed: int, build_threads: int | None) -> None:
        super().__init__(dim, metric, precision)
        for name, v in (("M", M), ("ef_construction", ef_construction), ("ef_search", ef_search)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < 1:
                raise InputError(f"{name} must be >= 1, got {v}")
        self.params.update(M=int(M), ef_construction=int(ef_construction), ef_search=int(ef_search), seed=int(seed))
        self.build_threads = build_threads
        self._params_cache: dict[int, Any] = {}  # one FAISS parameter object per beam width
        # FAISS's binary graph opens a parallel region even for one query; the float graphs split only batches
        self.one_thread_query = self.precision == "binary"
        self.holds_floats = self.precision == "float32"

    def new_index(self) -> Any:
        """A new, empty FAISS HNSW graph with ``M``, ``efConstruction``, ``efSearch`` and the seeded level draw.

        Returns
        -------
        faiss.IndexHNSWFlat or faiss.IndexHNSWSQ or faiss.IndexBinaryHNSW
            By precision (binary: over ``bits``-bit codes).
        """
        fm = faiss.METRIC_L2 if self.metric == "l2" else faiss.METRIC_INNER_PRODUCT
        M = self.params["M"]
        if self.precision == "float32":
            index = faiss.IndexHNSWFlat(self.dim, M, fm)
        elif self.precision == "binary":
            index = faiss.IndexBinaryHNSW(self.bits, M)
        else:
            index = faiss.IndexHNSWSQ(self.dim, sq_type(self.precision), M, fm)
        index.hnsw.efConstruction = self.params["ef_construction"]
        index.hnsw.efSearch = self.params["ef_search"]
        index.hnsw.rng = faiss.RandomGenerator(self.params["seed"])
        self._params_cache = {}
        return index

    def install_calibration(self) -> None:
        """Put the int8 ranges into the graph's ``IndexScalarQuantizer`` storage and mark the graph trained."""
        assert self.calibration is not None
        set_sq_calibration(faiss.downcast_index(self.index.storage), self.calibration)
        self.index.is_trained = True

    def floats(self) -> np.ndarray | None:
        """The float32 rows of an ``IndexHNSWFlat``'s storage by position.

        Returns
        -------
        np.ndarray or None
            ``(ntotal, dim)`` float32, a zero-copy view of FAISS's storage (dead rows included); None for
            compressed codes.
        """
        if self.precision != "float32":
            return None
        n = self.index.ntotal
        if n == 0:
            return np.empty((0, self.dim), np.float32)
        storage = faiss.downcast_index(self.index.storage)
        return faiss.rev_swig_ptr(storage.get_xb(), n * self.dim).reshape(n, self.dim)

    def memory_bytes(self) -> int:
        """The codes plus the graph: links, their offsets and the node levels.

        Returns
        -------
        int
            ``ntotal × code_bytes()`` + 4 bytes a link + 8 a node offset + 4 a node level.
        """
        hnsw = self.index.hnsw
        graph = 4 * hnsw.neighbors.size() + 8 * hnsw.offsets.size() + 4 * hnsw.levels.size()
        return int(super().memory_bytes() + graph)

    def building(self) -> AbstractContextManager[Any]:
        """FAISS's build threads set to ``build_threads`` while adding (1: a reproducible graph for a seed).

        Returns
        -------
        contextlib.AbstractContextManager
            ``kernels.build_threads(build_threads)``.
        """
        return build_threads(self.build_threads)

    # ------------------------------------------------------------------ search
    def filter_widen(self, n: int, m: int) -> float:
        """The beam widening for a filter keeping ``m`` of ``n`` rows: sqrt(n / m), at most ``MAX_FILTER_WIDEN``.

        Parameters
        ----------
        n : int
            Live rows.
        m : int
            Rows the filter keeps.

        Returns
        -------
        float
            The factor on ``ef``, 1 to 8.
        """
        # a selective filter discards most visited nodes: widen the beam by sqrt(n / m) (at most 8x)
        return min(MAX_FILTER_WIDEN, math.sqrt(n / max(m, 1)))

    def exact_limit(self, n: int, k: int, widen: float, settings: SearchParams) -> int:
        """Kept rows up to which a filter is answered exactly: the graph's cost in exact-scan rows.

        A walk with beam ``ef`` evaluates about ``ef · 2M`` distances, each costing about ``EXACT_FILTER_COST``
        exact (BLAS) rows.

        Parameters
        ----------
        n : int
            Live rows.
        k : int
            Candidates the search would fetch.
        widen : float
            ``filter_widen``'s factor.
        settings : SearchParams
            This call's settings (``ef_search``; None: the saved one).

        Returns
        -------
        int
            ``max(EXACT_FILTER_MIN, EXACT_FILTER_COST · max(ef · widen, k) · 2M)``.
        """
        # the graph visits about ef * 2M nodes; scanning the kept rows exactly is cheaper below this
        ef = self.params["ef_search"] if settings.ef_search is None else settings.ef_search
        return max(EXACT_FILTER_MIN, EXACT_FILTER_COST * max(int(ef * widen), k) * 2 * self.params["M"])

    def search(self, q: np.ndarray, k: int, sel: Any, widen: float, settings: SearchParams
               ) -> tuple[np.ndarray, np.ndarray]:
        """The k best positions per query by a beam search of the graph (FAISS ``IndexHNSW.search``).

        The beam ``ef`` (Malkov & Yashunin 2018, Algorithm 5) is ``settings.ef_search`` or the saved one, times
        ``widen``, and at least ``k``.

        Parameters
        ----------
        q : np.ndarray
            ``(nq, dim)`` float32 prepared queries, or ``(nq, bits / 8)`` uint8 sign codes for binary precision.
        k : int
            Candidates per query.
        sel : faiss.IDSelector or None
            Only the positions it accepts.
        widen : float
            The factor on the beam (>= 1).
        settings : SearchParams
            This call's settings (``ef_search``).

        Returns
        -------
        distances : np.ndarray
            ``(nq, k)`` as FAISS reports them: float32 inner products or squared L2 distances; int32 Hamming
            distances for binary.
        positions : np.ndarray
            ``(nq, k)`` int64, -1 where fewer than k are reached.
        """
        e = self.params["ef_search"] if settings.ef_search is None else settings.ef_search
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
        return faiss_search(self.index, q, k, params, self.precision == "binary")

    # ------------------------------------------------------------------ persistence
    def matches(self, index: Any) -> bool:
        """Whether a FAISS index read from a file is this precision's HNSW class, of this dimension.

        Parameters
        ----------
        index : faiss.Index or faiss.IndexBinary
            As read from the file.

        Returns
        -------
        bool
            True for the right class with ``d`` the dimension (the bit width for binary codes).
        """
        want = {"float32": faiss.IndexHNSWFlat, "binary": faiss.IndexBinaryHNSW}.get(self.precision,
                                                                                     faiss.IndexHNSWSQ)
        return isinstance(index, want) and index.d == (self.bits if self.precision == "binary" else self.dim)

    def read(self, folder: Path, doc: dict[str, Any], npos: int, mmap: bool) -> None:
        """Read the graph file, restore the saved ``efSearch`` and reseed the level draw (``seed + npos``).

        Parameters
        ----------
        folder : Path
            The index folder.
        doc : dict
            Its manifest.
        npos : int
            The positions it holds.
        mmap : bool
            Unused: the graph is always read into memory.

        Raises
        ------
        CorruptFileError
            A graph file FAISS cannot read, of another class or dimension, or with another number of positions.
        """
        super().read(folder, doc, npos, mmap)
        self.index.hnsw.efSearch = self.params["ef_search"]
        self.index.hnsw.rng = faiss.RandomGenerator(self.params["seed"] + npos)


class HNSWIndex(CodedIndex[HNSWCodes]):
    """HNSW graph search (FAISS [2]_), parameters saved with the index.

    Rows are nodes of a hierarchical navigable small world graph (Malkov & Yashunin 2018 [1]_): each node is linked
    to up to ``M`` near neighbours per layer (2M on the bottom one), and a query walks the graph greedily from the
    top layer down, keeping the ``ef`` best nodes found on the bottom layer. Larger ``M`` / ``ef_construction``
    build a better graph more slowly; larger ``ef_search`` trades query time for recall. Compressed graphs fetch
    ``rescore × k`` candidates (the beam is at least that wide) and re-rank them with the float32 vectors.

    Parameters
    ----------
    dim : int
        Dimension (>= 1).
    metric : str
        ``cosine``, ``dot`` or ``l2``.
    M : int
        Links per node (>= 1; default 32).
    ef_construction : int
        Build beam (>= 1; default 100: 1.5x (CPU time, real 512-d sentence vectors) to 2.4x (idle, random
        clustered rows) faster to build than 200; recall@10 0.994 vs 0.996 on 100k sentence vectors at
        ``ef_search=128``).
    ef_search : int
        Default query beam (>= 1; default 128; per call: ``search(..., ef=)`` or ``SearchParams(ef_search=)``).
    seed : int
        Seeds the level draw.
    build_threads : int, optional
        FAISS threads while adding; 1 makes the graph bit-for-bit reproducible for a seed (with more threads
        FAISS inserts concurrently and the graph may differ run to run).
    precision : str
        Codes the graph holds: ``float32``, ``float16``, ``int8`` or ``binary``.
    rescore : int, optional
        Compressed codes: re-rank ``rescore × k`` candidates with the float32 vectors.

    Raises
    ------
    InputError
        ``M``, ``ef_construction`` or ``ef_search`` below 1, a bad precision or rescore factor.

    References
    ----------
    .. [1] Y. A. Malkov and D. A. Yashunin, "Efficient and robust approximate nearest neighbor search using
       Hierarchical Navigable Small World graphs", IEEE TPAMI 42(4), 2020 (online 2018); arXiv:1603.09320.
    .. [2] FAISS: ``IndexHNSWFlat``, ``IndexHNSWSQ``, ``IndexBinaryHNSW``; J. Johnson, M. Douze and H. Jégou,
       "Billion-scale similarity search with GPUs", IEEE Transactions on Big Data, 2019.
    """

    kind = "hnsw"

    def __init__(
        self,
        dim: int,
        metric: str = "cosine",
        M: int = 32,
        ef_construction: int = 100,
        ef_search: int = 128,
        seed: int = 0,
        build_threads: int | None = None,
        precision: str = "float32",
        rescore: int | None = None,
    ) -> None:
        super().__init__(HNSWCodes(dim, metric, precision, M, ef_construction, ef_search, seed, build_threads),
                         rescore)
        if self.precision != "float32":
            self.params.update(precision=self.precision, rescore=self.rescore)

    def vectors(self) -> np.ndarray:
        """All stored rows by position (a zero-copy view of FAISS's flat storage; dead rows included).

        Returns
        -------
        np.ndarray
            ``(positions, dim)`` float32.

        Raises
        ------
        InputError
            A compressed graph: it keeps codes, not float32 vectors.
        """
        rows = self._codes.floats()
        if rows is None:
            raise InputError(f"a {self.precision} HNSW graph keeps codes, not float32 vectors")
        return rows
