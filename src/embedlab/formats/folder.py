"""The shape every training folder shares: a versioned JSON manifest naming its files, a vocabulary file and
named ``.npy`` arrays, published whole.

``write_folder`` writes into a folder its caller publishes atomically (``persist.atomic_folder``, so other
outputs can go beside); ``read_folder`` checks the manifest's format and version, then each array's header
against the shape the format expects before any data is read, so a damaged or mismatched file is a
``CorruptFileError`` naming it — never a huge allocation or one of numpy's own errors. Word2Vec, fastText, GloVe
and co-occurrence folders are each a few lines over these two functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..persist import member, read_npy, read_versioned, versioned, write_json_atomic
from .vocab import VOCAB_FILE, VocabFile, find_vocab, read_vocab, write_vocab

__all__ = ["DAMAGED", "ArraySpec", "FolderData", "read_folder", "write_folder"]

DAMAGED = "the model folder is damaged: save or train the model again"


@dataclass(frozen=True)
class ArraySpec:
    """The dtype and shape an array of a folder must have (``-1`` for a size read from the file)."""

    dtype: Any
    shape: tuple[int, ...]


@dataclass
class FolderData:
    """What ``read_folder`` returns.

    Attributes
    ----------
    manifest : dict
        The checked manifest (``format``, ``format_version``, ``files`` and the kind's own fields).
    vocab : VocabFile or None
        The vocabulary, when the folder has one.
    arrays : dict of str to numpy.ndarray or None
        Each array the manifest lists, by name (None where the manifest names no file for it).
    """

    manifest: dict[str, Any]
    vocab: VocabFile | None
    arrays: dict[str, np.ndarray | None]


def write_folder(folder: Path, manifest_name: str, fmt: str, version: int, *, vocab: VocabFile | None,
                 arrays: Mapping[str, np.ndarray | None], **fields: Any) -> None:
    """Write a training folder's files into ``folder`` (which exists): the vocabulary, each array as
    ``<name>.npy``, then the manifest last (its presence marks a complete folder).

    Parameters
    ----------
    folder : Path
        An existing, usually temporary, folder that the caller publishes (``persist.atomic_folder``).
    manifest_name, fmt, version : str, str, int
        The manifest's file name, ``format`` tag and ``format_version``.
    vocab : VocabFile or None
        Written as ``vocab.tsv`` when given.
    arrays : mapping of str to numpy.ndarray or None
        ``name -> array``; None entries are recorded as absent.
    **fields
        The kind's own manifest fields (parameters, training record …), JSON-serialisable.

    Raises
    ------
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    files: dict[str, str | None] = {}
    if vocab is not None:
        write_vocab(folder / VOCAB_FILE, vocab)
        files["vocab"] = VOCAB_FILE
    for name, arr in arrays.items():
        if arr is None:
            files[name] = None
            continue
        np.save(folder / f"{name}.npy", np.asarray(arr), allow_pickle=False)
        files[name] = f"{name}.npy"
    write_json_atomic(folder / manifest_name, versioned(fmt, version, **fields, files=files))


def read_folder(folder: str | Path, manifest_name: str, fmt: str, version: int, what: str,
                shapes: Callable[[dict[str, Any], VocabFile | None], Mapping[str, ArraySpec]], *,
                vocab: bool = True, default_files: Mapping[str, str] | None = None, mmap: bool = False,
                missing: str | None = None, fix: str = DAMAGED) -> FolderData:
    """Read a training folder written by ``write_folder``.

    Parameters
    ----------
    folder : path-like
        The folder.
    manifest_name, fmt, version, what : str, str, int, str
        The manifest's file name, ``format`` tag, newest readable ``format_version``, and what the folder holds
        (for messages, e.g. ``"Word2Vec model"``).
    shapes : callable
        ``(manifest, vocab) -> {name: ArraySpec}``: the arrays to read and the dtype/shape each must have.
    vocab : bool
        Whether the folder has a vocabulary file.
    default_files : mapping of str to str, optional
        File names to use for arrays (and ``"vocab"``) when the manifest has no ``files`` entry for them (folders
        written before the entry existed).
    mmap : bool
        Memory-map the arrays read-only instead of reading them.
    missing : str, optional
        The message when the manifest does not exist (default: "<folder> holds no <manifest>").
    fix : str
        What the user should do about a damaged file (ends each error message).

    Returns
    -------
    FolderData

    Raises
    ------
    CorruptFileError
        For a missing or damaged manifest, vocabulary or array (each array's header is checked against
        ``shapes`` before it is read), naming the file.
    FormatVersionError
        For a folder from a newer embedlab.
    """
    folder = Path(folder)
    path = folder / manifest_name
    if not path.is_file():
        raise CorruptFileError(missing or f"{folder} holds no {manifest_name}; {fix}")
    manifest = read_versioned(path, fmt, version, what, fix)
    files = manifest.get("files", {} if default_files is not None else None)
    if not isinstance(files, dict):
        raise CorruptFileError(f"{path} lacks its \"files\" object; {fix}")
    files = {**(default_files or {}), **files}
    voc = None
    if vocab:
        vpath = find_vocab(folder, files.get("vocab") or None, path.name)
        voc = read_vocab(vpath)
    arrays: dict[str, np.ndarray | None] = {}
    for name, spec in shapes(manifest, voc).items():
        if not files.get(name):
            arrays[name] = None
            continue
        arrays[name] = read_npy(member(folder, files[name], path.name, fix), fix, spec.dtype, spec.shape,
                                mmap=mmap)
    return FolderData(manifest, voc, arrays)
