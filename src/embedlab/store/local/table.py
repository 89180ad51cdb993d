"""The local backend's table: one collection folder (catalogue + segments + ANN cache) behind ``read()`` and
``write()``.

Every read runs inside one SQLite read transaction (WAL snapshot) and first syncs the in-memory view
(memory-mapped segments, index, tombstones) to that snapshot, so a search never sees half of another process's
write. Every write takes ``write.lock`` (a file lock, so other processes wait up to ``lock_timeout``), then one
``BEGIN IMMEDIATE`` transaction; new segment files are deleted again if it does not commit. After a write, small
trailing segments are merged and, past ``auto_compact``, dead rows compacted away.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from ...errors import (
    CollectionNotFoundError,
    CorruptFileError,
    FormatVersionError,
    InputError,
    LockTimeoutError,
    ReadOnlyStorageError,
    StorageFullError,
)
from ...index import load_index, make_index
from ...index.base import Index, SearchParams
from ...index.ivf import IVFIndex
from ...persist import storage_error, write_json_atomic
from .. import manifest as mf
from ..capabilities import Capabilities
from ..filters import Filter
from ..records import Hit
from . import segments
from .metaindex import META_DIR, MetaIndex
from .segments import (
    SEGMENT_DIR,
    CachedANN,
    SegmentedExact,
    cache_name,
    newest_cache,
    open_segment,
    segment_file,
    verify_segment,
)
from .sql import DB_FILE, Catalog, Segment
from .txn import LocalReader, LocalWriter

LOCK_FILE = "write.lock"
LOAD_LOCK_FILE = "load.lock"  # held by a running load (import, bulk load) for its whole length
CACHE_DIR = "index-cache"
SMALL_SEGMENT_BYTES = 32 << 20  # segments smaller than this get merged with their small neighbours ...
MERGE_FAN = 8  # ... once this many of them trail the segment list
SEGMENT_NAME = re.compile(r"seg-\d{9}-[0-9a-f]{8}\.npy")  # the only files garbage collection may delete
SPILL_NAME = re.compile(r"\.spill-(\d+)-[0-9a-f]{8}")  # IVF parts spilled by a process while it builds
META_INDEX_ENV = "EMBEDLAB_META_INDEX"  # "0": filters run in SQLite per query, without the metadata index
TRAIN_SAMPLE = 100_000  # rows sampled (seeded) from the collection to train an index (int8 ranges, IVF centroids)
_FIX = "restore the collection folder from a backup, or drop the collection and add the items again"


class _Stale(Exception):
    """A segment listed by the snapshot was removed by a compaction that committed later: retry."""


def lock_error(name: str, timeout: float) -> LockTimeoutError:
    return LockTimeoutError(
        f"collection {name!r} is being written by another process (its write lock is still held after "
        f"{timeout:g} s); wait for that writer to finish, or pass a larger lock_timeout"
    )


#: What every local table passes on to its index: all of ``SearchParams`` (the index kind refuses what it lacks).
LOCAL_SEARCH_SETTINGS = frozenset({"ef_search", "nprobe", "rescore"})


class LocalTable:
    """One collection folder; see the module docstring. Built by ``LocalStore``."""

    def __init__(self, path: Path, manifest: dict[str, Any], readonly: bool, lock_timeout: float,
                 auto_compact: float, forced_readonly: str | None = None) -> None:
        self.path, self.name, self.manifest = path, path.name, manifest
        self.location, self.cache_dir = str(path), path
        self.capabilities = Capabilities("local", path, LOCAL_SEARCH_SETTINGS, set_index=True)
        enc = manifest["encoder"]
        self.dim, self.metric = int(enc["dim"]), enc["metric"]
        self.index_kind = manifest["index"]["kind"]
        self.index_params = dict(manifest["index"].get("params", {}))
        self.readonly, self.forced_readonly = readonly, forced_readonly
        self.lock_timeout, self.auto_compact = float(lock_timeout), float(auto_compact)
        if not (path / SEGMENT_DIR).is_dir():  # before anything tries to write or list segments in it
            what = "is missing" if not (path / SEGMENT_DIR).exists() else "is not a folder"
            raise CorruptFileError(f"collection {path.name!r} is damaged: {path / SEGMENT_DIR} {what}; {segments.FIX}")
        self._mutex = threading.RLock()
        self._lock = FileLock(str(path / LOCK_FILE), timeout=self.lock_timeout)
        self._load_lock = FileLock(str(path / LOAD_LOCK_FILE), timeout=0, thread_local=False)  # any thread releases
        self._load_depth = 0  # 1 while this table holds load.lock (a load through it is running)
        self._cat = Catalog(path / DB_FILE, readonly=readonly)
        self.catalog = self._cat
        self.segs: list[tuple[int, int, np.ndarray]] = []  # (start, rows, memmap)
        self._starts = np.empty(0, np.int64)
        self.index: SegmentedExact | CachedANN = SegmentedExact(self.dim, self.metric)  # replaced by the first sync
        self.generation = self._epoch = self._layout = self._last_seg = self._cache_gen = -1
        self._cache_dead = np.empty(0, np.int64)
        self.live_count = 0
        self._ann_dirty = False
        self._upkeep_guard = False  # True while merging/compacting after a write (no nested upkeep)
        self._spill: Path | None = None  # this process's IVF spill folder, named on first use
        self.meta_index = os.environ.get(META_INDEX_ENV, "1") != "0"  # resolve filters with the metadata index
        self._meta = MetaIndex(path / META_DIR, writable=not readonly)
        self._closed = False
        self._folder_id = _identity(path)  # a drop (rename + delete) or a replacement of the folder changes it
        try:
            self._check_manifest_copy()
            if not readonly:
                self._gc()
            with self.read():
                pass
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ opening checks
    def _check_manifest_copy(self) -> None:
        """The catalogue keeps the manifest it was created with: an edited manifest.json is an error. Older
        catalogues get the copy (and the newer schema) on their first writable open."""
        with self._cat.read():
            copy = self._cat.manifest()
        if copy is None:
            if not self.readonly:
                with self._locked(self.lock_timeout), self._cat.write():
                    if self._cat.needs_upgrade():
                        self._cat.upgrade(self.manifest)
            return
        if self._cat.needs_upgrade() and not self.readonly:
            with self._locked(self.lock_timeout), self._cat.write():
                self._cat.upgrade(self.manifest)
        if _index_rev(copy) > _index_rev(self.manifest) and copy.get("encoder") == self.manifest.get("encoder"):
            # set_index committed its new settings but was stopped before rewriting manifest.json: finish it
            self.manifest = {**self.manifest, "index": copy["index"]}
            self.index_kind = copy["index"]["kind"]
            self.index_params = dict(copy["index"].get("params", {}))
            if not self.readonly:
                write_json_atomic(self.path / mf.MANIFEST, self.manifest)
        for key in ("encoder", "index"):
            if copy.get(key) != self.manifest.get(key):
                raise CorruptFileError(
                    f"{self.path / mf.MANIFEST} was changed after the collection was created: its {key!r} is "
                    f"{self.manifest.get(key)!r} but the catalogue recorded {copy.get(key)!r}; restore the "
                    "manifest from a backup (or put the recorded value back)"
                )

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _locked(self, timeout: float) -> Iterator[None]:
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            raise lock_error(self.name, timeout) from None
        except OSError as exc:
            raise storage_error(exc, self.path) from None
        try:
            yield
        finally:
            self._lock.release()

    def _begin(self, write: bool) -> None:
        """Open a transaction and sync the in-memory view to it (a read retries when a compaction removed the
        segments it listed)."""
        for attempt in range(8):
            self._cat.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                self._sync()
                return
            except _Stale as stale:
                self._cat.rollback()
                if write or attempt == 7:
                    self._check_present()  # a dropped folder took its segments along: not damage
                    raise CorruptFileError(f"segment files of {self.path} are missing (the catalogue lists "
                                           f"{stale.args[0]}, which is not there); {_FIX}") from None
            except BaseException:
                self._cat.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[LocalReader]:
        """A read snapshot: the in-memory view is synced to it; every query inside sees the same state."""
        with self._mutex:
            self._check_open()
            with self._cat.guard():
                self._begin(write=False)
                try:
                    yield LocalReader(self)
                finally:
                    self._cat.conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[LocalWriter]:
        """Write lock + one SQLite write transaction (the commit point); segment files written inside are
        deleted if it does not commit. Afterwards: small segments merged, dead rows compacted past the limit."""
        with self._mutex:
            self._check_writable()
            with self._locked(self.lock_timeout):
                self._check_present()  # under the lock: a drop renames the folder while holding it
                pending: list[Path] = []
                with self._cat.guard():
                    self._begin(write=True)
                    try:
                        yield LocalWriter(self, pending)
                        self._cat.seal()
                        self._cat.conn.execute("COMMIT")
                    except BaseException:
                        self._cat.rollback()
                        for p in pending:
                            p.unlink(missing_ok=True)
                        raise
                with self.read():
                    self._extend_meta()
            if not self._upkeep_guard:
                self._upkeep_guard = True
                try:  # upkeep after a committed write: if it cannot run now, a later write retries it
                    self._merge_small()
                    self._maybe_compact()
                except (StorageFullError, LockTimeoutError):
                    pass
                finally:
                    self._upkeep_guard = False

    def search(self, q: np.ndarray, k: int, where: Filter | None, params: SearchParams) -> list[list[Hit]]:
        """``Reader.search`` on the current snapshot (see ``backend.Table.search``)."""
        with self.read() as r:
            return r.search(q, k, where, params)

    # ------------------------------------------------------------------ loads (see backend.Table)
    def incomplete(self) -> dict[str, Any] | None:
        """The committed mark of an unfinished load, with ``running``: whether a loader holds ``load.lock``."""
        with self.read():
            mark = self._cat.pending()
        if mark is None:
            return None
        return {**mark, "running": self._load_depth > 0 or lock_held(self.path / LOAD_LOCK_FILE)}

    def lock_load(self) -> bool:
        """Take ``load.lock`` without waiting (False when another loader, or an enclosing load, holds it)."""
        with self._mutex:
            self._check_writable()
            if self._load_depth:
                return False
            try:
                self._load_lock.acquire(timeout=0)
            except Timeout:
                return False
            except OSError as exc:
                raise storage_error(exc, self.path) from None
            self._load_depth = 1
            return True

    def unlock_load(self) -> None:
        with self._mutex:
            if self._load_depth:
                self._load_depth = 0
                self._load_lock.release()

    def mark_incomplete(self, mark: dict[str, Any]) -> None:
        """Record the load mark in the catalogue (its own transaction; nothing to defer: segments are appended
        whole and the index follows them)."""
        self._set_pending(mark)

    def complete(self) -> None:
        """Clear the load mark (the index is a cache that follows the segments: nothing to build)."""
        self._set_pending(None)

    def _set_pending(self, mark: dict[str, Any] | None) -> None:
        with self._mutex:
            self._check_writable()
            with self._locked(self.lock_timeout), self._cat.write():
                self._cat.set_pending(mark)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock across several operations (other writers wait; readers carry on)."""
        with self._mutex:
            self._check_writable()
            with self._locked(self.lock_timeout):
                yield

    def _check_open(self) -> None:
        if self._closed:
            raise InputError(f"collection {self.name!r} is closed; open it again")

    def _dropped(self) -> bool:
        """Whether the folder this table opened was dropped or replaced since (by another process or handle)."""
        return _identity(self.path) != self._folder_id

    def _check_present(self) -> None:
        """CollectionNotFoundError when the folder this table opened was dropped or replaced since: writes would go
        to files nobody can open again."""
        if self._dropped():
            raise CollectionNotFoundError(f"collection {self.name!r} was dropped (or its folder replaced) after this "
                                          f"handle opened it; nothing was written. Open it again (Collection.open or "
                                          f"Collection.create) to use what is at {self.path} now")

    def _check_writable(self) -> None:
        self._check_open()
        if self.forced_readonly == "full":
            raise StorageFullError(28, f"no space left on the disk of collection {self.name!r}; it was opened "
                                       "read-only (search, get, info and export work); free some space and open it "
                                       "again to write")
        if self.forced_readonly:
            raise ReadOnlyStorageError(30, f"collection {self.name!r} is on read-only media or in a folder you "
                                           "cannot write; it was opened read-only (search, get, info and export "
                                           "work); copy it somewhere writable to change it")
        if self.readonly:
            raise InputError(f"collection {self.name!r} was opened read-only; open it without readonly=True")

    # ------------------------------------------------------------------ the in-memory view
    def _sync(self) -> None:
        """Bring the in-memory segments and index up to the snapshot of the current transaction."""
        st = self._cat.state()
        if st["epoch"] != self._epoch:  # compaction renumbered the labels: start afresh
            return self._reload(st)
        if st.get("layout", 0) != self._layout:  # small segments were merged (labels kept)
            return self._reload(st, keep_index=True)
        if st["generation"] == self.generation:
            return
        new = self._cat.segments(after=self._last_seg)
        dead = np.sort(self._cat.dead_labels(after_gen=self.generation))
        for seg in new:
            self._attach(seg, dead)
        self.index.remove(dead)
        self.generation, self.live_count = st["generation"], st["count"]

    def _attach(self, seg: Segment, dead: np.ndarray) -> None:
        mat = self._open(seg)
        self.index.add_segment(seg.start, mat, dead)

    def _open(self, seg: Segment) -> np.ndarray:
        try:
            mat = open_segment(self.path / SEGMENT_DIR / seg.file, seg.rows, self.dim, seg)
        except FileNotFoundError:
            raise _Stale(seg.file) from None
        self.segs.append((seg.start, seg.rows, mat))
        self._starts = np.append(self._starts, seg.start)
        self._last_seg = max(self._last_seg, seg.seg)
        return mat

    def _reload(self, st: dict[str, int], keep_index: bool = False) -> None:
        """Re-map every segment; rebuild the index (exact: cheap views) unless an ANN index can be kept. A fresh
        index that must learn from the rows (int8 ranges, IVF centroids) trains on a seeded sample of them first."""
        segs = self._cat.segments()
        dead = np.sort(self._cat.dead_labels())
        newly_dead = self._cat.dead_labels(after_gen=self.generation) if keep_index else None
        self.segs, self._starts, self._last_seg = [], np.empty(0, np.int64), -1
        keep = keep_index and isinstance(self.index, CachedANN)
        if not keep:
            self.index = self._new_index(st)
        opened = [(seg, self._open(seg)) for seg in segs]
        if isinstance(self.index, CachedANN) and self.index.covered == 0 and self.index.needs_training:
            self.index.train_on(self.sample_rows(dead, TRAIN_SAMPLE))
        for seg, mat in opened:
            self.index.add_segment(seg.start, mat, dead)
        if keep and newly_dead is not None:
            self.index.remove(newly_dead)
            self._ann_dirty = True
        elif isinstance(self.index, CachedANN):
            self.index.remove(self._cache_dead)
            self._ann_dirty = self._ann_dirty or self._cache_gen != st["generation"]
        self.generation, self._epoch, self.live_count = st["generation"], st["epoch"], st["count"]
        self._layout = st.get("layout", 0)

    def sample_rows(self, dead: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
        """Float32 rows of up to ``size`` live labels of the mapped segments, drawn with ``seed``, in label order."""
        spans = [(start, rows) for start, rows, _ in self.segs]
        total = sum(r for _, r in spans)
        if not total:
            return np.empty((0, self.dim), np.float32)
        labels = np.concatenate([np.arange(a, a + r, dtype=np.int64) for a, r in spans])
        if len(dead):
            labels = labels[~np.isin(labels, dead)]
        if len(labels) > size:
            labels = np.sort(np.random.default_rng(seed).choice(labels, size, replace=False))
        return self.rows_at(labels)

    def _index_settings(self) -> tuple[str, dict[str, Any]]:
        return self.index_kind, dict(self.index_params)

    def _new_index(self, st: dict[str, int]) -> SegmentedExact | CachedANN:
        self._cache_dead = np.empty(0, np.int64)
        kind, params = self._index_settings()
        if kind == "exact" and params.get("precision", "float32") == "float32":
            return SegmentedExact(self.dim, self.metric)

        found = newest_cache(self.path / CACHE_DIR, st["epoch"], st["generation"])
        if found is not None:
            folder, gen, covered = found
            try:
                idx = load_index(folder)
                if (idx.kind == kind and idx.dim == self.dim and idx.metric == self.metric
                        and _same_settings(idx, params)):
                    self._cache_gen = gen
                    self._cache_dead = self._cat.dead_labels(after_gen=gen)
                    if kind == "ivf":
                        if isinstance(idx, IVFIndex):
                            idx.spill_dir = self._spill_dir()
                    return CachedANN(idx, covered, rows=self.rows_at)
            except (CorruptFileError, FormatVersionError, InputError, OSError, ValueError):
                pass  # a cache: rebuild it from the committed vectors below
        self._cache_gen = -1
        self._ann_dirty = True
        if kind == "ivf":
            params["spill_dir"] = self._spill_dir()
        return CachedANN(make_index(kind, self.dim, self.metric, **params), 0, rows=self.rows_at)

    def _spill_dir(self) -> Path | None:
        """Where this process's IVF build spills parts it cannot keep in memory (None when read-only)."""
        if self.readonly:
            return None
        if self._spill is None:
            self._spill = self.path / CACHE_DIR / f".spill-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        return self._spill

    def filter_labels(self, flt: Filter) -> np.ndarray | None:
        """The live labels of the current snapshot passing ``flt``, from the metadata index (caught up first).

        Parameters
        ----------
        flt : Filter
            A parsed filter.

        Returns
        -------
        numpy.ndarray or None
            Sorted int64 labels; None when the index is switched off (``meta_index``) or cannot hold the
            metadata (too many distinct keys): the catalogue evaluates the filter then.
        """
        return self._meta.labels(flt) if self.filter_labels_ready() else None

    def _extend_meta(self) -> None:
        """After a commit: catch the metadata index up with the new rows, if this table has used it (a filter ran),
        so the next filter finds it current. A problem here is left to that filter to meet and report."""
        if not (self.meta_index and self._meta.parts):
            return
        try:
            self.filter_labels_ready()
        except (CorruptFileError, StorageFullError, OSError):
            pass

    def filter_labels_ready(self) -> bool:
        """Bring the metadata index up to the current snapshot (inside ``read()``).

        Returns
        -------
        bool
            Whether it can answer filters (False: switched off, or too many distinct keys).
        """
        cat = self._cat
        if self._meta.writable and self._dropped():
            self._meta.writable = False  # dropped or replaced: this catalogue's parts must not land in the new folder
        return self.meta_index and self._meta.sync(cat.state(), cat.metadata_rows, cat.dead_labels)

    def live_blocks(self, chunk: int = 65_536) -> Iterator[np.ndarray]:
        """The live rows of the current snapshot in label order, a block at a time (slices where no row died)."""
        dead = np.sort(self._cat.dead_labels())
        for start, rows, mat in self.segs:
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

    def rows_at(self, labels: np.ndarray) -> np.ndarray:
        """(len(labels), dim) float32 rows at sorted ``labels`` of the current snapshot."""
        out = np.empty((len(labels), self.dim), np.float32)
        seg_of = np.searchsorted(self._starts, labels, side="right") - 1
        for si in np.unique(seg_of):
            start, _, mat = self.segs[si]
            m = seg_of == si
            out[m] = mat[labels[m] - start]
        return out

    # ------------------------------------------------------------------ upkeep
    def _small_tail(self) -> int:
        """How many segments at the end of the list are small."""
        run = 0
        for _, rows, _ in reversed(self.segs):
            if rows * 4 * self.dim >= SMALL_SEGMENT_BYTES:
                break
            run += 1
        return run

    def _merge_small(self) -> None:
        """Merge the trailing run of small segments into one, keeping labels (and deleted rows), so many small
        adds do not leave many small files to scan. Bounded work: at most MERGE_FAN x SMALL_SEGMENT_BYTES."""
        with self.read():
            if self._small_tail() < MERGE_FAN:
                return
        with self.write() as w:
            run = self._small_tail()
            if run < MERGE_FAN:
                return
            cat = self._cat
            segs = cat.segments()[-run:]
            tail = self.segs[-run:]
            st = cat.state()
            gen, start, n = st["generation"] + 1, tail[0][0], sum(r for _, r, _ in tail)
            file = segment_file(gen)
            path = self.path / SEGMENT_DIR / file
            w.pending.append(path)
            record = segments.write_segment(path, [mat for _, _, mat in tail], n, self.dim)
            cat.drop_segments([s.seg for s in segs])
            cat.add_segment(file, start, n, gen, record)
            cat.set_state(generation=gen, layout=st.get("layout", 0) + 1)
        for s in segs:
            (self.path / SEGMENT_DIR / s.file).unlink(missing_ok=True)

    def _maybe_compact(self) -> None:
        with self.read():
            total = sum(rows for _, rows, _ in self.segs)
            dead = total - self.live_count
        if total and dead > self.auto_compact * total:
            self.compact()

    def compact(self) -> None:
        """Rewrite the segments into one without deleted rows, renumber the labels and rebuild the index."""
        self._upkeep_guard = True  # compaction is the upkeep: no nested merge/compact after its write
        try:
            with self.write() as w:
                cat = self._cat
                st = cat.state()
                total = sum(rows for _, rows, _ in self.segs)
                if total == st["count"] and len(self.segs) <= 1:
                    return
                gen, n = st["generation"] + 1, st["count"]
                old_files = [s.file for s in cat.segments()]
                cat.drop_segments()
                if n:
                    file = segment_file(gen)
                    path = self.path / SEGMENT_DIR / file
                    w.pending.append(path)
                    record = segments.write_segment(path, self.live_blocks(), n, self.dim)
                    cat.add_segment(file, 0, n, gen, record)
                cat.renumber()  # live rows keep their order, so label order = row order in the new segment
                cat.set_state(generation=gen, epoch=st["epoch"] + 1, next_label=n, count=n)
        finally:
            self._upkeep_guard = False
        for f in old_files:
            (self.path / SEGMENT_DIR / f).unlink(missing_ok=True)
        if isinstance(self.index, CachedANN) and not self.readonly:
            self._save_ann(timeout=self.lock_timeout)

    def set_index(self, kind: str, params: dict[str, Any]) -> None:
        """Change the collection's index settings and rebuild its index from the segments (vectors untouched).

        The catalogue's manifest copy (the commit point) changes first, with a higher ``rev``; manifest.json
        follows. A crash in between is finished on the next open (the catalogue's higher revision wins)."""
        with self._mutex:
            self._check_writable()
            with self._locked(self.lock_timeout):
                rev = _index_rev(self.manifest) + 1
                manifest = {**self.manifest, "index": {"kind": kind, "params": dict(params), "rev": rev}}
                with self._cat.write():
                    self._cat.set_manifest(manifest)
                write_json_atomic(self.path / mf.MANIFEST, manifest)
                self.manifest, self.index_kind, self.index_params = manifest, kind, dict(params)
                shutil.rmtree(self.path / CACHE_DIR, ignore_errors=True)
                self._epoch = -1  # the next read rebuilds the index with the new settings
                self._ann_dirty = False
            with self.read():
                pass
            if isinstance(self.index, CachedANN):
                self._save_ann(timeout=self.lock_timeout)

    def _save_ann(self, timeout: float) -> None:
        """Save the ANN index as a cache tagged with the generation it covers; drop older caches."""
        if not isinstance(self.index, CachedANN):
            return
        with self._locked(timeout), self.read():
            self._check_present()  # never into another collection's folder that took the name meanwhile
            name = cache_name(self._epoch, self.generation, self.index.covered)
            folder = self.path / CACHE_DIR
            folder.mkdir(exist_ok=True)
            self.index.index.save(folder / name)
            for p in folder.iterdir():
                if p.name != name and not _live_spill(p.name):
                    shutil.rmtree(p, ignore_errors=True)
            self._ann_dirty = False

    def _gc(self) -> None:
        """Delete segment files no commit refers to (left by a crash) if no writer is running now. Only files
        named as embedlab names them are touched."""
        try:
            self._lock.acquire(timeout=0)
        except (Timeout, OSError):
            return
        try:
            with self._cat.read():
                live = self._cat.segment_files()
            for p in (self.path / SEGMENT_DIR).iterdir():
                if p.name not in live and SEGMENT_NAME.fullmatch(p.name):
                    p.unlink(missing_ok=True)
            for p in [*self.path.glob(".*.tmp-*"), *(self.path / META_DIR).glob(".*.tmp-*")]:
                if p.is_file():
                    p.unlink(missing_ok=True)
            cache = self.path / CACHE_DIR
            if cache.is_dir():
                for p in cache.iterdir():
                    if SPILL_NAME.fullmatch(p.name) and not _live_spill(p.name):
                        shutil.rmtree(p, ignore_errors=True)
        finally:
            self._lock.release()

    # ------------------------------------------------------------------ facts, checks, close
    def storage_info(self) -> dict[str, Any]:
        with self.read():
            total = sum(rows for _, rows, _ in self.segs)
            out = {"path": str(self.path), "segments": len(self.segs), "deleted_rows": total - self.live_count}
        out["bytes"] = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return out

    def check(self, deep: bool = True) -> dict[str, Any]:
        """Verify the catalogue (SQLite's integrity check, counts, labels), every segment (header, size, edge
        CRC; the full CRC32 when ``deep``), the manifest against the catalogue's copy, and the metadata index's
        part files (size, CRC32, header): a damaged one is reported and, when the table is writable, rebuilt."""
        problems: list[str] = []
        self._check_present()
        with self.read():
            cat = self._cat
            problems += [f"catalogue: {p}" for p in cat.integrity()]
            problems += [f"catalogue: {p}" for p in cat.verify_items()]
            segs = cat.segments()
            st = cat.state()
            labels, _ = cat.labels()
            if len(labels) != st["count"]:
                problems.append(f"catalogue: {len(labels)} items but the recorded count is {st['count']}")
            starts = np.array([s.start for s in segs], np.int64)
            ends = np.array([s.start + s.rows for s in segs], np.int64)
            at = np.searchsorted(starts, labels, side="right") - 1
            outside = (at < 0) | (labels >= ends[np.maximum(at, 0)]) if len(segs) else np.ones(len(labels), bool)
            if np.any(outside):
                problems.append(f"catalogue: {int(np.sum(outside))} item(s) point at no segment row")
            dead = cat.dead_labels()
            if len(np.intersect1d(dead, labels)):
                problems.append("catalogue: some live items are also marked deleted")
            if deep:
                for s in segs:
                    bad = verify_segment(self.path / SEGMENT_DIR / s.file, s)
                    if bad:
                        problems.append(f"segment {bad}")
            problems += self._meta.check(st, cat.metadata_rows, cat.dead_labels, repair=not self.readonly)
        return {"ok": not problems, "problems": problems, "segments": len(segs), "items": int(st["count"]),
                "deep": deep}

    def close(self) -> None:
        """Save the ANN cache if this process changed it, release the catalogue and the memory maps."""
        with self._mutex:
            if self._closed:
                return
            if self._ann_dirty and not self.readonly and self.index is not None:
                try:
                    self._save_ann(timeout=0.5)
                except (LockTimeoutError, OSError, CorruptFileError, CollectionNotFoundError):  # a cache: the next
                    # open catches up (none for a dropped folder)
                    pass
            self._cat.close()
            self._meta.close()
            self.unlock_load()
            self.segs, self.index, self._starts = [], SegmentedExact(self.dim, self.metric), np.empty(0, np.int64)
            self._closed = True

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            if not self._closed:
                self._cat.close()
        except Exception:
            pass


def _identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of ``folder``; None when it is gone."""
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def writable(folder: Path) -> bool:
    """Whether this process may write in ``folder`` and its catalogue (False on read-only media)."""
    return os.access(folder, os.W_OK) and os.access(folder / DB_FILE, os.W_OK) and (
        not (folder / LOCK_FILE).exists() or os.access(folder / LOCK_FILE, os.W_OK))


def lock_held(path: Path) -> bool:
    """Whether some process holds the file lock at ``path`` (``filelock`` takes an exclusive ``flock``): probed
    with a shared one that is released at once; works on read-only media, and False where it cannot tell."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # no lock file: nobody ever held it here
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _index_rev(manifest: Any) -> int:
    idx = manifest.get("index") if isinstance(manifest, dict) else None
    rev = idx.get("rev", 0) if isinstance(idx, dict) else 0
    return rev if isinstance(rev, int) and not isinstance(rev, bool) else 0


def _same_settings(idx: Index, params: dict[str, Any]) -> bool:
    """Whether a cached index was built with the collection's index settings (a changed index is rebuilt)."""
    if idx.precision != params.get("precision", "float32"):
        return False
    have = idx.params
    return all(have.get(key, value) == value for key, value in params.items() if key != "spill_dir")


def _live_spill(name: str) -> bool:
    """Whether ``name`` is the spill folder of a process that is still running (its files may be mapped)."""
    m = SPILL_NAME.fullmatch(name)
    if m is None:
        return False
    pid = int(m.group(1))
    if pid == os.getpid():
        return False  # ours: the cache just saved hard-linked what it needs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
