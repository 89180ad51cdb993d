"""The folder ``FastText.save`` and ``embedlab train fasttext`` write: word and character n-gram vectors.

    fasttext.json      format "embedlab.fasttext": params (dim, subwords, buckets, lowercase …), words,
                       ngram_rows, loss_history, files {vocab, input, output, ngram_buckets}
    vocab.tsv          the vocabulary (``formats.vocab``; folders of format version 1 hold ``vocab.txt``)
    input.npy          (V + B, dim) float32: V word rows, then one row per used n-gram bucket
    output.npy         (V, dim) float32 negative-sampling output vectors
    ngram_buckets.npy  (B,) int64 the used buckets, sorted

Version 2 names the vocabulary ``vocab.tsv`` as every other training folder does; version 1 folders still read.
The word vectors (``read_keyed``) are composed as fastText's: each word the mean of its word row and n-gram rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..persist import sniff_manifest
from ..subwords import SubwordRows, compose, subword_rows
from .folder import DAMAGED, ArraySpec, read_folder, write_folder
from .keyed import KeyedArrays, keyed
from .vocab import VocabFile

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "FastTextFolder", "read", "read_keyed", "recognises", "write"]

FORMAT = "embedlab.fasttext"
FORMAT_VERSION = 2  # 2: vocab.tsv and a "files" map; 1 (vocab.txt, fixed names) still reads
MANIFEST = "fasttext.json"
_V1_FILES = {"vocab": "vocab.txt", "input": "input.npy", "output": "output.npy", "ngram_buckets": "ngram_buckets.npy"}
_MISSING = "{folder} holds no fasttext.json; pass a folder written by FastText.save or `embedlab train fasttext -o FOLDER`"


@dataclass
class FastTextFolder:
    """A fastText model folder's contents.

    Attributes
    ----------
    params : dict
        The trainer's parameters (``subwords`` as a list ``[minn, maxn]``).
    vocab : VocabFile
    input : numpy.ndarray
        ``(V + B, dim)`` float32.
    output : numpy.ndarray
        ``(V, dim)`` float32.
    rows : SubwordRows
        The vocabulary's rows, rebuilt from the words and checked against the stored buckets.
    loss_history : list of float
    """

    params: dict[str, Any]
    vocab: VocabFile
    input: np.ndarray
    output: np.ndarray
    rows: SubwordRows
    loss_history: list[float] = field(default_factory=list)


def recognises(folder: str | Path) -> bool:
    """Whether ``folder`` holds a fastText model (its manifest names the format; nothing else is read)."""
    return sniff_manifest(Path(folder) / MANIFEST, FORMAT) is not None


def write(folder: Path, params: dict[str, Any], vocab: VocabFile, input: np.ndarray, output: np.ndarray,
          ngram_buckets: np.ndarray, loss_history: list[float]) -> None:
    """Write a model's files into ``folder``, an existing folder the caller publishes (``persist.atomic_folder``).

    Parameters
    ----------
    folder : Path
    params : dict
        The trainer's parameters (JSON-serialisable; ``subwords`` a list).
    vocab : VocabFile
    input, output : numpy.ndarray
        ``(V + B, dim)`` and ``(V, dim)`` float32.
    ngram_buckets : numpy.ndarray
        ``(B,)`` int64.
    loss_history : list of float

    Raises
    ------
    StorageFullError, ReadOnlyStorageError
    """
    write_folder(folder, MANIFEST, FORMAT, FORMAT_VERSION, vocab=vocab,
                 arrays={"input": input, "output": output, "ngram_buckets": ngram_buckets},
                 params=params, words=len(vocab.words), ngram_rows=int(len(ngram_buckets)),
                 loss_history=[float(x) for x in loss_history])


def read(folder: str | Path, mmap: bool = False) -> FastTextFolder:
    """Read a model folder; each matrix's header is checked against the vocabulary and manifest before it is read,
    and the stored buckets against the vocabulary's n-grams.

    Parameters
    ----------
    folder : path-like
    mmap : bool
        Memory-map the matrices read-only.

    Returns
    -------
    FastTextFolder

    Raises
    ------
    CorruptFileError
        Naming the damaged file (or the folder when the buckets do not match the vocabulary).
    FormatVersionError
        For a folder from a newer embedlab.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    n_buckets: dict[str, int] = {}

    def shapes(doc: dict[str, Any], vocab: VocabFile | None) -> dict[str, ArraySpec]:
        try:
            dim = int(doc["params"]["dim"])
            b = n_buckets.setdefault("n", int(doc.get("ngram_rows", -1)))
        except (KeyError, TypeError, ValueError):
            dim = 0
        if dim < 1:
            raise CorruptFileError(f"{path} holds unusable parameters (dim must be a positive integer); {DAMAGED}")
        V = len(vocab.words) if vocab else 0
        return {"ngram_buckets": ArraySpec(np.int64, (-1,)),
                "input": ArraySpec(np.float32, (V + b if b >= 0 else -1, dim)),
                "output": ArraySpec(np.float32, (V, dim))}

    data = read_folder(folder, MANIFEST, FORMAT, FORMAT_VERSION, "fastText model", shapes, mmap=mmap,
                       default_files=_V1_FILES, missing=_MISSING.format(folder=folder))
    doc, arrays = data.manifest, data.arrays
    assert data.vocab is not None
    buckets, inp, out = arrays["ngram_buckets"], arrays["input"], arrays["output"]
    if buckets is None or inp is None or out is None:
        raise CorruptFileError(f"{path} does not name all of input, output and ngram_buckets; {DAMAGED}")
    V = len(data.vocab.words)
    if inp.shape[0] != V + len(buckets):
        raise CorruptFileError(f"{folder / 'input.npy'} holds {inp.shape[0]} rows, expected {V + len(buckets)} "
                               f"({V} words + {len(buckets)} n-gram rows); {DAMAGED}")
    try:
        params = dict(doc["params"])
        minn, maxn = (int(x) for x in params["subwords"])
        rows = subword_rows(data.vocab.words, minn, maxn, int(params["buckets"]))
        history = [float(x) for x in doc.get("loss_history", [])]
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"{path} holds unusable parameters ({exc!r}); {DAMAGED}") from None
    if not np.array_equal(buckets, rows.ngram_buckets):
        raise CorruptFileError(f"{folder}: ngram_buckets.npy does not match the vocabulary's n-grams")
    return FastTextFolder(params, data.vocab, inp, out, rows, history)


def read_keyed(folder: str | Path, mmap: bool = False) -> KeyedArrays:
    """The word vectors of a model folder, composed as fastText's (the mean of each word's word and n-gram rows).

    Raises
    ------
    CorruptFileError, FormatVersionError
        As ``read``; also for repeated words or non-finite rows.
    """
    model = read(folder, mmap=mmap)
    return keyed(model.vocab.words, compose(model.rows, model.input), Path(folder) / "input.npy", "word", 1)
