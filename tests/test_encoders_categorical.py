"""Label codes and one-hot vectors (and what they cannot express), and learned entity embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.encoders.categorical import LabelTransformer, OneHotTransformer
from embedlab.errors import InputError, UnknownKeyError
from embedlab.train.entity import EntityEmbedding, basket_pairs

GENRES = ["sci-fi", "action", "drama", "comedy", "action", "romance"]


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_label_codes_invent_an_order():
    enc = LabelTransformer().fit(GENRES)
    assert list(enc.classes_) == ["action", "comedy", "drama", "romance", "sci-fi"]
    codes = dict(zip(enc.classes_, enc.transform(list(enc.classes_)), strict=True))
    assert codes == {"action": 0, "comedy": 1, "drama": 2, "romance": 3, "sci-fi": 4}
    # The alphabet, not the films, decides which genres are "close":
    assert abs(codes["action"] - codes["comedy"]) == 1
    assert abs(codes["action"] - codes["sci-fi"]) == 4
    assert abs(codes["drama"] - codes["romance"]) == 1
    assert enc.fit_transform(GENRES).tolist() == [4, 0, 2, 1, 0, 3]
    assert enc.inverse_transform([4, 0]) == ["sci-fi", "action"]
    with pytest.raises(UnknownKeyError, match="unknown category 'horror'; known categories: 'action'"):
        enc.transform(["horror"])
    with pytest.raises(InputError, match="not fitted yet"):
        LabelTransformer().transform(["action"])
    with pytest.raises(InputError, match="expects a list"):
        LabelTransformer().fit("action")


def test_one_hot_vectors_are_orthogonal():
    enc = OneHotTransformer().fit(GENRES)
    rows = enc.transform(["action", "sci-fi", "comedy", "action"])
    assert rows.dtype == np.float32 and rows.shape == (4, 5)
    assert rows.sum(axis=1).tolist() == [1.0, 1.0, 1.0, 1.0]
    assert _cos(rows[0], rows[1]) == 0.0  # action vs sci-fi: exactly orthogonal
    assert _cos(rows[0], rows[2]) == 0.0  # ... and exactly as unrelated as action vs comedy
    assert _cos(rows[0], rows[3]) == 1.0
    gram = rows @ rows.T
    assert gram.tolist() == [[1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]]
    assert list(enc.get_feature_names_out()) == ["action", "comedy", "drama", "romance", "sci-fi"]


def test_multi_hot_unknowns_and_sklearn_protocol():
    films = [["action", "sci-fi"], ["drama", "romance"], ("comedy",)]
    enc = OneHotTransformer().fit(films)
    rows = enc.transform(films)
    assert rows.tolist() == [[1, 0, 0, 0, 1], [0, 0, 1, 1, 0], [0, 1, 0, 0, 0]]
    assert _cos(rows[0], rows[1]) == 0.0
    assert enc.inverse_transform(rows) == [["action", "sci-fi"], ["drama", "romance"], ["comedy"]]
    with pytest.raises(UnknownKeyError, match="unknown category 'horror'"):
        enc.transform([["horror", "action"]])
    lenient = OneHotTransformer(handle_unknown="ignore").fit(films)
    assert lenient.transform([["horror", "action"], "western"]).tolist() == [[1, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
    with pytest.raises(InputError, match="handle_unknown must be"):
        OneHotTransformer(handle_unknown="skip").fit(films)
    sklearn = pytest.importorskip("sklearn.base")
    clone = sklearn.clone(lenient)
    assert clone.get_params() == {"handle_unknown": "ignore"} and not hasattr(clone, "classes_")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(OneHotTransformer(), FunctionTransformer(lambda x: 2 * x))
    assert pipe.fit_transform(["b", "a"]).tolist() == [[0, 2], [2, 0]]


def _two_cluster_baskets(seed: int = 0, n: int = 400) -> tuple[list[list[str]], list[str], list[str]]:
    rng = np.random.default_rng(seed)
    scifi = [f"scifi{i}" for i in range(8)]
    romance = [f"romance{i}" for i in range(8)]
    baskets = []
    for _ in range(n):
        group = scifi if rng.random() < 0.5 else romance
        basket = list(rng.choice(group, size=3, replace=False))
        if rng.random() < 0.1:  # a little cross-over taste
            other = romance if group is scifi else scifi
            basket.append(str(rng.choice(other)))
        baskets.append(basket)
    return baskets, scifi, romance


def test_entity_embeddings_put_co_rated_items_together():
    baskets, scifi, romance = _two_cluster_baskets()
    model = EntityEmbedding(dim=8, seed=0)
    vecs = model.fit(baskets).wv
    assert vecs.matrix.shape == (16, 8) and vecs.matrix.dtype == np.float32
    assert model.items_ == sorted(scifi + romance)
    for group in (scifi, romance):
        for item in group:
            neighbours = [k for k, _ in vecs.most_similar(item, topn=5)]
            assert all(n in group for n in neighbours), (item, neighbours)
    within = np.mean([vecs.similarity(a, b) for a in scifi for b in scifi if a != b])
    across = np.mean([vecs.similarity(a, b) for a in scifi for b in romance])
    assert within > 0.5 and across < 0.1
    # one-hot vectors cannot tell the two clusters apart: every pair of distinct items has cosine 0
    onehot = OneHotTransformer().fit(model.items_).transform(model.items_)
    assert np.count_nonzero(onehot @ onehot.T - np.eye(16)) == 0


def test_entity_embeddings_pairs_equal_baskets_and_are_deterministic():
    baskets, _, _ = _two_cluster_baskets(seed=1, n=120)
    a = EntityEmbedding(dim=6, seed=3).fit(baskets).wv
    b = EntityEmbedding(dim=6, seed=3).fit(basket_pairs(baskets)).wv
    assert a.keys == b.keys
    np.testing.assert_array_equal(a.matrix, b.matrix)
    np.testing.assert_array_equal(a.matrix, EntityEmbedding(dim=6, seed=3).fit(baskets).wv.matrix)


def test_randomized_svd_path_agrees_with_dense(monkeypatch):
    import embedlab.train.entity as entity

    baskets, scifi, romance = _two_cluster_baskets(seed=2, n=300)
    dense = EntityEmbedding(dim=4, seed=0).fit(baskets).wv
    monkeypatch.setattr(entity, "DENSE_LIMIT", 0)
    model = EntityEmbedding(dim=4, seed=0)
    approx = model.fit(baskets).wv
    np.testing.assert_allclose(np.abs(approx.matrix), np.abs(dense.matrix), atol=1e-3)
    assert approx.most_similar("scifi0", topn=1)[0][0] in scifi


def test_entity_embedding_errors():
    with pytest.raises(InputError, match="no interactions"):
        EntityEmbedding().fit([])
    with pytest.raises(InputError, match="dim must be a positive int"):
        EntityEmbedding(dim=0).fit([["a", "b"]])
    with pytest.raises(InputError, match="only 1 item"):
        EntityEmbedding().fit([["a"], ["a"]])
    with pytest.raises(InputError, match="no two items ever occur together"):
        EntityEmbedding().fit([["a"], ["b"]])
    with pytest.raises(InputError, match=r"interaction 1 is .*expected a \(user, item\) pair"):
        EntityEmbedding(kind="pairs").fit([("u", "a"), ("u", "b", "c")])
    with pytest.raises(InputError, match="basket 0 is str"):
        EntityEmbedding().fit(["abc"])
