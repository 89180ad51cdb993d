"""The snapshot machinery behind a Collection: read snapshots, the write lock + commit, catching up with
other processes' commits, the ANN cache and garbage collection of uncommitted segment files.

Every read runs inside one SQLite read transaction (WAL snapshot) and first syncs the in-memory view (memory-
mapped segments, index, tombstones) to that snapshot, so a search never sees half of another process's add.
Every write takes ``write.lock`` (a file lock, so other processes wait up to ``lock_timeout``), then one
``BEGIN IMMEDIATE`` transaction; new segment files are deleted again if it does not commit.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from filelock import Timeout

from ..errors import CorruptFileError, InputError, LockTimeoutError
from . import db
from .manifest import MANIFEST, write_json_atomic
from .segments import SEGMENT_DIR, CachedANN, SegmentedExact, cache_name, newest_cache, open_segment

LOCK_FILE = "write.lock"
CACHE_DIR = "index-cache"


class _Stale(Exception):
    """A segment listed by the snapshot was removed by a compaction that committed later: retry."""


class SnapshotMixin:
    """Snapshot plumbing for Collection (which sets path, name, dim, metric, index_kind, index_params, readonly,
    lock_timeout, _conn, _lock, _mutex, _manifest and the fields reset in ``_reload``)."""

    @contextmanager
    def _read(self) -> Iterator:
        """A read snapshot: the in-memory view is synced to it; every query inside sees the same state."""
        with self._mutex:
            self._check_open()
            for attempt in range(8):
                self._conn.execute("BEGIN")
                try:
                    self._sync()
                    break
                except _Stale:
                    self._conn.execute("ROLLBACK")
                    if attempt == 7:
                        raise CorruptFileError(f"segment files of {self.path} are missing; restore the folder "
                                               "from a backup or drop the collection") from None
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    @contextmanager
    def _write(self) -> Iterator[list[Path]]:
        """Write lock + one SQLite write transaction (the commit point); yields a list for new segment files,
        which are deleted if the transaction does not commit."""
        with self._mutex:
            self._check_open()
            if self.readonly:
                raise InputError(f"collection {self.name!r} was opened read-only; open it without readonly=True")
            try:
                self._lock.acquire(timeout=self.lock_timeout)
            except Timeout:
                raise lock_error(self.name, self.path, self.lock_timeout) from None
            pending: list[Path] = []
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._sync()
                    yield pending
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    for p in pending:
                        p.unlink(missing_ok=True)
                    raise
                with self._read():
                    pass
                if self._manifest.get("generation") != self._gen:
                    self._manifest["generation"] = self._gen
                    write_json_atomic(self.path / MANIFEST, self._manifest)
            finally:
                self._lock.release()

    @contextmanager
    def writing(self) -> Iterator:
        """Hold the write lock across several operations (other writers wait; readers carry on)."""
        with self._mutex:
            try:
                self._lock.acquire(timeout=self.lock_timeout)
            except Timeout:
                raise lock_error(self.name, self.path, self.lock_timeout) from None
            try:
                yield self
            finally:
                self._lock.release()

    def _check_open(self) -> None:
        if self._closed:
            raise InputError(f"collection {self.name!r} is closed; open it again")

    def _sync(self) -> None:
        """Bring the in-memory segments and index up to the snapshot of the current transaction."""
        try:
            st = db.state(self._conn)
            if st["epoch"] != self._epoch:  # compaction renumbered the labels: start afresh
                return self._reload(st)
            if st.get("layout", 0) != self._layout:  # small segments were merged (labels kept)
                return self._reload(st, keep_index=True)
            if st["generation"] == self._gen:
                return
            new = db.segments(self._conn, after=self._last_seg)
            dead = np.sort(db.dead_labels(self._conn, after_gen=self._gen))
        except Exception as exc:
            if isinstance(exc, (db.sqlite3.DatabaseError,)):
                raise db.corrupt(self.path / db.DB_FILE, exc) from None
            raise
        for seg, file, start, rows, _gen in new:
            self._attach(seg, file, start, rows, dead)
        self._index.remove(dead)
        self._gen, self._count = st["generation"], st["count"]

    def _attach(self, seg: int, file: str, start: int, rows: int, dead: np.ndarray) -> None:
        try:
            mat = open_segment(self.path / SEGMENT_DIR / file, rows, self.dim)
        except FileNotFoundError:
            raise _Stale() from None
        self._segs.append((start, rows, mat))
        self._starts = np.append(self._starts, start)
        self._index.add_segment(start, mat, dead)
        self._last_seg = max(self._last_seg, seg)

    def _reload(self, st: dict[str, int], keep_index: bool = False) -> None:
        """Re-map every segment; rebuild the index (exact: cheap views) unless an ANN index can be kept."""
        try:
            segs = db.segments(self._conn)
            dead = np.sort(db.dead_labels(self._conn))
            newly_dead = db.dead_labels(self._conn, after_gen=self._gen) if keep_index else None
        except db.sqlite3.DatabaseError as exc:
            raise db.corrupt(self.path / db.DB_FILE, exc) from None
        self._segs, self._starts, self._last_seg = [], np.empty(0, np.int64), -1
        keep = keep_index and isinstance(self._index, CachedANN)
        if not keep:
            self._index = self._new_index(st)
        for seg, file, start, rows, _gen in segs:
            self._attach(seg, file, start, rows, dead)
        if keep:
            self._index.remove(newly_dead)
            self._ann_dirty = True
        elif isinstance(self._index, CachedANN):
            self._index.remove(self._cache_dead)
            self._ann_dirty = self._ann_dirty or self._cache_gen != st["generation"]
        self._gen, self._epoch, self._count = st["generation"], st["epoch"], st["count"]
        self._layout = st.get("layout", 0)

    def _new_index(self, st: dict[str, int]):
        self._cache_dead = np.empty(0, np.int64)
        if self.index_kind == "exact":
            return SegmentedExact(self.dim, self.metric)
        from ..index import load_index, make_index

        found = newest_cache(self.path / CACHE_DIR, st["epoch"], st["generation"])
        if found is not None:
            folder, gen, covered = found
            try:
                idx = load_index(folder)
                if idx.kind == self.index_kind and idx.dim == self.dim and idx.metric == self.metric:
                    self._cache_gen = gen
                    self._cache_dead = db.dead_labels(self._conn, after_gen=gen)
                    return CachedANN(idx, covered)
            except (CorruptFileError, InputError, OSError, ValueError):
                pass  # a cache: rebuild it from the committed vectors below
        self._cache_gen = -1
        self._ann_dirty = True
        return CachedANN(make_index(self.index_kind, self.dim, self.metric, **self.index_params), 0)

    def _save_ann(self, timeout: float) -> None:
        """Save the ANN index as a cache tagged with the generation it covers; drop older caches."""
        if not isinstance(self._index, CachedANN):
            return
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            raise lock_error(self.name, self.path, timeout) from None
        try:
            with self._read():
                name = cache_name(self._epoch, self._gen, self._index.covered)
                folder = self.path / CACHE_DIR
                folder.mkdir(exist_ok=True)
                self._index.index.save(folder / name)
                for p in folder.iterdir():
                    if p.name != name:
                        shutil.rmtree(p, ignore_errors=True)
                self._ann_dirty = False
        finally:
            self._lock.release()

    def _gc(self) -> None:
        """Delete segment files no commit refers to (left by a crash) if no writer is running now."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return
        try:
            rows = self._conn.execute("SELECT file FROM segments").fetchall()
            live = {r[0] for r in rows}
            for p in (self.path / SEGMENT_DIR).iterdir():
                if p.name not in live:
                    p.unlink(missing_ok=True)
            for p in self.path.glob(".*.tmp"):
                p.unlink(missing_ok=True)
        except db.sqlite3.DatabaseError as exc:
            raise db.corrupt(self.path / db.DB_FILE, exc) from None
        finally:
            self._lock.release()

    def _live_blocks(self, chunk: int = 65_536) -> Iterator[np.ndarray]:
        """The live rows of the current snapshot in label order, a block at a time (slices where no row died)."""
        dead = np.sort(db.dead_labels(self._conn))
        for start, rows, mat in self._segs:
            lo, hi = np.searchsorted(dead, [start, start + rows])
            if hi == lo:
                for s in range(0, rows, chunk):
                    yield mat[s:s + chunk]
                continue
            keep = np.ones(rows, bool)
            keep[dead[lo:hi] - start] = False
            rows_kept = np.flatnonzero(keep)
            for s in range(0, len(rows_kept), chunk):
                yield mat[rows_kept[s:s + chunk]]

    def _rows(self, labels: np.ndarray) -> np.ndarray:
        out = np.empty((len(labels), self.dim), np.float32)
        seg_of = np.searchsorted(self._starts, labels, side="right") - 1
        for si in np.unique(seg_of):
            start, _, mat = self._segs[si]
            m = seg_of == si
            out[m] = mat[labels[m] - start]
        return out


def lock_error(name: str, folder: Path, timeout: float) -> LockTimeoutError:
    return LockTimeoutError(
        f"collection {name!r} is being written by another process (lock {folder / LOCK_FILE} still held after "
        f"{timeout:g} s); wait for that writer to finish, or pass a larger lock_timeout"
    )
