"""The folder ``Cooccurrence.save`` writes: GloVe's co-occurrence counts, to train on again without recounting.

    cooccurrence.json   format "embedlab-cooccurrence", format_version 1: window, distance_weighting, vocab_size,
                        nnz, files {vocab, rows, cols, values}
    vocab.tsv           the vocabulary (``formats.vocab``)
    rows.npy, cols.npy  (nnz,) int32 cell coordinates (upper triangle, row <= col)
    values.npy          (nnz,) float32 weighted counts
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from .folder import ArraySpec, read_folder, write_folder
from .vocab import VocabFile

__all__ = ["FORMAT", "FORMAT_VERSION", "MANIFEST", "CooccurrenceFolder", "read", "write"]

FORMAT = "embedlab-cooccurrence"
FORMAT_VERSION = 1
MANIFEST = "cooccurrence.json"
DAMAGED = "the co-occurrence folder is damaged: count the corpus again"


@dataclass
class CooccurrenceFolder:
    """A co-occurrence folder's contents: the vocabulary, ``rows``/``cols`` (nnz,) int32 and ``values`` (nnz,)
    float32, the ``window`` and whether counts were weighted by 1/distance."""

    vocab: VocabFile
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    window: int
    distance_weighting: bool


def write(folder: Path, data: CooccurrenceFolder) -> None:
    """Write the files into ``folder``, an existing folder the caller publishes (``persist.atomic_folder``).

    Raises
    ------
    StorageFullError, ReadOnlyStorageError
    """
    write_folder(folder, MANIFEST, FORMAT, FORMAT_VERSION, vocab=data.vocab,
                 arrays={"rows": data.rows, "cols": data.cols, "values": data.values},
                 window=int(data.window), distance_weighting=bool(data.distance_weighting),
                 vocab_size=len(data.vocab.words), nnz=int(data.rows.shape[0]))


def read(folder: str | Path, mmap: bool = True) -> CooccurrenceFolder:
    """Read a folder written by ``write`` (arrays memory-mapped by default).

    Raises
    ------
    CorruptFileError
        Naming the file when anything is missing or its size disagrees with the manifest.
    FormatVersionError
        For a folder from a newer embedlab.
    """
    folder = Path(folder)

    def shapes(doc: dict[str, Any], vocab: VocabFile | None) -> dict[str, ArraySpec]:
        if not isinstance(doc.get("nnz"), int) or not isinstance(doc.get("window"), int):
            raise CorruptFileError(f"{folder / MANIFEST} lacks its \"files\", \"nnz\" or \"window\" entries; {DAMAGED}")
        n = doc["nnz"]
        return {"rows": ArraySpec(np.int32, (n,)), "cols": ArraySpec(np.int32, (n,)),
                "values": ArraySpec(np.float32, (n,))}

    data = read_folder(folder, MANIFEST, FORMAT, FORMAT_VERSION, "co-occurrence matrix", shapes, mmap=mmap,
                       missing=f"{folder} holds no cooccurrence.json; pass a folder written by Cooccurrence.save",
                       fix=DAMAGED)
    rows, cols, values = (data.arrays[n] for n in ("rows", "cols", "values"))
    if rows is None or cols is None or values is None or data.vocab is None:
        raise CorruptFileError(f"{folder / MANIFEST} does not name rows, cols and values; {DAMAGED}")
    return CooccurrenceFolder(data.vocab, rows, cols, values, data.manifest["window"],
                              bool(data.manifest.get("distance_weighting", True)))
