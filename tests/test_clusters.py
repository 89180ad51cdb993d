"""Cluster labels and c-TF-IDF names (analysis.clusters): Korean morphemes and English words, stop words,
HDBSCAN noise, and every bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embedlab.analysis.clusters import cluster_items
from embedlab.errors import InputError, NonFiniteError

TEXTS = ["사과는 달콤한 과일입니다", "바나나는 노란 과일입니다", "사과와 바나나를 샀어요",
         "The cat chased the dog", "A dog and a cat play", "My cat sleeps",
         "자동차가 도로를 달립니다", "버스와 자동차", "기차와 버스를 탑니다"]


def _vectors(seed=0, per=3, d=16):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, d)) * 5
    return np.vstack([centres[i // per] + rng.normal(size=d) for i in range(3 * per)]).astype(np.float32)


def test_three_groups_get_their_labels_and_exact_c_tf_idf_names():
    c = cluster_items(_vectors(), TEXTS, n_clusters=3)
    assert c.labels.dtype == np.int32 and c.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert c.sizes == [3, 3, 3]
    assert c.names == ["과일 · 바나나 · 사과", "cat · dog · chased", "버스 · 자동차 · 기차"]
    # every cluster has 8 tokens (A = 8): weight = count / 8 * ln(1 + 8 / count over all clusters)
    w = lambda count, total: count / 8 * math.log(1 + 8 / total)  # noqa: E731
    assert c.terms[1] == [("cat", pytest.approx(w(3, 3))), ("dog", pytest.approx(w(2, 2))),
                          ("chased", pytest.approx(w(1, 1)))]
    assert c.terms[0][0] == ("과일", pytest.approx(w(2, 2)))  # Kiwi: 과일입니다 -> 과일, particles dropped


def test_user_stop_words_are_removed_case_blind():
    c = cluster_items(_vectors(), TEXTS, n_clusters=3, stop_words=["과일", "CAT"], top_n=2)
    assert c.names == ["바나나 · 사과", "dog · chased", "버스 · 자동차"]
    assert all(t not in ("과일", "cat") for ts in c.terms for t, _ in ts)


def test_clusters_are_numbered_by_size_and_textless_items_add_no_words():
    x = _vectors(per=4)[[0, 4, 5, 6, 8, 9, 10, 11]]  # one item of group 0, three of 1, four of 2
    texts = ["apple", "dog", None, "dog cat", "car", "car bus", "bus", None]
    c = cluster_items(x, texts, n_clusters=3, top_n=1, seed=4)
    assert c.labels.tolist() == [2, 1, 1, 1, 0, 0, 0, 0] and c.sizes == [4, 3, 1]
    assert c.names == ["bus", "dog", "apple"]
    assert cluster_items(x[:2], [None, None], n_clusters=2).names == ["cluster 1", "cluster 2"]


def test_hdbscan_marks_an_outlier_as_noise():
    rng = np.random.default_rng(1)
    a, b = np.eye(16)[0], np.eye(16)[0] * 0.5 + np.eye(16)[1] * 0.866  # two tight groups 60 degrees apart
    x = np.vstack([a + 0.05 * rng.normal(size=(10, 16)), b + 0.05 * rng.normal(size=(10, 16)), -a - b])
    texts = ["red apple"] * 10 + ["fast car"] * 10 + ["lonely stone"]
    c = cluster_items(x.astype(np.float32), texts, algorithm="hdbscan", min_cluster_size=5)
    assert c.labels.tolist() == [0] * 10 + [1] * 10 + [-1]
    assert c.sizes == [10, 10] and c.names == ["apple · red", "car · fast"]  # equal weights: alphabetical


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(algorithm="dbscan"), InputError, "unknown clustering algorithm 'dbscan'; choose one of kmeans, hdbscan"),
    (dict(texts=TEXTS[:4]), InputError, r"4 texts for 9 vectors; give one text \(or None\) per vector"),
    (dict(texts=TEXTS[:8] + [3]), InputError, "text at position 8 is int; give a string or None"),
    (dict(n_clusters=10), InputError, r"n_clusters must be an integer in \[1, 9\], got 10"),
    (dict(n_clusters=0), InputError, r"n_clusters must be an integer in \[1, 9\], got 0"),
    (dict(min_cluster_size=3), InputError, "min_cluster_size is an HDBSCAN setting; k-means takes n_clusters"),
    (dict(algorithm="hdbscan", min_cluster_size=1), InputError, r"min_cluster_size must be an integer in \[2, 9\]"),
    (dict(stop_words=["ok", ""]), InputError, "stop words must be non-empty strings, got ''"),
    (dict(top_n=0), InputError, "top_n must be a positive integer, got 0"),
    (dict(seed=-2), InputError, "seed must be a non-negative integer, got -2"),
    (dict(vectors=np.zeros((0, 4)), texts=[]), InputError, "no items to cluster"),
    (dict(vectors=np.zeros(9)), InputError, r"vectors must be a 2-D \(n, d\) array, got shape \(9,\)"),
])
def test_bad_inputs(kwargs, error, match):
    args = dict(vectors=_vectors(), texts=TEXTS, n_clusters=3) | kwargs
    with pytest.raises(error, match=match):
        cluster_items(**args)


def test_nan_rows_are_named_and_zero_rows_allowed():
    x = _vectors()
    x[[2, 5]] = np.nan
    with pytest.raises(NonFiniteError, match=r"NaN or infinity in 2 row\(s\) \(rows 2, 5\)"):
        cluster_items(x, TEXTS, n_clusters=3)
    x = _vectors()
    x[0] = 0
    assert cluster_items(x, TEXTS, n_clusters=3).labels.shape == (9,)
