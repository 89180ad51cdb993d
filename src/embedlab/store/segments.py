"""Append-only vector segments (``.npy`` float32 files) and the searchable views built over them.

A segment is written once, fsynced, and never changed; it becomes visible only when the SQLite transaction
that lists it commits. Its rows have labels ``start .. start + rows - 1``.

``SegmentedExact`` searches the memory-mapped segments in place: one ``ExactIndex.from_matrix`` per segment
(no copy), results merged per query. ``CachedANN`` holds an approximate index (HNSW) built from the same rows;
it is a cache that can be saved, reloaded and caught up from the committed segments.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError
from ..index import ExactIndex
from ..index.base import Index
from ..index.exact import merge_topk
from .manifest import fsync_dir

SEGMENT_DIR = "segments"


def write_segment(path: Path, blocks: Iterable[np.ndarray], n: int, dim: int) -> None:
    """Write ``n`` float32 rows (given as consecutive blocks) to a new ``.npy`` file and fsync it."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
    at = 0
    for block in blocks:
        out[at:at + len(block)] = block
        at += len(block)
    if at != n:  # pragma: no cover - internal invariant
        raise RuntimeError(f"segment {path.name}: wrote {at} rows, expected {n}")
    out.flush()
    del out
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)


def open_segment(path: Path, rows: int, dim: int) -> np.ndarray:
    """Memory-map a committed segment read-only, checking dtype and shape (FileNotFoundError passes through)."""
    try:
        mat = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise CorruptFileError(
            f"vector segment {path} cannot be read ({exc}); restore the collection folder from a backup or drop "
            "the collection and add the items again"
        ) from None
    if mat.dtype != np.float32 or mat.shape != (rows, dim):
        raise CorruptFileError(
            f"vector segment {path} holds {mat.dtype} {mat.shape}, the catalogue expects float32 ({rows}, {dim}); "
            "restore the collection folder from a backup or drop the collection and add the items again"
        )
    return mat


class SegmentedExact:
    """Exact search over memory-mapped segments, one ``ExactIndex`` per segment, results merged.

    Each segment's ``ExactIndex`` picks its kernel (one wide query: BLAS mat-vec + argpartition, dead rows masked;
    otherwise FAISS's scan), so this class only routes labels to segments and merges their top-k.
    """

    kind = "exact"

    def __init__(self, dim: int, metric: str) -> None:
        self.dim, self.metric = dim, metric
        self._parts: list[tuple[int, int, ExactIndex]] = []  # (first label, end label, index)

    def add_segment(self, start: int, mat: np.ndarray, dead: np.ndarray) -> None:
        idx = ExactIndex.from_matrix(np.arange(start, start + len(mat), dtype=np.int64), mat, self.metric,
                                     prepared=True)
        self._parts.append((start, start + len(mat), idx))
        self._remove_from(self._parts[-1], dead)

    @staticmethod
    def _remove_from(part: tuple[int, int, ExactIndex], labels: np.ndarray) -> None:
        start, end, idx = part
        mine = labels[(labels >= start) & (labels < end)]
        if len(mine):
            idx.remove(mine)

    def remove(self, labels: np.ndarray) -> None:
        for part in self._parts:
            self._remove_from(part, labels)

    def __len__(self) -> int:
        return sum(len(idx) for _, _, idx in self._parts)

    def search(self, q: np.ndarray, k: int, filter: np.ndarray | None = None, ef: int | None = None):
        parts = []
        for start, end, idx in self._parts:
            if filter is None:
                if len(idx):
                    ids, sc = idx.search(q, k)
                    parts.append((sc, ids))
                continue
            lo, hi = np.searchsorted(filter, [start, end])
            if hi > lo:
                ids, sc = idx.search(q, k, filter=filter[lo:hi])
                parts.append((sc, ids))
        return merge_topk(parts, len(q), k)


class CachedANN:
    """An approximate index (e.g. HNSW) over the live rows; rebuilt or caught up from segments as needed."""

    def __init__(self, index: Index, covered: int = 0) -> None:
        self.index = index
        self.kind = index.kind
        self.covered = covered  # labels below this were considered when the index was built / loaded

    def add_segment(self, start: int, mat: np.ndarray, dead: np.ndarray, chunk: int = 65_536) -> None:
        end = start + len(mat)
        if end <= self.covered:
            return
        first = max(start, self.covered)
        for s in range(first, end, chunk):
            labels = np.arange(s, min(s + chunk, end), dtype=np.int64)
            keep = ~np.isin(labels, dead)
            if keep.any():
                self.index.add(labels[keep], np.asarray(mat[labels[keep] - start]))
        self.covered = end

    def remove(self, labels: np.ndarray) -> None:
        if len(labels):
            self.index.remove(labels)

    def __len__(self) -> int:
        return len(self.index)

    def search(self, q: np.ndarray, k: int, filter: np.ndarray | None = None, ef: int | None = None):
        if ef is None:
            return self.index.search(q, k, filter=filter)
        return self.index.search(q, k, filter=filter, ef=int(ef))


def cache_name(epoch: int, generation: int, covered: int) -> str:
    return f"ann-e{epoch}-g{generation}-n{covered}"


def parse_cache_name(name: str) -> tuple[int, int, int] | None:
    """(epoch, generation, covered) from a cache folder name, None for anything else."""
    if not name.startswith("ann-e"):
        return None
    try:
        e, g, n = name[5:].split("-")
        return int(e), int(g[1:]), int(n[1:])
    except ValueError:
        return None


def newest_cache(folder: Path, epoch: int, generation: int) -> tuple[Path, int, int] | None:
    """The saved ANN cache of this ``epoch`` with the highest generation not above ``generation``."""
    best = None
    if folder.is_dir():
        for p in folder.iterdir():
            t = parse_cache_name(p.name)
            if t and t[0] == epoch and t[1] <= generation and (best is None or t[1] > best[1]):
                best = (p, t[1], t[2])
    return best
