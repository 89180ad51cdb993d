"""A fitted 2-D/3-D layout of a whole vector space for the projector: PCA, t-SNE or UMAP at up to millions of rows.

    >>> lay = fit_layout(matrix, "umap", report=lambda f, stage: print(f"{f:.0%} {stage}"))
    >>> lay.coords.shape, lay.how, lay.trustworthiness
    >>> xy, how = lay.place(query_vectors)      # where new vectors land: "exact", "transform", "nearest-neighbour"
    >>> lay.save(folder); Layout.load(folder)   # the server's cache (reopening reads two small files)

Large inputs follow the strategy measured in ``benchmarks/bench_projection.py`` on 2 cores: rows are
unit-normalised (cosine) and reduced to 50 dimensions by an exact PCA over all rows (one pass building the
d x d covariance), t-SNE or UMAP is fitted on a seeded sample of ``sample`` rows, and the other rows are placed
by UMAP's ``transform`` or, for t-SNE, at the mean of their ``k_place`` nearest fitted rows. PCA itself is exact
over every row. Each layout carries its trustworthiness and continuity at k = 10 on a seeded sample of rows
(``quality_sample``: both neighbour lists searched within the sample, so scoring costs about a second at any row
count), measured in the original space, ``params["quality"]`` saying so, and ``how``, one sentence for the UI
saying what was done.

Zero rows (no direction) are allowed: under cosine they are unit-normalised to zero, which is as far from every
other row as an orthogonal one (cosine distance 1); ``how`` counts them. NaN or infinite rows are refused.
"""

from __future__ import annotations

import json
import pickle
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import ArrayLike

from .._params import check_choice, check_int
from ..errors import CorruptFileError, DimensionError, InputError, NonFiniteError
from ..metrics import check_metric, normalize
from ..persist import atomic_folder, read_npy, read_versioned, versioned
from .neighbourhood import trustworthiness_continuity
from .reduce import METHODS, MIN_POINTS, tsne_estimator, umap_estimator

FORMAT, VERSION = "embedlab-layout", 1
#: Rows fitted by t-SNE / UMAP before the rest are placed. Chosen by benchmarks/bench_projection.py on 2 cores:
#: a 5,000-row fit keeps trustworthiness at k = 10 above 0.98 on 10k clustered rows for 23 (t-SNE) / 38 (UMAP)
#: CPU-seconds, and the fit's cost no longer grows with n (placement is linear), so a million rows stay in reach.
DEFAULT_SAMPLE = {"tsne": 5_000, "umap": 5_000}
PCA_DIMS = 50  # t-SNE / UMAP input dimension for wider vectors
QUALITY_K = 10
QUALITY_FLOPS = 1e10  # trustworthiness sample s: s^2 x d within this (5,000 rows up to 400-d), 1,000 to 5,000
NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
Report = Callable[[float, str], None]


@dataclass
class Layout:
    """Coordinates of every row plus what is needed to place new vectors (see ``fit_layout``).

    Attributes: ``coords`` (n, dims) float32; ``method``; ``dims``; ``how`` (one sentence for the UI);
    ``seconds`` spent fitting; ``trustworthiness`` and ``continuity`` at k = 10; ``params`` (metric, seed,
    sample, pca_dims, k_place and the method's own settings, ``quality_sample`` and ``quality``: how the figures
    were measured).
    """

    coords: np.ndarray
    method: str
    dims: int
    how: str
    seconds: float
    trustworthiness: float
    continuity: float
    params: dict[str, Any]
    mean: np.ndarray  # (d,) float32: centre of the (normalised) rows
    components: np.ndarray  # (c, d) float32: PCA axes; c = dims for PCA, the pre-reduction otherwise (0 = none)
    fitted_vectors: np.ndarray = field(repr=False)  # (s, c) reduced rows t-SNE/UMAP was fitted on (t-SNE placement)
    fitted_coords: np.ndarray = field(repr=False)  # (s, dims) their coordinates
    _umap_path: Path | None = field(default=None, repr=False)
    _umap: Any = field(default=None, repr=False)

    def place(self, vectors: ArrayLike) -> tuple[np.ndarray, str]:
        """Coordinates of new vectors on this layout, and how they were found.

        Parameters
        ----------
        vectors : array_like
            (m, d) float32 vectors of the same dimension as the fitted rows.

        Returns
        -------
        tuple of (numpy.ndarray, str)
            (m, dims) float32 coordinates, and ``"exact"`` (PCA), ``"transform"`` (UMAP's transform) or
            ``"nearest-neighbour"`` (t-SNE: the mean of the ``k_place`` nearest fitted rows' coordinates).

        Raises
        ------
        DimensionError
            Vectors of another dimension than the fitted ones.
        NonFiniteError
            NaN or infinity in a row (the first bad rows are named).
        """
        m = checked_vectors(vectors, "query vectors")
        if m.shape[1] != len(self.mean):
            raise DimensionError(f"query vectors have dimension {m.shape[1]}, the layout was fitted on "
                                 f"{len(self.mean)}-dimensional vectors")
        reduced = self._reduce(m)
        if self.method == "pca":
            return reduced.astype(np.float32), "exact"
        if len(m) == 0:
            return np.zeros((0, self.dims), np.float32), "transform" if self.method == "umap" else "nearest-neighbour"
        if self.method == "umap":
            return _umap_transform(self._model(), reduced), "transform"
        return _nearest_mean(self.fitted_vectors, self.fitted_coords, reduced, self.params["k_place"]), \
            "nearest-neighbour"

    def _reduce(self, m: np.ndarray) -> np.ndarray:
        x = _unit(m) if self.params["metric"] == "cosine" else m
        if not len(self.components):
            return x
        return _project(x, self.mean, self.components)

    def _model(self) -> Any:
        if self._umap is None:
            assert self._umap_path is not None
            with open(self._umap_path, "rb") as fh:
                self._umap = pickle.load(fh)  # noqa: S301 - our own cache file, written by save()
        return self._umap

    def save(self, folder: str | Path) -> None:
        """Write the layout to ``folder``, replacing it atomically.

        ``layout.json`` and ``.npy`` arrays, plus ``umap.pkl`` for UMAP (the fitted model, a pickle: load only
        folders that embedlab itself wrote, such as the server's cache).

        Parameters
        ----------
        folder : str or pathlib.Path
            Target folder; an existing one is replaced.
        """
        with atomic_folder(folder) as tmp:
            for name in ("coords", "mean", "components", "fitted_vectors", "fitted_coords"):
                np.save(tmp / f"{name}.npy", np.ascontiguousarray(getattr(self, name)), allow_pickle=False)
            if self.method == "umap":
                with open(tmp / "umap.pkl", "wb") as fh:
                    pickle.dump(self._model(), fh, protocol=pickle.HIGHEST_PROTOCOL)
            doc = versioned(FORMAT, VERSION, method=self.method, dims=self.dims, how=self.how,
                            seconds=self.seconds, trustworthiness=self.trustworthiness,
                            continuity=self.continuity, params=self.params, rows=len(self.coords))
            (tmp / "layout.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: str | Path) -> Layout:
        """Read a layout written by ``save`` (the UMAP model is read only when ``place`` first needs it).

        Parameters
        ----------
        folder : str or pathlib.Path
            A folder written by ``Layout.save``.

        Returns
        -------
        Layout
            The layout, its coordinates memory-mapped.

        Raises
        ------
        CorruptFileError
            A missing or damaged file (the message names it).
        FormatVersionError
            A layout written by a newer embedlab.
        """
        folder = Path(folder)
        fix = "delete the folder to recompute the layout"
        doc = read_versioned(folder / "layout.json", FORMAT, VERSION, "layout", fix)
        dims = int(doc["dims"])
        shapes = {"coords": (int(doc["rows"]), dims), "mean": (-1,), "components": (-1, -1),
                  "fitted_vectors": (-1, -1), "fitted_coords": (-1, dims)}
        arrays = {name: read_npy(folder / f"{name}.npy", fix, dtype=np.float32, shape=shape, mmap=name == "coords")
                  for name, shape in shapes.items()}
        umap_path = folder / "umap.pkl" if doc["method"] == "umap" else None
        if umap_path is not None and not umap_path.is_file():
            raise CorruptFileError(f"{umap_path} is missing; {fix}")
        return cls(method=doc["method"], dims=dims, how=doc["how"], seconds=float(doc["seconds"]),
                   trustworthiness=float(doc["trustworthiness"]), continuity=float(doc["continuity"]),
                   params=doc["params"], _umap_path=umap_path, **arrays)


def fit_layout(vectors: ArrayLike, method: str, dims: int = 2, seed: int = 0, report: Report | None = None, *,
               metric: str = "cosine", sample: int | None = None, pca_dims: int | None = PCA_DIMS,
               perplexity: float | None = None, n_neighbors: int | None = None, k_place: int = 10) -> Layout:
    """Lay out every row of ``vectors`` in ``dims`` dimensions with PCA, t-SNE or UMAP.

    Parameters
    ----------
    vectors : array_like
        (n, d) float32 vectors; zero rows are allowed, NaN or infinite ones are not.
    method : str
        ``"pca"``, ``"tsne"`` or ``"umap"``.
    dims : int
        2 or 3.
    seed : int
        Seed of the sample, the fit and the trustworthiness sample; the same seed gives the same layout.
    report : callable or None
        ``report(fraction, stage)`` progress callback (fraction in [0, 1], stage a short sentence).
    metric : str
        ``"cosine"`` (rows unit-normalised first), ``"l2"`` or ``"dot"`` (laid out as Euclidean).
    sample : int or None
        t-SNE / UMAP are fitted on at most this many seeded rows and the rest placed; ``None`` for
        ``DEFAULT_SAMPLE[method]``. Ignored by PCA, which is exact over all rows.
    pca_dims : int or None
        Reduce wider vectors to this many PCA dimensions before t-SNE / UMAP; ``None`` keeps all.
    perplexity : float or None
        t-SNE's perplexity (default min(30, max(2, (s - 1) / 3)) for s fitted rows).
    n_neighbors : int or None
        UMAP's neighbourhood size (default min(15, s - 1)).
    k_place : int
        Fitted neighbours whose mean places a t-SNE row that was not fitted.

    Returns
    -------
    Layout
        Coordinates (n, dims) float32, ``how``, timings and the trustworthiness / continuity at k = 10.

    Raises
    ------
    InputError
        An unknown method or metric; dims not 2 or 3; fewer rows than the method needs (PCA 2, t-SNE and
        UMAP 4); vectors narrower than ``dims``; a bad sample, pca_dims, perplexity, n_neighbors or k_place.
    NonFiniteError
        NaN or infinity in a row (the first bad rows are named).
    """
    started = time.perf_counter()
    check_choice(method, "method", METHODS, what="projection method")
    check_int(dims, "dims", 2, 3, hint="layouts are 2-D or 3-D")
    check_int(seed, "seed", low=0)
    check_metric(metric)
    check_int(sample, "sample", low=MIN_POINTS["umap"], none=True)
    check_int(pca_dims, "pca_dims", low=dims, none=True, hint="the pre-reduction must keep at least dims axes")
    check_int(k_place, "k_place", low=1)
    if perplexity is not None and method != "tsne":
        raise InputError(f"perplexity is a t-SNE setting; {method} does not use it")
    if n_neighbors is not None and method != "umap":
        raise InputError(f"n_neighbors is a UMAP setting; {method} does not use it")
    m = checked_vectors(vectors, "vectors")
    n, d = m.shape
    if n < MIN_POINTS[method]:
        tiny = "; use PCA for tiny sets" if method != "pca" else ""
        raise InputError(f"{NAMES[method]} needs at least {MIN_POINTS[method]} points, got {n}{tiny}")
    if dims > d:
        raise InputError(f"cannot lay out {d}-dimensional vectors in {dims} dimensions")
    say = report or (lambda fraction, stage: None)
    zero = int((~m.any(axis=1)).sum())
    x = _unit(m) if metric == "cosine" else m
    params: dict[str, Any] = {"metric": metric, "seed": seed, "k_place": k_place}
    if method == "pca":
        say(0.0, f"PCA of {n:,} rows")
        mean, comps = _pca(x, dims)
        coords = _project(x, mean, comps)
        fitted_v, fitted_c = np.zeros((0, dims), np.float32), np.zeros((0, dims), np.float32)
        how, model = f"PCA of all {n:,} rows (exact)", None
    else:
        s = min(n, sample if sample is not None else DEFAULT_SAMPLE[method])
        c = pca_dims if pca_dims is not None and d > pca_dims else 0
        params.update(sample=s, pca_dims=c or None, perplexity=perplexity, n_neighbors=n_neighbors)
        if c:
            say(0.0, f"reducing {n:,} rows to {c} dimensions with PCA")
            mean, comps = _pca(x, c)
            reduced = _project(x, mean, comps)
        else:
            mean, comps, reduced = np.zeros(d, np.float32), np.zeros((0, d), np.float32), x
        rows = np.arange(n) if s == n else np.sort(np.random.default_rng(seed).choice(n, s, replace=False))
        fitted_v = np.ascontiguousarray(reduced[rows])
        say(0.1, f"fitting {NAMES[method]} on {s:,} {'sampled ' if s < n else ''}rows")
        geometry = "cosine" if metric == "cosine" and not c else "l2"  # unit rows: Euclidean ranks as cosine
        if method == "tsne":
            fitted_c = tsne_estimator(s, dims, seed, geometry, perplexity).fit_transform(fitted_v).astype(np.float32)
            model = None
        else:
            model = umap_estimator(s, dims, seed, geometry, n_neighbors)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # umap warns that a seed disables parallelism: that is the point
                fitted_c = model.fit_transform(fitted_v).astype(np.float32)
            model.tqdm_kwds = {"disable": True}  # no open stderr inside the model: it is pickled by save()
        coords = np.empty((n, dims), np.float32)
        coords[rows] = fitted_c
        rest = np.setdiff1d(np.arange(n), rows, assume_unique=True)
        pre = f" after PCA to {c} dims" if c else ""
        how = f"{NAMES[method]} fitted on {'all ' if s == n else ''}{s:,} {'sampled ' if s < n else ''}rows{pre}"
        if len(rest):
            say(0.6, f"placing the other {len(rest):,} rows")
            if method == "umap":
                coords[rest] = _umap_transform(model, reduced[rest])
                how += f"; the other {len(rest):,} placed by UMAP transform"
            else:
                coords[rest] = _nearest_mean(fitted_v, fitted_c, reduced[rest], k_place)
                how += f"; the other {len(rest):,} placed at the mean of their {k_place} nearest fitted rows"
    if zero:
        how += f"; {zero:,} zero row{'s' if zero > 1 else ''} (no direction) included"
    say(0.9, "measuring trustworthiness and continuity (k = 10)")
    q = min(n, quality_sample(d))
    k = min(QUALITY_K, (n - 1) // 2)
    # unit rows: minus the dot product ranks as the cosine distance does (zero rows too), without another copy;
    # neighbours searched within the sample: q^2 x d flops whatever n is (searching all n rows cost 123 s at 100k)
    t, cont = (trustworthiness_continuity(x, coords, k=k, sample=q, seed=seed, among="sample",
                                          metric="dot" if metric == "cosine" else metric) if k >= 1 else (1.0, 1.0))
    params["quality_sample"] = q
    params["quality"] = (f"trustworthiness and continuity at k = {k} over all {n:,} rows" if q == n else
                         f"trustworthiness and continuity at k = {k} over a seeded sample of {q:,} of the {n:,} rows, "
                         "neighbours in both spaces searched within the sample")
    say(1.0, "done")
    return Layout(coords=coords, method=method, dims=dims, how=how + ".", seconds=time.perf_counter() - started,
                  trustworthiness=t, continuity=cont, params=params, mean=np.asarray(mean, np.float32),
                  components=np.asarray(comps, np.float32), fitted_vectors=fitted_v, fitted_coords=fitted_c,
                  _umap=model)


def quality_sample(dim: int) -> int:
    """Rows scored by ``fit_layout``'s trustworthiness / continuity for ``dim``-dimensional vectors.

    Both neighbour lists are searched within the sample, so the cost is about sample^2 x dim flops whatever the
    row count: 5,000 rows up to 400 dimensions, fewer for wider vectors, never under 1,000.

    Parameters
    ----------
    dim : int
        Dimension of the original vectors (>= 1).

    Returns
    -------
    int
        Sample size, 1,000 to 5,000.
    """
    return int(min(5000, max(1000, np.sqrt(QUALITY_FLOPS / max(1, dim)))))


def checked_vectors(vectors: ArrayLike, name: str = "vectors") -> np.ndarray:
    """Vectors as a C-contiguous float32 (n, d) array, every row finite.

    Parameters
    ----------
    vectors : array_like
        (n, d) numbers.
    name : str
        What they are, for messages.

    Returns
    -------
    numpy.ndarray
        (n, d) float32, C-contiguous (the input itself when it already is).

    Raises
    ------
    InputError
        Not numbers, or not 2-D.
    NonFiniteError
        NaN or infinity in a row; the message names the first five bad rows.
    """
    try:
        m = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a numeric (n, d) array: {exc}") from None
    if m.ndim != 2:
        raise InputError(f"{name} must be a 2-D (n, d) array, got shape {m.shape}")
    bad = np.flatnonzero(~np.isfinite(m).all(axis=1))
    if len(bad):
        first = ", ".join(str(int(i)) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
        raise NonFiniteError(f"{name} contain NaN or infinity in {len(bad)} row(s) (rows {first}); "
                             "drop or fix those rows first")
    return m


def _unit(m: np.ndarray) -> np.ndarray:
    # rows scaled to unit length (zero rows stay zero); ``m`` itself when it already is (no 1.5 GB copy of a
    # million normalised 384-d embeddings)
    lengths = np.sqrt(np.einsum("ij,ij->i", m, m))
    return m if bool(np.all((np.abs(lengths - 1) < 1e-4) | (lengths == 0))) else normalize(m)


def _project(x: np.ndarray, mean: np.ndarray, axes: np.ndarray) -> np.ndarray:
    # (x - mean) @ axes.T without the (n, d) centred copy: x @ axes.T - mean @ axes.T, float32
    out = x @ axes.T
    out -= mean @ axes.T
    return out.astype(np.float32, copy=False)


def _pca(x: np.ndarray, c: int, block: int = 8_192) -> tuple[np.ndarray, np.ndarray]:
    # mean (d,) and top-``c`` principal axes (c, d) of all rows, from the covariance built in blocks (exact,
    # memory O(d^2)): each block's product in float32 (5x faster than float64 here: 1M x 384 in ~5 s on one
    # core), summed in float64 (relative error ~1e-7); each axis's sign makes its largest coordinate positive,
    # so results are stable
    n, d = x.shape
    mean = x.mean(axis=0, dtype=np.float64)
    centre = mean.astype(np.float32)
    cov = np.zeros((d, d))
    for i in range(0, n, block):
        b = x[i:i + block] - centre
        cov += b.T @ b
    vals, vecs = np.linalg.eigh(cov)
    axes = vecs[:, ::-1][:, :c].T
    axes *= np.where(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)] < 0, -1.0, 1.0)[:, None]
    return mean.astype(np.float32), axes.astype(np.float32)


def _nearest_mean(fitted: np.ndarray, coords: np.ndarray, queries: np.ndarray, k: int,
                  block: int = 65_536) -> np.ndarray:
    # (m, dims) mean coordinates of each query's ``k`` nearest (Euclidean) fitted rows: an exact FAISS flat search
    # (10x numpy's distance matrix + argpartition: 995k rows against 5,000 fitted ones in ~11 CPU-s)
    k = min(k, len(fitted))
    index = faiss.IndexFlatL2(fitted.shape[1])
    index.add(np.ascontiguousarray(fitted, dtype=np.float32))
    out = np.empty((len(queries), coords.shape[1]), np.float32)
    for i in range(0, len(queries), block):
        _, near = index.search(np.ascontiguousarray(queries[i:i + block], dtype=np.float32), k)
        out[i:i + block] = coords[near].mean(axis=1)
    return out


def _umap_transform(model: Any, x: np.ndarray, block: int = 100_000) -> np.ndarray:
    """UMAP's ``transform`` in blocks (bounded memory), float32."""
    out = np.empty((len(x), model.n_components), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(0, len(x), block):
            out[i:i + block] = model.transform(x[i:i + block])
    return out
