"""Compiled corpus encoding: UTF-8 lines -> int32 word ids through an open-addressing table of byte strings.

Tokens are split exactly where Python's ``str.split()`` splits (every character for which ``str.isspace`` is
true), one line at a time; a line longer than ``cap`` tokens becomes several sentences. ``WordTable`` owns the
growing arrays; ``encode_lines`` stops at a line boundary when they are full, so the caller grows them and goes on.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True, nogil=True, inline="always")
def _space(data: np.ndarray, p: int, n: int) -> int:  # bytes of the whitespace character at p, or 0
    c = data[p]
    if c == 32 or 9 <= c <= 13 or 28 <= c <= 31:
        return 1
    if c < 0xC2:
        return 0
    if c == 0xC2:
        if p + 1 < n and (data[p + 1] == 0x85 or data[p + 1] == 0xA0):
            return 2
        return 0
    if p + 2 >= n:
        return 0
    c1, c2 = data[p + 1], data[p + 2]
    if c == 0xE1:
        return 3 if c1 == 0x9A and c2 == 0x80 else 0
    if c == 0xE2:
        if c1 == 0x80 and (0x80 <= c2 <= 0x8A or c2 == 0xA8 or c2 == 0xA9 or c2 == 0xAF):
            return 3
        return 3 if c1 == 0x81 and c2 == 0x9F else 0
    if c == 0xE3:
        return 3 if c1 == 0x80 and c2 == 0x80 else 0
    return 0


@njit(cache=True, nogil=True)
def rehash(hashes: np.ndarray, n_words: int, size: int) -> np.ndarray:
    """A new slot array of ``size`` (a power of two) holding words ``0 .. n_words-1`` by their hashes."""
    slots = np.full(size, -1, np.int32)
    mask = np.uint64(size - 1)
    for k in range(n_words):
        i = hashes[k] & mask
        while slots[i] >= 0:
            i = (i + np.uint64(1)) & mask
        slots[i] = k
    return slots


@njit(cache=True, nogil=True, inline="always")
def _probe(h: np.uint64, src: np.ndarray, a: int, size: int, slots: np.ndarray, starts: np.ndarray, lens: np.ndarray,
           hashes: np.ndarray, arena: np.ndarray) -> tuple[np.uint64, int]:
    """Find the word ``src[a:a+size]`` (hash ``h``): (its slot, its word number), or (the free slot that ends its
    probe sequence, -1). Linear probing; words are compared by hash, length, then bytes."""
    mask = np.uint64(slots.size - 1)
    i = h & mask
    while True:
        k = slots[i]
        if k < 0:
            return i, -1
        if hashes[k] == h and lens[k] == size:
            s = starts[k]
            same = True
            for j in range(size):
                if arena[s + j] != src[a + j]:
                    same = False
                    break
            if same:
                return i, k
        i = (i + np.uint64(1)) & mask


@njit(cache=True, nogil=True, inline="always")
def _add(h: np.uint64, src: np.ndarray, a: int, size: int, i: np.uint64, n_words: int, used: int, slots: np.ndarray,
         starts: np.ndarray, lens: np.ndarray, hashes: np.ndarray, vals: np.ndarray, arena: np.ndarray) -> bool:
    """Store ``src[a:a+size]`` (hash ``h``) as word ``n_words`` (its id too) at free slot ``i``, its bytes at
    ``arena[used:]``; False, with nothing written, when the words, the arena or the slots (kept at most half
    full) are full and must grow first."""
    if n_words >= starts.size or used + size > arena.size or 2 * (n_words + 1) > slots.size:
        return False
    arena[used:used + size] = src[a:a + size]
    starts[n_words], lens[n_words], hashes[n_words], vals[n_words] = used, size, h, n_words
    slots[i] = n_words
    return True


@njit(cache=True, nogil=True)
def encode_lines(data: np.ndarray, pos: int, cap: int, grow: bool, slots: np.ndarray, starts: np.ndarray,
                 lens: np.ndarray, hashes: np.ndarray, vals: np.ndarray, arena: np.ndarray, state: np.ndarray,
                 out_ids: np.ndarray, out_lens: np.ndarray) -> int:
    """Encode ``data[pos:]`` (UTF-8, every line ending in ``\\n``); return where it stopped (``data.size`` when done).

    ``state`` is int64 (words, arena bytes used, ids written, lengths written), updated in place. With ``grow`` an
    unknown word gets the next id, else -1. It stops at the start of a line whose new word finds the table full.
    """
    n = data.size
    n_words, used, nt, nl = state[0], state[1], state[2], state[3]
    while pos < n:
        line_start, nt0, nl0 = pos, nt, nl
        count = 0
        while True:
            while pos < n and data[pos] != 10:
                w = _space(data, pos, n)
                if w == 0:
                    break
                pos += w
            if pos >= n or data[pos] == 10:
                break
            a = pos
            h = _FNV_OFFSET
            while pos < n:
                c = data[pos]
                if c <= 32 or c >= 0xC2:  # maybe a space or the line end (bytes 33..0xC1 never start one)
                    if c == 10 or _space(data, pos, n) != 0:
                        break
                h = (h ^ np.uint64(c)) * _FNV_PRIME
                pos += 1
            size = pos - a
            i, k = _probe(h, data, a, size, slots, starts, lens, hashes, arena)
            val = vals[k] if k >= 0 else -1
            if k < 0 and grow:
                if not _add(h, data, a, size, i, n_words, used, slots, starts, lens, hashes, vals, arena):
                    state[0], state[1], state[2], state[3] = n_words, used, nt0, nl0
                    return line_start
                val = n_words
                used += size
                n_words += 1
            out_ids[nt] = val
            nt += 1
            count += 1
        if pos < n:
            pos += 1
        while count > cap:
            out_lens[nl] = cap
            nl += 1
            count -= cap
        if count > 0:
            out_lens[nl] = count
            nl += 1
    state[0], state[1], state[2], state[3] = n_words, used, nt, nl
    return pos


@njit(cache=True, nogil=True)
def merge_words(o_arena: np.ndarray, o_starts: np.ndarray, o_lens: np.ndarray, o_hashes: np.ndarray, o_n: int,
                first: int, slots: np.ndarray, starts: np.ndarray, lens: np.ndarray, hashes: np.ndarray,
                vals: np.ndarray, arena: np.ndarray, state: np.ndarray, where: np.ndarray) -> int:
    """Look up words ``first .. o_n-1`` of another table (its bytes, starts, lengths and hashes) in this one.

    A word not here gets the next id (as ``encode_lines`` with ``grow``); ``where[k]`` is the id here of the other
    table's word ``k``. The hashes are the other table's (the same FNV-1a of the same bytes), so nothing is hashed
    or copied twice. ``state`` is int64 (words, arena bytes used), updated in place. Returns the first word not
    done (``o_n`` when done): it stops where a new word finds the table full, so the caller grows it and goes on.
    """
    n_words, used = state[0], state[1]
    for w in range(first, o_n):
        a = o_starts[w]
        size = o_lens[w]
        h = o_hashes[w]
        i, k = _probe(h, o_arena, a, size, slots, starts, lens, hashes, arena)
        val = vals[k] if k >= 0 else -1
        if k < 0:
            if not _add(h, o_arena, a, size, i, n_words, used, slots, starts, lens, hashes, vals, arena):
                state[0], state[1] = n_words, used
                return w
            val = n_words
            used += size
            n_words += 1
        where[w] = val
    state[0], state[1] = n_words, used
    return o_n


class WordTable:
    """Growing storage of ``encode_lines``: words as bytes in an arena, their hashes, ids and the slot array."""

    def __init__(self) -> None:
        self.slots = np.full(1 << 16, -1, np.int32)
        self.starts = np.zeros(1 << 14, np.int64)
        self.lens = np.zeros(1 << 14, np.int32)
        self.hashes = np.zeros(1 << 14, np.uint64)
        self.vals = np.zeros(1 << 14, np.int32)
        self.arena = np.zeros(1 << 18, np.uint8)
        self.n_words = 0
        self.used = 0

    def grow(self, need_bytes: int) -> None:
        """Double whatever is full (words, ``need_bytes`` more arena bytes, slots kept at most half full)."""
        if self.n_words + 1 > self.starts.size:
            m = 2 * self.starts.size
            for name in ("starts", "lens", "hashes", "vals"):
                old = getattr(self, name)
                new = np.zeros(m, old.dtype)
                new[: old.size] = old
                setattr(self, name, new)
        if self.used + need_bytes > self.arena.size:
            arena = np.zeros(max(2 * self.arena.size, self.used + need_bytes), np.uint8)
            arena[: self.used] = self.arena[: self.used]
            self.arena = arena
        if 2 * (self.n_words + 1) > self.slots.size:
            self.slots = rehash(self.hashes, self.n_words, 2 * self.slots.size)

    def encode(self, data: np.ndarray, cap: int, grow: bool) -> tuple[np.ndarray, np.ndarray]:
        """int32 ids and sentence lengths of ``data`` (uint8 UTF-8, each line ending in ``\\n``)."""
        out_ids = np.empty(data.size // 2 + 1, np.int32)
        out_lens = np.empty(int(np.count_nonzero(data == 10)) + data.size // (2 * cap) + 2, np.int32)
        state = np.zeros(4, np.int64)
        pos = 0
        while True:
            state[0], state[1] = self.n_words, self.used
            pos = encode_lines(data, pos, cap, grow, self.slots, self.starts, self.lens, self.hashes, self.vals,
                               self.arena, state, out_ids, out_lens)
            self.n_words, self.used = int(state[0]), int(state[1])
            if pos >= data.size:
                return out_ids[: state[2]], out_lens[: state[3]]
            self.grow(int(data.size - pos))

    def merge(self, other: WordTable) -> np.ndarray:
        """Add ``other``'s words that are new here, in ``other``'s id order, and return where each of its words is.

        Encoding a text into a fresh table and merging that into this one gives this table the ids, in the same
        order, that encoding the text into this table would have (new words numbered in order of first occurrence).

        Parameters
        ----------
        other : WordTable
            A table filled with ``grow`` (its ids are ``0 .. other.n_words - 1``).

        Returns
        -------
        np.ndarray
            int32 ``(other.n_words,)``: this table's id of each of ``other``'s words.
        """
        n = other.n_words
        where = np.empty(n, np.int32)
        state = np.zeros(2, np.int64)
        done = 0
        while True:
            state[0], state[1] = self.n_words, self.used
            done = merge_words(other.arena, other.starts, other.lens, other.hashes, n, done, self.slots, self.starts,
                               self.lens, self.hashes, self.vals, self.arena, state, where)
            self.n_words, self.used = int(state[0]), int(state[1])
            if done >= n:
                return where
            self.grow(int(other.used - other.starts[done]))

    def words(self, ids: np.ndarray | None = None) -> list[str]:
        """The table's words in id order, or those of ``ids`` (int array, values < ``n_words``) in that order."""
        raw = self.arena[: self.used].tobytes()
        sel = slice(0, self.n_words) if ids is None else np.asarray(ids, np.int64)
        return [raw[s:s + n].decode("utf-8") for s, n in zip(self.starts[sel].tolist(), self.lens[sel].tolist(),
                                                             strict=True)]
