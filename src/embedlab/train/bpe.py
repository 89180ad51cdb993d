"""BPE subword tokenizer (SentencePiece), usable as the ``tokenizer=`` of a corpus for Word2Vec / fastText.

    >>> bpe = BPETokenizer.train("corpus.txt", vocab_size=8000)
    >>> bpe("unbelievably")                       # ['▁un', 'bel', 'iev', 'ably']
    >>> Word2Vec(...).fit(LineCorpus("corpus.txt", tokenizer=bpe))

Why SentencePiece rather than HF ``tokenizers``: it needs no language-specific pre-tokenizer (whitespace is
just the "▁" symbol), which suits Korean and other languages where words are not cleanly space-separated;
its ``byte_fallback`` turns any character never seen in training into byte pieces, so no piece is ever
unknown while the pieces stay readable text (a byte-level BPE in ``tokenizers`` would show Korean as mangled
byte characters, poor keys for word vectors); one self-contained model file (protobuf, no pickle); it is the
reference implementation of BPE and unigram-LM subwords (Kudo & Richardson 2018). Training is deterministic
for a given corpus and seed. Saved as a folder: ``tokenizer.json`` (format, version, options) + ``spm.model``.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from .._params import check_bool, check_choice, check_float, check_int
from .._threads import cpu_count
from ..errors import CorruptFileError, InputError, require
from ..persist import atomic_folder, member, read_versioned, versioned, write_json_atomic

FORMAT = "embedlab.bpe"
FORMAT_VERSION = 1
MODEL_FILE = "spm.model"
_DAMAGED = "the tokenizer folder is damaged: save or train the tokenizer again"


def _has_fileno(stream) -> bool:
    try:
        stream.fileno()
        return True
    except (AttributeError, OSError, ValueError):
        return False


def _lines(corpus: str | os.PathLike | Iterable) -> Iterator[str]:
    """Raw text lines from a path (file or folder, via LineCorpus), strings, or token lists (joined by spaces)."""
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
                       byte_fallback: bool = True, lowercase: bool = False, seed: int = 0) -> dict:
    """The options ``BPETokenizer.train`` records, checked: InputError naming the first unusable one, its allowed
    range and the value given (so a caller can fail before reading a corpus)."""
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


class BPETokenizer:
    """A trained SentencePiece model: ``tok(line) -> list[str]`` pieces, ``encode`` ids, ``decode`` text."""

    def __init__(self, model_proto: bytes, options: dict | None = None) -> None:
        spm = require("sentencepiece", "text", "BPE tokenizers")
        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.LoadFromSerializedProto(model_proto)
        except Exception as exc:  # sentencepiece raises RuntimeError/OSError on a bad proto
            raise CorruptFileError(f"not a SentencePiece model ({exc})") from None
        self._proto = bytes(model_proto)
        self.options: dict = dict(options or {})

    # ---- training ------------------------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        corpus: str | os.PathLike | Iterable,
        vocab_size: int = 8000,
        model_type: str = "bpe",
        character_coverage: float = 0.9995,
        byte_fallback: bool = True,
        lowercase: bool = False,
        max_sentences: int | None = None,
        max_sentence_length: int = 4192,
        seed: int = 0,
        threads: int | None = None,
    ) -> BPETokenizer:
        """Learn ``vocab_size`` pieces from a corpus (``model_type`` "bpe" or "unigram").

        ``vocab_size`` is an upper bound: a small corpus may yield fewer pieces. ``character_coverage`` below 1
        leaves the rarest characters to byte pieces (0.9995 suits Korean, Chinese, Japanese); ``max_sentences``
        samples that many lines (seeded) from a large corpus. ``lowercase`` folds case (NFKC + case folding).
        """
        spm = require("sentencepiece", "text", "BPE tokenizers")
        options = check_train_params(vocab_size=vocab_size, model_type=model_type,
                                     character_coverage=character_coverage, byte_fallback=byte_fallback,
                                     lowercase=lowercase, seed=seed)
        max_sentences = check_int(max_sentences, "max_sentences", low=1, none=True,
                                  hint="None (the default) trains on every line")
        max_sentence_length = check_int(max_sentence_length, "max_sentence_length", low=1,
                                        hint="the longest line in bytes; longer lines are skipped")
        threads = check_int(threads, "threads", low=1, none=True, hint="None uses every CPU")
        lines = _lines(corpus)
        first = next(lines, None)
        if first is None:
            raise InputError("the corpus has no text lines; pass a UTF-8 text file or a list of sentences")

        def all_lines() -> Iterator[str]:
            yield first
            yield from lines

        spm.set_random_generator_seed(options["seed"])
        proto = io.BytesIO()
        kwargs = dict(
            sentence_iterator=all_lines(), model_writer=proto, vocab_size=options["vocab_size"],
            model_type=options["model_type"], character_coverage=options["character_coverage"],
            byte_fallback=options["byte_fallback"], hard_vocab_limit=False,
            normalization_rule_name="nmt_nfkc_cf" if options["lowercase"] else "nmt_nfkc",
            num_threads=threads or cpu_count(), max_sentence_length=max_sentence_length,
            split_digits=True, minloglevel=2,
        )
        if max_sentences:
            kwargs.update(input_sentence_size=max_sentences, shuffle_input_sentence=True)
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
        return cls(proto.getvalue(), options)

    # ---- use -------------------------------------------------------------------------------------------------
    def __call__(self, line: str) -> list[str]:
        """Pieces of one line (what a corpus ``tokenizer=`` callable returns)."""
        return self._sp.encode(_check_line(line), out_type=str)

    def encode(self, line: str) -> list[int]:
        """Piece ids of one line."""
        return self._sp.encode(_check_line(line), out_type=int)

    def decode(self, pieces: list[str] | list[int]) -> str:
        """Text back from pieces or ids (exact inverse up to normalisation)."""
        if isinstance(pieces, (str, bytes)) or not isinstance(pieces, Iterable):
            raise InputError(f"decode takes a list of pieces or of ids, got {type(pieces).__name__}")
        pieces = list(pieces)
        if all(isinstance(p, str) for p in pieces):
            return self._sp.decode_pieces(pieces)
        size = len(self)
        for p in pieces:
            check_int(p, "a piece id", 0, size - 1, hint="decode takes all pieces (str) or all ids (int)")
        return self._sp.decode_ids([int(i) for i in pieces])

    @property
    def vocab(self) -> list[str]:
        """Every piece, by id (specials <unk>, <s>, </s> first, then byte pieces if byte_fallback)."""
        return [self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size())]

    def __len__(self) -> int:
        return self._sp.get_piece_size()

    def __contains__(self, piece: object) -> bool:
        if not isinstance(piece, str):
            return False
        return piece == self._sp.id_to_piece(self._sp.unk_id()) or self._sp.piece_to_id(piece) != self._sp.unk_id()

    @property
    def unk_id(self) -> int:
        return self._sp.unk_id()

    def is_byte(self, piece: str) -> bool:
        """True for a byte-fallback piece such as ``<0xEC>``."""
        return self._sp.is_byte(self._sp.piece_to_id(_check_line(piece)))

    # ---- files ---------------------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``spm.model`` and ``tokenizer.json`` as ``folder``, atomically (temp folder + rename: an existing
        ``folder`` is replaced whole)."""
        folder = Path(folder)
        meta = versioned(FORMAT, FORMAT_VERSION, library="sentencepiece", model_file=MODEL_FILE, pieces=len(self),
                         options=self.options)
        with atomic_folder(folder) as tmp:
            (tmp / MODEL_FILE).write_bytes(self._proto)
            write_json_atomic(tmp / "tokenizer.json", meta)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> BPETokenizer:
        """Read a folder written by ``save`` (or a bare SentencePiece ``.model`` file).

        CorruptFileError naming the file for a damaged ``tokenizer.json`` or model, or a ``model_file`` outside
        the folder; FormatVersionError for a folder from a newer embedlab.
        """
        path = Path(folder)
        if path.is_file():
            return cls._from_file(path, {})
        meta_path = path / "tokenizer.json"
        if not meta_path.exists():
            raise InputError(f"{path} holds no tokenizer.json; pass a folder written by BPETokenizer.save or "
                             "`embedlab train bpe -o FOLDER`, or a SentencePiece .model file")
        meta = read_versioned(meta_path, FORMAT, FORMAT_VERSION, "BPE tokenizer", _DAMAGED)
        model = member(path, meta.get("model_file", MODEL_FILE), meta_path.name, _DAMAGED)
        options = meta.get("options", {})
        if not isinstance(options, dict):
            raise CorruptFileError(f"{meta_path} has \"options\" {options!r}, not an object; {_DAMAGED}")
        if not model.is_file():
            raise CorruptFileError(f"{model} is missing; save the tokenizer again")
        return cls._from_file(model, options)

    @classmethod
    def _from_file(cls, path: Path, options: dict) -> BPETokenizer:
        try:
            return cls(path.read_bytes(), options)
        except OSError as exc:
            raise CorruptFileError(f"{path} cannot be read ({exc.strerror}); {_DAMAGED}") from None
        except CorruptFileError as exc:
            raise CorruptFileError(f"{path}: {exc}; pass a SentencePiece .model file or a folder written by "
                                   "BPETokenizer.save") from None

    def __repr__(self) -> str:
        return f"BPETokenizer({len(self)} pieces, {self.options.get('model_type', 'bpe')})"
