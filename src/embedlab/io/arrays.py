"""Vectors as a plain array file (``.npy`` or ``.safetensors``) plus a JSON sidecar with the keys.

``words.npy`` holds the float32 matrix; ``words.npy.json`` holds
``{"format": "embedlab.vectors", "format_version": 1, "storage": "npy", "dim": d, "count": n, "keys": [...]}``
(or ``"keys_file": "<name>"`` pointing to a UTF-8 file with one key per line). Both formats load memory-mapped
with ``mmap=True``: no copy of the matrix, only the pages you touch are read. No pickle anywhere.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, FormatVersionError, InputError
from ..vectors import Vectors

__all__ = ["save_npy", "load_npy", "save_safetensors", "load_safetensors", "sidecar_path", "read_sidecar"]

FORMAT = "embedlab.vectors"
FORMAT_VERSION = 1
_TENSOR = "vectors"


def sidecar_path(path: str | Path) -> Path:
    """The JSON sidecar next to an array file: ``<path>.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _write_sidecar(vectors: Vectors, path: Path, storage: str) -> None:
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "storage": storage,
            "dim": vectors.dim, "count": len(vectors), "dtype": "float32", "keys": vectors.keys}
    side = sidecar_path(path)
    tmp = side.with_name(side.name + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, side)


def read_sidecar(path: str | Path) -> dict:
    """Read and validate the sidecar of an array file; returns the metadata with ``keys`` resolved."""
    path = Path(path)
    side = sidecar_path(path)
    if not side.is_file():
        raise CorruptFileError(
            f"{side} is missing: an embedlab array file needs its JSON sidecar with the keys; "
            "copy it alongside the array or save the vectors again"
        )
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{side} is not valid JSON ({exc}); save the vectors again") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CorruptFileError(f"{side} is not an embedlab vectors sidecar (expected \"format\": \"{FORMAT}\")")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise CorruptFileError(f"{side} has no integer format_version")
    if version > FORMAT_VERSION:
        raise FormatVersionError(
            f"{side} was written with format_version {version}, newer than this embedlab reads "
            f"({FORMAT_VERSION}); upgrade embedlab (pip install -U embedlab)"
        )
    if "keys" not in meta:
        keys_file = meta.get("keys_file")
        if not keys_file:
            raise CorruptFileError(f"{side} has neither \"keys\" nor \"keys_file\"")
        kpath = path.parent / keys_file
        if not kpath.is_file():
            raise CorruptFileError(f"{side} names keys file {keys_file!r}, which is missing next to it")
        meta["keys"] = kpath.read_text(encoding="utf-8").split("\n")
        if meta["keys"] and meta["keys"][-1] == "":
            meta["keys"].pop()
    return meta


def _check_shape(meta: dict, shape: tuple, path: Path) -> None:
    n, d = shape if len(shape) == 2 else (None, None)
    if len(shape) != 2 or d != meta.get("dim", d) or n != len(meta["keys"]):
        raise CorruptFileError(
            f"{path}: the array has shape {shape} but its sidecar lists {len(meta['keys'])} keys of dimension "
            f"{meta.get('dim')}; the two files do not belong together — save the vectors again"
        )


def save_npy(vectors: Vectors, path: str | Path) -> Path:
    """Write the matrix to ``path`` (.npy) and the keys to ``<path>.json``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, np.asarray(vectors.matrix, dtype=np.float32), allow_pickle=False)
    os.replace(tmp, path)
    _write_sidecar(vectors, path, "npy")
    return path


def load_npy(path: str | Path, mmap: bool = False) -> Vectors:
    """Read a ``.npy`` matrix and its sidecar (memory-mapped, read-only, with ``mmap=True``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no array file at {path}")
    meta = read_sidecar(path)
    try:
        matrix = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as exc:
        raise CorruptFileError(f"{path} is not a readable .npy array ({exc}); save the vectors again") from None
    _check_shape(meta, matrix.shape, path)
    if matrix.dtype != np.float32:
        matrix = matrix.astype(np.float32)
    return Vectors(meta["keys"], matrix)


def save_safetensors(vectors: Vectors, path: str | Path) -> Path:
    """Write the matrix as one safetensors tensor named ``vectors`` and the keys to ``<path>.json``."""
    from safetensors.numpy import save_file

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    save_file({_TENSOR: np.ascontiguousarray(vectors.matrix, dtype=np.float32)}, str(tmp),
              metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)})
    os.replace(tmp, path)
    _write_sidecar(vectors, path, "safetensors")
    return path


def load_safetensors(path: str | Path, mmap: bool = False) -> Vectors:
    """Read a safetensors matrix and its sidecar; ``mmap=True`` maps the tensor's bytes without copying."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no safetensors file at {path}")
    meta = read_sidecar(path)
    header, data_start = _safetensors_header(path)
    info = header.get(_TENSOR)
    if not isinstance(info, dict) or info.get("dtype") != "F32":
        raise CorruptFileError(f"{path} has no float32 tensor named {_TENSOR!r}; save the vectors again")
    shape = tuple(info["shape"])
    _check_shape(meta, shape, path)
    begin, end = info["data_offsets"]
    if end - begin != 4 * shape[0] * shape[1] or data_start + end > path.stat().st_size:
        raise CorruptFileError(f"{path} is truncated: the tensor's bytes are incomplete; save the vectors again")
    if mmap:
        matrix = np.memmap(path, dtype="<f4", mode="r", offset=data_start + begin, shape=shape)
    else:
        from safetensors.numpy import load_file

        matrix = load_file(str(path))[_TENSOR]
    return Vectors(meta["keys"], matrix)


def _safetensors_header(path: Path) -> tuple[dict, int]:
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise CorruptFileError(f"{path} is too short to be a safetensors file")
        (size,) = struct.unpack("<Q", raw)
        if size > 100_000_000:
            raise CorruptFileError(f"{path} has an implausible safetensors header size; is it a safetensors file?")
        try:
            header = json.loads(f.read(size))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CorruptFileError(f"{path} has an unreadable safetensors header; save the vectors again") from None
    if not isinstance(header, dict):
        raise InputError(f"{path} has an unexpected safetensors header")
    return header, 8 + size
