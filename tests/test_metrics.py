"""embedlab.metrics: exact values, batch shapes, zero vectors, bad input, higher-is-better scores."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab import metrics
from embedlab.errors import DimensionError, InputError, NonFiniteError


def test_exact_values_on_small_vectors():
    a, b = [1.0, 2.0, 2.0], [2.0, 0.0, 1.0]
    assert metrics.dot(a, b) == 4.0
    assert metrics.cosine(a, b) == pytest.approx(4.0 / (3.0 * np.sqrt(5.0)), abs=1e-7)
    assert metrics.euclidean(a, b) == pytest.approx(np.sqrt(6.0), abs=1e-6)  # sqrt(1 + 4 + 1)
    assert metrics.euclidean([0, 0], [3, 4]) == 5.0
    assert metrics.cosine([1, 0], [-1, 0]) == -1.0
    assert metrics.cosine([3, 0], [5, 0]) == pytest.approx(1.0, abs=1e-7)
    assert isinstance(metrics.cosine(a, b), float)


def test_batch_shapes_and_values():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 6)).astype(np.float32)
    b = rng.standard_normal((7, 6)).astype(np.float32)
    for fn in (metrics.cosine, metrics.dot, metrics.euclidean):
        out = fn(a, b)
        assert out.shape == (4, 7) and out.dtype == np.float32
    np.testing.assert_allclose(metrics.dot(a, b), a.astype(np.float64) @ b.T.astype(np.float64), rtol=1e-5)
    ref = np.linalg.norm(a[:, None, :].astype(np.float64) - b[None, :, :], axis=2)
    np.testing.assert_allclose(metrics.euclidean(a, b), ref, rtol=1e-5)
    an = a / np.linalg.norm(a, axis=1, keepdims=True)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    np.testing.assert_allclose(metrics.cosine(a, b), an @ bn.T, atol=1e-6)
    assert metrics.cosine(a[0], b).shape == (1, 7)  # one vector against a batch stays 2-D


def test_euclidean_precise_far_from_origin():
    """|a|²+|b|²-2ab loses small distances between big vectors in float32; we must not."""
    assert metrics.euclidean([1e4, 0.0], [1e4 + 1.0, 0.0]) == 1.0
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((2500, 40)) + 300).astype(np.float32)
    b = (rng.standard_normal((300, 40)) + 300).astype(np.float32)  # large: the matrix-product path
    ref = np.sqrt(((a[:, None, :].astype(np.float64) - b[None]) ** 2).sum(-1))
    np.testing.assert_allclose(metrics.euclidean(a, b), ref, atol=1e-3)


def test_zero_vector_has_cosine_zero():
    assert metrics.cosine([0.0, 0.0], [1.0, 2.0]) == 0.0
    assert metrics.cosine([0.0, 0.0], [0.0, 0.0]) == 0.0
    n = metrics.normalize(np.array([[0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(n, np.array([[0.0, 0.0], [0.6, 0.8]], dtype=np.float32))
    assert not np.isnan(n).any()


def test_l2_scores_are_negated_distances():
    a, b = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [1.0, 0.0]])
    np.testing.assert_array_equal(metrics.scores(a, b, "l2"), [[-5.0, -1.0]])
    s = metrics.scores(a, b, "l2")
    assert s[0, 1] > s[0, 0]  # the nearer point scores higher
    np.testing.assert_allclose(metrics.scores(a + 1, b, "dot"), [[7.0, 1.0]])
    np.testing.assert_allclose(metrics.scores([[1.0, 0.0]], b, "cosine"), [[0.6, 1.0]], atol=1e-7)


def test_nonfinite_and_dimension_errors():
    with pytest.raises(NonFiniteError, match=r"vectors a contain NaN or infinity in 1 row\(s\)"):
        metrics.cosine([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(NonFiniteError, match="vectors b contain NaN or infinity"):
        metrics.dot([1.0, 2.0], [np.inf, 2.0])
    with pytest.raises(NonFiniteError, match="in 2 row"):
        metrics.as_matrix([[np.nan, 1], [1, -np.inf], [1, 1]])
    with pytest.raises(DimensionError, match="cannot compare vectors of dimension 2 and 3"):
        metrics.euclidean([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(DimensionError, match="have dimension 3, expected 4"):
        metrics.as_matrix(np.ones((2, 3)), dim=4)
    with pytest.raises(DimensionError, match="must be a vector or a 2-D array"):
        metrics.as_matrix(np.ones((2, 3, 4)))
    with pytest.raises(InputError, match="must be numeric"):
        metrics.as_matrix([["a", "b"]])
    with pytest.raises(InputError, match="unknown metric 'manhattan'; choose one of cosine, dot, l2"):
        metrics.scores([1.0], [1.0], "manhattan")


def test_as_matrix_and_prepare_are_float32_without_needless_copies():
    x = np.ones((3, 4), dtype=np.float32)
    assert metrics.as_matrix(x) is x
    assert metrics.as_matrix(x, copy=True) is not x
    assert metrics.as_matrix([1, 2, 3]).shape == (1, 3)
    f = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    assert metrics.as_matrix(f).flags.c_contiguous
    assert metrics.prepare(np.array([[3.0, 4.0]]), "l2").dtype == np.float32
    np.testing.assert_allclose(metrics.prepare(np.array([[3.0, 4.0]]), "cosine"), [[0.6, 0.8]])
    y = np.array([[3.0, 4.0]], dtype=np.float32)
    assert metrics.normalize(y, inplace=True) is y and y[0, 0] == pytest.approx(0.6)
    np.testing.assert_allclose(metrics.norms(np.array([[3, 4], [0, 0]], dtype=np.float32)), [5.0, 0.0])
