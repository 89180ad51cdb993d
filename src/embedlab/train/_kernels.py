"""Compiled hot loops of Word2Vec (numba, ``nogil`` so Python threads train in parallel, Hogwild-style).

One call trains one chunk of sentences: frequent-word subsampling, the dynamic window and negative sampling all
happen inside the kernel with a private xorshift64* generator seeded from (seed, epoch, chunk), so one worker
gives bit-identical results and no per-word Python runs. Sigmoid and log-sigmoid come from 1000-entry tables
over [-6, 6] as in word2vec.c. float32 throughout.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MAX_EXP = 6.0
TABLE_SIZE = 1000
MAX_CODE_LENGTH = 255
# Table rows per unit of logit. word2vec.c and gensim write EXP_TABLE_SIZE / MAX_EXP / 2 with integer constants, so C
# divides to 83 (not 83.33): a logit f reads the entry for about 0.996 f - 0.024. We index the same way so the update
# rule is theirs exactly (measured: no quality change either way, within seed noise).
TABLE_SCALE = TABLE_SIZE // int(MAX_EXP) // 2


def make_tables() -> tuple[np.ndarray, np.ndarray]:
    """sigmoid and log-sigmoid sampled at TABLE_SIZE points over [-MAX_EXP, MAX_EXP] (word2vec.c layout)."""
    x = (np.arange(TABLE_SIZE, dtype=np.float64) / TABLE_SIZE * 2.0 - 1.0) * MAX_EXP
    sig = 1.0 / (1.0 + np.exp(-x))
    return sig.astype(np.float32), np.log(sig).astype(np.float32)


@njit(cache=True, nogil=True)
def splitmix64(x: int | np.uint64) -> np.uint64:
    """Scramble a seed into a well-mixed non-zero 64-bit state."""
    x = np.uint64(x) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    if x == np.uint64(0):
        x = np.uint64(0x2545F4914F6CDD1D)
    return x


@njit(cache=True, nogil=True, inline="always")
def _next(state: np.uint64) -> np.uint64:
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    return state


@njit(cache=True, nogil=True, inline="always")
def _out(state: np.uint64) -> np.uint64:
    return state * np.uint64(2685821657736338717)


@njit(cache=True, nogil=True, inline="always")
def subsample_sentence(tokens: np.ndarray, start: int, n_raw: int, keep: np.ndarray, buf: np.ndarray,
                       state: np.uint64, alpha0: float, alpha1: float, pos: float, total: float
                       ) -> tuple[int, np.uint64, np.float32]:
    """Subsample one sentence into ``buf`` and give its learning rate; returns (words kept, new state, alpha).

    ``tokens[start:start + n_raw]`` is the sentence; a word is kept with probability ``keep[w]`` (one draw per
    word whose ``keep`` is below 1, word2vec.c's rule). The rate falls linearly from ``alpha0`` to ``alpha1`` with
    the share ``pos / total`` of sentences done, never below ``alpha1`` (see ``train_chunk``).
    """
    n = 0
    for i in range(start, start + n_raw):
        w = tokens[i]
        k = keep[w]
        if k < 1.0:
            state = _next(state)
            if np.float32(_out(state) >> np.uint64(40)) * np.float32(5.9604645e-08) >= k:
                continue
        buf[n] = w
        n += 1
    alpha = np.float32(alpha0 - (alpha0 - alpha1) * (pos / total))
    if alpha < alpha1:
        alpha = np.float32(alpha1)
    return n, state, alpha


@njit(cache=True, nogil=True)
def compact(tokens: np.ndarray, lengths: np.ndarray, remap: np.ndarray) -> tuple[int, int]:
    """In place: map ids through ``remap`` (skipped if empty), drop ids < 0 and empty sentences.

    Returns (tokens kept, sentences kept); the first entries of ``tokens`` / ``lengths`` hold the result.
    """
    use_remap = remap.shape[0] > 0
    r = 0
    w = 0
    ns = 0
    for s in range(lengths.shape[0]):
        n = lengths[s]
        c = 0
        for i in range(r, r + n):
            t = tokens[i]
            if use_remap and t >= 0:
                t = remap[t]
            if t >= 0:
                tokens[w] = t
                w += 1
                c += 1
        r += n
        if c > 0:
            lengths[ns] = c
            ns += 1
    return w, ns


@njit(cache=True)
def build_alias(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table for O(1) sampling from a discrete distribution p (sums to 1)."""
    n = p.shape[0]
    prob = np.empty(n, np.float32)
    alias = np.zeros(n, np.int32)
    scaled = p * n
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    ns = 0
    nl = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        nl -= 1
        g = large[nl]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        if scaled[g] < 1.0:
            small[ns] = g
            ns += 1
        else:
            large[nl] = g
            nl += 1
    for i in range(nl):
        prob[large[i]] = 1.0
    for i in range(ns):
        prob[small[i]] = 1.0
    return prob, alias


@njit(cache=True)
def build_huffman(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Huffman codes/points for hierarchical softmax from counts sorted descending (word2vec.c's O(V) build).

    Returns codes (V, L) uint8, points (V, L) int32 (inner-node rows of the output matrix) and lengths (V,).
    """
    v = counts.shape[0]
    count = np.empty(2 * v, np.int64)
    count[:v] = counts
    count[v:] = np.iinfo(np.int64).max // 4
    binary = np.zeros(2 * v, np.uint8)
    parent = np.zeros(2 * v, np.int64)
    pos1 = v - 1
    pos2 = v
    for a in range(v - 1):
        mins = np.empty(2, np.int64)
        for m in range(2):
            if pos1 >= 0 and count[pos1] < count[pos2]:
                mins[m] = pos1
                pos1 -= 1
            else:
                mins[m] = pos2
                pos2 += 1
        count[v + a] = count[mins[0]] + count[mins[1]]
        parent[mins[0]] = v + a
        parent[mins[1]] = v + a
        binary[mins[1]] = 1
    root = 2 * v - 2
    lengths = np.zeros(v, np.int32)
    for a in range(v):
        b = a
        d = 0
        while b != root:
            d += 1
            b = parent[b]
        lengths[a] = d
    width = max(1, lengths.max())
    codes = np.zeros((v, width), np.uint8)
    points = np.zeros((v, width), np.int32)
    for a in range(v):
        b = a
        d = lengths[a]
        while b != root:  # walk up; fill from the leaf end so index 0 is next to the root
            d -= 1
            codes[a, d] = binary[b]
            points[a, d] = parent[b] - v
            b = parent[b]
    return codes, points, lengths


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _update(l1: np.ndarray, out: np.ndarray, row: int | np.int64, label: int | np.int64, alpha: np.float32,
            neu1e: np.ndarray, sig: np.ndarray, logsig: np.ndarray) -> np.float32:
    """One output unit: f = l1·out[row]; accumulate the input gradient in neu1e, update out[row]; return loss."""
    dim = l1.shape[0]
    f = np.float32(0.0)
    for k in range(dim):
        f += l1[k] * out[row, k]
    if f >= MAX_EXP:  # saturated: no update (as gensim), only the loss
        return np.float32(0.0) if label > 0 else f
    elif f <= -MAX_EXP:
        return -f if label > 0 else np.float32(0.0)
    else:
        idx = int((f + MAX_EXP) * TABLE_SCALE)
        p = sig[idx]
        lp = logsig[idx] if label > 0 else logsig[TABLE_SIZE - 1 - idx]
    g = (np.float32(label) - p) * alpha
    for k in range(dim):
        o = out[row, k]
        neu1e[k] += g * o
        out[row, k] = o + g * l1[k]
    return -lp


@njit(cache=True, nogil=True, fastmath=True)
def train_chunk(tokens: np.ndarray, lengths: np.ndarray, W: np.ndarray, Wn: np.ndarray, Wh: np.ndarray,
                keep: np.ndarray, alias_p: np.ndarray, alias_i: np.ndarray, codes: np.ndarray, points: np.ndarray,
                code_len: np.ndarray, sg: bool, negative: int, hs: bool, window: int, alpha0: float, alpha1: float,
                pos0: float, total: float, seed: np.uint64, sig: np.ndarray, logsig: np.ndarray
                ) -> tuple[float, int, int]:
    """Train one chunk of sentences (Skip-gram if sg else CBOW-mean); returns (loss sum, loss terms, words used).

    ``pos0`` is the global position of the chunk's first sentence (epochs included) and ``total`` the number of
    sentences over the whole run: the learning rate falls linearly from alpha0 to alpha1 with the share of
    sentences done. That is gensim's schedule (it decays by examples when the corpus size is known, as it is
    after the vocabulary pass); word2vec.c decays by words, which on a corpus whose sentence lengths vary from
    part to part gives other parts a higher rate (measured in BENCHMARKS.md: lower Skip-gram quality).
    """
    dim = W.shape[1]
    nwords = alias_p.shape[0]
    neu1 = np.zeros(dim, np.float32)
    neu1e = np.zeros(dim, np.float32)
    maxlen = 0
    for s in range(lengths.shape[0]):
        maxlen = max(maxlen, lengths[s])
    buf = np.empty(maxlen, np.int32)
    state = splitmix64(seed)
    loss = np.float64(0.0)
    nloss = 0
    used = 0
    start = 0
    pos = pos0
    for s in range(lengths.shape[0]):
        n_raw = lengths[s]
        n, state, alpha = subsample_sentence(tokens, start, n_raw, keep, buf, state, alpha0, alpha1, pos, total)
        start += n_raw
        pos += 1
        used += n
        for i in range(n):
            state = _next(state)
            b = np.int64(((_out(state) >> np.uint64(32)) * np.uint64(window)) >> np.uint64(32))
            lo = max(0, i - window + int(b))
            hi = min(n, i + window + 1 - int(b))
            center = buf[i]
            if sg:
                for j in range(lo, hi):
                    if j == i:
                        continue
                    l1 = W[buf[j]]
                    neu1e[:] = 0.0
                    if hs:
                        for c in range(code_len[center]):
                            loss += _update(l1, Wh, points[center, c], 1 - np.int64(codes[center, c]), alpha, neu1e, sig, logsig)
                            nloss += 1
                    if negative > 0:
                        loss += _update(l1, Wn, center, 1, alpha, neu1e, sig, logsig)
                        nloss += 1
                        for _ in range(negative):
                            state = _next(state)
                            r = _out(state)
                            t = np.int64(((r >> np.uint64(32)) * np.uint64(nwords)) >> np.uint64(32))  # multiply-shift, no division
                            if np.float32(r & np.uint64(0xFFFFFF)) * np.float32(5.9604645e-08) >= alias_p[t]:
                                t = alias_i[t]
                            if t == center:
                                continue
                            loss += _update(l1, Wn, t, 0, alpha, neu1e, sig, logsig)
                            nloss += 1
                    for k in range(dim):
                        l1[k] += neu1e[k]
            else:
                cw = 0
                neu1[:] = 0.0
                for j in range(lo, hi):
                    if j != i:
                        row = buf[j]
                        for k in range(dim):
                            neu1[k] += W[row, k]
                        cw += 1
                if cw == 0:
                    continue
                inv = np.float32(1.0 / cw)
                for k in range(dim):
                    neu1[k] *= inv
                neu1e[:] = 0.0
                if hs:
                    for c in range(code_len[center]):
                        loss += _update(neu1, Wh, points[center, c], 1 - np.int64(codes[center, c]), alpha, neu1e, sig, logsig)
                        nloss += 1
                if negative > 0:
                    loss += _update(neu1, Wn, center, 1, alpha, neu1e, sig, logsig)
                    nloss += 1
                    for _ in range(negative):
                        state = _next(state)
                        r = _out(state)
                        t = np.int64(((r >> np.uint64(32)) * np.uint64(nwords)) >> np.uint64(32))  # multiply-shift, no division
                        if np.float32(r & np.uint64(0xFFFFFF)) * np.float32(5.9604645e-08) >= alias_p[t]:
                            t = alias_i[t]
                        if t == center:
                            continue
                        loss += _update(neu1, Wn, t, 0, alpha, neu1e, sig, logsig)
                        nloss += 1
                for j in range(lo, hi):
                    if j != i:
                        row = buf[j]
                        for k in range(dim):
                            W[row, k] += neu1e[k]
    return loss, nloss, used
