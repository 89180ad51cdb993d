"""Trustworthiness and continuity (analysis.neighbourhood): exact agreement with scikit-learn, a brute-force
reference for continuity and for the sampled sums, and every bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from embedlab.analysis.neighbourhood import trustworthiness_continuity
from embedlab.errors import InputError, NonFiniteError


def _data(n=120, d=12, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x[:, :2] + 0.5 * rng.normal(size=(n, 2))).astype(np.float32)  # a noisy picture: some neighbours lost
    return x, y


def _brute(high, low, k, rows):
    """Venna & Kaski by the book: full argsort ranks, 1-based, over every other row; (T, C) summed over rows."""
    n = len(high)
    dh = np.linalg.norm(high[:, None, :].astype(np.float64) - high[None, :, :], axis=2)
    dl = np.linalg.norm(low[:, None, :].astype(np.float64) - low[None, :, :], axis=2)
    np.fill_diagonal(dh, np.inf)
    np.fill_diagonal(dl, np.inf)
    t = c = 0.0
    for i in rows:
        rank_h = np.empty(n, int)
        rank_h[np.argsort(dh[i])] = np.arange(1, n + 1)
        rank_l = np.empty(n, int)
        rank_l[np.argsort(dl[i])] = np.arange(1, n + 1)
        near_h, near_l = set(np.argsort(dh[i])[:k]), set(np.argsort(dl[i])[:k])
        t += sum(rank_h[j] - k for j in near_l - near_h)
        c += sum(rank_l[j] - k for j in near_h - near_l)
    scale = 2.0 / (len(rows) * k * (2.0 * n - 3.0 * k - 1.0))
    return 1 - t * scale, 1 - c * scale


@pytest.mark.parametrize("k", [1, 5, 10])
@pytest.mark.parametrize("metric,sk_metric", [("l2", "euclidean"), ("cosine", "cosine")])
def test_trustworthiness_equals_scikit_learn_when_every_row_is_scored(k, metric, sk_metric):
    x, y = _data()
    t, _ = trustworthiness_continuity(x, y, k=k, sample=len(x), metric=metric)
    assert t == trustworthiness(x, y, n_neighbors=k, metric=sk_metric)
    t_big, _ = trustworthiness_continuity(x, y, k=k, sample=10**6, metric=metric)
    assert t_big == t


def test_continuity_is_the_mirror_and_matches_a_brute_force_reference():
    x, y = _data()
    _, c = trustworthiness_continuity(x, y, k=7, metric="l2", sample=len(x))
    assert c == pytest.approx(_brute(x, y, 7, range(len(x)))[1], abs=1e-12)
    assert c == pytest.approx(trustworthiness(y, x, n_neighbors=7), abs=1e-12)  # the roles swapped


def test_sampled_sums_match_the_reference_over_the_same_rows():
    x, y = _data()
    t, c = trustworthiness_continuity(x, y, k=5, metric="l2", sample=40, seed=9)
    rows = np.sort(np.random.default_rng(9).choice(len(x), size=40, replace=False))
    ref_t, ref_c = _brute(x, y, 5, rows)
    assert (t, c) == (pytest.approx(ref_t, abs=1e-12), pytest.approx(ref_c, abs=1e-12))
    assert trustworthiness_continuity(x, y, k=5, metric="l2", sample=40, seed=9) == (t, c)  # seeded


@pytest.mark.parametrize("metric,sk_metric", [("l2", "euclidean"), ("cosine", "cosine")])
def test_neighbours_within_the_sample_are_scikit_learns_figure_for_the_sampled_rows(metric, sk_metric):
    x, y = _data()
    t, c = trustworthiness_continuity(x, y, k=5, metric=metric, sample=40, seed=9, among="sample")
    rows = np.sort(np.random.default_rng(9).choice(len(x), size=40, replace=False))
    assert t == trustworthiness(x[rows], y[rows], n_neighbors=5, metric=sk_metric)
    if metric == "l2":
        assert c == pytest.approx(trustworthiness(y[rows], x[rows], n_neighbors=5), abs=1e-12)
    assert trustworthiness_continuity(x, y, k=5, metric=metric, sample=40, seed=9, among="sample") == (t, c)
    # a sample as large as the data is the whole data: the same figure as searching among all rows
    assert (trustworthiness_continuity(x, y, k=5, metric=metric, sample=len(x), among="sample")
            == trustworthiness_continuity(x, y, k=5, metric=metric, sample=len(x)))


def test_the_figure_within_a_sample_is_close_to_the_full_one_on_clustered_data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 32))
    x = (centres[rng.integers(0, 20, 4000)] + 0.9 * rng.normal(size=(4000, 32))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    centred = x - x.mean(0)
    y = (centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T).astype(np.float32)  # the PCA picture
    full_t, full_c = trustworthiness_continuity(x, y, k=10, sample=len(x))
    assert (round(full_t, 4), round(full_c, 4)) == (0.7409, 0.8974)
    for seed in (0, 1, 2):
        t, c = trustworthiness_continuity(x, y, k=10, sample=2000, seed=seed, among="sample")
        assert abs(t - full_t) < 0.01 and abs(c - full_c) < 0.01


def test_a_faithful_picture_scores_one_and_a_random_one_about_a_half():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(200, 2)).astype(np.float32)
    high = np.hstack([y, np.zeros((200, 3), np.float32)])  # the picture is the space itself
    assert trustworthiness_continuity(high, y, metric="l2") == (1.0, 1.0)
    t, c = trustworthiness_continuity(rng.normal(size=(400, 30)), rng.normal(size=(400, 2)), metric="l2")
    assert 0.4 < t < 0.6 and 0.4 < c < 0.6


def test_dot_metric_ranks_by_minus_the_dot_product():
    x, y = _data()
    x = x + 5  # large norms: dot and cosine rank differently
    t_dot, _ = trustworthiness_continuity(x, y, k=5, metric="dot", sample=len(x))
    dist = -(x.astype(np.float64) @ x.T.astype(np.float64))
    dist -= dist.min()  # shift to non-negative: ranks are unchanged
    np.fill_diagonal(dist, 0)
    assert t_dot == pytest.approx(trustworthiness(dist, y, n_neighbors=5, metric="precomputed"), abs=1e-12)


@pytest.mark.parametrize("change,error,match", [
    (dict(low=np.zeros((5, 2))), InputError, "120 vectors but 5 coordinates"),
    (dict(high=np.zeros((2, 3)), low=np.zeros((2, 2))), InputError, "at least 3 rows, got 2"),
    (dict(k=60), InputError, r"k must be an integer in \[1, 59\], got 60"),
    (dict(k=0), InputError, r"k must be an integer in \[1, 59\], got 0"),
    (dict(sample=0), InputError, r"sample must be a positive integer, got 0"),
    (dict(seed=-1), InputError, "seed must be a non-negative integer, got -1"),
    (dict(metric="manhattan"), InputError, "unknown metric 'manhattan'"),
    (dict(among="everything"), InputError, "unknown neighbour search 'everything'; choose one of all, sample"),
    (dict(sample=15, among="sample"), InputError,
     r"k must be an integer in \[1, 7\], got 10; k must be below sample / 2 = 7.5 when neighbours are searched"),
    (dict(high=[["x"] * 12] * 120), InputError, "high-dimensional vectors must be numeric arrays"),
    (dict(high=np.zeros(12)), InputError, "1 vectors but 120 coordinates"),  # one vector against the map
])
def test_bad_inputs_raise_input_errors(change, error, match):
    x, y = _data()
    args = dict(high=x, low=y, k=10, sample=5000, metric="cosine", seed=0) | change
    with pytest.raises(error, match=match):
        trustworthiness_continuity(**args)


def test_nan_rows_raise_non_finite_error():
    x, y = _data()
    x[4, 0] = np.nan
    with pytest.raises(NonFiniteError, match="NaN or infinity in 1 row"):
        trustworthiness_continuity(x, y)
    x, y = _data()
    y[2, 1] = np.inf
    with pytest.raises(NonFiniteError, match="low-dimensional coordinates contain NaN"):
        trustworthiness_continuity(x, y)
