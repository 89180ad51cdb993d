"""Word2Vec's minibatched kernel: inputs that share one set of negative samples (HogBatch, Ji et al. 2016).

word2vec.c draws ``negative`` noise words for every (input, output) pair and updates one output row at a time.
Here a minibatch of up to ``batch`` input rows shares the noise words: in Skip-gram the context words of one
centre (their input vectors all predict the centre), in CBOW the context means of one centre from each of up
to ``batch`` sentences trained side by side (not consecutive centres of one sentence: their windows overlap, so
one context word took most of its gradients from the same few noise words, late; that cost CBOW 0.08 of
analogy accuracy at 16, BENCHMARKS). Each output row (the centre, or a shared noise word) is then read once per minibatch, scored against
every input row of the minibatch, and updated once with the sum of their gradients: small matrix-matrix
products (``B x dim`` inputs by ``dim x (1 + negative)`` outputs: logits ``F = X O^T``, then ``E += G O`` and
``O += G^T X``, register-blocked: the logits two inputs by two columns a pass, four sums sharing each load; the
updates two rows a pass) whose operands stay in the L1 cache, with a ``1 / B`` share
of the random draws and of the scattered reads of output rows. Skip-gram's inputs are read where they lie in
``W`` (``_context_outputs``: nothing writes ``W`` until the minibatch's end), not copied. A noise word drawn twice
in one minibatch takes the one-column-at-a-time path, so that its second update sees its first, as in the
per-pair kernel.

Everything else is ``_kernels.train_chunk``'s: subsampling, the dynamic window, the alias-table noise, the
sigmoid tables, the linear learning-rate schedule by sentences (each input row carries its sentence's rate),
hierarchical softmax (per input, as there) and the private generator seeded per chunk. With ``batch=1`` the
draws, the order of the updates and so the vectors are those of ``train_chunk`` bit for bit (tested).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels import MAX_EXP, TABLE_SCALE, TABLE_SIZE, _next, _out, _update, splitmix64, subsample_sentence


@njit(cache=True, nogil=True, inline="always")
def _noise(state: np.uint64, nwords: int, alias_p: np.ndarray, alias_i: np.ndarray) -> tuple[np.uint64, np.int64]:
    """One draw from the alias table (multiply-shift, no division); returns the new state and the word."""
    state = _next(state)
    r = _out(state)
    t = np.int64(((r >> np.uint64(32)) * np.uint64(nwords)) >> np.uint64(32))
    if np.float32(r & np.uint64(0xFFFFFF)) * np.float32(5.9604645e-08) >= alias_p[t]:
        t = np.int64(alias_i[t])
    return state, t


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _shared_output(X: np.ndarray, nb: int, out: np.ndarray, row: int | np.int64, label: int, skip: np.ndarray,
                   skip_row: bool, A: np.ndarray, E: np.ndarray, g: np.ndarray, sig: np.ndarray,
                   logsig: np.ndarray) -> tuple[float, int]:
    """One output row against the minibatch's ``nb`` input rows ``X[:nb]``.

    Scores every input, accumulates each input's gradient in ``E[b]`` (from the row before its update) and
    updates the row once with the sum; inputs whose ``skip[b]`` equals ``row`` (when ``skip_row``) take no part.
    Returns (loss sum, loss terms). Per input it is ``_kernels._update``'s rule.
    """
    dim = X.shape[1]
    loss = 0.0
    n = 0
    any_g = False
    for b in range(nb):
        g[b] = np.float32(0.0)
        if skip_row and skip[b] == row:
            continue
        f = np.float32(0.0)
        for k in range(dim):
            f += X[b, k] * out[row, k]
        n += 1
        if f >= MAX_EXP:
            if label == 0:
                loss += float(f)
            continue
        if f <= -MAX_EXP:
            if label > 0:
                loss -= float(f)
            continue
        idx = int((f + MAX_EXP) * TABLE_SCALE)
        loss -= logsig[idx] if label > 0 else logsig[TABLE_SIZE - 1 - idx]
        g[b] = (np.float32(label) - sig[idx]) * A[b]
        any_g = True
    if any_g:
        for b in range(nb):
            gb = g[b]
            if gb != 0.0:
                for k in range(dim):
                    E[b, k] += gb * out[row, k]
        for b in range(nb):
            gb = g[b]
            if gb != 0.0:
                for k in range(dim):
                    out[row, k] += gb * X[b, k]
    return loss, n


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _gather(out: np.ndarray, cols: np.ndarray, nc: int, O: np.ndarray) -> None:
    """``O[c] = out[cols[c]]`` for the ``nc`` output rows of a minibatch."""
    dim = out.shape[1]
    for c in range(nc):
        r = cols[c]
        for k in range(dim):
            O[c, k] = out[r, k]


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _logits(X: np.ndarray, xr: np.ndarray, nb: int, O: np.ndarray, nc: int, F: np.ndarray) -> None:
    """``F[b, c] = X[xr[b]] . O[c]`` for ``b < nb``, ``c < nc``, in 2 x 2 blocks.

    Two inputs by two columns a pass: each loaded element of ``X`` and ``O`` feeds two of the four sums (8 % less
    kernel CPU time than 1 x 2 blocks, BENCHMARKS). ``xr`` picks the input rows: the copies ``0 .. nb-1`` of a
    minibatch buffer, or the words' own rows of ``W`` (Skip-gram, read in place).
    """
    dim = X.shape[1]
    b = 0
    while b + 1 < nb:
        r0 = xr[b]
        r1 = xr[b + 1]
        c = 0
        while c + 1 < nc:
            f00 = np.float32(0.0)
            f01 = np.float32(0.0)
            f10 = np.float32(0.0)
            f11 = np.float32(0.0)
            for k in range(dim):
                x0 = X[r0, k]
                x1 = X[r1, k]
                o0 = O[c, k]
                o1 = O[c + 1, k]
                f00 += x0 * o0
                f01 += x0 * o1
                f10 += x1 * o0
                f11 += x1 * o1
            F[b, c] = f00
            F[b, c + 1] = f01
            F[b + 1, c] = f10
            F[b + 1, c + 1] = f11
            c += 2
        if c < nc:
            f00 = np.float32(0.0)
            f10 = np.float32(0.0)
            for k in range(dim):
                o0 = O[c, k]
                f00 += X[r0, k] * o0
                f10 += X[r1, k] * o0
            F[b, c] = f00
            F[b + 1, c] = f10
        b += 2
    if b < nb:
        r0 = xr[b]
        c = 0
        while c + 1 < nc:
            f0 = np.float32(0.0)
            f1 = np.float32(0.0)
            for k in range(dim):
                x = X[r0, k]
                f0 += x * O[c, k]
                f1 += x * O[c + 1, k]
            F[b, c] = f0
            F[b, c + 1] = f1
            c += 2
        if c < nc:
            f0 = np.float32(0.0)
            for k in range(dim):
                f0 += X[r0, k] * O[c, k]
            F[b, c] = f0


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _gradients(F: np.ndarray, nb: int, cols: np.ndarray, nc: int, first_label: int, skip: np.ndarray,
               skip_row: bool, A: np.ndarray, G: np.ndarray, sig: np.ndarray,
               logsig: np.ndarray) -> tuple[float, int]:
    """``G[b, c] = (label - sigmoid(F[b, c])) * A[b]`` from the tables, 0 beyond ``MAX_EXP``; (loss sum, terms).

    The first column is labelled ``first_label``, the rest 0; with ``skip_row`` an input whose ``skip[b]`` is the
    column's row takes no part (CBOW: a centre drawn as its own noise word). ``_kernels._update``'s rule.
    """
    loss = 0.0
    n = 0
    for b in range(nb):
        for c in range(nc):
            label = first_label if c == 0 else 0
            f = F[b, c]
            G[b, c] = np.float32(0.0)
            if skip_row and skip[b] == cols[c]:
                continue
            n += 1
            if f >= MAX_EXP:
                if label == 0:
                    loss += f
                continue
            if f <= -MAX_EXP:
                if label > 0:
                    loss -= f
                continue
            idx = int((f + MAX_EXP) * TABLE_SCALE)
            loss -= logsig[idx] if label > 0 else logsig[TABLE_SIZE - 1 - idx]
            G[b, c] = (np.float32(label) - sig[idx]) * A[b]
    return loss, n


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _input_gradients(G: np.ndarray, O: np.ndarray, nb: int, nc: int, E: np.ndarray, fresh: bool) -> None:
    """``E[b] += G[b] O`` (``fresh``: ``E[b] = G[b] O``, no zeroed rows needed), two columns a pass, in column
    order as one at a time (and as per pair): ``O`` holds the outputs before their update."""
    dim = O.shape[1]
    for b in range(nb):
        c = 0
        if fresh:
            g0 = G[b, 0]
            if nc == 1:
                for k in range(dim):
                    E[b, k] = g0 * O[0, k]
                continue
            g1 = G[b, 1]
            for k in range(dim):
                E[b, k] = g0 * O[0, k] + g1 * O[1, k]
            c = 2
        while c + 1 < nc:
            g0 = G[b, c]
            g1 = G[b, c + 1]
            for k in range(dim):
                E[b, k] = (E[b, k] + g0 * O[c, k]) + g1 * O[c + 1, k]
            c += 2
        if c < nc:
            g0 = G[b, c]
            for k in range(dim):
                E[b, k] += g0 * O[c, k]


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _output_updates(X: np.ndarray, xr: np.ndarray, nb: int, G: np.ndarray, O: np.ndarray, nc: int,
                    out: np.ndarray, cols: np.ndarray) -> None:
    """``O[c] += G[:, c]^T X[xr]``, two inputs a pass, each output row then written back once to ``out[cols[c]]``
    (under Hogwild both threads write the rows of frequent words: once per minibatch, not once per input)."""
    dim = O.shape[1]
    for c in range(nc):
        r = cols[c]
        b = 0
        while b + 1 < nb:
            g0 = G[b, c]
            g1 = G[b + 1, c]
            r0 = xr[b]
            r1 = xr[b + 1]
            for k in range(dim):
                O[c, k] = (O[c, k] + g0 * X[r0, k]) + g1 * X[r1, k]
            b += 2
        if b < nb:
            g0 = G[b, c]
            r0 = xr[b]
            for k in range(dim):
                O[c, k] += g0 * X[r0, k]
        for k in range(dim):
            out[r, k] = O[c, k]


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _shared_outputs(X: np.ndarray, ident: np.ndarray, nb: int, out: np.ndarray, cols: np.ndarray, nc: int,
                    first_label: int, skip: np.ndarray, skip_row: bool, A: np.ndarray, E: np.ndarray, O: np.ndarray,
                    F: np.ndarray, G: np.ndarray, sig: np.ndarray, logsig: np.ndarray) -> tuple[float, int]:
    """``nc`` distinct output rows ``cols[:nc]`` (the first labelled ``first_label``, the rest 0) against ``X[:nb]``.

    The same updates as ``_shared_output`` on each column in turn (the rows are distinct, so no column sees
    another's update), computed as small matrix products: the rows are gathered into ``O``, then the logits
    ``F = X O^T`` (``_logits``), the gradients ``G``, ``E += G O`` and ``O += G^T X`` in one pass each. ``ident``
    is ``0, 1, ..., batch - 1`` (``X``'s rows in order).
    """
    _gather(out, cols, nc, O)
    _logits(X, ident, nb, O, nc, F)
    loss, n = _gradients(F, nb, cols, nc, first_label, skip, skip_row, A, G, sig, logsig)
    _input_gradients(G, O, nb, nc, E, False)
    _output_updates(X, ident, nb, G, O, nc, out, cols)
    return loss, n


@njit(cache=True, nogil=True, fastmath=True, inline="always")
def _context_outputs(W: np.ndarray, rows: np.ndarray, nb: int, out: np.ndarray, cols: np.ndarray, nc: int,
                     A: np.ndarray, O: np.ndarray, F: np.ndarray, G: np.ndarray, E: np.ndarray, sig: np.ndarray,
                     logsig: np.ndarray) -> tuple[float, int]:
    """Skip-gram's minibatch read in place: the input rows ``W[rows[:nb]]`` against ``nc`` distinct output rows.

    The updates of ``_shared_outputs`` (first column labelled 1, the rest 0, no input skipped) followed by
    ``W[rows[b]] += E[b]``, bit for bit, without copying the inputs into ``X``: nothing writes ``W`` until the
    end, so the logits and the output updates read the input rows where they lie. ``E[b] = G[b] O`` is computed
    from the gathered outputs before their update (set, not added to a zeroed row), each output row is then
    updated in ``O`` and written back once, and each input row once, as in ``_shared_outputs``: under Hogwild
    (both threads write the rows of frequent words) a row written several times per minibatch cost more than the
    copies saved. An input word twice in the window adds its two gradients in turn, as there. About a quarter
    less Skip-gram kernel CPU time than the copying path (BENCHMARKS); hierarchical softmax and a noise word drawn
    twice keep that path.
    """
    _gather(out, cols, nc, O)
    _logits(W, rows, nb, O, nc, F)
    loss, n = _gradients(F, nb, cols, nc, 1, rows, False, A, G, sig, logsig)
    _input_gradients(G, O, nb, nc, E, True)
    _output_updates(W, rows, nb, G, O, nc, out, cols)
    dim = W.shape[1]
    for b in range(nb):  # then the inputs, each row written once
        r = rows[b]
        for k in range(dim):
            W[r, k] += E[b, k]
    return loss, n


@njit(cache=True, nogil=True, fastmath=True)
def train_chunk_batched(tokens: np.ndarray, lengths: np.ndarray, W: np.ndarray, Wn: np.ndarray, Wh: np.ndarray,
                        keep: np.ndarray, alias_p: np.ndarray, alias_i: np.ndarray, codes: np.ndarray,
                        points: np.ndarray, code_len: np.ndarray, sg: bool, negative: int, hs: bool, window: int,
                        alpha0: float, alpha1: float, pos0: float, total: float, seed: np.uint64, sig: np.ndarray,
                        logsig: np.ndarray, batch: int) -> tuple[float, int, int]:
    """``_kernels.train_chunk`` with minibatches of up to ``batch`` inputs sharing their negative samples.

    Same arguments and result (loss sum, loss terms, words used), plus ``batch`` (>= 1): Skip-gram groups up to
    ``batch`` context words of one centre, CBOW the centres of up to ``batch`` sentences trained side by side
    (``_cbow_interleaved``).
    """
    if not sg:
        return _cbow_interleaved(tokens, lengths, W, Wn, Wh, keep, alias_p, alias_i, codes, points, code_len,
                                 negative, hs, window, alpha0, alpha1, pos0, total, seed, sig, logsig, batch)
    dim = W.shape[1]
    nwords = alias_p.shape[0]
    maxlen = 0
    for s in range(lengths.shape[0]):
        maxlen = max(maxlen, lengths[s])
    buf = np.empty(maxlen, np.int32)
    X = np.empty((batch, dim), np.float32)  # the minibatch's input rows (copies; hierarchical softmax, repeated noise)
    ident = np.arange(batch)  # X's rows in order
    E = np.empty((batch, dim), np.float32)  # their accumulated gradients
    A = np.empty(batch, np.float32)  # their learning rates (one sentence's: all equal)
    g = np.empty(batch, np.float32)
    rows = np.empty(batch, np.int64)  # the input word of each row
    negs = np.empty(max(negative, 1), np.int64)
    cols = np.empty(negative + 1, np.int64)  # the centre and the noise words (minus draws of the centre)
    O = np.empty((negative + 1, dim), np.float32)  # their rows, gathered
    F = np.empty((batch, negative + 1), np.float32)  # logits
    G = np.empty((batch, negative + 1), np.float32)  # gradients (label - sigmoid) * alpha
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
        A[:] = alpha
        for i in range(n):
            state = _next(state)
            b0 = np.int64(((_out(state) >> np.uint64(32)) * np.uint64(window)) >> np.uint64(32))
            lo = max(0, i - window + int(b0))
            hi = min(n, i + window + 1 - int(b0))
            center = np.int64(buf[i])
            j = lo
            while j < hi:
                nb = 0
                while j < hi and nb < batch:
                    if j != i:
                        rows[nb] = buf[j]
                        nb += 1
                    j += 1
                if nb == 0:
                    continue
                distinct = True
                nc = 0
                if negative > 0:  # the draws first: no other step of the minibatch draws
                    for q in range(negative):
                        state, negs[q] = _noise(state, nwords, alias_p, alias_i)
                    cols[0] = center
                    nc = 1
                    for q in range(negative):
                        t = negs[q]
                        if t == center:
                            continue
                        for c in range(1, nc):
                            if cols[c] == t:
                                distinct = False
                        cols[nc] = t
                        nc += 1
                    if distinct and not hs:  # the common case: one small matrix product, inputs read in place
                        ls, nl = _context_outputs(W, rows, nb, Wn, cols, nc, A, O, F, G, E, sig, logsig)
                        loss += ls
                        nloss += nl
                        continue
                for b in range(nb):
                    r = rows[b]
                    for k in range(dim):
                        X[b, k] = W[r, k]
                        E[b, k] = 0.0
                if hs:
                    for b in range(nb):
                        for c in range(code_len[center]):
                            loss += _update(X[b], Wh, points[center, c], 1 - np.int64(codes[center, c]), alpha,
                                            E[b], sig, logsig)
                            nloss += 1
                if negative > 0:
                    if distinct:  # one small matrix product for the centre and every noise word
                        ls, nl = _shared_outputs(X, ident, nb, Wn, cols, nc, 1, rows, False, A, E, O, F, G, sig,
                                                 logsig)
                        loss += ls
                        nloss += nl
                    else:  # a noise word drawn twice: its second update sees its first, as per pair
                        for c in range(nc):
                            ls, nl = _shared_output(X, nb, Wn, cols[c], 1 if c == 0 else 0, rows, False, A,
                                                    E, g, sig, logsig)
                            loss += ls
                            nloss += nl
                for b in range(nb):
                    r = rows[b]
                    for k in range(dim):
                        W[r, k] += E[b, k]
    return loss, nloss, used


@njit(cache=True, nogil=True, fastmath=True)
def _cbow_interleaved(tokens: np.ndarray, lengths: np.ndarray, W: np.ndarray, Wn: np.ndarray, Wh: np.ndarray,
                      keep: np.ndarray, alias_p: np.ndarray, alias_i: np.ndarray, codes: np.ndarray,
                      points: np.ndarray, code_len: np.ndarray, negative: int, hs: bool, window: int, alpha0: float,
                      alpha1: float, pos0: float, total: float, seed: np.uint64, sig: np.ndarray,
                      logsig: np.ndarray, batch: int) -> tuple[float, int, int]:
    """CBOW minibatches: one centre from each of up to ``batch`` sentences trained side by side.

    Each of ``batch`` slots holds a subsampled sentence and a cursor; a step takes the next centre of every slot
    (its window drawn, its context mean, hierarchical softmax and positive update as ``train_chunk``), shares one
    set of noise words among the step's centres, then adds every centre's input gradient to its context words; a
    slot whose sentence is done takes the next sentence of the chunk (subsampled then, with that sentence's
    learning rate). Consecutive centres of one sentence fall in consecutive steps, so each sees its neighbours'
    updates and draws its own noise words, as per pair: grouping consecutive centres of *one* sentence instead
    (their windows overlap) let one context word take most of its gradients from the same few noise words, late,
    and cost analogy accuracy (BENCHMARKS). With ``batch=1`` it is ``train_chunk``'s CBOW bit for bit.
    """
    dim = W.shape[1]
    nwords = alias_p.shape[0]
    ns = lengths.shape[0]
    maxlen = 0
    for s in range(ns):
        maxlen = max(maxlen, lengths[s])
    bufs = np.empty((batch, maxlen), np.int32)  # each slot's subsampled sentence
    slen = np.zeros(batch, np.int64)  # its length
    cur = np.zeros(batch, np.int64)  # its next centre (>= slen: the slot wants a sentence)
    salpha = np.empty(batch, np.float32)  # its learning rate
    X = np.empty((batch, dim), np.float32)  # the step's context means
    ident = np.arange(batch)  # X's rows in order
    E = np.empty((batch, dim), np.float32)  # their accumulated gradients
    A = np.empty(batch, np.float32)  # their learning rates
    g = np.empty(batch, np.float32)
    rows = np.empty(batch, np.int64)  # the centre word of each row
    slot = np.empty(batch, np.int64)  # the slot of each row
    los = np.empty(batch, np.int64)  # each row's window
    his = np.empty(batch, np.int64)
    cpos = np.empty(batch, np.int64)  # each row's centre position
    negs = np.empty(max(negative, 1), np.int64)
    O = np.empty((max(negative, 1), dim), np.float32)
    F = np.empty((batch, max(negative, 1)), np.float32)
    G = np.empty((batch, max(negative, 1)), np.float32)
    state = splitmix64(seed)
    loss = np.float64(0.0)
    nloss = 0
    used = 0
    start = 0
    s = 0
    pos = pos0
    while True:
        active = 0
        for q in range(batch):  # refill the slots whose sentence is done, in slot order
            while cur[q] >= slen[q] and s < ns:
                n_raw = lengths[s]
                n, state, alpha = subsample_sentence(tokens, start, n_raw, keep, bufs[q], state, alpha0, alpha1,
                                                     pos, total)
                start += n_raw
                pos += 1
                s += 1
                used += n
                slen[q] = n
                cur[q] = 0
                salpha[q] = alpha
            if cur[q] < slen[q]:
                active += 1
        if active == 0:
            break
        nb = 0
        for q in range(batch):
            i = cur[q]
            n = slen[q]
            if i >= n:
                continue
            cur[q] = i + 1
            state = _next(state)
            b0 = np.int64(((_out(state) >> np.uint64(32)) * np.uint64(window)) >> np.uint64(32))
            lo = max(0, i - window + int(b0))
            hi = min(n, i + window + 1 - int(b0))
            cw = hi - lo - 1
            if cw <= 0:
                continue
            for k in range(dim):
                X[nb, k] = 0.0
                E[nb, k] = 0.0
            for j in range(lo, hi):
                if j != i:
                    r = bufs[q, j]
                    for k in range(dim):
                        X[nb, k] += W[r, k]
            inv = np.float32(1.0 / cw)
            for k in range(dim):
                X[nb, k] *= inv
            center = np.int64(bufs[q, i])
            alpha = salpha[q]
            rows[nb] = center
            slot[nb] = q
            cpos[nb] = i
            los[nb] = lo
            his[nb] = hi
            A[nb] = alpha
            if hs:  # hierarchical softmax per input, as train_chunk
                for c in range(code_len[center]):
                    loss += _update(X[nb], Wh, points[center, c], 1 - np.int64(codes[center, c]), alpha, E[nb],
                                    sig, logsig)
                    nloss += 1
            if negative > 0:
                loss += _update(X[nb], Wn, center, 1, alpha, E[nb], sig, logsig)
                nloss += 1
            nb += 1
        if nb == 0:
            continue
        if negative > 0:
            distinct = True
            for q in range(negative):
                state, negs[q] = _noise(state, nwords, alias_p, alias_i)
                for c in range(q):
                    if negs[c] == negs[q]:
                        distinct = False
            if distinct:  # one small matrix product for every noise word (a row's own centre skipped)
                ls, nl = _shared_outputs(X, ident, nb, Wn, negs, negative, 0, rows, True, A, E, O, F, G, sig, logsig)
                loss += ls
                nloss += nl
            else:  # a noise word drawn twice: its second update sees its first, as per pair
                for q in range(negative):
                    ls, nl = _shared_output(X, nb, Wn, negs[q], 0, rows, True, A, E, g, sig, logsig)
                    loss += ls
                    nloss += nl
        for b in range(nb):
            q = slot[b]
            c = cpos[b]
            for j in range(los[b], his[b]):
                if j != c:
                    r = bufs[q, j]
                    for k in range(dim):
                        W[r, k] += E[b, k]
    return loss, nloss, used
