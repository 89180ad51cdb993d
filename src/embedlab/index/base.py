"""The Index contract: find the nearest stored rows for a batch of query vectors.

Ids are int64 labels chosen by the caller (a Collection maps its string ids to them). ``search`` returns
``(ids, scores)``, both ``(n_queries, k)``, best first, scores higher-is-better (see `embedlab.metrics`);
where fewer than k rows qualify, the tail is padded with id -1 and score -inf.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..metrics import as_matrix, check_metric

INDEX_FORMAT_VERSION = 2  # 2: a 'precision' block (codes, rescore, calibration); 1 (float32 only) still reads


class Index(ABC):
    """Nearest-neighbour search over (id, vector) rows under one metric."""

    kind: str = "index"

    def __init__(self, dim: int, metric: str = "cosine") -> None:
        if int(dim) <= 0:
            raise InputError(f"dim must be a positive integer, got {dim}")
        self.dim = int(dim)
        self.metric = check_metric(metric)

    @abstractmethod
    def add(self, ids: Iterable[int], vectors: ArrayLike) -> None:
        """Add rows; an id that is already present raises InputError (remove it first to replace)."""

    @abstractmethod
    def remove(self, ids: Iterable[int]) -> int:
        """Remove rows by id; returns how many were present. Removed ids never come back in results."""

    @abstractmethod
    def search(
        self, queries: ArrayLike, k: int = 10, filter: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best rows for each query; with ``filter``, only rows whose id is in it."""

    @abstractmethod
    def save(self, path: str | Path) -> None:
        """Write the index (data and its search parameters) to the folder ``path``."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | Path) -> Index:
        """Read an index written by ``save``; CorruptFileError/FormatVersionError on bad files."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of live (not removed) rows."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """The live ids, int64."""

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
