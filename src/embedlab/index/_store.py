"""On-disk plumbing shared by the index kinds: the ``index.json`` manifest and its data files, over
``embedlab.persist`` (atomic folder writes, versioned manifests, size + CRC32 records, checked ``.npy`` reads).

An index folder holds ``index.json`` plus data files. The manifest records each data file's size and CRC32 so
a truncated or damaged file is reported as CorruptFileError instead of producing wrong neighbours.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, InputError
from ..persist import (
    atomic_folder,
    check_record,
    file_record,
    member,
    read_npy,
    read_versioned,
    versioned,
    write_json_atomic,
)
from .base import INDEX_FORMAT_VERSION

MANIFEST = "index.json"
FORMAT = "embedlab.index"
_REBUILD = "delete the folder and rebuild the index from its vectors"


def corrupt(folder: Path, what: str) -> CorruptFileError:
    return CorruptFileError(f"index at {folder} is unreadable: {what}; {_REBUILD}")


def write_folder(folder: str | Path, manifest: dict[str, Any], writers: dict[str, Callable[[Path], None]],
                 size_only: set[str] | frozenset[str] = frozenset()) -> None:
    """Write data files (``writers``: file name -> function writing that path) and the manifest atomically.

    Everything goes to a temporary sibling folder, is fsynced, then renamed over ``folder``; a crash leaves
    either the old index or the new one, never a mix. Files in ``size_only`` (big files hard-linked from an
    earlier save, e.g. IVF lists) are recorded by size alone, so saving does not read them whole.
    """
    with atomic_folder(folder) as tmp:
        files = {}
        for name, write in writers.items():
            write(tmp / name)
            files[name] = ({"bytes": (tmp / name).stat().st_size, "crc32": None} if name in size_only
                           else file_record(tmp / name))
        write_json_atomic(tmp / MANIFEST, versioned(FORMAT, INDEX_FORMAT_VERSION, **manifest, files=files))


def _whole(doc: dict[str, Any], key: str, low: int) -> bool:
    v = doc.get(key)
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


def read_manifest(folder: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Read and validate ``index.json``; check that every listed data file lies in the folder with its recorded
    size. CorruptFileError naming the file for anything missing or damaged; FormatVersionError when newer."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"no index folder at {folder}; save an index there first")
    doc = read_versioned(folder / MANIFEST, FORMAT, INDEX_FORMAT_VERSION, "index", _REBUILD)
    for key in ("kind", "dim", "metric", "params", "count", "files"):
        if key not in doc:
            raise corrupt(folder, f"{MANIFEST} lacks '{key}'")
    if not (isinstance(doc["kind"], str) and isinstance(doc["metric"], str) and _whole(doc, "dim", 1)
            and _whole(doc, "count", 0) and isinstance(doc["params"], dict) and isinstance(doc["files"], dict)):
        raise corrupt(folder, f"{MANIFEST} has a kind, metric, dim, count, params or files of the wrong type")
    if kind is not None and doc["kind"] != kind:
        raise InputError(
            f"index at {folder} is of kind {doc['kind']!r}, not {kind!r}; open it with embedlab.index.load_index"
        )
    for name, record in doc["files"].items():
        check_record(member(folder, name, MANIFEST, _REBUILD), record, deep=False, fix=_REBUILD)
    return doc


def member_path(folder: Path, name: Any) -> Path:
    """``folder / name`` for a data file named by a manifest (CorruptFileError for anything but a plain name)."""
    return member(folder, name, MANIFEST, _REBUILD)


def verify_crc(folder: Path, doc: dict[str, Any], name: str) -> None:
    """Compare a data file's size and CRC32 with the manifest's (reads the whole file)."""
    check_record(member(folder, name, MANIFEST, _REBUILD), doc["files"].get(name), deep=True, fix=_REBUILD)


def load_npy(folder: Path, doc: dict[str, Any], name: str, dtype: Any, shape: tuple[int, ...], mmap: bool = False) -> np.ndarray:
    """Load a ``.npy`` data file after checking its checksum (unless ``mmap``), dtype and shape (``-1`` in
    ``shape`` matches anything) against its header, before any data is read."""
    if not mmap:
        verify_crc(folder, doc, name)
    return read_npy(Path(folder) / name, _REBUILD, dtype=dtype, shape=shape, mmap=mmap)
