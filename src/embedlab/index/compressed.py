"""Exact search over compressed codes, re-ranked with the float32 vectors.

Every row's code is scanned (FAISS ``IndexScalarQuantizer`` for float16 and int8, ``IndexBinaryFlat`` with
Hamming distance for binary), then ``rescore × k`` candidates are re-ranked with their float32 vectors.
``make_index("exact", dim, precision="int8")`` builds one; float32 exact search stays ``ExactIndex`` (BLAS over
the vectors themselves).

The scan reads 2, 1 or 1/8 bytes a dimension instead of 4, which is what makes a compressed exact index both
smaller and, for one query at a time (a memory-bound scan), faster than float32. With ``rescore`` large
enough the answer is exact: ``rescore × k >= n`` re-ranks every row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .base import SearchParams
from .coded import CodedIndex
from .faiss_codes import FaissCodes
from .kernels import faiss, faiss_search
from .quantize import set_sq_calibration, sq_type

SCAN_THREADS_MIN_QUERIES = 2  # FAISS scans one query on one thread anyway


class FlatCodes(FaissCodes):
    """Every row's code in one flat FAISS index, scanned whole.

    ``IndexScalarQuantizer`` (float16, int8) or ``IndexBinaryFlat`` (binary, Hamming distance). Takes
    ``FaissCodes``'s parameters; see ``CompressedExactIndex``.
    """

    def new_index(self) -> Any:
        """A new, empty flat code index.

        Returns
        -------
        faiss.IndexScalarQuantizer or faiss.IndexBinaryFlat
            ``QT_fp16`` / ``QT_8bit`` scalar codes under the metric (inner product or L2), or ``bits``-bit
            binary codes.
        """
        if self.precision == "binary":
            return faiss.IndexBinaryFlat(self.bits)
        fm = faiss.METRIC_L2 if self.metric == "l2" else faiss.METRIC_INNER_PRODUCT
        return faiss.IndexScalarQuantizer(self.dim, sq_type(self.precision), fm)

    def install_calibration(self) -> None:
        """Put the int8 ranges into the ``IndexScalarQuantizer`` and mark it trained."""
        assert self.calibration is not None
        set_sq_calibration(self.index, self.calibration)

    def search(self, q: np.ndarray, k: int, sel: Any, widen: float, settings: SearchParams
               ) -> tuple[np.ndarray, np.ndarray]:
        """The k best positions per query by a scan of every code (FAISS's flat ``search``).

        Parameters
        ----------
        q : np.ndarray
            ``(nq, dim)`` float32 prepared queries, or ``(nq, bits / 8)`` uint8 sign codes for binary precision.
        k : int
            Candidates per query (capped at the positions held).
        sel : faiss.IDSelector or None
            Only the positions it accepts.
        widen : float
            Unused: a full scan has nothing to widen.
        settings : SearchParams
            Unused: a flat scan takes no per-call setting.

        Returns
        -------
        distances : np.ndarray
            ``(nq, min(k, ntotal))`` as FAISS reports them: float32 inner products or squared L2 distances
            between query and decoded code; int32 Hamming distances for binary.
        positions : np.ndarray
            ``(nq, min(k, ntotal))`` int64, -1 where fewer pass ``sel``.
        """
        k = min(k, self.index.ntotal)
        params = None
        if sel is not None:
            params = faiss.SearchParameters()
            params.sel = sel
        return faiss_search(self.index, q, k, params, self.precision == "binary")


class CompressedExactIndex(CodedIndex[FlatCodes]):
    """Brute-force scan of float16 / int8 / binary codes plus float32 rescoring (kind ``exact``).

    Parameters
    ----------
    dim : int
        Dimension (>= 1).
    metric : str
        ``cosine``, ``dot`` or ``l2`` (not binary).
    precision : str
        ``float16`` (2 bytes a dimension), ``int8`` (1 byte, ranges calibrated from the data; the default) or
        ``binary`` (1 bit, sign codes).
    rescore : int, optional
        Re-rank ``rescore × k`` candidates with the float32 vectors (>= 1; default: the precision's, 1 for
        float16, 4 for int8 and binary).

    Raises
    ------
    InputError
        float32 precision (that is ``ExactIndex``), binary with l2, a bad rescore factor.

    Examples
    --------
    >>> idx = CompressedExactIndex(3, "cosine", precision="int8", rescore=2)
    >>> idx.train([[1, 0, 0], [0, 1, 0], [0, 0, 1]]); idx.add([7, 8], [[1, 0, 0], [0, 1, 0]])
    >>> idx.search([[1, 0.1, 0]], k=1)[0]
    array([[7]])
    """

    kind = "exact"

    def __init__(self, dim: int, metric: str = "cosine", precision: str = "int8", rescore: int | None = None) -> None:
        codes = FlatCodes(dim, metric, precision)
        if codes.precision == "float32":
            raise InputError("CompressedExactIndex holds float16, int8 or binary codes; use ExactIndex for float32")
        super().__init__(codes, rescore)
        self.params.update(precision=self.precision, rescore=self.rescore)

    def codes(self) -> np.ndarray:
        """The stored codes by position (a zero-copy view).

        Returns
        -------
        np.ndarray
            ``(positions, bytes per code)`` uint8, removed rows included until a rebuild.
        """
        index = self._codes.index
        n = index.ntotal
        size = index.code_size
        if n == 0:
            return np.empty((0, size), np.uint8)
        return faiss.rev_swig_ptr(index.codes.data(), n * size).reshape(n, size)
