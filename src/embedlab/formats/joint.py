"""The folder ``embedlab train clip`` (``CLIPTrainer``) writes: two linear heads over frozen towers.

    joint.json       format "embedlab.joint", format_version 1: dim, params, logit_scale, text_encoder and
                     image_encoder ({name, dim, fingerprint} of each frozen tower), train counts, held-out
                     retrieval, heldout_images, loss_history
    text_head.npy    (text tower dim, dim) float32
    image_head.npy   (image tower dim, dim) float32

Only light imports here (numpy), so listing encoders imports no torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..persist import atomic_file, read_npy, read_versioned, sniff_manifest, versioned, write_json_atomic

__all__ = ["FIX", "FORMAT", "FORMAT_VERSION", "MANIFEST", "JointFolder", "read", "recognises", "write"]

FORMAT = "embedlab.joint"
FORMAT_VERSION = 1
MANIFEST = "joint.json"
TEXT_HEAD, IMAGE_HEAD = "text_head.npy", "image_head.npy"
FIX = "train the heads again (embedlab train clip)"


@dataclass
class JointFolder:
    """A joint folder's contents.

    Attributes
    ----------
    manifest : dict
        ``joint.json`` (``dim``, ``text_encoder`` / ``image_encoder`` tower descriptions, training record).
    text_head : numpy.ndarray
        ``(dt, dim)`` float32.
    image_head : numpy.ndarray
        ``(di, dim)`` float32.
    """

    manifest: dict[str, Any]
    text_head: np.ndarray
    image_head: np.ndarray

    @property
    def dim(self) -> int:
        """The joint space's dimension."""
        return int(self.manifest["dim"])

    @property
    def towers(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The text and image towers' ``{name, dim, fingerprint}``."""
        return self.manifest["text_encoder"], self.manifest["image_encoder"]


def recognises(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` holds joint heads (its ``joint.json`` names the format; nothing else is read)."""
    return sniff_manifest(Path(folder) / MANIFEST, FORMAT) is not None


def describe(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of a joint folder when it is one, else None (cheap, silent: for listing encoders)."""
    return sniff_manifest(Path(folder) / MANIFEST, FORMAT)


def write(folder: Path, text_head: np.ndarray, image_head: np.ndarray, **fields: Any) -> dict[str, Any]:
    """Write the heads and then ``joint.json`` into ``folder``, an existing folder the caller publishes
    (``persist.atomic_folder``).

    Parameters
    ----------
    folder : Path
    text_head, image_head : numpy.ndarray
        ``(dt, dim)`` and ``(di, dim)``, written as float32.
    **fields
        The manifest: ``dim``, ``text_encoder``, ``image_encoder`` and the training record.

    Returns
    -------
    dict
        The manifest written.

    Raises
    ------
    StorageFullError, ReadOnlyStorageError
    """
    for name, arr in ((TEXT_HEAD, text_head), (IMAGE_HEAD, image_head)):
        with atomic_file(folder / name) as fh:
            np.save(fh, np.ascontiguousarray(arr, dtype=np.float32), allow_pickle=False)
    doc = versioned(FORMAT, FORMAT_VERSION, **fields)
    write_json_atomic(folder / MANIFEST, doc)
    return doc


def read(folder: str | os.PathLike[str]) -> JointFolder:
    """Read a joint folder; each head's header is checked against the manifest's dimensions before it is read.

    Raises
    ------
    CorruptFileError
        When ``joint.json`` is damaged or lacks a field, or a head is missing or of the wrong shape.
    FormatVersionError
        For a folder from a newer embedlab.
    """
    folder = Path(folder)
    doc = read_versioned(folder / MANIFEST, FORMAT, FORMAT_VERSION, "joint text-image model", FIX)
    try:
        towers = (doc["text_encoder"], doc["image_encoder"])
        dim = int(doc["dim"])
        shapes = {"text": (int(towers[0]["dim"]), dim), "image": (int(towers[1]["dim"]), dim)}
        if not (towers[0]["name"] and towers[1]["name"]):
            raise KeyError("the towers' names")
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"{folder / MANIFEST} lacks {exc}; {FIX}") from None
    text = read_npy(folder / TEXT_HEAD, FIX, np.float32, shapes["text"])
    image = read_npy(folder / IMAGE_HEAD, FIX, np.float32, shapes["image"])
    return JointFolder(doc, text, image)
