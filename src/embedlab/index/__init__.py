"""Indexes: exact and approximate nearest-neighbour search behind one interface.

``make_index(kind, dim, metric, **params)`` builds one, ``load_index(folder)`` reopens any saved kind, and
``recall_at_k`` measures an approximate index against the exact one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from . import _store
from .base import Index
from .exact import ExactIndex
from .recall import recall_at_k

_KINDS: dict[str, type[Index]] = {"exact": ExactIndex}

try:  # HNSW lives in its own module; keep exact search usable even if it fails to import
    from .hnsw import HNSWIndex

    _KINDS["hnsw"] = HNSWIndex
except ImportError:  # pragma: no cover
    HNSWIndex = None  # type: ignore[assignment,misc]


def make_index(kind: str, dim: int, metric: str = "cosine", **params: Any) -> Index:
    """A new empty index of ``kind`` ("exact" or "hnsw"); ``params`` go to its constructor (e.g. M=32)."""
    cls = _KINDS.get(kind)
    if cls is None:
        raise InputError(f"unknown index kind {kind!r}; choose one of {', '.join(sorted(_KINDS))}")
    try:
        return cls(dim, metric, **params)
    except TypeError as exc:
        raise InputError(f"bad parameters for a {kind} index: {exc}") from None


def load_index(folder: str | Path, **kw: Any) -> Index:
    """Open an index saved with ``save``, whatever its kind (read from its ``index.json``)."""
    doc = _store.read_manifest(folder)
    cls = _KINDS.get(doc["kind"])
    if cls is None:
        raise _store.corrupt(Path(folder), f"unknown index kind {doc['kind']!r}")
    return cls.load(folder, **kw)


__all__ = ["Index", "ExactIndex", "HNSWIndex", "make_index", "load_index", "recall_at_k"]
