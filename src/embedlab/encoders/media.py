"""Shared loading for image and audio encoders: paths, PIL images, numpy arrays, ``(array, sr)`` tuples.

Validation (``check_image`` / ``check_audio``) is cheap and runs before encoding, so a bad item fails with
its position and path before any model work; decoding (``load_image`` / ``load_audio``) runs per batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CorruptFileError, InputError

if TYPE_CHECKING:
    from PIL import Image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".mp3", ".opus"})


def looks_like_image_path(item: Any) -> bool:
    """Whether ``item`` is an image path: how the mixed text-and-image encoders tell paths from text.

    Parameters
    ----------
    item : object
        An item given to ``encode``.

    Returns
    -------
    bool
        True for a ``Path``, or a str naming an existing file with an image suffix (``IMAGE_SUFFIXES``).
    """
    if isinstance(item, Path):
        return True
    return isinstance(item, str) and Path(item).suffix.lower() in IMAGE_SUFFIXES and os.path.isfile(item)


def _existing_file(index: int, item: str | Path, kind: str) -> Path:
    path = Path(item).expanduser()
    if not path.exists():
        raise InputError(f"item {index}: {kind} file not found: {path}")
    if not path.is_file():
        raise InputError(f"item {index}: {path} is not a file (pass one {kind} file per item)")
    return path


def as_items(items: Any) -> Any:
    """The ``items`` argument of a media encoder's ``encode`` as a list where it is one item.

    Parameters
    ----------
    items : object
        One image / audio item (a ``Path``, a PIL image, an image array, an ``(array, sample_rate)`` tuple), a
        4-D ``(n, h, w, c)`` array of images, or a list of items.

    Returns
    -------
    object
        A one-item list for one item, a list of ``n`` images for a 4-D array, anything else unchanged
        (``Encoder.encode`` handles lists and strings).
    """
    if isinstance(items, Path) or type(items).__module__.startswith("PIL."):
        return [items]
    if isinstance(items, np.ndarray):
        return list(items) if items.ndim == 4 else [items]
    if (isinstance(items, tuple) and len(items) == 2 and isinstance(items[1], (int, np.integer))
            and not isinstance(items[1], bool) and isinstance(items[0], (np.ndarray, list))):
        return [items]
    return items


# ------------------------------------------------------------------ images
def check_image(index: int, item: Any) -> Any:
    """Validate an image item cheaply, before any model work (only a file's header is read).

    Parameters
    ----------
    index : int
        The item's position, for messages.
    item : object
        A path (str or ``Path``) to a readable image, a PIL image, or an ``(h, w)`` / ``(h, w, 3)`` /
        ``(h, w, 4)`` array: uint8 in 0..255, or float in [0, 1].

    Returns
    -------
    object
        A path as a ``Path``; an array or PIL image unchanged.

    Raises
    ------
    InputError
        For a missing file, a folder, an array of the wrong shape, dtype or range (or with NaN/infinity), or
        anything else.
    CorruptFileError
        For a file PIL cannot identify as an image.
    """
    if isinstance(item, (str, Path)):
        path = _existing_file(index, item, "image")
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:  # reads the header only
                im.size  # noqa: B018
        except (UnidentifiedImageError, OSError) as exc:
            raise CorruptFileError(f"item {index}: cannot read {path} as an image ({exc}); is it corrupt?") from exc
        return path
    if isinstance(item, np.ndarray):
        _check_image_array(index, item)
        return item
    if type(item).__module__.startswith("PIL."):
        return item
    raise InputError(
        f"item {index} is {type(item).__name__}; pass an image file path, a PIL image or an HxWx3 numpy array"
    )


def _check_image_array(index: int, a: np.ndarray) -> None:
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise InputError(f"item {index}: image array has shape {a.shape}; expected HxW, HxWx3 or HxWx4")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"item {index}: image array is empty (shape {a.shape})")
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            raise InputError(f"item {index}: image array contains NaN/inf")
        lo, hi = float(a.min()), float(a.max())
        if lo < -1e-6 or hi > 1 + 1e-6:
            raise InputError(
                f"item {index}: float image values span [{lo:.3g}, {hi:.3g}]; float images must lie in [0, 1] "
                "(divide 0..255 data by 255, or pass uint8)"
            )
    elif a.dtype != np.uint8:
        raise InputError(f"item {index}: image array dtype {a.dtype}; use uint8 (0..255) or float (0..1)")


def load_image(item: Any) -> Image.Image:
    """A validated image item as an RGB PIL image (float arrays scaled from [0, 1] to 0..255).

    Parameters
    ----------
    item : object
        What ``check_image`` returned.

    Returns
    -------
    PIL.Image.Image
        In RGB mode.

    Raises
    ------
    CorruptFileError
        For an image file that cannot be decoded (e.g. truncated).
    """
    from PIL import Image

    if isinstance(item, Path):
        try:
            with Image.open(item) as im:
                return im.convert("RGB")
        except OSError as exc:
            raise CorruptFileError(f"cannot decode image {item} ({exc}); the file may be truncated") from exc
    if isinstance(item, np.ndarray):
        a = item
        if a.dtype.kind == "f":
            a = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        return Image.fromarray(np.ascontiguousarray(a)).convert("RGB")
    return item.convert("RGB")


def resize_center_crop(image: Image.Image, size: int, resize: int) -> Image.Image:
    """Resize the shorter side to ``resize`` pixels (bilinear, antialiased) and cut the central square.

    The usual ImageNet evaluation transform (e.g. resize 256, crop 224: ratio 0.875).

    Parameters
    ----------
    image : PIL.Image.Image
        The image.
    size : int
        The side of the square cut, in pixels.
    resize : int
        The shorter side after resizing, in pixels (at least ``size``).

    Returns
    -------
    PIL.Image.Image
        ``size`` x ``size`` pixels.
    """
    from PIL import Image

    w, h = image.size
    scale = resize / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    image = image.resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = (nw - size) // 2, (nh - size) // 2
    return image.crop((left, top, left + size, top + size))


def image_batch(items: list[Any], size: int, resize: int, mean: Sequence[float],
                std: Sequence[float]) -> np.ndarray:
    """Validated image items as a network input batch (``resize_center_crop``, then per-channel normalisation).

    Parameters
    ----------
    items : list
        What ``check_image`` returned for each image.
    size : int
        The side of the square input, in pixels.
    resize : int
        The shorter side before the centre crop, in pixels.
    mean, std : sequence of float
        Per-channel (R, G, B) mean and standard deviation on the 0..1 pixel scale.

    Returns
    -------
    numpy.ndarray of shape (n, 3, size, size)
        float32, ``(pixel / 255 - mean) / std``, channels first.

    Raises
    ------
    CorruptFileError
        For an image file that cannot be decoded.
    """
    mean_ = np.asarray(mean, dtype=np.float32)
    std_ = np.asarray(std, dtype=np.float32)
    out = np.empty((len(items), 3, size, size), dtype=np.float32)
    for i, item in enumerate(items):
        im = resize_center_crop(load_image(item), size, resize)
        x = np.asarray(im, dtype=np.float32) * (1.0 / 255.0)
        out[i] = ((x - mean_) / std_).transpose(2, 0, 1)
    return out


# ------------------------------------------------------------------- audio
def check_audio(index: int, item: Any) -> Any:
    """Validate an audio item cheaply, before any model work (only a file's header is read).

    Parameters
    ----------
    index : int
        The item's position, for messages.
    item : object
        A path (str or ``Path``) to a sound file libsndfile reads (wav, flac, ogg ...), or an
        ``(array, sample_rate)`` tuple: ``(samples,)`` or 2-D channels, numeric, with the rate in Hz.

    Returns
    -------
    object
        A path as a ``Path``; a tuple as ``(numpy.ndarray, int)``.

    Raises
    ------
    InputError
        For a missing file, a file without samples, a bare array (no sample rate), a bad rate, an array of the
        wrong shape or dtype (or with NaN/infinity), or anything else.
    CorruptFileError
        For a file libsndfile cannot read.
    """
    if isinstance(item, (str, Path)):
        path = _existing_file(index, item, "audio")
        import soundfile as sf

        try:
            info = sf.info(str(path))
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise CorruptFileError(
                f"item {index}: cannot read {path} as audio ({exc}); use wav, flac or ogg, or check the file"
            ) from exc
        if info.frames == 0:
            raise InputError(f"item {index}: {path} holds no audio samples")
        return path
    if isinstance(item, np.ndarray):
        raise InputError(
            f"item {index} is a bare array; pass (array, sample_rate) so the audio can be resampled correctly"
        )
    if isinstance(item, tuple) and len(item) == 2:
        wav, sr = item
        if not isinstance(sr, (int, np.integer)) or isinstance(sr, bool) or sr <= 0:
            raise InputError(f"item {index}: sample rate must be a positive int, got {sr!r}")
        wav = np.asarray(wav)
        if wav.dtype.kind not in "fiu":
            raise InputError(f"item {index}: audio array dtype {wav.dtype} is not numeric")
        if wav.ndim not in (1, 2) or wav.size == 0:
            raise InputError(f"item {index}: audio array has shape {wav.shape}; expected (samples,) or 2-D channels")
        if wav.dtype.kind == "f" and not np.isfinite(wav).all():
            raise InputError(f"item {index}: audio array contains NaN/inf")
        return (wav, int(sr))
    raise InputError(
        f"item {index} is {type(item).__name__}; pass an audio file path or an (array, sample_rate) tuple"
    )


def _mono_float(wav: np.ndarray) -> np.ndarray:
    if wav.dtype.kind in "iu":
        info = np.iinfo(wav.dtype)
        wav = (wav.astype(np.float32) - (info.max + info.min + 1) / 2) / (info.max - info.min + 1) * 2
    wav = wav.astype(np.float32, copy=False)
    if wav.ndim == 2:  # (samples, channels) as soundfile gives, or (channels, samples) as librosa gives
        axis = 1 if wav.shape[1] <= wav.shape[0] else 0
        wav = wav.mean(axis=axis)
    return wav


def load_audio(item: Any, sr: int) -> np.ndarray:
    """A validated audio item as mono samples at ``sr`` Hz.

    Channels are averaged; integer samples are scaled to [-1, 1); other rates are resampled with soxr (librosa's
    ``soxr_hq``).

    Parameters
    ----------
    item : object
        What ``check_audio`` returned.
    sr : int
        The target sample rate, in Hz.

    Returns
    -------
    numpy.ndarray of shape (samples,)
        float32, C-contiguous.

    Raises
    ------
    CorruptFileError
        For a sound file that cannot be decoded (e.g. truncated).
    """
    if isinstance(item, Path):
        import soundfile as sf

        try:
            wav, source_sr = sf.read(str(item), dtype="float32", always_2d=True)
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise CorruptFileError(f"cannot decode audio {item} ({exc}); the file may be truncated") from exc
        wav = wav.mean(axis=1)
    else:
        wav, source_sr = item
        wav = _mono_float(np.asarray(wav))
    if source_sr != sr:
        import librosa

        wav = librosa.resample(wav, orig_sr=source_sr, target_sr=sr, res_type="soxr_hq")
    return np.ascontiguousarray(wav, dtype=np.float32)
