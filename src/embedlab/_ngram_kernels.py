"""Compiled kernels for character n-gram vectors: fastText's hash and the mean of a word's rows (numba, nogil,
cached per machine). Used through ``embedlab.subwords``; the training kernels live in ``train/_subword_kernels``.
"""

from __future__ import annotations

import numba
import numpy as np

_FNV_OFFSET = np.uint32(2166136261)
_FNV_PRIME = np.uint32(16777619)


@numba.njit(cache=True, nogil=True)
def fnv1a_fasttext(data, starts, ends, out):  # type: ignore[no-untyped-def]
    """32-bit FNV-1a of byte strings ``data[starts[i]:ends[i]]``, exactly as fastText's Dictionary::hash.

    fastText XORs each byte as a *signed* char (int8 -> uint32), so bytes >= 0x80 differ from textbook
    FNV-1a; ASCII strings hash identically. We match fastText so bucket ids agree with its models.
    """
    for i in range(starts.shape[0]):
        h = _FNV_OFFSET
        for j in range(starts[i], ends[i]):
            b = np.int32(np.int8(data[j]))
            h = (h ^ np.uint32(b)) * _FNV_PRIME
        out[i] = h


@numba.njit(cache=True, nogil=True)
def compose(sub_ptr, sub_idx, w_in, out):  # type: ignore[no-untyped-def]
    """out[i] = mean of the w_in rows listed for word i (its word row and n-gram rows)."""
    d = w_in.shape[1]
    for i in range(sub_ptr.shape[0] - 1):
        p0 = sub_ptr[i]
        p1 = sub_ptr[i + 1]
        for k in range(d):
            out[i, k] = 0.0
        for q in range(p0, p1):
            row = sub_idx[q]
            for k in range(d):
                out[i, k] += w_in[row, k]
        if p1 > p0:
            inv = np.float32(1.0 / (p1 - p0))
            for k in range(d):
                out[i, k] *= inv
