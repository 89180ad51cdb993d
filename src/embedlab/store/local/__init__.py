"""The local backend: each collection is a folder under a root (the embedlab home's ``collections/`` by default)
holding ``manifest.json`` (what it is), ``catalog.sqlite`` (WAL; the commit point: ids, metadata, sources,
contents, content hashes, segments with their checksums, tombstones), ``segments/*.npy`` (append-only float32
vectors; cosine rows unit length), ``index-cache/`` (an HNSW index saved with the generation it covers) and
``meta-index/`` (the metadata index that resolves filters: checksummed parts saved with their generation).

A folder counts as a collection only when it carries embedlab's marks (``manifest.json`` or
``catalog.sqlite``); nothing outside such folders is ever deleted. Collections on read-only media, or in
folders this process may not write, open read-only by themselves.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ... import config
from ...errors import CollectionNotFoundError, InputError, StorageFullError, did_you_mean
from ...persist import fsync_dir, storage_errors, write_json_atomic
from .. import manifest as mf
from .segments import SEGMENT_DIR
from .sql import DB_FILE, Catalog
from .table import LOCK_FILE, LocalTable, lock_error, writable

__all__ = ["LocalStore", "LocalTable"]


class LocalStore:
    """Collections in folders under ``root`` (default: the embedlab home's ``collections/``)."""

    kind = "local"

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.explicit_root = root is not None
        self.root = Path(root) if root is not None else config.collections_dir()

    def _folder(self, name: str) -> Path:
        return self.root / mf.check_name(name)

    def _missing(self, name: str, what: str = "") -> CollectionNotFoundError:
        names = self.names()
        have = ", ".join(names) if names else "none yet"
        guess = did_you_mean(name, names)
        if guess and what:  # "; did you mean 'notes'? Or create it with ..."
            what = f"; {guess} Or {what[2:]}"
        elif guess:
            what = f"; {guess}"
        return CollectionNotFoundError(f"no collection named {name!r} here (existing: {have}){what}")

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if not p.name.startswith(".") and (p / mf.MANIFEST).is_file())

    def exists(self, name: str) -> bool:
        return (self._folder(name) / mf.MANIFEST).is_file()

    def create(self, name: str, manifest: dict[str, Any], *, lock_timeout: float = 10.0,
               auto_compact: float = 0.3, incomplete: dict[str, Any] | None = None) -> LocalTable:
        folder = self._folder(name)
        if folder.exists():
            raise InputError(f"collection {name!r} already exists; open it with Collection.open or drop it",
                             cli=f"collection {name!r} already exists; add to it with: embedlab index {name} PATH..., "
                                 f"or drop it with: embedlab drop {name}")
        with storage_errors(self.root):
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.root / f".{name}.creating-{uuid.uuid4().hex[:8]}"
            try:
                tmp.mkdir()
                (tmp / SEGMENT_DIR).mkdir()
                cat = Catalog(tmp / DB_FILE, create=True)
                with cat.write():  # the folder's rename below makes the manifest and the load mark visible at once
                    cat.set_manifest(manifest)
                    if incomplete is not None:
                        cat.set_pending(incomplete)
                cat.close()
                write_json_atomic(tmp / mf.MANIFEST, manifest)
                fsync_dir(tmp)
                try:
                    os.rename(tmp, folder)
                except OSError:
                    raise InputError(f"collection {name!r} was created by someone else meanwhile; open it") from None
                fsync_dir(self.root)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return LocalTable(folder, manifest, False, lock_timeout, auto_compact)

    def open(self, name: str, readonly: bool = False, *, lock_timeout: float = 10.0,
             auto_compact: float = 0.3) -> LocalTable:
        folder = self._folder(name)
        if not folder.is_dir():
            raise self._missing(name, "; create it with Collection.create")
        manifest = mf.read_manifest(folder)
        if not readonly and not writable(folder):
            return LocalTable(folder, manifest, True, lock_timeout, auto_compact, forced_readonly="media")
        try:
            return LocalTable(folder, manifest, readonly, lock_timeout, auto_compact)
        except StorageFullError:
            if readonly:
                raise
            # a disk with no space left at all: SQLite cannot even create its journal; reads still work
            return LocalTable(folder, manifest, True, lock_timeout, auto_compact, forced_readonly="full")

    def drop(self, name: str, *, lock_timeout: float = 10.0) -> None:
        folder = self._folder(name)
        if not folder.is_dir():
            raise self._missing(name)
        if not ((folder / mf.MANIFEST).is_file() or (folder / DB_FILE).is_file()):
            raise InputError(f"{name!r} is a folder without embedlab's marks (no {mf.MANIFEST} or {DB_FILE}); "
                             "embedlab does not delete folders it did not create")
        with storage_errors(folder):
            try:
                with FileLock(str(folder / LOCK_FILE), timeout=lock_timeout):
                    gone = self.root / f".{name}.dropped-{uuid.uuid4().hex[:8]}"
                    os.rename(folder, gone)
            except Timeout:
                raise lock_error(name, lock_timeout) from None
        shutil.rmtree(gone, ignore_errors=True)
