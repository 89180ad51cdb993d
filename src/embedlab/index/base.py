"""The Index contract: find the nearest stored rows for a batch of query vectors.

Ids are int64 labels chosen by the caller (a Collection maps its string ids to them). ``search`` returns
``(ids, scores)``, both ``(n_queries, k)``, best first, scores higher-is-better (see `embedlab.metrics`);
where fewer than k rows qualify, the tail is padded with id -1 and score -inf.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..metrics import as_matrix, check_metric

INDEX_FORMAT_VERSION = 2  # 2: a 'precision' block (codes, rescore, calibration); 1 (float32 only) still reads

#: Reads float32 rows (as the index stores them: unit length for cosine) of sorted, distinct ids:
#: ``(m,) int64 -> (m, dim) float32``. A compressed index re-ranks its candidates with it.
RowSource = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SearchParams:
    """Per-call search settings, one value through every layer (Collection, storage backend, Index).

    ``None`` means "the index's own saved setting". A kind ignores nothing: an index that has no use for a
    setting that is not None raises ``InputError`` naming it.

    Attributes
    ----------
    ef_search : int or None
        The HNSW beam width, >= 1 (hnswlib's ``ef``, FAISS's ``efSearch``, pgvector's ``hnsw.ef_search``; the
        ``ef`` of Malkov & Yashunin 2018).
    nprobe : int or None
        The IVF lists scanned per query, 1 to ``nlist``.
    rescore : int or None
        How many candidates per result (× k) a compressed index re-ranks with float32 vectors, >= 1.
    """

    ef_search: int | None = None
    nprobe: int | None = None
    rescore: int | None = None

    def set(self) -> dict[str, int]:
        """The settings that are not None, by name.

        Returns
        -------
        dict of str to int
            Field name -> value for the fields that are set, in the order ``ef_search``, ``nprobe``, ``rescore``.
        """
        return {k: v for k, v in (("ef_search", self.ef_search), ("nprobe", self.nprobe), ("rescore", self.rescore))
                if v is not None}

    def with_(self, **changes: int | None) -> SearchParams:
        """A copy with some settings changed.

        Parameters
        ----------
        **changes : int or None
            New values by field name (``ef_search``, ``nprobe``, ``rescore``); None: the index's own setting.

        Returns
        -------
        SearchParams
            A new instance (this one is frozen and stays as it is).

        Raises
        ------
        TypeError
            A name that is not a field (``dataclasses.replace``).
        """
        return replace(self, **changes)


def check_dim(dim: Any) -> int:
    """``dim`` as a positive int.

    Parameters
    ----------
    dim : int
        A dimension (anything ``int()`` accepts).

    Returns
    -------
    int
        ``int(dim)``, >= 1.

    Raises
    ------
    InputError
        ``dim`` < 1.
    """
    if int(dim) <= 0:
        raise InputError(f"dim must be a positive integer, got {dim}")
    return int(dim)


class Index(ABC):
    """Nearest-neighbour search over (id, vector) rows under one metric.

    The kinds: ``ExactIndex`` (brute force over float32 rows), ``CompressedExactIndex`` (brute force over float16 /
    int8 / binary codes, re-ranked with float32 rows), ``HNSWIndex`` (a graph, Malkov & Yashunin 2018 [1]_) and
    ``IVFIndex`` (inverted lists, Jégou et al. 2011 [2]_); all scan with FAISS's kernels [3]_. ``make_index`` builds
    one by kind name, ``load_index`` reopens any saved one.

    Parameters
    ----------
    dim : int
        Dimension of the rows (>= 1).
    metric : str
        ``"cosine"`` (rows stored at unit length; score = inner product, in [-1, 1]), ``"dot"`` (score = inner
        product) or ``"l2"`` (score = minus the Euclidean distance); see ``embedlab.metrics``.

    Raises
    ------
    InputError
        ``dim`` < 1 or an unknown metric.

    References
    ----------
    .. [1] Y. A. Malkov and D. A. Yashunin, "Efficient and robust approximate nearest neighbor search using
       Hierarchical Navigable Small World graphs", IEEE TPAMI 42(4), 2020 (online 2018); arXiv:1603.09320.
    .. [2] H. Jégou, M. Douze and C. Schmid, "Product quantization for nearest neighbor search", IEEE TPAMI
       33(1), 2011.
    .. [3] J. Johnson, M. Douze and H. Jégou, "Billion-scale similarity search with GPUs", IEEE Transactions on
       Big Data, 2019; arXiv:1702.08734 (FAISS).
    """

    kind: str = "index"
    #: The codes the index keeps: ``"float32"`` (the rows themselves), ``"float16"``, ``"int8"`` or ``"binary"``;
    #: kinds that keep codes set their own.
    precision: str = "float32"
    #: The kind's construction settings as saved with the index (the ``make_index`` keywords that shape its
    #: results: ``M``, ``ef_search``, ``nlist``, ``nprobe``, ``precision``, ``rescore`` ...); empty for a kind
    #: that has none. Read it, do not change it: a different setting needs a new index.
    params: Mapping[str, Any] = MappingProxyType({})

    def __init__(self, dim: int, metric: str = "cosine") -> None:
        self.dim = check_dim(dim)
        self.metric = check_metric(metric)

    @abstractmethod
    def add(self, ids: Iterable[int], vectors: ArrayLike) -> None:
        """Add rows.

        Parameters
        ----------
        ids : iterable of int
            ``(n,)`` int64 ids, distinct and not in the index yet (remove an id first to replace its vector).
        vectors : array_like
            ``(n, dim)`` finite values, any real dtype (stored as float32); cosine indexes store them normalised.

        Raises
        ------
        DimensionError
            ``vectors`` not ``(n, dim)`` (an InputError).
        NonFiniteError
            NaN or infinity in ``vectors`` (an InputError).
        InputError
            Not one id per row, repeated ids, or ids already present.
        """

    @abstractmethod
    def remove(self, ids: Iterable[int]) -> int:
        """Remove rows by id; removed ids never come back in results.

        Parameters
        ----------
        ids : iterable of int
            ``(m,)`` int64 ids to remove (absent ones are ignored, repeated ones count once).

        Returns
        -------
        int
            How many of them were present (0 to m).
        """

    @abstractmethod
    def search(
        self, queries: ArrayLike, k: int = 10, filter: Iterable[int] | None = None,
        params: SearchParams | None = None, **kw: Any,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best rows for each query.

        Parameters
        ----------
        queries : array_like
            ``(nq, dim)`` query vectors, or one ``(dim,)`` vector (one query).
        k : int
            Results per query (>= 1).
        filter : iterable of int, optional
            Only rows whose id is in it.
        params : SearchParams, optional
            This call's settings (None fields: the index's saved ones). A setting the kind has no use for
            raises InputError naming it.
        **kw
            The kinds' own keywords for the same settings (``ef=`` for HNSW, ``nprobe=`` for IVF, ``rescore=``
            for compressed codes).

        Returns
        -------
        ids : np.ndarray
            ``(nq, k)`` int64, best first, padded with -1 where fewer than k rows qualify.
        scores : np.ndarray
            ``(nq, k)`` float32, higher is better (see ``embedlab.metrics``), padded with -inf.

        Raises
        ------
        DimensionError
            Queries not ``(nq, dim)`` or ``(dim,)`` (an InputError).
        NonFiniteError
            NaN or infinity in the queries (an InputError).
        InputError
            ``k`` < 1, a setting the kind does not take (named) or one out of range.
        """

    @abstractmethod
    def save(self, path: str | Path) -> None:
        """Write the index (data and its search parameters) to the folder ``path``, atomically.

        The folder holds ``index.json`` (kind, dimension, metric, parameters, precision block, each data file's
        size and CRC32) and the kind's data files; ``load`` (or ``load_index``) reads it back.

        Parameters
        ----------
        path : str or Path
            The index folder (replaced whole: a crash leaves the old folder or the new one).

        Raises
        ------
        StorageFullError
            The disk filled up while writing (the old folder is kept).
        ReadOnlyStorageError
            Read-only media or no write permission.
        """

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path) -> Index:
        """Read an index written by ``save``.

        Parameters
        ----------
        path : str or Path
            The index folder.

        Returns
        -------
        Index
            An index of the class ``load`` is called on, with its saved parameters.

        Raises
        ------
        InputError
            No index folder at ``path``, or an index of another kind.
        CorruptFileError
            A missing, truncated or damaged file (named).
        FormatVersionError
            Written by a newer embedlab.
        """

    @abstractmethod
    def __len__(self) -> int:
        """Number of live (not removed) rows."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """The live ids.

        Returns
        -------
        np.ndarray
            ``(len(self),)`` int64, distinct, in the kind's storage order (not necessarily sorted).
        """

    @abstractmethod
    def memory_bytes(self) -> int:
        """Bytes this index holds in memory for its rows (codes, graph, id maps).

        Memory-mapped files count as what a search touches. Used by ``plan`` to compare estimates with what was
        built (``plan.index_memory_bytes``, ``Estimate.resident_bytes``).

        Returns
        -------
        int
            Bytes, >= 0.
        """

    # ----------------------------------------------------------- training and the float32 vector source
    @property
    def trained(self) -> bool:
        """Whether the index can place new rows by itself.

        An untrained one (IVF before ``train_min`` rows, int8 before calibration) keeps rows in a float32 buffer
        and searches them exactly.

        Returns
        -------
        bool
            True for kinds that need no training.
        """
        return True

    def train_min(self) -> int:
        """Rows an untrained index waits for before it trains itself on them.

        Returns
        -------
        int
            A row count; 0: the kind needs no training.
        """
        return 0

    def train(self, vectors: ArrayLike) -> None:
        """Learn what the codes need from a sample of rows (int8 ranges, IVF centroids).

        Rows already added are coded again. Kinds that need no training (``trained`` is always True) do nothing.

        Parameters
        ----------
        vectors : array_like
            ``(n, dim)`` float32 sample rows (a seeded sample of the data is enough).

        Raises
        ------
        InputError
            When the sample cannot train the index (empty, all rows identical, fewer rows than an IVF's lists).
        """
        return None

    def set_vector_source(self, source: RowSource | None) -> None:
        """Where the index reads float32 rows by id when it does not keep them.

        Compressed codes are re-ranked with these rows, and a small filtered set is searched exactly over them.
        Indexes that keep float32 rows ignore it.

        Parameters
        ----------
        source : RowSource or None
            ``(m,) int64`` sorted distinct ids -> ``(m, dim)`` float32 rows as the index stores them (unit length
            for cosine); None forgets a source.
        """
        return None

    @property
    def has_vector_source(self) -> bool:
        """Whether a vector source was set with ``set_vector_source``.

        Returns
        -------
        bool
            False for kinds that keep their float32 rows (they take no source).
        """
        return False

    # ----------------------------------------------------------- shared helpers
    def _queries(self, queries: ArrayLike) -> np.ndarray:
        return as_matrix(queries, dim=self.dim, name="query vectors")

    @staticmethod
    def _check_k(k: int) -> int:
        if int(k) < 1:
            raise InputError(f"k must be >= 1, got {k}")
        return int(k)

    @staticmethod
    def _ids(ids: Iterable[int], n: int | None = None) -> np.ndarray:
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64).ravel()
        if n is not None and len(arr) != n:
            raise InputError(f"got {len(arr)} ids for {n} vectors; pass one id per vector")
        if len(np.unique(arr)) != len(arr):
            raise InputError("ids must be unique within one call")
        return arr
