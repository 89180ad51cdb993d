"""The index folder format, shared by every kind.

The ``index.json`` manifest, its precision block and data files, over ``embedlab.persist`` (atomic folder writes,
versioned manifests, size + CRC32 records, checked ``.npy`` reads); and the files a FAISS-backed (coded) index
writes besides its FAISS structures.

An index folder holds ``index.json`` plus data files. The manifest records each data file's size and CRC32 so
a truncated or damaged file is reported as CorruptFileError instead of producing wrong neighbours.

A coded index (``coded.CodedIndex``) writes ``ids.npy`` (the id at each FAISS position), ``dead.npy``
(tombstones), ``pending_ids.npy`` / ``pending.npy`` (rows waiting for training), ``calibration.npy`` (int8
ranges) and ``vectors.npy`` (its own float32 rows, when it keeps them), plus its kind's FAISS files
(``CodeFiles``); ``index.json`` records ``positions``, ``pending`` and the precision block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np

from ..errors import CorruptFileError, FormatVersionError, InputError
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
from .quantize import PRECISION_FORMAT, PRECISIONS, Calibration

faiss: Any = _faiss  # its stubs lack read_index's flags and the binary readers
MANIFEST = "index.json"
FORMAT = "embedlab.index"
_REBUILD = "delete the folder and rebuild the index from its vectors"
#: writes one data file at the path it is given
Writer = Callable[[Path], None]


def corrupt(folder: Path, what: str) -> CorruptFileError:
    """The error for an unreadable index folder: names the folder and what is wrong, says how to recover.

    Parameters
    ----------
    folder : Path
        The index folder.
    what : str
        What is wrong (e.g. ``"ids.npy does not match index.json"``).

    Returns
    -------
    CorruptFileError
        For the caller to raise; its message ends with the remedy (delete the folder, rebuild the index).
    """
    return CorruptFileError(f"index at {folder} is unreadable: {what}; {_REBUILD}")


def write_folder(folder: str | Path, manifest: dict[str, Any], writers: dict[str, Writer],
                 size_only: set[str] | frozenset[str] = frozenset()) -> None:
    """Write data files and the manifest atomically.

    Everything goes to a temporary sibling folder, is fsynced, then renamed over ``folder``; a crash leaves
    either the old index or the new one, never a mix.

    Parameters
    ----------
    folder : str or Path
        The index folder (replaced whole).
    manifest : dict
        The ``index.json`` fields besides the format header and ``files`` (kind, dim, metric, params, count,
        precision ...).
    writers : dict of str to Writer
        File name -> function writing that path.
    size_only : set of str
        Files recorded by size alone, not CRC32 (big files hard-linked from an earlier save, e.g. IVF lists), so
        saving does not read them whole.

    Raises
    ------
    StorageFullError
        The disk filled up while writing (the old folder is kept).
    ReadOnlyStorageError
        Read-only media or no write permission.
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
    """Read and validate ``index.json``; check that every listed data file lies in the folder with its recorded size.

    Parameters
    ----------
    folder : str or Path
        The index folder.
    kind : str, optional
        The kind the caller opens (None: any).

    Returns
    -------
    dict
        The manifest, with ``kind``, ``dim`` (>= 1), ``metric``, ``params``, ``count`` (>= 0) and ``files``
        checked for presence and type.

    Raises
    ------
    InputError
        No folder at ``folder``, or an index of another kind than ``kind``.
    CorruptFileError
        ``index.json`` or a data file missing, damaged or of the wrong size (named).
    FormatVersionError
        Written by a newer embedlab.
    """  # noqa: DOC501 - corrupt() returns the CorruptFileError raised
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
    """``folder / name`` for a data file named by a manifest.

    Parameters
    ----------
    folder : Path
        The index folder.
    name : str
        The file name as the manifest gives it (any JSON value).

    Returns
    -------
    Path
        A path inside ``folder``.

    Raises
    ------
    CorruptFileError
        ``name`` is not a plain file name inside the folder.
    """
    return member(folder, name, MANIFEST, _REBUILD)


def verify_crc(folder: Path, doc: dict[str, Any], name: str) -> None:
    """Compare a data file's size and CRC32 with the manifest's (reads the whole file).

    Parameters
    ----------
    folder : Path
        The index folder.
    doc : dict
        Its manifest (``read_manifest``).
    name : str
        The data file.

    Raises
    ------
    CorruptFileError
        The file is missing, of another size, or its CRC32 differs.
    """
    check_record(member(folder, name, MANIFEST, _REBUILD), doc["files"].get(name), deep=True, fix=_REBUILD)


def load_npy(folder: Path, doc: dict[str, Any], name: str, dtype: Any, shape: tuple[int, ...], mmap: bool = False) -> np.ndarray:
    """Load a ``.npy`` data file after checking its checksum, dtype and shape, before any data is read.

    Parameters
    ----------
    folder : Path
        The index folder.
    doc : dict
        Its manifest (``read_manifest``).
    name : str
        The data file.
    dtype : numpy dtype
        The dtype the header must declare.
    shape : tuple of int
        The shape the header must declare (``-1`` matches any length).
    mmap : bool
        Map the file read-only instead of reading it (the checksum is then skipped; the header is checked).

    Returns
    -------
    np.ndarray
        Of ``dtype`` and ``shape`` (a read-only ``np.memmap`` with ``mmap``).

    Raises
    ------
    CorruptFileError
        A missing, truncated or damaged file, or a header of another dtype or shape (named).
    """
    if not mmap:
        verify_crc(folder, doc, name)
    return read_npy(Path(folder) / name, _REBUILD, dtype=dtype, shape=shape, mmap=mmap)


# ---------------------------------------------------------------------------------------------- the precision block
def float32_precision() -> dict[str, Any]:
    """The precision block of an index of float32 rows.

    Returns
    -------
    dict
        ``{"format": PRECISION_FORMAT, "name": "float32", "rescore": None}``.
    """
    return {"format": PRECISION_FORMAT, "name": "float32", "rescore": None}


def precision_block(folder: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """The ``precision`` block of a saved index (float32 for format-1 files, written before precisions existed).

    Parameters
    ----------
    folder : Path
        The index folder (for error messages).
    doc : dict
        Its manifest (``read_manifest``).

    Returns
    -------
    dict
        ``format``, ``name`` (one of ``PRECISIONS``) and ``rescore``; coded indexes add ``calibration`` and
        ``vectors`` (file names or None).

    Raises
    ------
    CorruptFileError
        A format-2 manifest without the block, or a block without a valid format or precision name.
    FormatVersionError
        A block in a newer format than this embedlab reads.
    """  # noqa: DOC501 - corrupt() returns the CorruptFileError raised
    if doc.get("format_version", 1) < 2:
        return {"format": 1, "name": "float32", "rescore": None}
    prec = doc.get("precision")
    if not isinstance(prec, dict):
        raise corrupt(folder, "index.json lacks its 'precision' block (which codes the index holds)")
    fmt = prec.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt < 1:
        raise corrupt(folder, f"index.json's precision block has no valid format (got {fmt!r})")
    if fmt > PRECISION_FORMAT:
        raise FormatVersionError(f"index at {folder} stores its precision in format {fmt}, newer than this embedlab "
                                 f"reads ({PRECISION_FORMAT}); upgrade embedlab to read it")
    if prec.get("name") not in PRECISIONS:
        raise corrupt(folder, f"index.json names an unknown precision {prec.get('name')!r}")
    return prec


# ---------------------------------------------------------------------------------------------- coded indexes
@dataclass
class CodeFiles:
    """What one kind saves of its FAISS structures.

    Attributes
    ----------
    writers : dict of str to Writer
        Its data files: file name -> function writing that path.
    manifest : dict
        Extra ``index.json`` entries (e.g. IVF's ``parts``).
    size_only : frozenset of str
        Files recorded by size alone (big immutable files hard-linked from an earlier save).
    """

    writers: dict[str, Writer]
    manifest: dict[str, Any] = field(default_factory=dict)
    size_only: frozenset[str] = frozenset()


@dataclass
class CodedRows:
    """A coded index's state besides its FAISS structures, as saved.

    Attributes
    ----------
    pos_ids : np.ndarray
        ``(positions,)`` int64, the id at each FAISS position.
    dead : np.ndarray
        ``(positions,)`` bool tombstones.
    pending_ids : np.ndarray
        ``(m,)`` int64 ids of the rows waiting for training.
    pending : np.ndarray
        ``(m, dim)`` float32, those rows.
    calibration : Calibration or None
        The int8 ranges.
    floats : np.ndarray or None
        The index's own float32 rows by position (at least ``positions`` rows; None when it keeps none).
    """

    pos_ids: np.ndarray
    dead: np.ndarray
    pending_ids: np.ndarray
    pending: np.ndarray
    calibration: Calibration | None = None
    floats: np.ndarray | None = None


def write_coded(path: str | Path, head: dict[str, Any], precision: str, rescore: int | None, rows: CodedRows,
                files: CodeFiles) -> None:
    """Save a coded index atomically (see the module docstring for the files).

    Parameters
    ----------
    path : str or Path
        The index folder (replaced whole).
    head : dict
        ``kind``, ``dim``, ``metric``, ``params``, ``count``: written into ``index.json``.
    precision : str
        ``float32``, ``float16``, ``int8`` or ``binary``: the precision block's name.
    rescore : int or None
        The rescore factor, recorded in the precision block.
    rows : CodedRows
        Ids, tombstones, pending rows, calibration and own float32 rows, written as ``.npy`` files.
    files : CodeFiles
        The kind's FAISS structures.

    Raises
    ------
    StorageFullError
        The disk filled up while writing (the old folder is kept).
    ReadOnlyStorageError
        Read-only media or no write permission.
    """
    n = len(rows.pos_ids)
    prec: dict[str, Any] = {"format": PRECISION_FORMAT, "name": precision, "rescore": rescore,
                            "calibration": "calibration.npy" if rows.calibration is not None else None,
                            "vectors": "vectors.npy" if rows.floats is not None else None}
    manifest = {**head, "positions": n, "pending": len(rows.pending_ids), "precision": prec, **files.manifest}
    writers: dict[str, Writer] = {
        "ids.npy": lambda p: np.save(p, rows.pos_ids),
        "dead.npy": lambda p: np.save(p, rows.dead),
    }
    if len(rows.pending_ids):
        writers["pending_ids.npy"] = lambda p: np.save(p, rows.pending_ids)
        writers["pending.npy"] = lambda p: np.save(p, rows.pending)
    cal, floats = rows.calibration, rows.floats
    if cal is not None:
        writers["calibration.npy"] = lambda p: np.save(p, cal.as_array())
    if floats is not None:
        writers["vectors.npy"] = lambda p: np.save(p, np.asarray(floats[:n]))
    writers.update(files.writers)
    write_folder(path, manifest, writers, size_only=files.size_only)


def positions(folder: Path, doc: dict[str, Any]) -> int:
    """The FAISS positions a saved coded index holds (live and dead).

    Parameters
    ----------
    folder : Path
        The index folder (for error messages).
    doc : dict
        Its manifest.

    Returns
    -------
    int
        ``positions``, or ``count`` for files written without that entry.

    Raises
    ------
    CorruptFileError
        Neither entry is a number.
    """  # noqa: DOC501 - corrupt() returns the CorruptFileError raised
    try:
        return int(doc.get("positions", doc["count"]))
    except (TypeError, KeyError, ValueError) as exc:
        raise corrupt(folder, f"bad parameters in index.json ({exc})") from None


def read_coded(folder: Path, doc: dict[str, Any], dim: int, precision: str, mmap: bool) -> CodedRows:
    """Read back what ``write_coded`` wrote besides the FAISS structures.

    Parameters
    ----------
    folder : Path
        The index folder.
    doc : dict
        Its manifest (``read_manifest``).
    dim : int
        The index's dimension (the shapes the files must have).
    precision : str
        The index's precision (an int8 index with rows must have a calibration).
    mmap : bool
        Map the float32 rows read-only (their checksum is then skipped); every other file is read with its
        checksum verified.

    Returns
    -------
    CodedRows
        Ids, tombstones, pending rows, calibration and own float32 rows (None when none were saved).

    Raises
    ------
    CorruptFileError
        A file missing, damaged or of the wrong shape (named), an invalid calibration, or an int8 index with rows
        but no calibration.
    """  # noqa: DOC501 - corrupt() returns the CorruptFileError raised
    npos = positions(folder, doc)
    prec = precision_block(folder, doc)
    rows = CodedRows(load_npy(folder, doc, "ids.npy", np.int64, (npos,)),
                     load_npy(folder, doc, "dead.npy", np.bool_, (npos,)),
                     np.empty(0, np.int64), np.empty((0, dim), np.float32))
    if prec.get("calibration"):
        arr = load_npy(folder, doc, "calibration.npy", np.float32, (2, dim))
        try:
            rows.calibration = Calibration.from_array(arr)
        except InputError as exc:
            raise corrupt(folder, f"calibration.npy is not a valid calibration ({exc})") from None
    elif precision == "int8" and npos:
        raise corrupt(folder, "an int8 index with rows but no calibration (precision.calibration)")
    if prec.get("vectors"):
        rows.floats = load_npy(folder, doc, "vectors.npy", np.float32, (npos, dim), mmap=mmap)
    npend = int(doc.get("pending", 0))
    if npend:
        rows.pending_ids = load_npy(folder, doc, "pending_ids.npy", np.int64, (npend,))
        rows.pending = load_npy(folder, doc, "pending.npy", np.float32, (npend, dim))
    return rows


def write_faiss(index: Any, binary: bool = False) -> Writer:
    """A writer of one FAISS index (``faiss.write_index`` / ``write_index_binary``).

    Parameters
    ----------
    index : faiss.Index or faiss.IndexBinary
        The index to write.
    binary : bool
        Whether it is a binary index.

    Returns
    -------
    Writer
        Writes the index to the path it is given.
    """
    if binary:
        return lambda p: faiss.write_index_binary(index, str(p))
    return lambda p: faiss.write_index(index, str(p))


def read_faiss(folder: Path, doc: dict[str, Any], name: str, binary: bool = False, flags: int = 0,
               deep: bool = True) -> Any:
    """Read the FAISS index in data file ``name`` (``faiss.read_index`` / ``read_index_binary``).

    Parameters
    ----------
    folder : Path
        The index folder.
    doc : dict
        Its manifest (``read_manifest``).
    name : str
        The data file.
    binary : bool
        Whether it holds a binary index.
    flags : int
        FAISS I/O flags, e.g. ``faiss.IO_FLAG_MMAP``.
    deep : bool
        Verify the file's checksum first (reads it whole).

    Returns
    -------
    faiss.Index or faiss.IndexBinary
        As FAISS reads it.

    Raises
    ------
    CorruptFileError
        A checksum mismatch, or a file FAISS cannot read (named).
    """  # noqa: DOC501 - corrupt() returns the CorruptFileError raised
    if deep:
        verify_crc(folder, doc, name)
    try:
        if binary:
            return faiss.read_index_binary(str(folder / name), flags)
        return faiss.read_index(str(folder / name), flags)
    except RuntimeError as exc:
        raise corrupt(folder, f"{name} cannot be read ({str(exc).splitlines()[0]})") from None
