"""Encoders fine-tuned with ``embedlab finetune``, loaded from their folder by path.

``train/finetuning/`` trains them; the folder is ``formats.finetuned``.

- ``method="adapter"``: ``AdaptedEncoder`` — the base encoder (rebuilt by name, checked by fingerprint) followed by
  the learned matrix; queries and documents pass through it, or only queries when it was trained that way.
- ``method="full"``: ``FullFinetunedEncoder`` — the saved sentence-transformers folder, run as ``minilm`` runs.

Either way the encoder's ``name`` is the folder's absolute path (so ``--encoder PATH`` works everywhere and a
collection built with it reopens by that name), its fingerprint differs from the base's, and ``matryoshka_dims``
lists the widths it was trained to give when it was trained with Matryoshka.

    >>> enc = load_finetuned("out/")          # or embedlab.encoder("/abs/path/out")
    >>> enc.encode_queries(["빠른 기차"]), enc.encode_documents(["A fast train"])
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, EmbedlabError, EncoderMismatchError, ModelNotFoundError
from ..formats.finetuned import MANIFEST, base_languages, load_matrix, read_manifest, recognises
from ..metrics import normalize as _normalize
from .base import Encoder, TokenVocabulary
from .registry import EncoderSpec, register_folder

__all__ = ["AdaptedEncoder", "FullFinetunedEncoder", "load_finetuned", "folder_spec"]


def _check_base(folder: Path, base: dict[str, Any]) -> None:
    """Check at load time that the base encoder can be built here.

    Raises
    ------
    ModelNotFoundError
        When the base encoder is unknown here or its dependencies are missing.
    """
    from .registry import spec

    try:
        s = spec(base["name"])
    except EmbedlabError as exc:
        raise ModelNotFoundError(f"{folder} is an adapter on top of encoder {base['name']!r}, which is not available "
                                 f"here ({exc}); install it (or restore its folder) and try again") from None
    if s.missing():
        raise ModelNotFoundError(f"{folder} is an adapter on top of encoder {base['name']!r}, which needs "
                                 f"{', '.join(s.missing())}: {s.install_command(s.missing())}")


def _base_encoder(folder: Path, base: dict[str, Any]) -> Encoder:
    """The base encoder from the registry, checked against the fingerprint recorded at training.

    Raises
    ------
    ModelNotFoundError
        When it cannot be built here.
    EncoderMismatchError
        When its fingerprint differs from the recorded one.
    """
    from .registry import encoder as build

    try:
        enc = build(base["name"])
    except EmbedlabError as exc:
        raise ModelNotFoundError(f"{folder} is an adapter on top of encoder {base['name']!r}, which cannot be loaded "
                                 f"here ({exc}); install it (or restore its folder) and try again") from None
    if base.get("fingerprint") and enc.fingerprint != base["fingerprint"]:
        raise EncoderMismatchError(f"{folder} was trained on {base['name']!r} with fingerprint {base['fingerprint']}, "
                                   f"but the installed one has {enc.fingerprint}; its vectors would not match — "
                                   "install that model version or fine-tune again")
    return enc


class AdaptedEncoder(Encoder):
    """A frozen base encoder followed by a learned linear map (see the module docstring).

    The map is a float32 ``(base dim, dim)`` matrix; queries and documents pass through it, or only queries when
    it was trained with ``apply_to="queries"`` (then the encoder is ``asymmetric``). Learned at training, read
    from the folder: ``matrix``, ``manifest``, ``apply_to``, ``matryoshka_dims``.

    Parameters
    ----------
    folder : str or path-like
        A folder written by ``embedlab finetune --method adapter``; the encoder's ``name`` is its absolute path.

    Raises
    ------
    ModelNotFoundError
        When the folder has no ``finetune.json``, holds a full fine-tune, or its base encoder cannot be built here.
    CorruptFileError, FormatVersionError
        For a damaged or newer folder.
    """

    modalities = ("text",)
    metric = "cosine"

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder).expanduser().resolve()
        if not (folder / MANIFEST).is_file():
            raise ModelNotFoundError(f"{folder} has no {MANIFEST}: it is not an `embedlab finetune` folder")
        self.folder = folder
        self.manifest = read_manifest(folder)
        if self.manifest["method"] != "adapter":
            raise ModelNotFoundError(f"{folder} holds a full fine-tune; load it with load_finetuned()")
        self.matrix = load_matrix(folder, self.manifest)
        _check_base(folder, self.manifest["base"])
        self.languages = base_languages(self.manifest)  # an adapter reads what its base reads
        self._base: Encoder | None = None  # built on first use: the registry may be building this encoder now
        self.apply_to = self.manifest.get("adapter", {}).get("apply_to", "both")
        self.asymmetric = self.apply_to == "queries" or bool(self.manifest.get("base_asymmetric"))
        self.name = str(folder)
        self.dim = int(self.matrix.shape[1])
        self.max_length = None
        dims = self.manifest.get("matryoshka_dims") or []
        self.matryoshka_dims: tuple[int, ...] | None = tuple(int(d) for d in dims) or None
        self._fp: str | None = None

    @property
    def base(self) -> Encoder:
        """The base encoder, from the registry, checked against the fingerprint recorded at training.

        Returns
        -------
        Encoder
            Built on first use and shared.

        Raises
        ------
        ModelNotFoundError
            When it cannot be built here.
        EncoderMismatchError
            When its fingerprint differs from the recorded one.
        """
        if self._base is None:
            self._base = _base_encoder(self.folder, self.manifest["base"])
            self.max_length = self._base.max_length
        return self._base

    @property
    def metrics(self) -> dict[str, Any]:
        """The before / after evaluation recorded when it was trained.

        Returns
        -------
        dict
            A copy of the manifest's ``metrics`` (empty when none were recorded).
        """
        return dict(self.manifest.get("metrics", {}))

    def _mapped(self, vecs: np.ndarray, normalize: bool) -> np.ndarray:
        """``vecs @ matrix``, normalised when asked.

        Raises
        ------
        CorruptFileError
            When the map produced NaN or infinity (damaged weights).
        """
        out = np.asarray(vecs, dtype=np.float32) @ self.matrix
        if not np.isfinite(out).all():
            raise CorruptFileError(f"{self.folder}: the adapter produced NaN/inf vectors; its weights are damaged")
        return _normalize(out, inplace=True) if normalize else out

    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        vecs = self.base.encode_documents(items, batch_size=max(len(items), 1))
        return self._mapped(vecs, False) if self.apply_to == "both" else np.asarray(vecs, np.float32)

    def encode_documents(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
                         normalize: bool = True, **kw: Any) -> np.ndarray:
        """Encode documents: the base's document vectors, through the map unless it was trained for queries only.

        Parameters
        ----------
        items : sequence or str
            The documents; one string is one document.
        batch_size : int, default 64
            Items per base call.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.
        **kw
            Accepted and ignored (other encoders' role options).

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per document.

        Raises
        ------
        InputError
            For an empty list or an item the base cannot take.
        CorruptFileError
            When the map produced NaN or infinity.
        """
        return self.encode(items, batch_size=batch_size, progress=progress, normalize=normalize)

    def encode_queries(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
                       normalize: bool = True, **kw: Any) -> np.ndarray:
        """Encode queries: the base's query vectors, through the map.

        Parameters
        ----------
        items : sequence or str
            The queries; one string is one query.
        batch_size : int, default 64
            Items per base call.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.
        **kw
            Accepted and ignored (other encoders' role options).

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per query.

        Raises
        ------
        InputError
            For an empty list or an item the base cannot take.
        CorruptFileError
            When the map produced NaN or infinity.
        """
        if isinstance(items, str):
            items = [items]
        vecs = self.base.encode_queries(self.validate(list(items)), batch_size=batch_size, progress=progress)
        return self._mapped(vecs, normalize)

    def _fingerprint_source(self) -> str:
        if self._fp is None:
            rec = self.manifest.get("weights", {})
            base = hashlib.sha256(str(self.manifest["base"].get("fingerprint")).encode()).hexdigest()[:12]
            self._fp = f"finetune-adapter:{rec.get('crc32')}:{rec.get('bytes')}:{base}"
        return self._fp

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus how it was fine-tuned.

        Returns
        -------
        dict
            Also ``kind`` (``"finetune-adapter"``), ``base``, ``apply_to`` and ``matryoshka_dims``.
        """
        return {**super().info(), "kind": "finetune-adapter", "base": self.manifest["base"]["name"],
                "apply_to": self.apply_to, "matryoshka_dims": list(self.matryoshka_dims or [])}


class FullFinetunedEncoder(Encoder):
    """A fully fine-tuned sentence-transformers model written by ``embedlab finetune --method full``.

    Run through the ``minilm`` encoder's code (``SBERTEncoder``) on the saved folder.

    Parameters
    ----------
    folder : str or path-like
        The fine-tune folder; the encoder's ``name`` is its absolute path.
    threads : int, optional
        torch's intra-op threads (set process-wide).

    Raises
    ------
    ModelNotFoundError
        When the folder or its model files are missing.
    CorruptFileError, FormatVersionError
        For a damaged weights file or manifest, or a newer folder.
    MissingDependencyError
        When sentence-transformers or torch is not installed.
    """

    modalities = ("text",)
    metric = "cosine"

    def __init__(self, folder: str | Path, threads: int | None = None) -> None:
        folder = Path(folder).expanduser().resolve()
        self.folder = folder
        self.manifest = read_manifest(folder)
        weights = folder / "model.safetensors"
        if weights.is_file():
            _check_safetensors(weights)
        from .sbert import SBERTEncoder  # here, not at import: the registry must meet finetune.json first

        try:
            self.model_encoder = SBERTEncoder(model_path=folder, threads=threads)
        except EmbedlabError:
            raise
        except Exception as exc:  # torch/safetensors raise many kinds on damaged files
            raise CorruptFileError(f"{folder}: the fine-tuned model cannot be loaded ({type(exc).__name__}: "
                                   f"{exc}); train it again with `embedlab finetune`") from None
        self.name = str(folder)
        self.languages = base_languages(self.manifest)  # fine-tuning keeps the base's vocabulary and languages
        self.dim = int(self.model_encoder.dim)
        self.max_length = self.model_encoder.max_length
        dims = self.manifest.get("matryoshka_dims") or []
        self.matryoshka_dims: tuple[int, ...] | None = tuple(int(d) for d in dims) or None

    @property
    def model(self) -> Any:
        """The underlying ``SentenceTransformer``.

        Returns
        -------
        sentence_transformers.SentenceTransformer
            The loaded model.
        """
        return self.model_encoder.model

    @property
    def metrics(self) -> dict[str, Any]:
        """The before / after evaluation recorded when it was trained.

        Returns
        -------
        dict
            A copy of the manifest's ``metrics`` (empty when none were recorded).
        """
        return dict(self.manifest.get("metrics", {}))

    def transformers_folder(self) -> Path | None:
        """The saved sentence-transformers folder (it can be fine-tuned again).

        Returns
        -------
        Path
            The fine-tune folder.
        """
        return self.folder

    def token_vocabulary(self) -> TokenVocabulary | None:
        """The fine-tuned model's vocabulary, embedded through it (``embedlab distill``).

        Returns
        -------
        TokenVocabulary or None
            That of the underlying sentence-transformers model.
        """
        return self.model_encoder.token_vocabulary()

    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        return self.model_encoder.encode(items, batch_size=max(len(items), 1), normalize=False)

    def _fingerprint_source(self) -> str:
        return "finetune-full:" + hashlib.sha256(self.model_encoder.fingerprint.encode()).hexdigest()[:16]

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus how it was fine-tuned.

        Returns
        -------
        dict
            Also ``kind`` (``"finetune-full"``), ``base``, ``model_path`` and ``matryoshka_dims``.
        """
        return {**super().info(), "kind": "finetune-full", "base": self.manifest["base"]["name"],
                "model_path": str(self.folder), "matryoshka_dims": list(self.matryoshka_dims or [])}


def _check_safetensors(path: Path) -> None:
    """A cheap structural check of a safetensors file (header length and JSON), before torch reads it.

    Raises
    ------
    CorruptFileError
        When the header does not fit the file or the tensors do not end where the file does.
    """
    import json
    import struct

    problem: str | None = None
    try:
        with path.open("rb") as fh:
            raw = fh.read(8)
            (n,) = struct.unpack("<Q", raw)
            size = path.stat().st_size
            if n <= 0 or n > size - 8:
                problem = f"header length {n} does not fit the {size}-byte file"
            else:
                header = json.loads(fh.read(n))
        if problem is None:
            end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
            if 8 + n + end != size:
                problem = f"tensors end at byte {8 + n + end}, the file has {size}"
    except (OSError, ValueError, struct.error, KeyError, TypeError) as exc:
        problem = str(exc)
    if problem is not None:
        raise CorruptFileError(f"{path} is not a valid safetensors weights file ({problem}); train it again with "
                               "`embedlab finetune`")


def load_finetuned(folder: str | Path) -> Encoder:
    """The Encoder saved in a fine-tune folder: an ``AdaptedEncoder`` or a ``FullFinetunedEncoder``.

    Parameters
    ----------
    folder : str or path-like
        A folder written by ``embedlab finetune``.

    Returns
    -------
    Encoder
        Named by the folder's absolute path.

    Raises
    ------
    ModelNotFoundError
        When the folder has no readable ``finetune.json`` or its model cannot be built.
    CorruptFileError, FormatVersionError
        For a damaged or newer folder.
    """
    folder = Path(folder).expanduser()
    if not recognises(folder):
        raise ModelNotFoundError(f"{folder} has no readable {MANIFEST}: it is not an `embedlab finetune` folder")
    if read_manifest(folder)["method"] == "full":
        return FullFinetunedEncoder(folder)
    return AdaptedEncoder(folder)


def folder_spec(path: str | Path) -> EncoderSpec | None:
    """An EncoderSpec for a fine-tune folder, named by its absolute path (the registry's folder loader).

    Parameters
    ----------
    path : str or path-like
        A folder.

    Returns
    -------
    EncoderSpec or None
        None when it is not a fine-tune folder.
    """
    if not recognises(path):
        return None
    folder = Path(path).expanduser().resolve()
    try:
        doc = read_manifest(folder)
        dim, method = int(doc["dim"]), doc["method"]
    except (EmbedlabError, KeyError, TypeError, ValueError):
        dim, method = 0, "adapter"
    requires: tuple[str, ...] = ("sentence_transformers", "torch") if method == "full" else ()
    return EncoderSpec(name=str(folder), factory=partial(load_finetuned, folder), dim=dim, modalities=("text",),
                       requires=requires, extra="text" if requires else "core",
                       description=f"encoder fine-tuned with `embedlab finetune` ({method}, {folder.name})")


register_folder(folder_spec, "finetune.json (`embedlab finetune`)")
