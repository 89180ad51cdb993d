"""Projector layouts (analysis.layout): PCA / t-SNE / UMAP over all rows with a fitted sample, placement of
new vectors, the saved cache, the distortion figures, and every bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab.analysis.layout import Layout, fit_layout, quality_sample
from embedlab.analysis.neighbourhood import trustworthiness_continuity
from embedlab.analysis.reduce import cluster_separation
from embedlab.errors import CorruptFileError, DimensionError, InputError, NonFiniteError
from embedlab.metrics import normalize


def _blobs(per=60, d=64, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, d)) * 4
    x = np.vstack([c + rng.normal(size=(per, d)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(3), per)


def _apart(coords, groups):
    """Every point is nearer its own cluster's centre than any other centre, and silhouette is high."""
    centres = np.stack([coords[groups == g].mean(0) for g in range(3)])
    nearest = np.linalg.norm(coords[:, None] - centres[None], axis=2).argmin(1)
    return (nearest == groups).all() and cluster_separation(coords, list(groups), metric="l2") > 0.6


def _lands_home(coords, groups, placed, rows):
    """Each placed row lies in its own cluster: nearest that cluster's centre, and nearer its own fitted point
    than the cluster's width."""
    centres = np.stack([coords[groups == g].mean(0) for g in range(3)])
    for xy, r in zip(placed, rows, strict=True):
        width = np.ptp(coords[groups == groups[r]], axis=0).max()
        if np.linalg.norm(centres - xy, axis=1).argmin() != groups[r] or np.linalg.norm(xy - coords[r]) > width:
            return False
    return True


def test_pca_layout_is_exact_places_exactly_and_reopens(tmp_path):
    x, groups = _blobs()
    steps = []
    lay = fit_layout(x, "pca", report=lambda f, s: steps.append((f, s)))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    centred = unit - unit.mean(0)
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(np.abs(lay.coords), np.abs(centred @ vt[:2].T), atol=1e-4)
    assert lay.coords.dtype == np.float32 and lay.coords.shape == (180, 2) and _apart(lay.coords, groups)
    assert lay.how == "PCA of all 180 rows (exact)." and lay.method == "pca" and lay.dims == 2
    assert steps == [(0.0, "PCA of 180 rows"), (0.9, "measuring trustworthiness and continuity (k = 10)"),
                     (1.0, "done")]
    assert 0.8 < lay.trustworthiness <= 1 and 0.8 < lay.continuity <= 1
    xy, how = lay.place(x[:5] * 3)  # cosine: scale does not move a point
    assert how == "exact"
    np.testing.assert_allclose(xy, lay.coords[:5], atol=1e-5)
    lay.save(tmp_path / "pca")
    again = Layout.load(tmp_path / "pca")
    assert np.array_equal(again.coords, lay.coords) and again.how == lay.how
    assert (again.trustworthiness, again.continuity, again.params) == (lay.trustworthiness, lay.continuity,
                                                                        lay.params)
    np.testing.assert_array_equal(again.place(x[:5])[0], lay.place(x[:5])[0])
    three = fit_layout(x, "pca", dims=3, metric="l2")
    assert three.coords.shape == (180, 3) and three.place(x[:2])[0].shape == (2, 3)


def test_tsne_fits_a_sample_and_places_the_rest_by_nearest_neighbours(tmp_path):
    x, groups = _blobs()
    steps = []
    lay = fit_layout(x, "tsne", sample=120, pca_dims=20, seed=1, report=lambda f, s: steps.append((f, s)))
    assert steps == [(0.0, "reducing 180 rows to 20 dimensions with PCA"), (0.1, "fitting t-SNE on 120 sampled rows"),
                     (0.6, "placing the other 60 rows"), (0.9, "measuring trustworthiness and continuity (k = 10)"),
                     (1.0, "done")]
    assert lay.how == ("t-SNE fitted on 120 sampled rows after PCA to 20 dims; the other 60 placed at the mean "
                       "of their 10 nearest fitted rows.")
    assert _apart(lay.coords, groups) and lay.trustworthiness > 0.85 and lay.continuity > 0.85
    assert lay.params == {"metric": "cosine", "seed": 1, "k_place": 10, "sample": 120, "pca_dims": 20,
                          "perplexity": None, "n_neighbors": None, "quality_sample": 180,
                          "quality": "trustworthiness and continuity at k = 10 over all 180 rows"}
    again = fit_layout(x, "tsne", sample=120, pca_dims=20, seed=1)
    np.testing.assert_array_equal(again.coords, lay.coords)  # seeded
    xy, how = lay.place(x[:3])
    assert how == "nearest-neighbour"
    assert _lands_home(lay.coords, groups, xy, rows=[0, 1, 2])
    lay.save(tmp_path / "t")
    np.testing.assert_array_equal(Layout.load(tmp_path / "t").place(x[:3])[0], xy)
    # the placement by brute force: the mean of the 10 nearest fitted rows (Euclidean, in the reduced space)
    reduced = (normalize(x) @ lay.components.T - lay.mean @ lay.components.T).astype(np.float64)
    fitted = lay.fitted_vectors.astype(np.float64)
    d = ((reduced[:, None, :] - fitted[None, :, :]) ** 2).sum(-1)
    want = lay.fitted_coords[np.argsort(d, axis=1)[:, :10]].mean(axis=1)
    placed = np.ones(len(x), bool)
    placed[np.isin(reduced, fitted).all(axis=1)] = False  # fitted rows keep their own t-SNE coordinates
    assert placed.sum() == 60
    np.testing.assert_allclose(lay.coords[placed], want[placed], atol=1e-5)
    np.testing.assert_allclose(lay.place(x)[0], want, atol=1e-5)


def test_tsne_on_all_rows_without_pre_reduction():
    x, groups = _blobs(per=20, d=16)
    lay = fit_layout(x, "tsne")
    assert lay.how == "t-SNE fitted on all 60 rows." and _apart(lay.coords, groups)


@pytest.mark.slow  # UMAP JIT-compiles for ~45 s on first use in a process
def test_umap_fits_a_sample_transforms_the_rest_and_reloads_its_model(tmp_path):
    x, groups = _blobs()
    lay = fit_layout(x, "umap", sample=120, pca_dims=20, seed=2)
    assert lay.how == "UMAP fitted on 120 sampled rows after PCA to 20 dims; the other 60 placed by UMAP transform."
    assert _apart(lay.coords, groups) and lay.trustworthiness > 0.85
    xy, how = lay.place(x[:3])
    assert how == "transform"
    assert _lands_home(lay.coords, groups, xy, rows=[0, 1, 2])
    lay.save(tmp_path / "u")
    assert sorted(p.name for p in (tmp_path / "u").iterdir()) == [
        "components.npy", "coords.npy", "fitted_coords.npy", "fitted_vectors.npy", "layout.json", "mean.npy",
        "umap.pkl"]
    again = Layout.load(tmp_path / "u")
    np.testing.assert_array_equal(again.coords, lay.coords)
    assert again.place(np.zeros((0, 64), np.float32))[0].shape == (0, 2)
    assert _lands_home(lay.coords, groups, again.place(x[:3])[0], rows=[0, 1, 2])  # transform is stochastic


def test_large_layouts_score_a_sample_with_neighbours_searched_within_it(tmp_path):
    rng = np.random.default_rng(4)
    x = (rng.normal(size=(8, 24))[rng.integers(0, 8, 12_000)] + rng.normal(size=(12_000, 24))).astype(np.float32)
    lay = fit_layout(x, "pca", seed=3)
    assert quality_sample(24) == 5000 and lay.params["quality_sample"] == 5000
    assert lay.params["quality"] == ("trustworthiness and continuity at k = 10 over a seeded sample of 5,000 of the "
                                     "12,000 rows, neighbours in both spaces searched within the sample")
    want = trustworthiness_continuity(normalize(x), lay.coords, k=10, sample=5000, seed=3, metric="dot", among="sample")
    assert (lay.trustworthiness, lay.continuity) == want
    lay.save(tmp_path / "l")
    assert Layout.load(tmp_path / "l").params["quality"] == lay.params["quality"]


@pytest.mark.parametrize("dim,rows", [(1, 5000), (384, 5000), (400, 5000), (4096, 1562), (10**6, 1000)])
def test_the_quality_sample_shrinks_for_wide_vectors(dim, rows):
    assert quality_sample(dim) == rows


def test_zero_rows_are_allowed_and_counted():
    x, groups = _blobs(per=20, d=16)
    x[[3, 40]] = 0
    for method in ("pca", "tsne"):
        lay = fit_layout(x, method)
        assert np.isfinite(lay.coords).all()
        assert lay.how.endswith("; 2 zero rows (no direction) included.")
    assert fit_layout(x[[0, 1, 3]], "pca").how == "PCA of all 3 rows (exact); 1 zero row (no direction) included."


def test_two_and_three_points():
    x, _ = _blobs(per=1, d=8)
    lay = fit_layout(x[:2], "pca")
    assert lay.coords.shape == (2, 2) and (lay.trustworthiness, lay.continuity) == (1.0, 1.0)
    assert fit_layout(x, "pca").coords.shape == (3, 2)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(method="mds"), InputError, "unknown projection method 'mds'; choose one of pca, tsne, umap"),
    (dict(method="tsne", rows=3), InputError, "t-SNE needs at least 4 points, got 3; use PCA for tiny sets"),
    (dict(method="umap", rows=3), InputError, "UMAP needs at least 4 points, got 3; use PCA for tiny sets"),
    (dict(method="pca", rows=1), InputError, "PCA needs at least 2 points, got 1"),
    (dict(method="pca", rows=0), InputError, "PCA needs at least 2 points, got 0"),
    (dict(dims=4), InputError, r"dims must be an integer in \[2, 3\], got 4; layouts are 2-D or 3-D"),
    (dict(metric="hamming"), InputError, "unknown metric 'hamming'"),
    (dict(seed=-1), InputError, "seed must be a non-negative integer, got -1"),
    (dict(method="tsne", sample=3), InputError, "sample must be an integer"),
    (dict(method="tsne", pca_dims=1), InputError, "pca_dims must be an integer"),
    (dict(method="tsne", k_place=0), InputError, "k_place must be a positive integer, got 0"),
    (dict(method="pca", perplexity=5.0), InputError, "perplexity is a t-SNE setting; pca does not use it"),
    (dict(method="tsne", n_neighbors=5), InputError, "n_neighbors is a UMAP setting; tsne does not use it"),
    (dict(width=2, dims=3), InputError, "cannot lay out 2-dimensional vectors in 3 dimensions"),
    (dict(vectors=np.zeros(5)), InputError, r"must be a 2-D \(n, d\) array, got shape \(5,\)"),
    (dict(vectors=[["a", "b"]] * 5), InputError, "vectors must be a numeric"),
])
def test_bad_inputs(kwargs, error, match):
    x, _ = _blobs(per=10, d=8)
    rows, width = kwargs.pop("rows", len(x)), kwargs.pop("width", 8)
    args = dict(vectors=x[:rows, :width], method="pca") | kwargs
    with pytest.raises(error, match=match):
        fit_layout(**args)


def test_nan_rows_are_named():
    x, _ = _blobs(per=10, d=8)
    x[[4, 7, 8, 9, 11, 12, 20], 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"NaN or infinity in 7 row\(s\) \(rows 4, 7, 8, 9, 11, \.\.\.\)"):
        fit_layout(x, "tsne")
    lay = fit_layout(_blobs(per=10, d=8)[0], "pca")
    q = np.ones((2, 8), np.float32)
    q[1, 0] = np.inf
    with pytest.raises(NonFiniteError, match=r"query vectors contain NaN or infinity in 1 row\(s\) \(rows 1\)"):
        lay.place(q)
    with pytest.raises(DimensionError, match="query vectors have dimension 5, the layout was fitted on 8-dimensional"):
        lay.place(np.ones((1, 5)))


def test_damaged_cache_is_a_corrupt_file_error(tmp_path):
    x, _ = _blobs(per=10, d=8)
    fit_layout(x, "pca").save(tmp_path / "c")
    (tmp_path / "c" / "coords.npy").write_bytes(b"not an array")
    with pytest.raises(CorruptFileError, match="coords.npy"):
        Layout.load(tmp_path / "c")
    fit_layout(x, "pca").save(tmp_path / "d")
    doc = json.loads((tmp_path / "d" / "layout.json").read_text())
    (tmp_path / "d" / "layout.json").write_text(json.dumps(doc | {"format": "other"}))
    with pytest.raises(CorruptFileError, match="is not an embedlab layout"):
        Layout.load(tmp_path / "d")
    with pytest.raises(CorruptFileError, match="layout.json"):
        Layout.load(tmp_path / "missing")
