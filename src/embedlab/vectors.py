"""Vectors: a keyed table of float32 vectors (the result of every trainer, the input of analysis).

    >>> v = Vectors(["king", "queen"], np.eye(2, dtype=np.float32))
    >>> v["queen"]
    >>> glove.most_similar(positive=["king", "woman"], negative=["man"], topn=1)   # [('queen', 0.85...)]

Similarity queries follow gensim's KeyedVectors semantics (so numbers can be compared side by side): vectors
are unit-normalised, 3CosAdd ranks by cosine to the mean of the weighted unit vectors, 3CosMul is Levy &
Goldberg's multiplicative objective with cosines shifted to [0, 1] and eps=1e-6. Query keys never come back
as answers. ``restrict_vocab=N`` searches only the first N rows (word files are frequency-ordered).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from .errors import DimensionError, InputError, UnknownKeyError
from .metrics import as_matrix, normalize

Method = Literal["3cosadd", "3cosmul"]
METHODS = ("3cosadd", "3cosmul")
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
        return key in self.key_to_index

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

    def __getitem__(self, key: str) -> np.ndarray:
        return self.matrix[self.index(key)]

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
        from .arithmetic import parse_expression

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
        positive: str | ArrayLike | Iterable[str | ArrayLike] | None = (),
        negative: str | ArrayLike | Iterable[str | ArrayLike] | None = (),
        topn: int | None = 10,
        restrict_vocab: int | None = None,
        method: Method = "3cosadd",
        exclude: Iterable[str] | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Keys nearest to ``sum(positive) - sum(negative)`` as ``[(key, score), ...]``, best first.

        ``positive``/``negative`` hold keys or raw vectors (a single key or vector is accepted too). Query keys
        and ``exclude`` never appear in the answer. ``topn=None`` returns the raw score array instead.
        """
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        positive, negative = _as_list(positive), _as_list(negative)
        if not positive and not negative:
            raise InputError("most_similar needs at least one positive or negative key")
        if method == "3cosmul" and not positive:
            raise InputError("3cosmul needs at least one positive key")
        if topn is not None and topn < 1:
            return []
        if restrict_vocab is not None and (isinstance(restrict_vocab, bool) or not isinstance(
                restrict_vocab, (int, np.integer)) or restrict_vocab < 1):
            raise InputError(f"restrict_vocab must be a positive integer or None, got {restrict_vocab!r}")
        n = len(self) if restrict_vocab is None else min(int(restrict_vocab), len(self))
        unit = self.unit_matrix()[:n]
        skip = {self.index(k) for k in positive + negative if isinstance(k, str)}
        skip |= {self.index(k) for k in (exclude or ())}

        if method == "3cosadd":
            pos = [self._query_vec(k) for k in positive]
            neg = [self._query_vec(k) for k in negative]
            mean = np.zeros(self.dim, dtype=np.float32)
            for v in pos:
                mean += v
            for v in neg:
                mean -= v
            mean /= len(pos) + len(neg)
            mean = normalize(mean)[0]
            scores = unit @ mean
        else:
            scores = np.ones(n, dtype=np.float32)
            for k in positive:
                scores *= (1.0 + unit @ self._query_vec(k)) / 2.0
            denom = np.ones(n, dtype=np.float32)
            for k in negative:
                denom *= (1.0 + unit @ self._query_vec(k)) / 2.0
            scores /= denom + np.float32(_EPS_COSMUL)
        if topn is None:
            return scores
        return self._top(scores, topn, skip)

    def _query_vec(self, item: str | ArrayLike) -> np.ndarray:
        """Unit vector of a key; a raw vector is used as given (gensim's convention)."""
        if isinstance(item, str):
            return self.unit_matrix()[self.index(item)]
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

    def analogy(self, a: str, b: str, c: str, topn: int = 1, method: Method = "3cosadd",
                restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """"``a`` is to ``b`` as ``c`` is to ?" — the keys nearest to ``b - a + c``."""
        return _ranked(self.most_similar(positive=[b, c], negative=[a], topn=topn, method=method,
                                         restrict_vocab=restrict_vocab))

    def arithmetic(self, expr: str, topn: int = 5, method: Method = "3cosadd",
                   restrict_vocab: int | None = None) -> list[tuple[str, float]]:
        """Answer an expression such as ``"king - man + woman"`` (parsed by embedlab.arithmetic)."""
        from .arithmetic import parse_expression

        positive, negative = parse_expression(expr, vocab=self.key_to_index)
        return _ranked(self.most_similar(positive=positive, negative=negative, topn=topn, method=method,
                                         restrict_vocab=restrict_vocab))

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path, format: str | None = None, **options: Any) -> Path:
        """Write to ``path``; the format comes from ``format`` or the extension (see embedlab.io)."""
        from .io import save_vectors

        return save_vectors(self, path, format=format, **options)

    @classmethod
    def load(cls, path: str | Path, format: str | None = None, mmap: bool = False, **options: Any) -> Vectors:
        """Read any format embedlab writes (word2vec text/binary, npy, safetensors, projector folder)."""
        from .io import load_vectors

        return load_vectors(path, format=format, mmap=mmap, **options)


def _ranked(result: list[tuple[str, float]] | np.ndarray) -> list[tuple[str, float]]:
    """``most_similar``'s answer when ``topn`` is an int (the ranked list, not the raw scores)."""
    if not isinstance(result, list):  # pragma: no cover - callers always pass an int topn
        raise TypeError("expected a ranked list")
    return result


def _add(seen: set[str], key: str) -> bool:
    seen.add(key)
    return False


def _as_list(x: Any) -> list[Any]:
    if x is None:
        return []
    if isinstance(x, (str, np.ndarray)):
        return [x]
    return list(x)
