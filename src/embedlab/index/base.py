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

    ``None`` means "the index's own saved setting". ``ef_search`` is the HNSW beam width (hnswlib's ``ef``,
    FAISS's ``efSearch``, pgvector's ``hnsw.ef_search``); ``nprobe`` the IVF lists scanned; ``rescore`` how many
    candidates per result (× k) a compressed index re-ranks with float32 vectors. A kind ignores nothing: an index
    that has no use for a setting that is not None raises ``InputError`` naming it.
    """

    ef_search: int | None = None
    nprobe: int | None = None
    rescore: int | None = None

    def set(self) -> dict[str, int]:
        """The settings that are not None, by name."""
        return {k: v for k, v in (("ef_search", self.ef_search), ("nprobe", self.nprobe), ("rescore", self.rescore))
                if v is not None}

    def with_(self, **changes: int | None) -> SearchParams:
        """A copy with some settings changed."""
        return replace(self, **changes)


def check_dim(dim: Any) -> int:
    """``dim`` as a positive int; InputError otherwise."""
    if int(dim) <= 0:
        raise InputError(f"dim must be a positive integer, got {dim}")
    return int(dim)


class Index(ABC):
    """Nearest-neighbour search over (id, vector) rows under one metric."""

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
            ``(n, dim)`` finite values; cosine indexes store them normalised.

        Raises
        ------
        InputError
            Wrong shape, non-finite values, repeated ids or ids already present.
        """

    @abstractmethod
    def remove(self, ids: Iterable[int]) -> int:
        """Remove rows by id; removed ids never come back in results.

        Parameters
        ----------
        ids : iterable of int
            Ids to remove (absent ones are ignored).

        Returns
        -------
        int
            How many of them were present.
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
        InputError
            ``k`` < 1, queries of the wrong dimension or non-finite, a setting the kind does not take or out of
            range.
        """

    @abstractmethod
    def save(self, path: str | Path) -> None:
        """Write the index (data and its search parameters) to the folder ``path``, atomically.

        Parameters
        ----------
        path : str or Path
            The index folder (replaced whole: a crash leaves the old folder or the new one).
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

        Raises
        ------
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
            ``(len(self),)`` int64.
        """

    @abstractmethod
    def memory_bytes(self) -> int:
        """Bytes this index holds in memory for its rows (codes, graph, id maps); memory-mapped files count as
        what a search touches. Used by ``plan`` to compare estimates with what was built.

        Returns
        -------
        int
        """

    # ----------------------------------------------------------- training and the float32 vector source
    @property
    def trained(self) -> bool:
        """Whether the index can place new rows by itself; an untrained one (IVF before ``train_min`` rows, int8
        before calibration) keeps rows in a float32 buffer and searches them exactly."""
        return True

    def train_min(self) -> int:
        """Rows an untrained index waits for before it trains itself on them (0: it needs no training).

        Returns
        -------
        int
        """
        return 0

    def train(self, vectors: ArrayLike) -> None:
        """Learn what the codes need from a sample of rows (int8 ranges, IVF centroids); rows already added are
        coded again. Kinds that need no training (``trained`` is always True) do nothing.

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
        """Where the index reads float32 rows by id when it does not keep them (re-ranking compressed codes,
        exact search of a small filtered set). Indexes that keep float32 rows ignore it.

        Parameters
        ----------
        source : RowSource or None
            ``(m,) int64`` sorted distinct ids -> ``(m, dim)`` float32 rows as the index stores them (unit length
            for cosine); None forgets a source.
        """
        return None

    @property
    def has_vector_source(self) -> bool:
        """Whether a vector source was set with ``set_vector_source``."""
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
