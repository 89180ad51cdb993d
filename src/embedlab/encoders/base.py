"""The Encoder contract: raw items of one or more modalities in, an (n, dim) float32 array out.

Subclasses set ``name``, ``dim``, ``modalities``, ``metric`` and ``max_length`` and implement
``_encode_batch``. ``encode`` does the shared work: validating input, batching, the progress bar,
normalisation, the finiteness check and reporting inputs that had to be truncated.
"""

from __future__ import annotations

import hashlib
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, NonFiniteError
from ..metrics import normalize as _normalize


class TruncationWarning(UserWarning):
    """Some inputs were longer than the encoder's limit and were cut."""


class Encoder(ABC):
    """Turns items into vectors. See the module docstring for the contract."""

    name: str = "encoder"
    dim: int = 0
    modalities: tuple[str, ...] = ("text",)
    metric: str = "cosine"
    max_length: int | None = None
    #: How many inputs of the last ``encode`` call were truncated to ``max_length``.
    last_truncated: int = 0

    # ------------------------------------------------------------------ public
    def encode(
        self,
        items: Sequence[Any] | str,
        batch_size: int = 64,
        progress: bool = False,
        normalize: bool = True,
    ) -> np.ndarray:
        """Encode ``items`` into a float32 ``(n, dim)`` array (a single string gives ``(1, dim)``).

        The result does not depend on ``batch_size``; ``normalize=True`` returns unit rows.
        """
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
            items = [items] if isinstance(items, (str, bytes)) else list(items)
        if len(items) == 0:
            raise InputError(f"{self.name}: nothing to encode (empty input list); pass at least one item")
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        items = self.validate(items)
        self.last_truncated = 0
        out = np.empty((len(items), self.dim), dtype=np.float32)
        bar = _progress(len(items), f"encode[{self.name}]", progress)
        for start in range(0, len(items), batch_size):
            batch = items[start:start + batch_size]
            out[start:start + len(batch)] = self._encode_batch(batch)
            bar.update(len(batch))
        bar.close()
        if not np.isfinite(out).all():
            raise NonFiniteError(f"{self.name} produced NaN/inf vectors; the model file may be corrupt")
        if self.last_truncated:
            warnings.warn(
                f"{self.name}: {self.last_truncated} of {len(items)} input(s) exceeded max_length="
                f"{self.max_length} and were truncated; split long texts into passages to keep all content",
                TruncationWarning,
                stacklevel=2,
            )
        return _normalize(out, inplace=True) if normalize else out

    def validate(self, items: Sequence[Any]) -> list[Any]:
        """Check ``items`` as ``encode`` does, without encoding them: the list of (normalised) items, or
        InputError naming the position of the first bad one (e.g. an empty string for a text encoder)."""
        return [self._check_item(i, item) for i, item in enumerate(items)]

    def __call__(self, items: Sequence[Any] | str, **kw: Any) -> np.ndarray:
        return self.encode(items, **kw)

    @property
    def fingerprint(self) -> str:
        """Identifies the exact model: encoder name, package version and a hash of the weights."""
        return f"{self.name}@{self._fingerprint_source()}"

    def info(self) -> dict[str, Any]:
        """A JSON-ready description (what `embedlab encoders --json` prints)."""
        return {"name": self.name, "dim": self.dim, "modalities": list(self.modalities),
                "metric": self.metric, "max_length": self.max_length}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, modalities={self.modalities})"

    # --------------------------------------------------------------- subclass
    @abstractmethod
    def _encode_batch(self, items: list[Any]) -> np.ndarray:
        """Encode one batch of validated items; return float32 (len(items), dim), unnormalised."""

    def _fingerprint_source(self) -> str:
        return "unversioned"

    def _check_item(self, index: int, item: Any) -> Any:
        """Validate one item; text encoders reject non-strings and empty strings."""
        if self.modalities == ("text",) or (isinstance(item, str) and "text" in self.modalities):
            return check_text(index, item)
        return item


def check_text(index: int, item: Any) -> str:
    """A non-empty str, or InputError naming the position of the bad item."""
    if isinstance(item, bytes):
        raise InputError(f"item {index} is bytes; decode it to str (UTF-8) before encoding")
    if not isinstance(item, str):
        raise InputError(f"item {index} is {type(item).__name__}, expected a text string")
    if not item.strip():
        raise InputError(f"item {index} is an empty string; remove it or give it some text")
    return item


def package_fingerprint(dist: str, *files: str | Path) -> str:
    """'<dist>==<version>:<hash>' where the hash covers size + head + tail of each weights file (fast)."""
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        version = "unknown"
    h = hashlib.sha256()
    for f in files:
        p = Path(f)
        size = p.stat().st_size
        h.update(str(size).encode())
        with p.open("rb") as fh:
            h.update(fh.read(1 << 20))
            if size > 1 << 20:
                fh.seek(max(size - (1 << 20), 1 << 20))
                h.update(fh.read(1 << 20))
    return f"{dist}=={version}:{h.hexdigest()[:16]}"


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="item")
