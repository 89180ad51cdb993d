"""Subword word vectors (fastText, Bojanowski et al. 2017): any string gets a vector from its character n-grams.

A word is the mean of its own vector and the vectors of its character n-grams, so a misspelling or a rare
inflection gets a vector too.

    >>> ft = FastText(dim=100, subwords=(3, 6), buckets=2_000_000, epochs=5, seed=1).fit("corpus.txt")
    >>> ft.most_similar("elephnat", topn=5)          # a misspelling finds "elephant"

Training is skip-gram with negative sampling where the input representation of the centre word is
``(W[word] + sum(W[g] for g in ngrams("<word>"))) / len(ngrams)``, gensim's scale (fastText divides by one more;
gensim's trains better vectors here, see BENCHMARKS), with no update on saturated scores (|score| >= 8, gensim
FastText's bound); the vectors read out (``wv``, ``vector``) are means as in both. N-grams are hashed into
``buckets`` with fastText's 32-bit FNV-1a (``embedlab.subwords``). Only the buckets that some vocabulary word uses
get a row (fastText allocates all of them; the unused ones never train, so an unseen string's vector here averages
only trained n-grams instead of random initial values). Saved as the folder ``formats.fasttext_model`` describes.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._params import check_bool, check_float, check_int
from .._progress import progress_bar
from .._threads import cpu_count
from ..encoders.word_average import WordAverageEncoder
from ..errors import CorruptFileError, InputError, ResourceLimitError, UnknownKeyError
from ..formats import fasttext_model
from ..formats.folder import DAMAGED
from ..metrics import normalize
from ..subwords import SubwordRows, char_ngrams, compose, fnv1a, fnv1a_hashes, subword_rows
from ..vectors import Vectors
from .base import Trainer, check_loss, is_lowercase, save_folder
from .corpus import LineCorpus, as_corpus, is_reiterable
from .gensim_call import gensim_call
from .vocab import Vocab, check_sample, check_vocab_size

__all__ = ["FastText", "char_ngrams", "fnv1a", "fnv1a_hashes"]

FORMAT, FORMAT_VERSION = fasttext_model.FORMAT, fasttext_model.FORMAT_VERSION
_CHUNK_WORDS = 10_000
_HELD_WORDS = 50_000  # words of the corpus's first chunks that score each epoch (loss_history_)


class FastText(Trainer):
    """fastText-style skip-gram with character n-gram vectors (Bojanowski et al. 2017; fastText's ``skipgram``).

    ``fit`` / ``vector`` / ``most_similar`` / ``wv``. Learned attributes: ``vocab_`` (``Vocab``), ``rows_``
    (``subwords.SubwordRows``: each word's input rows), ``input_`` (float32 ``(V + B, dim)``: a row per word, then
    a row per n-gram bucket some word uses), ``output_`` (float32 ``(V, dim)``), ``loss_history_`` (one per
    epoch: the mean negative-sampling loss per (centre, context) pair of the model as it is at the end of the epoch,
    scored on a fixed sample, the corpus's first 50,000 words, with the same noise words each time, so it falls as
    the model learns) and ``train_loss_history_`` (the running loss during each epoch: it can rise in the late
    epochs, because a high learning rate fits the sentences just seen and a decayed one no longer does). gensim's ``vector_size=`` is taken as ``dim``
    (``param_aliases``), and gensim's call ``FastText(sentences, vector_size=100)`` (or ``sentences=`` /
    ``corpus_file=``) trains at once (``gensim_call``; ``sg=1`` is accepted, ``sg=0``, CBOW, is refused).

    Parameters
    ----------
    dim : int, default 100
        Vector width (>= 1).
    window : int, default 5
        Largest distance, in words (>= 1), between a centre and a context word (each position draws 1..window).
    negative : int, default 5
        Noise words per pair (>= 1), drawn from count^``ns_exponent``.
    min_count : int, default 5
        Words seen fewer times (>= 1) are dropped.
    subwords : tuple of (int, int), default (3, 6)
        ``(minn, maxn)``: the character n-gram lengths of ``"<word>"``, 1 <= minn <= maxn; (0, 0) for none (plain
        skip-gram).
    buckets : int, default 2_000_000
        Hash buckets for the n-grams (>= 1), as fastText's ``-bucket``.
    epochs : int, default 5
        Passes over the corpus (>= 1).
    lr : float, default 0.05
        Initial learning rate (> 0), falling linearly to ``lr * 1e-4`` (fastText's schedule).
    sample : float, default 1e-4
        Frequent-word subsampling threshold (>= 0; 0 keeps every word), as fastText's ``-t``.
    ns_exponent : float, default 0.75
        Exponent of the noise distribution over counts (0 samples noise words uniformly).
    lowercase : bool, default False
        Lower-case a corpus given as a path, and every query of ``vector`` / ``most_similar``.
    max_memory_gb : float, default 8.0
        Refuse (``ResourceLimitError``) when input rows, output rows and composed vectors would need more, in GB
        (> 0).
    workers : int, default 2
        Training threads (>= 1; capped by the CPUs; Hogwild); ``workers=1`` gives bit-identical vectors for a seed.
    seed : int, default 1
        Seed (>= 0) of the initial vectors and every random draw.
    progress : bool, default True
        Show a progress bar.
    """

    _unit: np.ndarray  # unit-length rows of ``wv.matrix`` for ``most_similar`` (made on first use)
    _unit_src: np.ndarray  # the matrix ``_unit`` was made from
    param_aliases = {"vector_size": "dim"}  # gensim's name (``FastText(vector_size=)``)

    def __init__(
        self,
        dim: int = 100,
        window: int = 5,
        negative: int = 5,
        min_count: int = 5,
        subwords: tuple[int, int] = (3, 6),
        buckets: int = 2_000_000,
        epochs: int = 5,
        lr: float = 0.05,
        sample: float = 1e-4,
        ns_exponent: float = 0.75,
        lowercase: bool = False,  # lower-case a corpus given as a path, and every query
        max_memory_gb: float = 8.0,
        workers: int = 2,
        seed: int = 1,
        progress: bool = True,
    ) -> None:
        self.dim, self.window, self.negative, self.min_count = dim, window, negative, min_count
        self.subwords = tuple(subwords) if isinstance(subwords, (list, tuple)) else subwords  # checked on use
        self.buckets, self.epochs, self.lr = buckets, epochs, lr
        self.sample, self.ns_exponent, self.lowercase = sample, ns_exponent, lowercase
        self.max_memory_gb, self.workers, self.seed, self.progress = max_memory_gb, workers, seed, progress
        self._wv: Vectors | None = None

    def check_params(self) -> None:
        """Refuse unusable parameters; ``fit`` calls it before reading the corpus.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given.
        """
        for name in ("dim", "window", "min_count", "buckets", "epochs", "workers"):
            check_int(getattr(self, name), name, low=1)
        check_int(self.negative, "negative", low=1, hint="noise words per pair")
        sub = self.subwords
        if not (isinstance(sub, tuple) and len(sub) == 2):
            raise InputError(f"subwords must be (minn, maxn), two whole numbers, got {sub!r}")
        for name, n in zip(("minn", "maxn"), sub, strict=True):
            check_int(n, f"subwords {name}", low=0, hint="subwords is (minn, maxn) character n-gram lengths")
        if not sub[0] <= sub[1] or (sub[0] == 0 and sub[1] != 0):
            raise InputError(f"subwords must be (minn, maxn) with 1 <= minn <= maxn (or (0, 0) for none), "
                             f"got {sub!r}")
        check_float(self.lr, "lr", low=0, low_open=True, hint="0.05 is fastText's default")
        check_sample(self.sample)
        check_float(self.ns_exponent, "ns_exponent", hint="0.75 is fastText's; 0 samples noise words uniformly")
        check_bool(self.lowercase, "lowercase")
        check_float(self.max_memory_gb, "max_memory_gb", low=0, low_open=True)
        check_int(self.seed, "seed", low=0)
        check_bool(self.progress, "progress")

    # ---- vocabulary and n-gram rows --------------------------------------------------------------------------
    @property
    def ngram_buckets_(self) -> np.ndarray:
        """The sorted n-gram buckets the vocabulary uses (one input row each, after the words' rows).

        Returns
        -------
        numpy.ndarray
            int64 ``(B,)``.

        Raises
        ------
        AttributeError
            Before ``fit`` or ``load`` (a learned attribute, as in scikit-learn).
        """
        return self.rows_.ngram_buckets

    @property
    def sub_ptr_(self) -> np.ndarray:
        """CSR pointers into ``sub_idx_``: word ``i``'s input rows are ``sub_idx_[sub_ptr_[i]:sub_ptr_[i + 1]]``.

        Returns
        -------
        numpy.ndarray
            int64 ``(V + 1,)``.

        Raises
        ------
        AttributeError
            Before ``fit`` or ``load`` (a learned attribute, as in scikit-learn).
        """
        return self.rows_.sub_ptr

    @property
    def sub_idx_(self) -> np.ndarray:
        """The input rows of every word (its word row, then its n-gram rows), indexed by ``sub_ptr_``.

        Returns
        -------
        numpy.ndarray
            int64, one entry per (word, row).

        Raises
        ------
        AttributeError
            Before ``fit`` or ``load`` (a learned attribute, as in scikit-learn).
        """
        return self.rows_.sub_idx

    def _check_memory(self, V: int, rows: int) -> None:
        need = (rows + 2 * V) * self.dim * 4 / 1e9  # input rows + output rows + composed word vectors
        if need > self.max_memory_gb:
            raise ResourceLimitError(
                f"training needs about {need:.1f} GB for {rows:,} input rows x {self.dim} dims; lower dim, buckets "
                f"or the vocabulary (min_count), or raise max_memory_gb={self.max_memory_gb}")

    # ---- training ------------------------------------------------------------------------------------------
    def fit(self, corpus: str | os.PathLike[str] | Iterable[list[str]]) -> FastText:
        """Count the vocabulary (one streaming pass), then train ``epochs`` passes over the corpus.

        Parameters
        ----------
        corpus : path-like or iterable of list of str
            A UTF-8 text file or folder (one sentence per line, lower-cased with ``lowercase``), a ``LineCorpus``, or
            token lists that can be read once per epoch (not a generator).

        Returns
        -------
        FastText
            ``self``, with ``vocab_``, ``input_``, ``output_``, ``loss_history_`` and ``train_loss_history_``.

        Raises
        ------
        InputError
            Unusable parameters, an unreadable or empty corpus, a one-shot iterator, or fewer than 2 words left by
            ``min_count``.
        ResourceLimitError
            When the matrices would need more than ``max_memory_gb``.
        """
        from ._subword_kernels import train_sg_chunk

        self.check_params()
        corpus = LineCorpus(corpus, lowercase=self.lowercase) if isinstance(corpus, (str, os.PathLike)) \
            else as_corpus(corpus)
        if not is_reiterable(corpus):
            raise InputError("the corpus is a one-shot iterator (e.g. a generator); pass a path, a LineCorpus or a "
                             "list so it can be read once per epoch")
        self.vocab_ = Vocab.build(corpus, min_count=self.min_count)
        V = len(self.vocab_)
        check_vocab_size(V, int(self.min_count), "fastText needs at least 2")
        minn, maxn = self.subwords
        self.rows_: SubwordRows = subword_rows(self.vocab_.words, minn, maxn, int(self.buckets))
        rows = V + len(self.ngram_buckets_)
        self._check_memory(V, rows)
        rng = np.random.default_rng(self.seed)
        self.input_ = ((rng.random((rows, self.dim), dtype=np.float32) - 0.5) * (2.0 / self.dim)).astype(np.float32)
        self.output_ = np.zeros((V, self.dim), dtype=np.float32)
        keep = self.vocab_.keep_probabilities(self.sample).astype(np.float64)
        noise = self.vocab_.noise_distribution(self.ns_exponent)
        table_size = int(min(10_000_000, max(100_000, 100 * V)))
        neg_table = np.searchsorted(np.cumsum(noise), (np.arange(table_size) + 0.5) / table_size).astype(np.int32)
        neg_table = np.minimum(neg_table, V - 1)

        total = self.vocab_.total * self.epochs
        lr0, min_lr = float(self.lr), float(self.lr) * 1e-4
        workers = max(1, min(int(self.workers), cpu_count()))
        jobs: queue.Queue[tuple[int, np.ndarray, np.ndarray, int, int, np.uint64] | None] = queue.Queue(
            maxsize=2 * workers)
        results: list[tuple[int, int, float, int]] = []
        errors: list[BaseException] = []
        # the kernel loaded (or compiled) before the bar opens: its first rate, and so its first time left, is the
        # training's, not the loading's (an empty chunk: nothing trains)
        train_sg_chunk(np.zeros(0, np.int32), np.zeros(0, np.int64), self.sub_ptr_, self.sub_idx_, self.input_,
                       self.output_, neg_table, keep, int(self.window), int(self.negative), 0.0, 0.0, np.uint64(0))
        bar = progress_bar(total, "fasttext", "word", self.progress, unit_scale=True)

        def _work() -> None:
            while (job := jobs.get()) is not None:
                epoch, words, ends, a, b, seed = job
                try:
                    loss, pairs = train_sg_chunk(
                        words, ends, self.sub_ptr_, self.sub_idx_, self.input_, self.output_, neg_table, keep,
                        int(self.window), int(self.negative), max(min_lr, lr0 * (1 - a / total)),
                        max(min_lr, lr0 * (1 - b / total)), seed)
                    results.append((epoch, pairs, loss, len(words)))
                    bar.update(len(words))
                except BaseException as exc:  # pragma: no cover - surfaced below
                    errors.append(exc)
                finally:
                    jobs.task_done()

        threads = [threading.Thread(target=_work, daemon=True) for _ in range(workers)]
        for t in threads:
            t.start()
        done = 0
        held: list[tuple[np.ndarray, np.ndarray]] = []  # the fixed sample each epoch's model is scored on
        self.loss_history_: list[float] = []
        try:
            for epoch in range(int(self.epochs)):
                for k, (words, ends) in enumerate(self._chunks(corpus)):
                    if epoch == 0 and sum(len(w) for w, _ in held) < _HELD_WORDS:
                        held.append((words, ends))
                    seed = np.random.SeedSequence([self.seed, epoch, k]).generate_state(1, np.uint64)[0]
                    jobs.put((epoch, words, ends, done, done + len(words), seed))
                    done += len(words)
                    if errors:
                        break
                if errors:
                    break
                jobs.join()  # every chunk of this epoch trained: score the model as it now is
                if errors:
                    break
                self.loss_history_.append(check_loss(self._held_loss(held, keep, neg_table), epoch + 1, "fastText", "lr",
                                                     lr0, "--lr"))
                bar.set_postfix_str(f"loss {self.loss_history_[-1]:.4f}")
        finally:
            for _ in threads:
                jobs.put(None)
            for t in threads:
                t.join()
            bar.close()
        if errors:
            raise errors[0]
        self.train_loss_history_: list[float] = []
        for epoch in range(int(self.epochs)):
            pairs = sum(r[1] for r in results if r[0] == epoch)
            loss = sum(r[2] for r in results if r[0] == epoch)
            self.train_loss_history_.append(loss / max(pairs, 1))
        self._wv = None
        return self

    def _held_loss(self, held: list[tuple[np.ndarray, np.ndarray]], keep: np.ndarray, neg_table: np.ndarray) -> float:
        """Mean loss per pair of the model as it is, on the fixed sample ``held``.

        Learning rate 0, so nothing moves; the same seed each epoch, so the same pairs and noise words.
        """
        from ._subword_kernels import train_sg_chunk

        loss = pairs = 0.0
        for k, (words, ends) in enumerate(held):
            seed = np.random.SeedSequence([self.seed, 1 << 20, k]).generate_state(1, np.uint64)[0]
            got, n = train_sg_chunk(words, ends, self.sub_ptr_, self.sub_idx_, self.input_, self.output_, neg_table,
                                    keep, int(self.window), int(self.negative), 0.0, 0.0, seed)
            loss, pairs = loss + got, pairs + n
        return loss / max(pairs, 1)

    def _chunks(self, corpus: Iterable[list[str]]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(word ids int32, sentence ends int64) chunks of about 10k in-vocabulary words."""
        encode = self.vocab_.encode
        parts: list[np.ndarray] = []
        n = 0
        for sent in corpus:
            ids = encode(sent)
            if ids.size:
                parts.append(ids)
                n += ids.size
            if n >= _CHUNK_WORDS:
                yield _pack(parts)
                parts, n = [], 0
        if parts:
            yield _pack(parts)

    # ---- using the vectors -----------------------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        """Whether the model holds trained vectors (after ``fit`` or ``load``).

        Returns
        -------
        bool
            True when ``input_`` exists.
        """
        return hasattr(self, "input_")

    def _require(self) -> None:
        if not self.is_fitted:
            raise InputError("the model is not trained yet; call fit(corpus) or FastText.load(folder) first")

    @property
    def wv(self) -> Vectors:
        """Vectors of the vocabulary words: each the mean of its word row and n-gram rows, as fastText composes them.

        Returns
        -------
        Vectors
            ``V`` keys (most frequent first) and a float32 ``(V, dim)`` matrix (computed once, then kept).

        Raises
        ------
        InputError
            When the model is not trained yet.
        """
        self._require()
        if self._wv is None:
            self._wv = Vectors(self.vocab_.words, compose(self.rows_, self.input_))
        return self._wv

    def ngram_rows(self, word: str) -> np.ndarray:
        """The input rows of ``word``'s character n-grams that exist in the model (unknown buckets left out).

        Parameters
        ----------
        word : str
            Any string (not lower-cased here).

        Returns
        -------
        numpy.ndarray
            int64 ``(k,)`` row indexes into ``input_`` (possibly empty).

        Raises
        ------
        InputError
            When the model is not trained yet, or ``word`` is not a string.
        """
        self._require()
        _check_word(word)
        return self.rows_.oov_rows(word, len(self.vocab_))

    def vector(self, word: str) -> np.ndarray:
        """A vector for any string: known words as in ``wv``; others the mean of their known n-gram vectors.

        A string with no known n-gram gets the zero vector (as fastText's ``print-word-vectors``).

        Parameters
        ----------
        word : str
            Any string (lower-cased first with ``lowercase``).

        Returns
        -------
        numpy.ndarray
            float32 ``(dim,)`` (a copy).

        Raises
        ------
        InputError
            When the model is not trained yet, or ``word`` is not a string.
        """
        self._require()
        _check_word(word)
        if self.lowercase:
            word = word.lower()
        if word in self.vocab_:
            return self.wv.matrix[self.vocab_.index(word)].copy()
        rows = self.ngram_rows(word)
        if rows.size == 0:
            return np.zeros(self.dim, dtype=np.float32)
        return self.input_[rows].mean(0, dtype=np.float32)

    def most_similar(self, word: str, topn: int = 10) -> list[tuple[str, float]]:
        """The vocabulary words closest (cosine) to any string's vector; the word itself excluded.

        Parameters
        ----------
        word : str
            Any string; an unknown word is placed by its n-grams.
        topn : int, default 10
            How many words to return (>= 1).

        Returns
        -------
        list of (str, float)
            Up to ``topn`` (word, cosine similarity in [-1, 1]) pairs, most similar first.

        Raises
        ------
        InputError
            When the model is not trained yet, ``word`` is not a string or ``topn`` is not a positive integer.
        UnknownKeyError
            When ``word`` shares no character n-gram with the vocabulary (its vector is zero).
        """
        topn = check_int(topn, "topn", low=1)
        v = self.vector(word)
        if not np.any(v):
            raise UnknownKeyError(f"{word!r} shares no character n-gram with the vocabulary; no vector to compare")
        m = self.wv.matrix
        if not hasattr(self, "_unit") or self._unit.shape != m.shape or self._unit_src is not m:
            self._unit, self._unit_src = normalize(m), m
        sims = self._unit @ normalize(v)[0]
        key = word.lower() if self.lowercase else word
        if key in self.vocab_:
            sims[self.vocab_.index(key)] = -np.inf
        k = min(topn, len(sims) - (key in self.vocab_))
        if k <= 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.vocab_.words[i], float(sims[i])) for i in top]

    def to_encoder(self) -> WordAverageEncoder:
        """A text encoder: the mean of its words' vectors, each unknown word built from its n-grams (``vector``).

        Returns
        -------
        WordAverageEncoder
            Text → ``(n, dim)`` float32 (cosine); a word sharing no n-gram with the model is skipped, and a text
            with no word that gets a vector is a zero row (an ``OOVWarning`` says how many).

        Raises
        ------
        InputError
            When the model is not trained yet.
        """
        wv = self.wv
        return WordAverageEncoder(wv, name="fasttext", lowercase=bool(self.lowercase) or is_lowercase(wv.keys),
                                  oov=self.vector)

    def __repr__(self) -> str:
        state = (f"{len(self.vocab_):,} words, {len(self.ngram_buckets_):,} n-gram rows" if hasattr(self, "input_")
                 else "not trained")
        return f"FastText(dim={self.dim}, subwords={self.subwords}, buckets={self.buckets:,}; {state})"

    # ---- files ---------------------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the model as ``folder``, atomically (temp folder + rename: an existing ``folder`` is replaced whole).

        The folder is ``formats.fasttext_model``'s: ``fasttext.json``, ``vocab.tsv``, ``input.npy``, ``output.npy``,
        ``ngram_buckets.npy``; ``FastText.load`` and ``embedlab.load_vectors`` read it.

        Parameters
        ----------
        folder : path-like
            The output folder.

        Returns
        -------
        Path
            ``folder``.

        Raises
        ------
        InputError
            When the model is not trained yet.
        StorageFullError, ReadOnlyStorageError
            When the disk is full or cannot be written.
        """
        self._require()
        folder = Path(folder)
        with save_folder(folder) as tmp:
            self.write_files(tmp)
        return folder

    def write_files(self, folder: str | os.PathLike[str]) -> None:
        """Write the model's files into ``folder``, an existing folder the caller publishes itself.

        For example the temp folder of ``persist.atomic_folder``, beside other outputs; ``save`` is this plus the atomic
        rename.

        Parameters
        ----------
        folder : path-like
            An existing, writable folder.

        Raises
        ------
        InputError
            When the model is not trained yet.
        StorageFullError, ReadOnlyStorageError
            When the disk is full or cannot be written.
        """
        self._require()
        params = {k: v for k, v in self.get_params().items() if k not in ("max_memory_gb", "workers", "progress")}
        params["subwords"] = list(self.subwords)
        fasttext_model.write(Path(folder), params, self.vocab_.to_file(), self.input_, self.output_,
                             self.ngram_buckets_, getattr(self, "loss_history_", []))

    @classmethod
    def load(cls, folder: str | os.PathLike[str], mmap: bool = False) -> FastText:
        """Read a folder written by ``save``.

        Parameters
        ----------
        folder : path-like
            A folder written by ``save`` (or ``embedlab train fasttext -o``).
        mmap : bool, default False
            Map the matrices from disk (read-only) instead of reading them into memory.

        Returns
        -------
        FastText
            The model, fitted (``progress`` off).

        Raises
        ------
        InputError
            When ``folder`` holds no ``fasttext.json``, or ``mmap`` is not a bool.
        CorruptFileError
            Naming the damaged file (each matrix's header is checked against the vocabulary and manifest before it is
            read).
        FormatVersionError
            For a folder from a newer embedlab.
        """
        mode = check_bool(mmap, "mmap")
        folder = Path(folder)
        if not (folder / fasttext_model.MANIFEST).exists():
            said = f"{folder} holds no fasttext.json; pass a folder written by "
            raise InputError(said + "FastText.save or `embedlab train fasttext -o FOLDER`",
                             cli=said + "`embedlab train fasttext -o FOLDER` (word2vec and GloVe folders have no "
                                        "n-grams to build unknown words from)")
        data = fasttext_model.read(folder, mmap=mode)
        try:
            p = dict(data.params)
            p["subwords"] = tuple(p["subwords"])
            model = cls(**p, progress=False)
            model.check_params()
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise CorruptFileError(f"{folder / fasttext_model.MANIFEST} holds unusable parameters ({exc!r}); "
                                   f"{DAMAGED}") from None
        model.vocab_ = Vocab.from_file(data.vocab, folder / "vocab.tsv")
        model.input_, model.output_, model.rows_ = data.input, data.output, data.rows
        model.loss_history_ = list(data.loss_history)
        return model


def _check_word(word: object) -> None:
    if not isinstance(word, str):
        raise InputError(f"word must be a string, got {type(word).__name__}")


def _pack(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ends = np.cumsum([p.size for p in parts]).astype(np.int64)
    return np.concatenate(parts).astype(np.int32, copy=False), ends


def _sg(value: Any, kw: dict[str, Any]) -> None:
    """Read gensim's ``sg=``: 1 is what FastText trains (Skip-gram); 0 (CBOW) is refused (``gensim_call``).

    Parameters
    ----------
    value : object
        What ``sg=`` was given.
    kw : dict
        The constructor's keyword arguments (left as they are).

    Raises
    ------
    InputError
        For anything but 1.
    """
    if isinstance(value, bool) or value != 1:
        raise InputError(f"FastText trains Skip-gram only: sg must be 1 (or left out), got {value!r}")


FastText.__init__ = gensim_call(FastText.__init__, _sg)  # type: ignore[method-assign]
