"""Compiled hot loop of the subword (fastText-style) trainer: training chunks (hashing and composing vectors are
``embedlab.subwords``).

All kernels are ``nogil`` so several Python threads can train at once (Hogwild), and ``cache=True`` so the
compile cost is paid once per machine. Randomness is a splitmix64 stream seeded per chunk, so a run with one
worker is exactly reproducible.
"""

from __future__ import annotations

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_MAX_EXP = 8.0  # |score| at which a pair stops training: gensim FastText's MAX_EXP (fastText's sigmoid range)


@numba.njit(cache=True, nogil=True)
def _next(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    """splitmix64: returns (new state, 64 random bits)."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return state, z ^ (z >> _S31)


@numba.njit(cache=True, nogil=True, fastmath=True)
def train_sg_chunk(words: np.ndarray, sent_ends: np.ndarray, sub_ptr: np.ndarray, sub_idx: np.ndarray,
                   w_in: np.ndarray, w_out: np.ndarray, neg_table: np.ndarray, keep_prob: np.ndarray, window: int,
                   negative: int, lr_start: float, lr_end: float, seed: int | np.uint64) -> tuple[float, int]:
    """Skip-gram with negative sampling over one chunk of sentences; the input of a word is the sum of its
    word row and character n-gram rows over the number of n-grams, as gensim's FastText (fastText's
    ``Model::update`` takes the mean; gensim's scale trains better vectors here, see BENCHMARKS).

    words: int32 word ids of the chunk, sentences ending at ``sent_ends``; sub_ptr/sub_idx: CSR rows of w_in
    for each word. The learning rate falls linearly from lr_start to lr_end across the chunk.
    Returns (summed loss, number of (centre, context) pairs).
    """
    d = w_in.shape[1]
    hidden = np.empty(d, dtype=np.float32)
    grad = np.empty(d, dtype=np.float32)
    buf = np.empty(words.shape[0], dtype=np.int32)
    state = np.uint64(seed)
    n_total = max(words.shape[0], 1)
    n_table = np.uint64(neg_table.shape[0])
    loss = 0.0
    pairs = 0
    start = 0
    for s in range(sent_ends.shape[0]):
        end = sent_ends[s]
        m = 0  # frequent-word subsampling into buf
        for i in range(start, end):
            w = words[i]
            p = keep_prob[w]
            if p < 1.0:
                state, r = _next(state)
                if (r >> _S11) * (1.0 / 9007199254740992.0) >= p:
                    continue
            buf[m] = w
            m += 1
        for i in range(m):
            lr = lr_start + (lr_end - lr_start) * ((start + i) / n_total)
            state, r = _next(state)
            b = 1 + np.int64(r % np.uint64(window))
            w = buf[i]
            p0 = sub_ptr[w]
            p1 = sub_ptr[w + 1]
            # gensim's scale: the sum of the word row and its n-gram rows over the number of n-grams (fastText
            # divides by one more); it trains better here (bench_fasttext: SimLex-999 0.148 -> 0.166, typo
            # recovery@5 0.447 -> 0.471). A word without n-grams keeps its own row as it is.
            inv = np.float32(1.0 / max(p1 - p0 - 1, 1))
            lo = max(0, i - int(b))
            hi = min(m, i + int(b) + 1)
            for c in range(lo, hi):
                if c == i:
                    continue
                for k in range(d):
                    hidden[k] = 0.0
                    grad[k] = 0.0
                for q in range(p0, p1):
                    row = sub_idx[q]
                    for k in range(d):
                        hidden[k] += w_in[row, k]
                for k in range(d):
                    hidden[k] *= inv
                target = buf[c]
                for n in range(negative + 1):
                    if n == 0:
                        t = target
                        label = 1.0
                    else:
                        state, r = _next(state)
                        t = neg_table[np.int64(r % n_table)]
                        if t == target:
                            continue
                        label = 0.0
                    f = 0.0
                    for k in range(d):
                        f += hidden[k] * w_out[t, k]
                    # no update on a saturated score: gensim's FastText skips |f| >= 8 (fastText's sigmoid table
                    # spans +-8; word2vec's MAX_EXP, 6, skipped the pairs between 6 and 8 that still had a gradient)
                    saturated = f >= _MAX_EXP or f <= -_MAX_EXP
                    if f > 30.0:
                        f = 30.0
                    elif f < -30.0:
                        f = -30.0
                    sig = 1.0 / (1.0 + np.exp(-f))
                    if label > 0.5:
                        loss -= np.log(max(sig, 1e-10))
                    else:
                        loss -= np.log(max(1.0 - sig, 1e-10))
                    if saturated:
                        continue
                    g = np.float32(lr * (label - sig))
                    for k in range(d):
                        grad[k] += g * w_out[t, k]
                        w_out[t, k] += g * hidden[k]
                for q in range(p0, p1):  # fastText adds the whole gradient to every input row
                    row = sub_idx[q]
                    for k in range(d):
                        w_in[row, k] += grad[k]
                pairs += 1
        start = end
    return loss, pairs
