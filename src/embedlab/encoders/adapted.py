"""Encoders fine-tuned with `embedlab finetune` (``train/finetuning/``; the folder is ``formats.finetuned``), loaded from their folder by path.

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
from ..formats.finetuned import MANIFEST, load_matrix, read_manifest, recognises
from ..metrics import normalize as _normalize
from .base import Encoder
from .registry import EncoderSpec, register_folder

__all__ = ["AdaptedEncoder", "FullFinetunedEncoder", "load_finetuned", "folder_spec"]


def _check_base(folder: Path, base: dict[str, Any]) -> None:
    """ModelNotFoundError now (at load) when the base encoder is unknown here or its dependencies are missing."""
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
    """A frozen base encoder followed by a learned linear map (see the module docstring)."""

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
        """The base encoder (from the registry, checked against the recorded fingerprint)."""
        if self._base is None:
            self._base = _base_encoder(self.folder, self.manifest["base"])
            self.max_length = self._base.max_length
        return self._base

    @property
    def metrics(self) -> dict[str, Any]:
        """Before/after metrics recorded when it was trained."""
        return dict(self.manifest.get("metrics", {}))

    def _mapped(self, vecs: np.ndarray, normalize: bool) -> np.ndarray:
        out = np.asarray(vecs, dtype=np.float32) @ self.matrix
        if not np.isfinite(out).all():
            raise CorruptFileError(f"{self.folder}: the adapter produced NaN/inf vectors; its weights are damaged")
        return _normalize(out, inplace=True) if normalize else out

    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        vecs = self.base.encode_documents(items, batch_size=max(len(items), 1))
        return self._mapped(vecs, False) if self.apply_to == "both" else np.asarray(vecs, np.float32)

    def encode_documents(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
                         normalize: bool = True, **kw: Any) -> np.ndarray:
        """Documents: the base's document vectors, through the map unless it was trained for queries only."""
        return self.encode(items, batch_size=batch_size, progress=progress, normalize=normalize)

    def encode_queries(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
                       normalize: bool = True, **kw: Any) -> np.ndarray:
        """Queries: the base's query vectors through the map."""
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
        return {**super().info(), "kind": "finetune-adapter", "base": self.manifest["base"]["name"],
                "apply_to": self.apply_to, "matryoshka_dims": list(self.matryoshka_dims or [])}


class FullFinetunedEncoder(Encoder):
    """A fully fine-tuned sentence-transformers model written by `embedlab finetune --method full` (run through
    the ``minilm`` encoder's code on the saved folder)."""

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
        self.dim = int(self.model_encoder.dim)
        self.max_length = self.model_encoder.max_length
        dims = self.manifest.get("matryoshka_dims") or []
        self.matryoshka_dims: tuple[int, ...] | None = tuple(int(d) for d in dims) or None

    @property
    def model(self) -> Any:
        """The underlying ``SentenceTransformer``."""
        return self.model_encoder.model

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.manifest.get("metrics", {}))

    def transformers_folder(self) -> Path | None:
        """The saved sentence-transformers folder (it can be fine-tuned again)."""
        return self.folder

    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        return self.model_encoder.encode(items, batch_size=max(len(items), 1), normalize=False)

    def _fingerprint_source(self) -> str:
        return "finetune-full:" + hashlib.sha256(self.model_encoder.fingerprint.encode()).hexdigest()[:16]

    def info(self) -> dict[str, Any]:
        return {**super().info(), "kind": "finetune-full", "base": self.manifest["base"]["name"],
                "model_path": str(self.folder), "matryoshka_dims": list(self.matryoshka_dims or [])}


def _check_safetensors(path: Path) -> None:
    """A cheap structural check of a safetensors file (header length and JSON), before torch reads it."""
    import json
    import struct

    try:
        with path.open("rb") as fh:
            raw = fh.read(8)
            (n,) = struct.unpack("<Q", raw)
            size = path.stat().st_size
            if n <= 0 or n > size - 8:
                raise ValueError(f"header length {n} does not fit the {size}-byte file")
            header = json.loads(fh.read(n))
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
        if 8 + n + end != size:
            raise ValueError(f"tensors end at byte {8 + n + end}, the file has {size}")
    except (OSError, ValueError, struct.error, KeyError, TypeError) as exc:
        raise CorruptFileError(f"{path} is not a valid safetensors weights file ({exc}); train it again with "
                               "`embedlab finetune`") from None


def load_finetuned(folder: str | Path) -> Encoder:
    """The Encoder saved in a fine-tune folder (adapter or full)."""
    folder = Path(folder).expanduser()
    if not recognises(folder):
        raise ModelNotFoundError(f"{folder} has no readable {MANIFEST}: it is not an `embedlab finetune` folder")
    if read_manifest(folder)["method"] == "full":
        return FullFinetunedEncoder(folder)
    return AdaptedEncoder(folder)


def folder_spec(path: str | Path) -> EncoderSpec | None:
    """An EncoderSpec for a fine-tune folder (name = its absolute path), or None when it is not one."""
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
