"""Captioned images for training a small CLIP: reading a captions CSV against an image folder, pairing lists, and
a worked example (scikit-learn's handwritten digits with generated English and Korean captions).

Captions file: CSV with a header and columns ``image`` (a path relative to the folder) and ``caption``; an image
may have several rows (several captions). An optional ``label`` column only changes how held-out retrieval is
scored: a caption then describes every held-out image with the same label, not just the ones it was written for.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._params import check_int
from ..encoders.media import IMAGE_SUFFIXES
from ..errors import InputError
from ..persist import atomic_folder

__all__ = ["CaptionedImages", "check_pairs", "digit_captions", "make_digits_example", "read_captions"]


@dataclass
class CaptionedImages:
    """Images and captions: ``captions[i]`` describes ``images[image_of[i]]`` (int64 (n_captions,)); optional
    ``labels`` (one per image) say which images are interchangeable for scoring retrieval (e.g. the digit)."""

    images: list[Any]
    captions: list[str]
    image_of: np.ndarray
    labels: list[str] | None = None

    def subset(self, keep: np.ndarray) -> CaptionedImages:
        """The images whose indices are in ``keep`` (sorted), with their captions."""
        keep = np.sort(np.asarray(keep, dtype=np.int64))
        new = {int(old): i for i, old in enumerate(keep)}
        rows = [i for i, j in enumerate(self.image_of) if int(j) in new]
        return CaptionedImages([self.images[int(k)] for k in keep], [self.captions[i] for i in rows],
                               np.array([new[int(self.image_of[i])] for i in rows], dtype=np.int64),
                               None if self.labels is None else [self.labels[int(k)] for k in keep])


def read_captions(folder: str | os.PathLike[str], captions_csv: str | os.PathLike[str],
                  allow_uncaptioned: bool = False) -> CaptionedImages:
    """Read ``captions_csv`` (columns ``image``, ``caption``, optionally ``label``) against the images in ``folder``.

    InputError, naming counts and the first offenders: a missing or empty file, missing columns, empty captions,
    rows naming images that do not exist (or lie outside ``folder``), and — unless ``allow_uncaptioned`` — images
    in ``folder`` that no row captions (the counts do not match)."""
    folder, path = Path(folder), Path(captions_csv)
    if not folder.is_dir():
        raise InputError(f"image folder {folder} does not exist; pass the folder the captions' image paths are in")
    if not path.is_file():
        raise InputError(f"captions file {path} does not exist; pass a CSV with columns image,caption")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
            columns = set(rows[0]) if rows else set()
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read {path} as UTF-8 CSV ({exc})") from None
    if not rows:
        raise InputError(f"{path} holds no captions (empty data); give one row per (image, caption) pair")
    if not {"image", "caption"} <= columns:
        raise InputError(f"{path} needs the columns image and caption; it has {', '.join(sorted(columns)) or 'none'}")
    root = folder.resolve()
    index: dict[Path, int] = {}
    images: list[Path] = []
    captions: list[str] = []
    image_of: list[int] = []
    labels: list[str] = []
    missing: list[str] = []
    empty: list[int] = []
    clash: list[str] = []
    for n, row in enumerate(rows, start=2):  # line numbers as an editor shows them (line 1 is the header)
        name, caption = (row.get("image") or "").strip(), (row.get("caption") or "").strip()
        if not caption:
            empty.append(n)
            continue
        file = (folder / name).resolve()
        if not name or not file.is_relative_to(root) or not file.is_file():
            missing.append(name or f"(blank, line {n})")
            continue
        label = (row.get("label") or "").strip()
        if file not in index:
            index[file] = len(images)
            images.append(file)
            labels.append(label)
        elif labels[index[file]] != label:
            clash.append(name)
        captions.append(caption)
        image_of.append(index[file])
    if missing:
        raise InputError(f"{len(missing)} caption row(s) name images missing from {folder}: "
                         f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}; fix the paths (relative to "
                         "the folder) or remove those rows")
    if empty:
        raise InputError(f"{len(empty)} row(s) of {path} have an empty caption (lines {', '.join(map(str, empty[:5]))}"
                         f"{' ...' if len(empty) > 5 else ''}); give every image a caption or drop the row")
    if clash:
        raise InputError(f"{len(clash)} image(s) have rows with different labels (e.g. {clash[0]}); an image has "
                         "one label")
    on_disk = sorted(p.resolve() for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    uncaptioned = [p for p in on_disk if p not in index]
    if uncaptioned and not allow_uncaptioned:
        raise InputError(f"mismatched counts: {folder} holds {len(on_disk)} images but the captions cover "
                         f"{len(images)} ({len(uncaptioned)} uncaptioned, e.g. {uncaptioned[0].name}); caption them "
                         "or pass allow_uncaptioned=True (--allow-uncaptioned) to train on the captioned ones")
    return CaptionedImages(images, captions, np.array(image_of, dtype=np.int64),
                           labels if "label" in columns else None)


def check_pairs(images: Sequence[Any], captions: Sequence[str]) -> CaptionedImages:
    """One caption per image, as two equally long lists (InputError when the counts differ or a list is empty)."""
    if isinstance(captions, str) or isinstance(images, (str, bytes)):
        raise InputError("images and captions must be lists (one caption per image)")
    if len(images) != len(captions):
        raise InputError(f"mismatched counts: {len(images)} images but {len(captions)} captions; pass one caption "
                         "per image")
    if not images:
        raise InputError("no images and captions (empty data); pass at least two pairs")
    return CaptionedImages(list(images), [str(c) for c in captions], np.arange(len(images), dtype=np.int64))


DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
KOREAN_DIGITS = ("영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구")
KOREAN_NATIVE = ("영", "하나", "둘", "셋", "넷", "다섯", "여섯", "일곱", "여덟", "아홉")
TEMPLATES_EN = ("a handwritten digit {w}", "the number {w} written by hand", "a scanned handwritten {n}")
TEMPLATES_KO = ("손으로 쓴 숫자 {k}", "숫자 {n}의 손글씨", "손글씨로 쓴 {nat}")


def digit_captions(digit: int, rng: np.random.Generator) -> tuple[str, str]:
    """One English and one Korean caption for ``digit`` (templates drawn by ``rng``)."""
    fill = {"w": DIGIT_WORDS[digit], "n": str(digit), "k": KOREAN_DIGITS[digit], "nat": KOREAN_NATIVE[digit]}
    return (TEMPLATES_EN[rng.integers(len(TEMPLATES_EN))].format(**fill),
            TEMPLATES_KO[rng.integers(len(TEMPLATES_KO))].format(**fill))


def make_digits_example(folder: str | os.PathLike[str], limit: int | None = None, seed: int = 0) -> Path:
    """Write scikit-learn's handwritten digits (8 x 8, upsampled to 64 x 64 RGB PNG) into ``folder`` with
    ``captions.csv``: two generated captions per image, one English, one Korean, and the digit as ``label`` (used
    only to score retrieval). Returns the CSV's path."""
    from PIL import Image
    from sklearn.datasets import load_digits

    limit = check_int(limit, "limit", low=2, none=True)
    digits = load_digits()
    n = len(digits.images) if limit is None else min(limit, len(digits.images))
    rng = np.random.default_rng(seed)
    with atomic_folder(folder) as tmp:
        rows = []
        for i in range(n):
            pixels = (255 - digits.images[i] * 255 / 16).astype(np.uint8)   # dark ink on white paper
            big = np.kron(pixels, np.ones((8, 8), dtype=np.uint8))
            name = f"digit_{i:04d}.png"
            Image.fromarray(np.stack([big] * 3, axis=-1)).save(tmp / name)
            rows += [(name, c, int(digits.target[i])) for c in digit_captions(int(digits.target[i]), rng)]
        with open(tmp / "captions.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["image", "caption", "label"])
            w.writerows(rows)
    return Path(folder) / "captions.csv"
