"""Editing a vectors table and its per-key attributes, gensim's way: the mixin ``KeyedVectorsEdits``.

``add_vector`` / ``add_vectors`` / ``kv[key] = vector``, ``vectors_for_all``, the per-key attributes
``get_vecattr`` / ``set_vecattr`` (stored in ``expandos``: name -> one value per row; ``"count"`` comes from a
vocabulary file) and ``sort_by_descending_frequency``, with gensim 4.4's semantics. ``GensimKeyedVectors``
(``embedlab.keyedvectors``) extends it and ``Vectors`` inherits both; users import ``Vectors``, never this. The
host's native table (``keys``, ``key_to_index``, ``matrix``) is declared below as what it must provide.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np
from numpy.typing import ArrayLike

from .errors import InputError, UnknownKeyError
from .metrics import as_matrix


class KeyedVectorsEdits:
    """gensim's table edits and per-key attributes, for ``embedlab.vectors.Vectors`` to inherit (use ``Vectors``).

    Parameters
    ----------
    keys : sequence of str
        One key per row, for the host class's constructor (which ``vectors_for_all`` calls).
    matrix : array_like of shape (n, d)
        The vectors, row ``i`` for ``keys[i]``, likewise.

    Attributes
    ----------
    keys : list of str
        The keys in row order (the host's).
    key_to_index : dict of str to int
        Key → row (the host's).
    matrix : numpy.ndarray of shape (n, d)
        The float32 vectors (the host's).
    expandos : dict of str to numpy.ndarray
        gensim's per-key attributes: name -> one value per row.
    """

    # ------------------------------------------------------------------ what the host class provides
    if TYPE_CHECKING:  # set by the host's __init__; declared for the type checker only (no class annotations)
        keys: list[str]
        key_to_index: dict[str, int]
        matrix: np.ndarray
        expandos: dict[str, np.ndarray]

    @abstractmethod
    def __init__(self, keys: Sequence[str], matrix: ArrayLike) -> None: ...

    @property
    @abstractmethod
    def dim(self) -> int:
        """The dimension ``d`` of the vectors (provided by the host class).

        Returns
        -------
        int
            The matrix's number of columns.
        """

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def get_index(self, key: str | int | np.integer[Any], default: int | None = None) -> int:
        """The row of ``key`` (provided by ``GensimKeyedVectors``).

        Parameters
        ----------
        key : str or int
            A key or a row.
        default : int, optional
            Returned for an unknown key instead of raising.

        Returns
        -------
        int
            The row.
        """

    @abstractmethod
    def _writable_matrix(self) -> np.ndarray:
        """``matrix``, made safe to write rows into, with the cached unit matrix dropped.

        An in-memory array of this table's own: copied from a read-only or memory-mapped one, or from a cache it
        shares.
        """

    @abstractmethod
    def _drop_caches(self) -> None:
        """Forget what was computed from ``matrix`` (the unit matrix) after the table changed."""

    # ------------------------------------------------------------------ editing the table, per-key attributes
    def add_vector(self, key: str, vector: ArrayLike) -> int:
        """Add one key and its vector (gensim's ``add_vector``); a key already present keeps its vector.

        Each call copies the matrix (as gensim's does when it grows): add many keys at once with ``add_vectors``.

        Parameters
        ----------
        key : str
            The new key.
        vector : array_like of shape (d,)
            Its vector (stored as float32).

        Returns
        -------
        int
            The key's row.

        Raises
        ------
        DimensionError, NonFiniteError, InputError
            For a vector of the wrong length, holding NaN/infinity, or not numeric.
        """
        self.add_vectors(key, vector)
        return self.key_to_index[str(key)]

    def add_vectors(self, keys: str | Iterable[str], weights: ArrayLike,
                    extras: dict[str, Sequence[Any] | np.ndarray] | None = None, replace: bool = False) -> None:
        """Append keys and their vectors (gensim's ``add_vectors``); present keys keep theirs unless ``replace``.

        New rows go after the existing ones (the matrix is copied once per call); replaced rows are written in
        place (a read-only or memory-mapped matrix is copied first). Keys are converted with ``str``, as the
        constructor does; attributes of new keys not in ``extras`` are 0.

        Parameters
        ----------
        keys : str or iterable of str
            One key, or several.
        weights : array_like of shape (d,) or (len(keys), d)
            Their vectors (stored as float32).
        extras : dict of str to array_like, optional
            Per-key attributes (``get_vecattr``): name -> one value per key.
        replace : bool, default False
            Overwrite the vectors (and ``extras``) of keys already present.

        Raises
        ------
        InputError
            For a key given twice, a number of vectors or ``extras`` values that differs from the number of keys.
        DimensionError, NonFiniteError
            For vectors of the wrong length or holding NaN/infinity.
        """
        names = [str(keys)] if isinstance(keys, (str, int, np.integer)) else [str(k) for k in keys]
        rows = as_matrix(weights, dim=self.dim, name="weights")
        if rows.shape[0] != len(names):
            raise InputError(f"{len(names)} keys but {rows.shape[0]} vectors; pass one vector per key")
        if len(set(names)) != len(names):
            dup = next(k for i, k in enumerate(names) if k in names[:i])
            raise InputError(f"key {dup!r} is given twice; pass each key once")
        attrs = {a: _values(v, len(names), a) for a, v in (extras or {}).items()}
        found = [self.key_to_index.get(k) for k in names]
        new = [j for j, i in enumerate(found) if i is None]
        old = [(j, i) for j, i in enumerate(found) if i is not None]
        if new:
            start = len(self.keys)
            keys_after = [*self.keys, *(names[j] for j in new)]  # new list and map: a normalized() twin keeps its own
            index = dict(self.key_to_index)
            index.update((names[j], start + t) for t, j in enumerate(new))
            matrix = np.concatenate([np.asarray(self.matrix, dtype=np.float32), rows[new]])
            self.expandos = {a: _grown(v, len(keys_after)) for a, v in self.expandos.items()}
            self.keys, self.key_to_index, self.matrix = keys_after, index, matrix
            for a, v in attrs.items():
                self._set_attr_rows(a, np.arange(start, len(keys_after)), v[new])
        if replace and old:
            at = np.array([i for _, i in old], dtype=np.int64)
            src = np.array([j for j, _ in old], dtype=np.int64)
            self._writable_matrix()[at] = rows[src]
            for a, v in attrs.items():
                self._set_attr_rows(a, at, v[src])
        self._drop_caches()

    def __setitem__(self, keys: str | Iterable[str], weights: ArrayLike) -> None:
        """``kv[key] = vector`` or ``kv[[k1, k2]] = vectors``: add, or replace, the vectors of keys (gensim's)."""
        self.add_vectors(keys, weights, replace=True)

    def get_vecattr(self, key: str | int | np.integer[Any], attr: str) -> Any:
        """The ``attr`` attribute of ``key`` (gensim's ``get_vecattr``).

        ``load_word2vec_format`` gives every key a ``"count"``.

        Parameters
        ----------
        key : str or int
            A key or a row.
        attr : str
            The attribute's name.

        Returns
        -------
        numpy scalar or object
            Its value.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks, or an attribute it does not have (naming those it has).
        """
        i = self.get_index(key)
        values = self.expandos.get(attr)
        if values is None:
            raise UnknownKeyError(f"no attribute {attr!r}; this table has {sorted(self.expandos) or 'none'} "
                                  "(set one with set_vecattr)")
        return values[i]

    def set_vecattr(self, key: str | int | np.integer[Any], attr: str, val: Any) -> None:
        """Set the ``attr`` attribute of ``key`` (gensim's ``set_vecattr``); other keys get 0.

        An attribute's values share one numpy type, chosen by its first value (Python int: int64, str or None:
        object).

        Parameters
        ----------
        key : str or int
            A key or a row.
        attr : str
            The attribute's name.
        val : object
            Its value.

        Raises
        ------
        UnknownKeyError
            For a key the table lacks.
        InputError
            For a value that does not fit the attribute's type (a float for an int attribute, say).
        """
        i = self.get_index(key)
        self._set_attr_rows(attr, np.array([i]), _values([val], 1, attr))

    def _set_attr_rows(self, attr: str, rows: np.ndarray, values: np.ndarray) -> None:
        current = self.expandos.get(attr)
        if current is None:
            current = self.expandos[attr] = _grown(np.empty(0, dtype=values.dtype), len(self.keys))
        elif not np.can_cast(values.dtype, current.dtype, casting="same_kind"):
            raise InputError(f"attribute {attr!r} holds {current.dtype} values; {values.dtype} ones do not fit")
        current[rows] = values

    def sort_by_descending_frequency(self) -> None:
        """Reorder the rows by descending ``"count"`` attribute (gensim's; ties: the later row first).

        Raises
        ------
        UnknownKeyError
            When the table has no ``"count"`` attribute.
        """
        if not len(self):
            return
        counts = self.expandos.get("count")
        if counts is None:
            raise UnknownKeyError("no 'count' attribute to sort by; load with load_word2vec_format (fvocab=...) or "
                                  "set it with set_vecattr")
        order = np.lexsort((-np.arange(len(self)), -np.asarray(counts, dtype=np.int64)))
        self.keys = [self.keys[i] for i in order.tolist()]
        self.key_to_index = {k: i for i, k in enumerate(self.keys)}
        self.matrix = np.ascontiguousarray(np.asarray(self.matrix)[order], dtype=np.float32)
        self.expandos = {a: v[order] for a, v in self.expandos.items()}
        self._drop_caches()

    def vectors_for_all(self, keys: Iterable[str], allow_inference: bool = True,
                        copy_vecattrs: bool = False) -> Self:
        """A new table of the given keys that are present, deduplicated, in the given order (gensim's).

        Parameters
        ----------
        keys : iterable of str
            Keys; absent ones are left out.
        allow_inference : bool, default True
            Accepted for gensim's signature: a Vectors table infers no vector for an absent key (gensim's FastText
            vectors do).
        copy_vecattrs : bool, default False
            Copy the keys' attributes; otherwise, as gensim, each gets a made-up ``"count"`` (``n - row``).

        Returns
        -------
        Vectors
            float32 copies of the rows.
        """
        found: list[str] = []
        seen: set[Any] = set()
        for key in keys:
            if key not in seen:
                seen.add(key)
                if isinstance(key, str) and key in self.key_to_index:
                    found.append(key)
        rows = np.fromiter((self.key_to_index[k] for k in found), dtype=np.int64, count=len(found))
        out = type(self)(found, np.ascontiguousarray(np.asarray(self.matrix)[rows], dtype=np.float32))
        out.expandos["count"] = np.arange(len(found), 0, -1, dtype=np.int64)
        if copy_vecattrs:
            out.expandos.update((a, v[rows]) for a, v in self.expandos.items())
        return out


def _values(values: Any, n: int, attr: str) -> np.ndarray:
    """An attribute's ``n`` values as a 1-D numpy array (str and None make an object array, as gensim stores them).

    Raises
    ------
    InputError
        For a number of values other than ``n``.
    """
    if isinstance(values, np.ndarray):
        arr = values.reshape(-1)
    else:
        items = list(values)
        arr = (np.array(items, dtype=object) if any(v is None or isinstance(v, str) for v in items)
               else np.asarray(items))
    if arr.ndim != 1 or len(arr) != n:
        raise InputError(f"{len(arr)} values of attribute {attr!r} for {n} keys; pass one value per key")
    return arr


def _grown(values: np.ndarray, n: int) -> np.ndarray:
    """``values`` extended with zeros to length ``n`` (as gensim's ``allocate_vecattrs``; an int 0 for objects)."""
    out = np.zeros(n, dtype=values.dtype)
    out[: len(values)] = values
    return out
