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
from typing import Any, TypeAlias, TypeGuard, overload

import numpy as np
from numpy.typing import ArrayLike

from ._params import k_from_topn
from .arithmetic import METHODS, Method, parse_expression
from .errors import DimensionError, InputError, UnknownKeyError
from .evaluate.keyedvectors import word_analogies, word_pairs
from .formats import read_any, word2vec, write_any
from .metrics import as_matrix, normalize

_EPS_COSMUL = 1e-6

#: What ``most_similar``'s ``positive`` / ``negative`` take: one key, row or raw vector, or an iterable of them (each
#: possibly a ``(item, weight)`` pair), or None.
_Terms: TypeAlias = str | int | np.integer[Any] | ArrayLike | Iterable[Any] | None


class Vectors:
    """A keyed table of float32 vectors: keys, a key → row map and an ``(n, d)`` matrix.

    The matrix may be memory-mapped (``Vectors.load(..., mmap=True)``) and is never copied needlessly: a float32
    ``np.memmap`` is kept as given, anything else goes through ``metrics.as_matrix`` (C-contiguous float32).

    Parameters
    ----------
    keys : sequence of str
        One key per row, unique (each is converted with ``str``).
    matrix : array_like of shape (n, d)
        The vectors, row ``i`` for ``keys[i]``; stored as float32.

    Attributes
    ----------
    keys : list of str
        The keys in row order (gensim: ``index_to_key``).
    key_to_index : dict of str to int
        Key → row (gensim's name too).
    matrix : numpy.ndarray of shape (n, d)
        float32, possibly a read-only ``np.memmap`` (gensim: ``vectors``).

    Raises
    ------
    DimensionError
        When ``matrix`` is not 2-D.
    InputError
        When there is not one key per row, a key appears twice, or ``matrix`` is not numeric.
    NonFiniteError
        When ``matrix`` holds NaN or infinity.
    """

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
        """The dimension ``d`` of the vectors.

        Returns
        -------
        int
            The matrix's number of columns.
        """
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
        """The row of ``key``.

        Parameters
        ----------
        key : str
            A key of the table.

        Returns
        -------
        int
            Its row, in ``[0, len(self))``.

        Raises
        ------
        UnknownKeyError
            When the table lacks ``key`` (the message suggests close keys).
        """
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
        """The vector of ``key``, or ``default`` when the table lacks it (as ``dict.get``).

        Parameters
        ----------
        key : str
            The key to look up.
        default : object, optional
            What to return for a missing key.

        Returns
        -------
        numpy.ndarray of shape (d,) or object
            The float32 row (a view of ``matrix``), or ``default``.
        """
        i = self.key_to_index.get(key)
        return default if i is None else self.matrix[i]

    # ------------------------------------------------------------------ normalised view
    def unit_matrix(self) -> np.ndarray:
        """The row-normalised matrix, computed once and cached; zero rows stay zero.

        Returns
        -------
        numpy.ndarray of shape (n, d)
            float32 rows of unit L2 length (or zero). Do not write to it: it is shared by every query.

        Raises
        ------
        NonFiniteError
            When a memory-mapped matrix (not checked on load) holds NaN or infinity.
        """
        if self._unit is None:
            self._unit = normalize(np.asarray(self.matrix, dtype=np.float32))
        return self._unit

    def normalized(self) -> Vectors:
        """A new Vectors whose rows have unit length (sharing the cached normalised matrix and the keys).

        Returns
        -------
        Vectors
            The same keys over ``unit_matrix()``.
        """
        out = Vectors.__new__(Vectors)
        out.keys, out.key_to_index = self.keys, self.key_to_index
        out.matrix = self.unit_matrix()
        out._unit = out.matrix
        return out

    def subset(self, keys: Iterable[str]) -> Vectors:
        """A new Vectors with only ``keys``, in the given order (the rows are copied).

        Parameters
        ----------
        keys : iterable of str
            Keys of this table, each once.

        Returns
        -------
        Vectors
            ``len(keys)`` rows, float32.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks.
        InputError
            When a key is given twice.
        """
        keys = list(keys)
        rows = np.fromiter((self.index(k) for k in keys), dtype=np.int64, count=len(keys))
        return Vectors(keys, np.ascontiguousarray(self.matrix[rows], dtype=np.float32))

    # ------------------------------------------------------------------ vectors from keys and expressions
    def vector(self, key_or_expr: str | ArrayLike, norm: bool = False) -> np.ndarray:
        """The vector of a key, or of an expression such as ``"king - man + woman"`` (the sum of raw vectors).

        Parameters
        ----------
        key_or_expr : str or array_like of shape (d,)
            A key, an expression parsed by ``embedlab.arithmetic.parse_expression`` (a key holding ``+`` / ``-``
            is taken whole), or a raw vector (returned as float32).
        norm : bool, default False
            Use the keys' unit vectors (the sum of unit vectors for an expression).

        Returns
        -------
        numpy.ndarray of shape (d,)
            float32; for a key, a row of ``matrix`` or ``unit_matrix()`` (not a copy).

        Raises
        ------
        UnknownKeyError
            For a key the table lacks (naming close keys).
        InputError
            For an unreadable expression, or a raw vector that is not numeric.
        DimensionError
            For a raw vector whose length is not ``dim``.
        NonFiniteError
            For a raw vector holding NaN or infinity.
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
        """Cosine similarity of two keys (or raw vectors); 0 when either is a zero vector.

        Parameters
        ----------
        a, b : str or array_like of shape (d,)
            Keys of the table or raw vectors.

        Returns
        -------
        float
            The cosine, in [-1, 1].

        Raises
        ------
        UnknownKeyError
            For a key the table lacks.
        DimensionError, NonFiniteError, InputError
            For a raw vector of the wrong length, holding NaN/infinity, or not numeric.
        """
        va, vb = self._unit_of(a), self._unit_of(b)
        return float(np.dot(va, vb))

    def similarities(self, key: str | ArrayLike, others: Iterable[str | ArrayLike]) -> np.ndarray:
        """Cosine similarity of ``key`` to each of ``others``.

        Parameters
        ----------
        key : str or array_like of shape (d,)
            A key or a raw vector.
        others : iterable of (str or array_like of shape (d,))
            Keys or raw vectors.

        Returns
        -------
        numpy.ndarray of shape (len(others),)
            float32 cosines in [-1, 1] (0 for a zero vector).

        Raises
        ------
        UnknownKeyError
            For a key the table lacks.
        DimensionError, NonFiniteError, InputError
            For a raw vector of the wrong length, holding NaN/infinity, or not numeric.
        """
        va = self._unit_of(key)
        others = list(others)
        rows = np.stack([self._unit_of(o) for o in others]) if others else np.zeros((0, self.dim), np.float32)
        return rows @ va

    def _unit_of(self, item: str | ArrayLike) -> np.ndarray:
        if isinstance(item, str):
            return self.unit_matrix()[self.index(item)]
        return normalize(as_matrix(item, dim=self.dim, name="vector"))[0]

    # ------------------------------------------------------------------ neighbour queries
    @overload
    def most_similar(self, positive: _Terms = (), negative: _Terms = (), topn: int = 10,  # numpydoc ignore=GL08
                     restrict_vocab: int | None = None, method: Method = "3cosadd",
                     exclude: Iterable[str] | None = None) -> list[tuple[str, float]]: ...

    @overload
    def most_similar(self, positive: _Terms, negative: _Terms, topn: None,  # numpydoc ignore=GL08
                     restrict_vocab: int | None = None, method: Method = "3cosadd",
                     exclude: Iterable[str] | None = None) -> np.ndarray: ...

    @overload
    def most_similar(self, positive: _Terms = (), negative: _Terms = (), *, topn: None,  # numpydoc ignore=GL08
                     restrict_vocab: int | None = None, method: Method = "3cosadd",
                     exclude: Iterable[str] | None = None) -> np.ndarray: ...

    @overload
    def most_similar(self, positive: _Terms = (), negative: _Terms = (),  # numpydoc ignore=GL08
                     topn: int | None = 10, restrict_vocab: int | None = None, method: Method = "3cosadd",
                     exclude: Iterable[str] | None = None) -> list[tuple[str, float]] | np.ndarray: ...

    def most_similar(
        self,
        positive: _Terms = (),
        negative: _Terms = (),
        topn: int | None = 10,
        restrict_vocab: int | None = None,
        method: Method = "3cosadd",
        exclude: Iterable[str] | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """The keys nearest to ``sum(positive) - sum(negative)``, best first (gensim's ``most_similar``).

        3CosAdd (Mikolov et al. 2013, gensim's default) ranks by cosine to the mean of the weighted unit vectors;
        3CosMul (Levy & Goldberg 2014) by the product of the positives' cosines over the negatives', each shifted
        to [0, 1], with eps = 1e-6, as gensim's ``most_similar_cosmul``. Query keys and ``exclude`` never appear
        in the answer.

        Parameters
        ----------
        positive, negative : str, int, array_like or iterable of them, optional
            Keys, int rows or raw ``(d,)`` vectors (a single one is accepted too; a 2-D array is a list of its
            rows), each optionally as a ``(item, weight)`` pair as in gensim (3CosAdd only; a negative's weight
            replaces -1). A key or row stands for its unit vector; a raw vector is used as given.
        topn : int or None, default 10
            How many results (gensim's name; fewer than 1 gives ``[]``). None returns the raw score of every row.
        restrict_vocab : int, optional
            Search only the first N rows (word files are frequency-ordered).
        method : {"3cosadd", "3cosmul"}, default "3cosadd"
            The objective (see above).
        exclude : iterable of str, optional
            Keys never to return, besides the query's own.

        Returns
        -------
        list of (str, float) or numpy.ndarray
            With an int ``topn``: ``[(key, score), ...]``, best first, scores higher-is-better (cosines in
            [-1, 1] for 3CosAdd). With ``topn=None``: the float32 ``(min(n, restrict_vocab),)`` scores of the
            searched rows, query keys included.

        Raises
        ------
        InputError
            For an unknown ``method``, no term at all, 3CosMul without a positive term or with weights, or a
            ``restrict_vocab`` that is not a positive integer.
        UnknownKeyError
            For a key (of the terms or of ``exclude``) the table lacks, naming close keys.
        DimensionError, NonFiniteError
            For a raw vector of the wrong length or holding NaN/infinity.
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
        """The keys whose vectors are most cosine-similar to a raw vector (nothing excluded; gensim's name).

        Parameters
        ----------
        vector : array_like of shape (d,)
            The query vector.
        topn : int, default 10
            How many results.
        restrict_vocab : int, optional
            Search only the first N rows.

        Returns
        -------
        list of (str, float)
            ``(key, cosine)`` pairs, best first.

        Raises
        ------
        DimensionError, NonFiniteError, InputError
            For a vector of the wrong length, holding NaN/infinity, or not numeric; InputError also for a bad
            ``restrict_vocab``.
        """
        return self.most_similar(positive=[np.asarray(vector, dtype=np.float32)], topn=topn,
                                 restrict_vocab=restrict_vocab)

    def analogy(self, a: str, b: str, c: str, k: int | None = None, method: Method = "3cosadd",
                restrict_vocab: int | None = None, *, topn: int | None = None) -> list[tuple[str, float]]:
        """"``a`` is to ``b`` as ``c`` is to ?" — the ``k`` keys nearest to ``b - a + c``.

        Parameters
        ----------
        a, b, c : str
            Keys; none of them is an answer.
        k : int, optional
            How many answers (default 1).
        method : {"3cosadd", "3cosmul"}, default "3cosadd"
            Mikolov et al. 2013's additive objective or Levy & Goldberg 2014's multiplicative one.
        restrict_vocab : int, optional
            Search only the first N rows.
        topn : int, optional
            The deprecated old name of ``k`` (a ``DeprecationWarning``).

        Returns
        -------
        list of (str, float)
            Best first, scores higher-is-better.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks (naming close keys).
        InputError
            For a bad ``k``, ``method`` or ``restrict_vocab``, or both ``k`` and ``topn``.
        """
        k = k_from_topn(k, topn, "Vectors.analogy", 1)
        return self.most_similar(positive=[b, c], negative=[a], topn=k, method=method, restrict_vocab=restrict_vocab)

    def arithmetic(self, expr: str, k: int | None = None, method: Method = "3cosadd",
                   restrict_vocab: int | None = None, *, topn: int | None = None) -> list[tuple[str, float]]:
        """Answer an expression such as ``"king - man + woman"`` (parsed by ``embedlab.arithmetic``).

        Parameters
        ----------
        expr : str
            Keys joined by ``+`` / ``-`` (quote keys holding spaces or operators).
        k : int, optional
            How many answers (default 5).
        method : {"3cosadd", "3cosmul"}, default "3cosadd"
            Mikolov et al. 2013's additive objective or Levy & Goldberg 2014's multiplicative one.
        restrict_vocab : int, optional
            Search only the first N rows.
        topn : int, optional
            The deprecated old name of ``k`` (a ``DeprecationWarning``).

        Returns
        -------
        list of (str, float)
            Best first; the expression's own keys never appear.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks (naming close keys).
        InputError
            For an unreadable expression, a bad ``k``, or both ``k`` and ``topn``.
        """
        k = k_from_topn(k, topn, "Vectors.arithmetic", 5)
        positive, negative = parse_expression(expr, vocab=self.key_to_index)
        return self.most_similar(positive=positive, negative=negative, topn=k, method=method,
                                 restrict_vocab=restrict_vocab)

    # ------------------------------------------------------------------ gensim KeyedVectors names
    @property
    def index_to_key(self) -> list[str]:
        """Gensim's name for ``keys``.

        Returns
        -------
        list of str
            The same list: row ``i`` holds ``index_to_key[i]``.
        """
        return self.keys

    @property
    def vectors(self) -> np.ndarray:
        """Gensim's name for ``matrix``.

        Returns
        -------
        numpy.ndarray of shape (n, d)
            The same float32 array, not a copy.
        """
        return self.matrix

    @property
    def vector_size(self) -> int:
        """Gensim's name for ``dim``.

        Returns
        -------
        int
            The dimension of the vectors.
        """
        return self.dim

    def get_index(self, key: str | int | np.integer[Any], default: int | None = None) -> int:
        """The row of ``key``; an int in range is taken as a row itself (as gensim does).

        Parameters
        ----------
        key : str or int
            A key, or a row number in ``[0, n)``.
        default : int, optional
            What to return for an unknown key instead of raising.

        Returns
        -------
        int
            The row, or ``default``.

        Raises
        ------
        UnknownKeyError
            For an unknown key (naming close keys) when ``default`` is None.
        """
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
        """Whether ``key`` (or an int row) has a vector here; ``key in vectors`` asks the same.

        Parameters
        ----------
        key : object
            A key or a row number; anything else is never present.

        Returns
        -------
        bool
            True when ``get_index(key)`` would succeed.
        """
        if isinstance(key, (str, int, np.integer)):
            return self.get_index(key, -1) >= 0
        return False

    def get_vector(self, key: str | int | np.integer[Any], norm: bool = False) -> np.ndarray:
        """The vector of ``key`` as a read-only view (gensim's ``get_vector``).

        Parameters
        ----------
        key : str or int
            A key or a row number.
        norm : bool, default False
            Return its unit-length version.

        Returns
        -------
        numpy.ndarray of shape (d,)
            float32, not writeable.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks.
        """
        i = self.get_index(key)
        out = self.unit_matrix()[i] if norm else self.matrix[i]
        view = out.view()
        view.setflags(write=False)
        return view

    def get_normed_vectors(self) -> np.ndarray:
        """Every row scaled to unit length (gensim's name for ``unit_matrix()``).

        Returns
        -------
        numpy.ndarray of shape (n, d)
            float32, zero rows left zero.
        """
        return self.unit_matrix()

    def get_mean_vector(self, keys: Sequence[str | int | np.ndarray] | np.ndarray,
                        weights: ArrayLike | None = None, pre_normalize: bool = True, post_normalize: bool = False,
                        ignore_missing: bool = True) -> np.ndarray:
        """The weighted mean of the vectors of ``keys``, divided by the sum of ``|weights|`` (gensim's semantics).

        Parameters
        ----------
        keys : sequence of (str, int or numpy.ndarray), or numpy.ndarray of shape (m, d)
            Keys, rows or raw ``(d,)`` vectors.
        weights : array_like of shape (m,), optional
            One weight per item (default: all 1).
        pre_normalize : bool, default True
            Use the keys' unit vectors (raw vectors are taken as given).
        post_normalize : bool, default False
            Scale the mean to unit length.
        ignore_missing : bool, default True
            Skip unknown keys (gensim's default); False raises for them.

        Returns
        -------
        numpy.ndarray of shape (d,)
            float32 (all zeros when every key was skipped).

        Raises
        ------
        InputError
            When ``keys`` is empty, or the number of weights differs from the number of keys.
        UnknownKeyError
            For an unknown key when ``ignore_missing`` is False.
        DimensionError, NonFiniteError
            For a raw vector of the wrong length or holding NaN/infinity.
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

    @overload
    def similar_by_word(self, word: str, topn: int = 10,  # numpydoc ignore=GL08
                        restrict_vocab: int | None = None) -> list[tuple[str, float]]: ...

    @overload
    def similar_by_word(self, word: str, topn: None,  # numpydoc ignore=GL08
                        restrict_vocab: int | None = None) -> np.ndarray: ...

    @overload
    def similar_by_word(self, word: str, topn: int | None = 10,  # numpydoc ignore=GL08
                        restrict_vocab: int | None = None) -> list[tuple[str, float]] | np.ndarray: ...

    def similar_by_word(self, word: str, topn: int | None = 10,
                        restrict_vocab: int | None = None) -> list[tuple[str, float]] | np.ndarray:
        """The keys nearest to ``word``, the word itself left out (gensim's ``similar_by_word`` / ``similar_by_key``).

        Parameters
        ----------
        word : str
            A key of the table.
        topn : int or None, default 10
            How many results; None returns the raw cosine of every row.
        restrict_vocab : int, optional
            Search only the first N rows.

        Returns
        -------
        list of (str, float) or numpy.ndarray
            ``[(key, cosine), ...]`` best first, or the float32 ``(n,)`` cosines when ``topn`` is None.

        Raises
        ------
        UnknownKeyError
            For a word the table lacks (naming close keys).
        InputError
            For a bad ``restrict_vocab``.
        """
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_key = similar_by_word

    @overload
    def most_similar_cosmul(self, positive: _Terms = None, negative: _Terms = None,  # numpydoc ignore=GL08
                            topn: int = 10, restrict_vocab: int | None = None) -> list[tuple[str, float]]: ...

    @overload
    def most_similar_cosmul(self, positive: _Terms, negative: _Terms, topn: None,  # numpydoc ignore=GL08
                            restrict_vocab: int | None = None) -> np.ndarray: ...

    @overload
    def most_similar_cosmul(self, positive: _Terms = None, negative: _Terms = None,  # numpydoc ignore=GL08
                            *, topn: None, restrict_vocab: int | None = None) -> np.ndarray: ...

    @overload
    def most_similar_cosmul(self, positive: _Terms = None, negative: _Terms = None,  # numpydoc ignore=GL08
                            topn: int | None = 10, restrict_vocab: int | None = None
                            ) -> list[tuple[str, float]] | np.ndarray: ...

    def most_similar_cosmul(
        self,
        positive: _Terms = None,
        negative: _Terms = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Levy & Goldberg's multiplicative objective (3CosMul), as gensim's ``most_similar_cosmul``.

        ``most_similar(..., method="3cosmul")``; unlike gensim 4.4 it honours ``restrict_vocab``.

        Parameters
        ----------
        positive, negative : str, int, array_like or iterable of them, optional
            Keys, int rows or raw ``(d,)`` vectors, without weights.
        topn : int or None, default 10
            How many results; None returns the raw score of every searched row.
        restrict_vocab : int, optional
            Search only the first N rows.

        Returns
        -------
        list of (str, float) or numpy.ndarray
            ``[(key, score), ...]`` best first, or the float32 scores when ``topn`` is None.

        Raises
        ------
        InputError
            Without a positive term, with weights, or for a bad ``restrict_vocab``.
        UnknownKeyError
            For a key the table lacks.
        DimensionError, NonFiniteError
            For a raw vector of the wrong length or holding NaN/infinity.
        """
        return self.most_similar(positive=positive, negative=negative, topn=topn, restrict_vocab=restrict_vocab,
                                 method="3cosmul")

    def most_similar_to_given(self, key1: str, keys_list: Sequence[str]) -> str:
        """The key of ``keys_list`` most cosine-similar to ``key1`` (gensim's name).

        Parameters
        ----------
        key1 : str
            The reference key.
        keys_list : sequence of str
            The candidates.

        Returns
        -------
        str
            The first candidate with the highest cosine.

        Raises
        ------
        InputError
            When ``keys_list`` is empty.
        UnknownKeyError
            For a key the table lacks.
        """
        if not keys_list:
            raise InputError("keys_list is empty; pass at least one key to choose from")
        return keys_list[int(np.argmax(self.similarities(key1, keys_list)))]

    def rank_by_centrality(self, words: Sequence[str], use_norm: bool = True) -> list[tuple[float, str]]:
        """The words ordered by cosine to their centroid, most central first (gensim's name).

        Parameters
        ----------
        words : sequence of str
            Keys; unknown ones are skipped.
        use_norm : bool, default True
            Average the unit vectors (False: the raw vectors).

        Returns
        -------
        list of (float, str)
            ``(cosine to the unit centroid, word)`` pairs, highest cosine first.

        Raises
        ------
        InputError
            When no word is in the table.

        Warns
        -----
        UserWarning
            Naming the words that were skipped.
        """
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
        """The word furthest from the centroid of ``words`` (gensim's ``doesnt_match``).

        Parameters
        ----------
        words : sequence of str
            Keys; unknown ones are skipped with a ``UserWarning``.

        Returns
        -------
        str
            The least central word.

        Raises
        ------
        InputError
            When no word is in the table.
        """
        return self.rank_by_centrality(words)[-1][1]

    def n_similarity(self, ws1: Sequence[str], ws2: Sequence[str]) -> float:
        """Cosine between the means of the raw vectors of two key sets (gensim's ``n_similarity``).

        Unlike gensim, an unknown key is an error, not silently skipped.

        Parameters
        ----------
        ws1, ws2 : sequence of str
            Two non-empty lists of keys.

        Returns
        -------
        float
            The cosine, in [-1, 1].

        Raises
        ------
        InputError
            When either list is empty.
        UnknownKeyError
            For a key the table lacks.
        """
        if not len(ws1) or not len(ws2):
            raise InputError("n_similarity needs two non-empty lists of keys")
        for k in (*ws1, *ws2):
            self.get_index(k)
        m1 = self.get_mean_vector(list(ws1), pre_normalize=False)
        m2 = self.get_mean_vector(list(ws2), pre_normalize=False)
        return float(normalize(m1)[0] @ normalize(m2)[0])

    @staticmethod
    def cosine_similarities(vector_1: ArrayLike, vectors_all: ArrayLike) -> np.ndarray:
        """The cosine of one vector with each row of ``vectors_all`` (0 for a zero vector).

        Parameters
        ----------
        vector_1 : array_like of shape (d,)
            The query vector.
        vectors_all : array_like of shape (m, d)
            The rows to compare with.

        Returns
        -------
        numpy.ndarray of shape (m,)
            float32 cosines in [-1, 1].

        Raises
        ------
        DimensionError, NonFiniteError, InputError
            For shapes that do not match, NaN/infinity, or values that are not numeric.
        """
        rows = normalize(as_matrix(vectors_all, name="vectors_all"))
        return rows @ normalize(as_matrix(vector_1, dim=rows.shape[1], name="vector_1"))[0]

    def distances(self, word_or_vector: str | ArrayLike, other_words: Iterable[str] = ()) -> np.ndarray:
        """Cosine distances (1 - cosine) from a key or vector to each of ``other_words``, or to every key.

        Parameters
        ----------
        word_or_vector : str or array_like of shape (d,)
            A key or a raw vector.
        other_words : iterable of str, optional
            Keys; empty (the default) means every row.

        Returns
        -------
        numpy.ndarray of shape (len(other_words),) or (n,)
            float32 distances in [0, 2].

        Raises
        ------
        UnknownKeyError
            For a key the table lacks.
        DimensionError, NonFiniteError, InputError
            For a raw vector of the wrong length, holding NaN/infinity, or not numeric.
        """
        u = self._unit_of(word_or_vector)
        others = list(other_words)
        if not others:
            return np.float32(1.0) - self.unit_matrix() @ u
        rows = np.fromiter((self.get_index(k) for k in others), dtype=np.int64, count=len(others))
        return np.float32(1.0) - self.unit_matrix()[rows] @ u

    def distance(self, w1: str | ArrayLike, w2: str | ArrayLike) -> float:
        """The cosine distance ``1 - similarity(w1, w2)``.

        Parameters
        ----------
        w1, w2 : str or array_like of shape (d,)
            Keys or raw vectors.

        Returns
        -------
        float
            In [0, 2].

        Raises
        ------
        UnknownKeyError
            For a key the table lacks.
        DimensionError, NonFiniteError, InputError
            For a raw vector of the wrong length, holding NaN/infinity, or not numeric.
        """
        return 1.0 - self.similarity(w1, w2)

    def closer_than(self, key1: str, key2: str) -> list[str]:
        """Every key closer (by cosine) to ``key1`` than ``key2`` is, in row order, ``key1`` left out.

        Parameters
        ----------
        key1, key2 : str
            Keys of the table.

        Returns
        -------
        list of str
            The closer keys.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks.
        """
        i1, i2 = self.get_index(key1), self.get_index(key2)
        d = self.distances(key1)
        return [self.keys[i] for i in np.flatnonzero(d < d[i2]).tolist() if i != i1]

    def rank(self, key1: str, key2: str) -> int:
        """The rank of ``key2`` among the neighbours of ``key1``: ``len(closer_than(key1, key2)) + 1``.

        Parameters
        ----------
        key1, key2 : str
            Keys of the table.

        Returns
        -------
        int
            1 for the nearest neighbour.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks.
        """
        return len(self.closer_than(key1, key2)) + 1

    def evaluate_word_analogies(self, analogies: str | Path, restrict_vocab: int | None = 300000,
                                case_insensitive: bool = True, dummy4unknown: bool = False,
                                similarity_function: str = "most_similar") -> tuple[float, list[dict[str, Any]]]:
        """Analogy accuracy in gensim's return shape (``embedlab.evaluate.evaluate_analogies`` gives a report).

        Parameters
        ----------
        analogies : str or path-like
            An analogy file (``: section`` lines, then ``a b c expected`` lines) or a name (``questions-words``).
        restrict_vocab : int or None, default 300000
            Questions with a word outside the first N rows are skipped.
        case_insensitive : bool, default True
            Compare upper-cased words (the first row of each upper-cased key counts).
        dummy4unknown : bool, default False
            Count skipped questions as incorrect instead of leaving them out.
        similarity_function : {"most_similar", "most_similar_cosmul"}, default "most_similar"
            3CosAdd or 3CosMul.

        Returns
        -------
        score : float
            The share of correct answers, in [0, 1].
        sections : list of dict
            One ``{"section", "correct", "incorrect"}`` dict per section of the file (lists of 4-word tuples),
            then a last ``"Total accuracy"`` one.

        Raises
        ------
        InputError
            For an unknown ``similarity_function`` or benchmark name, or nothing to evaluate.
        CorruptFileError
            For a question line before any section header.
        """
        return word_analogies(self, analogies, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive,
                              dummy4unknown=dummy4unknown, similarity_function=similarity_function)

    def evaluate_word_pairs(self, pairs: str | Path, delimiter: str = "\t", encoding: str = "utf8",
                            restrict_vocab: int | None = 300000, case_insensitive: bool = True,
                            dummy4unknown: bool = False) -> tuple[Any, Any, float]:
        """Word-pair correlation in gensim's return shape (``embedlab.evaluate.evaluate_word_pairs`` gives a report).

        Parameters
        ----------
        pairs : str or path-like
            A file of ``word1 word2 score`` lines, or ``wordsim353`` / ``simlex999``.
        delimiter : str, default tab
            The column separator.
        encoding : str, default "utf8"
            The file's text encoding.
        restrict_vocab : int or None, default 300000
            Pairs with a word outside the first N rows count as unknown.
        case_insensitive : bool, default True
            Compare upper-cased words.
        dummy4unknown : bool, default False
            Score pairs with an unknown word 0 instead of leaving them out.

        Returns
        -------
        pearson : tuple of (float, float)
            scipy's result: ``[0]`` the coefficient, ``[1]`` the p-value.
        spearman : tuple of (float, float)
            Likewise.
        oov_ratio : float
            The percentage (0–100) of pairs with an unknown word.

        Raises
        ------
        InputError
            For an unknown benchmark name or too few known pairs.
        """
        return word_pairs(self, pairs, delimiter=delimiter, encoding=encoding, restrict_vocab=restrict_vocab,
                          case_insensitive=case_insensitive, dummy4unknown=dummy4unknown)

    def save_word2vec_format(self, fname: str | Path, binary: bool = False) -> Path:
        """Write the word2vec text (or binary) format, as gensim's ``save_word2vec_format``.

        Parameters
        ----------
        fname : str or path-like
            The file to write (atomically).
        binary : bool, default False
            Write the binary format (float32 rows after each key).

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        InputError
            For a key the format cannot hold (whitespace or a line break).
        StorageFullError, ReadOnlyStorageError
            When the disk is full or cannot be written.
        """
        return word2vec.write(self, fname, binary=binary)

    @classmethod
    def load_word2vec_format(cls, fname: str | Path, binary: bool = False, limit: int | None = None,
                             **options: Any) -> Vectors:
        """Read a word2vec text or binary file, as gensim's ``KeyedVectors.load_word2vec_format``.

        Parameters
        ----------
        fname : str or path-like
            The file.
        binary : bool, default False
            Read the binary format.
        limit : int, optional
            Read only the first N vectors.
        **options
            The reader's ``encoding`` and ``unicode_errors``.

        Returns
        -------
        Vectors
            float32 vectors in file order.

        Raises
        ------
        InputError
            For a bad ``limit``, ``encoding`` or ``unicode_errors``.
        CorruptFileError, NonFiniteError
            For a damaged file (naming the line or byte offset) or NaN/infinity in it.
        """
        return cls(*word2vec.read(fname, binary=binary, limit=limit, **options))

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path, format: str | None = None, **options: Any) -> Path:
        """Write the table to ``path`` in one of the formats of ``embedlab.formats``.

        Parameters
        ----------
        path : str or path-like
            A file, or a folder for the projector format.
        format : str, optional
            ``word2vec``, ``word2vec-binary``, ``npy``, ``safetensors`` or ``projector`` (aliases: txt, bin, tsv).
            None picks it from the extension: ``.bin`` binary word2vec, ``.npy``, ``.safetensors``, a folder or
            ``.tsv`` → projector, anything else → word2vec text.
        **options
            Passed to the writer (projector: ``metadata``).

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
        return write_any(self, path, format=format, **options)

    @classmethod
    def load(cls, path: str | Path, format: str | None = None, mmap: bool = False, **options: Any) -> Vectors:
        """Read any format embedlab writes, or the output folder of a training command.

        Word2vec text/binary, npy, safetensors (+ key sidecar), a projector folder, or a Word2Vec / fastText /
        GloVe training folder (``format=None`` detects which).

        Parameters
        ----------
        path : str or path-like
            A vectors file or a folder.
        format : str, optional
            ``word2vec``, ``word2vec-binary``, ``npy``, ``safetensors`` or ``projector`` (aliases: txt, bin, tsv).
        mmap : bool, default False
            Memory-map the matrix read-only where the format allows.
        **options
            The word2vec reader's ``limit``, ``encoding``, ``unicode_errors``.

        Returns
        -------
        Vectors
            float32 ``(n, d)``, memory-mapped when asked and possible.

        Raises
        ------
        InputError
            For a missing path, an unknown format, or a folder without vectors.
        CorruptFileError, NonFiniteError, FormatVersionError
            For a damaged file, naming it and the line or byte offset.
        """
        return cls(*read_any(path, format=format, mmap=mmap, **options))


def _add(seen: set[str], key: str) -> bool:
    seen.add(key)
    return False


def _as_list(x: Any) -> list[Any]:
    """Gensim's ``_ensure_list``: one key or vector becomes a list of one; a 2-D array, a list of its rows."""
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
