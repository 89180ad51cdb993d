"""Entity embeddings learned from co-occurrence: items that the same users pick get nearby vectors.

Items that the same users pick (or that share baskets) end up close, which neither one-hot nor label codes can
express.

The method is the count-based twin of item2vec / Skip-gram (Levy & Goldberg 2014 showed SGNS factorises a
shifted PMI matrix): build the item x item co-occurrence counts over baskets, take positive PMI with
context-distribution smoothing (counts^0.75), and keep the top ``dim`` singular directions,
``U * sqrt(S)``. Exact (dense SVD) for up to a few thousand items, seeded randomized SVD beyond.

    >>> vecs = EntityEmbedding(dim=16, seed=0).fit([("ann", "Alien"), ("ann", "Aliens"), ("bob", "Heat")]).wv
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from .._params import check_choice, check_float, check_int
from ..encoders.lookup import LookupEncoder
from ..errors import InputError
from ..vectors import Vectors
from .base import Trainer

KINDS = ("auto", "pairs", "baskets")
DENSE_LIMIT = 4000  # items; above this the randomized SVD runs on the sparse PPMI matrix


class EntityEmbedding(Trainer):
    """Learn item vectors from interactions: positive PMI of basket co-occurrence, then SVD (Levy & Goldberg 2014).

    A ``Trainer``: the constructor only stores parameters; ``fit`` returns self and sets ``vectors_`` (also
    ``wv``: float32 ``(n_items, dim)`` keyed by item), ``items_`` (sorted item names), ``singular_values_`` (float32
    ``(min(dim, n_items),)``) and ``n_baskets_``.

    ``interactions`` is either (user, item) pairs — each user's items form one basket — or baskets (lists or sets of
    items bought, rated or watched together). Items are compared as strings.

    Parameters
    ----------
    dim : int, default 32
        Vector width (>= 1); with fewer items than ``dim`` the last columns are zero.
    seed : int, default 0
        Seed (>= 0) of the randomized SVD (used above 4,000 items).
    alpha : float, default 0.75
        Context-distribution smoothing exponent, in (0, 1] (Levy, Goldberg & Dagan 2015's 0.75).
    min_count : int, default 1
        Items in fewer baskets (>= 1) are dropped.
    kind : {"auto", "pairs", "baskets"}, default "auto"
        How to read ``interactions``; "auto" treats 2-tuples as (user, item) pairs, other sequences as baskets.
    """

    def __init__(self, dim: int = 32, seed: int = 0, alpha: float = 0.75, min_count: int = 1,
                 kind: str = "auto") -> None:
        self.dim = dim
        self.seed = seed
        self.alpha = alpha
        self.min_count = min_count
        self.kind = kind

    # ------------------------------------------------------------------ input
    def _baskets(self, interactions: Iterable[Any]) -> list[list[str]]:
        """The interactions as baskets of item names (``kind`` decides how they are read).

        Raises
        ------
        InputError
            For no interactions, a row that is not a (user, item) pair, or a basket that is not a list of items.
        """
        data = list(interactions)
        if not data:
            raise InputError("no interactions given; pass (user, item) pairs or baskets of items")
        kind = self.kind
        if kind == "auto":
            first = data[0]
            kind = "pairs" if isinstance(first, tuple) and len(first) == 2 else "baskets"
        if kind == "pairs":
            groups: dict[str, list[str]] = {}
            for i, row in enumerate(data):
                if not (isinstance(row, (tuple, list)) and len(row) == 2):
                    raise InputError(f"interaction {i} is {row!r}; expected a (user, item) pair")
                groups.setdefault(str(row[0]), []).append(str(row[1]))
            return list(groups.values())
        out = []
        for i, b in enumerate(data):
            if isinstance(b, (str, bytes)) or not isinstance(b, Iterable):
                raise InputError(f"basket {i} is {type(b).__name__}; a basket is a list of items")
            out.append([str(x) for x in b])
        return out

    def check_params(self) -> None:
        """Refuse unusable parameters before any interaction is read.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given.
        """
        check_int(self.dim, "dim", low=1)
        check_float(self.alpha, "alpha", 0, 1, low_open=True, hint="it smooths the context distribution")
        check_int(self.min_count, "min_count", low=1)
        check_int(self.seed, "seed", low=0)
        check_choice(self.kind, "kind", KINDS)

    # -------------------------------------------------------------------- fit
    def cooccurrence(self, interactions: Iterable[Any]) -> tuple[list[str], sparse.csr_matrix]:
        """The items kept and their symmetric co-occurrence counts (baskets in which both occur; diagonal zero).

        Sets ``n_baskets_``.

        Parameters
        ----------
        interactions : iterable
            (user, item) pairs or baskets of items (see the class docstring).

        Returns
        -------
        items : list of str
            The items seen in at least ``min_count`` baskets, sorted.
        counts : scipy.sparse.csr_matrix
            float64 ``(n_items, n_items)`` counts.

        Raises
        ------
        InputError
            For unusable parameters or interactions, or fewer than two items above ``min_count``.
        """
        self.check_params()
        baskets = [sorted(set(b)) for b in self._baskets(interactions)]
        counts: dict[str, int] = {}
        for b in baskets:
            for x in b:
                counts[x] = counts.get(x, 0) + 1
        items = sorted(k for k, c in counts.items() if c >= self.min_count)
        if len(items) < 2:
            raise InputError(f"only {len(items)} item(s) occur at least min_count={self.min_count} times; "
                             "need two or more")
        index = {k: i for i, k in enumerate(items)}
        rows, cols = [], []
        for bi, b in enumerate(baskets):
            for x in b:
                j = index.get(x)
                if j is not None:
                    rows.append(bi)
                    cols.append(j)
        incidence = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(baskets), len(items)))
        co = (incidence.T @ incidence).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        self.n_baskets_ = len(baskets)
        return items, co

    def ppmi(self, co: sparse.csr_matrix) -> sparse.csr_matrix:
        """Positive PMI of a co-occurrence matrix, with the context distribution raised to ``alpha``.

        PPMI(i, j) = max(0, log(c_ij Σ_k c_k^α / (c_i c_j^α))), c_i the row sums, c_j^α the smoothed column sums.

        Parameters
        ----------
        co : scipy.sparse.csr_matrix
            float64 ``(n, n)`` symmetric counts (``cooccurrence``).

        Returns
        -------
        scipy.sparse.csr_matrix
            float64 ``(n, n)``, only the positive entries stored.

        Raises
        ------
        InputError
            When no two items ever occur together (all counts are zero).
        """
        total = co.sum()
        if total == 0:
            raise InputError("no two items ever occur together; entity embeddings need co-occurring items")
        row = np.asarray(co.sum(axis=1)).ravel()
        ctx = np.asarray(co.sum(axis=0)).ravel() ** self.alpha
        coo = co.tocoo()
        pmi = np.log(coo.data * ctx.sum() / (row[coo.row] * ctx[coo.col]))
        keep = pmi > 0
        return sparse.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=co.shape)

    def fit(self, interactions: Iterable[Any]) -> EntityEmbedding:
        """Learn one vector per item (PPMI of co-occurrence, then SVD: ``U * sqrt(S)``).

        Parameters
        ----------
        interactions : iterable
            (user, item) pairs or baskets of items (see the class docstring).

        Returns
        -------
        EntityEmbedding
            ``self``; ``wv`` holds the item vectors, float32 ``(n_items, dim)`` keyed by item. SVD signs are fixed (each
            direction's largest entry positive) so the same data give the same vectors.

        Raises
        ------
        InputError
            For unusable parameters, no interactions, fewer than two items above ``min_count``, or no two items
            occurring together.
        """
        items, co = self.cooccurrence(interactions)
        m = self.ppmi(co)
        k = min(self.dim, len(items))
        if len(items) <= DENSE_LIMIT:
            u, s, _ = np.linalg.svd(m.toarray(), full_matrices=False)
            u, s = u[:, :k], s[:k]
        else:
            u, s = _randomized_svd(m, k, self.seed)
        # SVD signs are arbitrary: make each direction's largest-magnitude entry positive (reproducible output).
        signs = np.sign(u[np.abs(u).argmax(axis=0), np.arange(u.shape[1])])
        signs[signs == 0] = 1
        emb = np.zeros((len(items), self.dim), dtype=np.float32)
        emb[:, :k] = (u * signs) * np.sqrt(s)
        self.items_ = items
        self.singular_values_ = s.astype(np.float32)
        self.vectors_ = Vectors(items, emb)
        return self

    @property
    def is_fitted(self) -> bool:
        """Whether ``fit`` has learned the item vectors.

        Returns
        -------
        bool
            True when ``vectors_`` exists.
        """
        return hasattr(self, "vectors_")

    @property
    def wv(self) -> Vectors:
        """The item vectors, keyed by item.

        Returns
        -------
        Vectors
            ``items_`` and a float32 ``(n_items, dim)`` matrix.

        Raises
        ------
        InputError
            When not fitted yet.
        """
        self.require_fitted("use")
        return self.vectors_

    def to_encoder(self) -> LookupEncoder:
        """An encoder of items: each known item's vector (``encoders.lookup.LookupEncoder`` over ``wv``).

        Returns
        -------
        LookupEncoder
            Items (strings) -> float32 ``(n, dim)``.

        Raises
        ------
        InputError
            When not fitted yet.
        """
        return LookupEncoder(self.wv, name="entity")


def _randomized_svd(m: sparse.csr_matrix, k: int, seed: int, oversample: int = 10,
                    iters: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` left singular vectors and values: Halko, Martinsson & Tropp (2011) with power iterations.

    A seeded Gaussian sketch of ``k + oversample`` columns, ``iters`` power iterations (re-orthonormalised by QR).
    """
    rng = np.random.default_rng(seed)
    q = m @ rng.standard_normal((m.shape[1], k + oversample))
    for _ in range(iters):
        q, _ = np.linalg.qr(q)
        q = m @ (m.T @ q)
    q, _ = np.linalg.qr(q)
    u_small, s, _ = np.linalg.svd(np.asarray(m.T @ q).T, full_matrices=False)
    return (q @ u_small)[:, :k], s[:k]


def basket_pairs(baskets: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    """(basket id, item) pairs from baskets: the long format many interaction logs use.

    Parameters
    ----------
    baskets : sequence of sequence of str
        Items per basket.

    Returns
    -------
    list of (str, str)
        ``("b<i>", item)`` for every item of basket ``i``, in order.
    """
    return [(f"b{i}", str(x)) for i, b in enumerate(baskets) for x in b]
