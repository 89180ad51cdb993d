"""The gensim ``KeyedVectors`` names of ``Vectors``, as the mixin ``GensimKeyedVectors`` that ``Vectors`` inherits.

Code written for gensim's ``KeyedVectors`` runs on a Vectors unchanged: ``index_to_key``, ``vectors``,
``vector_size``, ``get_index``, ``has_index_for``, ``get_vector``, ``get_normed_vectors``, ``get_mean_vector``,
``similar_by_word`` / ``similar_by_key`` / ``similar_by_vector``, ``most_similar_cosmul``,
``most_similar_to_given``, ``rank_by_centrality``, ``doesnt_match``, ``n_similarity``, ``cosine_similarities``,
``distances`` / ``distance``, ``closer_than``, ``rank``, ``relative_cosine_similarity``,
``evaluate_word_analogies`` / ``evaluate_word_pairs`` (gensim's return shapes), the table edits and per-key
attributes of ``embedlab.keyedvectors_edits`` (``add_vectors``, ``get_vecattr`` ...), and
``save_word2vec_format`` / ``load_word2vec_format`` (``fvocab``, ``no_header``, ``write_header``, ``prefix``,
``append``, ``sort_attr``) behave as gensim 4.4's (see ``embedlab.vectors`` for the deliberate differences).
A key compared with itself has cosine exactly 1 and distance exactly 0 (gensim's float32 arithmetic leaves
1 - 6e-8 for some keys). They are written in terms of the native API of ``embedlab.vectors`` (``keys``,
``key_to_index``, ``matrix``, ``unit_matrix``, ``similarity``, ``most_similar`` ...), which the mixin declares
below as what its host class must provide; users import ``Vectors``, never this.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeAlias, cast, overload

import numpy as np
from numpy.typing import ArrayLike

from .arithmetic import Method
from .errors import InputError, UnknownKeyError
from .evaluate.keyedvectors import word_analogies, word_pairs
from .formats import word2vec
from .keyedvectors_edits import KeyedVectorsEdits
from .metrics import as_matrix, normalize

if TYPE_CHECKING:
    from .vectors import Vectors

#: What ``most_similar``'s ``positive`` / ``negative`` take: one key, row or raw vector, or an iterable of them (each
#: possibly a ``(item, weight)`` pair), or None.
_Terms: TypeAlias = str | int | np.integer[Any] | ArrayLike | Iterable[Any] | None


class GensimKeyedVectors(KeyedVectorsEdits):
    """The gensim ``KeyedVectors`` names, for ``embedlab.vectors.Vectors`` to inherit (use ``Vectors``).

    The host class provides the native API declared in the first section below and in ``KeyedVectorsEdits``
    (abstract there): the table's ``keys``, ``key_to_index`` and ``matrix``, its constructor, ``dim``,
    ``len``/``in``, ``unit_matrix``, ``similarity``, ``similarities`` and ``most_similar``. The table edits and
    per-key attributes (``add_vectors``, ``get_vecattr`` ...) come from ``KeyedVectorsEdits``.

    Its constructor's parameters and the host's attributes are ``KeyedVectorsEdits``'s.
    """

    # ------------------------------------------------------------------ what the host class provides
    @abstractmethod
    def __contains__(self, key: object) -> bool: ...

    @abstractmethod
    def _unknown_message(self, key: object) -> str: ...

    @abstractmethod
    def _unit_of(self, item: str | ArrayLike) -> np.ndarray: ...

    @abstractmethod
    def unit_matrix(self) -> np.ndarray:
        """The row-normalised matrix, cached (provided by the host class).

        Returns
        -------
        numpy.ndarray of shape (n, d)
            float32 rows of unit L2 length (or zero).
        """

    @abstractmethod
    def similarity(self, a: str | ArrayLike, b: str | ArrayLike) -> float:  # numpydoc ignore=PR01,RT01
        """Cosine similarity of two keys or raw vectors (provided by the host class)."""

    @abstractmethod
    def similarities(self, key: str | ArrayLike,  # numpydoc ignore=PR01,RT01
                     others: Iterable[str | ArrayLike]) -> np.ndarray:
        """Cosine similarity of ``key`` to each of ``others`` (provided by the host class)."""

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

    @abstractmethod
    def most_similar(self, positive: _Terms = (), negative: _Terms = (),  # numpydoc ignore=PR01,RT01
                     topn: int | None = 10, restrict_vocab: int | None = None, method: Method = "3cosadd",
                     exclude: Iterable[str] | None = None) -> list[tuple[str, float]] | np.ndarray:
        """The keys nearest to ``sum(positive) - sum(negative)``, best first (provided by the host class)."""

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
        m1 = normalize(self.get_mean_vector(list(ws1), pre_normalize=False))
        m2 = normalize(self.get_mean_vector(list(ws2), pre_normalize=False))
        return float(_exact_self(m1 @ m2[0], m1, m2[0])[0])

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
        query = normalize(as_matrix(vector_1, dim=rows.shape[1], name="vector_1"))[0]
        return _exact_self(rows @ query, rows, query)

    def distances(self, word_or_vector: str | ArrayLike, other_words: Iterable[str] = ()) -> np.ndarray:
        """Cosine distances (1 - cosine) from a key or vector to each of ``other_words``, or to every key.

        A key's distance to itself (or to any row with exactly its direction) is exactly 0.

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
        if others:
            rows = np.fromiter((self.get_index(k) for k in others), dtype=np.int64, count=len(others))
            unit = self.unit_matrix()[rows]
        else:
            unit = self.unit_matrix()
        return np.float32(1.0) - _exact_self(unit @ u, unit, u)

    def distance(self, w1: str | ArrayLike, w2: str | ArrayLike) -> float:
        """The cosine distance ``1 - similarity(w1, w2)``: exactly 0 for a key and itself.

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
        return word_analogies(_host(self), analogies, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive,
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
        return word_pairs(_host(self), pairs, delimiter=delimiter, encoding=encoding, restrict_vocab=restrict_vocab,
                          case_insensitive=case_insensitive, dummy4unknown=dummy4unknown)

    def save_word2vec_format(self, fname: str | Path, fvocab: str | Path | None = None, binary: bool = False,
                             total_vec: int | None = None, write_header: bool = True, prefix: str = "",
                             append: bool = False, sort_attr: str = "count") -> Path:
        """Write the word2vec text (or binary) format, as gensim's ``save_word2vec_format``.

        As in gensim, the rows are written most frequent first when the table has the ``sort_attr`` attribute
        (``"count"``: tables loaded by ``load_word2vec_format`` have it, in file order), else in row order.

        Parameters
        ----------
        fname : str or path-like
            The file to write (atomically).
        fvocab : str or path-like, optional
            Also write a vocabulary file of ``key count`` lines (the ``sort_attr`` values), as the C tool's
            ``-save-vocab``.
        binary : bool, default False
            Write the binary format (float32 rows after each key).
        total_vec : int, optional
            The count the header declares (default: the number of rows); for files written in parts with
            ``append``.
        write_header : bool, default True
            Write the ``"<count> <dim>"`` line (False: GloVe-style text, read back with ``no_header=True``).
        prefix : str, default ""
            Put before every key (in both files).
        append : bool, default False
            Add to the end of existing files instead of replacing them.
        sort_attr : str, default "count"
            The attribute that orders the rows, highest first, when the table has it.

        Returns
        -------
        Path
            The vectors file written.

        Raises
        ------
        InputError
            For a key the format cannot hold (whitespace or a line break), a binary file without a header, an
            ``fvocab`` when the table has no ``sort_attr`` attribute to write, or a ``sort_attr`` that is not numeric.
        StorageFullError, ReadOnlyStorageError
            When the disk is full or cannot be written.
        """
        if isinstance(fvocab, bool):
            raise InputError("fvocab is the vocabulary file's path (gensim's order: fname, fvocab, binary); "
                             "pass binary=True by name")
        values = self.expandos.get(sort_attr)
        if values is None:
            if fvocab is not None:
                raise InputError(f"cannot write a vocabulary file: the table has no {sort_attr!r} attribute "
                                 "(set it with set_vecattr or load the vectors with fvocab=...)")
            rows = None
        elif values.dtype.kind not in "iufb":
            raise InputError(f"sort_attr {sort_attr!r} holds {values.dtype} values; it must hold numbers (e.g. 'count')")
        else:  # highest first, ties in row order (gensim's stable sort), exact for any int64
            rows = len(values) - 1 - np.argsort(values[::-1], kind="stable")[::-1]
        if fvocab is not None and values is not None and rows is not None:
            word2vec.write_vocab(fvocab, [self.keys[i] for i in rows.tolist()], values[rows].tolist(), prefix=prefix,
                                 append=append)
        return word2vec.write(self, fname, binary=binary, header=write_header, total=total_vec, prefix=prefix,
                              rows=rows, append=append)

    @classmethod
    def load_word2vec_format(cls, fname: str | Path, fvocab: str | Path | None = None, binary: bool = False,
                             encoding: str = "utf8", unicode_errors: str = "strict", limit: int | None = None,
                             datatype: Any = np.float32, no_header: bool = False) -> Self:
        """Read a word2vec text or binary file, as gensim's ``KeyedVectors.load_word2vec_format``.

        As in gensim, every key gets a ``"count"`` attribute (``get_vecattr(key, "count")``): from ``fvocab`` when
        given, else made up in descending file order (``n - row``).

        Parameters
        ----------
        fname : str or path-like
            The file.
        fvocab : str or path-like, optional
            The C tool's vocabulary file (``-save-vocab``): ``word count`` lines giving each key's count.
        binary : bool, default False
            Read the binary format.
        encoding : str, default "utf8"
            The keys' text encoding (of the vocabulary file too).
        unicode_errors : str, default "strict"
            What to do with bytes that are not valid in ``encoding``: "strict" raises, "replace" / "ignore" as in
            ``bytes.decode`` (the C tool may cut multi-byte characters).
        limit : int, optional
            Read only the first N vectors.
        datatype : numpy float type, default numpy.float32
            Accepted for gensim's signature; a Vectors table is always float32 (another type warns).
        no_header : bool, default False
            The text file has no ``"<count> <dim>"`` line.

        Returns
        -------
        Vectors
            float32 vectors in file order.

        Raises
        ------
        InputError
            For a bad ``limit``, ``encoding`` or ``unicode_errors``, or ``no_header`` with ``binary``.
        CorruptFileError, NonFiniteError
            For a damaged file (naming the line or byte offset) or NaN/infinity in it; a file that ends early is
            a ``TruncatedFileError`` (also an ``EOFError``) and a key not valid in ``encoding`` an
            ``UndecodableFileError`` (also a ``UnicodeDecodeError``), what gensim raises for the same damage.
        FileNotFoundError
            For a missing vectors or vocabulary file.

        Warns
        -----
        UserWarning
            For a ``datatype`` other than float32, and for keys the vocabulary file lacks (their count is 0).
        """
        if isinstance(fvocab, bool):
            raise InputError("fvocab is the vocabulary file's path (gensim's order: fname, fvocab, binary); "
                             "pass binary=True by name")
        if np.dtype(datatype) != np.float32:
            warnings.warn(f"embedlab's Vectors are float32; datatype={np.dtype(datatype).name} is ignored",
                          UserWarning, stacklevel=2)
        counts = None if fvocab is None else word2vec.read_vocab(fvocab, encoding, unicode_errors)
        out = cls(*word2vec.read(fname, binary=binary, limit=limit, encoding=encoding, unicode_errors=unicode_errors,
                                 no_header=no_header))
        n = len(out)
        if counts is None:
            out.expandos["count"] = np.arange(n, 0, -1, dtype=np.int64)
        else:
            missing = [k for k in out.keys if k not in counts]
            if missing:
                warnings.warn(f"the vocabulary file {fvocab} lacks {len(missing)} of the {n} keys (e.g. "
                              f"{missing[:3]}); their count is 0", UserWarning, stacklevel=2)
            out.expandos["count"] = np.fromiter((counts.get(k, 0) for k in out.keys), dtype=np.int64, count=n)
        return out

    def relative_cosine_similarity(self, wa: str, wb: str, topn: int = 10) -> float:
        """Relative cosine similarity (Leeuwenberg et al. 2016), as gensim's ``relative_cosine_similarity``.

        ``similarity(wa, wb)`` over the sum of the cosines of ``wa``'s ``topn`` nearest keys; above 0.10 (at
        ``topn=10``) suggests synonyms.

        Parameters
        ----------
        wa, wb : str
            Keys of the table.
        topn : int, default 10
            How many neighbours of ``wa`` make the denominator.

        Returns
        -------
        float
            The ratio.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks.
        InputError
            When ``wa`` has no neighbour (``topn < 1``, or a table of one key).
        """
        sims = self.similar_by_word(wa, topn)
        if not sims:
            raise InputError(f"relative_cosine_similarity needs neighbours of {wa!r}; use topn >= 1 on a table of "
                             "at least two keys")
        return self.similarity(wa, wb) / sum(score for _, score in sims)


def _exact_self(scores: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``scores``, the cosines ``rows @ query`` of unit vectors, with exactly 1 for the query itself, in place.

    Every row that *is* the query, bit for bit, scores exactly 1, and all scores are clipped to [-1, 1].
    float32 rounding leaves a unit vector's dot with itself at 1 +- 1e-7, so a key's similarity to itself would
    read 0.99999994 and its distance 6e-8; only rows scoring within 1e-5 of 1 are compared, so this costs nothing
    next to the product that made ``scores``. A zero row (cosine 0 with everything) stays 0.
    """
    near = np.flatnonzero(scores > 1.0 - 1e-5)
    if near.size:
        scores[near[(rows[near] == query).all(axis=1)]] = 1.0
    return np.clip(scores, -1.0, 1.0, out=scores)


def _host(kv: GensimKeyedVectors) -> Vectors:
    """``kv`` as the ``Vectors`` it is, for ``embedlab.evaluate``'s functions (typed for ``Vectors``, their one caller).

    ``Vectors`` is the only class that inherits this mixin, and this layer may not import it (``vectors`` sits above
    ``keyedvectors``), so the narrowing is a static ``cast``: no runtime check, no copy.
    """
    return cast("Vectors", kv)
