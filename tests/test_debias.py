"""INLP and the adversarial projection (R-LACE): exact behaviour on synthetic data, the issue's targets on GloVe
(WEAT cross-checked with WEFE), scikit-learn conformance and error messages."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from embedlab.analysis import bias
from embedlab.analysis.debias import (
    INLP,
    AdversarialProjection,
    _fantope,
    attribute_accuracy,
    gendered_words,
)
from embedlab.errors import DimensionError, InputError
from embedlab.vectors import Vectors


def _one_direction(n: int = 600, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels written only along e0 (+-2), isotropic noise elsewhere: the attribute lives in one direction."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, d))
    x[:, 0] = np.where(y == 1, 2.0, -2.0) + 0.3 * rng.normal(size=n)
    return x.astype(np.float32), y


def _three_directions(n: int = 900, d: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three classes whose means differ along e0, e1 and e2: one linear direction is not enough."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, d))
    means = np.zeros((3, d))
    means[0, 0], means[1, 1], means[2, 2] = 3.0, 3.0, 3.0
    return (x + means[y]).astype(np.float32), y


@pytest.mark.parametrize("est", [INLP(normalize=False, C=1.0), AdversarialProjection(rank=1, normalize=False)])
def test_a_single_direction_attribute_loses_exactly_that_direction(est):
    x, y = _one_direction()
    est.fit(x, y)
    assert est.accuracy_before_ == 1.0 if isinstance(est, AdversarialProjection) else est.accuracy_history_[0] == 1.0
    assert est.components_.shape[1] == 8 and est.components_.dtype == np.float32
    assert abs(est.components_[0, 0]) > 0.98                   # the removed direction is e0 (up to sign)
    p = est.projection_
    np.testing.assert_allclose(p, p.T, atol=1e-6)              # an orthogonal projection: symmetric, idempotent
    np.testing.assert_allclose(p @ p, p, atol=1e-5)
    assert est.accuracy_ < 0.6                                 # a fresh classifier is back at chance
    z = est.transform(x)
    assert z.dtype == np.float32 and z.shape == x.shape
    np.testing.assert_allclose(z, x @ p, atol=1e-5)
    assert np.abs(z[:, 0]).mean() < 0.5 < np.abs(x[:, 0]).mean()   # what was along e0 is (nearly) gone


def test_inlp_removes_several_directions_until_chance():
    x, y = _three_directions()
    est = INLP(normalize=False, C=0.01, tol=0.05).fit(x, y)
    assert est.accuracy_history_[0] > 0.9 and est.accuracy_history_[1] < 0.5   # one iteration removes the most
    assert est.accuracy_ <= est.chance_ + 0.05 and est.accuracy_history_[-1] <= est.chance_ + 0.05
    k = len(est.components_)
    assert k == 3 * (est.n_iter_ - 1)                          # one-vs-rest: three rows per iteration
    np.testing.assert_allclose(est.components_ @ est.components_.T, np.eye(k), atol=1e-5)
    assert np.linalg.norm(est.components_[:3, :3], axis=1).min() > 0.95   # the first three span e0, e1, e2
    # the same seed gives the same projection
    again = INLP(normalize=False, C=0.01, tol=0.05).fit(x, y)
    np.testing.assert_array_equal(again.projection_, est.projection_)


def test_adversarial_projection_game_and_reproducibility():
    x, y = _three_directions()
    est = AdversarialProjection(rank=2, epochs=60, normalize=False).fit(x, y)
    assert est.components_.shape == (2, 10)
    assert est.loss_history_[0] < 0.5                                   # the classifier's loss is driven up ...
    assert est.loss_history_[-1] == pytest.approx(np.log(3), abs=0.01)  # ... to chance: log(#classes)
    assert est.accuracy_before_ > 0.9 and est.accuracy_ < 1 / 3 + 0.05
    assert np.linalg.norm(est.components_[:, :3], axis=1).min() > 0.99  # inside span(e0, e1, e2)
    again = AdversarialProjection(rank=2, epochs=60, normalize=False).fit(x, y)
    np.testing.assert_array_equal(again.projection_, est.projection_)


def test_fantope_projection():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(6, 6))
    p = _fantope(a + a.T, 2)
    vals = np.linalg.eigvalsh(p)
    assert np.trace(p) == pytest.approx(2.0, abs=1e-9)
    assert vals.min() >= -1e-12 and vals.max() <= 1 + 1e-12
    q = np.diag([1.0, 1.0, 0, 0, 0, 0])                     # already a rank-2 projection: a fixed point
    np.testing.assert_allclose(_fantope(q, 2), q, atol=1e-9)


def test_scikit_learn_conformance():
    est = AdversarialProjection(rank=1, epochs=40, seed=3)
    assert est.get_params()["rank"] == 1 and est.get_params()["seed"] == 3
    assert clone(INLP(C=0.5)).get_params()["C"] == 0.5
    x, y = _one_direction()
    pipe = make_pipeline(StandardScaler(), INLP(normalize=False, C=1.0)).fit(x, y)
    assert pipe.transform(x).shape == x.shape
    assert attribute_accuracy(pipe.transform(x), y, normalize=False) < 0.6
    assert attribute_accuracy(x, y, normalize=False) == 1.0


def _labelled_toy() -> Vectors:
    """"he" = e0, "she" = -e0, and 40 words w0..w39 whose e0 coordinate t rises with i (cos to he-she rises)."""
    words = ["he", "she"] + [f"w{i}" for i in range(40)]
    m = np.zeros((42, 6), dtype=np.float32)
    m[0, 0], m[1, 0] = 1.0, -1.0
    m[2:, 0] = np.linspace(-2.0, 2.0, 40)
    m[2:, 1] = 1.0
    return Vectors(words, m)


def test_gendered_words_follows_the_paper():
    v = _labelled_toy()
    words, labels = gendered_words(v, n_words=5, max_vocab=42)
    assert labels.tolist() == [1] * 5 + [0] * 5
    assert words == ["he", "w39", "w38", "w37", "w36", "she", "w0", "w1", "w2", "w3"]   # most extreme first
    words3, labels3 = gendered_words(v, n_words=5, neutral=True)
    assert labels3.tolist() == [1] * 5 + [0] * 5 + [2] * 5
    assert sorted(words3[10:]) == ["w17", "w18", "w19", "w20", "w21"]                  # t closest to 0
    assert gendered_words(v, n_words=3, max_vocab=10)[0][:4] == ["he", "w7", "w6", "she"]   # only the first 10 rows


def test_errors():
    v = _labelled_toy()
    x, y = _one_direction()
    with pytest.raises(InputError, match="not fitted"):  # NotFittedError: scikit-learn's and an InputError
        INLP().transform(x)
    with pytest.raises(InputError, match="needs the attribute labels y"):
        INLP().fit(x)
    with pytest.raises(InputError, match="pass y only with a matrix"):
        INLP().fit(v, np.zeros(42, dtype=int))
    with pytest.raises(InputError, match="one class only"):
        INLP().fit(x, np.zeros(len(x), dtype=int))
    with pytest.raises(InputError, match="one label per row: 600 rows"):
        INLP().fit(x, y[:10])
    with pytest.raises(InputError, match="Unknown label type: continuous"):  # class labels of any kind, not values
        INLP().fit(x, y + 0.5 * (x[:, 0] > 0))
    with pytest.raises(InputError, match="rank must be an integer in \\[1, 7\\]"):
        AdversarialProjection(rank=8).fit(x, y)
    with pytest.raises(InputError, match="unknown classifier 'tree'"):
        INLP(classifier="tree").fit(x, y)
    with pytest.raises(InputError, match="n_iterations must be a positive integer, got 0"):
        INLP(n_iterations=0).fit(x, y)
    with pytest.raises(InputError, match="only 42 are available"):
        INLP(n_words=100).fit(v)
    with pytest.raises(InputError, match=r"direction words \['him'\] are not in the vocabulary"):
        INLP(pair=("him", "she")).fit(v)
    with pytest.raises(InputError, match="class 1 has 1 example"):
        INLP().fit(x[:11], np.array([0] * 10 + [1]))
    fitted = INLP(normalize=False, C=1.0).fit(x, y)
    with pytest.raises(DimensionError, match="X has 5 features, but INLP is expecting 8 features"):
        fitted.transform(np.ones((2, 5)))
    with pytest.raises(InputError, match="Reshape your data"):  # one row is x[:1], never a 1-D x[0]
        fitted.transform(x[0])
    with pytest.raises(InputError, match="X, which has 1 feature"):
        INLP().fit(x[:, :1], y)
    with pytest.warns(UserWarning, match="INLP removed all 3 dimensions"):  # 3 classes: 3 directions at once
        gone = INLP(C=1.0, normalize=False).fit(*_three_directions(d=3))
    assert np.abs(gone.projection_).max() < 1e-6
    with pytest.raises(DimensionError, match="the fitted projection 8"):
        fitted.transform(v)


# ------------------------------------------------------------------ GloVe targets
@pytest.fixture(scope="module")
def glove_50k(glove):
    lists = bias.load_word_lists()
    extra = {w for t in lists["weat"].values() for s in t["targets"] + t["attributes"] for w in s}
    extra |= set(lists["professions"])
    keys = glove.keys[:50_000] + sorted(w for w in extra if w in glove and glove.index(w) >= 50_000)
    return Vectors(keys, glove.matrix[[glove.index(k) for k in keys]])


def _wefe_effect(vectors: Vectors, t: dict) -> float:
    from gensim.models import KeyedVectors
    from wefe.metrics import WEAT
    from wefe.query import Query
    from wefe.word_embedding_model import WordEmbeddingModel

    words = sorted({w for s in t["targets"] + t["attributes"] for w in s if w in vectors})
    kv = KeyedVectors(vector_size=vectors.dim)
    kv.add_vectors(words, np.asarray(vectors.matrix[[vectors.key_to_index[w] for w in words]]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WEAT().run_query(Query(t["targets"], t["attributes"]), WordEmbeddingModel(kv, "t"),
                                return_effect_size=True)["effect_size"]


@pytest.mark.slow
@pytest.mark.parametrize("make", [INLP, AdversarialProjection], ids=["inlp", "rlace"])
def test_glove_targets(glove_50k, make):
    """Issue 12's targets: WEAT career/family and science/arts at most half, analogy within 2 points, a fresh
    linear classifier near chance at telling he-side from she-side words."""
    wefe = pytest.importorskip("wefe")  # noqa: F841
    from embedlab.evaluate import evaluate_analogies

    lists = bias.load_word_lists()["weat"]
    est = make(seed=0).fit(glove_50k)
    after = est.transform(glove_50k)
    assert est.accuracy_before_ > 0.99 and est.accuracy_ < 0.55
    words, labels = gendered_words(glove_50k)
    x = np.asarray(after.matrix[[after.key_to_index[w] for w in words]])
    assert attribute_accuracy(x, labels, seed=1) < 0.56      # another split, another classifier
    for name in ("career_family", "science_arts"):
        t = lists[name]
        before = bias.weat(glove_50k, t["targets"], t["attributes"], permutations=100).effect_size
        now = bias.weat(after, t["targets"], t["attributes"], permutations=100).effect_size
        assert abs(now) <= 0.5 * abs(before), (name, before, now)
        assert now == pytest.approx(_wefe_effect(after, t), abs=1e-3)
    base = evaluate_analogies(glove_50k, restrict_vocab=30_000).accuracy
    assert evaluate_analogies(after, restrict_vocab=30_000).accuracy >= base - 0.02


def test_adversarial_projection_shows_a_bar_over_its_epochs_by_default(progress_bars):
    """A 30 s fit in the README's Python tour said nothing: the epochs have a bar (progress=True by default)."""
    from embedlab.analysis import debias

    bars = progress_bars(debias)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 6)), np.repeat([0, 1], 30)
    est = AdversarialProjection(rank=1, epochs=7, normalize=False).fit(x, y)
    assert est.get_params()["progress"] is True
    (bar,) = bars
    assert (bar.total, bar.desc, bar.unit, bar.enabled, bar.n) == (7, "AdversarialProjection(rank=1)", "epoch", True, 7)
    assert bar.postfixes == [f"loss {v:.4f}" for v in est.loss_history_]
    quiet = AdversarialProjection(rank=1, epochs=7, normalize=False, progress=False).fit(x, y)
    assert bars[-1].enabled is False and quiet.loss_history_ == est.loss_history_
    with pytest.raises(InputError, match="progress"):
        AdversarialProjection(progress="yes").fit(x, y)
