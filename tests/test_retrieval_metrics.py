"""Retrieval metrics: exact values on hand-made rankings, agreement with scikit-learn's nDCG, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from embedlab.errors import InputError
from embedlab.evaluate import mrr, ndcg_at_k, recall_at_k, retrieval_scores


def test_recall_at_k_exact():
    got = [["a", "b", "c"], ["d", "e", "f"], ["g", "h"]]
    rel = [{"a", "c"}, "x", ["h"]]
    assert recall_at_k(got, rel, 1) == pytest.approx((0.5 + 0 + 0) / 3)
    assert recall_at_k(got, rel, 2) == pytest.approx((0.5 + 0 + 1) / 3)
    assert recall_at_k(got, rel, 3) == pytest.approx((1 + 0 + 1) / 3)
    assert recall_at_k(got, rel, 100) == recall_at_k(got, rel, 3)  # k beyond the list is the whole list


def test_mrr_exact_and_cutoff():
    got = [["a", "b"], ["c", "d"], ["e"], ["f", "g", "h", "i"]]
    rel = ["b", "c", "z", {"i", "h"}]
    assert mrr(got, rel) == pytest.approx((1 / 2 + 1 + 0 + 1 / 3) / 4)
    assert mrr(got, rel, k=1) == pytest.approx(1 / 4)
    assert mrr(got, rel, k=2) == pytest.approx((1 / 2 + 1) / 4)


def test_ndcg_binary_exact():
    # relevant b, c at ranks 2 and 3: DCG = 1/log2(3) + 1/log2(4); ideal = 1 + 1/log2(3)
    want = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg_at_k([["a", "b", "c"]], [{"b", "c"}], 3) == pytest.approx(want, abs=1e-12)
    assert ndcg_at_k([["b", "c", "a"]], [{"b", "c"}], 3) == pytest.approx(1.0)
    # at k=1 the ideal list holds one relevant item only
    assert ndcg_at_k([["a", "b"]], [{"b", "c"}], 1) == 0.0
    assert ndcg_at_k([["b", "a"]], [{"b", "c"}], 1) == 1.0
    # a repeated id earns its gain once
    assert ndcg_at_k([["b", "b"]], [{"b", "c"}], 2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ndcg_graded_matches_sklearn():
    from sklearn.metrics import ndcg_score

    docs = ["a", "b", "c", "d", "e"]
    gains = {"a": 3.0, "b": 1.0, "d": 2.0}
    ranking = ["b", "e", "a", "c", "d"]
    y_true = np.array([[gains.get(d, 0.0) for d in docs]])
    y_score = np.array([[len(docs) - ranking.index(d) for d in docs]], dtype=float)
    for k in (1, 2, 3, 5):
        assert ndcg_at_k([ranking], [gains], k) == pytest.approx(ndcg_score(y_true, y_score, k=k), abs=1e-12)
    want = (1 + 3 / math.log2(4)) / (3 + 2 / math.log2(3) + 1 / math.log2(4))
    assert ndcg_at_k([ranking], [gains], 3) == pytest.approx(want, abs=1e-12)


def test_retrieval_scores_bundle_and_integer_ids():
    got = [[3, 1, 2], [0, 2, 1]]
    rel = [1, 0]
    out = retrieval_scores(got, rel, ks=(1, 2))
    assert out == {"recall@1": 0.5, "recall@2": 1.0, "mrr": 0.75,
                   "ndcg@1": 0.5, "ndcg@2": pytest.approx((1 / math.log2(3) + 1) / 2)}


def test_bad_input_messages():
    with pytest.raises(InputError, match="2 result lists for 1 queries"):
        recall_at_k([["a"], ["b"]], ["a"], 1)
    with pytest.raises(InputError, match="k must be a positive integer"):
        recall_at_k([["a"]], ["a"], 0)
    with pytest.raises(InputError, match="query 1 has no relevant items"):
        mrr([["a"], ["b"]], ["a", set()])
    with pytest.raises(InputError, match="no queries"):
        ndcg_at_k([], [], 3)
    with pytest.raises(InputError, match="results of query 0 are a string"):
        mrr(["abc"], ["a"])
    with pytest.raises(InputError, match="gains must be finite and >= 0"):
        ndcg_at_k([["a"]], [{"a": -1}], 1)
