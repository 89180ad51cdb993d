"""Collection: a persistent, named set of items (id, vector, metadata, source) bound to one encoder and index.

    >>> c = Collection.create("docs")                      # default multilingual encoder, exact index
    >>> c.add(["a", "b"], ["a cat sits", "stock prices fell"], metadata=[{"lang": "en"}, {"lang": "en"}])
    >>> c.search("kitten", k=1, where={"lang": "en"})[0].id
    'a'

On disk, ``<root>/<name>/`` holds ``manifest.json`` (what the collection is), ``catalog.sqlite`` (WAL; the
commit point: ids, metadata, sources, content hashes, segments, tombstones), ``segments/*.npy`` (append-only
float32 vectors; cosine rows unit length) and ``index-cache/`` (an HNSW index saved with the generation it
covers; the exact index needs no cache, it searches the memory-mapped segments in place). Writers take
``write.lock`` per operation; readers never block and always search one committed snapshot.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from .. import config
from ..encoders import DEFAULT_ENCODER, Encoder
from ..errors import (CollectionNotFoundError, DimensionError, EncoderMismatchError, InputError,
                      LockTimeoutError)
from ..metrics import as_matrix, check_metric, normalize
from . import _inputs, db
from ._search import Hit, Item, ReadMixin
from ._snapshot import LOCK_FILE, SnapshotMixin, lock_error
from .manifest import MANIFEST, check_name, fsync_dir, new_manifest, read_manifest, write_json_atomic
from .segments import SEGMENT_DIR, CachedANN, SegmentedExact, write_segment

__all__ = ["Collection", "Item", "Hit"]
SMALL_SEGMENT_BYTES = 32 << 20  # segments smaller than this get merged with their small neighbours ...
MERGE_FAN = 8  # ... once this many of them trail the segment list


def _resolve_encoder(encoder: str | Encoder | None) -> Encoder:
    if isinstance(encoder, Encoder):
        return encoder
    if encoder is not None and not isinstance(encoder, str):
        raise InputError(f"encoder must be a name or an Encoder, got {type(encoder).__name__}")
    from ..encoders import encoder as build

    return build(encoder or DEFAULT_ENCODER)


def _encoder_doc(enc: Encoder) -> dict[str, Any]:
    return {"name": enc.name, "dim": int(enc.dim), "metric": enc.metric, "fingerprint": enc.fingerprint}


class Collection(ReadMixin, SnapshotMixin):
    """A named, persistent set of items; create with ``Collection.create`` and reopen with ``Collection.open``."""

    def __init__(self, path: Path, manifest: dict, encoder: Encoder | None, readonly: bool, lock_timeout: float,
                 auto_compact: float) -> None:
        self.path, self.name = path, manifest["name"]
        self._manifest = manifest
        enc = manifest["encoder"]
        self.dim, self.metric = int(enc["dim"]), check_metric(enc["metric"])
        self.index_kind = manifest["index"]["kind"]
        self.index_params = dict(manifest["index"].get("params", {}))
        self._encoder, self.readonly = encoder, readonly
        self.lock_timeout, self.auto_compact = float(lock_timeout), float(auto_compact)
        self._mutex = threading.RLock()
        self._lock = FileLock(str(path / LOCK_FILE), timeout=self.lock_timeout)
        self._conn = db.connect(path / db.DB_FILE)
        self._segs: list[tuple[int, int, np.ndarray]] = []  # (start, rows, memmap)
        self._starts = np.empty(0, np.int64)
        self._index: SegmentedExact | CachedANN | None = None
        self._gen = self._epoch = self._layout = self._last_seg = -1
        self._count = 0
        self._ann_dirty = False
        self._closed = False
        if not readonly:
            self._gc()
        with self._read():
            pass

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, name: str, encoder: str | Encoder | None = None, *, dim: int | None = None,
               metric: str | None = None, index: str = "exact", index_params: dict | None = None,
               root: str | Path | None = None, lock_timeout: float = 10.0, auto_compact: float = 0.3) -> "Collection":
        """Create an empty collection (InputError if the name is taken). ``encoder=None`` with ``dim`` makes a
        vectors-only collection (callers pass ``vectors=``; metric defaults to cosine)."""
        check_name(name)
        base = Path(root) if root is not None else config.collections_dir()
        folder = base / name
        if folder.exists():
            raise InputError(f"collection {name!r} already exists in {base}; open it with Collection.open or drop it")
        enc = None
        if encoder is None and dim is not None:
            if int(dim) <= 0:
                raise InputError(f"dim must be a positive integer, got {dim}")
            enc_doc = {"name": None, "dim": int(dim), "metric": check_metric(metric or "cosine"), "fingerprint": None}
        else:
            enc = _resolve_encoder(encoder)
            if dim is not None and int(dim) != enc.dim:
                raise DimensionError(f"dim={dim} but encoder {enc.name!r} makes {enc.dim}-d vectors; drop dim")
            enc_doc = _encoder_doc(enc)
            enc_doc["metric"] = check_metric(metric or enc.metric)
        params = dict(index_params or {})
        from ..index import make_index

        make_index(index, enc_doc["dim"], enc_doc["metric"], **params)  # validates kind and parameters
        created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        manifest = new_manifest(name, enc_doc, index, params, created)
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / f".{name}.creating-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir()
            (tmp / SEGMENT_DIR).mkdir()
            db.connect(tmp / db.DB_FILE, create=True).close()
            write_json_atomic(tmp / MANIFEST, manifest)
            fsync_dir(tmp)
            try:
                os.rename(tmp, folder)
            except OSError:
                raise InputError(f"collection {name!r} was created by someone else meanwhile; open it") from None
            fsync_dir(base)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return cls(folder, manifest, enc, False, lock_timeout, auto_compact)

    @classmethod
    def open(cls, name: str, encoder: str | Encoder | None = None, *, root: str | Path | None = None,
             readonly: bool = False, lock_timeout: float = 10.0, auto_compact: float = 0.3) -> "Collection":
        """Open an existing collection; the encoder is rebuilt by name from the manifest when not given."""
        base = Path(root) if root is not None else config.collections_dir()
        folder = base / name
        if not folder.is_dir():
            names = cls.list(base)
            have = ", ".join(names) if names else "none yet"
            raise CollectionNotFoundError(
                f"no collection named {name!r} in {base} (existing: {have}); create it with Collection.create"
            )
        manifest = read_manifest(folder)
        enc = None
        if encoder is not None:
            enc = _resolve_encoder(encoder)
            _check_encoder(manifest, enc)
        return cls(folder, manifest, enc, readonly, lock_timeout, auto_compact)

    @classmethod
    def open_or_create(cls, name: str, encoder: str | Encoder | None = None, **kw) -> "Collection":
        """Open ``name`` if it exists, else create it with the given settings."""
        base = Path(kw["root"]) if kw.get("root") is not None else config.collections_dir()
        open_kw = {k: kw[k] for k in ("root", "readonly", "lock_timeout", "auto_compact") if k in kw}
        if (base / name).is_dir():
            return cls.open(name, encoder, **open_kw)
        try:
            return cls.create(name, encoder, **kw)
        except InputError:
            if (base / name).is_dir():
                return cls.open(name, encoder, **open_kw)
            raise

    @staticmethod
    def list(root: str | Path | None = None) -> list[str]:
        """Names of the collections under ``root`` (default: the embedlab home)."""
        base = Path(root) if root is not None else config.collections_dir()
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if not p.name.startswith(".") and (p / MANIFEST).is_file())

    @classmethod
    def drop(cls, name: str, root: str | Path | None = None, lock_timeout: float = 10.0) -> None:
        """Delete a collection and all its files (waits for a running writer first)."""
        check_name(name)
        base = Path(root) if root is not None else config.collections_dir()
        folder = base / name
        if not folder.is_dir():
            names = cls.list(base)
            raise CollectionNotFoundError(
                f"no collection named {name!r} in {base} (existing: {', '.join(names) if names else 'none'})"
            )
        lock = FileLock(str(folder / LOCK_FILE), timeout=lock_timeout)
        try:
            with lock:
                gone = base / f".{name}.dropped-{uuid.uuid4().hex[:8]}"
                os.rename(folder, gone)
        except Timeout:
            raise lock_error(name, folder, lock_timeout) from None
        shutil.rmtree(gone, ignore_errors=True)

    def close(self) -> None:
        """Save the ANN cache if this process changed it, and release the catalogue."""
        with self._mutex:
            if self._closed:
                return
            if self._ann_dirty and not self.readonly:
                try:
                    self._save_ann(timeout=0.5)
                except (LockTimeoutError, OSError):  # a cache: the next open catches up instead
                    pass
            self._conn.close()
            self._closed = True

    def __enter__(self) -> "Collection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            if not self._closed:
                self._conn.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"Collection({self.name!r}, dim={self.dim}, metric={self.metric!r}, index={self.index_kind!r})"

    @property
    def encoder(self) -> Encoder | None:
        """The collection's encoder (built from the manifest on first use); None for vectors-only collections."""
        if self._encoder is None and self._manifest["encoder"].get("name"):
            name = self._manifest["encoder"]["name"]
            try:
                enc = _resolve_encoder(name)
            except InputError as exc:
                raise InputError(f"collection {self.name!r} was built with encoder {name!r}, which is not "
                                 f"registered here ({exc}); pass the Encoder instance to Collection.open") from None
            _check_encoder(self._manifest, enc)
            self._encoder = enc
        return self._encoder

    # ------------------------------------------------------------------ writing
    def _vectors_for(self, items, vectors, n: int, batch_size: int, progress: bool) -> np.ndarray:
        if (items is None) == (vectors is None):
            raise InputError("pass either items (raw inputs for the encoder) or vectors=, exactly one of them")
        if vectors is not None:
            vecs = as_matrix(vectors, dim=self.dim, name="vectors")
            if len(vecs) != n:
                raise InputError(f"got {len(vecs)} vectors for {n} ids; pass exactly one vector per id")
        else:
            enc = self.encoder
            if enc is None:
                raise InputError(f"collection {self.name!r} is vectors-only (no encoder); pass vectors=")
            items = _inputs.check_items(items, n)
            vecs = as_matrix(enc.encode(items, batch_size=batch_size, progress=progress,
                                        normalize=self.metric == "cosine"), dim=self.dim, name="encoded vectors")
        if self.metric == "cosine":
            vecs = normalize(vecs)
        return vecs

    def _hashes(self, items) -> list[str]:
        text_only = self.encoder is not None and tuple(self.encoder.modalities) == ("text",)
        return [_inputs.item_hash(x, text_only) for x in items]

    def _append(self, pending: list[Path], ids: list[str], vecs: np.ndarray, metas: list[str], srcs, hashes,
                kill: list[int] = ()) -> None:
        """Write one new segment and record it and its rows in the open write transaction."""
        st = db.state(self._conn)
        gen, start, n = st["generation"] + 1, st["next_label"], len(ids)
        file = f"seg-{gen:09d}-{uuid.uuid4().hex[:8]}.npy"
        path = self.path / SEGMENT_DIR / file
        pending.append(path)
        write_segment(path, [vecs], n, self.dim)
        c = self._conn
        c.execute("INSERT INTO segments(file, start, rows, gen) VALUES (?, ?, ?, ?)", (file, start, n, gen))
        if kill:
            c.executemany("DELETE FROM items WHERE label = ?", [(lb,) for lb in kill])
            c.executemany("INSERT INTO dead(label, gen) VALUES (?, ?)", [(lb, gen) for lb in kill])
        try:
            c.executemany("INSERT INTO items(label, id, metadata, source, hash) VALUES (?, ?, ?, ?, ?)",
                          zip(range(start, start + n), ids, metas, srcs, hashes))
        except db.sqlite3.IntegrityError:  # UNIQUE(id): the transaction is rolled back by _write
            self._refuse_existing(ids, in_txn=True, below=start)  # rows inserted just now do not count
            raise
        db.set_state(c, generation=gen, next_label=start + n, count=st["count"] + n - len(kill))

    def add(self, ids: Sequence[str], items: Sequence[Any] | None = None, *, vectors=None,
            metadata: Sequence[dict] | None = None, sources: Sequence[str | None] | None = None,
            batch_size: int = 64, progress: bool = False) -> int:
        """Add new items (encoded from ``items`` or given as ``vectors``); an existing id raises InputError and
        nothing is written. One new segment and one commit; returns how many were added."""
        ids = _inputs.check_ids(ids)
        n = len(ids)
        metas = _inputs.check_metadata(metadata, n) or ["{}"] * n
        srcs = _inputs.check_sources(sources, n)
        hashes: list[str | None] = [None] * n
        if items is not None and vectors is None:
            _inputs.check_items(items, n)
            self._refuse_existing(ids)  # before spending time on encoding
            hashes = self._hashes(items)
        vecs = self._vectors_for(items, vectors, n, batch_size, progress)
        if srcs is None:
            srcs = [_inputs.default_source(x) for x in items] if items is not None else [None] * n
        with self._write() as pending:
            self._append(pending, ids, vecs, metas, srcs, hashes)
        self._merge_small()
        return n

    def _refuse_existing(self, ids: list[str], in_txn: bool = False, below: int | None = None) -> None:
        if in_txn:
            found = {k: v for k, v in db.lookup(self._conn, ids).items() if below is None or v[0] < below}
        else:
            with self._read():
                found = db.lookup(self._conn, ids)
        if found:
            dup = [i for i in ids if i in found][:5]
            raise InputError(f"{len(found)} id(s) already in collection {self.name!r}, e.g. {dup}; use upsert to "
                             "replace them or delete them first")

    def upsert(self, ids: Sequence[str], items: Sequence[Any] | None = None, *, vectors=None,
               metadata: Sequence[dict] | None = None, sources: Sequence[str | None] | None = None,
               batch_size: int = 64, progress: bool = False) -> dict[str, int]:
        """Add new ids, replace changed ones, skip unchanged ones (same content hash, or the same vector: not
        re-encoded, not rewritten). ``metadata``/``sources`` of None keep an existing item's metadata and source."""
        ids = _inputs.check_ids(ids)
        n = len(ids)
        metas = _inputs.check_metadata(metadata, n)
        srcs = _inputs.check_sources(sources, n)
        if (items is None) == (vectors is None):
            raise InputError("pass either items (raw inputs for the encoder) or vectors=, exactly one of them")
        if items is not None:
            items = _inputs.check_items(items, n)
            hashes = self._hashes(items)
        else:
            vectors = self._vectors_for(None, vectors, n, batch_size, progress)
            hashes = [None] * n
        with self._write() as pending:
            found = db.lookup(self._conn, ids)
            if vectors is not None:  # compare with the stored rows (both prepared the same way)
                known = [i for i, id_ in enumerate(ids) if id_ in found]
                stored = self._rows(np.array([found[ids[i]][0] for i in known], np.int64))
                same = set(np.array(known, np.int64)[(stored == vectors[known]).all(axis=1)].tolist())
            encode, meta_only, unchanged = [], [], 0
            for i, id_ in enumerate(ids):
                old = found.get(id_)
                if old is None or (i not in same if vectors is not None else old[3] != hashes[i]):
                    encode.append(i)
                    continue
                new_meta = old[1] if metas is None else metas[i]
                new_src = old[2] if srcs is None else srcs[i]
                if (new_meta, new_src) != (old[1], old[2]):
                    meta_only.append((new_meta, new_src, id_))
                else:
                    unchanged += 1
            replaced = sum(1 for i in encode if ids[i] in found)
            if encode:
                if vectors is None:
                    vecs = self._vectors_for([items[i] for i in encode], None, len(encode), batch_size, progress)
                else:
                    vecs = vectors[encode]
                e_ids = [ids[i] for i in encode]
                e_meta = [metas[i] if metas is not None else (found[ids[i]][1] if ids[i] in found else "{}")
                          for i in encode]
                e_src = [srcs[i] if srcs is not None else
                         (_inputs.default_source(items[i]) if items is not None else
                          (found[ids[i]][2] if ids[i] in found else None)) for i in encode]
                kill = [found[i][0] for i in e_ids if i in found]
                self._append(pending, e_ids, vecs, e_meta, e_src, [hashes[i] for i in encode], kill)
            if meta_only:
                self._conn.executemany("UPDATE items SET metadata = ?, source = ? WHERE id = ?", meta_only)
                if not encode:
                    db.set_state(self._conn, generation=db.state(self._conn)["generation"] + 1)
        if encode:
            self._merge_small()
        self._maybe_compact()
        return {"added": len(encode) - replaced, "updated": replaced + len(meta_only), "unchanged": unchanged}

    def delete(self, ids: Sequence[str]) -> int:
        """Delete items by id (unknown ids are ignored); returns how many were deleted."""
        ids = _inputs.check_ids(ids)
        with self._write():
            found = db.lookup(self._conn, ids)
            if found:
                st = db.state(self._conn)
                gen = st["generation"] + 1
                labels = [v[0] for v in found.values()]
                self._conn.executemany("DELETE FROM items WHERE label = ?", [(lb,) for lb in labels])
                self._conn.executemany("INSERT INTO dead(label, gen) VALUES (?, ?)", [(lb, gen) for lb in labels])
                db.set_state(self._conn, generation=gen, count=st["count"] - len(labels))
        self._maybe_compact()
        return len(found)

    def _maybe_compact(self) -> None:
        with self._read():
            total = sum(rows for _, rows, _ in self._segs)
            dead = total - self._count
        if total and dead > self.auto_compact * total:
            self.compact()

    def _small_tail(self) -> int:
        """How many segments at the end of the list are small."""
        run = 0
        for _, rows, _ in reversed(self._segs):
            if rows * 4 * self.dim >= SMALL_SEGMENT_BYTES:
                break
            run += 1
        return run

    def _merge_small(self) -> None:
        """Merge the trailing run of small segments into one, keeping labels (and deleted rows), so many small
        adds do not leave many small files to scan. Bounded work: at most MERGE_FAN x SMALL_SEGMENT_BYTES."""
        with self._read():
            if self._small_tail() < MERGE_FAN:
                return
        with self._write() as pending:
            run = self._small_tail()
            if run < MERGE_FAN:
                return
            segs = db.segments(self._conn)[-run:]
            tail = self._segs[-run:]
            st = db.state(self._conn)
            gen, start, n = st["generation"] + 1, tail[0][0], sum(r for _, r, _ in tail)
            file = f"seg-{gen:09d}-{uuid.uuid4().hex[:8]}.npy"
            path = self.path / SEGMENT_DIR / file
            pending.append(path)
            write_segment(path, [mat for _, _, mat in tail], n, self.dim)
            self._conn.executemany("DELETE FROM segments WHERE seg = ?", [(s[0],) for s in segs])
            self._conn.execute("INSERT INTO segments(file, start, rows, gen) VALUES (?, ?, ?, ?)",
                               (file, start, n, gen))
            db.set_state(self._conn, generation=gen, layout=st.get("layout", 0) + 1)
        for s in segs:
            (self.path / SEGMENT_DIR / s[1]).unlink(missing_ok=True)

    def compact(self) -> None:
        """Rewrite the segments into one without deleted rows, renumber the labels and rebuild the index."""
        with self._write() as pending:
            st = db.state(self._conn)
            total = sum(rows for _, rows, _ in self._segs)
            if total == st["count"] and len(self._segs) <= 1:
                return
            gen, n = st["generation"] + 1, st["count"]
            old_files = [r[1] for r in db.segments(self._conn)]
            c = self._conn
            c.execute("DELETE FROM segments")
            if n:
                file = f"seg-{gen:09d}-{uuid.uuid4().hex[:8]}.npy"
                path = self.path / SEGMENT_DIR / file
                pending.append(path)
                write_segment(path, self._live_blocks(), n, self.dim)
                c.execute("INSERT INTO segments(file, start, rows, gen) VALUES (?, 0, ?, ?)", (file, n, gen))
            # live rows keep their order, so label order = row order in the new segment
            c.execute(db.ITEMS_TABLE.replace("items(", "items_new(", 1))
            c.execute("INSERT INTO items_new SELECT ROW_NUMBER() OVER (ORDER BY label) - 1, id, metadata, source, "
                      "hash FROM items ORDER BY label")
            c.execute("DROP TABLE items")
            c.execute("ALTER TABLE items_new RENAME TO items")
            c.execute("DELETE FROM dead")
            db.set_state(c, generation=gen, epoch=st["epoch"] + 1, next_label=n, count=n)
        for f in old_files:
            (self.path / SEGMENT_DIR / f).unlink(missing_ok=True)
        if isinstance(self._index, CachedANN) and not self.readonly:
            self._save_ann(timeout=self.lock_timeout)

def _check_encoder(manifest: dict, enc: Encoder) -> None:
    want = manifest["encoder"]
    name = manifest.get("name", "?")
    if not want.get("name"):
        raise EncoderMismatchError(
            f"collection {name!r} is vectors-only ({want['dim']}-d) but encoder {enc.name!r} was given; open it "
            "without an encoder and pass vectors="
        )
    if enc.name != want["name"] or int(enc.dim) != int(want["dim"]) or (
        want.get("fingerprint") and enc.fingerprint != want["fingerprint"]
    ):
        raise EncoderMismatchError(
            f"collection {name!r} was built with encoder {want['name']!r} ({want['dim']}-d, fingerprint "
            f"{want.get('fingerprint')}) but was opened with {enc.name!r} ({enc.dim}-d, fingerprint "
            f"{enc.fingerprint}); open it with the original encoder or rebuild the collection"
        )


