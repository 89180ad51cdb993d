"""Debiasing beyond one direction: learned linear erasure of a protected attribute (e.g. gender).

Hard debias (``bias.HardDebias``) removes one hand-picked direction. First names and topic words carry gender in
more directions than that (Gonen & Goldberg 2019), so these transformers *learn* what to remove from labelled
examples — by default the most "he"-like and "she"-like words of the vocabulary itself, as in Ravfogel et al. 2020:

- ``INLP`` — iterative nullspace projection (Ravfogel, Elazar, Gonen, Twiton & Goldberg 2020, "Null It Out"):
  train a linear classifier for the attribute, project its weight directions out, repeat until a fresh classifier
  is at chance on held-out words. Several orthogonal directions, one batch per iteration.
- ``AdversarialProjection`` — an adversarially trained rank-k orthogonal projection (Ravfogel, Twiton, Goldberg &
  Cotterell 2022, "Linear Adversarial Concept Erasure", R-LACE): a minimax game where the projection ascends the
  loss of a logistic classifier that keeps re-fitting to the projected data; the projection lives on the Fantope
  (the convex hull of rank-k projection matrices) and its top-k eigenvectors are removed at the end.

Both are scikit-learn transformers (``fit`` / ``transform`` / ``get_params``; learned attributes end in ``_``;
scikit-learn's ``check_estimator`` passes, see ``tests/test_sklearn_contract.py``) and both map any vector x to
``x @ projection_`` — a linear map, so analogies and cosines keep working:

    >>> from embedlab.analysis.debias import AdversarialProjection
    >>> deb = AdversarialProjection(rank=1, seed=0).fit(glove)     # glove: Vectors, ordered by frequency
    >>> fair = deb.transform(glove)                                # Vectors, same keys, float32
    >>> deb.accuracy_before_, deb.accuracy_                        # held-out gender accuracy: ~1.0 -> ~0.5

``fit(X, y)`` also takes any real (n, d) matrix, d >= 2, with class labels of any type scikit-learn's classifiers
accept (ints, strings, bools, integral floats), for attributes other than gender. Arrays in and out follow
scikit-learn: a 1-D X is refused (reshape a single row with ``x.reshape(1, -1)``), ``n_features_in_`` is set, the
output is float32 (the dtype it preserves), and ``transform`` before ``fit`` raises ``NotFittedError`` (scikit-
learn's, and an ``InputError``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .._params import check_bool, check_choice, check_float, check_int, check_strings
from .._progress import progress_bar
from ..errors import DimensionError, InputError, NonFiniteError, not_fitted
from ..metrics import as_matrix
from ..vectors import Vectors

__all__ = ["INLP", "AdversarialProjection", "attribute_accuracy", "gendered_words"]


# ------------------------------------------------------------------ labelled words
def gendered_words(vectors: Vectors, n_words: int = 2500, max_vocab: int = 50_000,
                   pair: Sequence[str] = ("he", "she"), neutral: bool = False) -> tuple[list[str], np.ndarray]:
    """The labelled words INLP/R-LACE learn from (Ravfogel et al. 2020, section 6.1): among the ``max_vocab``
    first (most frequent) rows, the ``n_words`` with the highest and the ``n_words`` with the lowest cosine to the
    ``pair[0] - pair[1]`` direction; with ``neutral`` also the ``n_words`` closest to 0.

    Returns (words, labels int64): 1 for the ``pair[0]`` side ("he"), 0 for the ``pair[1]`` side ("she"), 2 for
    neutral. InputError when a pair word is missing or the vocabulary holds too few words.
    """
    if not isinstance(vectors, Vectors):
        raise InputError(f"gendered_words needs a Vectors table, got {type(vectors).__name__}")
    check_int(n_words, "n_words", low=2, hint="labelled words per side")
    check_int(max_vocab, "max_vocab", low=2, hint="only the most frequent rows are candidates")
    n_words, max_vocab = int(n_words), int(max_vocab)
    words = check_strings(pair, "pair")
    if len(words) != 2:
        raise InputError(f"pair must name two words, e.g. ('he', 'she'), got {pair!r}")
    missing = [w for w in words if w not in vectors]
    if missing:
        raise InputError(f"the direction words {missing} are not in the vocabulary; pass pair=(word, word) "
                         "that both exist")
    n = min(len(vectors), max_vocab)
    need = n_words * (3 if neutral else 2)
    if n < need:
        raise InputError(f"n_words={n_words} per side needs {need} candidate words, but only {n} are available "
                         f"(vocabulary {len(vectors)}, max_vocab={max_vocab}); lower n_words")
    m = np.asarray(vectors.matrix[:n], dtype=np.float64)
    unit = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    a, b = (unit[vectors.key_to_index[w]] for w in words)
    d = a - b
    if not np.linalg.norm(d) > 0:
        raise InputError(f"{words[0]!r} and {words[1]!r} have the same direction; choose a pair that differs")
    proj = unit @ (d / np.linalg.norm(d))
    order = np.argsort(proj, kind="stable")
    rows = [order[-n_words:][::-1], order[:n_words]]
    if neutral:
        rows.append(np.argsort(np.abs(proj), kind="stable")[:n_words])
    labels = np.concatenate([np.full(len(r), lab, dtype=np.int64) for lab, r in zip((1, 0, 2), rows, strict=False)])
    return [vectors.keys[i] for i in np.concatenate(rows)], labels


def attribute_accuracy(x: Any, y: Any, test_size: float = 0.3, seed: int = 0, kind: str = "linear",
                       normalize: bool = True) -> float:
    """Held-out accuracy of a freshly trained classifier predicting ``y`` (n,) int from rows of ``x`` (n, d): how
    much of the attribute a classifier can still read (chance = the majority class share). ``kind`` "linear" is
    logistic regression; "mlp" a one-hidden-layer network (nonlinear leakage, which linear erasure does not
    promise to remove). Rows are L2-normalised first unless ``normalize=False``; the split is seeded, stratified.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    kind = check_choice(kind, "kind", ("linear", "mlp"))
    m = as_matrix(x, name="x").astype(np.float64)
    if check_bool(normalize, "normalize"):
        m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    xtr, ytr, xte, yte = _split(m, _labels(y, len(m)), test_size, seed)
    clf = (LogisticRegression(max_iter=3000) if kind == "linear"
           else MLPClassifier(hidden_layer_sizes=(128,), max_iter=500, random_state=seed))
    return float(clf.fit(xtr, ytr).score(xte, yte))


# ------------------------------------------------------------------ shared parts
def _labels(y: Any, n: int) -> np.ndarray:
    """``y`` as int64 class codes ``0 .. k-1`` (in sorted order of the classes): any labels scikit-learn's
    classifiers accept (ints, strings, bools, integral floats), one per row, at least two classes."""
    from sklearn.utils.multiclass import check_classification_targets

    if y is None:
        raise InputError("this estimator requires y to be passed, but the target y is None: fit(X, y) on a matrix "
                         "needs the attribute labels y (one per row); fit(vectors) on a Vectors table labels "
                         "gendered words itself")
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) != n:
        raise InputError(f"y must hold one label per row: {n} rows, got labels of shape {arr.shape}")
    try:
        check_classification_targets(arr)
    except ValueError as exc:
        raise InputError(f"y must hold class labels: {exc}") from None
    classes, codes = np.unique(arr, return_inverse=True)
    if len(classes) < 2:
        raise InputError("y holds one class only; the attribute needs at least two classes to be erased")
    return codes.astype(np.int64).reshape(-1)


def _validated(est: Any, X: Any, reset: bool) -> np.ndarray:
    """``X`` checked by scikit-learn's ``validate_data`` (2-D, real, finite, not empty, not sparse; with ``reset``
    it records ``n_features_in_``, else checks it), its errors raised as embedlab's with scikit-learn's message."""
    from sklearn.utils.validation import validate_data

    try:
        return validate_data(est, X, reset=reset, dtype=(np.float32, np.float64))
    except ValueError as exc:
        msg = str(exc)
        kind = (NonFiniteError if "NaN" in msg or "infinity" in msg else
                DimensionError if "features, but" in msg else InputError)
        raise kind(msg) from None


def _split(x: np.ndarray, y: np.ndarray, test_size: float, seed: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seeded, stratified train/held-out split."""
    check_float(test_size, "test_size", 0, 1, low_open=True, high_open=True, hint="the held-out share")
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = int(round(len(idx) * test_size))
        if k < 1 or k >= len(idx):
            raise InputError(f"class {c} has {len(idx)} example(s): too few to hold out {test_size:.0%} of them; "
                             "give more labelled rows")
        test[rng.choice(idx, size=k, replace=False)] = True
    return x[~test], y[~test], x[test], y[test]


def _chance(y: np.ndarray) -> float:
    return float(np.bincount(y).max() / len(y))


class _LinearEraser(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # scikit-learn has no stubs
    """Common fit input handling and ``transform``: x -> x @ projection_ (a symmetric (d, d) projection).

    The mixin comes before ``BaseEstimator`` (scikit-learn's order), so its tags are kept.
    """

    n_words: int
    max_vocab: int
    pair: Sequence[str]
    neutral: bool
    normalize: bool
    test_size: float
    seed: int

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True  # fit(X, y) on a matrix; fit(vectors) labels its own words
        tags.transformer_tags.preserves_dtype = ["float32"]  # any real input, float32 output
        return tags

    def _training_data(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        check_int(self.seed, "seed", low=0)
        if isinstance(X, Vectors):
            if y is not None:
                raise InputError("fit(vectors) labels gendered words itself; pass y only with a matrix")
            words, labels = gendered_words(X, self.n_words, self.max_vocab, self.pair, self.neutral)
            self.words_ = words
            self.n_features_in_ = X.dim
            self.__dict__.pop("feature_names_in_", None)
            x = np.asarray(X.matrix[[X.key_to_index[w] for w in words]], dtype=np.float64)
        else:
            if y is None:
                _labels(y, 0)  # "requires y", before X is looked at
            x = _validated(self, X, reset=True).astype(np.float64)
            if x.shape[1] < 2:
                raise InputError(f"{type(self).__name__} removes directions from X, which has {x.shape[1]} "
                                 "feature(s); it needs at least 2")
            labels = _labels(y, len(x))
        if check_bool(self.normalize, "normalize"):  # cosine is what similarity and WEAT read
            x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return x, labels

    def transform(self, X: Any) -> Any:
        """Project rows: Vectors in, Vectors (same keys) out; an (n, d) array in, a float32 (n, d) array out.

        NotFittedError before ``fit``; InputError for a 1-D array (reshape one row with ``x.reshape(1, -1)``);
        DimensionError for another ``d``; NonFiniteError for NaN or infinity."""
        if not hasattr(self, "projection_"):
            raise not_fitted(self, "fit(vectors) or fit(X, y)")
        d = self.projection_.shape[0]
        if isinstance(X, Vectors):
            if X.dim != d:
                raise DimensionError(f"vectors have dimension {X.dim}, the fitted projection {d}")
            return Vectors(X.keys, self._project(np.asarray(X.matrix)))
        return self._project(_validated(self, X, reset=False))

    def _project(self, m: np.ndarray) -> np.ndarray:
        p = self.projection_.astype(np.float32)
        out = np.empty((m.shape[0], m.shape[1]), dtype=np.float32)
        for s in range(0, len(m), 65536):  # bounded temporaries for a memory-mapped 400k-row table
            np.matmul(np.asarray(m[s:s + 65536], dtype=np.float32), p, out=out[s:s + 65536])
        return out

    def _finish(self, basis: np.ndarray, xte: np.ndarray, yte: np.ndarray, xtr: np.ndarray, ytr: np.ndarray) -> None:
        """Store components_ (orthonormal rows), projection_ and the held-out accuracy after erasure."""
        from sklearn.linear_model import LogisticRegression

        d = xtr.shape[1]
        self.components_ = basis.astype(np.float32)
        self.projection_ = (np.eye(d) - basis.T @ basis).astype(np.float32)
        p = self.projection_.astype(np.float64)
        self.chance_ = _chance(yte)
        self.accuracy_ = float(LogisticRegression(max_iter=3000).fit(xtr @ p, ytr).score(xte @ p, yte))


def _orthonormal_rows(w: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """An orthonormal basis (rows) of the row space of ``w``."""
    _, s, vt = np.linalg.svd(w, full_matrices=False)
    return vt[: int((s > tol * max(s[0], 1e-300)).sum())] if len(s) else vt[:0]


# --------------------------------------------------------------------- INLP
class INLP(_LinearEraser):
    """Iterative nullspace projection (Ravfogel et al. 2020): remove a linear classifier's directions, repeat.

    Each iteration trains ``classifier`` ("svm": LinearSVC as in the paper, or "logistic") on the training words
    projected so far, adds its weight rows (1 for two classes, one per class otherwise) to the removed basis, and
    stops early once a fresh classifier's held-out accuracy is within ``tol`` of chance (the majority share), or
    after ``n_iterations``.

    A small ``C`` matters: a weakly regularised SVM finds a max-margin direction between sports words and female
    names and leaves most of the class-mean difference behind (on GloVe-50d, C=0.1 needs 7 directions to reach
    chance and costs 3.1 analogy points; C=0.001 needs 2 and costs 1.7).

    Parameters: ``n_words``/``max_vocab``/``pair``/``neutral`` choose the labelled words when fitting on Vectors
    (see ``gendered_words``); ``normalize`` L2-normalises training rows (cosine is what similarity and WEAT
    read); ``test_size`` the held-out share; ``seed`` the split and the classifier.
    Learned: ``components_`` (k, d) float32 orthonormal removed directions, ``projection_`` (d, d) float32,
    ``accuracy_history_`` (held-out accuracy before each iteration), ``accuracy_before_``, ``accuracy_``,
    ``chance_``, ``n_iter_``, ``words_`` (the labelled words, Vectors input only).
    """

    def __init__(self, n_iterations: int = 10, classifier: str = "svm", C: float = 0.001, tol: float = 0.02,
                 n_words: int = 2500, max_vocab: int = 50_000, pair: Sequence[str] = ("he", "she"),
                 neutral: bool = False, normalize: bool = True, test_size: float = 0.3, seed: int = 0) -> None:
        self.n_iterations = n_iterations
        self.classifier = classifier
        self.C = C
        self.tol = tol
        self.n_words = n_words
        self.max_vocab = max_vocab
        self.pair = pair
        self.neutral = neutral
        self.normalize = normalize
        self.test_size = test_size
        self.seed = seed

    def _make(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC

        if self.classifier == "svm":
            return LinearSVC(C=self.C, dual=False, max_iter=5000, random_state=self.seed)
        return LogisticRegression(C=self.C, max_iter=3000)

    def fit(self, X: Any, y: Any = None) -> INLP:
        """Learn the directions to remove from Vectors (gendered words, labelled here) or a matrix X with labels y.

        InputError for bad parameters, missing labels, a single class or too few rows per class."""
        check_int(self.n_iterations, "n_iterations", low=1, hint="at most this many classifiers")
        check_choice(self.classifier, "classifier", ("svm", "logistic"))
        check_float(self.C, "C", low=0, low_open=True, hint="the classifier's inverse regularisation")
        check_float(self.tol, "tol", 0, 1, hint="stop when held-out accuracy <= chance + tol")
        n_iter, tol = int(self.n_iterations), float(self.tol)
        x, labels = self._training_data(X, y)
        xtr, ytr, xte, yte = _split(x, labels, self.test_size, self.seed)
        d = x.shape[1]
        chance = _chance(yte)
        basis = np.zeros((0, d))
        history: list[float] = []
        for _ in range(n_iter):
            p = np.eye(d) - basis.T @ basis
            clf = self._make().fit(xtr @ p, ytr)
            acc = float(clf.score(xte @ p, yte))
            history.append(acc)
            if acc <= chance + tol:
                break
            basis = _orthonormal_rows(np.vstack([basis, np.atleast_2d(clf.coef_) @ p]))
            if len(basis) >= d:  # nothing is left to classify from: every row now maps to 0
                warnings.warn(f"INLP removed all {d} dimensions (the projection maps every vector to 0) before a "
                              "classifier reached chance; with k classes each round removes up to k directions: "
                              "raise tol, lower n_iterations or use AdversarialProjection(rank=...)", UserWarning,
                              stacklevel=2)
                break
        self.accuracy_history_ = history
        self.accuracy_before_ = history[0]
        self.n_iter_ = len(history)
        self._finish(basis, xte, yte, xtr, ytr)
        return self


# --------------------------------------------------------------------- R-LACE
class AdversarialProjection(_LinearEraser):
    """A rank-``rank`` orthogonal projection trained adversarially against a classifier (R-LACE, Ravfogel et al.
    2022; the iterative-null-space paper's adversarial alternative): minimax over P on the Fantope
    {0 <= P <= I, trace P = rank} and a softmax classifier (w, b) of

        mean cross-entropy(y, (x - mu)(I - P) w + b)

    — ``classifier_steps`` gradient-descent steps for the classifier, then one projected gradient-*ascent* step for
    P, for ``epochs`` rounds (deterministic: full batches). The top-``rank`` eigenvectors of P are removed.

    Parameters: ``rank`` directions to remove; ``epochs``, ``lr`` (projection step), ``classifier_lr`` and
    ``classifier_steps`` the game's schedule; ``progress`` (default True) shows a bar over the epochs with the
    classifier's loss on stderr (plain lines where stderr is not a terminal); the rest as for ``INLP``.

    Learned: ``components_`` (rank, d) float32, ``projection_`` (d, d) float32, ``accuracy_before_`` /
    ``accuracy_`` (held-out logistic-regression accuracy before / after), ``chance_``, ``loss_history_``
    (classifier loss per epoch: it climbs towards log(#classes)), ``words_`` (Vectors input only).
    """

    def __init__(self, rank: int = 1, epochs: int = 100, lr: float = 0.5, classifier_lr: float = 0.5,
                 classifier_steps: int = 10, n_words: int = 2500, max_vocab: int = 50_000,
                 pair: Sequence[str] = ("he", "she"), neutral: bool = False, normalize: bool = True,
                 test_size: float = 0.3, seed: int = 0, progress: bool = True) -> None:
        self.rank = rank
        self.epochs = epochs
        self.lr = lr
        self.classifier_lr = classifier_lr
        self.classifier_steps = classifier_steps
        self.n_words = n_words
        self.max_vocab = max_vocab
        self.pair = pair
        self.neutral = neutral
        self.normalize = normalize
        self.test_size = test_size
        self.seed = seed
        self.progress = progress

    def fit(self, X: Any, y: Any = None) -> AdversarialProjection:
        """Learn the rank-k subspace to remove (see the class docstring). InputError for bad parameters/labels."""
        from sklearn.linear_model import LogisticRegression

        check_int(self.epochs, "epochs", low=1)
        check_int(self.classifier_steps, "classifier_steps", low=1)
        check_float(self.lr, "lr", low=0, low_open=True, hint="the projection's step size")
        check_float(self.classifier_lr, "classifier_lr", low=0, low_open=True)
        check_bool(self.progress, "progress")
        epochs, steps, lr, clr = int(self.epochs), int(self.classifier_steps), float(self.lr), float(self.classifier_lr)
        x, labels = self._training_data(X, y)
        d = x.shape[1]
        check_int(self.rank, "rank", 1, d - 1, hint="directions to remove, fewer than the dimension")
        rank = int(self.rank)
        xtr, ytr, xte, yte = _split(x, labels, self.test_size, self.seed)
        self.accuracy_before_ = float(LogisticRegression(max_iter=3000).fit(xtr, ytr).score(xte, yte))
        classes = np.unique(ytr)
        onehot = (ytr[:, None] == classes[None, :]).astype(np.float64)
        xc = xtr - xtr.mean(0)
        p = np.zeros((d, d))
        w = np.zeros((d, len(classes)))
        b = np.zeros(len(classes))
        losses: list[float] = []
        with progress_bar(epochs, f"AdversarialProjection(rank={rank})", "epoch", enabled=bool(self.progress)) as bar:
            for _ in range(epochs):
                p = self._epoch(xc, onehot, p, w, b, steps, lr, clr, rank, losses)
                bar.set_postfix_str(f"loss {losses[-1]:.4f}", refresh=False)
                bar.update(1)
        _, vecs = np.linalg.eigh(p)
        self.loss_history_ = losses
        self._finish(vecs[:, -rank:].T.copy(), xte, yte, xtr, ytr)
        return self

    @staticmethod
    def _epoch(xc: np.ndarray, onehot: np.ndarray, p: np.ndarray, w: np.ndarray, b: np.ndarray, steps: int,
               lr: float, clr: float, rank: int, losses: list[float]) -> np.ndarray:
        """One round of the game: ``steps`` classifier steps (``w``, ``b`` updated in place), the loss appended to
        ``losses``, then the projection's ascent step; returns the new projection."""
        n = len(xc)
        z = xc - xc @ p
        for _ in range(steps):  # the classifier re-fits to the current projection
            g = _softmax(z @ w + b) - onehot
            w -= clr * (z.T @ g / n + 1e-4 * w)
            b -= clr * g.mean(0)
        probs = _softmax(z @ w + b)
        losses.append(float(-np.log(np.maximum((probs * onehot).sum(1), 1e-300)).mean()))
        dz = (probs - onehot) @ w.T / n          # d loss / d z, (n, d)
        grad = -(xc.T @ dz)                      # z = x - x P  =>  d loss / d P = -x^T dz
        p = _fantope(p + lr * (grad + grad.T) / 2, rank)
        return p


def _softmax(m: np.ndarray) -> np.ndarray:
    e = np.exp(m - m.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _fantope(p: np.ndarray, rank: int) -> np.ndarray:
    """Euclidean projection of a symmetric matrix onto the Fantope {0 <= P <= I, trace P = rank}: clip the
    eigenvalues shifted by the theta (found by bisection) that makes them sum to ``rank``."""
    vals, vecs = np.linalg.eigh(p)
    lo, hi = vals.min() - 1.0, vals.max()
    for _ in range(60):  # 2**-60 of the bracket: float64 precision
        theta = (lo + hi) / 2
        if np.clip(vals - theta, 0, 1).sum() > rank:
            lo = theta
        else:
            hi = theta
    lam = np.clip(vals - (lo + hi) / 2, 0, 1)
    return (vecs * lam) @ vecs.T
