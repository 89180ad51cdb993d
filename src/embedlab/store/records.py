"""The records a Collection hands out (``Item``, ``Hit``) and the row batches its backends store (``Rows``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Item:
    """One stored entry: its id, vector (float32; unit length for cosine collections), metadata, source and
    content (the text it was encoded from, when it was a text; None otherwise)."""

    id: str
    vector: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    content: str | None = None


@dataclass
class Hit:
    """One search result; ``score`` is higher-is-better (cosine, dot, or negated L2 distance)."""

    id: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": self.score, "metadata": self.metadata, "source": self.source}


@dataclass
class Stored:
    """What a backend knows of an id without reading its vector: metadata (JSON text), source, content hash."""

    metadata: str
    source: str | None
    hash: str | None


@dataclass
class Rows:
    """A batch of rows, as written by ``Writer.insert`` and read by ``Reader.rows``: ``ids`` (n,), ``vectors``
    (n, dim) float32 (prepared: unit rows for cosine), ``metadata`` as JSON texts, ``sources``, content
    ``hashes`` and ``contents`` (each a list of n, None where absent)."""

    ids: list[str]
    vectors: np.ndarray
    metadata: list[str]
    sources: list[str | None]
    hashes: list[str | None]
    contents: list[str | None]

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx: list[int]) -> Rows:
        """The rows at positions ``idx``, in that order."""
        return Rows([self.ids[i] for i in idx], self.vectors[idx], [self.metadata[i] for i in idx],
                    [self.sources[i] for i in idx], [self.hashes[i] for i in idx], [self.contents[i] for i in idx])
