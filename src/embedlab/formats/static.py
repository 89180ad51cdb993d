"""The folder ``embedlab distill`` (``DistillationTrainer``) writes: a static encoder, one vector per token.

    static.json               format "embedlab.static", format_version 1: dim, vocab_size (the tokenizer's ids),
                              words (whole words added after them), tokenizer {kind, file, lowercase}, special_ids
                              (ids never counted), token_limit (ids from it on were not distilled: not counted either), the teacher {name, dim, fingerprint}, the parameters, the
                              distillation and refinement records, and the size + CRC32 of the embeddings file
    embeddings.safetensors    "embeddings": (vocab_size + words, dim) float16, SIF weights folded in
    sp.model | tokenizer.json the teacher's tokenizer, copied unchanged (SentencePiece, or Hugging Face tokenizers)
    words.txt                 the added words, one per line (row vocab_size + i); absent when there are none

A text's vector is the mean of its tokens' rows (Model2Vec, Tulkens & van Dongen 2024), so reading the folder
needs numpy, safetensors and the tokenizer's own package only. Only light imports here.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..persist import (
    atomic_file,
    check_record,
    file_record,
    member,
    read_text,
    read_versioned,
    sniff_manifest,
    versioned,
    write_json_atomic,
)

__all__ = ["EMBEDDINGS", "FIX", "FORMAT", "FORMAT_VERSION", "KINDS", "MANIFEST", "WORDS", "StaticFolder", "describe",
           "read", "recognises", "write"]

FORMAT = "embedlab.static"
FORMAT_VERSION = 1
MANIFEST = "static.json"
EMBEDDINGS = "embeddings.safetensors"
WORDS = "words.txt"
TENSOR = "embeddings"
#: tokenizer kind -> the file name it is stored under
KINDS = {"sentencepiece": "sp.model", "tokenizers": "tokenizer.json"}
FIX = "distill it again (embedlab distill)"


@dataclass
class StaticFolder:
    """A static encoder folder's contents.

    Attributes
    ----------
    manifest : dict
        ``static.json``.
    embeddings : numpy.ndarray
        ``(vocab_size + len(words), dim)`` float16: one row per token id, then one per added word.
    tokenizer_kind : str
        ``"sentencepiece"`` or ``"tokenizers"``.
    tokenizer_file : Path
        The tokenizer file inside the folder.
    lowercase : bool
        Whether the tokenizer lower-cases (added words are matched lower-cased then).
    words : list of str
        The added whole words.
    special_ids : frozenset of int
        Token ids that are never counted (padding, unknown, control tokens).
    """

    manifest: dict[str, Any]
    embeddings: np.ndarray
    tokenizer_kind: str
    tokenizer_file: Path
    lowercase: bool
    words: list[str]
    special_ids: frozenset[int]

    @property
    def dim(self) -> int:
        """The vectors' width.

        Returns
        -------
        int
            ``embeddings.shape[1]``.
        """
        return int(self.embeddings.shape[1])

    @property
    def vocab_size(self) -> int:
        """The tokenizer's number of ids (rows before the added words).

        Returns
        -------
        int
            From the manifest.
        """
        return int(self.manifest["vocab_size"])


def recognises(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds a static encoder (its ``static.json`` names the format; nothing else is read).

    Parameters
    ----------
    folder : path-like
        A folder.

    Returns
    -------
    bool
        True for a static encoder folder.
    """
    return sniff_manifest(Path(folder) / MANIFEST, FORMAT) is not None


def describe(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of a static folder when it is one, else None (cheap and silent: for listing encoders).

    Parameters
    ----------
    folder : path-like
        A folder.

    Returns
    -------
    dict or None
        ``static.json`` when it names the format.
    """
    return sniff_manifest(Path(folder) / MANIFEST, FORMAT)


def write(folder: Path, embeddings: np.ndarray, tokenizer_kind: str, tokenizer_file: str | os.PathLike[str],
          vocab_size: int, words: list[str], **fields: Any) -> dict[str, Any]:
    """Write a static encoder into ``folder``: the embeddings, the tokenizer copy, the words, then ``static.json``.

    ``folder`` exists and is published by the caller (``persist.atomic_folder``); the manifest is written last.

    Parameters
    ----------
    folder : Path
        The (temporary) output folder.
    embeddings : numpy.ndarray
        ``(vocab_size + len(words), dim)``, stored as float16.
    tokenizer_kind : str
        A key of ``KINDS``.
    tokenizer_file : path-like
        The teacher's tokenizer file, copied in.
    vocab_size : int
        The tokenizer's number of ids.
    words : list of str
        Added whole words (no newlines).
    **fields
        The rest of the manifest: ``tokenizer_lowercase``, ``special_ids``, ``teacher``, ``params``, records.

    Returns
    -------
    dict
        The manifest written.

    Raises
    ------
    ValueError
        For an unknown tokenizer kind, a shape that does not match ``vocab_size + len(words)``, or a word with a
        line break.
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    from safetensors.numpy import save_file

    if tokenizer_kind not in KINDS:
        raise ValueError(f"unknown tokenizer kind {tokenizer_kind!r}; known: {', '.join(KINDS)}")
    emb = np.ascontiguousarray(embeddings, dtype=np.float16)
    if emb.ndim != 2 or emb.shape[0] != vocab_size + len(words):
        raise ValueError(f"embeddings of shape {emb.shape} for {vocab_size} token ids + {len(words)} words")
    if any("\n" in w or "\r" in w or not w for w in words):
        raise ValueError("added words must be non-empty and hold no line breaks")
    save_file({TENSOR: emb}, str(folder / EMBEDDINGS))
    tok_name = KINDS[tokenizer_kind]
    shutil.copyfile(tokenizer_file, folder / tok_name)
    if words:
        with atomic_file(folder / WORDS, "w", encoding="utf-8") as fh:
            fh.write("".join(w + "\n" for w in words))
    lowercase = bool(fields.pop("tokenizer_lowercase", False))
    doc = versioned(FORMAT, FORMAT_VERSION, dim=int(emb.shape[1]), vocab_size=int(vocab_size), words=len(words),
                    tokenizer={"kind": tokenizer_kind, "file": tok_name, "lowercase": lowercase},
                    **fields, files={"embeddings": file_record(folder / EMBEDDINGS)})
    write_json_atomic(folder / MANIFEST, doc)
    return doc


def read(folder: str | os.PathLike[str], deep: bool = False) -> StaticFolder:
    """Read a static encoder folder, checking the embeddings' size, header, dtype and shape before reading them.

    Parameters
    ----------
    folder : path-like
        The folder.
    deep : bool, default False
        Also compare the embeddings file's CRC32 with the manifest's.

    Returns
    -------
    StaticFolder

    Raises
    ------
    CorruptFileError
        When ``static.json`` is missing, damaged or lacks a field, or a file it names is missing, truncated or of
        the wrong shape (naming it).
    FormatVersionError
        For a folder from a newer embedlab.
    ValueError
        Never out of this function (a bad field becomes a CorruptFileError).
    """
    from safetensors import SafetensorError, safe_open

    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise CorruptFileError(f"{folder} holds no {MANIFEST}: it is not a finished `embedlab distill` folder; {FIX}")
    doc = read_versioned(path, FORMAT, FORMAT_VERSION, "static encoder", FIX)
    try:
        dim, vocab_size, n_words = int(doc["dim"]), int(doc["vocab_size"]), int(doc["words"])
        tok = doc["tokenizer"]
        kind, lowercase = str(tok["kind"]), bool(tok.get("lowercase", False))
        limit = int(doc.get("token_limit", vocab_size))
        special = frozenset([*(int(i) for i in doc.get("special_ids", [])), *range(max(limit, 0), vocab_size)])
        record = doc["files"]["embeddings"]
        if kind not in KINDS or dim < 1 or vocab_size < 1 or n_words < 0:
            raise ValueError(f"tokenizer kind {kind!r}, dim {dim}, vocab_size {vocab_size}, words {n_words}")
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"{path} lacks a valid {exc}; {FIX}") from None
    tok_file = member(folder, tok.get("file"), MANIFEST, FIX)
    if not tok_file.is_file():
        raise CorruptFileError(f"{tok_file} is missing; {FIX}")
    emb_path = folder / EMBEDDINGS
    check_record(emb_path, record, deep, FIX)
    rows = vocab_size + n_words
    try:
        with safe_open(str(emb_path), framework="numpy") as fh:
            view = fh.get_slice(TENSOR)
            shape, dtype = tuple(view.get_shape()), view.get_dtype()
            if shape != (rows, dim) or dtype != "F16":
                raise CorruptFileError(f"{emb_path} holds {dtype} {shape}, expected F16 ({rows}, {dim}); {FIX}")
            emb = fh.get_tensor(TENSOR)
    except (OSError, SafetensorError, KeyError) as exc:
        raise CorruptFileError(f"{emb_path} holds no readable {TENSOR!r} tensor ({exc}); {FIX}") from None
    words: list[str] = []
    if n_words:
        words = read_text(folder / WORDS, FIX).split("\n")[:-1]
        if len(words) != n_words:
            raise CorruptFileError(f"{folder / WORDS} has {len(words)} words, the manifest says {n_words}; {FIX}")
    return StaticFolder(doc, emb, kind, tok_file, lowercase, words, special)
