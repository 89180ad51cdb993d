"""Recommendation: the evaluation protocol, ALS, content-based, hybrid, and the CLI on MovieLens 100k."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import sparse

from embedlab.apps import recommend as R
from embedlab.errors import InputError, UnknownKeyError
from embedlab.train.factorization import ImplicitALS


def test_ranking_metrics_exact():
    rec = np.array([[1, 2, 3], [4, 5, 6]])
    m = R.ranking_metrics(rec, [np.array([2, 9]), np.array([7])], k=3)
    # user 1: one hit of 2 at rank 2 -> recall 0.5, ndcg (1/log2 3) / (1 + 1/log2 3); user 2: nothing
    ndcg1 = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert m["recall@3"] == pytest.approx(0.25)
    assert m["ndcg@3"] == pytest.approx(ndcg1 / 2)
    assert m["users"] == 2


def test_top_k_skips_known_items_and_breaks_ties_by_index():
    known = sparse.csr_matrix(np.array([[1, 0, 0, 0, 0]], dtype=np.float32))
    top = R.top_k(np.array([[9.0, 1.0, 5.0, 5.0, 0.0]]), known, np.array([0]), 3)
    assert top.tolist() == [[2, 3, 1]]


@pytest.fixture(scope="module")
def ml():
    data = R.load_movielens()
    return data, R.temporal_split(data)


def test_movielens_and_split_follow_the_protocol(ml):
    data, split = ml
    assert (len(data.users), len(data.items), len(data.user)) == (943, 1682, 100_000)
    assert data.item_text("1") == "Toy Story (1995). Genres: Animation, Children's, Comedy"
    assert len(split.test) == 942                       # one user has no rating >= 4
    for u in (0, 10, 500):
        rows = np.flatnonzero((data.user == u) & (data.rating >= 4))
        test = split.test[u]
        assert len(test) == max(1, int(len(rows) * 0.2))
        latest = rows[np.lexsort((data.item[rows], data.timestamp[rows]))][-len(test):]
        assert sorted(data.item[latest]) == test.tolist()
        assert not set(test) & set(split.known[u].indices)     # held-out items are not "known"
        assert set(split.train[u].indices) <= set(split.known[u].indices)
    with pytest.raises(InputError, match="test_fraction"):
        R.temporal_split(data, test_fraction=1.5)


def test_training_signal_positives_or_all_ratings(ml):
    data, split = ml
    assert split.interactions("positives") is split.train and split.interactions("ratings") is split.known
    assert split.known.nnz > split.train.nnz
    assert R.ALSRecommender(signal="ratings").name == "als[ratings]"
    with pytest.raises(InputError, match="unknown signal 'clicks'; choose one of positives, ratings"):
        split.interactions("clicks")
    with pytest.raises(InputError, match="unknown signal 'views'; choose one of positives, ratings"):
        R.evaluate_all(data, signals=["positives", "views"])  # refused before any training


def test_als_recovers_blocks_and_is_seeded():
    rng = np.random.default_rng(0)
    m = np.zeros((40, 20), dtype=np.float32)
    m[:20, :10] = rng.random((20, 10)) < 0.6
    m[20:, 10:] = rng.random((20, 10)) < 0.6
    a = ImplicitALS(factors=4, regularization=0.1, alpha=5, iterations=10, seed=1).fit(sparse.csr_matrix(m))
    b = ImplicitALS(factors=4, regularization=0.1, alpha=5, iterations=10, seed=1).fit(sparse.csr_matrix(m))
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    scores = a.user_factors_ @ a.item_factors_.T
    assert scores[:20, :10].mean() > scores[:20, 10:].mean() + 0.3
    assert scores[20:, 10:].mean() > scores[20:, :10].mean() + 0.3
    new_user = a.recompute_user([0, 1, 2, 3])
    assert (new_user @ a.item_factors_.T)[:10].mean() > (new_user @ a.item_factors_.T)[10:].mean()
    with pytest.raises(InputError, match="no interactions"):
        ImplicitALS().fit(sparse.csr_matrix((3, 3)))


def test_cg_solver_reaches_the_exact_solution():
    """k CG steps solve a k-dimensional positive definite system exactly (up to rounding): same as Cholesky."""
    from embedlab.train.factorization import _cg_side, _gram, _solve_side

    rng = np.random.default_rng(3)
    ui = sparse.csr_matrix((rng.random((30, 25)) < 0.3) * rng.integers(1, 6, (30, 25)), dtype=np.float64)
    items = rng.standard_normal((25, 6)).astype(np.float32)
    conf = 1.0 + 4.0 * ui.data
    exact = np.zeros((30, 6), np.float32)
    _solve_side(ui.indptr, ui.indices, conf, items, _gram(items), 0.5, exact)
    cg = (rng.standard_normal((30, 6)) * 0.01).astype(np.float32)  # warm start from anywhere
    _cg_side(ui.indptr, ui.indices, conf, items, _gram(items), 0.5, cg, 6)
    np.testing.assert_allclose(cg, exact, rtol=1e-3, atol=1e-4)
    m = (ui.toarray() > 0).astype(np.float64)

    def objective(solver, steps):  # Hu et al.'s weighted loss after 15 alternations
        f = ImplicitALS(factors=6, regularization=0.5, alpha=4, iterations=15, seed=1, solver=solver,
                        cg_steps=steps).fit(sparse.csr_matrix(m))
        x, y = f.user_factors_.astype(np.float64), f.item_factors_.astype(np.float64)
        return float(((1 + 4 * m) * (m - x @ y.T) ** 2).sum() + 0.5 * ((x ** 2).sum() + (y ** 2).sum()))

    exact_loss = objective("cholesky", 1)
    assert objective("cg", 6) == pytest.approx(exact_loss, rel=1e-4)
    assert exact_loss <= objective("cg", 3) < 1.02 * exact_loss  # 3 warm-started steps: within 2 %
    with pytest.raises(InputError, match="unknown solver 'lu'; use one of cg, cholesky"):
        ImplicitALS(solver="lu").fit(sparse.csr_matrix(m))
    with pytest.raises(InputError, match="cg_steps must be >= 1"):
        ImplicitALS(cg_steps=0).fit(sparse.csr_matrix(m))


def test_methods_on_movielens(ml, use_encoder):
    data, split = ml
    pop = R.evaluate(R.Popularity(), split)
    assert pop["recall@10"] == pytest.approx(0.0695586, abs=1e-6) and pop["users"] == 942
    als = R.ALSRecommender(factors=32, regularization=1.0, alpha=2.0, iterations=10)
    res = R.evaluate(als, split)
    assert res["recall@10"] > 0.13 and res["ndcg@10"] > 0.15 and res["recall@10"] > 1.8 * pop["recall@10"]
    content = R.ContentRecommender.from_ratings(data, use_encoder)
    hybrid = R.HybridRecommender(R.ALSRecommender(factors=32, regularization=1.0, alpha=2.0, iterations=10),
                                 content, weight=0.2)
    hyb = R.evaluate(hybrid, split)
    assert hyb["recall@10"] > pop["recall@10"]
    recs = R.recommend_for(als, split, data, "1", k=5)
    assert len(recs) == 5 and not {data.items.index(i) for i, _ in recs} & set(split.known[0].indices)
    sims = R.similar_items(als.item_vectors, data, "Toy Story", k=5)
    assert len(sims) == 5 and "1" not in [i for i, _ in sims]
    why = R.explain(als.item_vectors, split, data, "1", recs[0][0])
    assert why and all(data.items.index(i) in split.train[0].indices for i, _ in why)
    with pytest.raises(UnknownKeyError, match="unknown user 'nobody'"):
        R.recommend_for(als, split, data, "nobody")
    with pytest.raises(UnknownKeyError, match="unknown item 'No Such Movie'"):
        R.similar_items(als.item_vectors, data, "No Such Movie")


@pytest.mark.slow
def test_cli_evaluate_json_shape_and_reference(capsys):
    from embedlab.cli import main

    with pytest.raises(SystemExit) as e:
        main(["recommend", "evaluate", "--dataset", "ml-100k", "--json"])
    assert e.value.code == 0
    rows = json.loads(capsys.readouterr().out)
    methods = {r["method"]: r for r in rows}
    assert {"popularity", "als", "als[ratings]", "content"} <= set(methods)
    assert all({"method", "recall@10", "ndcg@10"} <= set(r) for r in rows)
    assert methods["als[ratings]"]["recall@10"] > 0.18 > methods["als"]["recall@10"] > 0.14
    best_ours = max(r["recall@10"] for m, r in methods.items() if not m.startswith("implicit"))
    assert {"implicit-als", "implicit-als[ratings]"} <= set(methods)  # the bench extra is part of [all]
    for ref in ("implicit-als", "implicit-als[ratings]"):
        assert best_ours >= methods[ref]["recall@10"] - 0.005
    with pytest.raises(SystemExit) as e:
        main(["recommend", "evaluate", "--dataset", "ml-1m"])
    assert e.value.code == 2


def test_cli_user_and_similar_json(capsys):
    from embedlab.cli import main

    with pytest.raises(SystemExit) as e:
        main(["recommend", "user", "1", "-k", "5", "--json"])
    assert e.value.code == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 5 and all({"item", "title", "score", "because"} <= set(r) for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert all(r["because"] for r in rows)  # every pick is explained by movies user 1 liked
    with pytest.raises(SystemExit) as e:
        main(["recommend", "similar", "Toy Story (1995)", "-k", "3", "--json"])
    assert e.value.code == 0
    sims = json.loads(capsys.readouterr().out)
    assert len(sims) == 3 and "1" not in [r["item"] for r in sims]
    with pytest.raises(SystemExit) as e:
        main(["recommend", "user", "nobody", "--json"])
    assert e.value.code == 2 and "unknown user 'nobody'" in capsys.readouterr().err
