"""Distance concentration: why nearest neighbours get less meaningful as dimension grows.

For each query point we take its distances to every other point and compute the relative contrast
``(max - min) / min``: it collapses towards 0 for random data as dimension grows (Beyer et al. 1999), while
real embeddings, which live near a low-dimensional structure, keep more contrast. We also report the spread of
cosine similarities (their standard deviation shrinks like 1/sqrt(d) for random directions).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..metrics import as_matrix, euclidean, normalize


@dataclass
class Concentration:
    """Distance-concentration statistics of one point cloud."""

    source: str
    dim: int
    n: int
    relative_contrast: float
    cosine_mean: float
    cosine_std: float

    def as_dict(self) -> dict:
        return asdict(self)


def concentration(x, source: str = "data", n_queries: int = 200, seed: int = 0) -> Concentration:
    """Mean relative contrast (max-min)/min of L2 distances from ``n_queries`` sampled points to all others,
    and the mean/std of all pairwise cosine similarities among the queries and the rest."""
    m = as_matrix(x)
    if len(m) < 3:
        raise InputError(f"need at least 3 points to measure concentration, got {len(m)}")
    rng = np.random.default_rng(seed)
    q = rng.choice(len(m), size=min(n_queries, len(m)), replace=False)
    d = euclidean(m[q], m)
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
    if distribution not in ("gaussian", "uniform"):
        raise InputError(f"distribution must be 'gaussian' or 'uniform', got {distribution!r}")
    rng = np.random.default_rng(seed)
    rows = []
    for d in dims:
        x = rng.standard_normal((n, d)) if distribution == "gaussian" else rng.random((n, d))
        rows.append(concentration(x.astype(np.float32), f"random-{distribution}", seed=seed))
    return rows


def pca_table(x, dims: Sequence[int] = (2, 5, 10, 20, 50), n: int = 5000, source: str = "embeddings",
              seed: int = 0) -> list[Concentration]:
    """Concentration of real vectors (a sample of ``n`` rows) after PCA to each dimension (full = no PCA)."""
    from sklearn.decomposition import PCA

    m = as_matrix(x)
    rng = np.random.default_rng(seed)
    sample = m[np.sort(rng.choice(len(m), size=min(n, len(m)), replace=False))]
    rows = []
    for d in dims:
        if d > sample.shape[1] or d > len(sample):
            raise InputError(f"cannot reduce {sample.shape[1]}-d data of {len(sample)} rows to {d} dimensions")
        reduced = sample if d == sample.shape[1] else PCA(d, random_state=seed).fit_transform(sample)
        rows.append(concentration(reduced.astype(np.float32), f"{source}-pca" if d < sample.shape[1] else source,
                                  seed=seed))
    return rows


def plot(rows: Sequence[Concentration], out: str | Path) -> Path:
    """Relative contrast vs dimension (log-log), one line per source; written as PNG."""
    from .plots import pyplot

    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for source in dict.fromkeys(r.source for r in rows):
        rs = sorted((r for r in rows if r.source == source), key=lambda r: r.dim)
        dims = [r.dim for r in rs]
        axes[0].plot(dims, [r.relative_contrast for r in rs], marker="o", label=source)
        axes[1].plot(dims, [r.cosine_std for r in rs], marker="o", label=source)
    for ax, title in zip(axes, ("relative contrast (max-min)/min", "std of cosine similarity")):
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
