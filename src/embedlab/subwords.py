"""Character n-grams and their hashed rows: how a fastText model gives any string a vector (Bojanowski et al.
2017, "Enriching Word Vectors with Subword Information").

A word ``w`` is the mean of its own row and the rows of the character n-grams of ``<w>`` (``minn`` to ``maxn``
code points), each n-gram hashed into ``buckets`` with fastText's 32-bit FNV-1a (stable across runs and
machines, unlike Python's ``hash()``). Only buckets some vocabulary word uses get a row: ``SubwordRows`` maps a
vocabulary to them (CSR lists of input rows per word), ``compose`` averages them, ``oov_rows`` finds the known
rows of any other string. Used by the fastText trainer and by the reader of its folders alike.

    >>> char_ngrams("where", 3, 3)
    ['<wh', 'whe', 'her', 'ere', 're>']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SubwordRows", "char_ngrams", "compose", "fnv1a", "fnv1a_hashes", "subword_rows"]


def char_ngrams(word: str, minn: int, maxn: int) -> list[str]:
    """Character n-grams of ``<word>`` with ``minn <= n <= maxn``, in fastText's order (by start, then length).

    Parameters
    ----------
    word : str
        Any string; characters are Unicode code points.
    minn, maxn : int
        Shortest and longest n-gram (single "<" or ">" are never n-grams).

    Returns
    -------
    list of str
    """
    w = f"<{word}>"
    out = []
    for i in range(len(w)):
        for n in range(minn, maxn + 1):
            if i + n > len(w):
                break
            if n == 1 and (i == 0 or i + n == len(w)):
                continue
            out.append(w[i: i + n])
    return out


def fnv1a_hashes(strings: list[str]) -> np.ndarray:
    """fastText's 32-bit FNV-1a of each string's UTF-8 bytes.

    Parameters
    ----------
    strings : list of str

    Returns
    -------
    numpy.ndarray
        ``(len(strings),)`` uint32, equal to fastText's ``Dictionary::hash`` (bytes >= 0x80 as signed chars).
    """
    from ._ngram_kernels import fnv1a_fasttext  # on first use: importing numba takes ~0.4 s

    encoded = [s.encode("utf-8") for s in strings]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    out = np.empty(len(encoded), dtype=np.uint32)
    if len(encoded):
        fnv1a_fasttext(data if data.size else np.zeros(1, np.uint8), starts, ends, out)
    return out


def fnv1a(s: str) -> int:
    """fastText's hash of one string (see ``fnv1a_hashes``)."""
    return int(fnv1a_hashes([s])[0])


@dataclass(frozen=True)
class SubwordRows:
    """The input rows of each vocabulary word: row ``i`` for word ``i``, then ``V + j`` for the ``j``-th used bucket.

    Attributes
    ----------
    ngram_buckets : numpy.ndarray
        ``(B,)`` int64, the sorted distinct buckets any vocabulary word's n-grams hash to.
    sub_ptr : numpy.ndarray
        ``(V + 1,)`` int64 CSR pointers into ``sub_idx``.
    sub_idx : numpy.ndarray
        int64 input rows: word ``i`` owns ``sub_idx[sub_ptr[i]:sub_ptr[i + 1]]`` (its word row first).
    minn, maxn, buckets : int
        The n-gram lengths and the hash table size they were built with.
    """

    ngram_buckets: np.ndarray
    sub_ptr: np.ndarray
    sub_idx: np.ndarray
    minn: int
    maxn: int
    buckets: int

    def word_buckets(self, word: str) -> np.ndarray:
        """The buckets of ``word``'s n-grams (int64, in n-gram order; empty when ``maxn == 0``)."""
        if self.maxn == 0:
            return np.zeros(0, dtype=np.int64)
        return fnv1a_hashes(char_ngrams(word, self.minn, self.maxn)).astype(np.int64) % self.buckets

    def oov_rows(self, word: str, n_words: int) -> np.ndarray:
        """Input rows of ``word``'s n-grams that exist in the model (unknown buckets left out).

        Parameters
        ----------
        word : str
        n_words : int
            The vocabulary size V (n-gram rows start there).

        Returns
        -------
        numpy.ndarray
            int64 rows, possibly empty (then the string shares no n-gram with the vocabulary).
        """
        b = self.word_buckets(word)
        known = self.ngram_buckets
        if not len(known):
            return np.zeros(0, dtype=np.int64)
        pos = np.minimum(np.searchsorted(known, b), len(known) - 1)
        return n_words + pos[known[pos] == b]


def subword_rows(words: list[str], minn: int, maxn: int, buckets: int) -> SubwordRows:
    """Build the rows of a vocabulary (one hashing call for all n-grams).

    Parameters
    ----------
    words : list of str
        The vocabulary, V words.
    minn, maxn : int
        n-gram lengths (``maxn == 0``: words only, no n-grams).
    buckets : int
        Hash table size.

    Returns
    -------
    SubwordRows
    """
    grams = [char_ngrams(w, minn, maxn) if maxn else [] for w in words]
    n_grams = np.fromiter((len(g) for g in grams), dtype=np.int64, count=len(words))
    all_b = fnv1a_hashes([g for gs in grams for g in gs]).astype(np.int64) % buckets
    used = np.unique(all_b)
    V = len(words)
    ptr = np.zeros(V + 1, dtype=np.int64)
    np.cumsum(1 + n_grams, out=ptr[1:])
    idx = np.empty(int(ptr[-1]), dtype=np.int64)
    idx[ptr[:-1]] = np.arange(V)
    mask = np.ones(idx.shape[0], dtype=bool)
    mask[ptr[:-1]] = False
    idx[mask] = V + np.searchsorted(used, all_b)
    return SubwordRows(used, ptr, idx, minn, maxn, buckets)


def compose(rows: SubwordRows, w_in: np.ndarray) -> np.ndarray:
    """Each vocabulary word's vector: the mean of its word row and n-gram rows.

    Parameters
    ----------
    rows : SubwordRows
    w_in : numpy.ndarray
        ``(V + B, dim)`` float32 input matrix.

    Returns
    -------
    numpy.ndarray
        ``(V, dim)`` float32.
    """
    from ._ngram_kernels import compose as _compose  # on first use: importing numba takes ~0.4 s

    out = np.empty((len(rows.sub_ptr) - 1, w_in.shape[1]), dtype=np.float32)
    _compose(rows.sub_ptr, rows.sub_idx, w_in, out)
    return out
