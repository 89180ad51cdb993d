"""One implementation of each persistence act, used by every file format embedlab writes or reads.

- **storage errors**: ``storage_errors()`` turns a full disk into ``StorageFullError`` and read-only media or a
  missing permission into ``ReadOnlyStorageError`` (both name the path and what to do);
- **durable writes**: ``atomic_path`` (a temp path for writers that want a file name) / ``atomic_file`` /
  ``write_bytes_atomic`` / ``write_json_atomic`` (temp file in the same folder, fsync, rename, fsync the folder)
  and ``atomic_folder`` (temp folder, fsync, rename over the target); a crash leaves the old file or folder or
  the new one, never a mix;
- **versioned manifests**: ``read_text`` / ``read_json`` / ``read_versioned`` / ``check_version`` check the
  UTF-8, the JSON, the ``format`` tag and the ``format_version`` in one place (``CorruptFileError`` /
  ``FormatVersionError`` naming the file);
- **checksums**: ``crc32_file`` / ``file_record`` / ``check_record`` (size + CRC32 of a data file);
- **names inside a folder**: ``member`` accepts only a plain file name that stays inside its folder;
- **array files**: ``npy_header`` / ``read_npy`` check a ``.npy`` header against the file's size (and the dtype
  and shape the caller expects) before any data is read or allocated, so a lying header is a
  ``CorruptFileError``, never a huge allocation or one of numpy's own errors.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import tempfile
import tokenize
import uuid
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
from numpy.lib import format as npformat

from .errors import CorruptFileError, FormatVersionError, InputError, ReadOnlyStorageError, StorageFullError

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}


def storage_error(exc: OSError, path: str | os.PathLike[str] | None = None) -> OSError:
    """The embedlab error for an ``OSError`` from writing (full disk, read-only media), else ``exc`` itself."""
    where = f" {path}" if path is not None else ""
    if exc.errno in _FULL:
        return StorageFullError(exc.errno, f"no space left to write{where} ({exc.strerror}); free some disk space "
                                "and retry: nothing after the last completed write was kept")
    if exc.errno in _READ_ONLY:
        return ReadOnlyStorageError(exc.errno, f"cannot write{where} ({exc.strerror}): the media is read-only or "
                                    "you lack write permission; open it read-only, or copy it somewhere writable")
    if exc.errno is None and path is not None and _nearly_full(Path(path)):
        # a short write reported without an errno (numpy's "N requested and M written") on a full disk
        return StorageFullError(errno.ENOSPC, f"no space left to write{where} ({exc}); free some disk space and "
                                "retry: nothing after the last completed write was kept")
    return exc


def _nearly_full(path: Path) -> bool:
    """Whether the file system holding ``path`` has (almost) no space left."""
    for folder in (path, *path.parents):
        try:
            st = os.statvfs(folder)
        except OSError:
            continue
        return st.f_bavail * st.f_frsize < (1 << 20)
    return False


@contextmanager
def storage_errors(path: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """Run a block of writes; a full disk or read-only media raises the matching embedlab error instead."""
    try:
        yield
    except (StorageFullError, ReadOnlyStorageError):
        raise
    except OSError as exc:
        err = storage_error(exc, path if path is not None else exc.filename)
        if err is exc:
            raise
        raise err from None


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush a written file's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename or a new file inside folder ``path`` durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tmp_sibling(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}.{kind}-{uuid.uuid4().hex[:8]}")


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp path beside ``path`` for a writer that wants a file name; on success fsync the file, rename
    it onto ``path`` and fsync the folder; on any error remove it."""
    path = Path(path)
    tmp = _tmp_sibling(path, "tmp")
    with storage_errors(path):
        try:
            yield tmp
            fsync_file(tmp)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)


@contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None) -> Iterator[IO[Any]]:
    """Yield a file object writing to a temp file beside ``path``; on success fsync it, rename it onto ``path``
    and fsync the folder; on any error remove it. ``mode`` is ``"wb"`` or ``"w"``."""
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding if "b" not in mode else None) as fh:
        yield fh


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (see ``atomic_file``)."""
    with atomic_file(path, "wb") as fh:
        fh.write(data)


def write_json_atomic(path: str | os.PathLike[str], doc: Any, indent: int | None = 2) -> None:
    """Replace ``path`` with ``doc`` as UTF-8 JSON atomically (see ``atomic_file``)."""
    with atomic_file(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=indent, ensure_ascii=False)
        fh.write("\n")


def fsync_tree(folder: str | os.PathLike[str]) -> None:
    """fsync every file and folder under ``folder`` (bottom up), so a rename of ``folder`` publishes data."""
    for root, _dirs, files in os.walk(folder, topdown=False):
        for f in files:
            fsync_file(os.path.join(root, f))
        fsync_dir(root)


def nearest_existing(path: str | os.PathLike[str]) -> Path:
    """The closest ancestor of ``path`` that exists (a dangling symlink counts: nothing can be created through it):
    where creating ``path`` would start, and what must be a folder for that to work."""
    for up in Path(path).parents:
        if up.exists() or up.is_symlink():
            return up
    return Path(Path(path).anchor or ".")


def check_output_folder(target: str | os.PathLike[str], overwrite: bool | None = None) -> Path:
    """Fail before any work when folder ``target`` could not be written later, or may not be replaced.

    Parameters
    ----------
    target : path-like
        The output folder (missing parents are created).
    overwrite : bool or None, default None
        None: only check that it can be written. False: also refuse a folder that is not empty. True: also refuse
        a non-empty folder that holds no embedlab manifest (a top-level ``*.json`` whose ``"format"`` starts with
        ``embedlab``), so replacing an output never deletes a folder of the user's own files.

    Returns
    -------
    Path
        ``target``, with ``~`` expanded.

    Raises
    ------
    InputError
        With a one-line reason: it is a file, a path component is a file, its parent cannot be created or
        written (probed by creating and removing a hidden folder there), or it may not be replaced.
    """
    target = Path(target).expanduser()
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} is a file; the output must be a folder")
    up = nearest_existing(target)
    if not up.is_dir():
        raise InputError(f"{up} is a file, so the folder {target} cannot be created")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(prefix=f".{target.name}.probe-", dir=target.parent))
    except OSError as exc:
        raise InputError(f"cannot write the output folder {target}: {exc.strerror or exc}") from None
    if overwrite is not None and target.is_dir() and any(target.iterdir()):
        if not overwrite:
            what = f"{target} is not empty; pick a new or empty folder, or pass "
            raise InputError(what + "overwrite=True", cli=what + "--overwrite")
        if not holds_embedlab_output(target):
            raise InputError(f"{target} holds files that no embedlab command wrote (it has no embedlab manifest), so "
                             "it is not replaced; pick a new or empty folder")
    return target


def holds_embedlab_output(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds an output embedlab wrote: a top-level ``*.json`` manifest whose ``"format"`` starts
    with ``embedlab`` (every model and vectors folder has one), or nothing but the ``vectors.txt`` that
    ``train textbook`` writes.

    Parameters
    ----------
    folder : path-like
        An existing folder.

    Returns
    -------
    bool
    """
    if {p.name for p in Path(folder).iterdir()} == {"vectors.txt"}:
        return True
    for path in Path(folder).glob("*.json"):
        try:
            with open(path, "rb") as fh:
                head = fh.read(1 << 20)
            doc = json.loads(head)
        except OSError:
            continue
        except ValueError:  # a manifest over 1 MB read in part (a key sidecar of 80k+ words): its "format" comes first
            if _FORMAT_FIRST.match(head):
                return True
            continue
        if isinstance(doc, dict) and str(doc.get("format", "")).startswith("embedlab"):
            return True
    return False


_FORMAT_FIRST = re.compile(rb'\s*\{\s*"format"\s*:\s*"embedlab')


@contextmanager
def atomic_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temp folder beside ``target``; on success fsync its contents and rename it onto ``target``
    (an existing ``target`` is moved aside first and removed after), on error remove it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_sibling(target, "tmp")
    with storage_errors(target):
        tmp.mkdir()
        try:
            yield tmp
            fsync_tree(tmp)
            replace_folder(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def replace_folder(src: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Rename folder ``src`` onto ``target`` (moving an existing ``target`` aside first, deleting it after)."""
    src, target = Path(src), Path(target)
    old = None
    if target.exists():
        old = _tmp_sibling(target, "old")
        os.rename(target, old)
    try:
        os.rename(src, target)
    except BaseException:
        if old is not None:
            os.rename(old, target)
        raise
    fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_text(path: str | os.PathLike[str], fix: str) -> str:
    """A UTF-8 text file's content; ``CorruptFileError`` (naming the file, the byte offset of a bad byte, and
    ``fix``) for a file that is missing, unreadable or not UTF-8."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CorruptFileError(f"{path} is missing; {fix}") from None
    except OSError as exc:
        raise CorruptFileError(f"{path} cannot be read ({exc.strerror}); {fix}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"{path} is not UTF-8 text (byte offset {exc.start}); {fix}") from None


def read_json(path: str | os.PathLike[str], fix: str) -> Any:
    """Parse a UTF-8 JSON file; ``CorruptFileError`` (naming the file, the line and column, and ``fix``) for a
    file that is missing, unreadable, not UTF-8 or not JSON."""
    text = read_text(path, fix)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                               f"{fix}") from None
    except RecursionError:
        raise CorruptFileError(f"{path} nests JSON too deeply to be a manifest; {fix}") from None


def check_version(path: str | os.PathLike[str], found: Any, version: int, what: str, fix: str) -> int:
    """``found`` as a format version this embedlab reads: ``CorruptFileError`` unless a positive integer,
    ``FormatVersionError`` (saying to upgrade) when newer than ``version``."""
    if isinstance(found, bool) or not isinstance(found, int) or found < 1:
        raise CorruptFileError(f"{path} lacks a valid integer format_version (got {found!r}); {fix}")
    if found > version:
        raise FormatVersionError(f"{path} holds a {what} in format version {found}, newer than this embedlab reads "
                                 f"({version}); upgrade embedlab to read it")
    return found


def sniff_manifest(path: str | os.PathLike[str], fmt: str) -> dict[str, Any] | None:
    """The JSON object in the file ``path`` when its ``format`` is ``fmt``, else None (missing, unreadable, not
    JSON, another format): a cheap, silent test of what a folder holds, before ``read_versioned`` checks it."""
    try:
        doc = json.loads(Path(path).expanduser().read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == fmt else None


def read_versioned(path: str | os.PathLike[str], fmt: str, version: int, what: str, fix: str) -> dict[str, Any]:
    """Read a versioned manifest: a JSON object whose ``format`` is ``fmt`` and whose integer ``format_version``
    is at most ``version``. ``what`` names the thing for messages ("collection", "Word2Vec model")."""
    doc = read_json(path, fix)
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise CorruptFileError(f"{path} is not an embedlab {what} (format {found!r}, expected {fmt!r}); {fix}")
    check_version(path, doc.get("format_version"), version, what, fix)
    return doc


def versioned(fmt: str, version: int, **fields: Any) -> dict[str, Any]:
    """A manifest dict that ``read_versioned`` accepts: ``{"format", "format_version", **fields}``."""
    return {"format": fmt, "format_version": version, **fields}


def crc32_file(path: str | os.PathLike[str], chunk: int = 1 << 24) -> int:
    """CRC32 of a file's bytes, read in chunks (so memory stays bounded)."""
    crc = 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            crc = zlib.crc32(block, crc)
    return crc


def file_record(path: str | os.PathLike[str]) -> dict[str, int]:
    """``{"bytes": size, "crc32": checksum}`` of a data file, for a manifest to record."""
    return {"bytes": os.path.getsize(path), "crc32": crc32_file(path)}


def check_record(path: str | os.PathLike[str], record: Any, deep: bool, fix: str) -> None:
    """Compare a data file with its manifest record: the size always, the CRC32 when ``deep``."""
    path = Path(path)
    if not isinstance(record, dict) or not isinstance(record.get("bytes"), int):
        raise CorruptFileError(f"the manifest's record of {path.name} is damaged ({record!r}); {fix}")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CorruptFileError(f"{path} is missing; {fix}") from None
    if size != record["bytes"]:
        raise CorruptFileError(f"{path} has {size} bytes, expected {record['bytes']} (its manifest's record); "
                               f"{fix}")
    if deep and record.get("crc32") is not None and crc32_file(path) != record["crc32"]:
        raise CorruptFileError(f"{path} is damaged (CRC32 differs from its manifest's); {fix}")


def member(folder: str | os.PathLike[str], name: Any, what: str, fix: str) -> Path:
    """``folder / name`` for a plain file name that stays inside ``folder`` (no separators, no ``..``, no NUL);
    ``CorruptFileError`` otherwise. Manifests and sidecars may only name files beside them."""
    folder = Path(folder)
    if (not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name
            or "\0" in name or os.path.isabs(name)):
        raise CorruptFileError(f"{what} in {folder} names {name!r}, which is not a plain file name inside that "
                               f"folder; {fix}")
    return folder / name


# ------------------------------------------------------------------ .npy array files
_NPY_MAGIC = b"\x93NUMPY"
_MAX_EMPTY_DIM = 1 << 40  # an empty array may declare its other dimensions, but not absurd ones
_NPY_HEADER_ERRORS = (ValueError, TypeError, SyntaxError, KeyError, IndexError, EOFError, OverflowError,
                      UnicodeDecodeError, RecursionError, MemoryError, tokenize.TokenError)


def npy_header(path: str | os.PathLike[str], fix: str, check_size: bool = True
               ) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """``(dtype, shape, fortran_order, data_offset)`` of a ``.npy`` file, checked against the file's size.

    ``CorruptFileError`` (naming the file and ``fix``) for a file that is not a ``.npy`` array, holds Python
    objects (pickles), or (with ``check_size``) whose header declares more or fewer data bytes than the file
    holds — a caller that reports sizes in its own terms passes ``check_size=False``.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            if fh.read(6) != _NPY_MAGIC:
                raise CorruptFileError(f"{path} is not a .npy array file (byte offset 0: no \\x93NUMPY magic); {fix}")
            fh.seek(0)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # numpy warns about Python 2 headers it had to repair
                    major, minor = npformat.read_magic(fh)
                    if (major, minor) not in ((1, 0), (2, 0)):
                        raise ValueError(f"unsupported .npy version {major}.{minor}")
                    reader = npformat.read_array_header_1_0 if major == 1 else npformat.read_array_header_2_0
                    shape, fortran, dtype = reader(fh)
            except _NPY_HEADER_ERRORS as exc:
                msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                raise CorruptFileError(f"{path} has a damaged .npy header (byte offset {fh.tell()}: {msg}); "
                                       f"{fix}") from None
            offset = fh.tell()
    except FileNotFoundError:
        raise CorruptFileError(f"{path} is missing; {fix}") from None
    except OSError as exc:
        raise CorruptFileError(f"{path} cannot be read ({exc.strerror}); {fix}") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise CorruptFileError(f"{path} holds a {dtype} array (structured or Python objects), not plain numbers; "
                               f"{fix}")
    if any(isinstance(s, bool) or s < 0 for s in shape):
        raise CorruptFileError(f"{path} declares an impossible shape {shape} in its .npy header; {fix}")
    count = math.prod(shape)
    if count == 0 and max(shape, default=0) > _MAX_EMPTY_DIM:
        raise CorruptFileError(f"{path} declares an impossible shape {shape} in its .npy header; {fix}")
    need = count * dtype.itemsize
    if check_size and need != size - offset:
        raise CorruptFileError(f"{path} holds {size - offset} data bytes after its header (byte offset {offset}), "
                               f"but the header declares shape {shape} of {dtype} ({need} bytes): the file is "
                               f"truncated or damaged; {fix}")
    return dtype, tuple(shape), fortran, offset



def read_npy(path: str | os.PathLike[str], fix: str, dtype: Any = None, shape: tuple[int, ...] | None = None,
             mmap: bool = False) -> np.ndarray:
    """A ``.npy`` array, read (or, with ``mmap=True``, memory-mapped read-only) only after ``npy_header`` has
    matched its header with the file's size, the exact ``dtype`` and the ``shape`` asked for (``-1`` in
    ``shape`` matches any length). ``CorruptFileError`` naming the file and ``fix`` otherwise.
    """
    path = Path(path)
    found, dims, fortran, offset = npy_header(path, fix)
    if dtype is not None and found != np.dtype(dtype):
        raise CorruptFileError(f"{path} holds {found} values, expected {np.dtype(dtype)}; {fix}")
    if shape is not None and (len(dims) != len(shape) or any(s not in (-1, a) for s, a in zip(shape, dims, strict=True))):
        want = ", ".join("any" if s == -1 else str(s) for s in shape) + ("," if len(shape) == 1 else "")
        raise CorruptFileError(f"{path} holds an array of shape {dims}, expected ({want}); {fix}")
    order: Literal["F", "C"] = "F" if fortran else "C"
    count = math.prod(dims)
    if count == 0:
        return np.empty(dims, dtype=found, order=order)
    if mmap:
        return np.memmap(path, dtype=found, mode="r", offset=offset, shape=dims, order=order)
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = np.fromfile(fh, dtype=found, count=count)
    if data.size != count:  # the file shrank since its header was checked
        raise CorruptFileError(f"{path} ends before the {count} values its header declares; {fix}")
    return data.reshape(dims, order=order)
