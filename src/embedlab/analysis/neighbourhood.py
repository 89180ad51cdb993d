"""How much a 2-D/3-D picture distorts neighbourhoods: trustworthiness and continuity (Venna & Kaski 2001).

Trustworthiness asks "are the neighbours I see on the map real?": it penalises points that are among a row's
``k`` nearest on the map but far down its list in the original space. Continuity is the mirror, "are the real
neighbours still near on the map?". Both are 1 for a perfect picture and about 0.5 for a random one.

    >>> t, c = trustworthiness_continuity(vectors, coords, k=10)

The sums run over a seeded sample of rows (5,000 by default). With ``among="all"`` each sampled row's
neighbours are searched among *all* n rows (cost: sample x n distances in each space, sample x n x d flops);
with ``among="sample"`` both neighbour lists are searched within the sample, the usual way to score a large
picture (the figure is then exactly scikit-learn's on the sampled rows; cost sample^2 x d, independent of n,
about a second for 5,000 rows of 384-d). With ``sample >= n`` both are exactly scikit-learn's
``sklearn.manifold.trustworthiness``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree

from .._params import check_choice, check_int
from ..errors import InputError
from ..metrics import as_matrix, check_metric, normalize

AMONG = ("all", "sample")
_BLOCK_FLOATS = 1 << 24  # distances held at once per block of sample rows (64 MB of float32 per space)


def trustworthiness_continuity(high: ArrayLike, low: ArrayLike, k: int = 10, sample: int = 5000,
                               metric: str = "cosine", seed: int = 0, among: str = "all") -> tuple[float, float]:
    """Trustworthiness and continuity at ``k`` of a low-dimensional picture of ``high``, on a sample of rows.

    Parameters
    ----------
    high : array_like
        (n, d) original vectors, float32.
    low : array_like
        (n, 2) or (n, 3) coordinates of the same rows (any small dimension), float32; compared by Euclidean
        distance, as a viewer sees them.
    k : int
        Neighbourhood size, 1 to (n - 1) / 2 exclusive of the upper end as in scikit-learn (``2k < n``).
    sample : int
        Number of rows whose neighbourhoods are scored (seeded choice without replacement); all rows when
        ``sample >= n``. Their neighbours are searched among all n rows or within the sample (``among``).
    metric : str
        Distance in the original space: ``"cosine"`` (1 - cosine), ``"l2"`` (Euclidean) or ``"dot"`` (minus
        the dot product).
    seed : int
        Seed of the row sample.
    among : str
        ``"all"``: neighbours (in both spaces) searched among all n rows; ``"sample"``: within the sampled rows
        only, i.e. scikit-learn's figure for the sub-picture of the sample (needs ``2k < sample``).

    Returns
    -------
    tuple of float
        ``(trustworthiness, continuity)``, each in [0, 1] (1 = neighbourhoods kept).

    Raises
    ------
    InputError
        Row counts that differ, fewer than 3 rows, ``k`` out of range (of the sample too, with ``among="sample"``),
        a bad sample size, seed, metric or ``among``.
    NonFiniteError
        NaN or infinity in either array.
    """
    check_metric(metric)
    x = as_matrix(high, name="high-dimensional vectors")
    y = as_matrix(low, name="low-dimensional coordinates")
    n = len(x)
    if len(y) != n:
        raise InputError(f"{n} vectors but {len(y)} coordinates; give one coordinate row per vector")
    if n < 3:
        raise InputError(f"trustworthiness needs at least 3 rows, got {n}")
    check_int(k, "k", 1, (n - 1) // 2, hint=f"k must be below n / 2 = {n / 2:g} (scikit-learn's limit)")
    check_int(sample, "sample", low=1)
    check_int(seed, "seed", low=0)
    check_choice(among, "among", AMONG, what="neighbour search")
    rows = (np.arange(n) if sample >= n
            else np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False)))
    if among == "sample" and len(rows) < n:
        check_int(k, "k", 1, (len(rows) - 1) // 2,
                  hint=f"k must be below sample / 2 = {len(rows) / 2:g} when neighbours are searched in the sample")
        x, y, n = x[rows], y[rows], len(rows)
        rows = np.arange(n)
    if metric == "cosine":
        x = normalize(x)
    x_sq = np.einsum("ij,ij->i", x, x) if metric == "l2" else None
    y64 = y.astype(np.float64)
    y_sq = np.einsum("ij,ij->i", y64, y64)
    tree = cKDTree(y64)  # the map's own k nearest, without sorting every distance row
    t_sum = c_sum = 0.0
    block = max(1, _BLOCK_FLOATS // n)
    for start in range(0, len(rows), block):
        idx = rows[start:start + block]
        here = np.arange(len(idx))
        dh = _high_distances(x, idx, metric, x_sq)
        dh[here, idx] = np.inf  # a row is not its own neighbour
        dl = np.maximum(y_sq[idx, None] + y_sq[None, :] - 2.0 * (y64[idx] @ y64.T), 0.0)
        dl[here, idx] = np.inf
        near_low = _tree_neighbours(tree, y64[idx], idx, k)
        near_high = np.argpartition(dh, k - 1, axis=1)[:, :k]
        t_sum += _rank_penalty(dh, near_low, near_high, k)
        c_sum += _rank_penalty(dl, near_high, near_low, k)
    scale = 2.0 / (len(rows) * k * (2.0 * n - 3.0 * k - 1.0))
    return float(1.0 - t_sum * scale), float(1.0 - c_sum * scale)


def _high_distances(x: np.ndarray, idx: np.ndarray, metric: str, x_sq: np.ndarray | None) -> np.ndarray:
    """Distances (len(idx), n), float32, from the rows ``idx`` to every row of ``x`` under ``metric``."""
    products = x[idx] @ x.T
    if metric == "cosine":
        return np.subtract(1.0, products, out=products)
    if metric == "dot":
        return np.negative(products, out=products)
    assert x_sq is not None
    products *= -2.0
    products += x_sq[idx, None]
    products += x_sq[None, :]
    return np.maximum(products, 0.0, out=products)


def _tree_neighbours(tree: cKDTree, points: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    """(len(idx), k) row numbers of each point's k nearest other rows on the map."""
    _, found = tree.query(points, k=k + 1)
    found = np.asarray(found).reshape(len(idx), k + 1)
    out = np.empty((len(idx), k), dtype=np.int64)
    for r, row in enumerate(found):
        others = row[row != idx[r]]  # the row itself is usually first; with duplicates it may be anywhere
        out[r] = others[:k]
    return out


def _rank_penalty(reference: np.ndarray, view_near: np.ndarray, ref_near: np.ndarray, k: int) -> float:
    # sum over rows of (rank in ``reference`` - k) for the view's k nearest (``view_near``) that are not among
    # the reference's k nearest (``ref_near``); ranks start at 1 (the nearest other row) and count the strictly
    # closer rows, as scikit-learn's argsort does for distinct distances
    total = 0
    for r in range(len(reference)):
        misses = np.setdiff1d(view_near[r], ref_near[r], assume_unique=True)
        if len(misses):
            d = reference[r]
            ranks = (d[None, :] < d[misses, None]).sum(axis=1) + 1
            total += int((ranks - k).sum())
    return float(total)
