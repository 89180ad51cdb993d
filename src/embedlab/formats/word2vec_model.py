"""The folder ``Word2Vec.save`` and ``embedlab train word2vec`` write: the whole model, to read back or train more.

    model.json   format "embedlab-word2vec", format_version 1: params, vocab_size, dim, epochs_trained,
                 loss_history, words_per_sec, corpus_tokens, files {vocab, W, W_out, W_hs}
    vocab.tsv    the vocabulary (``formats.vocab``)
    W.npy        (V, dim) float32 input vectors — the word vectors
    W_out.npy    (V, dim) float32 negative-sampling output vectors (when negative > 0)
    W_hs.npy     (V, dim) float32 hierarchical-softmax inner nodes (when hs)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..persist import sniff_manifest
from .folder import DAMAGED, ArraySpec, read_folder, write_folder
from .keyed import KeyedArrays, keyed
from .vocab import VocabFile

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "Word2VecFolder", "read", "read_keyed", "recognises", "write"]

FORMAT = "embedlab-word2vec"
FORMAT_VERSION = 1
MANIFEST = "model.json"
_MISSING = "{folder} holds no model.json; pass a folder written by Word2Vec.save or `embedlab train word2vec`"


@dataclass
class Word2VecFolder:
    """A Word2Vec model folder's contents.

    Attributes
    ----------
    params : dict
        The trainer's constructor parameters.
    vocab : VocabFile
        Words, most frequent first, and counts.
    W : numpy.ndarray
        ``(V, dim)`` float32 input vectors.
    W_out, W_hs : numpy.ndarray or None
        ``(V, dim)`` float32 output vectors (negative sampling) and inner nodes (hierarchical softmax).
    epochs_trained : int
    loss_history : list of float
    words_per_sec : float or None
    corpus_tokens : int or None
    """

    params: dict[str, Any]
    vocab: VocabFile
    W: np.ndarray
    W_out: np.ndarray | None = None
    W_hs: np.ndarray | None = None
    epochs_trained: int = 0
    loss_history: list[float] = field(default_factory=list)
    words_per_sec: float | None = None
    corpus_tokens: int | None = None


def recognises(folder: str | Path) -> bool:
    """Whether ``folder`` holds a Word2Vec model (its manifest names the format; nothing else is read)."""
    return sniff_manifest(Path(folder) / MANIFEST, FORMAT) is not None


def write(folder: Path, model: Word2VecFolder) -> None:
    """Write a model's files into ``folder``, an existing folder the caller publishes (``persist.atomic_folder``).

    Parameters
    ----------
    folder : Path
        Existing folder.
    model : Word2VecFolder

    Raises
    ------
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    write_folder(folder, MANIFEST, FORMAT, FORMAT_VERSION, vocab=model.vocab,
                 arrays={"W": model.W, "W_out": model.W_out, "W_hs": model.W_hs},
                 params=model.params, vocab_size=len(model.vocab.words), dim=int(model.W.shape[1]),
                 epochs_trained=int(model.epochs_trained), loss_history=[float(x) for x in model.loss_history],
                 words_per_sec=model.words_per_sec, corpus_tokens=model.corpus_tokens)


def read(folder: str | Path, mmap: bool = False) -> Word2VecFolder:
    """Read a model folder; each matrix's header is checked against the vocabulary before it is read.

    Parameters
    ----------
    folder : path-like
    mmap : bool
        Memory-map the matrices read-only.

    Returns
    -------
    Word2VecFolder

    Raises
    ------
    CorruptFileError
        Naming the file for a missing or damaged ``model.json``, vocabulary or matrix.
    FormatVersionError
        For a folder from a newer embedlab.
    """
    folder = Path(folder)

    def shapes(doc: dict[str, Any], vocab: VocabFile | None) -> dict[str, ArraySpec]:
        if not isinstance(doc.get("params"), dict):
            raise CorruptFileError(f"{folder / MANIFEST} lacks its \"params\" or \"files\" object; {DAMAGED}")
        try:
            dim = int(doc["params"]["dim"])
        except (KeyError, TypeError, ValueError):
            dim = 0
        if dim < 1:
            raise CorruptFileError(f"{folder / MANIFEST} holds unusable parameters (dim must be a positive integer, "
                                   f"got {doc['params'].get('dim')!r}); {DAMAGED}")
        shape = (len(vocab.words) if vocab else 0, dim)
        return {name: ArraySpec(np.float32, shape) for name in ("W", "W_out", "W_hs")}

    data = read_folder(folder, MANIFEST, FORMAT, FORMAT_VERSION, "Word2Vec model", shapes, mmap=mmap,
                       missing=_MISSING.format(folder=folder))
    doc, arrays = data.manifest, data.arrays
    if arrays["W"] is None:
        raise CorruptFileError(f"{folder / MANIFEST} names no input matrix \"W\"; {DAMAGED}")
    assert data.vocab is not None
    try:
        return Word2VecFolder(
            params=doc["params"], vocab=data.vocab, W=arrays["W"], W_out=arrays["W_out"], W_hs=arrays["W_hs"],
            epochs_trained=int(doc.get("epochs_trained", 0)),
            loss_history=[float(x) for x in doc.get("loss_history", [])],
            words_per_sec=None if doc.get("words_per_sec") is None else float(doc["words_per_sec"]),
            corpus_tokens=None if doc.get("corpus_tokens") is None else int(doc["corpus_tokens"]))
    except (TypeError, ValueError) as exc:
        raise CorruptFileError(f"{folder / MANIFEST} holds an unusable training record ({exc}); {DAMAGED}") from None


def read_keyed(folder: str | Path, mmap: bool = False) -> KeyedArrays:
    """The word vectors of a model folder: its vocabulary and input matrix ``W`` exactly.

    Raises
    ------
    CorruptFileError, FormatVersionError
        As ``read``; also for repeated words or non-finite rows.
    """
    model = read(folder, mmap=mmap)
    return keyed(model.vocab.words, model.W, Path(folder) / "W.npy", "row", 1,
                 keys_path=Path(folder) / "vocab.tsv")
