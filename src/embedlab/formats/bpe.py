"""The folder ``BPETokenizer.save`` and ``embedlab train bpe`` write: a SentencePiece model and its manifest.

    tokenizer.json   format "embedlab.bpe", format_version 1: library "sentencepiece", model_file, pieces, options
                     (the training options)
    spm.model        the SentencePiece model (protobuf, no pickle)

A bare ``.model`` file reads too (``options`` then empty).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import CorruptFileError, InputError
from ..persist import atomic_folder, member, read_versioned, versioned, write_json_atomic

__all__ = ["DAMAGED", "FORMAT", "FORMAT_VERSION", "MANIFEST", "MODEL_FILE", "read", "write"]

FORMAT = "embedlab.bpe"
FORMAT_VERSION = 1
MANIFEST = "tokenizer.json"
MODEL_FILE = "spm.model"
DAMAGED = "the tokenizer folder is damaged: save or train the tokenizer again"


def write(folder: str | os.PathLike[str], proto: bytes, pieces: int, options: dict[str, Any]) -> Path:
    """Write ``spm.model`` and ``tokenizer.json`` as ``folder``, atomically (an existing folder is replaced whole).

    Parameters
    ----------
    folder : path-like
    proto : bytes
        The serialised SentencePiece model.
    pieces : int
        Its vocabulary size.
    options : dict
        The training options, recorded in the manifest.

    Returns
    -------
    Path

    Raises
    ------
    StorageFullError, ReadOnlyStorageError
    """
    folder = Path(folder)
    meta = versioned(FORMAT, FORMAT_VERSION, library="sentencepiece", model_file=MODEL_FILE, pieces=int(pieces),
                     options=options)
    with atomic_folder(folder) as tmp:
        (tmp / MODEL_FILE).write_bytes(proto)
        write_json_atomic(tmp / MANIFEST, meta)
    return folder


def read(path: str | os.PathLike[str]) -> tuple[bytes, dict[str, Any], Path]:
    """Read a tokenizer folder (or a bare SentencePiece ``.model`` file).

    Returns
    -------
    proto : bytes
        The serialised model.
    options : dict
        The training options (empty for a bare model file).
    model : Path
        The model file read (named in errors about its content).

    Raises
    ------
    InputError
        When a folder holds no ``tokenizer.json``.
    CorruptFileError
        For a damaged ``tokenizer.json``, a missing or unreadable model, or a ``model_file`` outside the folder.
    FormatVersionError
        For a folder from a newer embedlab.
    """
    path = Path(path)
    options: Any = {}
    if path.is_file():
        model = path
    else:
        meta_path = path / MANIFEST
        if not meta_path.exists():
            raise InputError(f"{path} holds no tokenizer.json; pass a folder written by BPETokenizer.save or "
                             "`embedlab train bpe -o FOLDER`, or a SentencePiece .model file")
        meta = read_versioned(meta_path, FORMAT, FORMAT_VERSION, "BPE tokenizer", DAMAGED)
        model = member(path, meta.get("model_file", MODEL_FILE), meta_path.name, DAMAGED)
        options = meta.get("options", {})
        if not isinstance(options, dict):
            raise CorruptFileError(f"{meta_path} has \"options\" {options!r}, not an object; {DAMAGED}")
        if not model.is_file():
            raise CorruptFileError(f"{model} is missing; save the tokenizer again")
    try:
        return model.read_bytes(), options, model
    except OSError as exc:
        raise CorruptFileError(f"{model} cannot be read ({exc.strerror}); {DAMAGED}") from None
