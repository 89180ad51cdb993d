"""Vocabulary: word counts from a streamed corpus, sorted by frequency (ties keep first-occurrence order).

    >>> vocab = Vocab.build(LineCorpus("corpus.txt"), min_count=5)
    >>> vocab.words[:3], vocab.counts[:3]

Counting follows word2vec.c: with ``max_vocab_size`` set, whenever the table grows past it every word seen at
most ``min_reduce`` times is dropped and ``min_reduce`` goes up by one, so memory stays bounded on any corpus
(counts of pruned words restart from zero, as in word2vec.c and gensim). No ``hash()`` anywhere: orders depend
only on the corpus.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from .._params import check_float, check_int
from ..errors import CorruptFileError, InputError, UnknownKeyError
from ..formats.vocab import VocabFile, read_vocab, write_vocab

__all__ = ["Vocab", "check_vocab_params", "check_vocab_size", "count_words", "prune_counts", "ranked_ids"]

_DAMAGED = "the vocabulary file is damaged: save or train the model again"


def prune_counts(counts: dict[str, int], max_vocab_size: int, min_reduce: int) -> int:
    """Drop words with count <= min_reduce (raising it) until at most ``max_vocab_size`` remain; return min_reduce."""
    while len(counts) > max_vocab_size:
        for w in [w for w, c in counts.items() if c <= min_reduce]:
            del counts[w]
        min_reduce += 1
    return min_reduce


def count_words(corpus: Iterable[list[str]], max_vocab_size: int | None = None) -> tuple[dict[str, int], int, int]:
    """Count tokens in one streaming pass: (word -> count in first-occurrence order, tokens, sentences)."""
    counts: Counter[str] = Counter()
    tokens = sentences = 0
    min_reduce = 1
    for sent in corpus:
        if isinstance(sent, (str, bytes)):
            raise InputError("each sentence must be a list of tokens, not a string; split your lines first (or pass a path)")
        try:
            counts.update(sent)
            tokens += len(sent)
        except TypeError:  # a number or None for a sentence, a list for a token
            raise not_a_sentence(sentences, sent) from None
        sentences += 1
        if max_vocab_size is not None and len(counts) > max_vocab_size:
            min_reduce = prune_counts(counts, max_vocab_size, min_reduce)
    return dict(counts), tokens, sentences


def not_a_sentence(index: int, sent: object) -> InputError:
    """The error for a corpus item that is not a list of string tokens (it raised TypeError while counted)."""
    return InputError(f"sentence {index} of the corpus is {type(sent).__name__} {sent!r:.60}; each sentence must be "
                      "a list of string tokens, e.g. ['the', 'cat', 'sat']")


class Vocab:
    """Words sorted by count (descending, stable), their counts, and the corpus totals they came from."""

    def __init__(self, words: list[str], counts: npt.ArrayLike, raw_tokens: int | None = None,
                 sentences: int = 0) -> None:
        self.words: list[str] = list(words)
        bad = next((w for w in self.words if not isinstance(w, str)), None)
        if bad is not None:
            raise InputError(f"vocabulary words must be strings (tokens of a corpus are str), got "
                             f"{type(bad).__name__} {bad!r:.40}")
        try:
            self.counts: np.ndarray = np.asarray(counts, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"counts must be whole numbers, got {counts!r:.60}") from None
        if self.counts.ndim != 1 or len(self.words) != len(self.counts):
            raise InputError(f"{len(self.words)} words for {self.counts.size} counts")
        if self.counts.size and self.counts.min() < 0:
            raise InputError(f"counts must be >= 0, got {int(self.counts.min())}")
        self.word_to_index: dict[str, int] = {w: i for i, w in enumerate(self.words)}
        if len(self.word_to_index) != len(self.words):
            raise InputError("vocabulary words must be unique")
        self.raw_tokens = int(self.counts.sum()) if raw_tokens is None else int(raw_tokens)
        self.sentences = int(sentences)

    # --- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_counts(
        cls,
        counts: dict[str, int],
        min_count: int = 1,
        max_vocab_size: int | None = None,
        raw_tokens: int | None = None,
        sentences: int = 0,
    ) -> Vocab:
        """Keep words with count >= min_count, sort by count (ties: dict order), cap at max_vocab_size."""
        check_vocab_params(min_count, max_vocab_size)
        if not counts:
            raise InputError("the corpus is empty: no tokens found; check the path and that lines hold words")
        kept = [(w, c) for w, c in counts.items() if c >= min_count]
        if not kept:
            raise _none_kept(min_count, max(counts.values()))
        kept.sort(key=lambda wc: -wc[1])  # stable: equal counts keep first-occurrence order
        if max_vocab_size is not None:
            kept = kept[:max_vocab_size]
        return cls([w for w, _ in kept], [c for _, c in kept], raw_tokens=raw_tokens, sentences=sentences)

    @classmethod
    def build(cls, corpus: Iterable[list[str]], min_count: int = 5, max_vocab_size: int | None = None) -> Vocab:
        """Count a corpus in one streaming pass and keep the words seen at least ``min_count`` times."""
        check_vocab_params(min_count, max_vocab_size)  # before the pass, not after it
        counts, tokens, sentences = count_words(corpus, max_vocab_size)
        if tokens and not counts:
            raise InputError(f"max_vocab_size={max_vocab_size} pruned every word while counting ({tokens} tokens "
                             "read, none frequent enough to stay); raise max_vocab_size")
        return cls.from_counts(counts, min_count, max_vocab_size, raw_tokens=tokens, sentences=sentences)

    # --- lookups --------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.word_to_index

    def index(self, word: str) -> int:
        try:
            return self.word_to_index[word]
        except KeyError:
            raise UnknownKeyError(f"{word!r} is not in the vocabulary ({len(self)} words)") from None

    @property
    def total(self) -> int:
        """Occurrences of in-vocabulary words (what training iterates over)."""
        return int(self.counts.sum())

    def encode(self, tokens: list[str]) -> np.ndarray:
        """Token list -> int32 indices, out-of-vocabulary tokens dropped."""
        get = self.word_to_index.get
        return np.fromiter((i for i in map(get, tokens) if i is not None), dtype=np.int32)

    # --- sampling distributions -----------------------------------------------------------------------------
    def keep_probabilities(self, sample: float) -> np.ndarray:
        """Probability of keeping each word under frequent-word subsampling (word2vec.c / gensim formula).

        With t = sample * total, a word seen c times is kept with probability min(1, (sqrt(c / t) + 1) * t / c);
        ``sample=0`` keeps everything.
        """
        sample = check_sample(sample)
        c = self.counts.astype(np.float64)
        if sample == 0 or len(c) == 0:
            return np.ones(len(c), dtype=np.float32)
        t = sample * c.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.minimum(1.0, (np.sqrt(c / t) + 1.0) * t / c)
        return np.where(c > 0, p, 1.0).astype(np.float32)

    def noise_distribution(self, power: float = 0.75) -> np.ndarray:
        """Negative-sampling distribution: counts ** power, normalised (float64)."""
        power = check_float(power, "power", hint="0.75 is word2vec's; 0 samples uniformly")
        p = self.counts.astype(np.float64) ** power
        return p / p.sum()

    # --- files ----------------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the vocabulary file (``formats.vocab``: versioned header, ``word<TAB>count`` lines, most frequent
        first), atomically."""
        write_vocab(path, self.to_file())

    def to_file(self) -> VocabFile:
        """What ``save`` writes, as a ``formats.vocab.VocabFile`` (for folder writers)."""
        return VocabFile(list(self.words), [int(c) for c in self.counts], raw_tokens=self.raw_tokens,
                         sentences=self.sentences)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a file written by ``save``. CorruptFileError naming the file and line for a missing header, a
        line that is not ``word<TAB>count``, a repeated word or text that is not UTF-8; FormatVersionError for
        a file from a newer embedlab."""
        return cls.from_file(read_vocab(path), path)

    @classmethod
    def from_file(cls, data: VocabFile, path: str | os.PathLike[str]) -> Vocab:
        """The Vocab of a vocabulary file already read (``formats.vocab.read_vocab``); CorruptFileError naming
        ``path`` when its words repeat or its counts are unusable."""
        try:
            return cls(data.words, data.counts, raw_tokens=data.raw_tokens, sentences=data.sentences)
        except InputError as exc:
            raise CorruptFileError(f"{path}: {exc}; {_DAMAGED}") from None

    def __repr__(self) -> str:
        return f"Vocab({len(self)} words, {self.total} in-vocabulary tokens)"


def ranked_ids(counts: np.ndarray, min_count: int = 1, max_vocab_size: int | None = None) -> np.ndarray:
    """The words ``Vocab.from_counts`` keeps, as positions in ``counts``, in its order (most frequent first).

    For counts indexed by first-occurrence id (``EncodedCorpus.write``'s), the result's words are exactly
    ``Vocab.from_counts``' over the same words in id order: count >= ``min_count``, ties in id order, at most
    ``max_vocab_size`` — without a Python object per word.

    Parameters
    ----------
    counts : np.ndarray
        int64 ``(n,)`` occurrences of word ``i`` (>= 0).
    min_count : int, default 1
        Words seen fewer times (>= 1) are dropped.
    max_vocab_size : int or None, default None
        Keep at most this many (>= 2); None: no limit.

    Returns
    -------
    np.ndarray
        int64 ``(V,)`` positions in ``counts``, most frequent first, equal counts in ascending position.

    Raises
    ------
    InputError
        For unusable ``min_count`` / ``max_vocab_size``, empty ``counts`` (the corpus is empty) or no count reaching
        ``min_count`` — the messages of ``Vocab.from_counts``.
    """
    check_vocab_params(min_count, max_vocab_size)
    counts = np.asarray(counts, np.int64)
    if counts.size == 0:
        raise InputError("the corpus is empty: no tokens found; check the path and that lines hold words")
    kept = np.flatnonzero(counts >= min_count)
    if kept.size == 0:
        raise _none_kept(min_count, int(counts.max()))
    order = kept[np.argsort(-counts[kept], kind="stable")]
    return order if max_vocab_size is None else order[:max_vocab_size]


def _none_kept(min_count: int, top: int) -> InputError:
    return InputError(f"min_count={min_count} removes every word (the most frequent word occurs {top} times); "
                      "lower min_count or use a larger corpus")


def check_vocab_size(n: int, min_count: int, needs: str, max_vocab_size: int | None = None) -> None:
    """Refuse a vocabulary of fewer than 2 words, with only the advice that can help.

    Parameters
    ----------
    n : int
        Words kept.
    min_count : int
        The trainer's ``min_count``: lowering it is advised only when it is above 1.
    needs : str
        What the trainer needs, e.g. ``"word2vec needs at least 2"``.
    max_vocab_size : int or None, default None
        The trainer's cap, advised to raise when set.

    Raises
    ------
    InputError
        When ``n < 2``: "the corpus has only N distinct word(s) with count >= min_count=M; NEEDS; use a larger
        corpus[ or lower min_count][ or raise max_vocab_size=K]" (``cli``: ``--min-count`` / ``--max-vocab-size``).
    """
    if n >= 2:
        return

    def said(count: str, cap: str) -> str:  # in Python's names or the command line's
        text = f"the corpus has only {n} distinct word(s) with count >= {count}={min_count}; {needs}; use a larger corpus"
        if min_count > 1:
            text += f" or lower {count}"
        if max_vocab_size is not None:
            text += f" or raise {cap}={max_vocab_size}"
        return text

    raise InputError(said("min_count", "max_vocab_size"), cli=said("--min-count", "--max-vocab-size"))


def check_vocab_params(min_count: int, max_vocab_size: int | None) -> None:
    """InputError unless ``min_count`` is an integer >= 1 and ``max_vocab_size`` an integer >= 2 or None."""
    check_int(min_count, "min_count", low=1, hint="words seen fewer times are dropped")
    check_int(max_vocab_size, "max_vocab_size", low=2, none=True, hint="None means no limit")


def check_sample(sample: float) -> float:
    """``sample`` (the frequent-word subsampling threshold) as a float, when a finite number >= 0."""
    return check_float(sample, "sample", low=0, hint="0 disables subsampling; 1e-3 to 1e-5 are usual")
