"""Reading and writing Vectors: word2vec text/binary, ``.npy`` / safetensors (+ JSON sidecar), TensorBoard
projector TSV, the folder a training command wrote, and the pretrained GloVe package.

``load_vectors(path)`` recognises all of them: the one loader every command that takes vectors uses. The file
formats themselves live in ``embedlab.formats`` (which reads plain keys + arrays); this module gives them back
as ``embedlab.Vectors``. Writers take a ``Vectors`` (or anything with ``keys`` and ``matrix``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..formats import FORMATS, Keyed, arrays, detect_format, projector, read_model_folder, word2vec, write_any
from ..formats.word2vec import is_binary_word2vec
from ..vectors import Vectors
from .glove import load_glove

__all__ = [
    "FORMATS", "detect_format", "load_vectors", "load_model_folder", "save_vectors", "load_word2vec", "save_word2vec",
    "load_npy", "save_npy", "load_safetensors", "save_safetensors", "load_projector", "save_projector", "load_glove",
    "is_binary_word2vec",
]


def load_vectors(path: str | Path, format: str | None = None, mmap: bool = False, **options: Any) -> Vectors:
    """Load Vectors from any supported file or training folder; see ``Vectors.load``."""
    return Vectors.load(path, format=format, mmap=mmap, **options)


def load_model_folder(path: str | Path, mmap: bool = False, **options: Any) -> Vectors:
    """The word vectors of a folder written by a training command (``formats.read_model_folder``)."""
    return Vectors(*read_model_folder(path, mmap=mmap, **options))


def save_vectors(vectors: Keyed, path: str | Path, format: str | None = None, **options: Any) -> Path:
    """Save Vectors; ``format=None`` picks it from the extension (``formats.write_any``)."""
    return write_any(vectors, path, format=format, **options)


def load_word2vec(path: str | Path, binary: bool | None = None, limit: int | None = None, encoding: str = "utf-8",
                  unicode_errors: str = "strict") -> Vectors:
    """A word2vec text or binary file as Vectors (``formats.word2vec.read``)."""
    return Vectors(*word2vec.read(path, binary=binary, limit=limit, encoding=encoding, unicode_errors=unicode_errors))


def save_word2vec(vectors: Keyed, path: str | Path, binary: bool = False) -> Path:
    """Write the word2vec text (or ``binary=True``) format (``formats.word2vec.write``)."""
    return word2vec.write(vectors, path, binary=binary)


def load_npy(path: str | Path, mmap: bool = False) -> Vectors:
    """A ``.npy`` matrix and its key sidecar as Vectors (``formats.arrays.read_npy``)."""
    return Vectors(*arrays.read_npy(path, mmap=mmap))


def save_npy(vectors: Keyed, path: str | Path) -> Path:
    """Write a ``.npy`` matrix and its key sidecar (``formats.arrays.write_npy``)."""
    return arrays.write_npy(vectors, path)


def load_safetensors(path: str | Path, mmap: bool = False) -> Vectors:
    """A safetensors matrix and its key sidecar as Vectors (``formats.arrays.read_safetensors``)."""
    return Vectors(*arrays.read_safetensors(path, mmap=mmap))


def save_safetensors(vectors: Keyed, path: str | Path) -> Path:
    """Write a safetensors matrix and its key sidecar (``formats.arrays.write_safetensors``)."""
    return arrays.write_safetensors(vectors, path)


def load_projector(folder: str | Path, with_metadata: bool = False) -> Vectors | tuple[Vectors, dict[str, list[str]]]:
    """A TensorBoard projector folder as Vectors, with its metadata columns when ``with_metadata``."""
    if with_metadata:
        keyed, meta = projector.read(folder, with_metadata=True)
        return Vectors(*keyed), meta
    return Vectors(*projector.read(folder))


def save_projector(vectors: Keyed, folder: str | Path, metadata: dict[str, list[Any]] | None = None) -> Path:
    """Write a TensorBoard projector folder (``formats.projector.write``)."""
    return projector.write(vectors, folder, metadata=metadata)
