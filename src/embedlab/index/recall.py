"""Recall@k of an approximate index against an exact twin: the standard ANN quality number."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from .base import Index


def recall_at_k(index: Index, exact_index: Index, queries: ArrayLike, k: int = 10, **search_kw: Any) -> float:
    """Mean fraction of the exact k nearest ids that ``index`` also returns in its top k.

    Queries whose exact result has fewer than k rows count only the rows that exist; the fraction is pooled over
    all queries (hits / exact ids).

    Parameters
    ----------
    index : Index
        The approximate index.
    exact_index : Index
        An exact index (``ExactIndex``) over the same rows.
    queries : array_like
        ``(nq, dim)`` query vectors, or one ``(dim,)`` vector.
    k : int
        Results per query (>= 1).
    **search_kw
        Go to ``index.search`` (for example ``ef=`` for HNSW, ``nprobe=`` for IVF).

    Returns
    -------
    float
        Recall@k in [0, 1]; 1.0 when the exact index returns nothing.

    Raises
    ------
    InputError
        The two indexes hold different numbers of rows, or a search refuses its input (``Index.search``).
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
