"""Bias in word vectors: WEAT (Caliskan et al. 2017), direct bias and hard debias (Bolukbasi et al. 2016); the
report (``bias_report``) also runs the learned erasures of ``debias`` (INLP, R-LACE) and measures them the same way.

Words are looked up exactly, then lower-cased; words still missing are skipped and reported with counts. A set
that loses more than ``max_oov`` of its words is an error (the score would describe a different test).

    >>> from embedlab.analysis.bias import weat, HardDebias, load_word_lists
    >>> lists = load_word_lists()
    >>> t = lists["weat"]["career_family"]
    >>> weat(vectors, t["targets"], t["attributes"]).effect_size
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin

from .._params import check_bool, check_choice, check_float, check_int, check_strings
from ..errors import DimensionError, InputError, MissingDependencyError, not_fitted
from ..evaluate import evaluate_analogies
from ..metrics import as_matrix, normalize
from ..vectors import Vectors
from .debias import INLP, AdversarialProjection


@lru_cache(maxsize=1)
def load_word_lists() -> dict[str, Any]:
    """The curated lists shipped with embedlab: definitional/equalize pairs, gender-specific words, WEAT tests."""
    return json.loads(resources.files("embedlab.data").joinpath("bias_words.json").read_text("utf-8"))


# ------------------------------------------------------------------ lookup
def find_words(vectors: Vectors, words: Sequence[str], lowercase_fallback: bool = True) -> tuple[list[str], list[str]]:
    """Split ``words`` into (keys present in ``vectors``, words missing); found keys keep input order, no repeats.

    With ``lowercase_fallback`` a word missing as given is also tried lower-cased and then Capitalised, so one
    word list serves lower-cased vocabularies (GloVe) and cased ones (GoogleNews: "John", "NASA" stays as is)."""
    found, missing, seen = [], [], set()
    for w in check_strings(words, "words", empty=True):
        key = w if w in vectors else None
        if key is None and lowercase_fallback:
            key = next((c for c in (w.lower(), w.capitalize()) if c in vectors), None)
        if key is None:
            missing.append(w)
        elif key not in seen:
            seen.add(key)
            found.append(key)
    return found, missing


def _check_vectors(vectors: Vectors) -> Vectors:
    if not isinstance(vectors, Vectors):
        raise InputError(f"bias measures need a Vectors table (keys and rows), got {type(vectors).__name__}; "
                         "load one with embedlab.io.load_vectors")
    return vectors


def _check_pairs(pairs: object, name: str) -> list[list[str]]:
    """A list of two-word lists (a lone string or a pair given as "ab" is refused)."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, (Sequence, np.ndarray)):
        raise InputError(f"{name} must be a list of word pairs, got {type(pairs).__name__}")
    out = []
    for pair in pairs:
        words = check_strings(pair, f"each of the {name}", empty=True)
        if len(words) != 2:
            raise InputError(f"{name} need two words each, got {pair!r}")
        out.append(words)
    return out


def _unit_direction(direction: ArrayLike, dim: int) -> np.ndarray:
    d = as_matrix(direction, name="the bias direction")
    if d.shape != (1, dim):
        raise DimensionError(f"the bias direction must be one vector of dimension {dim}, got shape "
                             f"{np.shape(direction)}")
    norm = float(np.linalg.norm(d[0]))
    if norm == 0:
        raise InputError("the bias direction is a zero vector; it has no direction to measure along")
    return d[0] / norm


def _unit_rows(vectors: Vectors, keys: Sequence[str]) -> np.ndarray:
    return normalize(vectors.matrix[[vectors.key_to_index[k] for k in keys]])


def _checked_set(vectors: Vectors, words: Sequence[str], name: str, max_oov: float, fallback: bool,
                 missing: dict[str, list[str]]) -> list[str]:
    words = check_strings(words, f"word set {name}", empty=True)
    if not words:
        raise InputError(f"word set {name} is empty; give at least one word")
    found, lost = find_words(vectors, words, fallback)
    missing[name] = lost
    if not found or len(lost) / len(words) > max_oov:
        raise InputError(
            f"word set {name} lost {len(lost)} of {len(words)} words to the vocabulary ({', '.join(lost[:8])}"
            f"{'...' if len(lost) > 8 else ''}); more than max_oov={max_oov:.0%}: use other words or raise max_oov"
        )
    return found


# -------------------------------------------------------------------- WEAT
@dataclass
class WEATResult:
    """WEAT effect size (Cohen's-d-like, population std as in WEFE), test statistic and permutation p-value."""

    effect_size: float
    statistic: float
    p_value: float
    permutations: int
    exact_p: bool
    words: dict[str, list[str]]
    missing: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"effect_size": self.effect_size, "statistic": self.statistic, "p_value": self.p_value,
                "permutations": self.permutations, "exact_p": self.exact_p,
                "missing": {k: v for k, v in self.missing.items() if v},
                "missing_count": sum(len(v) for v in self.missing.values())}


def association(w: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """s(w, A, B) = mean cos(w, a) - mean cos(w, b), for unit rows ``w`` (float64)."""
    w64 = w.astype(np.float64)
    return (w64 @ a.astype(np.float64).T).mean(1) - (w64 @ b.astype(np.float64).T).mean(1)


def weat(
    vectors: Vectors,
    targets: Sequence[Sequence[str]],
    attributes: Sequence[Sequence[str]],
    permutations: int = 10_000,
    seed: int = 0,
    max_oov: float = 0.2,
    lowercase_fallback: bool = True,
) -> WEATResult:
    """Word Embedding Association Test of targets X, Y against attributes A, B.

    effect size = (mean_x s(x,A,B) - mean_y s(y,A,B)) / std_{w in X∪Y} s(w,A,B);
    p-value = share of equal-size re-partitions of X∪Y whose statistic is >= the observed one (one-sided):
    exact when the partitions number at most ``permutations``, else that many seeded random ones.
    """
    _check_vectors(vectors)
    if isinstance(targets, str) or isinstance(attributes, str) or len(targets) != 2 or len(attributes) != 2:
        raise InputError("WEAT needs exactly two target sets and two attribute sets")
    check_int(permutations, "permutations", low=1)
    check_int(seed, "seed", low=0)
    check_float(max_oov, "max_oov", 0, 1, hint="the share of a word set that may be missing")
    check_bool(lowercase_fallback, "lowercase_fallback")
    missing: dict[str, list[str]] = {}
    x, y = (_checked_set(vectors, t, n, max_oov, lowercase_fallback, missing) for t, n in zip(targets, ("X", "Y"), strict=True))
    a, b = (_checked_set(vectors, t, n, max_oov, lowercase_fallback, missing) for t, n in zip(attributes, ("A", "B"), strict=True))
    s = association(_unit_rows(vectors, x + y), _unit_rows(vectors, a), _unit_rows(vectors, b))
    nx = len(x)
    sx, sy = s[:nx], s[nx:]
    std = s.std()
    effect = float((sx.mean() - sy.mean()) / std) if std > 0 else 0.0
    statistic = float(sx.sum() - sy.sum())
    p, count, exact = _permutation_p(s, nx, statistic, permutations, seed)
    return WEATResult(effect, statistic, p, count, exact, {"X": x, "Y": y, "A": a, "B": b}, missing)


def _permutation_p(s: np.ndarray, nx: int, observed: float, permutations: int, seed: int) -> tuple[float, int, bool]:
    n, total = len(s), s.sum()
    tol = 1e-12 * max(1.0, abs(observed))
    if math.comb(n, nx) <= permutations:
        # every partition: statistic = 2 * sum(s[X_i]) - total
        sums = np.fromiter((s[list(c)].sum() for c in itertools.combinations(range(n), nx)), dtype=np.float64)
        stats = 2.0 * sums - total
        return float((stats >= observed - tol).mean()), len(stats), True
    rng = np.random.default_rng(seed)
    hits, done = 0, 0
    while done < permutations:
        m = min(4096, permutations - done)
        idx = rng.permuted(np.tile(np.arange(n), (m, 1)), axis=1)[:, :nx]
        stats = 2.0 * s[idx].sum(1) - total
        hits += int((stats >= observed - tol).sum())
        done += m
    return (hits + 1) / (permutations + 1), permutations, False


# ------------------------------------------------------- direction and bias
def bias_direction(vectors: Vectors, pairs: Sequence[Sequence[str]], lowercase_fallback: bool = True
                   ) -> tuple[np.ndarray, float, list[tuple[str, str]]]:
    """First principal component of the centred definitional pairs (Bolukbasi et al.).

    Returns (unit direction, its explained-variance ratio, pairs used). The sign is chosen so that the first
    word of each pair (e.g. "woman" in ("woman", "man")) projects positively on average.
    """
    _check_vectors(vectors)
    check_bool(lowercase_fallback, "lowercase_fallback")
    used, rows = [], []
    for pair in _check_pairs(pairs, "definitional pairs"):
        found, _ = find_words(vectors, pair, lowercase_fallback)
        if len(found) == 2:
            u = _unit_rows(vectors, found).astype(np.float64)
            center = u.mean(0)
            rows.extend([u[0] - center, u[1] - center])
            used.append((found[0], found[1]))
    if len(used) < 2:
        raise InputError(f"only {len(used)} definitional pair(s) found in the vocabulary; need at least 2")
    m = np.asarray(rows)
    _, sing, vt = np.linalg.svd(m, full_matrices=False)
    direction = vt[0]
    diffs = m[0::2] - m[1::2]
    if (diffs @ direction).mean() < 0:
        direction = -direction
    ratio = float(sing[0] ** 2 / (sing ** 2).sum())
    return direction.astype(np.float32), ratio, used


def projections(vectors: Vectors, direction: np.ndarray, words: Sequence[str]) -> dict[str, float]:
    """cos(word, direction) for each word present (positive = towards the first word of the pairs)."""
    d = _unit_direction(direction, _check_vectors(vectors).dim)
    found, _ = find_words(vectors, words)
    if not found:
        return {}
    return {w: float(v) for w, v in zip(found, _unit_rows(vectors, found) @ d, strict=True)}


def direct_bias(vectors: Vectors, direction: np.ndarray, neutral_words: Sequence[str], c: float = 1.0) -> float:
    """DirectBias_c = mean over gender-neutral words of |cos(w, g)|^c (Bolukbasi et al. 2016).

    ``c >= 0`` sets the strictness; c = 0 counts every word with any component along g (|cos|^0 = 1 unless
    cos = 0 exactly)."""
    check_float(c, "c", low=0, hint="the strictness exponent")
    c = float(c)
    p = projections(vectors, direction, neutral_words)
    if not p:
        raise InputError("none of the neutral words are in the vocabulary")
    cos = np.abs(np.fromiter(p.values(), dtype=np.float64))
    return float(np.mean(cos ** c if c > 0 else (cos > 0).astype(np.float64)))


# ------------------------------------------------------------- hard debias
class HardDebias(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # scikit-learn has no stubs
    """Hard debias (neutralise + equalise) as a scikit-learn transformer on Vectors.

    ``fit`` learns the bias direction from definitional pairs; ``transform`` returns new unit-length Vectors in
    which every word outside ``gender_specific`` has no component along it, and each equalise pair differs
    only along it (so both words are equally far from every neutral word). Defaults: embedlab's curated lists.
    Its input is a Vectors table, not an array (the word lists need the keys), which its scikit-learn tags
    declare; ``n_features_in_`` is the fitted dimension, and ``transform`` before ``fit`` raises
    ``NotFittedError`` (scikit-learn's, and an ``InputError``).
    """

    def __init__(self, definitional_pairs: Sequence[Sequence[str]] | None = None,
                 equalize_pairs: Sequence[Sequence[str]] | None = None, gender_specific: Sequence[str] | None = None,
                 lowercase_fallback: bool = True) -> None:
        self.definitional_pairs = definitional_pairs
        self.equalize_pairs = equalize_pairs
        self.gender_specific = gender_specific
        self.lowercase_fallback = lowercase_fallback

    def _lists(self) -> tuple[list[list[str]], list[list[str]], list[str]]:
        """The three word lists, the curated ones where a parameter is None (an empty list stays empty)."""
        check_bool(self.lowercase_fallback, "lowercase_fallback")
        lists = load_word_lists()

        def pick(value: object, name: str) -> object:
            return lists[name] if value is None else value

        return (_check_pairs(pick(self.definitional_pairs, "definitional_pairs"), "definitional pairs"),
                _check_pairs(pick(self.equalize_pairs, "equalize_pairs"), "equalize pairs"),
                check_strings(pick(self.gender_specific, "gender_specific"), "gender_specific", empty=True))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # a Vectors table in, a Vectors table (float32) out
        return tags

    def fit(self, vectors: Vectors, y: object = None) -> HardDebias:  # y: ignored (scikit-learn's fit(X, y))
        _check_vectors(vectors)
        definitional, equalize, _ = self._lists()
        self.direction_, self.explained_variance_ratio_, self.pairs_used_ = bias_direction(
            vectors, definitional, self.lowercase_fallback)
        self.equalized_ = self._equalize_rows(vectors, equalize)[0]
        self.n_features_in_ = vectors.dim
        return self

    def _equalize_rows(self, vectors: Vectors, equalize: list[list[str]]) -> tuple[list[tuple[str, ...]], list[list[int]]]:
        """The equalise pairs whose two words ``vectors`` holds (as found there), and their rows."""
        found_pairs: list[tuple[str, ...]] = []
        rows: list[list[int]] = []
        for pair in equalize:
            found, _ = find_words(vectors, pair, self.lowercase_fallback)
            if len(found) == 2:
                found_pairs.append(tuple(found))
                rows.append([vectors.key_to_index[k] for k in found])
        return found_pairs, rows

    def transform(self, vectors: Vectors) -> Vectors:
        if not hasattr(self, "direction_"):
            raise not_fitted(self, "fit(vectors)")
        if _check_vectors(vectors).dim != len(self.direction_):
            raise DimensionError(f"vectors have dimension {vectors.dim}, the fitted direction {len(self.direction_)}")
        _, equalize, specific = self._lists()
        g = self.direction_.astype(np.float32)
        m = normalize(np.asarray(vectors.matrix, dtype=np.float32))
        keep, _ = find_words(vectors, specific, self.lowercase_fallback)
        keep_rows = np.array([vectors.key_to_index[k] for k in keep], dtype=np.int64)
        saved = m[keep_rows].copy()
        m -= np.outer(m @ g, g)                      # neutralise every word ...
        m[keep_rows] = saved                         # ... except the gender-specific ones
        normalize(m, inplace=True)
        for rows in self._equalize_rows(vectors, equalize)[1]:  # (transform leaves the estimator unchanged)
            e = m[rows].astype(np.float64)
            mu = e.mean(0)
            nu = mu - (mu @ g) * g
            scale = math.sqrt(max(0.0, 1.0 - float(nu @ nu)))
            for r, vec in zip(rows, e, strict=True):
                side = np.sign((vec - mu) @ g) or 1.0
                m[r] = (nu + scale * side * g).astype(np.float32)
        return Vectors(vectors.keys, m)


# ------------------------------------------------------------------ report
#: ``bias_report``'s debiasing methods: ``hard`` (``HardDebias``, Bolukbasi et al. 2016), ``inlp`` (``debias.INLP``,
#: Ravfogel et al. 2020) and ``rlace`` (``debias.AdversarialProjection``, R-LACE, Ravfogel et al. 2022).
DEBIAS_METHODS = ("hard", "inlp", "rlace")
_ESTIMATORS: dict[str, type[BaseEstimator]] = {"hard": HardDebias, "inlp": INLP, "rlace": AdversarialProjection}


def bias_report(
    vectors: Vectors,
    tests: Sequence[str] | None = None,
    words: Sequence[str] | None = None,
    permutations: int = 10_000,
    seed: int = 0,
    analogy_restrict: int = 30_000,
    method: str = "hard",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Before/after debiasing: WEAT effect sizes and p-values, direct bias, projections, analogy accuracy.

    Every method is measured the same way: direct bias and projections along the gender direction of the
    definitional pairs in the original vectors (``HardDebias().fit(vectors).direction_``), WEAT on the same word
    lists, analogy accuracy on the same questions.

    Parameters
    ----------
    vectors : Vectors
        The word vectors to measure and debias.
    tests : sequence of str or None
        WEAT tests (``career_family``, ``math_arts``, ``science_arts``); None for all.
    words : sequence of str or None
        Words whose projections on the gender direction are shown; None for the curated professions.
    permutations : int
        Permutations for the WEAT p-values.
    seed : int
        Seeds the WEAT permutations, and INLP's / R-LACE's split and classifiers.
    analogy_restrict : int
        Analogy questions are answered among this many most frequent words.
    method : str
        One of ``DEBIAS_METHODS``.
    options : dict or None
        Constructor parameters of the method's estimator (e.g. ``{"rank": 2}`` for ``rlace``,
        ``{"n_iterations": 5}`` for ``inlp``); ``seed`` comes from ``seed``.

    Returns
    -------
    dict
        ``before`` and ``after`` (each ``weat_effect_size`` of the first test, ``weat``, ``direct_bias``,
        ``projections``, ``analogy_accuracy``: None when the Google analogy file is not installed, which comes
        with the ``eval`` extra), ``direction``, ``method``, ``debias`` (what the method learned: removed
        directions and, for ``inlp`` / ``rlace``, the held-out accuracy of a he/she word classifier before and
        after, and chance), ``permutations`` and ``weat_test``.

    Raises
    ------
    InputError
        For bad settings (checked before any work, as ``check_report``), or what the method's ``fit`` refuses.
    """
    _check_vectors(vectors)
    names, shown = check_report(tests, words, permutations, seed, analogy_restrict, method, options)
    lists = load_word_lists()
    measure = HardDebias().fit(vectors)
    est = _debiaser(method, options, seed)
    if method == "hard":
        est = est.fit(vectors) if options else measure
        direction = est.direction_
    else:
        est.fit(vectors)
        direction = measure.direction_
    after = est.transform(vectors)
    neutral, _ = find_words(vectors, lists["professions"])

    def side(v: Vectors) -> dict[str, Any]:
        results = {n: weat(v, lists["weat"][n]["targets"], lists["weat"][n]["attributes"],
                           permutations=permutations, seed=seed) for n in names}
        return {
            "weat_effect_size": results[names[0]].effect_size,
            "weat": {n: r.as_dict() for n, r in results.items()},
            "direct_bias": direct_bias(v, direction, neutral),
            "projections": projections(v, direction, shown),
            "analogy_accuracy": _analogy_accuracy(v, analogy_restrict),
        }

    return {
        "before": side(vectors),
        "after": side(after),
        "direction": {"explained_variance_ratio": measure.explained_variance_ratio_,
                      "pairs_used": [list(p) for p in measure.pairs_used_]},
        "method": method,
        "debias": _learned(method, est),
        "permutations": permutations,
        "weat_test": names[0],
    }


def check_report(tests: Sequence[str] | None = None, words: Sequence[str] | None = None, permutations: int = 10_000,
                 seed: int = 0, analogy_restrict: int = 30_000, method: str = "hard",
                 options: dict[str, Any] | None = None) -> tuple[list[str], list[str]]:
    """Check ``bias_report``'s settings; cheap, so callers (the CLI) can check before loading vectors.

    Parameters
    ----------
    tests, words, permutations, seed, analogy_restrict, method, options
        As for ``bias_report``.

    Returns
    -------
    tuple of (list of str, list of str)
        The WEAT test names and the words whose projections are shown.

    Raises
    ------
    InputError
        For an unknown test or method, an option the method's estimator does not take (or ``seed``, which
        comes from ``seed``), or a bad number.
    """
    lists = load_word_lists()
    names = list(lists["weat"]) if tests is None else check_strings(tests, "tests")
    unknown = [n for n in names if n not in lists["weat"]]
    if unknown:
        raise InputError(f"unknown WEAT test(s) {unknown}; choose from {', '.join(lists['weat'])}")
    check_int(permutations, "permutations", low=1)
    check_int(seed, "seed", low=0)
    check_int(analogy_restrict, "analogy_restrict", low=1)
    check_choice(method, "method", DEBIAS_METHODS, "debiasing method")
    if options is not None and not isinstance(options, dict):
        raise InputError(f"options must be a dict of {method}'s parameters, got {type(options).__name__}")
    known = set(_ESTIMATORS[method]().get_params()) - {"seed"}
    bad = sorted(set(options or {}) - known)
    if bad:
        raise InputError(f"method {method!r} takes no option(s) {bad} (the seed comes from seed=); its options "
                         f"are {', '.join(sorted(known))}")
    return names, list(lists["professions"]) if words is None else check_strings(words, "words")


def _debiaser(method: str, options: dict[str, Any] | None, seed: int) -> Any:
    """The unfitted estimator of ``method`` with ``options`` (and ``seed`` where it takes one)."""
    kw = dict(options or {})
    if method != "hard":
        kw["seed"] = seed
    return _ESTIMATORS[method](**kw)


def _learned(method: str, est: Any) -> dict[str, Any]:
    """What the fitted estimator of ``method`` learned, JSON-ready."""
    if method == "hard":
        return {"directions_removed": 1, "equalized_pairs": len(est.equalized_)}
    out = {"directions_removed": int(len(est.components_)), "attribute_accuracy_before": est.accuracy_before_,
           "attribute_accuracy_after": est.accuracy_, "chance": est.chance_, "labelled_words": len(est.words_)}
    if method == "inlp":
        out["iterations"] = int(est.n_iter_)
    else:
        out["final_loss"] = est.loss_history_[-1]
    return out


def _analogy_accuracy(vectors: Vectors, restrict: int) -> float | None:
    try:
        return float(evaluate_analogies(vectors, restrict_vocab=restrict).accuracy)
    except MissingDependencyError:
        return None
