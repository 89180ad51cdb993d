"""The refinement step after static distillation (Model2Vec's Tokenlearn, Tulkens & van Dongen 2024).

It fits the static token vectors so that the mean of a sentence's token vectors comes close to the teacher's own
vector of that sentence, over a corpus.

Tokenlearn trains the vectors with gradient descent; here the objective is kept linear so it has a closed form.
With ``A`` the (sentences x rows) averaging matrix (``A[i, r]`` = count of row r in sentence i / its counted
tokens), ``F0`` the distilled vectors (scaled once by the least-squares factor ``alpha``) and ``Y`` the teacher's
sentence vectors in the same PCA space, the refinement is ridge regression towards ``F0``::

    F = argmin ||A F - Y||^2 + lam ||F - alpha F0||^2      (only rows that occur in the corpus move)

solved by block conjugate gradients on ``(A^T A + lam I) D = A^T (Y - alpha A F0)``. ``lam`` is picked on a
held-out part of the corpus by the mean cosine between student and teacher vectors, which is what is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["RefineResult", "averaging_matrix", "refine", "solve_ridge"]

#: ``lam`` candidates, relative to the median diagonal of ``A^T A`` over the rows that occur.
GRID = (0.03, 0.1, 0.3, 1.0, 3.0)


@dataclass
class RefineResult:
    """What ``refine`` found.

    Attributes
    ----------
    vectors : numpy.ndarray
        The refined ``(rows, dim)`` float32 vectors.
    report : dict
        ``sentences`` (train / held-out), ``rows_moved``, ``alpha``, ``lam`` (relative), the held-out mean cosine
        to the teacher ``before`` and ``after``, and each candidate's held-out cosine (``grid``).
    """

    vectors: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)


def averaging_matrix(rows: list[list[int]], counted: np.ndarray, n_rows: int) -> sparse.csr_matrix:
    """The (sentences x rows) matrix whose product with the vectors is each sentence's mean of counted rows.

    Parameters
    ----------
    rows : list of list of int
        Row numbers per sentence.
    counted : numpy.ndarray of shape (n_rows,)
        bool: rows that count (special tokens do not).
    n_rows : int
        The number of vector rows.

    Returns
    -------
    scipy.sparse.csr_matrix
        float32, ``(len(rows), n_rows)``; a sentence with no counted row has an empty row.
    """
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for r in rows:
        kept = [i for i in r if counted[i]]
        if kept:
            uniq, counts = np.unique(np.asarray(kept, dtype=np.int64), return_counts=True)
            indices.extend(uniq.tolist())
            data.extend((counts / len(kept)).tolist())
        indptr.append(len(indices))
    return sparse.csr_matrix((np.asarray(data, np.float32), np.asarray(indices, np.int64), np.asarray(indptr)),
                             shape=(len(rows), n_rows))


def solve_ridge(gram: sparse.csr_matrix, rhs: np.ndarray, lam: float, iters: int = 200,
                tol: float = 1e-5) -> np.ndarray:
    """Solve ``(gram + lam I) X = rhs`` for every column at once by conjugate gradients.

    Parameters
    ----------
    gram : scipy.sparse matrix of shape (m, m)
        Symmetric positive semi-definite (``A^T A``).
    rhs : numpy.ndarray of shape (m, d)
        The right-hand sides.
    lam : float
        The ridge strength (> 0, so the system is positive definite).
    iters : int, default 200
        At most this many iterations.
    tol : float, default 1e-5
        Stop when every column's residual norm is below ``tol`` times its right-hand side's.

    Returns
    -------
    numpy.ndarray of shape (m, d)
        float64.
    """
    b = np.asarray(rhs, dtype=np.float64)
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rs = np.einsum("ij,ij->j", r, r)
    stop = (tol ** 2) * np.maximum(np.einsum("ij,ij->j", b, b), 1e-30)
    for _ in range(iters):
        if np.all(rs <= stop):
            break
        ap = gram @ p + lam * p
        alpha = rs / np.maximum(np.einsum("ij,ij->j", p, ap), 1e-30)
        x += p * alpha
        r -= ap * alpha
        new = np.einsum("ij,ij->j", r, r)
        p = r + p * (new / np.maximum(rs, 1e-30))
        rs = new
    return x


def _mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    ok = (na > 0) & (nb > 0)
    if not ok.any():
        return 0.0
    return float(np.mean(np.einsum("ij,ij->i", a[ok], b[ok]) / (na[ok] * nb[ok])))


def refine(vectors: np.ndarray, counted: np.ndarray, rows: list[list[int]], targets: np.ndarray,
           holdout: float = 0.1, seed: int = 0, grid: tuple[float, ...] = GRID,
           report_step: Callable[[str], None] | None = None) -> RefineResult:
    """Fit static vectors to teacher sentence vectors (see the module docstring).

    Parameters
    ----------
    vectors : numpy.ndarray of shape (n_rows, dim)
        The distilled vectors (PCA-reduced, SIF-weighted).
    counted : numpy.ndarray of shape (n_rows,)
        bool: rows that count.
    rows : list of list of int
        Each corpus sentence's row numbers.
    targets : numpy.ndarray of shape (len(rows), dim)
        The teacher's vectors of those sentences, in the vectors' space.
    holdout : float, default 0.1
        The share of sentences held out to choose ``lam`` and to report on (seeded).
    seed : int, default 0
        The split's seed.
    grid : tuple of float
        ``lam`` candidates relative to the median diagonal of ``A^T A``.
    report_step : callable, optional
        Called with a short description of each step (progress).

    Returns
    -------
    RefineResult
        The refined vectors and the report.
    """
    f0 = np.asarray(vectors, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    n = len(rows)
    order = np.random.default_rng(seed).permutation(n)
    n_hold = max(1, int(round(n * holdout))) if n >= 10 else 0
    hold, train = np.sort(order[:n_hold]), np.sort(order[n_hold:])
    a = averaging_matrix(rows, counted, len(f0)).astype(np.float64)
    a_tr, a_ho = a[train], a[hold]
    s0 = np.asarray(a_tr @ f0)
    alpha = float(np.einsum("ij,ij->", s0, y[train]) / max(np.einsum("ij,ij->", s0, s0), 1e-30))
    base = alpha * f0
    active = np.flatnonzero(np.asarray(a_tr.sum(axis=0)).ravel() > 0)
    a_act = a_tr[:, active].tocsc()
    gram = (a_act.T @ a_act).tocsr()
    rhs = np.asarray(a_act.T @ (y[train] - a_tr @ base))
    scale = float(np.median(gram.diagonal())) if len(active) else 1.0
    before = _mean_cosine(np.asarray(a_ho @ f0), y[hold]) if n_hold else None
    best: tuple[float, float, np.ndarray] | None = None
    tried: dict[str, float] = {}
    for rel in grid:
        if report_step is not None:
            report_step(f"refine: lam {rel}")
        delta = solve_ridge(gram, rhs, rel * scale)
        cand = base.copy()
        cand[active] += delta
        score = _mean_cosine(np.asarray(a_ho @ cand), y[hold]) if n_hold else -rel
        tried[str(rel)] = round(score, 4)
        if best is None or score > best[0]:
            best = (score, rel, cand)
    assert best is not None
    report = {"sentences": {"train": int(len(train)), "held_out": int(n_hold)}, "rows_moved": int(len(active)),
              "alpha": round(alpha, 6), "lam": best[1],
              "held_out_cosine": {"before": None if before is None else round(before, 4),
                                  "after": round(best[0], 4) if n_hold else None},
              "grid": tried}
    return RefineResult(best[2].astype(np.float32), report)
