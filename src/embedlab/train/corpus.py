"""Streaming corpora: iterate token lists from a text file or a folder of files, never loading them whole.

    >>> for tokens in LineCorpus("corpus.txt", lowercase=True):
    ...     ...

One line is one sentence; tokens are split on whitespace unless a ``tokenizer`` is given. Very long lines are
cut into pieces of ``max_sentence_length`` tokens (like gensim's LineSentence) so a file without newlines still
streams. Every trainer accepts a path, a LineCorpus or any re-iterable of token lists (see ``as_corpus``).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..errors import InputError

__all__ = ["LineCorpus", "as_corpus", "check_text_file"]

_SNIFF = 8192


def check_text_file(path: str | os.PathLike) -> None:
    """Raise InputError if ``path`` looks binary (NUL bytes or invalid UTF-8 in its first 8 KiB)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(_SNIFF)
    except OSError as exc:
        raise InputError(f"cannot read corpus file {path}: {exc}") from None
    if b"\x00" in head:
        raise InputError(f"{path} looks like a binary file, not text; pass a UTF-8 text file with one sentence per line")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a character cut at the sniff boundary is fine
            raise InputError(f"{path} is not UTF-8 text (bad byte at offset {exc.start}); convert it to UTF-8 first") from None


class LineCorpus:
    """A re-iterable of token lists read lazily from a file, a ``.gz`` file or every file in a folder.

    Files of a folder are read in sorted path order (recursively, hidden files skipped) so runs are reproducible.
    """

    def __init__(
        self,
        path_or_folder: str | os.PathLike,
        lowercase: bool = False,
        tokenizer: Callable[[str], list[str]] | None = None,
        max_sentence_length: int = 10000,
    ) -> None:
        self.path = Path(path_or_folder)
        self.lowercase = lowercase
        self.tokenizer = tokenizer
        self.max_sentence_length = int(max_sentence_length)
        if self.max_sentence_length <= 0:
            raise InputError("max_sentence_length must be a positive number of tokens")
        if not self.path.exists():
            raise InputError(f"corpus not found: {self.path}; pass a text file or a folder of text files")
        self.files: list[Path] = self._list_files()
        if not self.files:
            raise InputError(f"corpus folder {self.path} holds no files; add text files (one sentence per line)")
        for f in self.files:
            check_text_file(f)

    def _list_files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        files = []
        for root, dirs, names in os.walk(self.path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        return sorted(files)

    def lines(self) -> Iterator[str]:
        """Raw lines of every file in order (decoded as UTF-8)."""
        for path in self.files:
            opener = gzip.open if path.suffix == ".gz" else open
            try:
                with opener(path, "rt", encoding="utf-8", errors="strict") as f:
                    yield from f
            except UnicodeDecodeError as exc:
                raise InputError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); convert it to UTF-8") from None

    def __iter__(self) -> Iterator[list[str]]:
        split = self.tokenizer or str.split
        lower = self.lowercase
        cap = self.max_sentence_length
        for line in self.lines():
            if lower:
                line = line.lower()
            tokens = split(line)
            if len(tokens) <= cap:
                if tokens:
                    yield tokens
            else:
                for i in range(0, len(tokens), cap):
                    yield tokens[i : i + cap]

    def __repr__(self) -> str:
        return f"LineCorpus({str(self.path)!r}, files={len(self.files)}, lowercase={self.lowercase})"


def as_corpus(corpus: str | os.PathLike | Iterable[list[str]]) -> Iterable[list[str]]:
    """A path becomes a LineCorpus; a LineCorpus or an iterable of token lists is returned as is.

    A plain string is taken as a path (a sentence is a list of tokens, never a string).
    """
    if isinstance(corpus, (str, os.PathLike)):
        return LineCorpus(corpus)
    if isinstance(corpus, bytes):
        raise InputError("corpus must be a path, a LineCorpus or an iterable of token lists, not bytes")
    if not isinstance(corpus, Iterable):
        raise InputError(f"corpus must be a path, a LineCorpus or an iterable of token lists, not {type(corpus).__name__}")
    return corpus


def is_reiterable(corpus: Iterable) -> bool:
    """False for one-shot iterators (generators, file objects) that a second pass would find empty."""
    return iter(corpus) is not corpus
