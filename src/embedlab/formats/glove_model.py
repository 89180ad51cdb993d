"""The folder ``GloVe.save`` and ``embedlab train glove`` write.

    glove.json   format "embedlab-glove", format_version 1: params, vocab_size, dim, loss_history,
                 cooccurrence_nnz, train_seconds, files {vocab, W, W_ctx, b, b_ctx}
    vocab.tsv    the vocabulary (``formats.vocab``)
    W.npy, W_ctx.npy   (V, dim) float32 word and context vectors
    b.npy, b_ctx.npy   (V,) float32 biases

The word vectors are ``W + W_ctx`` (Pennington et al. 2014's output), which ``read_keyed`` returns.
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

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "GloVeFolder", "read", "read_keyed", "recognises", "write"]

FORMAT = "embedlab-glove"
FORMAT_VERSION = 1
MANIFEST = "glove.json"
ARRAYS = ("W", "W_ctx", "b", "b_ctx")
_MISSING = "{folder} holds no glove.json; pass a folder written by GloVe.save or `embedlab train glove`"


@dataclass
class GloVeFolder:
    """A GloVe model folder's contents.

    Attributes
    ----------
    params : dict
        The trainer's parameters.
    vocab : VocabFile
    arrays : dict of str to numpy.ndarray
        ``W``, ``W_ctx`` ``(V, dim)`` and ``b``, ``b_ctx`` ``(V,)``, float32.
    loss_history : list of float
    cooccurrence_nnz : int or None
    train_seconds : float or None
    """

    params: dict[str, Any]
    vocab: VocabFile
    arrays: dict[str, np.ndarray]
    loss_history: list[float] = field(default_factory=list)
    cooccurrence_nnz: int | None = None
    train_seconds: float | None = None


def recognises(folder: str | Path) -> bool:
    """Whether ``folder`` holds a GloVe model (its manifest names the format; nothing else is read)."""
    return sniff_manifest(Path(folder) / MANIFEST, FORMAT) is not None


def write(folder: Path, model: GloVeFolder) -> None:
    """Write a model's files into ``folder``, an existing folder the caller publishes (``persist.atomic_folder``).

    Raises
    ------
    StorageFullError, ReadOnlyStorageError
    """
    write_folder(folder, MANIFEST, FORMAT, FORMAT_VERSION, vocab=model.vocab,
                 arrays={name: model.arrays[name] for name in ARRAYS},
                 params=model.params, vocab_size=len(model.vocab.words), dim=int(model.arrays["W"].shape[1]),
                 loss_history=[float(x) for x in model.loss_history], cooccurrence_nnz=model.cooccurrence_nnz,
                 train_seconds=model.train_seconds)


def read(folder: str | Path) -> GloVeFolder:
    """Read a model folder; each array's header is checked against the vocabulary before it is read.

    Returns
    -------
    GloVeFolder

    Raises
    ------
    CorruptFileError
        Naming the file for a missing or damaged manifest, vocabulary or array.
    FormatVersionError
        For a folder from a newer embedlab.
    """
    folder = Path(folder)

    def shapes(doc: dict[str, Any], vocab: VocabFile | None) -> dict[str, ArraySpec]:
        if not isinstance(doc.get("params"), dict):
            raise CorruptFileError(f"{folder / MANIFEST} lacks its \"params\" or \"files\" object; {DAMAGED}")
        try:
            d = int(doc["params"]["dim"])
        except (KeyError, TypeError, ValueError):
            d = 0
        if d < 1:
            raise CorruptFileError(f"{folder / MANIFEST} holds unusable parameters (dim must be a positive integer, "
                                   f"got {doc['params'].get('dim')!r}); {DAMAGED}")
        v = len(vocab.words) if vocab else 0
        return {"W": ArraySpec(np.float32, (v, d)), "W_ctx": ArraySpec(np.float32, (v, d)),
                "b": ArraySpec(np.float32, (v,)), "b_ctx": ArraySpec(np.float32, (v,))}

    data = read_folder(folder, MANIFEST, FORMAT, FORMAT_VERSION, "GloVe model", shapes,
                       missing=_MISSING.format(folder=folder))
    arrays = {}
    for name in ARRAYS:
        arr = data.arrays[name]
        if arr is None:
            raise CorruptFileError(f"{folder / MANIFEST} names no array {name!r}; {DAMAGED}")
        arrays[name] = np.ascontiguousarray(arr)
    doc = data.manifest
    assert data.vocab is not None
    try:
        return GloVeFolder(doc["params"], data.vocab, arrays, [float(x) for x in doc.get("loss_history", [])],
                           doc.get("cooccurrence_nnz"), doc.get("train_seconds"))
    except (TypeError, ValueError) as exc:
        raise CorruptFileError(f"{folder / MANIFEST} holds an unusable training record ({exc}); {DAMAGED}") from None


def read_keyed(folder: str | Path) -> KeyedArrays:
    """The word vectors of a model folder: ``W + W_ctx`` keyed by its vocabulary.

    Raises
    ------
    CorruptFileError, FormatVersionError
        As ``read``; also for repeated words or non-finite rows.
    """
    model = read(folder)
    return keyed(model.vocab.words, model.arrays["W"] + model.arrays["W_ctx"], Path(folder) / "W.npy", "row", 1,
                 keys_path=Path(folder) / "vocab.tsv")
