"""Word-word co-occurrence counts for GloVe, counted from a streamed corpus in bounded memory.

    >>> cooc = count_cooccurrences("corpus.txt", window=10, min_count=5)
    >>> cooc.vocab.words[:3], cooc.nnz, cooc.to_scipy()          # scipy.sparse, symmetric (V, V)

A pair of words at distance d <= ``window`` inside one line adds 1/d to X[i, j] and X[j, i] (``distance_weighting``,
as in Pennington et al. 2014 and glove.c; without it, 1). Only the upper triangle (i <= j) is stored: records
``rows``, ``cols`` (int32) and ``values`` (float32), in a pseudo-random order fixed by ``seed`` (the order GloVe
trains in). Memory stays bounded: each worker counts into a dense block for the most frequent words plus a
hash table capped by ``max_memory``; a full table is written to disk as a sorted run and the runs are merged
at the end, as glove.c's ``cooccur`` spills and merges. Words that never have a neighbour (they only occur
alone on a line) cannot be fitted and are dropped from the vocabulary, with a warning naming them.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._params import check_bool, check_int
from .._progress import progress_bar
from ..errors import CorruptFileError, InputError, ResourceLimitError
from ..formats import cooccurrence as cooccurrence_folder
from .base import save_folder
from .corpus import EncodedCorpus, as_corpus, scratch_folder
from .vocab import Vocab, check_vocab_params, check_vocab_size

if TYPE_CHECKING:
    from scipy import sparse

__all__ = ["Cooccurrence", "count_cooccurrences", "counting_memory"]

FORMAT, FORMAT_VERSION = cooccurrence_folder.FORMAT, cooccurrence_folder.FORMAT_VERSION
_DAMAGED = "the co-occurrence folder is damaged: count the corpus again"
DEFAULT_COUNT_MEMORY = 1 << 30  # bytes for all workers' counting tables when max_memory is not given
DENSE_WORDS = 1024  # pairs of two of the most frequent words are counted in a dense block (no hashing)
_BYTES_PER_SLOT = 16 + 12  # key + value, plus the sort keys and order of a spilled run (at 70 % load)
_LOAD = 0.7
_MIN_SLOTS = 1 << 16
_START_SLOTS = 1 << 18  # a worker's first hash table (4 MB); it doubles when full
_OUT = (("rows.i32", np.int32), ("cols.i32", np.int32), ("values.f32", np.float32))


class Cooccurrence:
    """The upper triangle of a symmetric co-occurrence matrix over ``vocab`` (words most frequent first).

    ``rows[n] <= cols[n]`` (int32) and ``values[n] > 0`` (float32) for the ``nnz`` stored cells; the arrays may
    be memory-mapped. ``to_scipy()`` gives the full symmetric matrix, ``to_dense()`` a dense one (small V only).
    """

    def __init__(self, vocab: Vocab, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, window: int,
                 distance_weighting: bool = True) -> None:
        if not (rows.shape == cols.shape == values.shape and rows.ndim == 1):
            raise InputError(f"rows, cols and values must be 1-D and equally long, got {rows.shape}, {cols.shape}, "
                             f"{values.shape}")
        if rows.dtype != np.int32 or cols.dtype != np.int32 or values.dtype != np.float32:
            raise InputError("rows and cols must be int32 and values float32")
        self.vocab, self.rows, self.cols, self.values = vocab, rows, cols, values
        self.window, self.distance_weighting = int(window), bool(distance_weighting)

    @property
    def nnz(self) -> int:
        """Stored cells (the upper triangle, diagonal included)."""
        return int(self.rows.shape[0])

    def __len__(self) -> int:
        return len(self.vocab)

    def check(self) -> Cooccurrence:
        """InputError unless every index is in range with row <= col and every value is finite and > 0."""
        v = len(self.vocab)
        if self.nnz == 0:
            raise InputError("the co-occurrence matrix is empty: no two vocabulary words occur near each other")
        r, c, x = np.asarray(self.rows), np.asarray(self.cols), np.asarray(self.values)
        if r.min() < 0 or c.max() >= v or (r > c).any():
            raise InputError(f"co-occurrence indices must satisfy 0 <= row <= col < {v} (the vocabulary size)")
        if not np.isfinite(x).all() or x.min() <= 0:
            raise InputError("co-occurrence values must be finite and > 0")
        return self

    def to_scipy(self) -> sparse.csr_matrix:
        """The full symmetric matrix as ``scipy.sparse.csr_matrix`` (V, V), float64."""
        from scipy import sparse

        v = len(self.vocab)
        off = self.rows != self.cols
        r = np.concatenate([self.rows, self.cols[off]])
        c = np.concatenate([self.cols, self.rows[off]])
        x = np.concatenate([self.values, self.values[off]]).astype(np.float64)
        return sparse.csr_matrix((x, (r, c)), shape=(v, v))

    def to_dense(self) -> np.ndarray:
        """The full symmetric matrix as a dense float64 (V, V) array (V * V * 8 bytes: for small vocabularies)."""
        return self.to_scipy().toarray()

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the folder ``formats.cooccurrence`` describes (``cooccurrence.json``, ``vocab.tsv``,
        rows/cols/values ``.npy``) as ``folder``, atomically."""
        folder = Path(folder)
        with save_folder(folder) as tmp:
            cooccurrence_folder.write(tmp, cooccurrence_folder.CooccurrenceFolder(
                self.vocab.to_file(), np.asarray(self.rows), np.asarray(self.cols), np.asarray(self.values),
                self.window, self.distance_weighting))
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike[str], mmap: bool = True) -> Cooccurrence:
        """Read a folder written by ``save``; CorruptFileError naming the file when anything is missing or off."""
        folder = Path(folder)
        data = cooccurrence_folder.read(folder, mmap=mmap)
        vocab = Vocab.from_file(data.vocab, folder / "vocab.tsv")
        try:
            return cls(vocab, data.rows, data.cols, data.values, window=data.window,
                       distance_weighting=data.distance_weighting).check()
        except InputError as exc:
            raise CorruptFileError(f"{folder}: {exc}; {_DAMAGED}") from None

    def __repr__(self) -> str:
        return f"Cooccurrence({len(self.vocab)} words, {self.nnz:,} cells, window={self.window})"


def counting_memory(max_memory: int | None, workers: int, reserved: int = 0, min_slots: int = _MIN_SLOTS) -> tuple[int, int]:
    """(hash slots per worker, bytes for all workers' tables): the most slots (a power of two, at least
    ``min_slots``) that fit ``max_memory - reserved`` bytes (1 GiB when ``max_memory`` is None)."""
    budget = DEFAULT_COUNT_MEMORY if max_memory is None else int(max_memory) - int(reserved)
    per = budget // workers - DENSE_WORDS * DENSE_WORDS * 8
    slots = max(1 << max(0, int(np.floor(np.log2(max(per, 1) / _BYTES_PER_SLOT)))), int(min_slots))
    return slots, workers * (slots * _BYTES_PER_SLOT + DENSE_WORDS * DENSE_WORDS * 8)


def count_cooccurrences(corpus: str | os.PathLike[str] | Iterable[list[str]], window: int = 10, min_count: int = 5,
                        max_vocab_size: int | None = None, distance_weighting: bool = True, workers: int = 2,
                        seed: int = 1, max_memory: int | None = None, reserved_memory: int = 0,
                        folder: str | os.PathLike[str] | None = None, tmp_dir: str | os.PathLike[str] | None = None,
                        progress: bool = True) -> Cooccurrence:
    """Count ``corpus`` (a path, a LineCorpus or token lists) in one streaming pass plus the pair counting.

    The vocabulary keeps words seen ``min_count`` times, the ``max_vocab_size`` most frequent at most (exact
    counts, like glove.c's ``-max-vocab``). With ``folder`` (an existing folder) the records stay there,
    memory-mapped; without it they are read into memory and the scratch files deleted. ``max_memory`` (bytes)
    caps the counting tables (``reserved_memory`` of it is kept for the caller); the default is 1 GiB.
    InputError for an empty corpus, fewer than 2 usable words or no co-occurring pair; ResourceLimitError when
    ``max_memory`` leaves no room to count.
    """
    window = check_int(window, "window", low=1, hint="context words on each side")
    check_vocab_params(min_count, max_vocab_size)
    check_bool(distance_weighting, "distance_weighting")
    workers = check_int(workers, "workers", low=1)
    check_int(seed, "seed", low=0)
    if folder is not None:
        return _count_into(Path(folder), corpus, window, min_count, max_vocab_size, distance_weighting, workers, seed,
                           max_memory, reserved_memory, progress)
    with scratch_folder(tmp_dir, "embedlab-cooc-") as tmp:
        c = _count_into(tmp, corpus, window, min_count, max_vocab_size, distance_weighting, workers, seed, max_memory,
                        reserved_memory, progress)
        return Cooccurrence(c.vocab, np.array(c.rows), np.array(c.cols), np.array(c.values), window, distance_weighting)


def _count_into(folder: Path, corpus: str | os.PathLike[str] | Iterable[list[str]], window: int, min_count: int,
                max_vocab_size: int | None, distance_weighting: bool, workers: int, seed: int,
                max_memory: int | None, reserved_memory: int, progress: bool) -> Cooccurrence:
    corpus = as_corpus(corpus)
    if not folder.is_dir():
        raise InputError(f"folder must be an existing folder, got {str(folder)!r}")
    for name, _ in _OUT:
        if (folder / name).exists():
            raise InputError(f"{folder} already holds {name}; count into an empty folder")
    with scratch_folder(folder, ".embedlab-count-") as work:  # the encoded corpus and spilled runs
        return _count_in(folder, work, corpus, window, min_count, max_vocab_size, distance_weighting, workers, seed,
                         max_memory, reserved_memory, progress)


def _count_in(folder: Path, work: Path, corpus: Iterable[list[str]], window: int, min_count: int,
              max_vocab_size: int | None, distance_weighting: bool, workers: int, seed: int, max_memory: int | None,
              reserved_memory: int, progress: bool) -> Cooccurrence:
    enc, vocab = _encode(corpus, work / "corpus", int(min_count), max_vocab_size, progress)
    check_vocab_size(len(vocab), int(min_count), "GloVe needs at least 2 words that occur near each other",
                     max_vocab_size)
    v = len(vocab)
    longest = 1 << int(np.ceil(np.log2(int(np.max(enc.lengths, initial=1)) * window / _LOAD + 1)))
    slots, count_bytes = counting_memory(max_memory, workers, reserved_memory, max(_MIN_SLOTS, longest))
    most = min(v * (v + 1) // 2, enc.n_tokens * window)  # distinct cells can be no more
    enough = max(_MIN_SLOTS, longest, 1 << int(np.ceil(np.log2(most / _LOAD + 1))))
    if enough < slots:  # a small corpus never needs the whole budget
        slots = enough
        count_bytes = workers * (slots * _BYTES_PER_SLOT + DENSE_WORDS * DENSE_WORDS * 8)
    if max_memory is not None and count_bytes > int(max_memory) - int(reserved_memory):
        raise ResourceLimitError(
            f"max_memory leaves {(int(max_memory) - int(reserved_memory)) / 1e6:,.1f} MB for counting but {workers} "
            f"worker(s) need at least {count_bytes / 1e6:,.1f} MB; raise max_memory, lower workers or window")
    if progress:
        print(f"glove: counting {enc.n_tokens:,} tokens, {v:,} words, window {window}: counting tables at most "
              f"{count_bytes / 1e6:,.1f} MB ({workers} worker(s) x a {DENSE_WORDS}-word dense block + a hash table that "
              f"grows to {slots:,} slots, then spills sorted runs to disk); at most {most:,} cells = "
              f"{most * 12 / 1e6:,.1f} MB on disk", file=sys.stderr)
    rows, cols, vals, keep = _count(enc, v, window, distance_weighting, workers, seed, slots, max(_MIN_SLOTS, longest),
                                    work, folder, progress)
    del enc
    if rows.shape[0] == 0 or len(keep) < 2:
        raise InputError(f"no two vocabulary words occur within window={window} of each other on one line; "
                         "GloVe has nothing to fit: use a larger corpus, a larger window or lower min_count")
    if len(keep) < v:
        dropped = [vocab.words[i] for i in np.setdiff1d(np.arange(v), keep)[:5]]
        warnings.warn(f"{v - len(keep)} of {v} vocabulary words never occur within {window} words of another "
                      f"(e.g. {', '.join(map(repr, dropped))}); they get no vector", stacklevel=3)
        vocab = Vocab([vocab.words[i] for i in keep], vocab.counts[keep], raw_tokens=vocab.raw_tokens,
                      sentences=vocab.sentences)
    return Cooccurrence(vocab, rows, cols, vals, window, distance_weighting)


def _encode(corpus: Iterable[list[str]], folder: Path, min_count: int, max_vocab_size: int | None,
            progress: bool) -> tuple[EncodedCorpus, Vocab]:
    """One pass: encode the corpus as ids in first-occurrence order, then renumber to the final vocabulary."""
    with progress_bar(None, "reading corpus", "w", progress, unit_scale=True) as bar:
        return EncodedCorpus.write_ranked(corpus, folder, min_count, max_vocab_size, progress=bar)


def _count(enc: EncodedCorpus, v: int, window: int, weighting: bool, workers: int, seed: int, slots: int,
           start_slots: int, scratch: Path, folder: Path, progress: bool
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count pairs on ``workers`` threads (each a contiguous share of the sentences), spill sorted runs into ``scratch``,
    merge them into rows/cols/values files in ``folder``."""
    from numba.typed import List

    from . import _glove_kernels as K

    tokens, lengths = enc.tokens, enc.lengths
    k_dense = min(v, DENSE_WORDS)
    salt = np.uint64(K.mix64(np.uint64(seed) + np.uint64(0x9E3779B97F4A7C15)))
    starts = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
    cuts = np.searchsorted(starts, np.linspace(0, enc.n_tokens, workers + 1)[1:-1]).tolist()
    bounds = [0, *cuts, enc.n_sentences]
    runs: list[list[Path]] = [[] for _ in range(workers)]
    denses = [np.zeros(k_dense * k_dense, np.float64) for _ in range(workers)]
    contexts = [np.zeros(v, np.bool_) for _ in range(workers)]
    errors: list[BaseException] = []
    bar = progress_bar(enc.n_tokens, "counting pairs", "w", progress, unit_scale=True)
    lock = threading.Lock()

    def spill(w: int, tkeys: np.ndarray, tvals: np.ndarray) -> None:
        n = K.compact_table(tkeys, tvals)
        order = np.argsort(K.order_keys(tkeys[:n], salt), kind="stable")
        path = scratch / f"run-{w}-{len(runs[w])}"
        tkeys[:n][order].tofile(f"{path}.key")
        tvals[:n][order].tofile(f"{path}.val")
        runs[w].append(path)
        tkeys.fill(K.EMPTY)

    def work(w: int) -> None:
        try:
            s, s_end = bounds[w], bounds[w + 1]
            if s >= s_end:
                return
            t = int(starts[s])
            size = min(slots, max(start_slots, _START_SLOTS))  # grows by doubling up to ``slots``, then spills
            tkeys = np.full(size, K.EMPTY, np.int64)
            tvals = np.zeros(size, np.float64)
            used = 0
            while s < s_end:
                stop = min(s_end, s + 4096)
                s2, t2, used = K.count_sentences(tokens, lengths, s, stop, t, window, weighting, k_dense, denses[w],
                                                 tkeys, tvals, used, int(size * _LOAD), v, contexts[w])
                with lock:
                    bar.update(t2 - t)
                if s2 < stop:  # the table is full: double it while the budget allows, else write it out as a run
                    if size < slots:
                        size *= 2
                        tkeys, tvals = K.rehash(tkeys, tvals, size)
                    else:
                        spill(w, tkeys, tvals)
                        used = 0
                s, t = s2, t2
            if used:
                spill(w, tkeys, tvals)
        except BaseException as exc:  # surface kernel errors in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    bar.close()
    if errors:
        raise errors[0]
    dense = denses[0]
    for extra in denses[1:]:
        dense += extra
    has_context = np.logical_or.reduce(contexts)
    keep = np.flatnonzero(has_context)
    remap = np.full(v, -1, np.int32)
    remap[keep] = np.arange(len(keep), dtype=np.int32)
    dkeys, dvals = K.dense_entries(dense, k_dense, v)
    order = np.argsort(K.order_keys(dkeys, salt), kind="stable")
    run_keys, run_vals = List([dkeys[order]]), List([dvals[order]])
    for path in (p for w in runs for p in w):
        run_keys.append(_read_run(f"{path}.key", np.int64))
        run_vals.append(_read_run(f"{path}.val", np.float64))
    total = sum(int(k.shape[0]) for k in run_keys)
    out = [np.memmap(folder / name, dt, mode="w+", shape=(max(total, 1),)) for name, dt in _OUT]
    n = K.merge_runs(run_keys, run_vals, salt, v, remap, *out)
    del run_keys, run_vals
    for path in (p for w in runs for p in w):
        os.remove(f"{path}.key")
        os.remove(f"{path}.val")
    for arr in out:
        arr.flush()
    del out
    result: list[np.ndarray] = []
    for name, dt in _OUT:
        os.truncate(folder / name, n * np.dtype(dt).itemsize)
        result.append(np.asarray(np.memmap(folder / name, dt, mode="r", shape=(n,))) if n else np.zeros(0, dt))
    return result[0], result[1], result[2], keep


def _read_run(path: str, dtype: type[np.generic]) -> np.ndarray:
    """A spilled run, memory-mapped (as a plain ndarray view, so numba's typed list takes it)."""
    if os.path.getsize(path) == 0:
        return np.zeros(0, dtype)
    return np.asarray(np.memmap(path, dtype, mode="c"))  # copy-on-write: typed as writable, never written
