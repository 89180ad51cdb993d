"""CLIP (`clip`): texts and images in one vector space, from a user-supplied local model folder.

No CLIP weights ship in any offline package, so ``model_path`` is required: a folder written by
``CLIPModel.save_pretrained`` + ``CLIPProcessor.save_pretrained`` (config.json, model.safetensors or
pytorch_model.bin, tokenizer files, preprocessor_config.json), e.g. a downloaded openai/clip-vit-base-patch32.

Items: ``str`` is text, unless it names an existing image file (.jpg, .png ...); ``pathlib.Path`` is an image
file; PIL images and ``(h, w[, c])`` arrays are images. ``encode_text`` / ``encode_image`` skip the guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._threads import cpu_count
from ..errors import CorruptFileError, InputError, MissingDependencyError, ModelNotFoundError
from .base import Encoded, Encoder, check_text, package_fingerprint
from .registry import EncoderSpec, register

if TYPE_CHECKING:
    from PIL import Image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")
_TOKENIZER = (("tokenizer.json",), ("vocab.json", "merges.txt"))


def check_clip_folder(model_path: str | Path | None) -> Path:
    """Check a CLIP model folder before loading it.

    Parameters
    ----------
    model_path : str or path-like or None
        The folder (``config.json``, weights, tokenizer files, ``preprocessor_config.json``).

    Returns
    -------
    Path
        The folder, with ``~`` expanded.

    Raises
    ------
    ModelNotFoundError
        When ``model_path`` is None, is not a folder, or lacks files (naming exactly which).
    """
    if model_path is None:
        how = "no CLIP weights ship offline: save one with CLIPModel/CLIPProcessor.save_pretrained"
        raise ModelNotFoundError(
            f"encoder 'clip' needs model_path=<local folder of a transformers CLIP model>; {how}",
            cli=f"encoder 'clip' needs --model-path FOLDER (a local folder of a transformers CLIP model); {how}")
    folder = Path(model_path).expanduser()
    if not folder.is_dir():
        raise ModelNotFoundError(f"CLIP model folder {folder} does not exist")
    missing = []
    if not (folder / "config.json").exists():
        missing.append("config.json")
    if not any((folder / f).exists() for f in _WEIGHTS):
        missing.append("weights (model.safetensors or pytorch_model.bin)")
    if not any(all((folder / f).exists() for f in group) for group in _TOKENIZER):
        missing.append("tokenizer (tokenizer.json, or vocab.json + merges.txt)")
    if not (folder / "preprocessor_config.json").exists():
        missing.append("preprocessor_config.json")
    if missing:
        raise ModelNotFoundError(f"CLIP model folder {folder} lacks {', '.join(missing)}")
    return folder


def is_image_item(item: Any) -> bool:
    """Whether ``CLIPEncoder`` treats ``item`` as an image (see the module docstring).

    Parameters
    ----------
    item : object
        An item given to ``encode``.

    Returns
    -------
    bool
        True for a ``Path``, a str naming an existing image file, a numpy array or a PIL image.
    """
    if isinstance(item, Path):
        return True
    if isinstance(item, str):
        return Path(item).suffix.lower() in IMAGE_SUFFIXES and Path(item).is_file()
    return isinstance(item, np.ndarray) or type(item).__module__.startswith("PIL.")


class CLIPEncoder(Encoder):
    """A transformers CLIP model (Radford et al. 2021): texts and images in one ``projection_dim`` space.

    ``encode`` takes a mix of texts and images (see the module docstring); texts longer than the text tower's
    ``max_position_embeddings`` tokens are truncated and reported.

    Parameters
    ----------
    model_path : str or path-like
        A local folder written by ``CLIPModel.save_pretrained`` + ``CLIPProcessor.save_pretrained`` (required).
    threads : int, optional
        torch's intra-op threads (set process-wide); default: at most the usable cores.

    Raises
    ------
    ModelNotFoundError
        When ``model_path`` is missing or lacks files (naming them).
    MissingDependencyError
        When transformers, torch or pillow is not installed.
    CorruptFileError
        When transformers cannot load the folder.
    """

    name = "clip"
    modalities = ("text", "image")
    metric = "cosine"
    max_length: int  # the text tower's max_position_embeddings, set when the model loads

    def __init__(self, model_path: str | Path | None = None, threads: int | None = None) -> None:
        folder = check_clip_folder(model_path)
        try:
            import torch
            from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel
        except ImportError as exc:
            raise MissingDependencyError("'clip' needs transformers, torch and pillow: "
                                         "pip install 'embedlab[text,image]'") from exc
        if threads or torch.get_num_threads() > cpu_count():
            torch.set_num_threads(threads or cpu_count())
        self._torch = torch
        self.folder = folder
        try:
            model: Any = CLIPModel.from_pretrained(str(folder), local_files_only=True)
            self._model = model.eval()
            self._tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            self._images = CLIPImageProcessor.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise CorruptFileError(f"cannot load the CLIP model in {folder}: {exc}") from exc
        self.dim = int(self._model.config.projection_dim)
        self.max_length = int(self._model.config.text_config.max_position_embeddings)
        weights = next(folder / f for f in _WEIGHTS if (folder / f).exists())
        self._fp = package_fingerprint(f"local:{folder.name}", weights)

    # ------------------------------------------------------------------ public
    def encode_text(self, texts: Sequence[str] | str, **kw: Any) -> np.ndarray:
        """Encode strings as text, even ones that look like file names.

        Parameters
        ----------
        texts : sequence of str or str
            The texts; one string is one text.
        **kw
            ``encode``'s ``batch_size``, ``progress``, ``normalize``.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per text.

        Raises
        ------
        InputError
            For an empty list or a text that is not a non-empty string.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        return self.encode([_Text(check_text(i, t)) for i, t in enumerate(texts)], **kw)

    def encode_image(self, images: Sequence[Any] | Any, **kw: Any) -> np.ndarray:
        """Encode image paths (str or ``Path``), PIL images or arrays as images.

        Parameters
        ----------
        images : sequence or object
            A list or tuple of images, or one image; a str is taken as a path.
        **kw
            ``encode``'s ``batch_size``, ``progress``, ``normalize``.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per image.

        Raises
        ------
        InputError
            For a missing file, an array of the wrong shape, or anything that is not an image.
        CorruptFileError
            For an image file that cannot be decoded.
        """
        images = list(images) if isinstance(images, (list, tuple)) else [images]
        return self.encode([Path(i) if isinstance(i, str) else i for i in images], **kw)

    # ---------------------------------------------------------------- contract
    def _check_item(self, index: int, item: Any) -> Any:
        if isinstance(item, _Text) or (isinstance(item, str) and not is_image_item(item)):
            return _Text(check_text(index, str(item)))
        if is_image_item(item):
            return item
        raise InputError(f"item {index} is {type(item).__name__}; CLIP takes text strings, image paths, "
                         f"PIL images or numpy arrays")

    def _encode_batch(self, items: list[Any]) -> Encoded:
        out = np.empty((len(items), self.dim), dtype=np.float32)
        truncated = 0
        texts = [i for i, it in enumerate(items) if isinstance(it, _Text)]
        images = [i for i, it in enumerate(items) if not isinstance(it, _Text)]
        with self._torch.inference_mode():
            if texts:
                lengths = self._tokenizer([str(items[i]) for i in texts], truncation=False, verbose=False,
                                          return_attention_mask=False)["input_ids"]
                truncated = sum(1 for ids in lengths if len(ids) > self.max_length)
                enc = self._tokenizer([str(items[i]) for i in texts], padding=True, truncation=True,
                                      max_length=self.max_length, return_tensors="pt")
                feats = self._model.get_text_features(input_ids=enc["input_ids"],
                                                      attention_mask=enc["attention_mask"])
                out[texts] = _features(feats)
            if images:
                pixels = self._images(images=[_load_image(items[i]) for i in images],
                                      return_tensors="pt")["pixel_values"]
                out[images] = _features(self._model.get_image_features(pixel_values=pixels))
        return Encoded(out, truncated)

    def _fingerprint_source(self) -> str:
        return self._fp

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus ``model_path``.

        Returns
        -------
        dict
            ``Encoder.info()``'s keys (``name``, ``dim`` ... ``languages``) and ``model_path``.
        """
        return {**super().info(), "model_path": str(self.folder)}


class _Text(str):
    """A string marked as text (never treated as an image path)."""


def _features(out: Any) -> np.ndarray:
    """The projected features of ``get_text_features`` / ``get_image_features`` as float32 numpy.

    transformers 5 returns a model output with the projection in ``pooler_output``; 4.x returns a tensor.
    """
    tensor = out if hasattr(out, "numpy") else out.pooler_output
    return tensor.float().numpy()


def _load_image(item: Any) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    if isinstance(item, (str, Path)):
        path = Path(item)
        if not path.is_file():
            raise InputError(f"image file {path} does not exist")
        try:
            with Image.open(path) as im:
                return im.convert("RGB")
        except (UnidentifiedImageError, OSError) as exc:
            raise CorruptFileError(f"cannot read image {path}: {exc}") from exc
    if isinstance(item, np.ndarray):
        arr = item
        if arr.ndim == 2:
            arr = np.stack([arr] * 3, axis=-1)
        if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
            raise InputError(f"image array must be (h, w), (h, w, 3) or (h, w, 4); got shape {item.shape}")
        if arr.dtype != np.uint8:
            arr = np.clip(arr * 255.0 if arr.max() <= 1.0 else arr, 0, 255).astype(np.uint8)
        return Image.fromarray(arr[..., :3])
    return item.convert("RGB")


register(EncoderSpec(
    name=CLIPEncoder.name, factory=CLIPEncoder, dim=0, modalities=("text", "image"),
    requires=("transformers", "torch", "PIL"), extra="text,image",
    description="CLIP text+image encoder from your own local model folder (required; "
                "dim = the folder's projection_dim, e.g. 512)",
))
