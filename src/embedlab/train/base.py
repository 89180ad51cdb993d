"""The Trainer contract: what every trainer in embedlab does, whatever it learns.

A trainer is a ``Params`` object (scikit-learn's convention: the constructor only stores its parameters, under
their own names; ``get_params`` / ``set_params`` and the ``repr`` come from the signature) that

- refuses unusable parameters up front: ``check_params()`` raises ``InputError`` naming the first one and returns
  nothing, and ``fit`` calls it before reading any data;
- learns from data with ``fit(data) -> self`` (learned attributes end in ``_``);
- gives its result three ways: ``.wv`` (the learned keyed vectors, ``embedlab.Vectors``), ``.to_encoder()`` (an
  ``Encoder`` that embeds new items with what was learned) and ``.save(folder)`` (an output folder written whole
  or not at all, never over a folder of the user's own files: ``save_folder``; ``embedlab.load_vectors`` reads back
  a word-vector trainer's, ``embedlab.encoder(path)`` an encoder trainer's — distillation, fine-tuning, CLIP, MLM).

A trainer whose result is not keyed vectors (a tokenizer, a contrastive model) says so in the error of ``wv``;
one whose result is not an encoder says so in ``to_encoder``. Word-vector trainers get a ``to_encoder`` for free:
the mean of a text's word vectors (``WordAverageEncoder``), the classic sentence baseline.

    >>> w2v = Word2Vec(dim=50, seed=1).fit("corpus.txt")
    >>> w2v.wv.most_similar("king"); w2v.to_encoder().encode(["a king and a queen"]); w2v.save("w2v/")
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._params import Params
from ..encoders.word_average import WordAverageEncoder
from ..errors import InputError
from ..formats.arrays import write_npy
from ..persist import atomic_folder, check_output_folder

if TYPE_CHECKING:
    from ..encoders.base import Encoder
    from ..vectors import Vectors

__all__ = ["Trainer", "check_loss", "is_lowercase", "save_folder"]


def check_loss(loss: float, epoch: int, who: str, rate: str, value: float, flag: str) -> float:
    """Refuse an epoch whose loss is NaN or infinite: training diverged, and every vector after it is NaN too.

    Parameters
    ----------
    loss : float
        The epoch's mean loss.
    epoch : int
        The epoch, counted from 1.
    who : str
        The trainer, for the message ("GloVe").
    rate : str
        The learning rate's parameter name ("lr").
    value : float
        Its value.
    flag : str
        Its command-line flag ("--lr"), for the message on the command line.

    Returns
    -------
    float
        ``loss``, when finite.

    Raises
    ------
    InputError
        "GloVe training diverged in epoch 1: the loss became nan; lower lr (10.0) ..." (``cli``: the flag).
    """
    if math.isfinite(loss):
        return loss
    said = (f"{who} training diverged in epoch {epoch}: the loss became {loss}, so the vectors are no numbers; "
            f"lower {{}} ({value:g}) and train again")
    raise InputError(said.format(rate), cli=said.format(flag))


def is_lowercase(words: Iterable[str]) -> bool:
    """Whether no word has an upper-case letter (a vocabulary read with ``lowercase``, or of a caseless script).

    Parameters
    ----------
    words : iterable of str
        The vocabulary.

    Returns
    -------
    bool
        True when every word equals its ``str.lower()``: texts may be lower-cased before looking words up.
    """
    return all(w == w.lower() for w in words)


@contextmanager
def save_folder(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Write a trainer's output as ``folder`` whole: an empty temp folder to fill, renamed onto ``folder`` at the end.

    ``folder`` may be new, an empty folder or an earlier embedlab output (replaced whole). A file, or a folder of
    files no embedlab command wrote (it has no embedlab manifest: the corpus folder, a home folder), is refused
    before anything is written, so ``save`` never deletes the user's own files.

    Parameters
    ----------
    folder : path-like
        The output folder (``~`` is expanded).

    Yields
    ------
    Path
        The temp folder to write into (beside ``folder``; removed if the block raises).

    Raises
    ------
    InputError
        When ``folder`` is a file, a non-empty folder that holds no embedlab output, or cannot be written.
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    target = check_output_folder(folder, overwrite=True)
    with atomic_folder(target) as tmp:
        yield tmp


class Trainer(Params, ABC):
    """Learns vectors from data: ``fit(data) -> self``, then ``.wv``, ``.to_encoder()``, ``.save(folder)``.

    Subclasses implement ``fit``, ``is_fitted`` and whichever results they produce; see the module docstring.
    """

    @abstractmethod
    def fit(self, data: Any, /) -> Any:
        """Learn from ``data`` and return ``self``.

        Parameters
        ----------
        data : object
            What the trainer learns from (a corpus path or sentences, interaction pairs, captioned images,
            query/positive pairs …: see the subclass).

        Returns
        -------
        self

        Raises
        ------
        InputError
            For unusable parameters (``check_params``) or data.
        """

    @property
    @abstractmethod
    def is_fitted(self) -> bool:
        """Whether ``fit`` (or ``load``) has produced a result.

        Returns
        -------
        bool
            True once the learned attributes (``..._``) exist.
        """

    def require_fitted(self, act: str = "use the result") -> None:
        """Raise unless fitted.

        Parameters
        ----------
        act : str
            What the caller was about to do, for the message ("save", "use" …).

        Raises
        ------
        InputError
            "nothing to <act>: the model is not trained yet; call fit(...) first".
        """
        if not self.is_fitted:
            raise InputError(f"nothing to {act}: the model is not trained yet; call fit(...) first")

    @property
    def wv(self) -> Vectors:
        """The learned keyed vectors.

        Returns
        -------
        Vectors
            Keys and a float32 ``(n, dim)`` matrix.

        Raises
        ------
        InputError
            When not fitted, or when this trainer learns no keyed vectors (the message says what it gives instead).
        """
        raise InputError(f"{type(self).__name__} learns no keyed vectors; use to_encoder() or save(folder)")

    def to_encoder(self) -> Encoder:
        """An Encoder over what was learned; for word vectors, the mean of a text's known words' vectors.

        Texts are lower-cased before the look-up only when the vocabulary is lower-case (a corpus read with
        ``lowercase``); a cased vocabulary is looked up as written, so ``Paris`` finds ``Paris``.

        Returns
        -------
        Encoder
            Text → ``(n, dim)`` float32 (cosine).

        Raises
        ------
        InputError
            When not fitted.
        """
        wv = self.wv
        return WordAverageEncoder(wv, name=type(self).__name__.lower(), lowercase=is_lowercase(wv.keys))

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write the result to ``folder`` whole (temp folder + rename), readable by ``embedlab.load_vectors``.

        The default writes ``wv`` as ``vectors.npy`` + its JSON key sidecar; trainers with a fuller model
        folder (to continue training, or to load as an encoder) override it.

        Parameters
        ----------
        folder : path-like
            The output folder: new, empty, or an earlier embedlab output (replaced whole); see ``save_folder``.

        Returns
        -------
        Path
            ``folder``.

        Raises
        ------
        InputError
            When not fitted, or ``folder`` is a file or a folder of files embedlab did not write.
        StorageFullError, ReadOnlyStorageError
            When the disk is full or cannot be written.
        """
        self.require_fitted("save")
        wv = self.wv
        folder = Path(folder)
        with save_folder(folder) as tmp:
            write_npy(wv, tmp / "vectors.npy")
        return folder
