"""Similarity metrics, batch-first and float32.

Every score embedlab returns is higher-is-better: cosine similarity, dot product, or for ``l2`` the *negated*
Euclidean distance (``distance = -score``). A zero vector has cosine 0 with everything (it has no direction).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from .errors import DimensionError, InputError, NonFiniteError

Metric = Literal["cosine", "dot", "l2"]
METRICS: tuple[str, ...] = ("cosine", "dot", "l2")


def check_metric(metric: str) -> str:
    """Return the metric name or raise InputError listing the valid ones."""
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    return metric


def as_matrix(x: ArrayLike, dim: int | None = None, name: str = "vectors", copy: bool = False) -> np.ndarray:
    """Coerce to a C-contiguous float32 (n, d) array; check dimension and finiteness.

    A single vector (d,) becomes (1, d). Raises DimensionError or NonFiniteError with a clear message.
    """
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric arrays: {exc}") from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise DimensionError(f"{name} must be a vector or a 2-D array, got shape {arr.shape}")
    if dim is not None and arr.shape[1] != dim:
        raise DimensionError(f"{name} have dimension {arr.shape[1]}, expected {dim}")
    if arr.size and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise NonFiniteError(f"{name} contain NaN or infinity in {bad} row(s); clean or drop them first")
    if copy or not arr.flags.c_contiguous:
        arr = np.array(arr, dtype=np.float32, order="C", copy=True)
    return arr


def norms(x: np.ndarray) -> np.ndarray:
    """Row L2 norms as float32."""
    return np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float32))


def normalize(x: ArrayLike, inplace: bool = False) -> np.ndarray:
    """Scale rows to unit length; zero rows stay zero (no NaN)."""
    arr = as_matrix(x) if not inplace else np.asarray(x)
    n = norms(arr)
    n[n == 0] = 1.0
    if inplace:
        arr /= n[:, None]
        return arr
    return arr / n[:, None]


def _pair(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray, bool]:
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    single = a_arr.ndim == 1 and b_arr.ndim == 1
    a2, b2 = as_matrix(a_arr, name="vectors a"), as_matrix(b_arr, name="vectors b")
    if a2.shape[1] != b2.shape[1]:
        raise DimensionError(f"cannot compare vectors of dimension {a2.shape[1]} and {b2.shape[1]}")
    return a2, b2, single


def _out(m: np.ndarray, single: bool) -> float | np.ndarray:
    return float(m[0, 0]) if single else m


def cosine(a: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """Cosine similarity: scalar for two vectors, (n, m) matrix for batches."""
    a2, b2, single = _pair(a, b)
    return _out(normalize(a2) @ normalize(b2).T, single)


def dot(a: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """Dot product: scalar for two vectors, (n, m) matrix for batches."""
    a2, b2, single = _pair(a, b)
    return _out(a2 @ b2.T, single)


def euclidean(a: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    """Euclidean (L2) distance: scalar for two vectors, (n, m) matrix for batches.

    Small problems use exact differences; large ones use |a|² + |b|² - 2a·b after centring both sets on b's
    mean, which keeps float32 cancellation small for data far from the origin.
    """
    a2, b2, single = _pair(a, b)
    if a2.shape[0] * b2.shape[0] * a2.shape[1] <= 2_000_000:
        diff = a2[:, None, :] - b2[None, :, :]
        return _out(np.sqrt(np.einsum("ijk,ijk->ij", diff, diff, dtype=np.float32)), single)
    center = b2.mean(axis=0, dtype=np.float64).astype(np.float32)
    a2, b2 = a2 - center, b2 - center
    sq = (a2 * a2).sum(1)[:, None] + (b2 * b2).sum(1)[None, :] - 2.0 * (a2 @ b2.T)
    return _out(np.sqrt(np.maximum(sq, 0.0, out=sq)), single)


def scores(a: ArrayLike, b: ArrayLike, metric: str = "cosine") -> float | np.ndarray:
    """Higher-is-better scores between rows of ``a`` and ``b`` under ``metric``."""
    check_metric(metric)
    if metric == "cosine":
        return cosine(a, b)
    if metric == "dot":
        return dot(a, b)
    d = euclidean(a, b)
    return -d


def prepare(x: ArrayLike, metric: str) -> np.ndarray:
    """Vectors as an index stores them: unit rows for cosine, unchanged otherwise."""
    return normalize(x) if metric == "cosine" else as_matrix(x)
