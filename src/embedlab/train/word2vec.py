"""Word2Vec: Skip-gram and CBOW with negative sampling and/or hierarchical softmax, trained on a streamed corpus.

    >>> model = Word2Vec(dim=100, arch="skipgram", epochs=5, seed=1).fit("corpus.txt")
    >>> model.wv.most_similar("king")          # embedlab.Vectors over the input matrix W
    >>> model.save("w2v-model"); Word2Vec.load("w2v-model").train_more("more.txt", epochs=1)

How it runs: one streaming pass counts words and writes the corpus as int32 ids to a temporary memory-mapped
file; every epoch then feeds blocks of ~10k words, in a seeded random order (``shuffle=False``: file order),
to compiled ``nogil`` kernels on ``workers`` Python threads (Hogwild, like word2vec.c). Subsampling, the dynamic
window and negative sampling (alias table over count^0.75) run inside the kernel with a generator seeded from
(seed, epoch, block), so ``workers=1`` gives bit-identical vectors for a seed. The learning rate falls linearly
from ``alpha`` to ``min_alpha`` with the share of sentences trained (gensim's schedule).

Saved model (``save``): the folder ``formats.word2vec_model`` describes — ``model.json`` (parameters, training
state), ``vocab.tsv``, ``W.npy`` (input vectors), ``W_out.npy`` and/or ``W_hs.npy``. ``write_files(folder)`` writes
the same files into a folder its caller publishes (the CLI puts them beside ``vectors.txt`` in one
``persist.atomic_folder``). A ``Trainer``: ``check_params()`` refuses a bad parameter before any work.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .._params import check_bool, check_choice, check_float, check_int
from .._progress import progress_bar, working
from ..errors import CorruptFileError, InputError, ResourceLimitError
from ..formats import word2vec_model
from ..formats.folder import DAMAGED
from ..vectors import Vectors
from ._eta import BAR_FORMAT, WarmEta
from .base import Trainer, check_loss, save_folder
from .corpus import EncodedCorpus, as_corpus, is_reiterable, scratch_folder
from .gensim_call import gensim_call
from .vocab import Vocab, check_sample, check_vocab_params, check_vocab_size

FORMAT, FORMAT_VERSION = word2vec_model.FORMAT, word2vec_model.FORMAT_VERSION
BLOCK_WORDS = 10_000  # words per training block (one kernel call; the unit of threading and of shuffling)
SKIPGRAM_BATCH = 16  # Skip-gram's default minibatch: every context word of a centre (window <= 8) shares negatives
CBOW_BATCH = 16  # CBOW's default minibatch: one centre from each of 16 sentences trained side by side
COMPILING = "word2vec: compiling the training kernels (once per machine; later runs load them from numba's cache)"


def parse_bytes(value: int | float | str | None, name: str = "max_memory") -> int | None:
    """Read a memory size: '2GB', '512 MiB', '1e9' or a positive number of bytes.

    Parameters
    ----------
    value : int, float, str or None
        A number of bytes (> 0), or text: a number and an optional unit — k, M, G, T (powers of 1000) or KiB, MiB,
        GiB, TiB (powers of 1024), case-insensitive, the trailing B optional. None stays None.
    name : str
        The parameter's name, for the error message.

    Returns
    -------
    int or None
        The size in bytes (rounded down), or None for None.

    Raises
    ------
    InputError
        Naming ``name`` for a bool, NaN, infinity, zero or less, or text that holds no size.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        return int(check_float(value, name, low=0, low_open=True, hint="a number of bytes, or text such as 2GB"))
    m = re.fullmatch(r"\s*([0-9.eE+]+)\s*([kKmMgGtT]?)(i?[bB])?\s*", value)
    try:
        number = float(m.group(1)) if m else None
    except ValueError:  # digits and dots that are no number, e.g. 1.2.3
        number = None
    if m is None or number is None:
        raise InputError(f"cannot read a memory size from {value!r} ({name}); write e.g. 2GB, 512MB or a number of "
                         "bytes")
    scale = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[m.group(2).lower()]
    if m.group(3) and m.group(3).lower().startswith("i"):
        scale = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[m.group(2).lower()]
    return int(check_float(number * scale, name, low=0, low_open=True, hint=f"read from {value!r}"))


class Word2Vec(Trainer):
    """Skip-gram / CBOW with negative sampling and/or hierarchical softmax (Mikolov et al. 2013).

    gensim's ``vector_size=`` is taken as ``dim`` (``param_aliases``); gensim's other names here are the same.
    gensim's call works too: ``Word2Vec(sentences, vector_size=100, sg=1)`` (or ``sentences=`` /
    ``corpus_file=``) trains at once, as gensim's constructor does, with ``sg=1`` / ``0`` meaning
    ``arch="skipgram"`` / ``"cbow"``; embedlab's defaults apply to what is not given (Skip-gram, ``min_count=5``),
    and ``hs`` stays True / False (gensim's 0 / 1 are refused, naming the accepted values).

    The update rule is word2vec.c's (sigmoid tables, dynamic window, subsampling formula, alias-table noise), the
    learning-rate schedule gensim's (linear in the share of sentences trained). scikit-style: the constructor only
    stores parameters; ``fit`` sets the learned attributes, ending in ``_``: ``vocab_`` (``Vocab``, most frequent
    first), ``W_`` (float32 ``(V, dim)``, the input vectors, what ``wv`` shows), ``W_out_`` (float32 ``(V, dim)``
    negative-sampling output vectors, or None), ``W_hs_`` (float32 ``(V, dim)`` hierarchical-softmax inner nodes, or
    None), ``loss_history_`` (mean loss per output unit, one per epoch), ``epochs_trained_``, ``words_per_sec_``,
    ``train_seconds_``, ``corpus_tokens_`` and ``memory_estimate_`` (bytes).

    Parameters
    ----------
    dim : int, default 100
        Vector width (>= 1).
    window : int, default 5
        Largest distance, in words (>= 1), between a centre and a context word; each position draws its own window
        uniformly from 1 to ``window`` (word2vec.c's dynamic window).
    arch : {"skipgram", "cbow"}, default "skipgram"
        Skip-gram predicts every context word from the centre word; CBOW predicts the centre word from the mean of
        its context words.
    negative : int, default 5
        Noise words per positive pair (>= 0), drawn from count^0.75; 0 with ``hs=True`` for pure hierarchical
        softmax.
    hs : bool, default False
        Add hierarchical softmax over a Huffman tree of the vocabulary.
    sample : float, default 1e-3
        Frequent-word subsampling threshold (>= 0): a word seen c times among T tokens is kept with probability
        ``min(1, (sqrt(c / (sample T)) + 1) sample T / c)``; 0 keeps every word; 1e-3 to 1e-5 are usual.
    min_count : int, default 5
        Words seen fewer times (>= 1) are dropped.
    max_vocab_size : int or None, default None
        Keep at most this many words (>= 2), counting in bounded memory as word2vec.c does (then the corpus is read
        twice, so it must be re-iterable); None: no limit.
    alpha : float or None, default None
        Initial learning rate (> 0); None means 0.025 for Skip-gram and 0.05 for CBOW (word2vec.c's defaults).
    min_alpha : float, default 1e-4
        Learning rate at the end of training (>= 0).
    epochs : int, default 5
        Passes over the corpus (>= 1).
    workers : int, default 2
        Python threads running the compiled ``nogil`` kernel (>= 1; Hogwild); ``workers=1`` gives bit-identical
        vectors for a seed.
    seed : int, default 1
        Seed (>= 0) of the initial vectors, the block order and every random draw.
    shuffle : bool, default True
        Visit the ~10k-word blocks in a seeded random order each epoch (False: file order).
    max_memory : int, str or None, default None
        Refuse to train (``ResourceLimitError``) when vocabulary plus matrices would need more than this many bytes:
        an int, or text such as "2GB" or "512 MiB" (see ``parse_bytes``); None: no limit.
    progress : bool, default True
        Show a progress bar (its time left once the speed has been measured) and the memory estimate on stderr.
    batch_size : int or None, default None
        Inputs that share one set of negative samples (HogBatch minibatching, Ji et al. 2016; >= 1): Skip-gram
        groups up to this many context words of one centre, whose vectors all predict that centre, so each output
        row is read and updated once per group; CBOW trains this many sentences side by side and groups one centre
        of each. 1 draws noise words per pair as word2vec.c does (the vectors of embedlab before 2026-12, bit for
        bit). None: 16 for both (Skip-gram: a whole window, 1.4-1.6x the kernel's words/s; CBOW: 1.3-1.5x; both at the
        per-pair quality within seed noise on the benchmark corpus, see BENCHMARKS.md).
    """

    param_aliases = {"vector_size": "dim"}  # gensim's name

    def __init__(self, dim: int = 100, window: int = 5, arch: str = "skipgram", negative: int = 5, hs: bool = False,
                 sample: float = 1e-3, min_count: int = 5, max_vocab_size: int | None = None, alpha: float | None = None,
                 min_alpha: float = 1e-4, epochs: int = 5, workers: int = 2, seed: int = 1, shuffle: bool = True,
                 max_memory: int | str | None = None, progress: bool = True, batch_size: int | None = None) -> None:
        self.dim, self.window, self.arch, self.negative, self.hs = dim, window, arch, negative, hs
        self.sample, self.min_count, self.max_vocab_size = sample, min_count, max_vocab_size
        self.alpha, self.min_alpha, self.epochs, self.workers, self.seed = alpha, min_alpha, epochs, workers, seed
        self.shuffle, self.max_memory, self.progress = shuffle, max_memory, progress
        self.batch_size = batch_size

    # --- validation and sizing --------------------------------------------------------------------------------
    def check_params(self) -> None:
        """Refuse unusable parameters; ``fit`` and ``train_more`` call it before reading the corpus.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given; also for ``negative=0`` without
            ``hs`` (nothing to train).
        """
        check_choice(self.arch, "arch", ("skipgram", "cbow"))
        for name in ("dim", "window", "epochs", "workers"):
            check_int(getattr(self, name), name, low=1)
        check_int(self.batch_size, "batch_size", low=1, none=True,
                  hint="inputs sharing one set of negative samples; 1 samples per pair as word2vec.c")
        check_int(self.negative, "negative", low=0, hint="noise words per pair; 0 with hs=True for pure "
                                                       "hierarchical softmax")
        check_bool(self.hs, "hs")
        if self.negative == 0 and not self.hs:
            what = "nothing to train: set negative > 0 (negative sampling) and/or "
            raise InputError(what + "hs=True (hierarchical softmax)",
                             cli="nothing to train: give --negative above 0 (negative sampling) and/or --hs "
                                 "(hierarchical softmax)")
        check_sample(self.sample)
        check_float(self.alpha, "alpha", low=0, low_open=True, none=True,
                    hint="None means 0.025 for skipgram, 0.05 for cbow")
        check_float(self.min_alpha, "min_alpha", low=0, hint="the learning rate at the end of training")
        check_vocab_params(self.min_count, self.max_vocab_size)
        check_int(self.seed, "seed", low=0)
        check_bool(self.shuffle, "shuffle")
        check_bool(self.progress, "progress")
        parse_bytes(self.max_memory)

    @property
    def effective_batch_size(self) -> int:
        """The minibatch the kernel uses: ``batch_size``, or for None 16 (``SKIPGRAM_BATCH`` / ``CBOW_BATCH``).

        Returns
        -------
        int
            Inputs that share one set of negative samples (>= 1); 1 is word2vec.c's per-pair sampling.
        """
        if self.batch_size is not None:
            return int(self.batch_size)
        return SKIPGRAM_BATCH if self.arch == "skipgram" else CBOW_BATCH

    @property
    def _alpha0(self) -> float:
        return float(self.alpha) if self.alpha is not None else (0.025 if self.arch == "skipgram" else 0.05)

    def _block_order(self, n_blocks: int, epoch: int) -> np.ndarray:
        """The order in which an epoch visits the ~10k-word blocks: file order, or a seeded permutation.

        With ``shuffle`` the permutation is seeded by (seed, epoch). Corpora are often files concatenated by source or
        topic; visited in file order, the part read last is learnt at the lowest learning rate and pulls the vectors its
        way (on the benchmark corpus, dictionary then Bible, file order cost 0.010-0.012 analogy accuracy). Blocks keep
        sentences intact.
        """
        if not self.shuffle:
            return np.arange(n_blocks)
        return np.random.default_rng([int(self.seed), int(epoch)]).permutation(n_blocks)

    def estimate_memory(self, vocab_size: int) -> int:
        """Bytes needed to train a vocabulary of ``vocab_size`` words: word table, sampling tables and matrices.

        Parameters
        ----------
        vocab_size : int
            Words kept (>= 0).

        Returns
        -------
        int
            Estimated bytes: about 140 per word for the word and sampling tables (plus the Huffman codes with ``hs``)
            and ``4 * dim`` per word for each float32 matrix (``W_``, and ``W_out_`` and/or ``W_hs_``).

        Raises
        ------
        InputError
            When ``vocab_size`` is not an integer >= 0.
        """
        v = check_int(vocab_size, "vocab_size", low=0)
        vocab = v * (120 + 8 + 4 + 8)  # Python str + dict entry, count, keep probability, alias table
        if self.hs:
            depth = max(1, int(np.ceil(np.log2(max(v, 2)))) + 8)
            vocab += v * depth * 5 + v * 4
        mats = v * int(self.dim) * 4 * (1 + (int(self.negative) > 0) + bool(self.hs))
        return int(vocab + mats)

    def _check_memory(self, vocab_size: int) -> int:
        need = self.estimate_memory(vocab_size)
        mats = vocab_size * int(self.dim) * 4 * (1 + (int(self.negative) > 0) + bool(self.hs))
        limit = parse_bytes(self.max_memory)
        if self.progress:
            print(f"word2vec: {vocab_size:,} words x {self.dim} dims; estimated memory {need / 1e6:,.1f} MB "
                  f"(vocabulary {(need - mats) / 1e6:,.1f} MB + matrices {mats / 1e6:,.1f} MB)", file=sys.stderr)
        if limit is not None and need > limit:
            raise ResourceLimitError(
                f"training would need about {need / 1e6:,.1f} MB ({vocab_size:,} words x {self.dim} dims) but "
                f"max_memory is {limit / 1e6:,.1f} MB; raise min_count, set max_vocab_size, lower dim or raise max_memory")
        return need

    # --- training -----------------------------------------------------------------------------------------------
    def fit(self, corpus: str | os.PathLike[str] | Iterable[list[str]],
            tmp_dir: str | os.PathLike[str] | None = None) -> Word2Vec:
        """Build the vocabulary in one streaming pass, then train ``epochs`` epochs.

        The corpus is cached as int32 ids (4 bytes a token) in a temporary folder, inside ``tmp_dir`` if given, and
        deleted at the end.

        Parameters
        ----------
        corpus : path-like or iterable of list of str
            A UTF-8 text file (``.gz`` too) or a folder of them, one sentence per line, split on whitespace; a
            ``LineCorpus``; or token lists (``max_vocab_size`` needs one that can be read twice, not a generator).
        tmp_dir : path-like, optional
            An existing folder for the encoded corpus; default: the system's temporary folder.

        Returns
        -------
        Word2Vec
            ``self``, with ``vocab_``, ``W_`` (float32 ``(V, dim)``), ``W_out_`` / ``W_hs_`` and ``loss_history_``.

        Raises
        ------
        InputError
            Unusable parameters, an unreadable or empty corpus, fewer than 2 words left by ``min_count``, a one-shot
            iterator with ``max_vocab_size``, or a ``tmp_dir`` that is not a folder.
        ResourceLimitError
            When the estimated memory exceeds ``max_memory``.
        StorageFullError, ReadOnlyStorageError
            When the temporary folder cannot be written.
        """
        self.check_params()
        corpus = as_corpus(corpus)
        with scratch_folder(tmp_dir, "embedlab-w2v-") as tmp:
            enc, vocab = self._encode_new(corpus, tmp)
            check_vocab_size(len(vocab), int(self.min_count), "word2vec needs at least 2", self.max_vocab_size)
            self.memory_estimate_ = self._check_memory(len(vocab))
            self.vocab_ = vocab
            rng = np.random.default_rng(int(self.seed))
            d = int(self.dim)
            self.W_ = rng.random((len(vocab), d), dtype=np.float32)  # uniform [-1/dim, 1/dim), as gensim 4
            self.W_ *= np.float32(2.0)
            self.W_ -= np.float32(1.0)
            self.W_ /= np.float32(d)
            self.W_out_ = np.zeros((len(vocab), d), np.float32) if int(self.negative) > 0 else None
            self.W_hs_ = np.zeros((len(vocab), d), np.float32) if self.hs else None
            self.loss_history_: list[float] = []
            self.epochs_trained_ = 0
            self._train(enc, int(self.epochs))
        return self

    def train_more(self, corpus: str | os.PathLike[str] | Iterable[list[str]], epochs: int = 1,
                   tmp_dir: str | os.PathLike[str] | None = None) -> Word2Vec:
        """Continue training on ``corpus`` with the existing vocabulary (new words are ignored).

        The learning rate decays again from ``alpha`` to ``min_alpha`` over these epochs; ``epochs_trained_`` and
        ``loss_history_`` continue.

        Parameters
        ----------
        corpus : path-like or iterable of list of str
            As for ``fit``.
        epochs : int, default 1
            Passes over ``corpus`` (>= 1).
        tmp_dir : path-like, optional
            An existing folder for the encoded corpus; default: the system's temporary folder.

        Returns
        -------
        Word2Vec
            ``self``.

        Raises
        ------
        InputError
            When the model is not trained yet, for unusable parameters or ``epochs``, or when no word of ``corpus``
            is in the vocabulary.
        StorageFullError, ReadOnlyStorageError
            When the temporary folder cannot be written.
        """
        if not self.is_fitted:
            raise InputError("train_more needs a trained model; call fit first or Word2Vec.load(folder)")
        self.check_params()
        epochs = check_int(epochs, "epochs", low=1)
        with scratch_folder(tmp_dir, "embedlab-w2v-") as tmp:
            enc, _, _ = EncodedCorpus.write(as_corpus(corpus), tmp, lookup=self.vocab_.word_to_index)
            enc.compact(None)
            if enc.n_tokens == 0:
                raise InputError("no word of this corpus is in the model's vocabulary; nothing to train on")
            self._train(enc, epochs)
        return self

    def _encode_new(self, corpus: Iterable[list[str]], tmp: Path) -> tuple[EncodedCorpus, Vocab]:
        bar = self._bar(None, "reading corpus", "w")
        try:
            if self.max_vocab_size is None:  # one pass: count and encode with first-occurrence ids
                enc, vocab = EncodedCorpus.write_ranked(corpus, tmp, int(self.min_count), progress=bar)
            else:  # bounded memory: a pruned count first, then encode with the final vocabulary
                if not is_reiterable(corpus):
                    raise InputError("max_vocab_size needs two passes over the corpus; pass a path, a LineCorpus or a list, not a generator")
                vocab = Vocab.build(corpus, int(self.min_count), int(self.max_vocab_size))
                enc, _, _ = EncodedCorpus.write(corpus, tmp, lookup=vocab.word_to_index, progress=bar)
                enc.compact(None)
        finally:
            if bar is not None:
                bar.close()
        return enc, vocab

    def _bar(self, total: int | None, desc: str, unit: str, bar_format: str | None = None) -> Any:
        if not self.progress:
            return None
        return progress_bar(total, desc, unit, unit_scale=True, bar_format=bar_format)

    def _train(self, enc: EncodedCorpus, epochs: int) -> None:
        from . import _batch_kernels as B
        from . import _kernels as K

        vocab, d = self.vocab_, int(self.dim)
        batch = self.effective_batch_size
        keep = vocab.keep_probabilities(float(self.sample))
        if int(self.negative) > 0:
            alias_p, alias_i = K.build_alias(vocab.noise_distribution(0.75))
        else:
            alias_p, alias_i = np.ones(1, np.float32), np.zeros(1, np.int32)
        if self.hs:
            codes, points, code_len = K.build_huffman(vocab.counts)
        else:
            codes, points, code_len = np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32), np.zeros(1, np.int32)
        dummy = np.zeros((1, d), np.float32)
        Wn = self.W_out_ if self.W_out_ is not None else dummy
        Wh = self.W_hs_ if self.W_hs_ is not None else dummy
        sig, logsig = K.make_tables()
        tokens, lengths = np.asarray(enc.tokens), np.asarray(enc.lengths)
        chunks = enc.chunks(BLOCK_WORDS)
        block_sentences = np.array([s1 - s0 for _, s0, s1 in chunks], np.int64)
        n, ns = enc.n_tokens, enc.n_sentences
        total = float(epochs) * ns  # the learning rate decays by sentences (see _kernels.train_chunk)
        sg = self.arch == "skipgram"
        a0, a1 = self._alpha0, float(self.min_alpha)
        workers = min(int(self.workers), max(len(chunks), 1))  # a thread per block at most

        def _kernel(tok: np.ndarray, ln: np.ndarray, pos0: float, seed: np.uint64) -> tuple[float, int, int]:
            args = (tok, ln, self.W_, Wn, Wh, keep, alias_p, alias_i, codes, points, code_len, sg, int(self.negative),
                    bool(self.hs), int(self.window), a0, a1, pos0, total, seed, sig, logsig)
            if batch == 1:
                return K.train_chunk(*args)
            return B.train_chunk_batched(*args, batch)

        # the kernel loaded (or, the first time on a machine, compiled: a minute) before the bar opens, so the bar's
        # first rate is the training's; no sentence, so nothing trains. Off a terminal the line shows only when the
        # step takes over a second: when the kernels compile, not when numba's cache holds them.
        with working(COMPILING, self.progress):
            _kernel(tokens[:0], lengths[:0], 0.0, np.uint64(0))
        bar = self._bar(epochs * n, "word2vec", "w", BAR_FORMAT)  # our time left, not tqdm's (see _eta)
        eta = WarmEta(epochs * n)
        lock = threading.Lock()
        t_start = time.perf_counter()
        def _run_epoch(e: int) -> None:  # one epoch: its blocks shared out to the worker threads
            global_epoch = self.epochs_trained_ + e
            stats = [0.0, 0, 0, 0]  # loss, loss terms, words, sentences
            errors: list[BaseException] = []
            order = self._block_order(len(chunks), global_epoch)
            first = np.empty(len(chunks), np.int64)  # sentences trained before each block in this epoch's order
            first[order] = np.cumsum(block_sentences[order]) - block_sentences[order]
            next_chunk = iter(order.tolist())

            def _worker() -> None:
                try:
                    _train_blocks()
                except BaseException as exc:  # surface kernel errors in the calling thread
                    errors.append(exc)

            def _train_blocks() -> None:
                while True:
                    if errors:
                        return
                    with lock:
                        c = next(next_chunk, None)
                    if c is None:
                        return
                    t0, s0, s1 = chunks[c]
                    ln = lengths[s0:s1]
                    nt = int(ln.sum())
                    seed = np.uint64((int(self.seed) * 0x9E3779B97F4A7C15 + global_epoch * 0xD1B54A32D192ED03
                                      + c * 0x8CB92BA72F3D8DD7) % (1 << 64))
                    loss, nl, _ = _kernel(tokens[t0:t0 + nt], ln, float(e * ns + first[c]), seed)
                    with lock:
                        stats[0] += loss
                        stats[1] += nl
                        stats[2] += nt
                        stats[3] += s1 - s0
                        if bar is not None:  # the postfix first, so the frame update() may print is current
                            el = time.perf_counter() - t_start
                            lr = max(a1, a0 - (a0 - a1) * (e * ns + stats[3]) / total)
                            left = eta.text(int(e * n + stats[2]), el)
                            bar.set_postfix_str(f"epoch {e + 1}/{epochs} lr {lr:.5f} loss {stats[0] / max(stats[1], 1):.4f} "
                                                f"{(e * n + stats[2]) / max(el, 1e-9):,.0f} w/s"
                                                + (f" {left}" if left else ""), refresh=False)
                            bar.update(nt)

            if workers == 1:
                _worker()
            else:
                threads = [threading.Thread(target=_worker, daemon=True) for _ in range(workers)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            if errors:
                if bar is not None:
                    bar.close()
                raise errors[0]
            mean = stats[0] / max(stats[1], 1)
            if bar is not None and not np.isfinite(mean):
                bar.close()
            self.loss_history_.append(check_loss(mean, self.epochs_trained_ + e + 1, "word2vec", "alpha", a0, "--alpha"))
            if bar is not None:
                bar.refresh()  # each epoch's last state is drawn, however fast the epoch ran (tqdm's mininterval)

        for e in range(epochs):
            _run_epoch(e)
        elapsed = time.perf_counter() - t_start
        if bar is not None:
            bar.close()
        self.epochs_trained_ += epochs
        self.words_per_sec_ = float(epochs * n / max(elapsed, 1e-9))
        self.train_seconds_ = float(elapsed)
        self.corpus_tokens_ = int(n)

    # --- results ------------------------------------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        """Whether the model holds trained vectors (after ``fit`` or ``load``).

        Returns
        -------
        bool
            True when ``W_`` exists.
        """
        return hasattr(self, "W_")

    @property
    def wv(self) -> Vectors:
        """The input vectors ``W_`` as ``embedlab.Vectors`` (keys most frequent first; shares memory with the model).

        Returns
        -------
        Vectors
            ``V`` keys and a float32 ``(V, dim)`` matrix.

        Raises
        ------
        InputError
            When the model is not trained yet.
        """
        if not self.is_fitted:
            raise InputError("the model is not trained yet; call fit(corpus) first")
        return Vectors(self.vocab_.words, self.W_)

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the full model (to continue training later) as ``folder``, atomically (temp folder + rename).

        The folder is ``formats.word2vec_model``'s: ``model.json``, ``vocab.tsv``, ``W.npy`` and ``W_out.npy`` and/or
        ``W_hs.npy``; ``Word2Vec.load`` and ``embedlab.load_vectors`` read it.

        Parameters
        ----------
        folder : path-like
            The output folder (an earlier embedlab output there is replaced whole; a file or a folder of other files is refused, see ``base.save_folder``).

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
        self.require_fitted("save")
        folder = Path(folder)
        with save_folder(folder) as tmp:
            self.write_files(tmp)
        return folder

    def write_files(self, folder: str | os.PathLike[str]) -> None:
        """Write the model's files into ``folder``, an existing folder the caller publishes itself.

        For example the temp folder of ``persist.atomic_folder``, beside other outputs (the CLI writes ``vectors.txt``
        there too); ``save`` is this plus the atomic rename.

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
        self.require_fitted("save")
        params = self.get_params()
        params["max_memory"] = parse_bytes(self.max_memory)
        word2vec_model.write(Path(folder), word2vec_model.Word2VecFolder(
            params=params, vocab=self.vocab_.to_file(), W=self.W_, W_out=self.W_out_, W_hs=self.W_hs_,
            epochs_trained=self.epochs_trained_, loss_history=list(self.loss_history_),
            words_per_sec=getattr(self, "words_per_sec_", None), corpus_tokens=getattr(self, "corpus_tokens_", None)))

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Word2Vec:
        """Read a model written by ``save`` (ready for ``wv`` or ``train_more``).

        Parameters
        ----------
        folder : path-like
            A folder written by ``save`` (or ``embedlab train word2vec -o``).

        Returns
        -------
        Word2Vec
            The model, fitted: ``vocab_``, ``W_`` and the output matrices as saved.

        Raises
        ------
        CorruptFileError
            Naming the file for a missing or damaged ``model.json``, vocabulary or matrix (each matrix's header is
            checked against the vocabulary before it is read), or unusable parameters.
        FormatVersionError
            For a folder from a newer embedlab.
        """
        folder = Path(folder)
        data = word2vec_model.read(folder)
        try:
            model = cls(**data.params)
            model.check_params()
        except (TypeError, InputError) as exc:
            raise CorruptFileError(f"{folder / word2vec_model.MANIFEST} holds unusable parameters ({exc}); "
                                   f"{DAMAGED}") from None
        model.vocab_ = Vocab.from_file(data.vocab, folder / "vocab.tsv")
        model.W_, model.W_out_, model.W_hs_ = data.W, data.W_out, data.W_hs
        model.loss_history_ = list(data.loss_history)
        model.epochs_trained_ = data.epochs_trained
        if data.words_per_sec is not None:
            model.words_per_sec_ = data.words_per_sec
        return model

    def __repr__(self) -> str:
        state = f", vocab={len(self.vocab_)}" if hasattr(self, "vocab_") else ""
        return f"Word2Vec(arch={self.arch!r}, dim={self.dim}, window={self.window}, negative={self.negative}, hs={self.hs}{state})"



def _sg(value: Any, kw: dict[str, Any]) -> None:
    """Read gensim's ``sg=1`` / ``0`` as ``arch="skipgram"`` / ``"cbow"`` (``gensim_call``).

    Parameters
    ----------
    value : object
        What ``sg=`` was given.
    kw : dict
        The constructor's keyword arguments; ``arch`` is set in it.

    Raises
    ------
    TypeError
        When ``arch=`` is given too.
    InputError
        For anything but 1 or 0.
    """
    if "arch" in kw:
        raise TypeError("Word2Vec got both arch= and sg= (gensim's name of arch); pass one")
    if isinstance(value, bool) or value not in (0, 1):
        raise InputError(f"sg must be 1 (Skip-gram) or 0 (CBOW), got {value!r}; or write arch='skipgram' / 'cbow'")
    kw["arch"] = "skipgram" if value == 1 else "cbow"


Word2Vec.__init__ = gensim_call(Word2Vec.__init__, _sg)  # type: ignore[method-assign]
