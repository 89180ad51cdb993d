"""Dimensionality reduction to 2-D/3-D for looking at a vector space: PCA, t-SNE, UMAP (scikit-learn API).

    >>> coords = project(vectors.matrix, "pca", dim=2)
    >>> score = cluster_separation(coords_or_vectors, labels)   # silhouette, -1..1
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._params import check_choice, check_float, check_int
from .._progress import progress_bar
from ..errors import InputError, MissingDependencyError
from ..metrics import as_matrix, check_metric, normalize

METHODS = ("pca", "tsne", "umap")
MIN_POINTS = {"pca": 2, "tsne": 4, "umap": 4}


def check_projection(method: str = "pca", dim: int = 2, seed: int = 0, metric: str = "cosine") -> None:
    """InputError for a method, dimension, seed or metric that ``project`` cannot use (checkable before the
    data is loaded, as the CLI does)."""
    check_choice(method, "method", METHODS, what="projection method")
    check_int(dim, "dim", 2, 3, hint="plots are 2-D or 3-D")
    check_int(seed, "seed", low=0)
    check_metric(metric)


def project(x: ArrayLike, method: str = "pca", dim: int = 2, seed: int = 0, metric: str = "cosine",
            perplexity: float | None = None, n_neighbors: int | None = None, progress: bool = False) -> np.ndarray:
    """Reduce rows of ``x`` to ``dim`` (2 or 3) coordinates, float32; deterministic for a given seed.

    ``metric="cosine"`` projects directions (rows are unit-normalised first for PCA; t-SNE/UMAP use cosine).
    t-SNE's ``perplexity`` (in (0, n)) and UMAP's ``n_neighbors`` (2 to n - 1) shrink automatically for small
    inputs when not given. Every parameter is checked before any fitting. ``progress`` shows t-SNE's iterations
    and UMAP's epochs as a bar with the time left (PCA takes a moment); the coordinates do not change.
    """
    check_projection(method, dim, seed, metric)
    m = as_matrix(x)
    n, d = m.shape
    if n < MIN_POINTS[method]:
        name = {"pca": "projection", "tsne": "t-SNE", "umap": "UMAP"}[method]
        tiny = "; use PCA for tiny sets" if method != "pca" else ""
        raise InputError(f"{name} needs at least {MIN_POINTS[method]} points, got {n}{tiny}")
    if dim > d:
        raise InputError(f"cannot project {d}-dimensional vectors to {dim} dimensions")
    if perplexity is not None and method != "tsne":
        raise InputError(f"perplexity is a t-SNE setting; {method} does not use it")
    if n_neighbors is not None and method != "umap":
        raise InputError(f"n_neighbors is a UMAP setting; {method} does not use it")
    check_float(perplexity, "perplexity", 0, n, low_open=True, high_open=True, none=True,
                hint=f"it must stay below the number of points ({n})")
    check_int(n_neighbors, "n_neighbors", 2, n - 1, none=True, hint=f"UMAP takes 2 to n - 1 neighbours of {n} points")
    if method == "pca":
        from sklearn.decomposition import PCA

        data = normalize(m) if metric == "cosine" else m
        k = min(dim, n)
        out = PCA(k, random_state=seed).fit_transform(data)
        if k < dim:  # fewer points than dimensions: pad with zeros (a 2-point projection is a line)
            out = np.hstack([out, np.zeros((n, dim - k))])
        return out.astype(np.float32)
    if method == "tsne":
        tsne = tsne_estimator(n, dim, seed, metric, perplexity)
        if not progress:
            return tsne.fit_transform(m).astype(np.float32)
        with progress_bar(tsne.max_iter or 1000, f"t-SNE ({n} points)", "iter") as bar:
            tsne.set_params(verbose=2)  # only prints: every 50th iteration's line moves the bar
            with contextlib.redirect_stdout(_TSNELines(bar)):
                out = tsne.fit_transform(m).astype(np.float32)
            bar.update(bar.total - bar.n)  # it may stop early once converged
        return out
    if progress and sys.stderr.isatty():  # the epochs get a bar; what comes before them, a line
        print(f"UMAP: neighbour graph of {n} points (the first UMAP in a process also compiles, ~45 s)",
              file=sys.stderr)
    reducer = umap_estimator(n, dim, seed, metric, n_neighbors, progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap warns that a seed disables parallelism: that is the point
        return reducer.fit_transform(m).astype(np.float32)


def tsne_estimator(n: int, dim: int, seed: int, metric: str, perplexity: float | None = None) -> Any:
    """The scikit-learn ``TSNE`` that ``project`` fits: PCA initialisation, Barnes-Hut, cosine or Euclidean.

    Parameters
    ----------
    n : int
        Number of points it will be fitted on (the default perplexity shrinks for small sets).
    dim : int
        Output dimension, 2 or 3.
    seed : int
        Random seed.
    metric : str
        ``"cosine"`` for cosine distances, anything else for Euclidean.
    perplexity : float or None
        t-SNE's perplexity; ``None`` for min(30, max(2, (n - 1) / 3)).

    Returns
    -------
    sklearn.manifold.TSNE
        The unfitted estimator.
    """
    from sklearn.manifold import TSNE

    p = perplexity if perplexity is not None else min(30.0, max(2.0, (n - 1) / 3))
    return TSNE(dim, perplexity=p, metric="cosine" if metric == "cosine" else "euclidean",
                init="pca", random_state=seed, method="barnes_hut" if dim < 4 else "exact")


def umap_estimator(n: int, dim: int, seed: int, metric: str, n_neighbors: int | None = None,
                   progress: bool = False) -> Any:
    """The ``umap.UMAP`` that ``project`` fits: spectral initialisation, seeded, epochs shown with ``progress``.

    Parameters
    ----------
    n : int
        Number of points it will be fitted on (the default ``n_neighbors`` is min(15, n - 1)).
    dim : int
        Output dimension, 2 or 3.
    seed : int
        Random seed (UMAP then runs single-threaded, which makes it reproducible).
    metric : str
        ``"cosine"``, ``"l2"`` or ``"dot"`` (``dot`` uses cosine: UMAP needs a distance).
    n_neighbors : int or None
        UMAP's neighbourhood size; ``None`` for min(15, n - 1).
    progress : bool
        Show the epochs as a progress bar on stderr.

    Returns
    -------
    umap.UMAP
        The unfitted estimator.

    Raises
    ------
    MissingDependencyError
        umap-learn is not installed.
    """
    try:
        import umap
    except ImportError as exc:  # pragma: no cover - eval extra present in tests
        raise MissingDependencyError("UMAP needs umap-learn: pip install 'embedlab[eval]'") from exc
    nn = n_neighbors if n_neighbors is not None else min(15, n - 1)
    return umap.UMAP(n_components=dim, n_neighbors=nn, metric=metric if metric != "dot" else "cosine",
                     random_state=seed, init="spectral" if n > dim + 1 else "random",
                     tqdm_kwds={"disable": None if progress else True, "file": sys.stderr, "leave": False,
                                "desc": f"UMAP ({n} points)", "unit": "epoch"})


class _TSNELines(io.TextIOBase):
    """A stdout for verbose t-SNE: its "[t-SNE] Iteration N" lines move a progress bar, other lines are dropped."""

    _ITER = re.compile(r"\[t-SNE\] Iteration (\d+)")

    def __init__(self, bar: Any) -> None:  # a tqdm bar (from _progress.progress_bar)
        self.bar, self._line = bar, ""

    def write(self, text: str) -> int:
        *lines, self._line = (self._line + text).split("\n")
        for line in lines:
            m = self._ITER.match(line)
            if m and int(m.group(1)) > self.bar.n:
                self.bar.update(min(int(m.group(1)), self.bar.total) - self.bar.n)
        return len(text)


def cluster_separation(x: ArrayLike, labels: Sequence[Hashable], metric: str = "cosine") -> float:
    """Silhouette score of ``labels`` on ``x`` (1 = tight, well-separated groups; 0 = overlapping)."""
    from sklearn.metrics import silhouette_score

    check_metric(metric)
    m = as_matrix(x)
    labels = list(labels)
    if len(labels) != len(m):
        raise InputError(f"{len(labels)} labels for {len(m)} points; give one label per point")
    if len(set(labels)) < 2 or len(set(labels)) >= len(m):
        raise InputError("silhouette needs at least 2 groups and fewer groups than points")
    return float(silhouette_score(m, labels, metric="cosine" if metric == "cosine" else "euclidean"))
