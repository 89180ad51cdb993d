"""What one FAISS-backed index kind implements: ``FaissCodes``, the FAISS structures that hold the kind's codes.

A coded index (``coded.CodedIndex``) is one ``FaissCodes`` plus what every kind shares: our ids over FAISS's
positions (``idmap.IdMap``), tombstones, the float32 rows that rescore compressed codes, the pre-training buffer,
filters and persistence. A new kind subclasses ``FaissCodes`` and implements its three abstract methods:

- ``new_index()``: a new, empty FAISS index of the kind (trained as far as the kind keeps training);
- ``search(q, k, sel, widen, settings)``: FAISS's k best positions per query, through a selector and with a
  beam / probe count widened for filters;
- ``install_calibration()``: put ``self.calibration`` (int8 ranges) into the FAISS index;

and overrides the documented defaults where its FAISS structures differ (several parts, a graph, centroids,
per-call settings), e.g. ``settings`` / ``check_setting`` for its per-call search parameters, ``exact_limit``
and ``filter_widen`` for filters, ``train`` / ``needs_training`` / ``train_min`` for training, ``memory_bytes``,
and ``files`` / ``read`` for persistence. The kind's index class is then a ``CodedIndex`` subclass whose
constructor builds its ``FaissCodes`` (see ``compressed.py``, the smallest).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError
from ..metrics import check_metric
from . import codec
from .base import SearchParams, check_dim
from .quantize import Calibration, binarize, binary_bytes, check_precision, code_bytes

COMPACT_FRACTION = 0.25  # dead/total positions above which the index is rebuilt
EXACT_FILTER_MIN = 2000  # a filter keeping at most this many rows is always searched exactly
CALIBRATE_MIN = 1000  # an int8 index calibrates itself once this many rows were added (or on train())


class FaissCodes(ABC):
    """The FAISS structures of one coded index kind, and how they are built, searched, trained and saved.

    FAISS [1]_ numbers rows by *position* (0, 1, ... in insertion order); removed rows stay in the codes (the coded
    index excludes them with a selector) until a rebuild. ``index`` is the FAISS index new codes go to.

    Parameters
    ----------
    dim : int
        Dimension of the float32 rows.
    metric : str
        ``cosine``, ``dot`` or ``l2`` (rows and queries arrive prepared: unit length for cosine).
    precision : str
        ``float32``, ``float16``, ``int8`` or ``binary`` codes.

    Raises
    ------
    InputError
        A bad dimension, metric or precision (binary with l2).

    References
    ----------
    .. [1] J. Johnson, M. Douze and H. Jégou, "Billion-scale similarity search with GPUs", IEEE Transactions on
       Big Data, 2019; arXiv:1702.08734 (FAISS).
    """

    #: the data file ``files`` writes the FAISS index to
    data_file: ClassVar[str] = "codes.faiss"
    #: the SearchParams fields this kind reads per call, each with the keyword ``search`` also takes for it
    #: (e.g. ``{"ef_search": "ef"}``); ``rescore`` is the coded index's own
    settings: ClassVar[dict[str, str]] = {}
    #: the fraction of dead positions above which the coded index rebuilds itself
    compact_fraction: ClassVar[float] = COMPACT_FRACTION

    def __init__(self, dim: int, metric: str, precision: str) -> None:
        self.dim = check_dim(dim)
        self.metric = check_metric(metric)
        self.precision = check_precision(precision, self.metric)
        #: the kind's settings as saved in ``index.json`` (the coded index's ``params``: the same dict)
        self.params: dict[str, Any] = {}
        #: ``search``'s keyword -> the SearchParams field it sets (``settings`` reversed)
        self.keywords = {key: field for field, key in self.settings.items()}
        self.bits = 8 * binary_bytes(self.dim)  # the width of a binary code
        self.calibration: Calibration | None = None
        #: whether FAISS would split one query's scan over threads (flat and binary scans): run it on one thread
        self.one_thread_query = True
        #: the precision whose rescore rules apply (product-quantised float32 codes are rescored like int8)
        self.rescore_precision = self.precision
        #: whether ``floats()`` gives the float32 rows (the FAISS structure stores them uncoded)
        self.holds_floats = False
        self.index: Any = None

    # ------------------------------------------------------------------ what a kind must implement
    @abstractmethod
    def new_index(self) -> Any:
        """A new, empty FAISS index of this kind, with its saved settings.

        Where the kind keeps its training in the FAISS structure itself (IVF's trained template), the new index
        has it.

        Returns
        -------
        faiss.Index or faiss.IndexBinary
            Empty (``ntotal`` 0).
        """

    @abstractmethod
    def search(self, q: np.ndarray, k: int, sel: Any, widen: float, settings: SearchParams
               ) -> tuple[np.ndarray, np.ndarray]:
        """The k best codes per query.

        Parameters
        ----------
        q : np.ndarray
            ``(nq, dim)`` float32 prepared queries, or ``(nq, bits / 8)`` uint8 sign codes for binary precision.
        k : int
            Candidates per query.
        sel : faiss.IDSelector or None
            Only the positions it accepts (live rows, a filter's rows).
        widen : float
            How much broader than usual to search (>= 1: a selective filter discards most visited codes).
        settings : SearchParams
            This call's settings, checked by ``check_setting`` (None fields: the saved defaults).

        Returns
        -------
        distances : np.ndarray
            ``(nq, k)`` as FAISS reports them (float32; int32 Hamming distances for binary), FAISS's order.
        positions : np.ndarray
            ``(nq, k)`` int64, -1 where fewer than k codes qualify.
        """

    @abstractmethod
    def install_calibration(self) -> None:
        """Put ``self.calibration`` (int8 ranges) into the FAISS index, marking it trained."""

    # ------------------------------------------------------------------ structure (defaults: one FAISS index)
    def reset(self, keep_training: bool = False) -> None:
        """Drop every code: ``index`` becomes a new, empty FAISS index.

        Parameters
        ----------
        keep_training : bool
            Keep the training (int8 ranges, IVF centroids); False forgets it.
        """
        self.index = self.new_index()
        if keep_training and self.calibration is not None:
            self.install_calibration()
        elif not keep_training:
            self.calibration = None

    @property
    def ntotal(self) -> int:
        """Positions held (live and dead).

        Returns
        -------
        int
            FAISS's ``ntotal`` (over every part, for kinds with several).
        """
        return int(self.index.ntotal)

    def encode(self, vecs: np.ndarray) -> np.ndarray:
        """What FAISS takes for prepared float32 rows or queries.

        Parameters
        ----------
        vecs : np.ndarray
            ``(n, dim)`` float32, prepared (unit length for cosine).

        Returns
        -------
        np.ndarray
            The rows themselves (``(n, dim)`` float32, C order; FAISS codes them), or their packed sign bits
            ``(n, bits / 8)`` uint8 for binary precision (``quantize.binarize``).
        """
        return binarize(vecs) if self.precision == "binary" else np.ascontiguousarray(vecs, dtype=np.float32)

    def add(self, codes: np.ndarray, start: int) -> None:
        """Append ``encode``'s output as positions ``start, start + 1, ...``.

        Parameters
        ----------
        codes : np.ndarray
            ``encode``'s output for ``n`` rows.
        start : int
            Their first position (``ntotal`` before the call).
        """
        self.index.add(codes)

    def building(self) -> AbstractContextManager[Any]:
        """The context ``add`` runs in (e.g. FAISS's build threads).

        Returns
        -------
        contextlib.AbstractContextManager
            By default ``contextlib.nullcontext()``.
        """
        return nullcontext()

    def code_bytes(self) -> int:
        """Bytes of one position's code.

        Returns
        -------
        int
            ``quantize.code_bytes``: 4, 2 or 1 a dimension (float32, float16, int8), or the binary code size.
        """
        return code_bytes(self.precision, self.dim)

    def memory_bytes(self) -> int:
        """Resident bytes of the FAISS structures (codes; a graph or centroids where the kind has them).

        Returns
        -------
        int
            By default ``ntotal × code_bytes()``.
        """
        return self.ntotal * self.code_bytes()

    def floats(self) -> np.ndarray | None:
        """The float32 rows by position, when the FAISS structure stores them uncoded.

        Returns
        -------
        np.ndarray or None
            ``(ntotal, dim)`` float32, a zero-copy view; None when the structure holds codes.
        """
        return None

    def drop(self, dead: np.ndarray) -> bool:
        """Remove the dead positions from the codes themselves, renumbering the rest in order.

        Parameters
        ----------
        dead : np.ndarray
            ``(ntotal,)`` bool, the positions to remove.

        Returns
        -------
        bool
            Whether it did; False where the kind cannot (the coded index then rebuilds from float32 rows).
        """
        return False

    # ------------------------------------------------------------------ search settings and filters
    def check_setting(self, field: str, name: str, value: Any) -> int:
        """A per-call setting's value as this kind uses it. Called only for fields in ``settings``.

        Parameters
        ----------
        field : str
            The SearchParams field (``ef_search``, ``nprobe``).
        name : str
            What the caller gave it as: the field or its keyword (``ef``), for the error message.
        value : int
            The value given (not yet checked).

        Returns
        -------
        int
            ``int(value)``.

        Raises
        ------
        InputError
            ``value`` out of range, naming ``name`` (by default: below 1).
        """
        if int(value) < 1:
            raise InputError(f"{name} must be >= 1, got {value}")
        return int(value)

    def filter_widen(self, n: int, m: int) -> float:
        """How much to widen a search whose filter keeps ``m`` of the ``n`` live rows.

        Parameters
        ----------
        n : int
            Live rows.
        m : int
            Rows the filter keeps.

        Returns
        -------
        float
            >= 1 (a factor on the beam width or probe count); by default 1.0: not at all.
        """
        return 1.0

    def exact_limit(self, n: int, k: int, widen: float, settings: SearchParams) -> int:
        """Kept rows up to which a filter is answered exactly over float32 rows rather than by this kind's search.

        Parameters
        ----------
        n : int
            Live rows.
        k : int
            Candidates the search would fetch (k × rescore for compressed codes).
        widen : float
            ``filter_widen``'s factor for this filter.
        settings : SearchParams
            This call's settings (a wider beam or more probes cost more, so the limit rises with them).

        Returns
        -------
        int
            A row count; by default ``EXACT_FILTER_MIN``.
        """
        return EXACT_FILTER_MIN

    # ------------------------------------------------------------------ training
    @property
    def needs_training(self) -> bool:
        """Whether codes can only be added after training (int8: the ranges).

        Returns
        -------
        bool
            By default True for int8 only.
        """
        return self.precision == "int8"

    @property
    def trained(self) -> bool:
        """Whether rows can be coded now.

        Returns
        -------
        bool
            True when no training is needed or it was done.
        """
        return not self.needs_training or self.calibration is not None

    @property
    def retrains_on_rebuild(self) -> bool:
        """Whether a rebuild trains again on the live rows (int8 ranges follow them; IVF keeps its centroids).

        Returns
        -------
        bool
            By default True for int8 only.
        """
        return self.precision == "int8"

    def train_min(self) -> int:
        """Rows an untrained index waits for before it trains itself on them.

        Returns
        -------
        int
            By default ``CALIBRATE_MIN`` (1000).
        """
        return CALIBRATE_MIN

    def sample(self, x: np.ndarray) -> np.ndarray:
        """The rows of ``x`` to train on.

        Parameters
        ----------
        x : np.ndarray
            ``(n, dim)`` float32 prepared rows.

        Returns
        -------
        np.ndarray
            A subset of the rows (by default all of them, ``x`` itself).
        """
        return x

    def train(self, x: np.ndarray) -> None:
        """Train on prepared float32 rows (int8: calibrate each dimension's range, ``Calibration.fit``).

        Parameters
        ----------
        x : np.ndarray
            ``(n, dim)`` float32 prepared rows (unit length for cosine).

        Raises
        ------
        InputError
            Rows that cannot train (empty, all identical).
        """
        self.calibration = Calibration.fit(x, self.dim)
        self.install_calibration()

    # ------------------------------------------------------------------ persistence
    def files(self) -> codec.CodeFiles:
        """The data files (and ``index.json`` entries) that save the FAISS structures.

        Returns
        -------
        codec.CodeFiles
            By default ``data_file`` holding ``index`` (``faiss.write_index``).
        """
        return codec.CodeFiles({self.data_file: codec.write_faiss(self.index, self.precision == "binary")})

    def saved(self, folder: Path) -> None:
        """Called after ``files`` were written to ``folder`` (nothing to do by default).

        Parameters
        ----------
        folder : Path
            The saved index folder.
        """
        return None

    def matches(self, index: Any) -> bool:
        """Whether a FAISS index read from a file is of this kind, precision and dimension.

        Parameters
        ----------
        index : faiss.Index or faiss.IndexBinary
            As read from the file.

        Returns
        -------
        bool
            By default: of ``new_index()``'s class, with ``d`` the dimension (the bit width for binary codes).
        """
        return isinstance(index, type(self.new_index())) and index.d == (
            self.bits if self.precision == "binary" else self.dim)

    def read(self, folder: Path, doc: dict[str, Any], npos: int, mmap: bool) -> None:
        """Read the FAISS structures ``files`` wrote; ``self.calibration`` is already restored.

        Parameters
        ----------
        folder : Path
            The index folder.
        doc : dict
            Its manifest.
        npos : int
            The positions it holds (``codec.positions``).
        mmap : bool
            Map the files read-only where the kind can (IVF's lists); others read them.

        Raises
        ------
        CorruptFileError
            A file FAISS cannot read, of another kind, precision or dimension, or with another number of
            positions (named).
        """  # noqa: DOC501 - codec.corrupt() returns the CorruptFileError raised
        index = codec.read_faiss(folder, doc, self.data_file, self.precision == "binary")
        if not self.matches(index) or index.ntotal != npos:
            raise codec.corrupt(folder, f"{self.data_file} does not match index.json")
        self.index = index
        if self.calibration is not None:
            self.install_calibration()
