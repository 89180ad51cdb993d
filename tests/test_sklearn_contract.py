"""scikit-learn's estimator contract: ``check_estimator`` (through ``parametrize_with_checks``) on every estimator
that takes arrays, and on the others the checks that apply.

- ``INLP``, ``AdversarialProjection`` (X: a real (n, d) array, y: class labels): every check scikit-learn has, the
  legacy ones included. One is skipped by scikit-learn itself: ``check_array_api_input`` runs only with the
  environment variable ``SCIPY_ARRAY_API=1`` (array-API dispatch; these estimators are numpy-only).
- ``HardDebias`` (a Vectors table in and out), ``EmbeddingClassifier`` (texts), ``LabelTransformer`` and
  ``OneHotTransformer`` (lists of categories): their tags declare that their input is not an array, so
  ``check_estimator`` runs none of its data checks on them (they all feed random float arrays). They get
  scikit-learn's data-free API checks (``API_CHECKS``), and ``_contract`` runs the data checks' properties with
  each one's own kind of input: ``NotFittedError`` before ``fit``, ``fit`` returns self and changes no parameter,
  sets only attributes ending in ``_``, ``check_is_fitted`` after, predicting changes no attribute, refitting and
  pickling give the same outputs, the order and the batching of the inputs do not change a row's output.
"""

from __future__ import annotations

import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_do_not_raise_errors_in_init_or_set_params,
    check_estimator_cloneable,
    check_estimator_repr,
    check_estimator_tags_renamed,
    check_get_params_invariance,
    check_mixin_order,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
    check_valid_tag_types,
    parametrize_with_checks,
)
from sklearn.utils.validation import check_is_fitted

from embedlab import Vectors
from embedlab.analysis.bias import HardDebias
from embedlab.analysis.debias import INLP, AdversarialProjection
from embedlab.apps.classify import EmbeddingClassifier
from embedlab.encoders import Encoder
from embedlab.encoders.categorical import LabelTransformer, OneHotTransformer
from embedlab.errors import DimensionError, InputError


# ---------------------------------------------------------------- the array estimators: every check
@parametrize_with_checks([INLP(), AdversarialProjection()])
def test_check_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LinearSVC's convergence, INLP's "removed all dimensions" on tiny data
        check(estimator)


# ---------------------------------------------------------------- the others: what applies
class Letters(Encoder):
    """A tiny deterministic text encoder (letter counts a..z), so EmbeddingClassifier needs no model."""

    name = "test-letters"
    dim = 26
    modalities = ("text",)

    def _encode_batch(self, items):
        out = np.zeros((len(items), 26), dtype=np.float32)
        for i, text in enumerate(items):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        return out


OTHERS = [HardDebias(), EmbeddingClassifier(), LabelTransformer(), OneHotTransformer()]
API_CHECKS = [check_estimator_cloneable, check_estimator_tags_renamed, check_valid_tag_types, check_estimator_repr,
              check_no_attributes_set_in_init, check_do_not_raise_errors_in_init_or_set_params, check_mixin_order,
              check_parameters_default_constructible, check_get_params_invariance, check_set_params]


@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", OTHERS, ids=lambda e: type(e).__name__)
def test_api_checks_on_estimators_without_array_input(estimator, check):
    tags = get_tags(estimator)
    assert not tags.input_tags.two_d_array  # declared: check_estimator has no data of their kind
    check(type(estimator).__name__, estimator)


def _outputs(est, method, items):
    out = getattr(est, method)(items)
    if isinstance(out, Vectors):
        return np.asarray(out.matrix), out.keys
    return np.asarray(out if not isinstance(out, list) else np.array(out, dtype=object)), None


def _same(a, b):
    if a[0].dtype.kind in "OUSb":
        assert a[0].tolist() == b[0].tolist()
    else:
        np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-6)
    assert a[1] == b[1]


def _contract(est, X, y, new, take, methods):
    """check_estimator's data checks, with the estimator's own input (``take(items, rows)`` reorders or subsets it)."""
    est = clone(est)
    for method in methods:  # check_transformers_unfitted / check_estimators_unfitted
        with pytest.raises(NotFittedError, match="not fitted yet"):
            getattr(est, method)(new)
    params = joblib.hash(est.get_params())
    assert est.fit(X, y) is est  # check_estimators_fit_returns_self
    assert joblib.hash(est.get_params()) == params  # check_estimators_overwrite_params
    public = {k for k in vars(est) if not k.startswith("_") and not k.endswith("_")}
    assert public == set(est.get_params())  # check_dont_overwrite_parameters
    check_is_fitted(est)  # check_fit_check_is_fitted
    state = joblib.hash(vars(est))
    first = {m: _outputs(est, m, new) for m in methods}
    assert joblib.hash(vars(est)) == state  # check_dict_unchanged
    refit = clone(est).fit(X, y)  # check_fit_idempotent
    again = pickle.loads(pickle.dumps(est))  # check_estimators_pickle
    n = len(new) if not isinstance(new, Vectors) else len(new.keys)
    order = np.random.default_rng(0).permutation(n)
    for m in methods:
        _same(_outputs(refit, m, new), first[m])
        _same(_outputs(again, m, new), first[m])
        # check_methods_sample_order_invariance and check_methods_subset_invariance: a row's output is its own
        shuffled = _outputs(est, m, take(new, order))
        _same((shuffled[0][np.argsort(order)], None if shuffled[1] is None else
               [shuffled[1][i] for i in np.argsort(order)]), first[m])
        halves = [_outputs(est, m, take(new, part)) for part in (np.arange(n // 2), np.arange(n // 2, n))]
        _same((np.concatenate([h[0] for h in halves]),
               None if halves[0][1] is None else halves[0][1] + halves[1][1]), first[m])
    return est


def _rows(items, rows):
    return [items[i] for i in rows]


def _words() -> Vectors:
    words = ["he", "she", "man", "woman", "king", "queen", "doctor", "nurse", "car", "tree", "boy", "girl"]
    return Vectors(words, np.random.default_rng(2).standard_normal((len(words), 8)).astype(np.float32))


def test_hard_debias_contract():
    v = _words()
    est = HardDebias(definitional_pairs=[["he", "she"], ["man", "woman"], ["king", "queen"]],
                     equalize_pairs=[["boy", "girl"]], gender_specific=["king", "queen"])
    fitted = _contract(est, v, None, v, lambda t, rows: t.subset([t.keys[i] for i in rows]), ["transform"])
    assert fitted.n_features_in_ == 8
    with pytest.raises(DimensionError, match="dimension 4, the fitted direction 8"):
        fitted.transform(Vectors(["he"], np.ones((1, 4), np.float32)))


TEXTS = ["good great", "great fun", "fun good", "lovely good", "great lovely", "fun fun",
         "bad awful", "awful dull", "dull bad", "boring bad", "awful boring", "dull dull"]


@pytest.mark.parametrize("labels", [["pos"] * 6 + ["neg"] * 6, [True] * 6 + [False] * 6, [1.0] * 6 + [0.0] * 6,
                                    [3] * 6 + [-1] * 6], ids=["str", "bool", "float", "int"])
def test_embedding_classifier_contract_with_labels_of_any_type(labels):
    est = _contract(EmbeddingClassifier(Letters(), C=1.0), TEXTS, labels, ["great good", "awful dull", "fun"],
                    _rows, ["predict", "predict_proba"])
    assert est.predict(["good fun", "bad dull"]).tolist() == [labels[0], labels[-1]]
    assert sorted(est.classes_.tolist()) == sorted(set(labels))
    assert est.score(TEXTS, labels) == 1.0  # ClassifierMixin's accuracy


def test_embedding_classifier_is_a_classifier_to_scikit_learn():
    est = EmbeddingClassifier(Letters(), C=1.0)
    assert is_classifier(est) and get_tags(est).input_tags.string
    labels = ["pos"] * 6 + ["neg"] * 6  # sorted by class: unstratified 3-fold would train on one class
    scores = cross_val_score(est, TEXTS, labels, cv=3)
    np.testing.assert_array_equal(scores, cross_val_score(est, TEXTS, labels, cv=StratifiedKFold(3)))
    with pytest.raises(InputError, match="labels must be classes: Unknown label type: continuous"):
        est.fit(TEXTS, np.linspace(0, 1, 12))


def test_categorical_transformers_contract():
    genres = ["drama", "comedy", "action", "drama", "sci-fi", "comedy"]
    lab = _contract(LabelTransformer(), genres, None, ["comedy", "drama", "action", "sci-fi"], _rows, ["transform"])
    assert lab.transform(["sci-fi", "action"]).tolist() == [3, 0]
    films = [["action", "sci-fi"], ["drama"], ("comedy", "drama"), "action"]
    _contract(OneHotTransformer(), films, None, [["drama"], "comedy", ["sci-fi", "action"], "action"], _rows,
              ["transform"])
    for est, bad in ((LabelTransformer(), np.array([["a", "b"], ["c", "d"]])), (OneHotTransformer(), np.ones((2, 2)))):
        with pytest.raises(InputError, match=r"1-D list of categories, got an array of shape \(2, 2\)"):
            est.fit(bad)
    assert LabelTransformer().fit(np.array([True, False])).transform([True]).tolist() == [1]


# ---------------------------------------------------------------- what the array estimators promise, in our words
def _blobs():
    """The attribute along e0 only (+-3), isotropic noise in the 4 other dimensions."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 300)
    x = rng.normal(size=(600, 5))
    x[:, 0] += np.where(y == 1, 3.0, -3.0)
    return x, y


@pytest.mark.parametrize("make", [lambda: INLP(normalize=False, C=1.0), lambda: AdversarialProjection(epochs=30)],
                         ids=["inlp", "rlace"])
def test_labels_of_any_type_dtypes_and_one_row_arrays(make):
    x, y = _blobs()
    ref = make().fit(x, y)
    assert abs(ref.components_[0, 0]) > 0.9  # the first direction removed is (nearly) e0
    for labels in (np.where(y == 1, "she", "he"), y.astype(bool), y.astype(float), y + 7, list(np.where(y, "b", "a"))):
        np.testing.assert_allclose(make().fit(x, labels).projection_, ref.projection_, atol=1e-6)  # same classes
    with pytest.raises(InputError, match="Unknown label type: continuous"):
        make().fit(x, np.linspace(0, 1, len(x)))
    assert ref.n_features_in_ == 5 and get_tags(ref).transformer_tags.preserves_dtype == ["float32"]
    for dtype in (np.float64, np.float32, np.int64):
        assert ref.transform(x.astype(dtype)).dtype == np.float32
    with pytest.raises(InputError, match="Reshape your data"):  # one row: x[:1], not x[0]
        ref.transform(x[0])
    np.testing.assert_allclose(ref.transform(x[:1]), ref.transform(x)[:1], atol=1e-6)
    with pytest.raises(DimensionError, match="X has 4 features, but .* is expecting 5 features"):
        ref.transform(x[:, :4])
    with pytest.raises(NotFittedError) as err:
        make().transform(x)
    assert isinstance(err.value, InputError) and isinstance(err.value, AttributeError)
    with pytest.raises(InputError, match="requires y to be passed"):
        make().fit(x)


def test_not_fitted_error_is_made_lazily_and_pickles():
    """Importing embedlab (and the encoders' categorical transformers) imports no scikit-learn (about 1 s); the
    NotFittedError class is made on first use, under its importable name."""
    import subprocess
    import sys

    code = ("import sys, embedlab, embedlab.encoders.categorical, embedlab.errors as e\n"
            "assert 'sklearn' not in sys.modules, 'scikit-learn imported at import time'\n"
            "err = e.not_fitted(object())\n"
            "assert 'sklearn' in sys.modules and type(err) is e.NotFittedError\n"
            "assert 'NotFittedError' not in e.__all__ and 'NotFittedError' not in vars(e)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    from embedlab import errors

    err = pickle.loads(pickle.dumps(errors.not_fitted(INLP(), "fit(X, y)")))
    assert type(err) is errors.NotFittedError and str(err) == "this INLP is not fitted yet; call fit(X, y) first"
    assert isinstance(err, NotFittedError) and isinstance(err, InputError)
