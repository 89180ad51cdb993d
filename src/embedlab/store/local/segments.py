"""Append-only vector segments (``.npy`` float32 files) and the searchable views built over them.

A segment is written once with plain file writes (never through a memory map, so a full disk is an ``OSError``
— ``StorageFullError`` — and not a SIGBUS), fsynced, and never changed; it becomes visible only when the SQLite
transaction that lists it commits, together with its size, its CRC32 and an *edge* CRC32 (first and last
64 KiB). Opening a segment checks the header, the size and the edge CRC (cheap: catches truncation, swapped or
replaced files); ``verify_segment`` reads it whole and checks the full CRC32 (``embedlab check``). Its rows
have labels ``start .. start + rows - 1``.

``SegmentedExact`` searches the memory-mapped segments in place: one ``ExactIndex.from_matrix`` per segment
(no copy), results merged per query. ``CachedANN`` holds any other index (HNSW, IVF, exact search over float16 /
int8 / binary codes) built from the same rows; it is a cache that can be saved, reloaded and caught up from the
committed segments, and compressed indexes rescore their candidates with the segments' float32 rows.
"""

from __future__ import annotations

import io
import os
import uuid
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ...errors import CorruptFileError, InputError
from ...index import ExactIndex
from ...index.base import Index, RowSource, SearchParams
from ...index.kernels import merge_topk
from ...persist import crc32_file, fsync_dir, npy_header, storage_errors
from .sql import Segment

SEGMENT_DIR = "segments"
EDGE = 1 << 16  # bytes at each end of a segment covered by its edge CRC
_WRITE_ROWS = 1 << 16
FIX = "restore the collection folder from a backup, or drop the collection and add the items again"
_FIX = FIX


def segment_file(gen: int) -> str:
    """A fresh segment file name for a segment first committed at generation ``gen``.

    Parameters
    ----------
    gen : int
        The generation of the transaction that writes the segment (>= 0).

    Returns
    -------
    str
        ``seg-<gen, 9 digits>-<8 random hex digits>.npy``: unique, and the only shape of name the local backend's
        garbage collection ever deletes.
    """
    return f"seg-{gen:09d}-{uuid.uuid4().hex[:8]}.npy"


def edge_crc(path: Path, size: int | None = None) -> int:
    """CRC32 of a file's first and last ``EDGE`` bytes (the whole file when it is smaller than two edges)."""
    size = os.path.getsize(path) if size is None else size
    with open(path, "rb") as fh:
        head = fh.read(EDGE)
        if size <= 2 * EDGE:
            return zlib.crc32(head + fh.read())
        fh.seek(size - EDGE)
        return zlib.crc32(fh.read(EDGE), zlib.crc32(head))


def write_segment(path: Path, blocks: Iterable[np.ndarray], n: int, dim: int) -> dict[str, int]:
    """Write ``n`` float32 rows (given as consecutive blocks) to a new ``.npy`` file, fsync it and its folder;
    returns its record ``{"bytes", "crc32", "edge_crc"}`` for the catalogue. StorageFullError on a full disk."""
    with storage_errors(path):
        crc, at = 0, 0
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False, "shape": (n, dim)})
        with open(path, "xb") as fh:
            fh.write(head.getvalue())
            crc = zlib.crc32(head.getvalue())
            for block in blocks:
                for s in range(0, len(block), _WRITE_ROWS):
                    part = np.ascontiguousarray(block[s:s + _WRITE_ROWS], dtype="<f4")
                    if part.ndim != 2 or part.shape[1] != dim:  # pragma: no cover - internal invariant
                        raise RuntimeError(f"segment {path.name}: block of shape {part.shape}, expected (*, {dim})")
                    buf = memoryview(part.data).cast("B")
                    fh.write(buf)
                    crc = zlib.crc32(buf, crc)
                    at += len(part)
            if at != n:  # pragma: no cover - internal invariant
                raise RuntimeError(f"segment {path.name}: wrote {at} rows, expected {n}")
            fh.flush()
            os.fsync(fh.fileno())
        fsync_dir(path.parent)
        size = os.path.getsize(path)
        return {"bytes": size, "crc32": crc, "edge_crc": edge_crc(path, size)}


def open_segment(path: Path, rows: int, dim: int, record: Segment | None = None) -> np.ndarray:
    """Memory-map a committed segment read-only after the cheap checks (header, dtype, shape, size, and the
    catalogue's byte count and edge CRC when it has them). FileNotFoundError passes through."""
    if not path.exists():
        raise FileNotFoundError(f"vector segment {path} is missing")
    try:  # the one .npy header parser (persist.npy_header): any damaged byte is a CorruptFileError
        dtype, shape, fortran, offset = npy_header(path, _FIX, check_size=False)
    except CorruptFileError as exc:
        if not path.exists():  # removed since the check above (a compaction committed meanwhile): not damage
            raise FileNotFoundError(f"vector segment {path} is missing") from None
        raise CorruptFileError(f"vector segment {path} cannot be read ({str(exc).removeprefix(str(path) + ' ')})") \
            from None
    size = os.path.getsize(path)
    if dtype != np.dtype("<f4") or tuple(shape) != (rows, dim) or fortran:
        raise CorruptFileError(f"vector segment {path} holds {dtype} {tuple(shape)}, the catalogue expects float32 "
                               f"({rows}, {dim}); {_FIX}")
    want = offset + rows * dim * 4
    if size != want or (record is not None and record.bytes is not None and size != record.bytes):
        raise CorruptFileError(f"vector segment {path} has {size} bytes, {want} expected (truncated or replaced); "
                               f"{_FIX}")
    if record is not None and record.edge_crc is not None and edge_crc(path, size) != record.edge_crc:
        raise CorruptFileError(f"vector segment {path} does not hold the rows the catalogue recorded (checksum of "
                               f"its first and last {EDGE // 1024} KiB differs: damaged, edited or swapped); {_FIX}")
    if rows == 0:
        return np.empty((0, dim), np.float32)
    return np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=(rows, dim))


def verify_segment(path: Path, record: Segment) -> str | None:
    """Read a segment whole and compare its CRC32 with the catalogue's; a problem description, or None."""
    if record.crc32 is None:
        return None
    try:
        if crc32_file(path) != record.crc32:
            return f"{path.name}: CRC32 differs from the catalogue's (damaged file)"
    except OSError as exc:
        return f"{path.name}: cannot be read ({exc.strerror})"
    return None


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

    def search(self, q: np.ndarray, k: int, filter: np.ndarray | None = None,
               params: SearchParams | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best live rows per query over every segment, merged.

        Parameters
        ----------
        q : numpy.ndarray
            ``(m, dim)`` float32 prepared queries.
        k : int
            Results per query.
        filter : numpy.ndarray or None
            Sorted int64 labels allowed; None for all.
        params : SearchParams or None
            Per-call settings (None: none): ``ef_search`` has nothing to widen here and is ignored (an exact scan is already
            complete); ``nprobe`` and ``rescore`` are refused.

        Returns
        -------
        tuple of numpy.ndarray
            ``(labels, scores)``, both ``(m, k)`` (int64, float32), best first, padded with -1 / -inf.

        Raises
        ------
        InputError
            When ``params`` sets ``nprobe`` or ``rescore``, naming them.
        """
        if params is not None and (params.nprobe is not None or params.rescore is not None):
            given = [key for key, value in (("nprobe", params.nprobe), ("rescore", params.rescore)) if value is not None]
            raise InputError(f"{', '.join(given)} do(es) not apply to a float32 exact index (it scans every vector); "
                             "rescore applies to compressed precisions, nprobe to IVF indexes")
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
    """An index built from the same rows as the segments (HNSW, IVF, or exact search over compressed codes);
    rebuilt or caught up from segments as needed, saved as a cache. Compressed indexes read the float32 rows
    they rescore from the segments (``rows``), so only their codes are resident."""

    def __init__(self, index: Index, covered: int = 0, rows: RowSource | None = None) -> None:
        self.index = index
        self.kind = index.kind
        self.covered = covered  # labels below this were considered when the index was built / loaded
        if rows is not None:
            index.set_vector_source(rows)

    @property
    def needs_training(self) -> bool:
        """Whether the index must learn from the rows (int8 ranges, IVF centroids) before it can code them."""
        return not self.index.trained

    def train_on(self, sample: np.ndarray) -> bool:
        """Train on a sample of the live rows when the index needs it and there are enough of them (else rows
        wait, searched exactly, until there are); whether it trained."""
        if not self.needs_training or len(sample) < max(1, self.index.train_min()):
            return False
        try:
            self.index.train(sample)
        except InputError:  # e.g. all rows identical: the index buffers rows until they allow training
            return False
        return True

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

    def search(self, q: np.ndarray, k: int, filter: np.ndarray | None = None,
               params: SearchParams | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The index's ``k`` best rows per query.

        Parameters
        ----------
        q : numpy.ndarray
            ``(m, dim)`` float32 prepared queries.
        k : int
            Results per query.
        filter : numpy.ndarray or None
            Sorted int64 labels allowed; None for all.
        params : SearchParams or None
            Per-call settings, passed on to the index (None, or None fields: its saved ones).

        Returns
        -------
        tuple of numpy.ndarray
            ``(labels, scores)``, both ``(m, k)`` (int64, float32), best first, padded with -1 / -inf.

        Raises
        ------
        InputError
            When the index kind takes no such setting (e.g. ``nprobe`` for HNSW), naming it.
        """
        return self.index.search(q, k, filter=filter, params=params)


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
