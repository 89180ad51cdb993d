"""Vectors: a keyed table of float32 vectors (the result of every trainer, the input of analysis).

    >>> v = Vectors(["king", "queen"], np.eye(2, dtype=np.float32))
    >>> v["queen"]
    >>> glove.most_similar(positive=["king", "woman"], negative=["man"], topn=1)   # [('queen', 0.85...)]

Similarity queries follow gensim's KeyedVectors semantics (so numbers can be compared side by side): vectors
are unit-normalised, 3CosAdd ranks by cosine to the mean of the weighted unit vectors, 3CosMul is Levy &
Goldberg's multiplicative objective with cosines shifted to [0, 1] and eps=1e-6. Query keys never come back
as answers. ``restrict_vocab=N`` searches only the first N rows (word files are frequency-ordered).

Code written for gensim's ``KeyedVectors`` runs on a Vectors unchanged: ``index_to_key``, ``key_to_index``,
``vectors``, ``vector_size``, ``get_vector``, ``get_index``, ``has_index_for``, ``most_similar_cosmul``,
``similar_by_word`` / ``similar_by_key`` / ``similar_by_vector``, ``doesnt_match``, ``n_similarity``, ``rank``,
``closer_than``, ``distance(s)``, ``evaluate_word_analogies`` and ``evaluate_word_pairs`` (gensim's return
shapes), ``save_word2vec_format`` / ``load_word2vec_format`` behave as gensim 4.4's, tested side by side.
Deliberate differences: an unknown key is an ``UnknownKeyError`` (a ``KeyError`` naming close keys) everywhere,
also in ``n_similarity`` where gensim skips it silently; a zero vector has cosine 0 (gensim: NaN);
``most_similar_cosmul`` honours ``restrict_vocab`` (gensim 4.4 ignores it).
"""

from __future__ import annotations

import difflib
import numbers
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
from numpy.typing import ArrayLike

from ._params import k_from_topn
from .arithmetic import METHODS, Method, parse_expression
from .errors import DimensionError, InputError, UnknownKeyError
from .metrics import as_matrix, normalize

_EPS_COSMUL = 1e-6


class Vectors:
    """Keys, a key→row map and a float32 (n, d) matrix (possibly memory-mapped, never copied needlessly)."""

    def __init__(self, keys: Sequence[str], matrix: ArrayLike) -> None:
        matrix = matrix if isinstance(matrix, np.memmap) and matrix.dtype == np.float32 else as_matrix(matrix)
        if matrix.ndim != 2:
            raise DimensionError(f"the matrix must be 2-D (n, d), got shape {matrix.shape}")
        keys = [str(k) for k in keys]
        if len(keys) != matrix.shape[0]:
            raise InputError(f"{len(keys)} keys for {matrix.shape[0]} vectors; pass one key per row")
        self.keys: list[str] = keys
        self.key_to_index: dict[str, int] = {k: i for i, k in enumerate(keys)}
        if len(self.key_to_index) != len(keys):
            seen: set[str] = set()
            dup = next(k for k in keys if k in seen or _add(seen, k))
            raise InputError(f"keys must be unique; {dup!r} appears more than once")
        self.matrix: np.ndarray = matrix
        self._unit: np.ndarray | None = None

    # ------------------------------------------------------------------ basics
    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        return self.has_index_for(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys)

    def __repr__(self) -> str:
        mm = ", memory-mapped" if isinstance(self.matrix, np.memmap) else ""
        return f"Vectors({len(self)} keys × {self.dim} dims{mm})"

    def index(self, key: str) -> int:
        """Row of ``key``; UnknownKeyError (with close keys suggested) otherwise."""
        try:
            return self.key_to_index[key]
        except (KeyError, TypeError):
            raise UnknownKeyError(self._unknown_message(key)) from None

    def _unknown_message(self, key: Any) -> str:
        msg = f"{key!r} is not in the vocabulary ({len(self)} keys)"
        if isinstance(key, str):
            close = [v for v in dict.fromkeys((key.lower(), key.capitalize(), key.upper(), key.strip())) if v in self]
            if not close:  # difflib over the most frequent keys only: cheap even for 400k-word tables
                close = difflib.get_close_matches(key, self.keys[:5000], n=3, cutoff=0.75)
            if close:
                msg += "; did you mean " + ", ".join(repr(c) for c in close) + "?"
        return msg

    def __getitem__(self, key: str | int | Sequence[str | int]) -> np.ndarray:
        """The vector of a key (1-D), or of each key of a list (2-D, as gensim's ``kv[["a", "b"]]``)."""
        if isinstance(key, (str, int, np.integer)):
            return self.matrix[self.get_index(key)]
        return np.vstack([self.matrix[self.get_index(k)] for k in key])

    def get(self, key: str, default: Any = None) -> np.ndarray | Any:
        """The vector of ``key`` or ``default``."""
        i = self.key_to_index.get(key)
        return default if i is None else self.matrix[i]

    # ------------------------------------------------------------------ normalised view
    def unit_matrix(self) -> np.ndarray:
        """The row-normalised matrix (float32), computed once and cached; zero rows stay zero."""
        if self._unit is None:
            self._unit = normalize(np.asarray(self.matrix, dtype=np.float32))
        return self._unit

    def normalized(self) -> Vectors:
        """A new Vectors whose rows have unit length (shares the cached normalised matrix)."""
        out = Vectors.__new__(Vectors)
        out.keys, out.key_to_index = self.keys, self.key_to_index
        out.matrix = self.unit_matrix()
        out._unit = out.matrix
        return out

    def subset(self, keys: Iterable[str]) -> Vectors:
        """A new Vectors with only ``keys``, in the given order (rows are copied)."""
        keys = list(keys)
        rows = np.fromiter((self.index(k) for k in keys), dtype=np.int64, count=len(keys))
        return Vectors(keys, np.ascontiguousarray(self.matrix[rows], dtype=np.float32))

    # ------------------------------------------------------------------ vectors from keys and expressions
    def vector(self, key_or_expr: str | ArrayLike, norm: bool = False) -> np.ndarray:
        """The vector of a key, or of an expression such as ``"king - man + woman"`` (sum of raw vectors).

        With ``norm=True`` the key's unit vector (or the sum of unit vectors) is used.
        """
        if not isinstance(key_or_expr, str):  # a raw vector (array or list of numbers)
            return as_matrix(key_or_expr, dim=self.dim, name="vector")[0]
        if key_or_expr in self.key_to_index:
            i = self.key_to_index[key_or_expr]
            return self.unit_matrix()[i] if norm else self.matrix[i]
        positive, negative = parse_expression(key_or_expr, vocab=self.key_to_index)
        if len(positive) == 1 and not negative:
            self.index(positive[0])  # raises UnknownKeyError with suggestions
        src = self.unit_matrix() if norm else self.matrix
        out = np.zeros(self.dim, dtype=np.float32)
        for k in positive:
            out += src[self.index(k)]
        for k in negative:
            out -= src[self.index(k)]
        return out

    def similarity(self, a: str | ArrayLike, b: str | ArrayLike) -> float:
        """Cosine similarity of two keys (or raw vectors); 0 when either is a zero vector."""
        va, vb = self._unit_of(a), self._unit_of(b)
        return float(np.dot(va, vb))

    def similarities(self, key: str | ArrayLike, others: Iterable[str | ArrayLike]) -> np.ndarray:
        """Cosine similarity of ``key`` to each of ``others`` (float32 array)."""
        va = self._unit_of(key)
        others = list(others)
        rows = np.stack([self._unit_of(o) for o in others]) if others else np.zeros((0, self.dim), np.float32)
        return rows @ va

    def _unit_of(self, item: str | ArrayLike) -> np.ndarray:
        if isinstance(item, str):
            return self.unit_matrix()[self.index(item)]
        return normalize(as_matrix(item, dim=self.dim, name="vector"))[0]

    # ------------------------------------------------------------------ neighbour queries
    def most_similar(
        self,
        positive: str | ArrayLike | Iterable[Any] | None = (),
        negative: str | ArrayLike | Iterable[Any] | None = (),
        topn: int | None = 10,
        restrict_vocab: int | None = None,
        method: Method = "3cosadd",
        exclude: Iterable[str] | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Keys nearest to ``sum(positive) - sum(negative)`` as ``[(key, score), ...]``, best first.

        ``positive``/``negative`` hold keys, int rows or raw vectors (a single one is accepted too), each
        optionally as a ``(item, weight)`` pair as in gensim (3CosAdd only; a negative's weight replaces -1).
        Query keys and ``exclude`` never appear in the answer. ``topn=None`` returns the raw score array.
        """
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        pos_items, neg_items = _as_list(positive), _as_list(negative)
        if not pos_items and not neg_items:
            raise InputError("most_similar needs at least one positive or negative key")
        if method == "3cosmul" and not pos_items:
            raise InputError("3cosmul needs at least one positive key")
        if topn is not None and topn < 1:
            return []
        if restrict_vocab is not None and (isinstance(restrict_vocab, bool) or not isinstance(
                restrict_vocab, (int, np.integer)) or restrict_vocab < 1):
            raise InputError(f"restrict_vocab must be a positive integer or None, got {restrict_vocab!r}")
        terms = [(*_weighted(x, 1.0), True) for x in pos_items] + [(*_weighted(x, -1.0), False) for x in neg_items]
        if method == "3cosmul" and any(w not in (1.0, -1.0) for _, w, _ in terms):
            raise InputError("3cosmul takes no weights; pass plain keys or use method='3cosadd'")
        n = len(self) if restrict_vocab is None else min(int(restrict_vocab), len(self))
        unit = self.unit_matrix()[:n]
        skip = {self.get_index(k) for k, _, _ in terms if _is_key(k)}
        skip |= {self.index(k) for k in (exclude or ())}

        if method == "3cosadd":
            mean = np.zeros(self.dim, dtype=np.float32)
            for item, weight, _ in terms:
                mean += np.float32(weight) * self._query_vec(item)
            mean = normalize(mean)[0]
            scores = unit @ mean
        else:
            scores = np.ones(n, dtype=np.float32)
            denom = np.ones(n, dtype=np.float32)
            for item, _, is_pos in terms:
                target = scores if is_pos else denom
                target *= (1.0 + unit @ self._query_vec(item)) / 2.0
            scores /= denom + np.float32(_EPS_COSMUL)
        if topn is None:
            return scores
        return self._top(scores, topn, skip)

    def _query_vec(self, item: str | int | ArrayLike) -> np.ndarray:
        """Unit vector of a key (or int row); a raw vector is used as given (gensim's convention)."""
        if _is_key(item):
            return self.unit_matrix()[self.get_index(item)]
        return as_matrix(item, dim=self.dim, name="query vector")[0]

    def _top(self, scores: np.ndarray, topn: int, skip: set[int]) -> list[tuple[str, float]]:
        k = min(topn + len(skip), scores.shape[0])
        if k <= 0:
            return []
        if k < scores.shape[0]:
            cand = np.argpartition(-scores, k - 1)[:k]
        else:
            cand = np.arange(scores.shape[0])
        cand = cand[np.argsort(-scores[cand], kind="stable")]
        out = [(self.keys[i], float(scores[i])) for i in cand.tolist() if i not in skip]
        return out[:topn]

    def similar_by_vector(
        self, vector: ArrayLike, topn: int = 10, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        """Keys whose vectors are most cosine-similar to a raw vector (nothing excluded)."""
        return _ranked(self.most_similar(positive=[np.asarray(vector, dtype=np.float32)], topn=topn,
                                         restrict_vocab=restrict_vocab))

    def analogy(self, a: str, b: str, c: str, k: int | None = None, method: Method = "3cosadd",
                restrict_vocab: int | None = None, *, topn: int | None = None) -> list[tuple[str, float]]:
        """"``a`` is to ``b`` as ``c`` is to ?" — the ``k`` keys nearest to ``b - a + c``.

        Parameters
        ----------
        a, b, c : str
            Keys; none of them is an answer.
        k : int
            How many answers (default 1). ``topn`` is its deprecated old name.
        method : {"3cosadd", "3cosmul"}
            Mikolov et al. 2013's additive objective or Levy & Goldberg 2014's multiplicative one.
        restrict_vocab : int, optional
            Search only the first N rows.

        Returns
        -------
        list of (str, float)
            Best first, scores higher-is-better.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks (naming close keys).
        InputError
            For a bad ``k``, ``method`` or ``restrict_vocab``.
        """
        k = k_from_topn(k, topn, "Vectors.analogy", 1)
        return _ranked(self.most_similar(positive=[b, c], negative=[a], topn=k, method=method,
                                         restrict_vocab=restrict_vocab))

    def arithmetic(self, expr: str, k: int | None = None, method: Method = "3cosadd",
                   restrict_vocab: int | None = None, *, topn: int | None = None) -> list[tuple[str, float]]:
        """Answer an expression such as ``"king - man + woman"`` (parsed by ``embedlab.arithmetic``).

        Parameters
        ----------
        expr : str
            Keys joined by ``+`` / ``-`` (quote keys holding spaces or operators).
        k : int
            How many answers (default 5). ``topn`` is its deprecated old name.
        method : {"3cosadd", "3cosmul"}
        restrict_vocab : int, optional
            Search only the first N rows.

        Returns
        -------
        list of (str, float)
            Best first; the expression's own keys never appear.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks (naming close keys).
        InputError
            For an unreadable expression or a bad ``k``.
        """
        k = k_from_topn(k, topn, "Vectors.arithmetic", 5)
        positive, negative = parse_expression(expr, vocab=self.key_to_index)
        return _ranked(self.most_similar(positive=positive, negative=negative, topn=k, method=method,
                                         restrict_vocab=restrict_vocab))

    # ------------------------------------------------------------------ gensim KeyedVectors names
    @property
    def index_to_key(self) -> list[str]:
        """gensim's name for ``keys`` (the same list: row i holds ``index_to_key[i]``)."""
        return self.keys

    @property
    def vectors(self) -> np.ndarray:
        """gensim's name for ``matrix`` (the same array, not a copy)."""
        return self.matrix

    @property
    def vector_size(self) -> int:
        """gensim's name for ``dim``."""
        return self.dim

    def get_index(self, key: str | int | np.integer[Any], default: int | None = None) -> int:
        """Row of ``key``; an int in range is taken as a row itself (gensim); ``default`` or UnknownKeyError."""
        if isinstance(key, str):
            i = self.key_to_index.get(key)
            if i is not None:
                return i
        elif isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < len(self):
            return int(key)
        if default is not None:
            return default
        raise UnknownKeyError(self._unknown_message(key))

    def has_index_for(self, key: object) -> bool:
        """Whether ``key`` (or an int row) has a vector here; ``key in vectors`` asks the same."""
        if isinstance(key, (str, int, np.integer)):
            return self.get_index(key, -1) >= 0
        return False

    def get_vector(self, key: str | int | np.integer[Any], norm: bool = False) -> np.ndarray:
        """The vector of ``key`` (read-only view); ``norm=True``: its unit-length version."""
        i = self.get_index(key)
        out = self.unit_matrix()[i] if norm else self.matrix[i]
        view = out.view()
        view.setflags(write=False)
        return view

    def get_normed_vectors(self) -> np.ndarray:
        """Every row scaled to unit length (gensim's name for ``unit_matrix()``)."""
        return self.unit_matrix()

    def get_mean_vector(self, keys: Sequence[str | int | np.ndarray] | np.ndarray,
                        weights: ArrayLike | None = None, pre_normalize: bool = True, post_normalize: bool = False,
                        ignore_missing: bool = True) -> np.ndarray:
        """Weighted mean of the vectors of ``keys`` (keys, rows or raw vectors), divided by the sum of |weights|.

        ``pre_normalize`` uses unit vectors of keys (raw vectors as given), ``post_normalize`` scales the mean
        to unit length; unknown keys are skipped with ``ignore_missing`` (gensim's default), else UnknownKeyError.
        """
        items = list(keys)
        if not items:
            raise InputError("get_mean_vector needs at least one key or vector")
        w = np.ones(len(items), np.float32) if weights is None else np.asarray(weights, np.float32).reshape(-1)
        if w.shape[0] != len(items):
            raise InputError(f"{len(items)} keys but {w.shape[0]} weights; pass one weight per key")
        mean = np.zeros(self.dim, np.float32)
        total = 0.0
        for item, weight in zip(items, w.tolist(), strict=True):
            if isinstance(item, np.ndarray):
                vec = as_matrix(item, dim=self.dim, name="vector")[0]
            elif self.has_index_for(item):
                vec = self.get_vector(item, norm=pre_normalize)
            elif ignore_missing:
                continue
            else:
                raise UnknownKeyError(self._unknown_message(item))
            mean += np.float32(weight) * vec
            total += abs(weight)
        if total > 0:
            mean /= np.float32(total)
        return normalize(mean)[0] if post_normalize else mean

    def similar_by_word(self, word: str, topn: int | None = 10,
                        restrict_vocab: int | None = None) -> list[tuple[str, float]] | np.ndarray:
        """The keys nearest to ``word`` (the key itself left out), as gensim's ``similar_by_word``."""
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_key = similar_by_word

    def most_similar_cosmul(
        self,
        positive: str | ArrayLike | Iterable[str | ArrayLike] | None = None,
        negative: str | ArrayLike | Iterable[str | ArrayLike] | None = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Levy & Goldberg's multiplicative objective (3CosMul), as gensim's ``most_similar_cosmul``."""
        return self.most_similar(positive=positive, negative=negative, topn=topn, restrict_vocab=restrict_vocab,
                                 method="3cosmul")

    def most_similar_to_given(self, key1: str, keys_list: Sequence[str]) -> str:
        """The key of ``keys_list`` most similar to ``key1``."""
        if not keys_list:
            raise InputError("keys_list is empty; pass at least one key to choose from")
        return keys_list[int(np.argmax(self.similarities(key1, keys_list)))]

    def rank_by_centrality(self, words: Sequence[str], use_norm: bool = True) -> list[tuple[float, str]]:
        """``[(cosine to the centroid, word), ...]`` most central first; unknown words are skipped with a warning."""
        used = [w for w in words if w in self]
        if len(used) != len(words):
            missing = sorted({w for w in words if w not in self})
            warnings.warn(f"vectors for {missing} are not present; ignoring them", UserWarning, stacklevel=2)
        if not used:
            raise InputError("cannot pick a word from an empty list (no word is in the vocabulary)")
        rows = np.vstack([self.get_vector(w, norm=use_norm) for w in used]).astype(np.float32)
        mean = self.get_mean_vector(rows, post_normalize=True)
        dists = rows @ mean
        return sorted(zip(dists.tolist(), used, strict=True), reverse=True)

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the centroid of ``words`` (unknown words skipped with a warning)."""
        return self.rank_by_centrality(words)[-1][1]

    def n_similarity(self, ws1: Sequence[str], ws2: Sequence[str]) -> float:
        """Cosine between the means of the raw vectors of two key sets (UnknownKeyError for an unknown key)."""
        if not len(ws1) or not len(ws2):
            raise InputError("n_similarity needs two non-empty lists of keys")
        for k in (*ws1, *ws2):
            self.get_index(k)
        m1 = self.get_mean_vector(list(ws1), pre_normalize=False)
        m2 = self.get_mean_vector(list(ws2), pre_normalize=False)
        return float(normalize(m1)[0] @ normalize(m2)[0])

    @staticmethod
    def cosine_similarities(vector_1: ArrayLike, vectors_all: ArrayLike) -> np.ndarray:
        """Cosine of one vector with each row of ``vectors_all`` (0 for a zero vector)."""
        rows = normalize(as_matrix(vectors_all, name="vectors_all"))
        return rows @ normalize(as_matrix(vector_1, dim=rows.shape[1], name="vector_1"))[0]

    def distances(self, word_or_vector: str | ArrayLike, other_words: Iterable[str] = ()) -> np.ndarray:
        """Cosine distance (1 - cosine) from a key or vector to each of ``other_words``, or to every key."""
        u = self._unit_of(word_or_vector)
        others = list(other_words)
        if not others:
            return np.float32(1.0) - self.unit_matrix() @ u
        rows = np.fromiter((self.get_index(k) for k in others), dtype=np.int64, count=len(others))
        return np.float32(1.0) - self.unit_matrix()[rows] @ u

    def distance(self, w1: str | ArrayLike, w2: str | ArrayLike) -> float:
        """Cosine distance ``1 - similarity(w1, w2)``."""
        return 1.0 - self.similarity(w1, w2)

    def closer_than(self, key1: str, key2: str) -> list[str]:
        """Every key closer (cosine) to ``key1`` than ``key2`` is, in row order, ``key1`` left out."""
        i1, i2 = self.get_index(key1), self.get_index(key2)
        d = self.distances(key1)
        return [self.keys[i] for i in np.flatnonzero(d < d[i2]).tolist() if i != i1]

    def rank(self, key1: str, key2: str) -> int:
        """Rank of ``key2`` among the neighbours of ``key1`` (1 = nearest): ``len(closer_than) + 1``."""
        return len(self.closer_than(key1, key2)) + 1

    def evaluate_word_analogies(self, analogies: str | Path, restrict_vocab: int | None = 300000,
                                case_insensitive: bool = True, dummy4unknown: bool = False,
                                similarity_function: str = "most_similar") -> tuple[float, list[dict[str, Any]]]:
        """gensim's ``(score, sections)``: ``sections`` is one ``{"section", "correct", "incorrect"}`` dict per
        section of the file (lists of 4-word tuples) plus a last ``"Total accuracy"`` one.
        ``similarity_function="most_similar_cosmul"`` answers with 3CosMul. ``analogies`` is a file or a name
        (``questions-words``); ``embedlab.evaluate.evaluate_analogies`` gives the same numbers as a report."""
        from .evaluate.keyedvectors import word_analogies

        return word_analogies(self, analogies, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive,
                              dummy4unknown=dummy4unknown, similarity_function=similarity_function)

    def evaluate_word_pairs(self, pairs: str | Path, delimiter: str = "\t", encoding: str = "utf8",
                            restrict_vocab: int | None = 300000, case_insensitive: bool = True,
                            dummy4unknown: bool = False) -> tuple[Any, Any, float]:
        """gensim's ``(pearson, spearman, oov_ratio)``: scipy's results (``[0]`` the coefficient, ``[1]`` the
        p-value) and the percentage of pairs with an unknown word. ``pairs`` is a file or ``wordsim353`` /
        ``simlex999``."""
        from .evaluate.keyedvectors import word_pairs

        return word_pairs(self, pairs, delimiter=delimiter, encoding=encoding, restrict_vocab=restrict_vocab,
                          case_insensitive=case_insensitive, dummy4unknown=dummy4unknown)

    def save_word2vec_format(self, fname: str | Path, binary: bool = False) -> Path:
        """Write the word2vec text (or ``binary=True``) format, as gensim's ``save_word2vec_format``."""
        from .formats import word2vec

        return word2vec.write(self, fname, binary=binary)

    @classmethod
    def load_word2vec_format(cls, fname: str | Path, binary: bool = False, limit: int | None = None,
                             **options: Any) -> Vectors:
        """Read a word2vec text or binary file, as gensim's ``KeyedVectors.load_word2vec_format``."""
        from .formats import word2vec

        return cls(*word2vec.read(fname, binary=binary, limit=limit, **options))

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path, format: str | None = None, **options: Any) -> Path:
        """Write to ``path``; the format comes from ``format`` or the extension (``.bin`` binary word2vec, ``.npy``,
        ``.safetensors``, a folder or ``.tsv`` → projector, anything else → word2vec text; see embedlab.formats).

        Returns
        -------
        Path
            What was written.

        Raises
        ------
        InputError
            For an unknown format, or keys the format cannot hold (spaces in word2vec, tabs in TSV).
        StorageFullError, ReadOnlyStorageError
            When the disk is full or cannot be written.
        """
        from .formats import write_any

        return write_any(self, path, format=format, **options)

    @classmethod
    def load(cls, path: str | Path, format: str | None = None, mmap: bool = False, **options: Any) -> Vectors:
        """Read any format embedlab writes: word2vec text/binary, npy, safetensors (+ key sidecar), a projector
        folder, or the output folder of a training command (``format=None`` detects which).

        Parameters
        ----------
        path : path-like
        format : str, optional
            ``word2vec``, ``word2vec-binary``, ``npy``, ``safetensors`` or ``projector`` (aliases: txt, bin, tsv).
        mmap : bool
            Memory-map the matrix read-only where the format allows.
        **options
            The word2vec reader's ``limit``, ``encoding``, ``unicode_errors``.

        Returns
        -------
        Vectors

        Raises
        ------
        InputError
            For a missing path, an unknown format, or a folder without vectors.
        CorruptFileError, NonFiniteError, FormatVersionError
            For a damaged file, naming it and the line or byte offset.
        """
        from .formats import read_any

        return cls(*read_any(path, format=format, mmap=mmap, **options))


def _ranked(result: list[tuple[str, float]] | np.ndarray) -> list[tuple[str, float]]:
    """``most_similar``'s answer when ``topn`` is an int (the ranked list, not the raw scores)."""
    if not isinstance(result, list):  # pragma: no cover - callers always pass an int topn
        raise TypeError("expected a ranked list")
    return result


def _add(seen: set[str], key: str) -> bool:
    seen.add(key)
    return False


def _as_list(x: Any) -> list[Any]:
    """gensim's ``_ensure_list``: one key or vector becomes a list of one; a 2-D array, a list of its rows."""
    if x is None:
        return []
    if isinstance(x, np.ndarray) and x.ndim == 2:
        return list(x)
    if isinstance(x, (str, int, np.integer, np.ndarray)):
        return [x]
    return list(x)


def _is_key(item: Any) -> TypeGuard[str | int | np.integer[Any]]:
    """A key or an int row (not a raw vector)."""
    return isinstance(item, (str, int, np.integer)) and not isinstance(item, bool)


def _weighted(item: Any, default: float) -> tuple[Any, float]:
    """``(item, weight)`` of a query term: gensim's ``(key, weight)`` pair, or the item with ``default``."""
    if (isinstance(item, tuple) and len(item) == 2 and (_is_key(item[0]) or isinstance(item[0], np.ndarray))
            and isinstance(item[1], numbers.Real) and not isinstance(item[1], bool)):
        return item[0], float(item[1])
    return item, default
