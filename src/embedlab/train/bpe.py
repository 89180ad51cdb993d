"""BPE subword tokenizer (SentencePiece), usable as the ``tokenizer=`` of a corpus for Word2Vec / fastText.

    >>> bpe = BPETokenizer(vocab_size=8000).fit("corpus.txt")
    >>> bpe("unbelievably")                       # ['▁un', 'bel', 'iev', 'ably']
    >>> Word2Vec(...).fit(LineCorpus("corpus.txt", tokenizer=bpe))

Why SentencePiece rather than HF ``tokenizers``: it needs no language-specific pre-tokenizer (whitespace is
just the "▁" symbol), which suits Korean and other languages where words are not cleanly space-separated;
its ``byte_fallback`` turns any character never seen in training into byte pieces, so no piece is ever
unknown while the pieces stay readable text (a byte-level BPE in ``tokenizers`` would show Korean as mangled
byte characters, poor keys for word vectors); one self-contained model file (protobuf, no pickle); it is the
reference implementation of BPE and unigram-LM subwords (Kudo & Richardson 2018). Training is deterministic
for a given corpus and seed. A ``Trainer`` whose result is a tokenizer, not vectors (``wv`` and ``to_encoder``
say so); saved as the folder ``formats.bpe`` describes (``tokenizer.json`` + ``spm.model``).
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

from .._params import check_bool, check_choice, check_float, check_int
from .._threads import cpu_count
from ..errors import CorruptFileError, InputError, require
from ..formats import bpe as bpe_folder
from ..persist import check_output_folder
from .base import Trainer

FORMAT, FORMAT_VERSION, MODEL_FILE = bpe_folder.FORMAT, bpe_folder.FORMAT_VERSION, bpe_folder.MODEL_FILE


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
        return True
    except (AttributeError, OSError, ValueError):
        return False


def _lines(corpus: str | os.PathLike[str] | Iterable[str | Iterable[str]]) -> Iterator[str]:
    """Raw text lines from a path (file or folder, via LineCorpus), strings, or token lists (joined by spaces).

    Raises
    ------
    InputError
        For a corpus that is not a path or an iterable, an item that is neither a string nor a token list, or an
        unreadable file.
    """
    if isinstance(corpus, (str, os.PathLike)):
        from .corpus import LineCorpus

        for line in LineCorpus(corpus).lines():
            line = line.strip()
            if line:
                yield line
        return
    if isinstance(corpus, bytes) or not isinstance(corpus, Iterable):
        raise InputError("corpus must be a path, an iterable of text lines or an iterable of token lists")
    for n, item in enumerate(corpus):
        try:
            line = item if isinstance(item, str) else " ".join(item)
        except TypeError:  # a number, None, or a token list holding something other than strings
            raise InputError(f"line {n} of the corpus is {type(item).__name__} {item!r:.60}; each line must be a "
                             "string or a list of string tokens") from None
        line = line.strip()
        if line:
            yield line


def check_train_params(vocab_size: int = 8000, model_type: str = "bpe", character_coverage: float = 0.9995,
                       byte_fallback: bool = True, lowercase: bool = False, seed: int = 0) -> dict[str, Any]:
    """The options ``BPETokenizer`` records, checked, so a caller can fail before reading a corpus.

    Parameters
    ----------
    vocab_size : int, default 8000
        Pieces to learn (>= 8; an upper bound).
    model_type : {"bpe", "unigram"}, default "bpe"
        SentencePiece's BPE (Sennrich et al. 2016) or unigram language model (Kudo 2018).
    character_coverage : float, default 0.9995
        Share of the characters, in [0.9, 1], that get pieces of their own; the rarest others go to byte pieces.
    byte_fallback : bool, default True
        Turn characters never seen in training into byte pieces (``<0xEC>``) instead of ``<unk>``.
    lowercase : bool, default False
        Fold case (NFKC + case folding) before learning and tokenising.
    seed : int, default 0
        SentencePiece's random seed, in [0, 2**32 - 2].

    Returns
    -------
    dict
        ``{"vocab_size", "model_type", "character_coverage", "byte_fallback", "lowercase", "seed"}``, checked.

    Raises
    ------
    InputError
        Naming the first unusable option, its allowed range and the value given.
    """
    return {"vocab_size": check_int(vocab_size, "vocab_size", low=8, hint="the number of pieces to learn"),
            "model_type": check_choice(model_type, "model_type", ("bpe", "unigram")),
            "character_coverage": check_float(character_coverage, "character_coverage", 0.9, 1.0,
                                              hint="0.9995 suits Korean, Chinese and Japanese; 1.0 small alphabets"),
            "byte_fallback": check_bool(byte_fallback, "byte_fallback"),
            "lowercase": check_bool(lowercase, "lowercase"),
            "seed": check_int(seed, "seed", 0, 2**32 - 2)}  # sentencepiece reads 2**32 - 1 as "unseeded"


def _check_line(line: object) -> str:
    if not isinstance(line, str):
        raise InputError(f"BPETokenizer takes a string, got {type(line).__name__}")
    return line


class BPETokenizer(Trainer):
    """A SentencePiece subword tokenizer (Kudo & Richardson 2018): ``BPETokenizer(vocab_size=…).fit(corpus)``.

    Then ``tok(line) -> list[str]`` pieces, ``encode`` ids, ``decode`` text. Learned: ``model_proto_`` (the
    serialised SentencePiece model, bytes) and ``options`` (how it was trained).

    Parameters
    ----------
    vocab_size : int, default 8000
        Pieces to learn (>= 8). An upper bound: a small corpus may yield fewer.
    model_type : {"bpe", "unigram"}, default "bpe"
        Byte-pair encoding (Sennrich et al. 2016) or the unigram language model (Kudo 2018).
    character_coverage : float, default 0.9995
        Share of the characters, in [0.9, 1], that get pieces of their own; below 1 the rarest characters are left
        to byte pieces (0.9995 suits Korean, Chinese and Japanese; 1.0 small alphabets).
    byte_fallback : bool, default True
        Turn characters never seen in training into byte pieces, so no piece is ever unknown.
    lowercase : bool, default False
        Fold case (NFKC + case folding).
    max_sentences : int or None, default None
        Train on this many lines (>= 1), sampled with the seed from a large corpus; None: every line.
    max_sentence_length : int, default 4192
        The longest line, in bytes (>= 1); longer lines are skipped.
    seed : int, default 0
        SentencePiece's random seed, in [0, 2**32 - 2]; training is deterministic for a corpus and seed.
    threads : int or None, default None
        Training threads (>= 1); None uses every CPU.
    """

    def __init__(self, vocab_size: int = 8000, model_type: str = "bpe", character_coverage: float = 0.9995,
                 byte_fallback: bool = True, lowercase: bool = False, max_sentences: int | None = None,
                 max_sentence_length: int = 4192, seed: int = 0, threads: int | None = None) -> None:
        self.vocab_size, self.model_type, self.character_coverage = vocab_size, model_type, character_coverage
        self.byte_fallback, self.lowercase, self.max_sentences = byte_fallback, lowercase, max_sentences
        self.max_sentence_length, self.seed, self.threads = max_sentence_length, seed, threads

    def check_params(self) -> None:
        """Refuse unusable options before the corpus is read.

        Raises
        ------
        InputError
            Naming the first unusable parameter, its allowed range and the value given.
        """
        self._options()

    def _options(self) -> dict[str, Any]:
        options = check_train_params(vocab_size=self.vocab_size, model_type=self.model_type,
                                     character_coverage=self.character_coverage, byte_fallback=self.byte_fallback,
                                     lowercase=self.lowercase, seed=self.seed)
        check_int(self.max_sentences, "max_sentences", low=1, none=True, hint="None (the default) trains on every line")
        check_int(self.max_sentence_length, "max_sentence_length", low=1,
                  hint="the longest line in bytes; longer lines are skipped")
        check_int(self.threads, "threads", low=1, none=True, hint="None uses every CPU")
        return options

    # ---- training ------------------------------------------------------------------------------------------
    def fit(self, corpus: str | os.PathLike[str] | Iterable[str | Iterable[str]]) -> BPETokenizer:
        """Learn up to ``vocab_size`` pieces from a corpus.

        Parameters
        ----------
        corpus : path-like or iterable
            A UTF-8 text file or folder, text lines, or token lists (joined by spaces); empty lines are skipped.

        Returns
        -------
        BPETokenizer
            ``self``, trained.

        Raises
        ------
        InputError
            Unusable options, a corpus with no text line, or SentencePiece refusing the options for this corpus (the
            message says which to change).
        MissingDependencyError
            When sentencepiece is not installed.
        """
        spm = require("sentencepiece", "text", "BPE tokenizers")
        options = self._options()
        lines = _lines(corpus)
        first = next(lines, None)
        if first is None:
            raise InputError("the corpus has no text lines; pass a UTF-8 text file or a list of sentences")

        def _all_lines() -> Iterator[str]:
            yield first
            yield from lines

        spm.set_random_generator_seed(options["seed"])
        proto = io.BytesIO()
        kwargs = dict(
            sentence_iterator=_all_lines(), model_writer=proto, vocab_size=options["vocab_size"],
            model_type=options["model_type"], character_coverage=options["character_coverage"],
            byte_fallback=options["byte_fallback"], hard_vocab_limit=False,
            normalization_rule_name="nmt_nfkc_cf" if options["lowercase"] else "nmt_nfkc",
            num_threads=self.threads or cpu_count(), max_sentence_length=self.max_sentence_length,
            split_digits=True, minloglevel=2,
        )
        if self.max_sentences:
            kwargs.update(input_sentence_size=self.max_sentences, shuffle_input_sentence=True)
        try:
            if _has_fileno(sys.stderr):  # sentencepiece redirects the stderr file descriptor to silence its C++ log
                with open(os.devnull, "w") as devnull:
                    spm.SentencePieceTrainer.train(logstream=devnull, **kwargs)
            else:  # stderr replaced (pytest capture, notebooks): minloglevel already keeps it quiet
                spm.SentencePieceTrainer.train(**kwargs)
        except RuntimeError as exc:
            msg = str(exc)
            hint = ("raise vocab_size (byte_fallback alone needs 256 + 3 pieces plus the corpus's characters) "
                    "or lower character_coverage" if "vocab" in msg.lower() or "required_chars" in msg else
                    "check the corpus and options")
            raise InputError(f"SentencePiece training failed: {msg.strip()}; {hint}") from None
        self._install(proto.getvalue(), options)
        return self

    def _install(self, proto: bytes, options: dict[str, Any]) -> None:
        spm = require("sentencepiece", "text", "BPE tokenizers")
        sp = spm.SentencePieceProcessor()
        try:
            sp.LoadFromSerializedProto(proto)
        except Exception as exc:  # sentencepiece raises RuntimeError/OSError on a bad proto
            raise CorruptFileError(f"not a SentencePiece model ({exc})") from None
        self._sp, self.model_proto_, self.options = sp, bytes(proto), dict(options)

    @classmethod
    def from_proto(cls, model_proto: bytes, options: dict[str, Any] | None = None) -> BPETokenizer:
        """A trained tokenizer from a serialised SentencePiece model.

        Parameters
        ----------
        model_proto : bytes
            The model (the contents of a ``.model`` file).
        options : dict, optional
            How it was trained (``check_train_params``' keys); constructor parameters among them are set.

        Returns
        -------
        BPETokenizer
            The tokenizer, fitted.

        Raises
        ------
        CorruptFileError
            When the bytes are not a SentencePiece model.
        MissingDependencyError
            When sentencepiece is not installed.
        """
        options = dict(options or {})
        tok = cls(**{k: v for k, v in options.items() if k in cls.param_names()})
        tok._install(model_proto, options)
        return tok

    @classmethod
    def train(cls, corpus: str | os.PathLike[str] | Iterable[str | Iterable[str]], **params: Any) -> BPETokenizer:
        """Deprecated (warns): ``BPETokenizer(**params).fit(corpus)``, the Trainer contract every trainer follows.

        Parameters
        ----------
        corpus : path-like or iterable
            As for ``fit``.
        **params
            Constructor parameters.

        Returns
        -------
        BPETokenizer
            The trained tokenizer.

        Raises
        ------
        InputError
            As ``fit``.
        """
        warnings.warn("BPETokenizer.train(corpus, **params) is deprecated; use BPETokenizer(**params).fit(corpus)",
                      DeprecationWarning, stacklevel=2)
        return cls(**params).fit(corpus)

    @property
    def is_fitted(self) -> bool:
        """Whether a model was trained or loaded.

        Returns
        -------
        bool
            True when ``model_proto_`` exists.
        """
        return hasattr(self, "model_proto_")

    def _ready(self) -> Any:
        if not self.is_fitted:
            raise InputError("the tokenizer is not trained yet; call fit(corpus) or BPETokenizer.load(folder) first")
        return self._sp

    def to_encoder(self) -> NoReturn:
        """A tokenizer learns pieces, not vectors: use it as a corpus ``tokenizer=`` for Word2Vec / FastText.

        Raises
        ------
        InputError
            Always, saying so.
        """
        raise InputError("a BPE tokenizer learns pieces, not vectors; train vectors with it: "
                         "FastText(...).fit(LineCorpus(path, tokenizer=tok)) or `embedlab train fasttext --tokenizer`")

    # ---- use -------------------------------------------------------------------------------------------------
    def __call__(self, line: str) -> list[str]:
        """Pieces of one line (what a corpus ``tokenizer=`` callable returns).

        Parameters
        ----------
        line : str
            Text.

        Returns
        -------
        list of str
            Its pieces; a word-initial piece starts with "▁".

        Raises
        ------
        InputError
            When not trained, or ``line`` is not a string.
        """
        return self._ready().encode(_check_line(line), out_type=str)

    def encode(self, line: str) -> list[int]:
        """Piece ids of one line.

        Parameters
        ----------
        line : str
            Text.

        Returns
        -------
        list of int
            Ids in [0, ``len(self)``).

        Raises
        ------
        InputError
            When not trained, or ``line`` is not a string.
        """
        return self._ready().encode(_check_line(line), out_type=int)

    def decode(self, pieces: list[str] | list[int]) -> str:
        """Text back from pieces or ids (the exact inverse, up to normalisation).

        Parameters
        ----------
        pieces : list of str or list of int
            All pieces, or all ids in [0, ``len(self)``).

        Returns
        -------
        str
            The text.

        Raises
        ------
        InputError
            When not trained, for a lone string or a non-list, or an id out of range (or a mix of pieces and ids).
        """
        if isinstance(pieces, (str, bytes)) or not isinstance(pieces, Iterable):
            raise InputError(f"decode takes a list of pieces or of ids, got {type(pieces).__name__}")
        items: list[object] = list(pieces)
        sp = self._ready()
        if all(isinstance(p, str) for p in items):
            return str(sp.decode_pieces(items))
        size = len(self)
        ids = [check_int(p, "a piece id", 0, size - 1, hint="decode takes all pieces (str) or all ids (int)")
               for p in items]
        return str(sp.decode_ids(ids))

    @property
    def vocab(self) -> list[str]:
        """Every piece, by id: the specials <unk>, <s>, </s>, byte pieces (with ``byte_fallback``), then the rest.

        Returns
        -------
        list of str
            ``len(self)`` pieces.

        Raises
        ------
        InputError
            When not trained.
        """
        sp = self._ready()
        return [sp.id_to_piece(i) for i in range(sp.get_piece_size())]

    def __len__(self) -> int:
        return self._ready().get_piece_size()

    def __contains__(self, piece: object) -> bool:
        if not isinstance(piece, str):
            return False
        sp = self._ready()
        return piece == sp.id_to_piece(sp.unk_id()) or sp.piece_to_id(piece) != sp.unk_id()

    @property
    def unk_id(self) -> int:
        """The id of the unknown piece ``<unk>``.

        Returns
        -------
        int
            Its id (0 for models trained here).

        Raises
        ------
        InputError
            When not trained.
        """
        return int(self._ready().unk_id())

    def is_byte(self, piece: str) -> bool:
        """Whether ``piece`` is a byte-fallback piece such as ``<0xEC>``.

        Parameters
        ----------
        piece : str
            A piece.

        Returns
        -------
        bool
            True for a byte piece; False otherwise (unknown pieces too).

        Raises
        ------
        InputError
            When not trained, or ``piece`` is not a string.
        """
        sp = self._ready()
        return bool(sp.is_byte(sp.piece_to_id(_check_line(piece))))

    # ---- files ---------------------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``spm.model`` and ``tokenizer.json`` as ``folder``, atomically (an existing one is replaced whole).

        The folder is ``formats.bpe``'s; ``BPETokenizer.load`` reads it.

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
            When not trained yet.
        StorageFullError, ReadOnlyStorageError
            When the disk is full or cannot be written.
        """
        proto = self.model_proto_ if self.is_fitted else self._ready()
        check_output_folder(folder, overwrite=True)  # never replaces a folder of the user's own files (save_folder)
        return bpe_folder.write(folder, proto, len(self), self.options)

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> BPETokenizer:
        """Read a folder written by ``save`` (or a bare SentencePiece ``.model`` file).

        Parameters
        ----------
        folder : path-like
            The folder, or a ``.model`` file.

        Returns
        -------
        BPETokenizer
            The tokenizer, fitted.

        Raises
        ------
        InputError
            When a folder holds no ``tokenizer.json``.
        CorruptFileError
            For a damaged ``tokenizer.json`` or model, or a ``model_file`` outside the folder.
        FormatVersionError
            For a folder from a newer embedlab.
        """
        proto, options, model = bpe_folder.read(folder)
        try:
            return cls.from_proto(proto, options)
        except CorruptFileError as exc:
            raise CorruptFileError(f"{model}: {exc}; pass a SentencePiece .model file or a folder written by "
                                   "BPETokenizer.save") from None

    def __repr__(self) -> str:
        if not self.is_fitted:
            return super().__repr__()
        return f"BPETokenizer({len(self)} pieces, {self.options.get('model_type', 'bpe')})"
