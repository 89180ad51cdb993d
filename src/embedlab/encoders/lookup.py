"""An encoder that looks keys up in a learned table: entity embeddings, item factors, any ``Vectors``.

Items are keys (strings: a film id, a product, a category); each encodes to its row. A key the table lacks is
an ``UnknownKeyError`` naming close keys — a learned table has no vector for what it never saw.

    >>> enc = EntityEmbedding(dim=16).fit(baskets).to_encoder()
    >>> enc.encode(["Alien", "Heat"])          # (2, 16) float32, unit rows
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ..vectors import Vectors
from .base import Encoder

__all__ = ["LookupEncoder"]


class LookupEncoder(Encoder):
    """Keys to their rows in a ``Vectors`` table (cosine metric; ``modalities == ("key",)``).

    Parameters
    ----------
    vectors : Vectors
        The table (keys and a float32 ``(n, dim)`` matrix).
    name : str
        The encoder's name (used in fingerprints and messages).

    Raises
    ------
    InputError
        When ``vectors`` is not a Vectors table.
    """

    modalities = ("key",)
    metric = "cosine"

    def __init__(self, vectors: Vectors, name: str = "lookup") -> None:
        if not isinstance(vectors, Vectors):
            raise InputError(f"LookupEncoder needs a Vectors table, got {type(vectors).__name__}")
        self.vectors, self.name, self.dim = vectors, name, vectors.dim

    def _check_item(self, index: int, item: Any) -> Any:
        if not isinstance(item, str):
            raise InputError(f"item {index} is {type(item).__name__}; a lookup encoder takes keys (str)")
        self.vectors.get_index(item)  # UnknownKeyError naming close keys
        return item

    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        rows = np.fromiter((self.vectors.get_index(k) for k in items), dtype=np.int64, count=len(items))
        return np.asarray(self.vectors.matrix[rows], dtype=np.float32)

    def _fingerprint_source(self) -> str:
        import hashlib

        m = np.ascontiguousarray(self.vectors.matrix, dtype=np.float32)
        return f"{len(self.vectors)}x{self.dim}:{hashlib.sha256(m.tobytes()).hexdigest()[:16]}"
