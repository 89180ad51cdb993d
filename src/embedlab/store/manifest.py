"""A collection's ``manifest.json``: what it is (encoder, metric, index) and which format wrote it.

The manifest is written by temp file + fsync + rename, so a reader sees the old file or the new one, never a
mix. It is the collection's *description*; the commit point for data is the SQLite transaction (see
``db.py``), and the manifest's ``generation`` mirrors the last committed generation for tools that only read
the JSON (SQLite's value wins if they ever disagree after a crash).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

from ..errors import CorruptFileError, FormatVersionError, InputError

FORMAT = "embedlab.collection"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_name(name: str) -> str:
    """A collection name usable as a folder name on every OS; InputError otherwise."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"bad collection name {name!r}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    return name


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, doc: dict[str, Any]) -> None:
    """Write ``doc`` to ``path`` via a temp file in the same folder, fsync, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read and validate ``folder/manifest.json``; CorruptFileError or FormatVersionError with what to do."""
    path = folder / MANIFEST
    fix = f"restore {path} from a backup, or drop the collection and build it again"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptFileError(f"collection folder {folder} has no {MANIFEST}; {fix}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{path} is not valid JSON ({exc}); {fix}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CorruptFileError(f"{path} is not an embedlab collection manifest (format != {FORMAT!r}); {fix}")
    version = doc.get("format_version")
    if not isinstance(version, int):
        raise CorruptFileError(f"{path} lacks an integer format_version; {fix}")
    if version > FORMAT_VERSION:
        raise FormatVersionError(
            f"collection {folder.name!r} has format version {version}, newer than this embedlab reads "
            f"({FORMAT_VERSION}); upgrade embedlab to open it"
        )
    enc = doc.get("encoder")
    idx = doc.get("index")
    ok = (
        isinstance(enc, dict)
        and isinstance(enc.get("dim"), int)
        and enc.get("metric") in ("cosine", "dot", "l2")
        and isinstance(idx, dict)
        and isinstance(idx.get("kind"), str)
        and isinstance(idx.get("params", {}), dict)
    )
    if not ok:
        raise CorruptFileError(f"{path} lacks valid 'encoder' {{name, dim, metric}} or 'index' {{kind, params}}; {fix}")
    return doc


def new_manifest(name: str, encoder: dict[str, Any], kind: str, params: dict[str, Any], created: str) -> dict:
    """The manifest of a freshly created collection (generation 0)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "encoder": encoder,
        "index": {"kind": kind, "params": params},
        "created": created,
        "generation": 0,
    }
