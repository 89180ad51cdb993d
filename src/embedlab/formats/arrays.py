"""Vectors as a plain array file (``.npy`` or ``.safetensors``) plus a JSON sidecar with the keys.

``words.npy`` holds the float32 matrix; ``words.npy.json`` holds
``{"format": "embedlab.vectors", "format_version": 1, "storage": "npy", "dim": d, "count": n, "keys": [...]}``
(or ``"keys_file": "<name>"`` pointing to a UTF-8 file with one key per line). Both formats load memory-mapped
with ``mmap=True``: no copy of the matrix, only the pages you touch are read. No pickle anywhere.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..persist import (
    atomic_file,
    atomic_path,
    member,
    npy_header,
    read_text,
    read_versioned,
    versioned,
    write_json_atomic,
)
from ..persist import (
    read_npy as read_checked_npy,
)
from .keyed import Keyed, KeyedArrays, keyed

__all__ = ["read_npy", "read_safetensors", "read_sidecar", "sidecar_path", "write_npy", "write_safetensors"]

FORMAT = "embedlab.vectors"
FORMAT_VERSION = 1
_TENSOR = "vectors"
_FIX = "save the vectors again, or copy the array file and its .json sidecar together"
_MAX_HEADER = 100_000_000  # safetensors' own limit on its JSON header


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar next to an array file: ``<path>.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _write_sidecar(vectors: Keyed, path: Path, storage: str) -> None:
    meta = versioned(FORMAT, FORMAT_VERSION, storage=storage, dim=int(vectors.matrix.shape[1]), count=len(vectors.keys), dtype="float32",
                     keys=vectors.keys)
    write_json_atomic(sidecar_path(path), meta, indent=None)


def _count(side: Path, meta: dict[str, Any], name: str) -> int | None:
    value = meta.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise CorruptFileError(f"{side}: \"{name}\" must be a whole number >= 0, got {value!r}; {_FIX}")
    return value


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """Read and validate the sidecar of an array file; returns the metadata with ``keys`` (a list of str)
    resolved, also when they live in a ``keys_file`` (one UTF-8 key per line, beside the sidecar).

    Raises CorruptFileError naming the sidecar for a missing or damaged sidecar, keys that are not a list of
    strings, a ``keys_file`` outside the sidecar's folder, or a ``count`` that disagrees with the keys;
    FormatVersionError for a sidecar from a newer embedlab.
    """
    path = Path(path)
    side = sidecar_path(path)
    if not side.is_file():
        raise CorruptFileError(
            f"{side} is missing: an embedlab array file needs its JSON sidecar with the keys; "
            "copy it alongside the array or save the vectors again"
        )
    meta = read_versioned(side, FORMAT, FORMAT_VERSION, "vectors sidecar", _FIX)
    if "keys" in meta:
        keys = meta["keys"]
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            bad = type(keys).__name__ if not isinstance(keys, list) else \
                next(type(k).__name__ for k in keys if not isinstance(k, str))
            raise CorruptFileError(f"{side}: \"keys\" must be a list of strings (found {bad}); {_FIX}")
    else:
        keys_file = meta.get("keys_file")
        if keys_file is None:
            raise CorruptFileError(f"{side} has neither \"keys\" nor \"keys_file\"; {_FIX}")
        kpath = member(side.parent, keys_file, f"the sidecar {side.name}", _FIX)
        if not kpath.is_file():
            raise CorruptFileError(f"{side} names keys file {keys_file!r}, which is missing next to it; {_FIX}")
        keys = read_text(kpath, _FIX).split("\n")
        if keys and keys[-1] == "":
            keys.pop()
    _count(side, meta, "dim")
    count = _count(side, meta, "count")
    if count is not None and count != len(keys):
        raise CorruptFileError(f"{side} lists {len(keys)} keys but says \"count\": {count}; {_FIX}")
    meta["keys"] = keys
    return meta


def _check_shape(meta: dict[str, Any], shape: tuple[int, ...], path: Path) -> None:
    n, d = shape if len(shape) == 2 else (None, None)
    if len(shape) != 2 or d != meta.get("dim", d) or n != len(meta["keys"]):
        raise CorruptFileError(
            f"{path}: the array has shape {shape} but its sidecar lists {len(meta['keys'])} keys of dimension "
            f"{meta.get('dim')}; the two files do not belong together — save the vectors again"
        )


def write_npy(vectors: Keyed, path: str | Path) -> Path:
    """Write the float32 ``(n, d)`` matrix to ``path`` (.npy) and the keys to ``<path>.json``, each atomically."""
    path = Path(path)
    with atomic_file(path) as fh:
        np.save(fh, np.asarray(vectors.matrix, dtype=np.float32), allow_pickle=False)
    _write_sidecar(vectors, path, "npy")
    return path


def read_npy(path: str | Path, mmap: bool = False) -> KeyedArrays:
    """Read a ``.npy`` matrix (any real dtype, as float32) and its sidecar; ``mmap=True`` maps a float32
    matrix read-only instead of reading it.

    The header is checked against the file's size and the sidecar before any data is read; NaN or infinity
    raise NonFiniteError naming the row (checked in blocks, also when memory-mapped).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no array file at {path}")
    meta = read_sidecar(path)
    dtype, shape, _, _ = npy_header(path, _FIX)
    if dtype.kind not in "fiu":
        raise CorruptFileError(f"{path} holds {dtype} values, not real numbers; {_FIX}")
    _check_shape(meta, shape, path)
    matrix = read_checked_npy(path, _FIX, mmap=mmap)
    if matrix.dtype != np.float32:
        matrix = matrix.astype(np.float32)
    return keyed(meta["keys"], matrix, path, "row", 1)


def write_safetensors(vectors: Keyed, path: str | Path) -> Path:
    """Write the matrix as one float32 safetensors tensor named ``vectors`` and the keys to ``<path>.json``,
    each atomically."""
    from safetensors.numpy import save_file

    path = Path(path)
    with atomic_path(path) as tmp:
        save_file({_TENSOR: np.ascontiguousarray(vectors.matrix, dtype=np.float32)}, str(tmp),
                  metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)})
    _write_sidecar(vectors, path, "safetensors")
    return path


def read_safetensors(path: str | Path, mmap: bool = False) -> KeyedArrays:
    """Read a safetensors matrix and its sidecar; ``mmap=True`` maps the tensor's bytes without copying.

    The header (tensor ``vectors``: dtype F32, shape, data offsets) is checked against the file's size and the
    sidecar before any data is read; CorruptFileError names the file and what disagrees.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no safetensors file at {path}")
    meta = read_sidecar(path)
    header, data_start, size = _safetensors_header(path)
    info = header.get(_TENSOR)
    if not isinstance(info, dict) or info.get("dtype") != "F32":
        raise CorruptFileError(f"{path} has no float32 tensor named {_TENSOR!r}; {_FIX}")
    shape = _ints(info.get("shape"), path, "shape")
    _check_shape(meta, shape, path)
    begin, end = _ints(info.get("data_offsets"), path, "data_offsets")
    n, d = shape
    if end - begin != 4 * n * d or data_start + end > size:
        raise CorruptFileError(
            f"{path}: tensor {_TENSOR!r} of shape {shape} needs {4 * n * d} bytes, but its data_offsets "
            f"[{begin}, {end}] (from byte offset {data_start}) span {end - begin} bytes of a {size}-byte file; "
            f"it is truncated or damaged: {_FIX}"
        )
    if n * d == 0:
        matrix = np.empty((n, d), dtype=np.float32)
    elif mmap:
        matrix = np.memmap(path, dtype="<f4", mode="r", offset=data_start + begin, shape=(n, d))
    else:
        matrix = np.fromfile(path, dtype="<f4", count=n * d, offset=data_start + begin).reshape(n, d)
    return keyed(meta["keys"], matrix, path, "row", 1)


def _ints(value: Any, path: Path, name: str) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
            or (name == "data_offsets" and value[0] > value[1])):
        raise CorruptFileError(f"{path}: the safetensors header gives tensor {_TENSOR!r} {name} {value!r}, not two "
                               f"whole numbers >= 0{' in order' if name == 'data_offsets' else ''}; {_FIX}")
    return value[0], value[1]


def _safetensors_header(path: Path) -> tuple[dict[str, Any], int, int]:
    """The JSON header of a safetensors file, where its data starts, and the file's size."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise CorruptFileError(f"{path} is too short ({size} bytes) to be a safetensors file; {_FIX}")
        (hsize,) = struct.unpack("<Q", raw)
        if hsize > min(_MAX_HEADER, size - 8):
            raise CorruptFileError(f"{path} declares a {hsize}-byte safetensors header at byte offset 0, but the file "
                                   f"has {size - 8} bytes after it; is it a safetensors file? {_FIX}")
        try:
            header = json.loads(f.read(hsize).decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise CorruptFileError(f"{path} has a safetensors header that is not UTF-8 (byte offset "
                                   f"{8 + exc.start}); {_FIX}") from None
        except (json.JSONDecodeError, RecursionError) as exc:
            where = f" (byte offset {8 + exc.pos})" if isinstance(exc, json.JSONDecodeError) else ""
            raise CorruptFileError(f"{path} has an unreadable safetensors header{where}; {_FIX}") from None
    if not isinstance(header, dict):
        raise CorruptFileError(f"{path} has a safetensors header that is not a JSON object; {_FIX}")
    return header, 8 + hsize, size
