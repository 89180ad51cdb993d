"""The textbook Word2Vec: CBOW and Skip-gram with a full softmax, in plain numpy, exactly as derived.

Notation (as in Mikolov et al. 2013 and Rong, "word2vec Parameter Learning Explained"):
``V`` vocabulary size, ``d`` embedding dimension, ``c`` number of context words, ``W`` the input matrix
(V x d), ``W'`` the output matrix (d x V).

CBOW, one example (context words -> centre word ``o``)::

    X  = one-hot rows of the c context words            (c x V)
    h  = (1/c) * 1ᵀ X W  = mean of the c rows of W       (d)
    u  = h W'                                            (V)    one score per vocabulary word
    ŷ  = softmax(u)                                      (V)
    L  = -log ŷ[o]                                       cross-entropy against the one-hot centre word
    e  = ŷ - t                                           (V)    t = one-hot(o)
    ∂L/∂W' = h eᵀ                                        (d x V)
    ∂L/∂h  = W' e                                        (d)
    ∂L/∂W  = Xᵀ (1/c) 1 (∂L/∂h)ᵀ  -> each context row of W gets (1/c) ∂L/∂h

Skip-gram, one example (centre word -> c context words ``o_1..o_c``)::

    h  = W[centre]                                       (d)    the centre word's one-hot times W
    ŷ  = softmax(h W')                                   (V)    one distribution shared by the c panels
    L  = -Σ_j log ŷ[o_j]                                 cross-entropy summed over the context words
    e  = c ŷ - Σ_j t_j                                   (V)
    ∂L/∂W' = h eᵀ,  ∂L/∂W[centre] = W' e

Both are one rule: an example averages its *input* rows into ``h`` and sums cross-entropy over its *target*
words (CBOW: inputs = context, one target; Skip-gram: one input, targets = context). The code below works on a
mini-batch of B examples with padded id arrays; B = 1 is the textbook's plain SGD. Every step costs O(V d):
the full softmax touches every output vector, which is why the fast trainers use negative sampling.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from .._params import check_bool, check_choice, check_float, check_int, check_strings, k_from_topn
from .._progress import progress_bar
from ..errors import InputError, UnknownKeyError
from ..vectors import Vectors
from .base import Trainer
from .vocab import check_vocab_size

Arch = Literal["cbow", "skipgram"]


def _pad(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Ragged id lists -> (B, m) int64 ids (padding 0) and a (B, m) boolean mask of real entries."""
    m = max(len(r) for r in rows)
    ids = np.zeros((len(rows), m), dtype=np.int64)
    mask = np.zeros((len(rows), m), dtype=bool)
    for b, r in enumerate(rows):
        ids[b, : len(r)] = r
        mask[b, : len(r)] = True
    return ids, mask


class TextbookWord2Vec(Trainer):
    """Word2Vec with a full softmax, for small vocabularies and for teaching (Mikolov et al. 2013; Rong 2014).

    The forward pass, loss and gradients are the module docstring's equations, in plain numpy, on mini-batches of
    padded id arrays (``batch_size=1`` is the textbook's plain SGD). Learned: ``vocab_`` (list of str, most frequent
    first), ``word_to_id_``, ``counts_`` (int64 ``(V,)``), ``W_`` (``(V, dim)`` input matrix) and ``W_prime_``
    (``(dim, V)`` output matrix) in ``dtype``, ``loss_history_`` (mean cross-entropy per example, one per epoch) and
    ``epoch_seconds_``.

    Parameters
    ----------
    arch : {"cbow", "skipgram"}, default "cbow"
        CBOW predicts the centre word from the mean of its context; Skip-gram the context words from the centre.
    dim : int, default 10
        Vector width (>= 1).
    window : int, default 2
        Context words on each side (>= 1); fixed, not sampled.
    lr : float, default 0.05
        SGD learning rate (> 0), divided by the batch size.
    epochs : int, default 100
        Passes over the examples (>= 1), shuffled each epoch.
    seed : int, default 0
        Seed (>= 0) of the initial weights and the example order.
    min_count : int, default 1
        Words seen fewer times (>= 1) are dropped.
    batch_size : int, default 1
        Examples per update (>= 1).
    dtype : {"float32", "float64"}, default "float32"
        Precision of the weights (float64 is for gradient checks).
    progress : bool, default False
        Show a progress bar over the examples of every epoch (off when stderr is not a terminal).

    Examples
    --------
    >>> m = TextbookWord2Vec("cbow", dim=10, window=2, epochs=200, seed=0).fit([["the", "cat", "sat"]])
    >>> m.predict(["the", "sat"], k=1)
    """

    def __init__(
        self,
        arch: Arch = "cbow",
        dim: int = 10,
        window: int = 2,
        lr: float = 0.05,
        epochs: int = 100,
        seed: int = 0,
        min_count: int = 1,
        batch_size: int = 1,
        dtype: str = "float32",
        progress: bool = False,
    ) -> None:
        self.arch = arch
        self.dim = dim
        self.window = window
        self.lr = lr
        self.epochs = epochs
        self.seed = seed
        self.min_count = min_count
        self.batch_size = batch_size
        self.dtype = dtype
        self.progress = progress

    # ---- vocabulary and examples ---------------------------------------------------------------------------
    def check_params(self) -> None:
        """Refuse unusable parameters before any sentence is read.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given.
        """
        check_choice(self.arch, "arch", ("cbow", "skipgram"))
        for name in ("dim", "window", "epochs", "min_count", "batch_size"):
            check_int(getattr(self, name), name, low=1)
        check_float(self.lr, "lr", low=0, low_open=True)
        check_choice(self.dtype, "dtype", ("float32", "float64"))  # float64 is for gradient checks
        check_int(self.seed, "seed", low=0)
        check_bool(self.progress, "progress")

    def build_vocab(self, sentences: Sequence[Sequence[str]]) -> TextbookWord2Vec:
        """Count words; keep those seen ``min_count`` times, most frequent first (ties alphabetical).

        Parameters
        ----------
        sentences : sequence of sequence of str
            Token lists.

        Returns
        -------
        TextbookWord2Vec
            ``self``, with ``vocab_``, ``word_to_id_`` and ``counts_``.

        Raises
        ------
        InputError
            When ``sentences`` is not a non-empty list of token lists, or fewer than 2 words are left.
        """
        if isinstance(sentences, (str, bytes)) or not isinstance(sentences, Sequence) or not sentences:
            raise InputError("sentences must be a non-empty list of token lists, e.g. [['the', 'cat', 'sat']]")
        for i, s in enumerate(sentences):
            check_strings(s, f"sentence {i} (a list of tokens, e.g. ['the', 'cat'])", empty=True)
        counts = Counter(w for s in sentences for w in s)
        kept = sorted((w for w, n in counts.items() if n >= self.min_count), key=lambda w: (-counts[w], w))
        check_vocab_size(len(kept), int(self.min_count), "the textbook word2vec needs at least 2")
        self.vocab_: list[str] = kept
        self.word_to_id_: dict[str, int] = {w: i for i, w in enumerate(kept)}
        self.counts_ = np.array([counts[w] for w in kept], dtype=np.int64)
        return self

    def examples(self, sentences: Sequence[Sequence[str]]) -> tuple[list[list[int]], list[list[int]]]:
        """The (inputs, targets) id lists of every training example, in corpus order.

        CBOW: inputs = the up-to-2·window context words, targets = [centre]. Skip-gram: the reverse. Words outside the
        vocabulary are dropped before windows are taken; a word without context gives no example.

        Parameters
        ----------
        sentences : sequence of sequence of str
            Token lists (after ``build_vocab``).

        Returns
        -------
        inputs : list of list of int
            One id list per example.
        targets : list of list of int
            One id list per example, aligned with ``inputs``.

        Raises
        ------
        InputError
            When there is no vocabulary yet (call ``build_vocab`` or ``fit`` first).
        """
        self._require_vocab()
        inputs: list[list[int]] = []
        targets: list[list[int]] = []
        for s in sentences:
            ids = [self.word_to_id_[w] for w in s if w in self.word_to_id_]
            for i, centre in enumerate(ids):
                ctx = ids[max(0, i - self.window): i] + ids[i + 1: i + 1 + self.window]
                if not ctx:
                    continue
                if self.arch == "cbow":
                    inputs.append(ctx)
                    targets.append([centre])
                else:
                    inputs.append([centre])
                    targets.append(ctx)
        return inputs, targets

    def _require_vocab(self) -> None:
        if not hasattr(self, "word_to_id_"):
            raise InputError("there is no vocabulary yet; call build_vocab(sentences) or fit(sentences) first")

    def _require_weights(self) -> None:
        if not hasattr(self, "W_"):
            raise InputError("there are no weights yet; call fit(sentences), or build_vocab(sentences) and "
                             "init_weights()")

    # ---- the model -----------------------------------------------------------------------------------------
    def forward(self, input_ids: Sequence[int] | np.ndarray, input_mask: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The forward pass: h, u and ŷ for one example or a batch.

        h = mean of the input rows of W, u = h W', ŷ = softmax(u) (computed stably, shifting u by its maximum).

        Parameters
        ----------
        input_ids : sequence of int or numpy.ndarray
            One example's input ids (1-D, ``(m,)``) or a batch's padded ids (``(B, m)`` int).
        input_mask : numpy.ndarray, optional
            Boolean, the shape of ``input_ids``: True for real entries (default: all).

        Returns
        -------
        h : numpy.ndarray
            ``(d,)`` or ``(B, d)`` hidden vectors, in the weights' dtype.
        u : numpy.ndarray
            ``(V,)`` or ``(B, V)`` scores.
        y_hat : numpy.ndarray
            ``(V,)`` or ``(B, V)`` probabilities (rows sum to 1).

        Raises
        ------
        InputError
            When there are no weights yet (call ``fit``, or ``build_vocab`` and ``init_weights``).
        IndexError
            For an id outside [0, V).
        """
        self._require_weights()
        ids = np.asarray(input_ids, dtype=np.int64)
        single = ids.ndim == 1
        if single:
            ids = ids[None, :]
        mask = np.ones(ids.shape, dtype=bool) if input_mask is None else np.asarray(input_mask, dtype=bool)
        if single and mask.ndim == 1:
            mask = mask[None, :]
        m = mask.astype(self.W_.dtype)
        n_in = m.sum(1, keepdims=True)                                 # c per example (B x 1)
        h = np.einsum("bm,bmd->bd", m, self.W_[ids]) / n_in            # (B x d)
        u = h @ self.W_prime_                                          # (B x V)
        u_max = u.max(1, keepdims=True)
        ex = np.exp(u - u_max)
        y_hat = ex / ex.sum(1, keepdims=True)                          # softmax (B x V)
        if single:
            return h[0], u[0], y_hat[0]
        return h, u, y_hat

    def loss_and_grads(self, input_ids: npt.ArrayLike, target_ids: npt.ArrayLike,
                       input_mask: npt.ArrayLike | None = None, target_mask: npt.ArrayLike | None = None
                       ) -> tuple[float, np.ndarray, np.ndarray]:
        """Cross-entropy summed over targets and examples, and its gradients.

        Parameters
        ----------
        input_ids : array-like of int
            One example's input ids ``(m,)``, or a batch's padded ids ``(B, m)``.
        target_ids : array-like of int
            One example's target ids ``(t,)``, or a batch's padded ids ``(B, t)``.
        input_mask : array-like of bool, optional
            The shape of ``input_ids``: True for real entries (default: all).
        target_mask : array-like of bool, optional
            The shape of ``target_ids``: True for real entries (default: all).

        Returns
        -------
        loss : float
            The summed cross-entropy (nats, >= 0).
        dW : numpy.ndarray
            ``(V, d)`` gradient of the input matrix, dense for clarity (only the input rows are non-zero).
        dW_prime : numpy.ndarray
            ``(d, V)`` gradient of the output matrix.

        Raises
        ------
        InputError
            When there are no weights yet (call ``fit``, or ``build_vocab`` and ``init_weights``).
        IndexError
            For an id outside [0, V).
        """
        loss, rows, row_grads, dW_prime = self._grads(input_ids, target_ids, input_mask, target_mask)
        dW = np.zeros_like(self.W_)
        np.add.at(dW, rows, row_grads)
        return loss, dW, dW_prime

    def _grads(self, input_ids: npt.ArrayLike, target_ids: npt.ArrayLike, input_mask: npt.ArrayLike | None = None,
               target_mask: npt.ArrayLike | None = None) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """(loss, input rows, their gradients (k x d), dW' (d x V)): dW in sparse form, as ``fit`` applies it."""
        ids = np.asarray(input_ids, dtype=np.int64)
        tgt = np.asarray(target_ids, dtype=np.int64)
        if ids.ndim == 1:
            ids, tgt = ids[None, :], tgt[None, :]
            input_mask = None if input_mask is None else np.asarray(input_mask)[None, :]
            target_mask = None if target_mask is None else np.asarray(target_mask)[None, :]
        in_mask = np.ones(ids.shape, bool) if input_mask is None else np.asarray(input_mask, bool)
        t_mask = np.ones(tgt.shape, bool) if target_mask is None else np.asarray(target_mask, bool)
        h, u, y_hat = self.forward(ids, in_mask)
        B = y_hat.shape[0]
        rows = np.broadcast_to(np.arange(B)[:, None], tgt.shape)
        # L = Σ_b Σ_j -log ŷ[b, o_bj] = Σ_b Σ_j (log Σ_v exp u[b, v] - u[b, o_bj])
        u_max = u.max(1)
        log_z = np.log(np.exp(u - u_max[:, None]).sum(1)) + u_max
        loss = float(((log_z[:, None] - u[rows, tgt]) * t_mask).sum())
        # e = c_t ŷ - Σ_j t_j   (B x V)
        e = y_hat * t_mask.sum(1, keepdims=True).astype(y_hat.dtype)
        np.add.at(e, (rows[t_mask], tgt[t_mask]), -1.0)
        dW_prime = h.T @ e                                             # (d x V)
        dh = e @ self.W_prime_.T                                       # (B x d)
        m = in_mask.astype(dh.dtype)
        share = m / m.sum(1, keepdims=True)                            # each input row gets 1/c of ∂L/∂h
        row_grads = (share[:, :, None] * dh[:, None, :])[in_mask]      # (k x d), k = input words in the batch
        return loss, ids[in_mask], row_grads, dW_prime

    def init_weights(self) -> TextbookWord2Vec:
        """Initialise the weights: W ~ U(-0.5/d, 0.5/d) as in word2vec; W' small and random, to break symmetry.

        Returns
        -------
        TextbookWord2Vec
            ``self``, with ``W_`` ``(V, d)`` and ``W_prime_`` ``(d, V)`` in ``dtype``.

        Raises
        ------
        InputError
            When there is no vocabulary yet (call ``build_vocab`` first).
        """
        self._require_vocab()
        rng = np.random.default_rng(self.seed)
        V, d = len(self.vocab_), self.dim
        self.W_ = ((rng.random((V, d)) - 0.5) / d).astype(self.dtype)
        self.W_prime_ = ((rng.random((d, V)) - 0.5) / d).astype(self.dtype)
        return self

    def fit(self, sentences: Sequence[Sequence[str]]) -> TextbookWord2Vec:
        """Build the vocabulary, then SGD over shuffled examples for ``epochs`` epochs (full softmax: O(V d) a step).

        Parameters
        ----------
        sentences : sequence of sequence of str
            Token lists (held in memory: this trainer is for small corpora).

        Returns
        -------
        TextbookWord2Vec
            ``self``, with ``W_``, ``W_prime_`` and ``loss_history_``.

        Raises
        ------
        InputError
            Unusable parameters, sentences that are not token lists, fewer than 2 words, or no example (every sentence
            needs two vocabulary words).
        """
        self.check_params()
        self.build_vocab(sentences)
        self.init_weights()
        inputs, targets = self.examples(sentences)
        if not inputs:
            raise InputError("no training examples: every sentence needs at least two vocabulary words")
        in_ids, in_mask = _pad(inputs)
        tg_ids, tg_mask = _pad(targets)
        rng = np.random.default_rng(self.seed + 1)
        n, bs = len(inputs), int(self.batch_size)
        self.loss_history_: list[float] = []
        self.epoch_seconds_: list[float] = []
        epochs = int(self.epochs)
        with progress_bar(epochs * n, f"textbook {self.arch}", "example", bool(self.progress), unit_scale=True) as bar:
            for e in range(epochs):
                bar.set_postfix_str(f"epoch {e + 1}/{epochs}", refresh=False)
                t0 = time.perf_counter()
                order = rng.permutation(n)
                total = 0.0
                for start in range(0, n, bs):
                    b = order[start: start + bs]
                    loss, rows, row_grads, dWp = self._grads(in_ids[b], tg_ids[b], in_mask[b], tg_mask[b])
                    step = self.lr / len(b)
                    np.add.at(self.W_, rows, -step * row_grads)            # only the input rows of W change
                    dWp *= step
                    self.W_prime_ -= dWp                                   # every column of W' changes: O(V d)
                    total += loss
                    bar.update(len(b))  # every minibatch: the bar moves within an epoch
                self.loss_history_.append(total / n)
                self.epoch_seconds_.append(time.perf_counter() - t0)
        return self

    # ---- using the model -----------------------------------------------------------------------------------
    def _ids(self, words: Sequence[str]) -> list[int]:
        if not hasattr(self, "W_"):
            raise InputError("the model is not trained yet; call fit(sentences) first")
        if isinstance(words, str):
            words = [words]
        out = []
        for w in words:
            if w not in self.word_to_id_:
                raise UnknownKeyError(f"{w!r} is not in the vocabulary ({len(self.vocab_)} words)")
            out.append(self.word_to_id_[w])
        if not out:
            raise InputError("give at least one word")
        return out

    def _top(self, y_hat: np.ndarray, k: int) -> list[tuple[str, float]]:
        top = np.argsort(-y_hat, kind="stable")[:k]
        return [(self.vocab_[i], float(y_hat[i])) for i in top]

    def predict(self, context_words: Sequence[str], k: int | None = None, *,
                topn: int | None = None) -> list[tuple[str, float]]:
        """The most probable centre words for a context: softmax(mean(W[context]) W') (CBOW's question).

        Parameters
        ----------
        context_words : sequence of str
            Context words (a single string is one word).
        k : int, optional
            How many words to return (>= 1; default 5).
        topn : int, optional
            Deprecated old name of ``k`` (warns).

        Returns
        -------
        list of (str, float)
            ``k`` (word, probability in [0, 1]) pairs, most probable first.

        Raises
        ------
        InputError
            When not trained, for no words, a bad ``k``, or both ``k`` and ``topn``.
        UnknownKeyError
            For a word outside the vocabulary.
        """
        k = k_from_topn(k, topn, "TextbookWord2Vec.predict", 5)
        _, _, y_hat = self.forward(self._ids(context_words))
        return self._top(y_hat, k)

    def predict_context(self, center_word: str, k: int | None = None, *,
                        topn: int | None = None) -> list[tuple[str, float]]:
        """The most probable context words around a centre word: softmax(W[centre] W') (Skip-gram's question).

        Parameters
        ----------
        center_word : str
            The centre word.
        k : int, optional
            How many words to return (>= 1; default 5).
        topn : int, optional
            Deprecated old name of ``k`` (warns).

        Returns
        -------
        list of (str, float)
            ``k`` (word, probability in [0, 1]) pairs, most probable first.

        Raises
        ------
        InputError
            When not trained, for a bad ``k``, or both ``k`` and ``topn``.
        UnknownKeyError
            For a word outside the vocabulary.
        """
        k = k_from_topn(k, topn, "TextbookWord2Vec.predict_context", 5)
        _, _, y_hat = self.forward(self._ids([center_word]))
        return self._top(y_hat, k)

    @property
    def is_fitted(self) -> bool:
        """Whether the weights exist (after ``fit`` or ``init_weights``).

        Returns
        -------
        bool
            True when ``W_`` exists.
        """
        return hasattr(self, "W_")

    @property
    def wv(self) -> Vectors:
        """The word vectors: the rows of the input matrix W.

        Returns
        -------
        Vectors
            ``vocab_`` and a float32 ``(V, dim)`` matrix (a view when ``dtype`` is float32).

        Raises
        ------
        InputError
            When not trained yet.
        """
        if not hasattr(self, "W_"):
            raise InputError("the model is not trained yet; call fit(sentences) first")
        return Vectors(self.vocab_, self.W_.astype(np.float32, copy=False))
