"""Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008): users and items as vectors.

Each observed (user, item, r) becomes a preference p = 1 with confidence c = 1 + alpha * r; unobserved pairs
have p = 0, c = 1. Alternating least squares solves every user's (then item's) factors exactly:

    x_u = (YᵀY + Yᵀ(C_u - I)Y + λI)⁻¹ Yᵀ C_u p_u

The per-user solves run in a compiled, parallel numba loop, by one of two solvers: ``"cg"`` (default) takes a
few conjugate-gradient steps from the current factors (Takács, Pilászy & Tikk 2011, implicit's default), costing
O(k² + n_u k) per user; ``"cholesky"`` solves exactly in O(n_u k² + k³) (the system is positive definite because
λ > 0). The result is two float32 factor tables, returned as `Vectors` so the whole toolkit (similarity, search,
projection) applies to users and items alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from scipy import sparse

from .._params import check_choice, check_float, check_int
from ..encoders.lookup import LookupEncoder
from ..errors import InputError, NonFiniteError
from ..vectors import Vectors
from .base import Trainer


@numba.njit(parallel=True, cache=True, nogil=True)
def _solve_side(indptr: np.ndarray, indices: np.ndarray, conf: np.ndarray, other: np.ndarray, gram: np.ndarray,
                reg: float, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """For every row u: solve (G + λI + Σ (c-1) y yᵀ) x = Σ c y over u's items, by Cholesky, no BLAS calls."""
    n, k = out.shape
    for u in numba.prange(n):
        a = gram.copy()
        b = np.zeros(k)
        for j in range(k):
            a[j, j] += reg
        for p in range(indptr[u], indptr[u + 1]):
            y = other[indices[p]]
            c = conf[p]
            w = c - 1.0
            for i in range(k):
                yi = y[i]
                b[i] += c * yi
                wyi = w * yi
                for j in range(i + 1):  # lower triangle only; Cholesky reads nothing else
                    a[i, j] += wyi * y[j]
        # In-place Cholesky a = L Lᵀ (lower), then forward and back substitution.
        for j in range(k):
            d = a[j, j]
            for t in range(j):
                d -= a[j, t] * a[j, t]
            d = np.sqrt(d)
            a[j, j] = d
            for i in range(j + 1, k):
                s = a[i, j]
                for t in range(j):
                    s -= a[i, t] * a[j, t]
                a[i, j] = s / d
        for i in range(k):
            s = b[i]
            for t in range(i):
                s -= a[i, t] * b[t]
            b[i] = s / a[i, i]
        for i in range(k - 1, -1, -1):
            s = b[i]
            for t in range(i + 1, k):
                s -= a[t, i] * b[t]
            b[i] = s / a[i, i]
        for i in range(k):
            out[u, i] = b[i]


@numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
def _cg_side(indptr: np.ndarray, indices: np.ndarray, conf: np.ndarray, other: np.ndarray, gram: np.ndarray,
             reg: float, out: np.ndarray, steps: int) -> None:  # pragma: no cover - compiled
    """For every row u: ``steps`` conjugate-gradient steps on (G + λI + Σ (c-1) y yᵀ) x = Σ c y, from out[u].

    Plain loops and four work vectors per row: no temporaries, no BLAS calls from inside the parallel loop.
    """
    n, k = out.shape
    for u in numba.prange(n):
        x = np.empty(k)
        r = np.empty(k)
        p = np.empty(k)
        ap = np.empty(k)
        for i in range(k):
            x[i] = out[u, i]
        for i in range(k):  # r = b - A x
            s = reg * x[i]
            for j in range(k):
                s += gram[i, j] * x[j]
            r[i] = -s
        for q in range(indptr[u], indptr[u + 1]):
            y = other[indices[q]]
            c = conf[q]
            yx = 0.0
            for i in range(k):
                yx += y[i] * x[i]
            coef = c - (c - 1.0) * yx
            for i in range(k):
                r[i] += coef * y[i]
        rs_old = 0.0
        for i in range(k):
            p[i] = r[i]
            rs_old += r[i] * r[i]
        for _ in range(steps):
            if rs_old < 1e-20:
                break
            for i in range(k):  # ap = A p
                s = reg * p[i]
                for j in range(k):
                    s += gram[i, j] * p[j]
                ap[i] = s
            for q in range(indptr[u], indptr[u + 1]):
                y = other[indices[q]]
                yp = 0.0
                for i in range(k):
                    yp += y[i] * p[i]
                yp *= conf[q] - 1.0
                for i in range(k):
                    ap[i] += yp * y[i]
            pap = 0.0
            for i in range(k):
                pap += p[i] * ap[i]
            step = rs_old / pap
            rs_new = 0.0
            for i in range(k):
                x[i] += step * p[i]
                r[i] -= step * ap[i]
                rs_new += r[i] * r[i]
            beta = rs_new / rs_old
            for i in range(k):
                p[i] = r[i] + beta * p[i]
            rs_old = rs_new
        for i in range(k):
            out[u, i] = x[i]


SOLVERS = ("cg", "cholesky")


class ImplicitALS(Trainer):
    """Weighted ALS for implicit feedback (Hu, Koren & Volinsky 2008).

    What the ``implicit`` library's ``AlternatingLeastSquares`` computes, with its conjugate-gradient solver.

    The constructor stores parameters; ``fit`` learns ``user_factors_`` (float32 ``(n_users, factors)``) and
    ``item_factors_`` (float32 ``(n_items, factors)``). Same seed, same result.

    Parameters
    ----------
    factors : int, default 64
        Latent dimensions (>= 1).
    regularization : float, default 0.05
        λ, the L2 penalty on the factors (> 0; it keeps every solve well posed).
    alpha : float, default 10.0
        Confidence scale (>= 0): an interaction of strength r has confidence 1 + alpha r.
    iterations : int, default 15
        ALS sweeps (>= 1), each solving all users then all items.
    seed : int, default 0
        Seed (>= 0) of the initial factors (N(0, 0.01²)).
    solver : {"cg", "cholesky"}, default "cg"
        ``"cg"``: ``cg_steps`` conjugate-gradient steps per solve, warm-started (Takács, Pilászy & Tikk 2011);
        ``"cholesky"``: the exact solve.
    cg_steps : int, default 3
        Conjugate-gradient steps per solve (>= 1).
    """

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 10.0,
                 iterations: int = 15, seed: int = 0, solver: str = "cg", cg_steps: int = 3) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed
        self.solver = solver
        self.cg_steps = cg_steps

    def check_params(self) -> None:
        """Refuse unusable parameters (``fit`` calls this before any work).

        Raises
        ------
        InputError
            Naming the first parameter outside its range.
        """
        check_int(self.factors, "factors", low=1)
        check_float(self.regularization, "regularization", low=0, low_open=True,
                    hint="it keeps every solve well posed")
        check_float(self.alpha, "alpha", low=0, hint="confidence is 1 + alpha * strength")
        check_int(self.iterations, "iterations", low=1)
        check_int(self.seed, "seed", low=0)
        check_choice(self.solver, "solver", SOLVERS)
        check_int(self.cg_steps, "cg_steps", low=1)

    def fit(self, user_items: sparse.spmatrix) -> ImplicitALS:
        """Learn user and item factors from a (users x items) matrix of interaction strengths.

        Parameters
        ----------
        user_items : scipy.sparse matrix or array-like
            ``(n_users, n_items)`` strengths (e.g. 1 per positive, or counts): finite and >= 0; zeros, explicit or not,
            are no interaction.

        Returns
        -------
        ImplicitALS
            ``self``, with ``user_factors_`` and ``item_factors_`` (float32).

        Raises
        ------
        InputError
            For unusable parameters, a matrix that is not numeric, negative strengths, or no interaction at all.
        NonFiniteError
            For NaN or infinite strengths.
        """
        self.check_params()
        ui = interaction_matrix(user_items)
        iu = ui.T.tocsr()
        rng = np.random.default_rng(self.seed)
        n_users, n_items = ui.shape
        users = (rng.standard_normal((n_users, self.factors)) * 0.01).astype(np.float32)
        items = (rng.standard_normal((n_items, self.factors)) * 0.01).astype(np.float32)
        cu, ci = 1.0 + self.alpha * ui.data, 1.0 + self.alpha * iu.data
        reg, steps = float(self.regularization), int(self.cg_steps)

        def _solve(rows: sparse.csr_matrix, conf: np.ndarray, other: np.ndarray, out: np.ndarray) -> None:
            if self.solver == "cg":
                _cg_side(rows.indptr, rows.indices, conf, other, _gram(other), reg, out, steps)
            else:
                _solve_side(rows.indptr, rows.indices, conf, other, _gram(other), reg, out)

        for _ in range(self.iterations):
            _solve(ui, cu, items, users)
            _solve(iu, ci, users, items)
        self.user_factors_, self.item_factors_ = users, items
        return self

    def recompute_user(self, items: Sequence[int], strengths: Sequence[float] | None = None) -> np.ndarray:
        """Factors for a new user from the items they interacted with (fold-in: one exact solve, no retraining).

        Parameters
        ----------
        items : sequence of int
            Item indexes (columns of the training matrix), in [0, n_items).
        strengths : sequence of float, optional
            One strength per item (finite, >= 0); default 1 each.

        Returns
        -------
        numpy.ndarray
            float32 ``(factors,)``.

        Raises
        ------
        InputError
            When not fitted, for no items (recommend popular items to such a user instead), indexes that are not
            integers or out of range, or strengths that do not match the items or are negative.
        NonFiniteError
            For NaN or infinite strengths.
        """
        if not hasattr(self, "item_factors_"):
            raise InputError("the model is not fitted; call fit(user_items) first")
        n_items = len(self.item_factors_)
        idx = np.asarray(items)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise InputError(f"items must be a list of item indexes (integers), got {items!r:.60}")
        if idx.size == 0:
            raise InputError("no items to fold in: a user without interactions has no factors; "
                             "recommend popular items instead")
        if idx.min() < 0 or idx.max() >= n_items:
            raise InputError(f"item indexes must lie in [0, {n_items - 1}], got {int(idx.min())}..{int(idx.max())}")
        idx = idx.astype(np.int32)
        val = np.ones(len(idx)) if strengths is None else _strengths(strengths, "strengths")
        if len(val) != len(idx):
            raise InputError(f"{len(idx)} items but {len(val)} strengths")
        out = np.empty((1, self.factors), dtype=np.float32)
        _solve_side(np.array([0, len(idx)]), idx, 1.0 + self.alpha * val, self.item_factors_,
                    _gram(self.item_factors_), float(self.regularization), out)
        return out[0]

    def vectors(self, user_keys: Sequence[str], item_keys: Sequence[str]) -> tuple[Vectors, Vectors]:
        """The learned users and items as keyed Vectors.

        Parameters
        ----------
        user_keys : sequence of str
            One key per row of the training matrix (``n_users``).
        item_keys : sequence of str
            One key per column (``n_items``).

        Returns
        -------
        users : Vectors
            float32 ``(n_users, factors)``.
        items : Vectors
            float32 ``(n_items, factors)``.

        Raises
        ------
        InputError
            When not fitted, or the keys do not match the factors (count, or repeated keys).
        """
        self.require_fitted("use")
        return Vectors(user_keys, self.user_factors_), Vectors(item_keys, self.item_factors_)

    @property
    def is_fitted(self) -> bool:
        """Whether ``fit`` has learned the factors.

        Returns
        -------
        bool
            True when ``item_factors_`` exists.
        """
        return hasattr(self, "item_factors_")

    @property
    def wv(self) -> Vectors:
        """The item factors keyed by column index (``"0"``, ``"1"`` …).

        Use ``vectors(user_keys, item_keys)`` to key users and items by name.

        Returns
        -------
        Vectors
            float32 ``(n_items, factors)``.

        Raises
        ------
        InputError
            When not fitted yet.
        """
        self.require_fitted("use")
        return Vectors([str(i) for i in range(len(self.item_factors_))], self.item_factors_)

    def to_encoder(self) -> LookupEncoder:
        """An encoder of items by column index (``"0"``, ``"1"`` …) to their factors.

        Returns
        -------
        LookupEncoder
            ``encoders.lookup.LookupEncoder`` over ``wv``: keys -> float32 ``(n, factors)``.

        Raises
        ------
        InputError
            When not fitted yet.
        """
        return LookupEncoder(self.wv, name="implicit-als")


def interaction_matrix(user_items: Any) -> sparse.csr_matrix:
    """(users x items) strengths as a float64 CSR copy, checked; explicit zeros are dropped (a zero is no interaction).

    Parameters
    ----------
    user_items : scipy.sparse matrix or array-like
        ``(n_users, n_items)`` strengths.

    Returns
    -------
    scipy.sparse.csr_matrix
        float64 ``(n_users, n_items)``, a copy.

    Raises
    ------
    InputError
        For a matrix that is not numeric, negative strengths, or no interaction at all.
    NonFiniteError
        For NaN or infinite strengths.
    """
    try:
        ui = sparse.csr_matrix(user_items, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"user_items must be a (users x items) matrix of numbers: {exc}") from None
    _strengths(ui.data, "interaction strengths")
    ui.eliminate_zeros()
    if ui.nnz == 0:
        raise InputError(f"no interactions to learn from (a {ui.shape[0]} x {ui.shape[1]} matrix of zeros)")
    return ui


def _strengths(values: npt.ArrayLike, name: str) -> np.ndarray:
    """Finite, non-negative float64 strengths, flattened.

    Raises
    ------
    InputError
        For values that are not numbers, or negative ones.
    NonFiniteError
        For NaN or infinite values (saying how many).
    """
    try:
        v = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers: {exc}") from None
    bad = int((~np.isfinite(v)).sum())
    if bad:
        raise NonFiniteError(f"{name} contain {bad} NaN or infinite value(s); drop or fix them first")
    if (v < 0).any():
        raise InputError(f"{name} must be >= 0, got {int((v < 0).sum())} negative value(s) (min {v.min():g})")
    return v


@numba.njit(cache=True, nogil=True, fastmath=True)
def _gram(m: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """mᵀm in float64.

    Compiled rather than BLAS: OpenBLAS threads keep spinning after a call and then compete with the numba threads
    of the next solve (measured: both ran several times slower inside ``fit``).
    """
    n, k = m.shape
    g = np.zeros((k, k))
    for r in range(n):
        for i in range(k):
            v = np.float64(m[r, i])
            for j in range(i + 1):
                g[i, j] += v * m[r, j]
    for i in range(k):
        for j in range(i):
            g[j, i] = g[i, j]
    return g
