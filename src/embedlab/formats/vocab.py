"""The vocabulary file every training folder holds (``vocab.tsv``): ``word<TAB>count`` lines, most frequent first.

Line 1 is a versioned header, ``# embedlab vocab v1: word<TAB>count, most frequent first; raw_tokens=N;
sentences=M``; words are backslash-escaped (``\\t``, ``\\n``, ``\\r``, ``\\\\``) so any string round-trips. The
same file name in every folder kind (Word2Vec, fastText, GloVe, co-occurrence counts); fastText folders written
before it was unified hold ``vocab.txt`` and still read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorruptFileError
from ..persist import atomic_file, check_version, member, read_text

__all__ = ["VOCAB_FILE", "VOCAB_VERSION", "VocabFile", "find_vocab", "read_vocab", "write_vocab"]

VOCAB_FILE = "vocab.tsv"
OLD_NAMES = ("vocab.txt",)  # fastText folders before the names were unified
VOCAB_VERSION = 1
VOCAB_FILE_HEADER = f"# embedlab vocab v{VOCAB_VERSION}: word<TAB>count, most frequent first"
_DAMAGED = "the vocabulary file is damaged: save or train the model again"
_COUNT = re.compile(r"\d{1,18}")  # fits int64


@dataclass
class VocabFile:
    """What a vocabulary file holds.

    Attributes
    ----------
    words : list of str
        Most frequent first.
    counts : list of int
        One count per word (>= 0).
    raw_tokens : int or None
        Tokens of the corpus before ``min_count`` (None when unknown).
    sentences : int
        Sentences (lines) of the corpus.
    """

    words: list[str]
    counts: list[int]
    raw_tokens: int | None = None
    sentences: int = 0


def write_vocab(path: str | os.PathLike[str], vocab: VocabFile) -> None:
    """Write a vocabulary file atomically (temp file, fsync, rename).

    Parameters
    ----------
    path : path-like
        The file to write (``vocab.tsv`` inside a model folder).
    vocab : VocabFile
        Words (any strings; escaped on write) and their counts.

    Raises
    ------
    StorageFullError, ReadOnlyStorageError
        When the disk is full or cannot be written.
    """
    with atomic_file(path, "wb") as f:
        f.write(f"{VOCAB_FILE_HEADER}; raw_tokens={vocab.raw_tokens}; sentences={vocab.sentences}\n".encode())
        for start in range(0, len(vocab.words), 100_000):
            rows = zip(vocab.words[start : start + 100_000], vocab.counts[start : start + 100_000], strict=True)
            f.write("".join(f"{_escape(w)}\t{int(c)}\n" for w, c in rows).encode("utf-8"))


def read_vocab(path: str | os.PathLike[str]) -> VocabFile:
    """Read a vocabulary file written by ``write_vocab``.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    VocabFile

    Raises
    ------
    CorruptFileError
        Naming the file and line for a missing header, a line that is not ``word<TAB>count``, or text that is
        not UTF-8.
    FormatVersionError
        For a file from a newer embedlab.
    """
    path = Path(path)
    lines = read_text(path, _DAMAGED).split("\n")
    header = re.match(r"# embedlab vocab v(\d{1,9})\b", lines[0])
    if header is None:
        raise CorruptFileError(f"{path} is not an embedlab vocabulary file (line 1 lacks the "
                               f"'# embedlab vocab v1' header); {_DAMAGED}")
    check_version(path, int(header.group(1)), VOCAB_VERSION, "vocabulary", _DAMAGED)
    meta = {}
    for part in lines[0].split("; ")[1:]:
        k, _, v = part.partition("=")
        if not _COUNT.fullmatch(v):
            raise CorruptFileError(f"{path}: line 1 has {part!r}, expected name=<whole number>; {_DAMAGED}")
        meta[k] = int(v)
    if lines[-1] == "":
        lines.pop()
    words, counts = [], []
    for n, line in enumerate(lines[1:], start=2):
        w, sep, c = line.rpartition("\t")
        if not sep or not _COUNT.fullmatch(c):
            raise CorruptFileError(f"{path}:{n}: expected word<TAB>count, got {line[:60]!r}; {_DAMAGED}")
        words.append(_unescape(w))
        counts.append(int(c))
    return VocabFile(words, counts, raw_tokens=meta.get("raw_tokens"), sentences=meta.get("sentences", 0))


def find_vocab(folder: Path, named: str | None = None, what: str = "the manifest") -> Path:
    """The vocabulary file of a model folder: ``named`` (from its manifest) when given, else ``vocab.tsv``, else an
    older name (``vocab.txt``).

    Raises
    ------
    CorruptFileError
        When none exists (naming the file expected).
    """
    if named is not None:
        return member(folder, named, what, _DAMAGED)
    for name in (VOCAB_FILE, *OLD_NAMES):
        if (folder / name).is_file():
            return folder / name
    raise CorruptFileError(f"{folder / VOCAB_FILE} is missing; {_DAMAGED}")


_ESC = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESC = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def _escape(w: str) -> str:
    if "\\" in w or "\t" in w or "\n" in w or "\r" in w:
        return "".join(_ESC.get(ch, ch) for ch in w)
    return w


def _unescape(w: str) -> str:
    if "\\" not in w:
        return w
    out, i = [], 0
    while i < len(w):
        if w[i] == "\\" and i + 1 < len(w):
            out.append(_UNESC.get(w[i + 1], w[i + 1]))
            i += 2
        else:
            out.append(w[i])
            i += 1
    return "".join(out)
