"""GloVe: global word vectors from co-occurrence counts.

Pennington, Socher & Manning 2014, "GloVe: Global Vectors for Word Representation".

    >>> model = GloVe(dim=100, window=10, epochs=25, seed=1).fit("corpus.txt")
    >>> model.wv.most_similar("king")          # embedlab.Vectors over W + W̃ (the paper's output)
    >>> model.save("glove-model"); GloVe.load("glove-model").wv

Two stages, as in the authors' glove.c. Counting (``cooccurrence.count_cooccurrences``): a streamed pass builds
the vocabulary, then pairs at distance d <= ``window`` add 1/d to X_ij, in bounded memory (an estimate is printed
before counting). Training: AdaGrad on

    J = sum over X_ij > 0 of f(X_ij) (w_i . w̃_j + b_i + b̃_j - log X_ij)^2,   f(x) = min(1, (x / x_max) ** alpha)

with compiled ``nogil`` kernels on ``workers`` threads (Hogwild over blocks of records, visited in a seeded
order each epoch), so ``workers=1`` gives bit-identical vectors for a seed. ``loss_history_`` holds J divided by
its number of terms, per epoch (measured while training, as glove.c reports it); ``loss(cooc)`` evaluates it
exactly for the current parameters. ``fit_cooccurrence(cooc)`` trains on counts you already have.

Saved model (``save``): the folder ``formats.glove_model`` describes (``glove.json``, ``vocab.tsv``, ``W.npy``,
``W_ctx.npy``, ``b.npy``, ``b_ctx.npy``). A ``Trainer``: ``check_params()`` refuses a bad parameter before any work.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .._params import check_bool, check_float, check_int
from .._progress import progress_bar
from ..errors import CorruptFileError, InputError, ResourceLimitError
from ..formats import glove_model
from ..formats.folder import DAMAGED
from ..vectors import Vectors
from .base import Trainer, check_loss, save_folder
from .cooccurrence import Cooccurrence, count_cooccurrences
from .corpus import as_corpus, scratch_folder
from .vocab import Vocab, check_vocab_params
from .word2vec import parse_bytes

__all__ = ["GloVe"]

FORMAT, FORMAT_VERSION = glove_model.FORMAT, glove_model.FORMAT_VERSION
BLOCK_RECORDS = 1 << 15  # co-occurrence records per kernel call (the unit of threading and of shuffling)


class GloVe(Trainer):
    """GloVe trainer (Pennington et al. 2014), update for update as the authors' glove.c.

    scikit-style: the constructor only stores parameters; learned attributes end in ``_``: ``vocab_`` (``Vocab``),
    ``W_`` and ``W_ctx_`` (float32 ``(V, dim)``: word and context vectors), ``b_`` and ``b_ctx_`` (float32 ``(V,)``
    biases), ``loss_history_`` (J divided by its number of terms, one per epoch), ``cooccurrence_nnz_``,
    ``memory_estimate_`` (bytes), ``train_seconds_`` and ``records_per_sec_``.

    Defaults follow the paper; on corpora of a few million words ``x_max=10`` (the authors' demo setting) does
    better.

    Parameters
    ----------
    dim : int, default 100
        Vector width (>= 1).
    window : int, default 10
        Largest distance, in words (>= 1), of a counted pair (on one line).
    min_count : int, default 5
        Words seen fewer times (>= 1) are dropped.
    max_vocab_size : int or None, default None
        Keep at most this many of the most frequent words (>= 2; exact counts, as glove.c's ``-max-vocab``).
    x_max : float, default 100.0
        The count (> 0) at which the weighting function f(x) = min(1, (x / x_max) ** alpha) reaches 1.
    alpha : float, default 0.75
        Exponent of the weighting function (>= 0).
    lr : float, default 0.05
        AdaGrad's initial learning rate (> 0).
    epochs : int, default 25
        Passes over the co-occurrence records (>= 1).
    distance_weighting : bool, default True
        A pair at distance d adds 1/d to the count (the paper's weighting); False adds 1.
    workers : int, default 2
        Threads for counting and training (>= 1; Hogwild); ``workers=1`` gives bit-identical vectors for a seed.
    seed : int, default 1
        Seed (>= 0) of the initial parameters, the record order and the block order.
    max_memory : int, str or None, default None
        Bytes (or text such as "2GB") for the counting tables and, after them, the training matrices
        (``ResourceLimitError`` when either would not fit); None: counting takes 1 GiB and training is not capped.
    progress : bool, default True
        Show progress bars and the memory estimates on stderr.
    """

    def __init__(self, dim: int = 100, window: int = 10, min_count: int = 5, max_vocab_size: int | None = None,
                 x_max: float = 100.0, alpha: float = 0.75, lr: float = 0.05, epochs: int = 25,
                 distance_weighting: bool = True, workers: int = 2, seed: int = 1,
                 max_memory: int | str | None = None, progress: bool = True) -> None:
        self.dim, self.window, self.min_count, self.max_vocab_size = dim, window, min_count, max_vocab_size
        self.x_max, self.alpha, self.lr, self.epochs = x_max, alpha, lr, epochs
        self.distance_weighting, self.workers, self.seed = distance_weighting, workers, seed
        self.max_memory, self.progress = max_memory, progress

    def check_params(self) -> None:
        """Refuse unusable parameters; ``fit`` calls it before reading the corpus.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given.
        """
        for name in ("dim", "window", "epochs", "workers"):
            check_int(getattr(self, name), name, low=1)
        check_vocab_params(self.min_count, self.max_vocab_size)
        check_float(self.x_max, "x_max", low=0, low_open=True, hint="co-occurrence count where the weight reaches 1")
        check_float(self.alpha, "alpha", low=0, hint="exponent of the weighting function; the paper uses 0.75")
        check_float(self.lr, "lr", low=0, low_open=True, hint="AdaGrad's initial learning rate; 0.05 is glove.c's")
        check_bool(self.distance_weighting, "distance_weighting")
        check_int(self.seed, "seed", low=0)
        check_bool(self.progress, "progress")
        parse_bytes(self.max_memory)

    def estimate_memory(self, vocab_size: int) -> int:
        """Bytes for training a vocabulary of ``vocab_size`` words.

        Parameters
        ----------
        vocab_size : int
            Words kept (>= 0).

        Returns
        -------
        int
            Estimated bytes: W, W̃, the biases and their AdaGrad sums (float32, ``16 (dim + 1)`` bytes a word) plus the
            word table (about 140 bytes a word).

        Raises
        ------
        InputError
            When ``vocab_size`` is not an integer >= 0.
        """
        v = check_int(vocab_size, "vocab_size", low=0)
        return int(v * (int(self.dim) + 1) * 2 * 2 * 4 + v * 140)

    # --- training -----------------------------------------------------------------------------------------------
    def fit(self, corpus: str | os.PathLike[str] | Iterable[list[str]],
            tmp_dir: str | os.PathLike[str] | None = None) -> GloVe:
        """Count the co-occurrences of ``corpus``, then train.

        The encoded corpus and the co-occurrence records live in a temporary folder (inside ``tmp_dir`` if given),
        memory-mapped, and are deleted at the end; the counting's memory estimate is printed first.

        Parameters
        ----------
        corpus : path-like or iterable of list of str
            A UTF-8 text file or folder (one sentence per line), a ``LineCorpus`` or token lists.
        tmp_dir : path-like, optional
            An existing folder for the temporary files (about 12 bytes per distinct pair, 4 per token); default: the
            system's temporary folder.

        Returns
        -------
        GloVe
            ``self``, with ``W_``, ``W_ctx_``, ``b_``, ``b_ctx_`` and ``loss_history_``.

        Raises
        ------
        InputError
            Unusable parameters, an unreadable, empty or tiny corpus (fewer than 2 words that occur near each other),
            or training that diverges (an epoch's loss NaN or infinite: ``lr`` too large).
        ResourceLimitError
            When ``max_memory`` leaves no room to count, or the training matrices would not fit it.
        StorageFullError, ReadOnlyStorageError
            When the temporary folder cannot be written.
        """
        self.check_params()
        corpus = as_corpus(corpus)
        limit = parse_bytes(self.max_memory)
        with scratch_folder(tmp_dir, "embedlab-glove-") as tmp:
            cooc = count_cooccurrences(corpus, int(self.window), int(self.min_count), self.max_vocab_size,
                                       bool(self.distance_weighting), int(self.workers), int(self.seed), limit, 0,
                                       tmp, None, bool(self.progress))
            self.fit_cooccurrence(cooc)
            del cooc  # release the memory maps before the folder goes
        return self

    def fit_cooccurrence(self, cooc: Cooccurrence) -> GloVe:
        """Train on given counts.

        ``window``, ``min_count`` and ``max_vocab_size`` are those of the counts; the other parameters apply.

        Parameters
        ----------
        cooc : Cooccurrence
            Counts from ``cooccurrence.count_cooccurrences`` or ``Cooccurrence.load``: the upper triangle, int32 rows
            and columns and float32 values (> 0).

        Returns
        -------
        GloVe
            ``self``.

        Raises
        ------
        InputError
            Unusable parameters, not a ``Cooccurrence``, counts that are empty, out of range or not finite and > 0, or
            training that diverges (an epoch's loss NaN or infinite: ``lr`` too large).
        ResourceLimitError
            When the training matrices would need more than ``max_memory``.
        """
        self.check_params()
        if not isinstance(cooc, Cooccurrence):
            raise InputError(f"fit_cooccurrence takes a Cooccurrence (from count_cooccurrences), got {type(cooc).__name__}")
        cooc.check()
        v, d = len(cooc.vocab), int(self.dim)
        self.memory_estimate_ = self.estimate_memory(v)
        limit = parse_bytes(self.max_memory)
        if self.progress:
            print(f"glove: training {v:,} words x {d} dims on {cooc.nnz:,} co-occurrence cells; memory "
                  f"{self.memory_estimate_ / 1e6:,.1f} MB (W, W̃, biases and AdaGrad sums)", file=sys.stderr)
        if limit is not None and self.memory_estimate_ > limit:
            raise ResourceLimitError(f"training needs about {self.memory_estimate_ / 1e6:,.1f} MB ({v:,} words x {d} "
                                     f"dims) but max_memory is {limit / 1e6:,.1f} MB; raise min_count, set "
                                     "max_vocab_size, lower dim or raise max_memory")
        if v <= d:
            warnings.warn(f"the vocabulary has {v} words for {d} dimensions: the co-occurrence matrix is fitted exactly "
                          "and the vectors carry little meaning; use a larger corpus or a smaller dim", stacklevel=2)
        # training tables, one row per word: [vector (d), bias, AdaGrad sums (d + 1)]; words then contexts
        rng = np.random.default_rng(int(self.seed))
        tables = np.ones((2, v, 2 * (d + 1)), np.float32)
        tables[:, :, : d + 1] = (rng.random((2, v, d + 1), dtype=np.float32) - np.float32(0.5)) / np.float32(d)  # glove.c
        self.vocab_ = cooc.vocab
        self.loss_history_: list[float] = []
        self.cooccurrence_nnz_ = cooc.nnz
        self._train(cooc, tables[0], tables[1])
        self.W_, self.W_ctx_ = np.ascontiguousarray(tables[0, :, :d]), np.ascontiguousarray(tables[1, :, :d])
        self.b_, self.b_ctx_ = np.ascontiguousarray(tables[0, :, d]), np.ascontiguousarray(tables[1, :, d])
        return self

    def _train(self, cooc: Cooccurrence, P: np.ndarray, C: np.ndarray) -> None:
        from . import _glove_kernels as K

        d, epochs = int(self.dim), int(self.epochs)
        rows, cols, vals = cooc.rows, cooc.cols, cooc.values
        n = cooc.nnz
        starts = list(range(0, n, BLOCK_RECORDS))
        workers = min(int(self.workers), len(starts))
        x_max, alpha, lr = float(self.x_max), float(self.alpha), float(self.lr)
        bar = progress_bar(epochs * n, "glove", "rec", bool(self.progress), unit_scale=True)
        lock = threading.Lock()
        t_start = time.perf_counter()
        for e in range(epochs):
            order = iter(np.random.default_rng([int(self.seed), e]).permutation(len(starts)).tolist())
            stats = [0.0, 0, 0]  # loss, terms, records
            errors: list[BaseException] = []

            def _work(order: Iterator[int] = order, stats: list[float] = stats,
                     errors: list[BaseException] = errors, e: int = e) -> None:
                try:
                    while not errors:
                        with lock:
                            c = next(order, None)
                        if c is None:
                            return
                        a = starts[c]
                        z = min(n, a + BLOCK_RECORDS)
                        loss, terms = K.train_block(rows, cols, vals, a, z, P, C, d, x_max, alpha, lr)
                        with lock:
                            stats[0] += loss
                            stats[1] += terms
                            stats[2] += z - a
                            bar.update(z - a)
                            bar.set_postfix_str(f"epoch {e + 1}/{epochs} loss {stats[0] / max(stats[1], 1):.4f}",
                                                refresh=False)
                except BaseException as exc:  # surface kernel errors in the calling thread
                    errors.append(exc)

            if workers == 1:
                _work()
            else:
                threads = [threading.Thread(target=_work, daemon=True) for _ in range(workers)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            if errors:
                bar.close()
                raise errors[0]
            mean = stats[0] / max(stats[1], 1)
            if not np.isfinite(mean):
                bar.close()
            self.loss_history_.append(check_loss(mean, e + 1, "GloVe", "lr", lr, "--lr"))
        bar.close()
        self.train_seconds_ = float(time.perf_counter() - t_start)
        self.records_per_sec_ = float(epochs * n / max(self.train_seconds_, 1e-9))

    def loss(self, cooc: Cooccurrence) -> float:
        """The objective for the current parameters on ``cooc``, exactly, in float64.

        J / (number of terms) with J = sum over both orientations of every record of
        f(X_ij) (w_i . w̃_j + b_i + b̃_j - log X_ij)^2: what ``loss_history_`` tracks while training.

        Parameters
        ----------
        cooc : Cooccurrence
            The counts the model was trained on (same vocabulary, same order).

        Returns
        -------
        float
            The mean weighted squared error (>= 0).

        Raises
        ------
        InputError
            When the model is not trained yet, or ``cooc`` is not a ``Cooccurrence`` over the model's vocabulary.
        """
        from . import _glove_kernels as K

        self._require_trained("evaluate")
        if not isinstance(cooc, Cooccurrence) or cooc.vocab.words != self.vocab_.words:
            raise InputError("loss needs the Cooccurrence the model was trained on (same vocabulary, same order)")
        total, terms = K.loss_sum(cooc.rows, cooc.cols, cooc.values, self.W_, self.W_ctx_, self.b_, self.b_ctx_,
                                  float(self.x_max), float(self.alpha))
        return float(total / max(terms, 1))

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
        """W + W̃ as ``embedlab.Vectors`` (keys most frequent first): the paper's word vectors.

        Returns
        -------
        Vectors
            ``V`` keys and a float32 ``(V, dim)`` matrix (a new array, the sum of ``W_`` and ``W_ctx_``).

        Raises
        ------
        InputError
            When the model is not trained yet.
        """
        self._require_trained("use")
        return Vectors(self.vocab_.words, self.W_ + self.W_ctx_)

    def _require_trained(self, act: str) -> None:
        if not self.is_fitted:
            raise InputError(f"nothing to {act}: the model is not trained yet; call fit(corpus) first")

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the model as ``folder``, atomically (temp folder + rename).

        The folder is ``formats.glove_model``'s (``glove.json``, ``vocab.tsv``, ``W.npy``, ``W_ctx.npy``, ``b.npy``,
        ``b_ctx.npy``); ``GloVe.load`` and ``embedlab.load_vectors`` read it.

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
        self._require_trained("save")
        folder = Path(folder)
        with save_folder(folder) as tmp:
            self.write_files(tmp)
        return folder

    def write_files(self, folder: str | os.PathLike[str]) -> None:
        """Write the model's files into ``folder``, an existing folder the caller publishes itself.

        For example the temp folder of ``persist.atomic_folder``, beside ``vectors.txt``; ``save`` is this plus the
        atomic rename.

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
        self._require_trained("save")
        params = self.get_params()
        params["max_memory"] = parse_bytes(self.max_memory)
        glove_model.write(Path(folder), glove_model.GloVeFolder(
            params, self.vocab_.to_file(), {name: getattr(self, f"{name}_") for name in glove_model.ARRAYS},
            list(self.loss_history_), getattr(self, "cooccurrence_nnz_", None), getattr(self, "train_seconds_", None)))

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> GloVe:
        """Read a model written by ``save``.

        Parameters
        ----------
        folder : path-like
            A folder written by ``save`` (or ``embedlab train glove -o``).

        Returns
        -------
        GloVe
            The model, fitted.

        Raises
        ------
        CorruptFileError
            Naming the file for a missing or damaged manifest, vocabulary or array (each checked against the vocabulary
            before it is read), or unusable parameters.
        FormatVersionError
            For a folder from a newer embedlab.
        """
        folder = Path(folder)
        data = glove_model.read(folder)
        try:
            model = cls(**data.params)
            model.check_params()
        except (TypeError, InputError) as exc:
            raise CorruptFileError(f"{folder / glove_model.MANIFEST} holds unusable parameters ({exc}); "
                                   f"{DAMAGED}") from None
        model.vocab_ = Vocab.from_file(data.vocab, folder / "vocab.tsv")
        for name, arr in data.arrays.items():
            setattr(model, f"{name}_", arr)
        model.loss_history_ = list(data.loss_history)
        return model

    def __repr__(self) -> str:
        state = f", vocab={len(self.vocab_)}" if hasattr(self, "vocab_") else ""
        return f"GloVe(dim={self.dim}, window={self.window}, x_max={self.x_max}, alpha={self.alpha}{state})"
