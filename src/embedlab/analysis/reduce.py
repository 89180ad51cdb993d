"""Dimensionality reduction to 2-D/3-D for looking at a vector space: PCA, t-SNE, UMAP (scikit-learn API).

    >>> coords = project(vectors.matrix, "pca", dim=2)
    >>> score = cluster_separation(coords_or_vectors, labels)   # silhouette, -1..1
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError, MissingDependencyError
from ..metrics import as_matrix, normalize

METHODS = ("pca", "tsne", "umap")


def project(x: ArrayLike, method: str = "pca", dim: int = 2, seed: int = 0, metric: str = "cosine",
            perplexity: float | None = None, n_neighbors: int | None = None) -> np.ndarray:
    """Reduce rows of ``x`` to ``dim`` (2 or 3) coordinates, float32; deterministic for a given seed.

    ``metric="cosine"`` projects directions (rows are unit-normalised first for PCA; t-SNE/UMAP use cosine).
    t-SNE's perplexity and UMAP's neighbours shrink automatically for small inputs.
    """
    if method not in METHODS:
        raise InputError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}")
    if dim not in (2, 3):
        raise InputError(f"can project to 2 or 3 dimensions, not {dim}")
    m = as_matrix(x)
    n, d = m.shape
    if n < 2:
        raise InputError(f"need at least 2 points to project, got {n}")
    if dim > d:
        raise InputError(f"cannot project {d}-dimensional vectors to {dim} dimensions")
    if method == "pca":
        from sklearn.decomposition import PCA

        data = normalize(m) if metric == "cosine" else m
        k = min(dim, n)
        out = PCA(k, random_state=seed).fit_transform(data)
        if k < dim:  # fewer points than dimensions: pad with zeros (a 2-point projection is a line)
            out = np.hstack([out, np.zeros((n, dim - k))])
        return out.astype(np.float32)
    if method == "tsne":
        from sklearn.manifold import TSNE

        if n < 4:
            raise InputError(f"t-SNE needs at least 4 points, got {n}; use PCA for tiny sets")
        p = perplexity if perplexity is not None else min(30.0, max(2.0, (n - 1) / 3))
        tsne = TSNE(dim, perplexity=p, metric="cosine" if metric == "cosine" else "euclidean",
                    init="pca", random_state=seed, method="barnes_hut" if dim < 4 else "exact")
        return tsne.fit_transform(m).astype(np.float32)
    try:
        import umap
    except ImportError as exc:  # pragma: no cover - eval extra present in tests
        raise MissingDependencyError("UMAP needs umap-learn: pip install 'embedlab[eval]'") from exc
    if n < 4:
        raise InputError(f"UMAP needs at least 4 points, got {n}; use PCA for tiny sets")
    nn = n_neighbors if n_neighbors is not None else min(15, n - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap warns that a seed disables parallelism: that is the point
        reducer = umap.UMAP(n_components=dim, n_neighbors=nn, metric=metric if metric != "dot" else "cosine",
                            random_state=seed, init="spectral" if n > dim + 1 else "random")
        return reducer.fit_transform(m).astype(np.float32)


def cluster_separation(x: ArrayLike, labels: Sequence, metric: str = "cosine") -> float:
    """Silhouette score of ``labels`` on ``x`` (1 = tight, well-separated groups; 0 = overlapping)."""
    from sklearn.metrics import silhouette_score

    m = as_matrix(x)
    if len(set(labels)) < 2 or len(set(labels)) >= len(m):
        raise InputError("silhouette needs at least 2 groups and fewer groups than points")
    return float(silhouette_score(m, list(labels), metric="cosine" if metric == "cosine" else "euclidean"))
