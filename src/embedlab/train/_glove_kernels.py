"""Compiled loops of GloVe (numba, ``nogil`` so Python threads run them in parallel).

Counting: each worker adds the distance-weighted pairs of its sentences to a dense block for the most frequent
words and to a capped open-addressing hash table for the rest; a full table is written out as a run sorted by
a seeded bijective scramble of the pair key, and the runs are merged (summing equal keys). The merged records
therefore come out in a pseudo-random order fixed by the seed: the shuffle glove.c does in a separate pass.

Training: AdaGrad on the weighted least-squares objective of Pennington et al. (2014), update for update as the
authors' glove.c (the learning rate is inside the squared-gradient sums, which start at 1). Records hold the
upper triangle (i <= j) of the symmetric matrix; each off-diagonal record trains both orientations, (i as word,
j as context) and (j as word, i as context), as glove.c's two records would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

EMPTY = -1  # an unused hash slot (pair keys are >= 0)
PREFETCH = 2  # records ahead whose parameter rows are prefetched (random rows miss the cache: ~30 % faster)


@njit(cache=True, nogil=True, inline="always")
def mix64(x: np.uint64) -> np.uint64:
    """splitmix64's finalizer: a bijection of uint64 that scatters nearby keys (hash slots, record order)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, nogil=True)
def order_keys(keys: np.ndarray, salt: np.uint64) -> np.ndarray:
    """The sort key of each pair key: mix64(key ^ salt); distinct keys never share one (a bijection)."""
    out = np.empty(keys.shape[0], np.uint64)
    for n in range(keys.shape[0]):
        out[n] = mix64(np.uint64(keys[n]) ^ salt)
    return out


@njit(cache=True, nogil=True)
def count_sentences(tokens: np.ndarray, lengths: np.ndarray, s: int, s_end: int, t: int, window: int,
                    weighting: bool, k_dense: int, dense: np.ndarray, tkeys: np.ndarray, tvals: np.ndarray, used: int,
                    limit: int, vocab_size: int, has_context: np.ndarray) -> tuple[int, int, int]:
    """Add the pairs of sentences s.. to the tables until ``s_end`` or until the hash table might pass ``limit``.

    A pair (a, b) at distance d <= window (same sentence) adds 1/d (1 without ``weighting``) at (min, max): to
    ``dense[i * k_dense + j]`` when both are among the first ``k_dense`` words, else to the hash table (keys
    i * vocab_size + j; capacity a power of two). Returns (next sentence, its first token, slots used).
    """
    cap = tkeys.shape[0]
    mask = cap - 1
    shift = np.uint64(64 - int(np.log2(cap)))
    while s < s_end:
        n = lengths[s]
        if used > 0 and used + n * window > limit:
            break
        if n >= 2:
            for p in range(n):
                a = tokens[t + p]
                has_context[a] = True
                stop = min(n, p + window + 1)
                for q in range(p + 1, stop):
                    b = tokens[t + q]
                    w = 1.0 / (q - p) if weighting else 1.0
                    if a <= b:
                        i, j = a, b
                    else:
                        i, j = b, a
                    if j < k_dense:
                        dense[i * k_dense + j] += w
                        continue
                    key = np.int64(i) * vocab_size + j
                    slot = np.int64(mix64(np.uint64(key)) >> shift)
                    while True:
                        k = tkeys[slot]
                        if k == key:
                            tvals[slot] += w
                            break
                        if k == EMPTY:
                            tkeys[slot] = key
                            tvals[slot] = w
                            used += 1
                            break
                        slot = (slot + 1) & mask
        t += n
        s += 1
    return s, t, used


@njit(cache=True, nogil=True)
def rehash(tkeys: np.ndarray, tvals: np.ndarray, capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """The table's entries re-inserted into a new table of ``capacity`` slots (a power of two)."""
    keys = np.full(capacity, EMPTY, np.int64)
    vals = np.zeros(capacity, np.float64)
    mask = capacity - 1
    shift = np.uint64(64 - int(np.log2(capacity)))
    for s in range(tkeys.shape[0]):
        k = tkeys[s]
        if k != EMPTY:
            slot = np.int64(mix64(np.uint64(k)) >> shift)
            while keys[slot] != EMPTY:
                slot = (slot + 1) & mask
            keys[slot] = k
            vals[slot] = tvals[s]
    return keys, vals


@njit(cache=True, nogil=True)
def compact_table(tkeys: np.ndarray, tvals: np.ndarray) -> int:
    """Move the used slots to the front (in slot order); returns how many. The table must be cleared after."""
    n = 0
    for s in range(tkeys.shape[0]):
        if tkeys[s] != EMPTY:
            tkeys[n] = tkeys[s]
            tvals[n] = tvals[s]
            n += 1
    return n


@njit(cache=True, nogil=True)
def dense_entries(dense: np.ndarray, k_dense: int, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero upper-triangle cells of the dense block as (pair keys, values)."""
    n = 0
    for i in range(k_dense):
        for j in range(i, k_dense):
            if dense[i * k_dense + j] != 0.0:
                n += 1
    keys = np.empty(n, np.int64)
    vals = np.empty(n, np.float64)
    n = 0
    for i in range(k_dense):
        for j in range(i, k_dense):
            v = dense[i * k_dense + j]
            if v != 0.0:
                keys[n] = np.int64(i) * vocab_size + j
                vals[n] = v
                n += 1
    return keys, vals


@njit(cache=True, nogil=True, inline="always")
def _less(ha: np.uint64, ra: int, hb: np.uint64, rb: int) -> bool | np.bool_:
    return ha < hb or (ha == hb and ra < rb)


@njit(cache=True, nogil=True)
def merge_runs(run_keys: Any, run_vals: Any, salt: np.uint64, vocab_size: int, remap: np.ndarray, rows: np.ndarray,
               cols: np.ndarray, vals: np.ndarray) -> int:
    """Merge runs sorted by ``order_keys`` into (rows, cols, vals), summing the values of equal pair keys.

    ``run_keys`` / ``run_vals`` are typed lists of int64 / float64 arrays; ``remap`` maps old word ids to new
    ones. Returns the number of records written (in the runs' common order). A binary heap over the runs.
    """
    k = len(run_keys)
    pos = np.zeros(k, np.int64)
    heap_h = np.empty(k, np.uint64)
    heap_r = np.empty(k, np.int64)
    size = 0
    for r in range(k):
        if run_keys[r].shape[0] == 0:
            continue
        h = mix64(np.uint64(run_keys[r][0]) ^ salt)
        c = size  # sift up
        size += 1
        while c > 0:
            p = (c - 1) // 2
            if _less(h, r, heap_h[p], heap_r[p]):
                heap_h[c], heap_r[c] = heap_h[p], heap_r[p]
                c = p
            else:
                break
        heap_h[c], heap_r[c] = h, r
    n = 0
    last = np.int64(-1)
    acc = 0.0
    while size > 0:
        r = heap_r[0]
        key = run_keys[r][pos[r]]
        v = run_vals[r][pos[r]]
        pos[r] += 1
        if pos[r] < run_keys[r].shape[0]:  # replace the root with the run's next key
            h, rr = mix64(np.uint64(run_keys[r][pos[r]]) ^ salt), r
        else:  # the run is done: move the last leaf to the root
            size -= 1
            h, rr = heap_h[size], heap_r[size]
        c = 0  # sift down
        while True:
            child = 2 * c + 1
            if child >= size:
                break
            if child + 1 < size and _less(heap_h[child + 1], heap_r[child + 1], heap_h[child], heap_r[child]):
                child += 1
            if _less(heap_h[child], heap_r[child], h, rr):
                heap_h[c], heap_r[c] = heap_h[child], heap_r[child]
                c = child
            else:
                break
        if size > 0:
            heap_h[c], heap_r[c] = h, rr
        if key == last:
            acc += v
            continue
        if last >= 0:
            rows[n] = remap[last // vocab_size]
            cols[n] = remap[last % vocab_size]
            vals[n] = acc
            n += 1
        last = key
        acc = v
    if last >= 0:
        rows[n] = remap[last // vocab_size]
        cols[n] = remap[last % vocab_size]
        vals[n] = acc
        n += 1
    return n


def _prefetch(typingctx: Any, arr: Any, row: Any, col: Any) -> tuple[Any, Callable[..., Any]]:
    """Ask the CPU to start loading the cache line of ``arr[row, col]`` (``llvm.prefetch``: read, keep)."""

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        r = context.cast(builder, args[1], sig.args[1], types.intp)
        c = context.cast(builder, args[2], sig.args[2], types.intp)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [r, c])  # type: ignore[no-untyped-call]
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]))
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, row, col), codegen


# ``prefetch(arr, row, col)`` inside compiled code. Typed Any: numba's stub for an intrinsic's call keeps the typing
# context as the first parameter and returns Never (the call only exists in compiled code).
prefetch: Any = intrinsic(_prefetch)


@njit(cache=True, nogil=True, inline="always")
def _prefetch_rows(P: np.ndarray, C: np.ndarray, i: int, j: int) -> None:
    """Both orientations of a record touch rows i and j of both tables: start loading all four."""
    for k in range(0, P.shape[1], 16):  # 16 float32 = one 64-byte line
        prefetch(P, i, k)
        prefetch(C, j, k)
        prefetch(P, j, k)
        prefetch(C, i, k)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy", inline="always")
def _step(i: int, j: int, f: np.float32, logx: np.float32, P: np.ndarray, C: np.ndarray, d: int,
          lr: float) -> np.float32:
    """One AdaGrad step on f (w_i . c_j + b_i + bc_j - log x)^2 as glove.c; returns f diff^2 (0 if not finite).

    A row of ``P`` (words) or ``C`` (contexts) is [vector (d), bias, squared-gradient sums (d), bias sum]."""
    o = d + 1
    diff = P[i, d] + C[j, d] - logx
    for k in range(d):
        diff += P[i, k] * C[j, k]
    fdiff = f * diff
    if not np.isfinite(fdiff):
        return np.float32(0.0)
    g = np.float32(lr) * fdiff
    for k in range(d):
        t1 = g * C[j, k]
        t2 = g * P[i, k]
        P[i, k] -= t1 / np.sqrt(P[i, o + k])
        C[j, k] -= t2 / np.sqrt(C[j, o + k])
        P[i, o + k] += t1 * t1
        C[j, o + k] += t2 * t2
    P[i, d] -= g / np.sqrt(P[i, o + d])
    C[j, d] -= g / np.sqrt(C[j, o + d])
    P[i, o + d] += g * g
    C[j, o + d] += g * g
    return fdiff * diff


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def train_block(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, start: int, end: int, P: np.ndarray,
                C: np.ndarray, d: int, x_max: float, alpha: float, lr: float) -> tuple[float, int]:
    """AdaGrad over records start..end (rows of the next two records prefetched); returns (sum of f diff^2 before
    each step, terms). ``P`` / ``C`` are (V, 2 (d + 1)) float32: see ``_step``."""
    loss = np.float64(0.0)
    terms = 0
    for r in range(start, min(end, start + PREFETCH)):
        _prefetch_rows(P, C, rows[r], cols[r])
    for r in range(start, end):
        if r + PREFETCH < end:
            _prefetch_rows(P, C, rows[r + PREFETCH], cols[r + PREFETCH])
        x = vals[r]
        f = np.float32(1.0) if x >= x_max else np.float32((x / x_max) ** alpha)
        logx = np.float32(np.log(x))
        i = rows[r]
        j = cols[r]
        loss += _step(i, j, f, logx, P, C, d, lr)
        terms += 1
        if i != j:
            loss += _step(j, i, f, logx, P, C, d, lr)
            terms += 1
    return loss, terms


@njit(cache=True, nogil=True)
def loss_sum(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, W: np.ndarray, Wc: np.ndarray, b: np.ndarray,
             bc: np.ndarray, x_max: float, alpha: float) -> tuple[float, int]:
    """sum over both orientations of every record of f(x) (w_i . wc_j + b_i + bc_j - log x)^2, in float64."""
    d = W.shape[1]
    total = 0.0
    terms = 0
    for r in range(rows.shape[0]):
        x = np.float64(vals[r])
        f = 1.0 if x >= x_max else (x / x_max) ** alpha
        i = rows[r]
        j = cols[r]
        for o in range(2 if i != j else 1):
            a, c = (i, j) if o == 0 else (j, i)
            diff = np.float64(b[a]) + np.float64(bc[c]) - np.log(x)
            for k in range(d):
                diff += np.float64(W[a, k]) * np.float64(Wc[c, k])
            total += f * diff * diff
            terms += 1
    return total, terms
