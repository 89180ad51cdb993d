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
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from .. import config
from ..encoders import DEFAULT_ENCODER, Encoder
from ..errors import (CollectionNotFoundError, DimensionError, EncoderMismatchError, InputError,
                      LockTimeoutError)
from ..metrics import check_metric
from . import db
from ._search import Hit, Item, ReadMixin
from ._snapshot import LOCK_FILE, SnapshotMixin, lock_error
from ._write import MERGE_FAN, SMALL_SEGMENT_BYTES, WriteMixin  # noqa: F401 (constants re-exported)
from .manifest import MANIFEST, check_name, fsync_dir, new_manifest, read_manifest, write_json_atomic
from .segments import SEGMENT_DIR, CachedANN, SegmentedExact

__all__ = ["Collection", "Item", "Hit"]


def _resolve_encoder(encoder: str | Encoder | None) -> Encoder:
    if isinstance(encoder, Encoder):
        return encoder
    if encoder is not None and not isinstance(encoder, str):
        raise InputError(f"encoder must be a name or an Encoder, got {type(encoder).__name__}")
    from ..encoders import encoder as build

    return build(encoder or DEFAULT_ENCODER)


def _encoder_doc(enc: Encoder) -> dict[str, Any]:
    return {"name": enc.name, "dim": int(enc.dim), "metric": enc.metric, "fingerprint": enc.fingerprint}


class Collection(ReadMixin, WriteMixin, SnapshotMixin):
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
    def open_or_create(cls, name: str, encoder: str | Encoder | None = None, **kw: Any) -> "Collection":
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

    def __exit__(self, *exc: object) -> None:
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


