"""Which format a vectors file or folder is in, and reading or writing any of them by one call.

Files: word2vec text / binary, ``.npy`` and ``.safetensors`` (+ JSON key sidecar), TensorBoard projector TSV.
Folders: a projector folder (``vectors.tsv``), or the output folder of a training command — Word2Vec
(``model.json``: its input matrix exactly), fastText (``fasttext.json``: each word's composed vector), GloVe
(``glove.json``: W + W̃), or any folder holding ``vectors.bin`` / ``.txt`` / ``.npy`` / ``.safetensors`` /
``.tsv`` (as ``train glove`` and ``train textbook`` write beside their model). Everything here returns
``KeyedArrays``; ``embedlab.Vectors.load`` and ``embedlab.load_vectors`` wrap them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InputError
from . import arrays, fasttext_model, glove_model, projector, word2vec, word2vec_model
from .keyed import Keyed, KeyedArrays, refuse_pickle

__all__ = ["FORMATS", "canonical", "detect_format", "read_any", "read_model_folder", "write_any"]

FORMATS = ("word2vec", "word2vec-binary", "npy", "safetensors", "projector")
_ALIASES = {"text": "word2vec", "txt": "word2vec", "vec": "word2vec", "w2v": "word2vec", "binary": "word2vec-binary",
            "bin": "word2vec-binary", "word2vec_binary": "word2vec-binary", "tsv": "projector", "st": "safetensors"}
_EXT = {".bin": "word2vec-binary", ".npy": "npy", ".safetensors": "safetensors", ".txt": "word2vec",
        ".vec": "word2vec", ".w2v": "word2vec", ".tsv": "projector"}


def canonical(format: str) -> str:
    """The canonical name of a vectors format or one of its aliases (``txt``, ``bin``, ``tsv`` …).

    Raises
    ------
    InputError
        For an unknown name (listing the formats).
    """
    f = _ALIASES.get(format.lower(), format.lower())
    if f not in FORMATS:
        raise InputError(f"unknown vectors format {format!r}; choose one of {', '.join(FORMATS)}")
    return f


def detect_format(path: str | Path) -> str:
    """Guess the format of an existing file or folder (extension first, then content).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    str
        One of ``FORMATS``.

    Raises
    ------
    InputError
        For a missing path, or a folder without ``vectors.tsv``.
    CorruptFileError
        For a Python pickle (gensim's ``.model`` / ``.kv``), with how to convert it.
    """
    path = Path(path)
    if path.is_dir():
        if (path / "vectors.tsv").is_file():
            return "projector"
        raise InputError(f"{path} is a folder without vectors.tsv; point to a vectors file instead")
    if not path.exists():
        raise InputError(f"no vectors file at {path}; check the path")
    if path.name == "vectors.tsv":
        return "projector"
    ext = path.suffix.lower()
    if ext in (".npy", ".safetensors"):
        return _EXT[ext]
    refuse_pickle(path)  # gensim's own .model / .kv: say how to convert, not how to decode
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic[:6] == b"\x93NUMPY":
        return "npy"
    return "word2vec-binary" if word2vec.is_binary_word2vec(path) else "word2vec"


def read_any(path: str | Path, format: str | None = None, mmap: bool = False, **options: Any) -> KeyedArrays:
    """Read keyed vectors from any supported file, or from a training output folder (``format=None``).

    Parameters
    ----------
    path : path-like
        A vectors file or a folder.
    format : str, optional
        One of ``FORMATS`` (or an alias); None detects it from the extension and content.
    mmap : bool
        Memory-map the matrix read-only where the format allows (npy, safetensors, training folders).
    **options
        Passed to the format's reader (word2vec: ``limit``, ``encoding``, ``unicode_errors``; projector:
        ``with_metadata`` is not accepted here).

    Returns
    -------
    KeyedArrays
        Keys and a float32 ``(n, d)`` matrix.

    Raises
    ------
    InputError
        For a missing path, an unknown format, or a folder that holds no vectors.
    CorruptFileError, NonFiniteError, FormatVersionError
        For a damaged file (naming it and the line or byte offset).
    """
    if not format and Path(path).is_dir() and not (Path(path) / "vectors.tsv").is_file():
        return read_model_folder(path, mmap=mmap, **options)
    fmt = canonical(format) if format else detect_format(path)
    if fmt == "projector":
        p = Path(path)
        out = projector.read(p if p.is_dir() else p.parent, **options)
        assert isinstance(out, KeyedArrays)
        return out
    if fmt == "npy":
        return arrays.read_npy(path, mmap=mmap)
    if fmt == "safetensors":
        return arrays.read_safetensors(path, mmap=mmap)
    return word2vec.read(path, binary=fmt == "word2vec-binary", **options)


def read_model_folder(path: str | Path, mmap: bool = False, **options: Any) -> KeyedArrays:
    """The word vectors of a folder written by a training command (see the module docstring).

    Raises
    ------
    InputError
        When ``path`` is not a folder, is a BPE tokenizer folder (saying how to train vectors with it), or holds
        none of the files a training folder has (naming them).
    CorruptFileError, FormatVersionError
        For a damaged folder.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; pass the -o folder of `embedlab train ...` or a vectors file")
    if (folder / word2vec_model.MANIFEST).is_file():
        return word2vec_model.read_keyed(folder, mmap=mmap)
    if (folder / fasttext_model.MANIFEST).is_file():
        return fasttext_model.read_keyed(folder, mmap=mmap)
    for name, fmt in (("vectors.bin", "word2vec-binary"), ("vectors.txt", "word2vec"), ("vectors.npy", "npy"),
                      ("vectors.safetensors", "safetensors"), ("vectors.tsv", "projector")):
        if (folder / name).is_file():
            return read_any(folder / name, format=fmt, mmap=mmap, **options)
    if (folder / glove_model.MANIFEST).is_file():
        return glove_model.read_keyed(folder)
    if (folder / "tokenizer.json").is_file():
        raise InputError(f"{folder} is a BPE tokenizer (`embedlab train bpe`), not vectors; train vectors with it: "
                         f"embedlab train fasttext CORPUS --tokenizer {folder} -o OUT")
    raise InputError(f"{folder} is a folder without vectors: expected the -o folder of `embedlab train word2vec`, "
                     "`train fasttext`, `train glove` or `train textbook` (model.json, fasttext.json, glove.json "
                     "or vectors.txt/.bin inside), or a projector folder with vectors.tsv")


def write_any(vectors: Keyed, path: str | Path, format: str | None = None, **options: Any) -> Path:
    """Write keyed vectors; ``format=None`` picks it from the extension (``.txt``/``.vec``/``.w2v`` word2vec text,
    ``.bin`` binary word2vec, ``.npy``, ``.safetensors``, a folder or ``.tsv`` → projector, no extension → word2vec
    text); any other extension is refused rather than guessed.

    Parameters
    ----------
    vectors : Keyed
        ``Vectors`` or ``KeyedArrays``: keys and a ``(n, d)`` matrix.
    path : path-like
    format : str, optional
    **options
        Passed to the writer (projector: ``metadata``).

    Returns
    -------
    Path
        What was written (the folder for a projector).

    Raises
    ------
    InputError
        For an unknown format or extension, or keys the format cannot hold (spaces in word2vec, tabs in TSV).
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    path = Path(path)
    if format:
        fmt = canonical(format)
    elif path.is_dir() or not path.suffix:
        fmt = "projector" if path.is_dir() else "word2vec"
    elif path.suffix.lower() in _EXT:
        fmt = _EXT[path.suffix.lower()]
    else:  # "x.parquet" once became word2vec text that nothing could read back as Parquet
        raise InputError(f"{path.name}: no vectors format is written as {path.suffix!r}; name the file .txt/.vec "
                         f"(word2vec), .bin, .npy, .safetensors or .tsv, or pass format= (one of {', '.join(FORMATS)})")
    if fmt == "projector":
        return projector.write(vectors, path.parent if path.suffix == ".tsv" else path, **options)
    if fmt == "npy":
        return arrays.write_npy(vectors, path)
    if fmt == "safetensors":
        return arrays.write_safetensors(vectors, path)
    return word2vec.write(vectors, path, binary=fmt == "word2vec-binary")
