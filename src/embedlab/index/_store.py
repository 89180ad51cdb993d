"""On-disk plumbing shared by the index kinds: manifest, atomic folder writes, checked reads.

An index folder holds ``index.json`` plus data files. The manifest records each data file's size and CRC32 so
a truncated or damaged file is reported as CorruptFileError instead of producing wrong neighbours.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, FormatVersionError, InputError
from .base import INDEX_FORMAT_VERSION

MANIFEST = "index.json"
FORMAT = "embedlab.index"
_REBUILD = "delete the folder and rebuild the index from its vectors"


def corrupt(folder: Path, what: str) -> CorruptFileError:
    return CorruptFileError(f"index at {folder} is unreadable: {what}; {_REBUILD}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def crc32_file(path: Path, chunk: int = 1 << 24) -> int:
    crc = 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            crc = zlib.crc32(block, crc)
    return crc


def write_folder(folder: str | Path, manifest: dict, writers: dict[str, Callable[[Path], None]]) -> None:
    """Write data files (``writers``: file name -> function writing that path) and the manifest atomically.

    Everything goes to a temporary sibling folder, is fsynced, then renamed over ``folder``; a crash leaves
    either the old index or the new one, never a mix.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        files = {}
        for name, write in writers.items():
            path = tmp / name
            write(path)
            _fsync(path)
            files[name] = {"bytes": path.stat().st_size, "crc32": crc32_file(path)}
        doc = {"format": FORMAT, "format_version": INDEX_FORMAT_VERSION, **manifest, "files": files}
        with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync(tmp)
        old = None
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(folder, old)
        os.rename(tmp, folder)
        _fsync(folder.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_manifest(folder: str | Path, kind: str | None = None) -> dict:
    """Read and validate ``index.json``; check that every listed data file exists with its recorded size."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"no index folder at {folder}; save an index there first")
    path = folder / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise corrupt(folder, f"{MANIFEST} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise corrupt(folder, f"{MANIFEST} is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise corrupt(folder, f"{MANIFEST} is not an embedlab index manifest")
    version = doc.get("format_version")
    if not isinstance(version, int):
        raise corrupt(folder, "format_version is missing")
    if version > INDEX_FORMAT_VERSION:
        raise FormatVersionError(
            f"index at {folder} has format version {version}, newer than this embedlab reads "
            f"({INDEX_FORMAT_VERSION}); upgrade embedlab or rebuild the index"
        )
    for key in ("kind", "dim", "metric", "params", "count", "files"):
        if key not in doc:
            raise corrupt(folder, f"{MANIFEST} lacks '{key}'")
    if kind is not None and doc["kind"] != kind:
        raise InputError(
            f"index at {folder} is of kind {doc['kind']!r}, not {kind!r}; open it with embedlab.index.load_index"
        )
    for name, info in doc["files"].items():
        fpath = folder / name
        if not fpath.is_file():
            raise corrupt(folder, f"data file {name} is missing")
        if fpath.stat().st_size != info.get("bytes"):
            raise corrupt(folder, f"data file {name} has {fpath.stat().st_size} bytes, expected {info.get('bytes')}")
    return doc


def verify_crc(folder: Path, doc: dict, name: str) -> None:
    """Compare a data file's CRC32 with the manifest's (reads the whole file)."""
    expected = doc["files"].get(name, {}).get("crc32")
    if expected is not None and crc32_file(Path(folder) / name) != expected:
        raise corrupt(Path(folder), f"data file {name} is damaged (checksum mismatch)")


def load_npy(folder: Path, doc: dict, name: str, dtype, shape: tuple, mmap: bool = False) -> np.ndarray:
    """Load a ``.npy`` data file and check dtype and shape (``-1`` in ``shape`` matches anything)."""
    if not mmap:
        verify_crc(folder, doc, name)
    try:
        arr = np.load(folder / name, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise corrupt(folder, f"data file {name} cannot be read ({exc})") from None
    if arr.dtype != np.dtype(dtype) or arr.ndim != len(shape) or any(
        s != -1 and s != a for s, a in zip(shape, arr.shape)
    ):
        raise corrupt(folder, f"data file {name} has {arr.dtype} {arr.shape}, expected {np.dtype(dtype)} {shape}")
    return arr
