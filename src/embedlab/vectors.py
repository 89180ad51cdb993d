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
``closer_than``, ``distance(s)``, ``relative_cosine_similarity``, ``evaluate_word_analogies`` and
``evaluate_word_pairs`` (gensim's return shapes), ``add_vector(s)`` / ``kv[key] = vector`` / ``vectors_for_all``,
``get_vecattr`` / ``set_vecattr``, ``save_word2vec_format`` / ``load_word2vec_format`` (``fvocab`` too) behave as
gensim 4.4's, tested side by side and by gensim's own ``test_keyedvectors.py`` (``tests/test_gensim_suite.py``).
Deliberate differences: an unknown key is an ``UnknownKeyError`` (a ``KeyError`` naming close keys) everywhere,
also in ``n_similarity`` where gensim skips it silently; a zero vector has cosine 0 (gensim: NaN); a key's
similarity to itself is exactly 1 and its distance exactly 0 (gensim: within 1e-7); ``most_similar_cosmul``
honours ``restrict_vocab`` (gensim 4.4 ignores it); keys are strings (an int key is stored as ``str(key)``); NaN
or infinity are refused on load and on ``add_vectors``. The gensim names live in ``embedlab.keyedvectors`` (the
mixin ``GensimKeyedVectors`` that ``Vectors`` inherits); this module holds the native API they are written in
terms of.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, overload

import numpy as np
from numpy.typing import ArrayLike

from ._params import k_from_topn
from .arithmetic import METHODS, Method, parse_expression
from .errors import DimensionError, InputError, UnknownKeyError, require
from .formats import read_any, write_any
from .keyedvectors import GensimKeyedVectors, _exact_self, _Terms
from .metrics import as_matrix, normalize

if TYPE_CHECKING:  # an optional heavy dependency, imported where used (Vectors.to_pandas)
    import pandas as pd

_EPS_COSMUL = 1e-6


class Vectors(GensimKeyedVectors):
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
    expandos : dict of str to numpy.ndarray
        gensim's per-key attributes (``get_vecattr`` / ``set_vecattr``): name -> one value per row; empty unless
        set, or loaded by ``load_word2vec_format`` (``"count"``).

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
        self.expandos: dict[str, np.ndarray] = {}
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

    def _writable_matrix(self) -> np.ndarray:
        shared = self._unit is self.matrix  # a normalized() table's matrix is its source's unit cache
        if shared or isinstance(self.matrix, np.memmap) or not self.matrix.flags.writeable:
            self.matrix = np.array(self.matrix, dtype=np.float32, order="C")
        self._unit = None
        return self.matrix

    def _drop_caches(self) -> None:
        self._unit = None

    def normalized(self) -> Vectors:
        """A new Vectors whose rows have unit length (sharing the cached normalised matrix and the keys).

        Returns
        -------
        Vectors
            The same keys over ``unit_matrix()``.
        """
        out = Vectors.__new__(Vectors)
        out.keys, out.key_to_index = self.keys, self.key_to_index  # edits replace them, never change them in place
        out.matrix = self.unit_matrix()
        out._unit = out.matrix
        out.expandos = {a: v.copy() for a, v in self.expandos.items()}
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
        out = Vectors(keys, np.ascontiguousarray(self.matrix[rows], dtype=np.float32))
        out.expandos = {a: v[rows] for a, v in self.expandos.items()}
        return out

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
        """Cosine similarity of two keys (or raw vectors); exactly 1 for a key and itself, 0 for a zero vector.

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
        return float(_exact_self(np.array([np.dot(va, vb)], dtype=np.float32), va[None, :], vb)[0])

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
        return _exact_self(rows @ va, rows, va)

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
            scores = _exact_self(unit @ mean, unit, mean)
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

    def to_pandas(self, copy: bool = True) -> pd.DataFrame:
        """The table as a pandas DataFrame: one row per key, one float32 column per dimension.

        The index is the keys (named ``key``, in row order: ``df.loc["king"]``), the columns ``0 .. d-1``, so
        the frame is the matrix itself (``df.to_numpy()`` is ``(n, d)`` float32) and drops into scikit-learn,
        ``df.T.corr()`` or a CSV as is. Needs pandas (the ``eval`` extra).

        Parameters
        ----------
        copy : bool, default True
            Copy the matrix into the frame. False shares it (no memory used; a memory-mapped matrix makes the
            frame read-only).

        Returns
        -------
        pandas.DataFrame
            ``(n, d)`` float32, indexed by key.

        Raises
        ------
        MissingDependencyError
            When pandas is not installed (``pip install 'embedlab[eval]'``).
        """
        # pandas is an optional heavy dependency (the [eval] extra): imported here, never at module level
        pandas = require("pandas", "eval", "Vectors.to_pandas")
        return pandas.DataFrame(self.matrix, index=pandas.Index(self.keys, name="key"), copy=copy)


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
