"""Vectors: a keyed table of float32 vectors (the result of every trainer, the input of analysis).

    >>> v = Vectors(["king", "queen"], np.eye(2, dtype=np.float32))
    >>> v["queen"]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import InputError, UnknownKeyError
from .metrics import as_matrix


class Vectors:
    """Keys, a key→row map and a float32 (n, d) matrix (possibly memory-mapped, never copied needlessly)."""

    def __init__(self, keys: Sequence[str], matrix) -> None:
        matrix = matrix if isinstance(matrix, np.memmap) and matrix.dtype == np.float32 else as_matrix(matrix)
        keys = [str(k) for k in keys]
        if len(keys) != matrix.shape[0]:
            raise InputError(f"{len(keys)} keys for {matrix.shape[0]} vectors; pass one key per row")
        self.keys: list[str] = keys
        self.key_to_index: dict[str, int] = {k: i for i, k in enumerate(keys)}
        if len(self.key_to_index) != len(keys):
            raise InputError("keys must be unique")
        self.matrix: np.ndarray = matrix

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        return key in self.key_to_index

    def index(self, key: str) -> int:
        """Row of ``key``; UnknownKeyError otherwise."""
        try:
            return self.key_to_index[key]
        except KeyError:
            raise UnknownKeyError(f"{key!r} is not in the vocabulary ({len(self)} keys)") from None

    def __getitem__(self, key: str) -> np.ndarray:
        return self.matrix[self.index(key)]
