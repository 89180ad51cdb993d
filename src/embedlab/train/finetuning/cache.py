"""Base-encoder vectors cached on disk, so adapter training and re-runs never encode the same texts twice.

Files live under ``<embedlab home>/cache/finetune/<hash of the encoder fingerprint>/`` and are named by the role
(query/document) and a hash of the texts; a different model version or different texts never share a file.

    >>> vecs = base_vectors(enc, texts, role="document")      # encoded once, then read from the cache
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ... import config
from ...persist import atomic_path

if TYPE_CHECKING:
    from ...encoders.base import Encoder

__all__ = ["base_vectors", "cache_folder"]


def cache_folder(fingerprint: str) -> Path:
    """The cache folder of one encoder fingerprint (created on first use)."""
    folder = config.home() / "cache" / "finetune" / hashlib.sha256(fingerprint.encode()).hexdigest()[:24]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _texts_hash(texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def base_vectors(enc: Encoder, texts: Sequence[str], role: str = "document", *, batch_size: int = 64,
                 progress: bool = False, cache: bool = True) -> np.ndarray:
    """Unit float32 vectors of ``texts`` from ``enc`` in ``role`` ("query" or "document"), cached by fingerprint
    and text hash (``cache=False`` always encodes)."""
    texts = list(texts)
    path = cache_folder(enc.fingerprint) / f"{role}-{_texts_hash(texts)}.npy" if cache else None
    if path is not None and path.is_file():
        try:
            vecs = np.load(path, mmap_mode=None, allow_pickle=False)
            if vecs.shape == (len(texts), enc.dim) and vecs.dtype == np.float32 and np.isfinite(vecs).all():
                return vecs
        except (OSError, ValueError):
            pass  # a damaged cache file is simply recomputed
    vecs = np.asarray(enc.encode_role(texts, role, batch_size=batch_size, progress=progress), dtype=np.float32)
    if path is not None:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, vecs, allow_pickle=False)
    return vecs
