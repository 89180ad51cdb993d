"""Sentiment on embeddings: the shipped data sets, the CV protocol, the word-average encoder and the CLI."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from embedlab.apps.classify import (
    EmbeddingClassifier,
    cross_validate,
    evaluate_sentiment,
    load_dataset,
    majority_baseline,
)
from embedlab.cli import main
from embedlab.encoders.word_average import OOVWarning, WordAverageEncoder, tokenize
from embedlab.errors import InputError


def test_datasets_have_the_published_sizes():
    texts, y = load_dataset("polarity")
    assert len(texts) == 200 and int(y.sum()) == 100
    words, y2 = load_dataset("bingliu")
    assert len(words) == 6789 and int(y2.sum()) == 2006  # 2,006 positive and 4,783 negative words
    assert "excellent" in words and y2[words.index("excellent")] == 1
    with pytest.raises(InputError, match="unknown dataset 'imdb'; choose one of polarity, bingliu"):
        load_dataset("imdb")


def test_majority_baseline_is_exact_on_stratified_folds():
    texts = [f"t{i}" for i in range(100)]
    y = np.array([1] * 30 + [0] * 70)
    (row,) = cross_validate({"majority": majority_baseline}, texts, y, folds=5, repeats=2, seed=3, C=1.0)
    assert row.accuracy == pytest.approx(0.7, abs=1e-12)
    assert row.ci95 == pytest.approx((0.7, 0.7), abs=1e-12)


def test_separable_features_score_perfectly_with_nested_C():
    texts = [f"t{i}" for i in range(60)]
    y = np.array([0, 1] * 30)
    feats = np.c_[y * 2.0 - 1.0, np.random.default_rng(0).normal(size=60)]
    (row,) = cross_validate({"oracle": lambda t: feats}, texts, y, folds=3, repeats=2)
    assert row.accuracy == 1.0


def test_cross_validate_rejects_bad_input():
    with pytest.raises(InputError, match="3 texts but 2 labels"):
        cross_validate({"m": majority_baseline}, ["a", "b", "c"], [0, 1])
    with pytest.raises(InputError, match="need at least 5 examples of each of two classes"):
        cross_validate({"m": majority_baseline}, ["a", "b", "c", "d"], [0, 1, 0, 1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(folds=1), "folds must be an integer >= 2, got 1"),
    (dict(folds=True), r"folds must be an integer >= 2, got True \(bool\)"),
    (dict(folds=2.0), r"got 2.0 \(float\)"),
    (dict(repeats=0), "repeats must be a positive integer, got 0"),
    (dict(seed=-1), "seed must be a non-negative integer, got -1"),
    (dict(C=0), "C must be a positive number, got 0.0"),
    (dict(C=float("inf")), "C must be a positive number, got inf"),
    (dict(features={}), "no feature methods to score"),
    (dict(texts="a cat sat on a mat"), "texts must be a list of strings, got str"),
    (dict(labels=[0, 1] * 4 + [np.nan, 1]), "labels contain NaN"),
    (dict(labels=[[0, 1]] * 10), r"labels must be one label per text .*got shape \(10, 2\)"),
    (dict(labels=[0] * 10), r"need at least 2 examples of each of two classes for 2-fold CV; got \{0: 10\}"),
    (dict(features={"bad": lambda t: np.full((len(t), 2), np.nan)}), "the 'bad' features contain NaN"),
    (dict(features={"short": lambda t: np.zeros((3, 2))}), "the 'short' features have 3 rows for 10 texts"),
])
def test_cross_validate_checks_parameters_first(kwargs, message):
    args = dict(features={"m": majority_baseline}, texts=[f"t{i}" for i in range(10)], labels=[0, 1] * 5, folds=2,
                repeats=1) | kwargs
    with pytest.raises(InputError, match=message):
        cross_validate(**args)


def test_classifier_and_evaluation_check_parameters_before_loading_models(monkeypatch):
    import embedlab.encoders as encoders

    monkeypatch.setattr(encoders, "encoder", lambda *a, **k: pytest.fail("a model was loaded"))
    texts, y = [f"t{i}" for i in range(6)], [0, 1] * 3
    for params, message in ((dict(C=-1.0), "C must be a positive number, got -1.0"),
                            (dict(batch_size=0), "batch_size must be a positive integer, got 0"),
                            (dict(seed=1.5), r"seed must be a non-negative integer, got 1.5 \(float\)")):
        with pytest.raises(InputError, match=message):
            EmbeddingClassifier("glove-50", **params).fit(texts, y)
    with pytest.raises(InputError, match=r"need at least 3 examples of each of two classes for the inner 3-fold "
                                         r"CV that picks C; got \{0: 2, 1: 2\}"):
        EmbeddingClassifier("glove-50").fit(texts[:4], y[:4])
    with pytest.raises(InputError, match="not fitted"):
        EmbeddingClassifier("glove-50").predict(["good"])
    for kwargs, message in ((dict(folds=1), "folds must be an integer >= 2, got 1"),
                            (dict(C=0.0), "C must be a positive number, got 0.0"),
                            (dict(dataset="sst"), "unknown dataset 'sst'; choose one of polarity, bingliu"),
                            (dict(encoders="glove-50"), "encoders must be a list of strings, got str"),
                            (dict(encoders=["glove-50", "nope"]), "unknown encoder 'nope'")):
        with pytest.raises(InputError, match=message):
            evaluate_sentiment(**kwargs)


@pytest.mark.slow
def test_embeddings_beat_bag_of_words_on_review_sentences():
    report = evaluate_sentiment("polarity", ["use-multilingual", "glove-50"], folds=5, repeats=3, seed=0, C=1.0)
    acc = {r["method"]: r["accuracy"] for r in report["rows"]}
    assert acc["majority"] == pytest.approx(0.5)
    assert acc["use-multilingual"] >= 0.64
    assert acc["use-multilingual"] > acc["bow-words"] + 0.05
    assert acc["glove-50"] > acc["majority"] + 0.05


def test_word_vectors_classify_the_bing_liu_lexicon(glove):
    words, y = load_dataset("bingliu")
    enc = WordAverageEncoder(glove, name="glove-50")
    x = enc.encode(words, batch_size=2048)
    (row,) = cross_validate({"glove": lambda t: x}, words, y, folds=5, repeats=1, seed=0, C=1.0)
    assert row.accuracy >= 0.86  # the majority class is 0.7045


def test_word_average_is_the_mean_of_known_word_vectors(glove):
    enc = WordAverageEncoder(glove, name="g")
    assert tokenize("The cat's mat.") == ["the", "cat's", "mat", "."]
    got = enc.encode(["King and QUEEN", "king qqzzxq queen and"], normalize=False)
    want = glove.matrix[[glove.index("king"), glove.index("and"), glove.index("queen")]].mean(0)
    np.testing.assert_allclose(got[0], want, rtol=1e-6)
    np.testing.assert_allclose(got[1], want, rtol=1e-6)
    assert enc.unknown_tokens(["King and QUEEN", "king qqzzxq queen and"]) == 1
    with pytest.warns(OOVWarning, match="1 of 2 text") as got:
        out = enc.encode(["qqzzxq", "cat"])
    assert not out[0].any() and [(w.message.empty, w.message.total) for w in got] == [(1, 2)]
    with pytest.raises(InputError, match="needs a Vectors table"):
        WordAverageEncoder({"king": [1.0]})


def test_classifier_generalises_across_languages(use_encoder):
    texts, y = load_dataset("polarity")
    clf = EmbeddingClassifier(use_encoder).fit(texts, y)
    p = clf.predict_proba(["a moving, beautiful and wise film", "a dull, tedious and boring mess"])[:, 1]
    assert p[0] > 0.5 > p[1]


def test_cli_predict_and_evaluate_json(capsys):
    with pytest.raises(SystemExit) as e:
        main(["sentiment", "predict", "a moving, beautiful and wise film", "a dull, tedious and boring mess",
              "--json"])
    assert e.value.code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in rows] == ["positive", "negative"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OOVWarning)
        with pytest.raises(SystemExit) as e:
            main(["sentiment", "evaluate", "--encoder", "glove-50", "--repeats", "1", "--C", "1", "--json"])
    assert e.value.code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 200 and report["C"] == 1.0
    assert [r["method"] for r in report["rows"]] == ["majority", "glove-50", "bow-words", "bow-chars"]
    with pytest.raises(SystemExit) as e:
        main(["sentiment", "evaluate", "--dataset", "sst", "--json"])
    assert e.value.code == 2
    assert "unknown dataset 'sst'" in capsys.readouterr().err


def test_cli_bad_cv_settings_exit_cleanly(capsys):
    for args, message in ((["--folds", "1"], "folds must be an integer >= 2, got 1"),
                          (["--repeats", "0"], "repeats must be a positive integer, got 0"),
                          (["--C", "0"], "C must be a positive number, got 0.0"),
                          (["--encoder", "nope"], "unknown encoder 'nope'")):
        with pytest.raises(SystemExit) as e:
            main(["sentiment", "evaluate", *args])
        err = " ".join(capsys.readouterr().err.split())
        assert e.value.code == 2 and message in err and "Traceback" not in err


def _noisy_task(n=120, seed=4):
    rng = np.random.default_rng(seed)
    y = np.array([0, 1] * (n // 2))
    x = np.c_[y + rng.normal(scale=1.2, size=n), rng.normal(size=(n, 3))].astype(np.float32)
    texts = [f"w{i} {'good' if (i % 3 == 0) == bool(y[i]) else 'bad'}" for i in range(n)]
    return texts, y, x


def test_parallel_folds_give_the_same_numbers():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, y, x = _noisy_task()
    feats = {"dense": lambda t: x, "bow": TfidfVectorizer()}
    one = cross_validate(feats, texts, y, folds=3, repeats=2, seed=5, n_jobs=1)
    two = cross_validate(feats, texts, y, folds=3, repeats=2, seed=5, n_jobs=2)
    assert [r.as_dict() for r in one] == [r.as_dict() for r in two]
    with pytest.raises(InputError, match="n_jobs must be a non-negative integer"):
        cross_validate(feats, texts, y, n_jobs=-1)


def test_cross_validation_progress_counts_every_fit(monkeypatch):
    from embedlab.apps import classify

    seen = {}

    class Bar:
        def __init__(self, total, desc, unit, enabled):
            seen.update(total=total, desc=desc, enabled=enabled, done=0)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            seen["done"] += n

    monkeypatch.setattr(classify, "progress_bar", Bar)
    texts, y, x = _noisy_task()
    cross_validate({"a": lambda t: x, "b": majority_baseline}, texts, y, folds=3, repeats=2, C=1.0, progress=True)
    assert seen == {"total": 12, "desc": "cross-validation", "enabled": True, "done": 12}


def test_each_fit_runs_single_threaded_with_the_solver_for_its_features():
    """BLAS/OpenMP threads made the nested CV ~20x slower on a busy 2-core machine: fits run on one thread."""
    from threadpoolctl import threadpool_info

    from embedlab.apps.classify import _logistic

    texts, y, _ = _noisy_task()
    threads = []

    class Probe:  # a vectoriser that records the thread pools it runs under
        def get_params(self, deep=True):
            return {}

        def fit_transform(self, t):
            threads.append(max((p["num_threads"] for p in threadpool_info()), default=1))
            return np.c_[[len(s) for s in t]].astype(float)

        def transform(self, t):
            return np.c_[[len(s) for s in t]].astype(float)

    cross_validate({"probe": Probe()}, texts, y, folds=2, repeats=1, C=1.0)
    assert threads == [1, 1]
    assert _logistic(None, 0).estimator.solver == "lbfgs"
    assert _logistic(1.0, 0, sparse=True).solver == "newton-cg"
