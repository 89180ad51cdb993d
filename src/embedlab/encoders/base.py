"""The Encoder contract: raw items of one or more modalities in, an (n, dim) float32 array out.

Subclasses set ``name``, ``dim``, ``modalities``, ``metric`` and ``max_length`` and implement
``_encode_batch``. ``encode`` does the shared work: validating input, batching, the progress bar,
normalisation, the finiteness check and reporting inputs that had to be truncated.

Two roles: ``encode_queries`` (what a user searches with) and ``encode_documents`` (what is stored and searched
in). Both default to ``encode``; a model that embeds the two differently (E5's ``query:``/``passage:`` prefixes,
an asymmetric adapter) overrides them and sets ``asymmetric = True``. Collections encode what they store with
``encode_documents`` and what they are searched with ``encode_queries``.

An encoder instance is shared (the registry builds each once per process, the server hands one to every request
thread), so it keeps no per-call state: ``_encode_batch`` returns its rows and, when it had to cut inputs, how
many (``Encoded(rows, truncated)``); ``encode`` sums the counts of its own call and reports them in the
``TruncationWarning`` it raises in the caller's thread (``warning.truncated`` / ``warning.total``).
"""

from __future__ import annotations

import hashlib
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._params import check_unicode
from ..errors import InputError, NonFiniteError
from ..metrics import normalize as _normalize


class TruncationWarning(UserWarning):
    """Some inputs of one ``encode`` call were longer than the encoder's limit and were cut: ``truncated`` of
    ``total`` inputs (the counts of that call only, whatever other threads encode meanwhile)."""

    def __init__(self, message: str, truncated: int = 0, total: int = 0, encoder: str = "") -> None:
        super().__init__(message)
        self.truncated, self.total, self.encoder = truncated, total, encoder


class Encoded(NamedTuple):
    """What ``_encode_batch`` may return: the batch's rows and how many of its inputs were truncated."""

    vectors: np.ndarray
    truncated: int = 0


#: The roles ``encode_role`` accepts (None = plain ``encode``).
ROLES = ("query", "document")

BatchFn = Callable[[list[Any]], "np.ndarray | Encoded"]


class Encoder(ABC):
    """Turns items into vectors. See the module docstring for the contract."""

    name: str = "encoder"
    dim: int = 0
    modalities: tuple[str, ...] = ("text",)
    metric: str = "cosine"
    max_length: int | None = None
    #: True when ``encode_queries`` / ``encode_documents`` embed differently from ``encode`` (e.g. E5's roles).
    asymmetric: bool = False
    #: The prefix widths the model was trained to give (Matryoshka representation learning); None when not.
    matryoshka_dims: tuple[int, ...] | None = None
    #: True when ``tokenize`` gives the model's own tokens (what ``max_length`` counts), not whitespace words.
    has_tokenizer: bool = False

    # ------------------------------------------------------------------ public
    def encode(
        self,
        items: Sequence[Any] | str,
        batch_size: int = 64,
        progress: bool = False,
        normalize: bool = True,
    ) -> np.ndarray:
        """Encode ``items`` into a float32 ``(n, dim)`` array (a single string gives ``(1, dim)``).

        The result does not depend on ``batch_size``; ``normalize=True`` returns unit rows. Inputs cut to
        ``max_length`` are counted and reported in one ``TruncationWarning`` per call.
        """
        return self._encode_using(self._encode_batch, items, batch_size, progress, normalize)

    def encode_queries(
        self,
        items: Sequence[Any] | str,
        batch_size: int = 64,
        progress: bool = False,
        normalize: bool = True,
    ) -> np.ndarray:
        """Encode search queries (same arguments and result as ``encode``; by default the same vectors).

        Models trained with a query role (E5's ``query:`` prefix, an asymmetric adapter) override this."""
        return self.encode(items, batch_size=batch_size, progress=progress, normalize=normalize)

    def encode_documents(
        self,
        items: Sequence[Any] | str,
        batch_size: int = 64,
        progress: bool = False,
        normalize: bool = True,
    ) -> np.ndarray:
        """Encode the items a search runs over (passages, stored documents); by default ``encode``."""
        return self.encode(items, batch_size=batch_size, progress=progress, normalize=normalize)

    def encode_role(
        self,
        items: Sequence[Any] | str,
        role: str | None = None,
        batch_size: int = 64,
        progress: bool = False,
        normalize: bool = True,
    ) -> np.ndarray:
        """``encode_queries`` (role ``"query"``), ``encode_documents`` (``"document"``) or ``encode`` (None): for
        interfaces that take the role as a value (the CLI's ``--role``, the HTTP ``input_type``)."""
        kw: dict[str, Any] = {"batch_size": batch_size, "progress": progress, "normalize": normalize}
        if role is None:
            return self.encode(items, **kw)
        if role == "query":
            return self.encode_queries(items, **kw)
        if role == "document":
            return self.encode_documents(items, **kw)
        raise InputError(f"unknown role {role!r}; use 'query' (what is searched with), 'document' (what is "
                         "stored and searched in) or none (plain encode)")

    def tokenize(self, text: str) -> list[str]:
        """The tokens of ``text`` as the model counts them against ``max_length``.

        Parameters
        ----------
        text : str

        Returns
        -------
        list of str
            The model's own pieces when ``has_tokenizer`` is True; otherwise the whitespace-separated words (an
            estimate: one token per word).
        """
        return text.split()

    def transformers_folder(self) -> Path | None:
        """The local Hugging Face model folder this encoder runs, when it runs one that sentence-transformers can
        fine-tune (``config.json`` inside); None for every other encoder.

        Returns
        -------
        Path or None
        """
        return None

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
                "metric": self.metric, "max_length": self.max_length, "asymmetric": self.asymmetric}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, modalities={self.modalities})"

    # --------------------------------------------------------------- subclass
    @abstractmethod
    def _encode_batch(self, items: list[Any]) -> np.ndarray | Encoded:
        """Encode one batch of validated items: float32 (len(items), dim) rows, unnormalised, or
        ``Encoded(rows, truncated)`` when some inputs had to be cut (a plain array means none were)."""

    def _encode_using(self, batch_fn: BatchFn, items: Sequence[Any] | str, batch_size: int, progress: bool,
                      normalize: bool) -> np.ndarray:
        """The shared work of ``encode`` (and of role methods, with their own ``batch_fn``): validation,
        batching, progress, the finiteness check, this call's truncation count and warning, normalisation."""
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
            items = [items] if isinstance(items, (str, bytes)) else list(items)
        if len(items) == 0:
            raise InputError(f"{self.name}: nothing to encode (empty input list); pass at least one item")
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {batch_size}")
        items = self.validate(items)
        truncated = 0  # a local: two threads encoding through this instance each count their own call
        out = np.empty((len(items), self.dim), dtype=np.float32)
        bar = _progress(len(items), f"encode[{self.name}]", progress)
        for start in range(0, len(items), batch_size):
            batch = items[start:start + batch_size]
            got = batch_fn(batch)
            if isinstance(got, Encoded):
                out[start:start + len(batch)] = got.vectors
                truncated += int(got.truncated)
            else:
                out[start:start + len(batch)] = got
            bar.update(len(batch))
        bar.close()
        if not np.isfinite(out).all():
            raise NonFiniteError(f"{self.name} produced NaN/inf vectors; the model file may be corrupt")
        if truncated:
            warnings.warn(TruncationWarning(
                f"{self.name}: {truncated} of {len(items)} input(s) exceeded max_length={self.max_length} and were "
                "truncated; split long texts into passages to keep all content",
                truncated=truncated, total=len(items), encoder=self.name), stacklevel=3)
        return _normalize(out, inplace=True) if normalize else out

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
    return check_unicode(item, f"item {index}")


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
