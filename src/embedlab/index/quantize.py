"""Vector precision for the exact, HNSW and IVF indexes: float32, float16, int8 or binary codes.

Compressed codes are what an index keeps in memory and scans; the float32 vectors stay where they are (a
collection's memory-mapped segments, or the index's own ``vectors.npy``) and *rescore* the candidates: search
fetches ``rescore × k`` candidates by their codes, then ranks them by their exact float32 scores.

- ``float16``: half precision (FAISS ``QT_fp16``), 2 bytes a dimension.
- ``int8``: one byte a dimension, ``floor(255 · (v − lo_j) / (hi_j − lo_j))`` with per-dimension ranges
  ``lo_j, hi_j`` calibrated from the data (``Calibration``; FAISS ``QT_8bit``), saved with the index.
- ``binary``: the sign bit of each dimension (``v > 0``), packed 8 to a byte and compared by Hamming distance
  (FAISS binary indexes). Signs describe directions, so binary needs the cosine or dot metric.

    >>> cal = Calibration.fit(np.array([[0.0, -1.0], [1.0, 1.0]], np.float32))
    >>> cal.lo.tolist(), cal.hi.tolist()
    ([0.0, -1.0], [1.0, 1.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..metrics import as_matrix

PRECISIONS = ("float32", "float16", "int8", "binary")
PRECISION_FORMAT = 1  # the format of the "precision" block an index writes into its index.json
#: rescore factor used when none is given: float16 and int8 re-rank only what they return (exact scores, same
#: cost as a copy), binary fetches 4 × k candidates (Hamming distance alone ranks poorly)
DEFAULT_RESCORE: dict[str, int | None] = {"float32": None, "float16": 1, "int8": 4, "binary": 4}


def check_precision(precision: Any, metric: str) -> str:
    """``precision`` as one of ``PRECISIONS``, checked against the metric.

    Parameters
    ----------
    precision : str
        ``float32``, ``float16``, ``int8`` or ``binary``.
    metric : str
        The index's metric (binary codes need ``cosine`` or ``dot``).

    Returns
    -------
    str
        ``precision``.

    Raises
    ------
    InputError
        An unknown name, or binary with l2.
    """
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "binary" and metric == "l2":
        raise InputError("binary precision keeps only the sign of each dimension, which describes a direction, "
                         "not a position: it works with the cosine or dot metric, not l2; use precision='int8' "
                         "(or float16) for an l2 index")
    return str(precision)


def check_rescore(rescore: Any, precision: str) -> int | None:
    """The rescore factor for ``precision``.

    Parameters
    ----------
    rescore : int or None
        Candidates fetched per result (× k) and re-ranked with the float32 vectors; None: the precision's default
        (``DEFAULT_RESCORE``).
    precision : str
        The precision whose rules apply (PQ codes are rescored like int8).

    Returns
    -------
    int or None
        An int >= 1 for compressed precisions (1 for float16, 4 for int8 and binary by default); None for float32
        (its codes are the vectors, nothing to re-rank).

    Raises
    ------
    InputError
        A rescore factor for float32, or one that is not an integer >= 1 (bools included).
    """
    if precision == "float32":
        if rescore is not None:
            raise InputError(f"rescore applies to compressed codes (precision float16, int8 or binary, or IVF-PQ); "
                             f"this index already scores with the float32 vectors (got rescore={rescore!r})")
        return None
    if rescore is None:
        return DEFAULT_RESCORE[precision]
    if isinstance(rescore, bool) or not isinstance(rescore, (int, np.integer)) or rescore < 1:
        raise InputError(f"rescore must be an integer >= 1 (fetch rescore x k candidates by their codes, then "
                         f"re-rank them with the float32 vectors), got {rescore!r}")
    return int(rescore)


def code_bytes(precision: str, dim: int) -> int:
    """Bytes one vector's code takes.

    Parameters
    ----------
    precision : str
        ``float32``, ``float16``, ``int8`` or ``binary``.
    dim : int
        The dimension.

    Returns
    -------
    int
        ``4 · dim``, ``2 · dim``, ``dim``, or ``binary_bytes(dim)``.
    """
    if precision == "float32":
        return 4 * dim
    if precision == "float16":
        return 2 * dim
    if precision == "int8":
        return dim
    return binary_bytes(dim)


def binary_bytes(dim: int) -> int:
    """Bytes of a sign code: dim bits rounded up to whole 8-byte words.

    FAISS compares binary codes a word at a time and falls back to a byte loop for a ragged tail (measured:
    7-byte codes scanned 3.6x slower than 8-byte ones, 12-byte codes 1.4x slower than 16-byte ones), so the few
    padding bits (always 0) pay for themselves.

    Parameters
    ----------
    dim : int
        The dimension.

    Returns
    -------
    int
        ``8 · ceil(dim / 64)``.
    """
    return 8 * ((int(dim) + 63) // 64)


def binarize(x: np.ndarray) -> np.ndarray:
    """Sign codes: bit j of a row is 1 where dimension j is > 0, packed 8 to a byte and zero-padded to whole words.

    Parameters
    ----------
    x : np.ndarray
        ``(n, d)`` rows, any real dtype.

    Returns
    -------
    np.ndarray
        ``(n, binary_bytes(d))`` uint8, bits in ``np.packbits`` order (most significant first).
    """
    arr = np.asarray(x)
    bits = np.packbits(arr > 0, axis=1)
    want = binary_bytes(arr.shape[1])
    if bits.shape[1] == want:
        return bits
    out = np.zeros((len(bits), want), np.uint8)
    out[:, : bits.shape[1]] = bits
    return out


class Calibration:
    """Per-dimension int8 ranges: ``lo`` and ``hi`` (float32, one value per dimension).

    A value ``v`` of dimension ``j`` is stored as ``floor(255 · clip((v − lo_j) / (hi_j − lo_j), 0, 1))`` and
    read back as ``lo_j + (code + 0.5) / 255 · (hi_j − lo_j)`` (FAISS ``QT_8bit``), so
    values outside the calibrated range are clipped (rescoring with the float32 vectors repairs their ranks). A
    dimension that is constant in the data keeps width 1 (every value maps to code 0, decoded exactly as lo).

    Parameters
    ----------
    lo : array_like
        ``(dim,)`` lower ends, finite (stored as float32).
    hi : array_like
        ``(dim,)`` upper ends, finite, ``hi >= lo``.

    Raises
    ------
    InputError
        Empty ranges, ``lo`` and ``hi`` of different lengths, non-finite values or ``hi < lo`` anywhere.
    """

    def __init__(self, lo: ArrayLike, hi: ArrayLike) -> None:
        self.lo = np.asarray(lo, np.float32).ravel()
        self.hi = np.asarray(hi, np.float32).ravel()
        if self.lo.shape != self.hi.shape or not len(self.lo):
            raise InputError("a calibration needs one (lo, hi) pair per dimension")
        if not (np.isfinite(self.lo).all() and np.isfinite(self.hi).all()) or (self.hi < self.lo).any():
            raise InputError("calibration ranges must be finite with hi >= lo in every dimension")

    @property
    def dim(self) -> int:
        """The dimension the ranges cover.

        Returns
        -------
        int
            ``len(lo)``.
        """
        return len(self.lo)

    @classmethod
    def fit(cls, x: ArrayLike, dim: int | None = None) -> Calibration:
        """Ranges from the rows of ``x``: min and max per dimension.

        Parameters
        ----------
        x : array_like
            ``(n, dim)`` finite rows (as the index stores them: unit length for cosine).
        dim : int, optional
            The dimension ``x`` must have (None: any).

        Returns
        -------
        Calibration
            ``lo = x.min(axis=0)``, ``hi = x.max(axis=0)``.

        Raises
        ------
        DimensionError
            ``x`` not 2-D or not of dimension ``dim`` (an InputError).
        NonFiniteError
            NaN or infinity in ``x`` (an InputError).
        InputError
            An empty set, or rows that are all the same vector (nothing to calibrate a range from).
        """
        mat = as_matrix(x, dim=dim, name="calibration vectors")
        if len(mat) == 0:
            raise InputError("int8 calibration needs vectors to measure each dimension's range, got an empty set; "
                             "add vectors first (a collection calibrates once it holds enough of them)")
        lo, hi = mat.min(axis=0), mat.max(axis=0)
        if not (hi > lo).any():
            raise InputError(f"int8 calibration got {len(mat)} vector(s) that are all identical, so no dimension has "
                             "a range to quantise; calibrate on varied vectors (or use precision='float16')")
        return cls(lo, hi)

    def faiss_trained(self) -> np.ndarray:
        """FAISS ``ScalarQuantizer.trained`` for ``QT_8bit`` (non-uniform).

        Returns
        -------
        np.ndarray
            ``(2 · dim,)`` float32: ``[lo..., width...]``, a zero width replaced by 1.
        """
        width = self.hi - self.lo
        width[width <= 0] = 1.0
        return np.concatenate([self.lo, width]).astype(np.float32)

    def as_array(self) -> np.ndarray:
        """The ranges as one array, as saved in ``calibration.npy``.

        Returns
        -------
        np.ndarray
            ``(2, dim)`` float32: row 0 ``lo``, row 1 ``hi``.
        """
        return np.stack([self.lo, self.hi]).astype(np.float32)

    @classmethod
    def from_array(cls, arr: np.ndarray) -> Calibration:
        """The calibration ``as_array`` wrote.

        Parameters
        ----------
        arr : np.ndarray
            ``(2, dim)`` float32: row 0 ``lo``, row 1 ``hi``.

        Returns
        -------
        Calibration
            Over those ranges.

        Raises
        ------
        InputError
            Ranges that are not finite or with ``hi < lo`` somewhere.
        """
        return cls(arr[0], arr[1])

    def encode(self, x: np.ndarray) -> np.ndarray:
        """The uint8 codes of ``x``, exactly as FAISS computes them (for tests and inspection).

        Parameters
        ----------
        x : np.ndarray
            ``(n, dim)`` rows (any shape ending in ``dim``).

        Returns
        -------
        np.ndarray
            uint8 codes of ``x``'s shape, 0 to 255 (values outside ``[lo, hi]`` clipped).
        """
        width = self.hi - self.lo
        width[width <= 0] = 1.0
        t = np.clip((np.asarray(x, np.float32) - self.lo) / width, 0.0, 1.0)
        return np.floor(t * 255.0).astype(np.uint8)

    def __repr__(self) -> str:
        return f"Calibration(dim={self.dim})"


def sq_type(precision: str) -> Any:
    """The FAISS ScalarQuantizer type of a float16 / int8 precision.

    Parameters
    ----------
    precision : str
        ``float16`` or ``int8``.

    Returns
    -------
    int
        ``faiss.ScalarQuantizer.QT_fp16`` for float16, else ``QT_8bit``.
    """
    import faiss

    return faiss.ScalarQuantizer.QT_fp16 if precision == "float16" else faiss.ScalarQuantizer.QT_8bit


def set_sq_calibration(sq_index: Any, cal: Calibration) -> None:
    """Install ``cal`` as the trained ranges of a FAISS ScalarQuantizer index and mark it trained.

    The index then never calibrates itself.

    Parameters
    ----------
    sq_index : faiss.IndexScalarQuantizer or faiss.IndexIVFScalarQuantizer
        The index (flat, an HNSW graph's storage, or IVF-SQ); changed in place.
    cal : Calibration
        The ranges, of the index's dimension.
    """
    import faiss

    faiss.copy_array_to_vector(cal.faiss_trained(), sq_index.sq.trained)
    sq_index.is_trained = True
