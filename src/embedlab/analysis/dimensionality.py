"""Distance concentration: why nearest neighbours get less meaningful as dimension grows.

For each query point we take its distances to every other point and compute the relative contrast
``(max - min) / min``: it collapses towards 0 for random data as dimension grows (Beyer et al. 1999), while
real embeddings, which live near a low-dimensional structure, keep more contrast. We also report the spread of
cosine similarities (their standard deviation shrinks like 1/sqrt(d) for random directions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from .._params import check_choice, check_int
from ..errors import InputError
from ..metrics import as_matrix, euclidean, normalize
from .plots import plot_format, pyplot

MIN_POINTS = 3  # a query needs a nearest and a farthest other point
DISTRIBUTIONS = ("gaussian", "uniform")


@dataclass
class Concentration:
    """Distance-concentration statistics of one point cloud."""

    source: str
    dim: int
    n: int
    relative_contrast: float
    cosine_mean: float
    cosine_std: float

    def as_dict(self) -> dict[str, str | int | float]:
        return asdict(self)


def concentration(x: ArrayLike, source: str = "data", n_queries: int = 200, seed: int = 0) -> Concentration:
    """Mean relative contrast (max-min)/min of L2 distances from ``n_queries`` sampled points to all others,
    and the mean/std of all pairwise cosine similarities among the queries and the rest."""
    check_int(n_queries, "n_queries", low=1)
    check_int(seed, "seed", low=0)
    m = as_matrix(x)
    if len(m) < MIN_POINTS:
        raise InputError(f"need at least {MIN_POINTS} points to measure concentration, got {len(m)}")
    if m.shape[1] == 0:
        raise InputError("the vectors have no dimensions (shape (n, 0)); nothing to measure")
    rng = np.random.default_rng(seed)
    q = rng.choice(len(m), size=min(n_queries, len(m)), replace=False)
    d = np.asarray(euclidean(m[q], m))                     # (queries, n): two batches give a matrix
    d[np.arange(len(q)), q] = np.nan                       # ignore each query's distance to itself
    dmin, dmax = np.nanmin(d, axis=1), np.nanmax(d, axis=1)
    ok = dmin > 0
    contrast = float(np.mean((dmax[ok] - dmin[ok]) / dmin[ok])) if ok.any() else float("inf")
    cos = normalize(m[q]) @ normalize(m).T
    cos[np.arange(len(q)), q] = np.nan
    return Concentration(source, m.shape[1], len(m), contrast, float(np.nanmean(cos)), float(np.nanstd(cos)))


def random_table(dims: Sequence[int] = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), n: int = 2000,
                 distribution: str = "gaussian", seed: int = 0) -> list[Concentration]:
    """Concentration of ``n`` random points (``gaussian`` or ``uniform`` in the unit cube) for each dimension."""
    check_choice(distribution, "distribution", DISTRIBUTIONS)
    dims = _check_dims(dims)
    check_sample_size(n)
    check_int(seed, "seed", low=0)
    rng = np.random.default_rng(seed)
    rows = []
    for d in dims:
        x = rng.standard_normal((n, d)) if distribution == "gaussian" else rng.random((n, d))
        rows.append(concentration(x.astype(np.float32), f"random-{distribution}", seed=seed))
    return rows


def pca_table(x: ArrayLike, dims: Sequence[int] = (2, 5, 10, 20, 50), n: int = 5000, source: str = "embeddings",
              seed: int = 0) -> list[Concentration]:
    """Concentration of real vectors (a sample of ``n`` rows) after PCA to each dimension (full = no PCA)."""
    from sklearn.decomposition import PCA

    dims = _check_dims(dims)
    check_sample_size(n)
    check_int(seed, "seed", low=0)
    m = as_matrix(x)
    rng = np.random.default_rng(seed)
    sample = m[np.sort(rng.choice(len(m), size=min(n, len(m)), replace=False))]
    too_big = [d for d in dims if d > sample.shape[1] or d > len(sample)]
    if too_big:  # all of them before the first PCA
        raise InputError(f"cannot reduce {sample.shape[1]}-d data of {len(sample)} rows to {too_big[0]} dimensions")
    rows = []
    for d in dims:
        reduced = sample if d == sample.shape[1] else PCA(d, random_state=seed).fit_transform(sample)
        rows.append(concentration(reduced.astype(np.float32), f"{source}-pca" if d < sample.shape[1] else source,
                                  seed=seed))
    return rows


def check_sample_size(n: int, name: str = "n") -> int:
    """``n`` when it is a whole number of points, at least MIN_POINTS; InputError otherwise."""
    check_int(n, name, low=MIN_POINTS, hint="each query point needs a nearest and a farthest neighbour")
    return int(n)


def _check_dims(dims: Sequence[int]) -> list[int]:
    if isinstance(dims, (str, bytes)) or not isinstance(dims, (Sequence, np.ndarray)) or len(dims) == 0:
        raise InputError(f"dims must be a non-empty list of dimensions, got {dims!r}")
    for d in dims:
        check_int(d, "each of dims", low=1)
    return [int(d) for d in dims]


def plot(rows: Sequence[Concentration], out: str | Path) -> Path:
    """Relative contrast vs dimension (log-log), one line per source; written as PNG."""
    if not rows:
        raise InputError("no rows to plot; compute them with random_table or pca_table")
    if plot_format(out) != "png":
        raise InputError(f"the concentration plot is a PNG; name it .png, not {Path(out).suffix!r}")

    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for source in dict.fromkeys(r.source for r in rows):
        rs = sorted((r for r in rows if r.source == source), key=lambda r: r.dim)
        dims = [r.dim for r in rs]
        axes[0].plot(dims, [r.relative_contrast for r in rs], marker="o", label=source)
        axes[1].plot(dims, [r.cosine_std for r in rs], marker="o", label=source)
    for ax, title in zip(axes, ("relative contrast (max-min)/min", "std of cosine similarity"), strict=True):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("dimension")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
