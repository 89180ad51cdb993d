"""Reading and writing Vectors: word2vec text/binary, ``.npy`` / safetensors (+ JSON sidecar), TensorBoard
projector TSV, and the pretrained GloVe package. ``load_vectors(path)`` recognises all of them, and the folder a
training command wrote (``embedlab train word2vec|fasttext|glove|textbook -o OUT``): the one loader every command
that takes vectors uses.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..vectors import Vectors
from ._common import refuse_pickle
from .arrays import load_npy, load_safetensors, save_npy, save_safetensors
from .glove import load_glove
from .projector import load_projector, save_projector
from .word2vec import is_binary_word2vec, load_word2vec, save_word2vec

__all__ = [
    "FORMATS", "detect_format", "load_vectors", "load_model_folder", "save_vectors", "load_word2vec", "save_word2vec", "load_npy",
    "save_npy", "load_safetensors", "save_safetensors", "load_projector", "save_projector", "load_glove",
]

FORMATS = ("word2vec", "word2vec-binary", "npy", "safetensors", "projector")
_ALIASES = {"text": "word2vec", "txt": "word2vec", "vec": "word2vec", "w2v": "word2vec", "binary": "word2vec-binary",
            "bin": "word2vec-binary", "word2vec_binary": "word2vec-binary", "tsv": "projector", "st": "safetensors"}
_EXT = {".bin": "word2vec-binary", ".npy": "npy", ".safetensors": "safetensors", ".txt": "word2vec",
        ".vec": "word2vec", ".w2v": "word2vec", ".tsv": "projector"}


def _canonical(format: str) -> str:
    f = _ALIASES.get(format.lower(), format.lower())
    if f not in FORMATS:
        raise InputError(f"unknown vectors format {format!r}; choose one of {', '.join(FORMATS)}")
    return f


def detect_format(path: str | Path) -> str:
    """Guess the format of an existing file or folder (extension first, then content).

    CorruptFileError for a Python pickle (gensim's ``.model`` / ``.kv``), with how to convert it."""
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
    return "word2vec-binary" if is_binary_word2vec(path) else "word2vec"


def load_vectors(path: str | Path, format: str | None = None, mmap: bool = False, **options) -> Vectors:
    """Load Vectors from any supported format; ``format=None`` detects it from the extension and content, and
    reads a training output folder (see ``load_model_folder``)."""
    if not format and Path(path).is_dir() and not (Path(path) / "vectors.tsv").is_file():
        return load_model_folder(path, mmap=mmap, **options)
    fmt = _canonical(format) if format else detect_format(path)
    if fmt == "projector":
        p = Path(path)
        return load_projector(p if p.is_dir() else p.parent, **options)
    if fmt == "npy":
        return load_npy(path, mmap=mmap)
    if fmt == "safetensors":
        return load_safetensors(path, mmap=mmap)
    return load_word2vec(path, binary=fmt == "word2vec-binary", **options)


def load_model_folder(path: str | Path, mmap: bool = False, **options) -> Vectors:
    """The word vectors of a folder written by a training command: a Word2Vec model (``model.json``: its input
    matrix, exactly), a fastText model (``fasttext.json``: each word's composed vector, as ``oov`` uses), or a
    folder holding ``vectors.bin`` / ``vectors.txt`` (as ``train glove`` and ``train textbook`` write; text
    round-trips float32 exactly) / ``vectors.npy`` / ``vectors.safetensors`` / a projector ``vectors.tsv``.
    InputError naming what a folder may hold otherwise."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; pass the -o folder of `embedlab train ...` or a vectors file")
    if (folder / "model.json").is_file():
        from ..train.word2vec import Word2Vec

        return Word2Vec.load(folder).wv
    if (folder / "fasttext.json").is_file():
        from ..train.subword import FastText

        return FastText.load(folder, mmap=mmap).wv
    for name, fmt in (("vectors.bin", "word2vec-binary"), ("vectors.txt", "word2vec"), ("vectors.npy", "npy"),
                      ("vectors.safetensors", "safetensors"), ("vectors.tsv", "projector")):
        if (folder / name).is_file():
            return load_vectors(folder / name, format=fmt, mmap=mmap, **options)
    if (folder / "tokenizer.json").is_file():
        raise InputError(f"{folder} is a BPE tokenizer (`embedlab train bpe`), not vectors; train vectors with it: "
                         f"embedlab train fasttext CORPUS --tokenizer {folder} -o OUT")
    raise InputError(f"{folder} is a folder without vectors: expected the -o folder of `embedlab train word2vec`, "
                     "`train fasttext`, `train glove` or `train textbook` (model.json, fasttext.json or "
                     "vectors.txt/.bin inside), or a projector folder with vectors.tsv")


def save_vectors(vectors: Vectors, path: str | Path, format: str | None = None, **options) -> Path:
    """Save Vectors; ``format=None`` picks it from the extension (``.bin`` binary word2vec, ``.npy``,
    ``.safetensors``, a folder or ``.tsv`` → projector, anything else → word2vec text)."""
    path = Path(path)
    if format:
        fmt = _canonical(format)
    elif path.is_dir() or not path.suffix:
        fmt = "projector" if path.is_dir() else "word2vec"
    else:
        fmt = _EXT.get(path.suffix.lower(), "word2vec")
    if fmt == "projector":
        return save_projector(vectors, path.parent if path.suffix == ".tsv" else path, **options)
    if fmt == "npy":
        return save_npy(vectors, path)
    if fmt == "safetensors":
        return save_safetensors(vectors, path)
    return save_word2vec(vectors, path, binary=fmt == "word2vec-binary")
