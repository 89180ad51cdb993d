"""Shared loading for image and audio encoders: paths, PIL images, numpy arrays, ``(array, sr)`` tuples.

Validation (``check_image`` / ``check_audio``) is cheap and runs before encoding, so a bad item fails with
its position and path before any model work; decoding (``load_image`` / ``load_audio``) runs per batch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError, InputError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".mp3", ".opus"})


def looks_like_image_path(item: Any) -> bool:
    """True for a ``Path``, or a str naming an existing file with an image suffix (how ConSE tells paths from text)."""
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
    """One image/audio item (a Path, PIL image, image array, ``(array, sr)`` tuple) -> a one-item list; a 4-D
    (n, h, w, c) array -> a list of n images; anything else unchanged (``Encoder.encode`` handles lists/str)."""
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
    """Validate an image item: path to a readable image, PIL image, or HxW / HxWx3 / HxWx4 array."""
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


def load_image(item: Any):
    """A validated item as an RGB PIL image."""
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


def resize_center_crop(image, size: int, resize: int):
    """Resize the shorter side to ``resize`` (bilinear, antialiased) and cut the central ``size`` x ``size``."""
    from PIL import Image

    w, h = image.size
    scale = resize / min(w, h)
    nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
    image = image.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - size) // 2, (nh - size) // 2
    return image.crop((left, top, left + size, top + size))


def image_batch(items: list[Any], size: int, resize: int, mean, std) -> np.ndarray:
    """Validated items -> float32 (n, 3, size, size) array, normalised with per-channel ``mean``/``std`` (0..1 scale)."""
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    out = np.empty((len(items), 3, size, size), dtype=np.float32)
    for i, item in enumerate(items):
        im = resize_center_crop(load_image(item), size, resize)
        x = np.asarray(im, dtype=np.float32) * (1.0 / 255.0)
        out[i] = ((x - mean) / std).transpose(2, 0, 1)
    return out


# ------------------------------------------------------------------- audio
def check_audio(index: int, item: Any) -> Any:
    """Validate an audio item: a path to a sound file or an ``(array, sample_rate)`` tuple."""
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
    """A validated item as mono float32 samples at ``sr`` Hz (mix-down by averaging channels, soxr resampling)."""
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
