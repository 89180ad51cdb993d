"""Clusters of a vector space, named by their items' words: k-means or HDBSCAN, labelled with c-TF-IDF.

    >>> c = cluster_items(matrix, texts, algorithm="kmeans", n_clusters=8, stop_words=["과일"])
    >>> c.labels[:5], c.names[0], c.terms[0][:3], c.sizes

Clustering runs on the original vectors, unit-normalised (so Euclidean k-means / HDBSCAN follow cosine).
Each cluster is then named by class-based TF-IDF (Grootendorst 2022, BERTopic's ``ClassTfidfTransformer``):
the items of a cluster are one document, a term's weight is its L1-normalised frequency in that document times
``log(1 + A / f)``, where ``A`` is the average number of tokens per cluster and ``f`` the term's frequency over
all clusters, so words common everywhere sink. Texts with Hangul are tokenised into Korean content morphemes
(Kiwi, via ``search.tokenize``); other texts into lower-cased words. English and Korean stop words are dropped,
and the user's. HDBSCAN's noise (label -1) is not a cluster: it gets no name and does not count in the c-TF-IDF.
Clusters are numbered by size, largest first (ties: the one whose first item comes first).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._params import check_choice, check_int
from ..errors import InputError
from ..metrics import normalize
from ..search.tokenize import Tokenizer
from .layout import checked_vectors

ALGORITHMS = ("kmeans", "hdbscan")
#: Korean function words and light verbs that Kiwi keeps as content morphemes but that name nothing.
KOREAN_STOP_WORDS = frozenset("""것 수 등 들 및 이 그 저 하 되 있 없 않 같 때 더 또 좀 잘 위 중 후 전 년 월 일 곳 때문
여기 거기 저기 이것 그것 저것 우리 저희 나 너 당신 자기 어떤 무엇 어디 언제 왜 어떻게 아주 매우 너무 정말 다 모두""".split())
#: English stop words on top of the tokenizer's own (which drops articles, pronouns, auxiliaries).
ENGLISH_STOP_WORDS = frozenset("""also about after again against because before below between during each
further here itself many may might much must one only out over said say says under until upon us well would yet
like get got make made use used using""".split())


@dataclass
class Clustering:
    """Cluster labels and names of a set of items (see ``cluster_items``).

    ``labels`` (n,) int32, -1 for HDBSCAN noise; ``names`` one per cluster ("사과 · 바나나 · 과일");
    ``terms`` the top c-TF-IDF ``(term, weight)`` pairs per cluster; ``sizes`` items per cluster.
    """

    labels: np.ndarray
    names: list[str]
    terms: list[list[tuple[str, float]]]
    sizes: list[int]


def cluster_items(vectors: ArrayLike, texts: Sequence[str | None], algorithm: str = "kmeans", n_clusters: int = 8,
                  min_cluster_size: int | None = None, stop_words: Sequence[str] = (), top_n: int = 3,
                  seed: int = 0) -> Clustering:
    """Cluster items by their vectors and name each cluster by its items' most distinctive words.

    Parameters
    ----------
    vectors : array_like
        (n, d) float32 vectors; zero rows are allowed (they have no direction), NaN or infinite ones are not.
    texts : sequence of str or None
        One text per item (``None``: an item without text, it adds no words).
    algorithm : str
        ``"kmeans"`` (scikit-learn KMeans) or ``"hdbscan"`` (scikit-learn HDBSCAN; noise is -1).
    n_clusters : int
        k-means' number of clusters, 1 to n (HDBSCAN finds the number itself and ignores it).
    min_cluster_size : int or None
        HDBSCAN's smallest cluster (at least 2; ``None`` for 5, or n when there are fewer items).
    stop_words : sequence of str
        Words never used in names, on top of the built-in English and Korean ones (compared lower-cased).
    top_n : int
        Terms per cluster in ``names`` and ``terms``.
    seed : int
        Seed of k-means.

    Returns
    -------
    Clustering
        ``labels`` (n,) int32, ``names``, ``terms`` and ``sizes`` per cluster, clusters numbered by size.

    Raises
    ------
    InputError
        An unknown algorithm; texts that are not one string (or None) per vector; n_clusters out of range or
        given to HDBSCAN; min_cluster_size out of range or given to k-means; a bad top_n, seed or stop word.
    NonFiniteError
        NaN or infinity in a row (the first bad rows are named).
    """
    check_choice(algorithm, "algorithm", ALGORITHMS, what="clustering algorithm")
    m = checked_vectors(vectors)
    n = len(m)
    if n == 0:
        raise InputError("no items to cluster; give at least one vector")
    if len(texts) != n:
        raise InputError(f"{len(texts)} texts for {n} vectors; give one text (or None) per vector")
    for i, t in enumerate(texts):
        if t is not None and not isinstance(t, str):
            raise InputError(f"text at position {i} is {type(t).__name__}; give a string or None")
    for w in stop_words:
        if not isinstance(w, str) or not w.strip():
            raise InputError(f"stop words must be non-empty strings, got {w!r}")
    check_int(top_n, "top_n", low=1)
    check_int(seed, "seed", low=0)
    x = normalize(m)
    if algorithm == "kmeans":
        if min_cluster_size is not None:
            raise InputError("min_cluster_size is an HDBSCAN setting; k-means takes n_clusters")
        check_int(n_clusters, "n_clusters", 1, n, hint=f"k-means makes 1 to {n} clusters of {n} items")
        from sklearn.cluster import KMeans

        raw = KMeans(n_clusters, random_state=seed, n_init=4).fit_predict(x)
    else:
        check_int(min_cluster_size, "min_cluster_size", 2, max(2, n), none=True,
                  hint=f"HDBSCAN's clusters hold 2 to {max(2, n)} of {n} items")
        from sklearn.cluster import HDBSCAN

        size = min_cluster_size if min_cluster_size is not None else max(2, min(5, n))
        raw = HDBSCAN(min_cluster_size=size, copy=True).fit_predict(x) if n >= 2 else np.full(n, -1)
    labels = _by_size(np.asarray(raw))
    stop = KOREAN_STOP_WORDS | ENGLISH_STOP_WORDS | {w.strip().lower() for w in stop_words}
    tokens = Tokenizer().tokenize_many([t or "" for t in texts])
    count = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    bags = [Counter() for _ in range(count)]  # type: list[Counter[str]]
    for lab, toks in zip(labels, tokens, strict=True):
        if lab >= 0:
            bags[lab].update(t for t in toks if t.lower() not in stop)
    terms = class_tfidf(bags, top_n)
    names = [" · ".join(t for t, _ in ts) if ts else f"cluster {c + 1}" for c, ts in enumerate(terms)]
    sizes = [int((labels == c).sum()) for c in range(count)]
    return Clustering(labels=labels, names=names, terms=terms, sizes=sizes)


def class_tfidf(bags: Sequence[Counter[str]], top_n: int) -> list[list[tuple[str, float]]]:
    """The ``top_n`` terms of each class by c-TF-IDF (BERTopic's formula, without its options).

    Parameters
    ----------
    bags : sequence of collections.Counter
        Token counts of each class (all its items' tokens together).
    top_n : int
        Terms kept per class.

    Returns
    -------
    list of list of (str, float)
        Per class, ``(term, weight)`` by weight descending (ties: alphabetical); weight = (count / class total)
        * log(1 + A / f), A = int(mean tokens per class), f = the term's count over all classes.
    """
    totals: Counter[str] = Counter()
    for bag in bags:
        totals.update(bag)
    avg = int(sum(sum(b.values()) for b in bags) / len(bags)) if bags else 0
    out = []
    for bag in bags:
        size = sum(bag.values())
        weights = [(t, (c / size) * math.log(1 + avg / totals[t])) for t, c in bag.items()]
        weights.sort(key=lambda tw: (-tw[1], tw[0]))
        out.append(weights[:top_n])
    return out


def _by_size(raw: np.ndarray) -> np.ndarray:
    """Labels renumbered 0, 1, ... by cluster size (largest first; ties by first item), -1 kept, int32."""
    ids = [c for c in dict.fromkeys(raw.tolist()) if c >= 0]  # in order of first appearance
    ids.sort(key=lambda c: -int((raw == c).sum()))  # stable: ties keep first-appearance order
    out = np.full(len(raw), -1, np.int32)
    for new, old in enumerate(ids):
        out[raw == old] = new
    return out
