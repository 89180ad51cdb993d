"""Recall@k of an approximate index against an exact twin: the standard ANN quality number."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from .base import Index


def recall_at_k(index: Index, exact_index: Index, queries: ArrayLike, k: int = 10, **search_kw: Any) -> float:
    """Mean fraction of the exact k nearest ids that ``index`` also returns in its top k.

    Queries whose exact result has fewer than k rows count only the rows that exist. ``search_kw`` go to
    ``index.search`` (for example ``ef=`` for HNSW).
    """
    if len(index) != len(exact_index):
        raise InputError(
            f"the two indexes hold {len(index)} and {len(exact_index)} rows; build them from the same rows"
        )
    approx, _ = index.search(queries, k, **search_kw)
    truth, _ = exact_index.search(queries, k)
    hits = total = 0
    for a, t in zip(approx, truth, strict=True):
        t = t[t >= 0]
        total += len(t)
        hits += len(np.intersect1d(a[a >= 0], t, assume_unique=True))
    return float(hits / total) if total else 1.0
