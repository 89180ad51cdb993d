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
import tempfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .._params import check_bool, check_int
from ..errors import InputError
from ..persist import storage_errors
from .vocab import Vocab, check_vocab_params, not_a_sentence, ranked_ids

if TYPE_CHECKING:
    import numpy as np

    from ._encode_kernels import WordTable

__all__ = ["LineCorpus", "as_corpus", "check_text_file", "scratch_folder"]

_SNIFF = 8192
ENCODE_THREADS = 2  # threads encoding blocks of a new corpus side by side (the compiled kernel runs without the GIL)
_READ_ERRORS = (OSError, EOFError, zlib.error)  # unreadable, removed, or a truncated / damaged .gz
_READ_FIX = "check that it is readable (a .gz file must be complete)"


def check_text_file(path: str | os.PathLike[str]) -> None:
    """Raise InputError if ``path`` looks binary (NUL bytes or invalid UTF-8 in its first 8 KiB)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(_SNIFF)
    except _READ_ERRORS as exc:
        raise InputError(f"cannot read corpus file {path} ({exc}); {_READ_FIX}") from None
    if b"\x00" in head:
        raise InputError(f"{path} looks like a binary file, not text; pass a UTF-8 text file with one sentence per line")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a character cut at the sniff boundary is fine
            raise InputError(f"{path} is not UTF-8 text (bad byte at offset {exc.start}); convert it to UTF-8 first") from None


_BOM = b"\xef\xbb\xbf"  # UTF-8 byte-order mark (not a token character; str.split keeps it)


class LineCorpus:
    """A re-iterable of token lists read lazily from a file, a ``.gz`` file or every file in a folder.

    Files of a folder are read in sorted path order (recursively, hidden files skipped) so runs are reproducible.
    """

    def __init__(
        self,
        path_or_folder: str | os.PathLike[str],
        lowercase: bool = False,
        tokenizer: Callable[[str], list[str]] | None = None,
        max_sentence_length: int = 10000,
    ) -> None:
        if not isinstance(path_or_folder, (str, os.PathLike)):
            raise InputError(f"a LineCorpus reads a path (a text file or a folder), got {type(path_or_folder).__name__}")
        if tokenizer is not None and not callable(tokenizer):
            raise InputError(f"tokenizer must be a function from a line to a list of tokens (or None), got "
                             f"{type(tokenizer).__name__}")
        self.path = Path(path_or_folder)
        self.lowercase = check_bool(lowercase, "lowercase")
        self.tokenizer = tokenizer
        self.max_sentence_length = check_int(max_sentence_length, "max_sentence_length", low=1,
                                             hint="longer lines are cut into sentences of this many tokens")
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
        files: list[Path] = []
        for root, dirs, names in os.walk(self.path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            files.extend(Path(root) / n for n in sorted(names) if not n.startswith("."))
        return sorted(files)

    def lines(self) -> Iterator[str]:
        """Raw lines of every file in order (decoded as UTF-8; a byte-order mark opening a file is dropped)."""
        for path in self.files:
            opener = gzip.open if path.suffix == ".gz" else open
            try:
                with opener(path, "rt", encoding="utf-8-sig", errors="strict") as f:
                    yield from f
            except UnicodeDecodeError as exc:
                raise InputError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); convert it to UTF-8") from None
            except _READ_ERRORS as exc:
                raise InputError(f"cannot read corpus file {path} ({exc}); {_READ_FIX}") from None

    def text_blocks(self, chars: int = 1 << 20) -> Iterator[str]:
        """The raw lines (lower-cased with ``lowercase``) joined into blocks of about ``chars`` characters.

        Each block holds whole lines, each ending in ``\\n`` (one is added to a file's last line when it has
        none), so splitting a block's lines gives what iterating the corpus line by line gives.

        Parameters
        ----------
        chars : int
            Characters after which a block is closed (a longer line makes a longer block).

        Returns
        -------
        Iterator[str]
            The blocks in corpus order.
        """
        lower = self.lowercase
        block: list[str] = []
        size = 0
        for line in self.lines():
            if not line.endswith("\n"):
                line += "\n"
            block.append(line)
            size += len(line)
            if size >= chars:
                text = "".join(block)
                yield text.lower() if lower else text
                block, size = [], 0
        if block:
            text = "".join(block)
            yield text.lower() if lower else text

    def byte_blocks(self, chars: int = 1 << 20) -> Iterator[bytes]:
        """What ``text_blocks`` yields, UTF-8 encoded, read from the files as bytes without splitting lines in Python.

        A byte-order mark opening a file is dropped. Each file is read in pieces of about ``chars`` bytes, cut after
        its last ``\\n``; a piece's ``\\r\\n`` and lone ``\\r`` become ``\\n`` (text mode's universal newlines), a
        file's last line gets a ``\\n`` when it has none, and every piece is checked as UTF-8 (and lower-cased with
        ``lowercase``), so the bytes are exactly ``text_blocks``' blocks encoded, at the cost of one decode instead
        of a Python object per line.

        Parameters
        ----------
        chars : int
            Bytes read at a time (a longer line makes a longer block).

        Returns
        -------
        Iterator[bytes]
            The blocks in corpus order, each holding whole lines ending in ``\\n``.

        Raises
        ------
        InputError
            Naming the file for bytes that are not UTF-8 (with their offset in the file) or a file that cannot be
            read (a truncated ``.gz`` too).
        """
        for path in self.files:
            opener = gzip.open if path.suffix == ".gz" else open
            try:
                with opener(path, "rb") as f:
                    head = f.read(len(_BOM))  # a byte-order mark opening the file is dropped, as by lines()
                    tail: list[bytes] = [] if head == _BOM else [head]  # what follows the last newline read so far
                    offset = len(_BOM) if head == _BOM else 0
                    while piece := f.read(chars):
                        cut = piece.rfind(b"\n") + 1
                        if cut == 0:
                            tail.append(piece)
                            continue
                        data = b"".join([*tail, piece[:cut]])
                        tail = [piece[cut:]]
                        yield self._checked(path, data, offset)
                        offset += len(data)
                    last = b"".join(tail)
                    if last:
                        yield self._checked(path, last if last.endswith(b"\r") else last + b"\n", offset)
            except _READ_ERRORS as exc:
                raise InputError(f"cannot read corpus file {path} ({exc}); {_READ_FIX}") from None

    def _checked(self, path: Path, data: bytes, offset: int) -> bytes:
        """``data`` (whole lines of ``path`` from byte ``offset``) with universal newlines, checked as UTF-8 and
        lower-cased with ``lowercase``."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path} is not UTF-8 text ({exc.reason} at byte {offset + exc.start}); convert it to "
                             "UTF-8") from None
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            data = text.encode("utf-8")
        return text.lower().encode("utf-8") if self.lowercase else data

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


def as_corpus(corpus: str | os.PathLike[str] | Iterable[list[str]]) -> Iterable[list[str]]:
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


@contextmanager
def scratch_folder(tmp_dir: str | os.PathLike[str] | None, prefix: str) -> Iterator[Path]:
    """A temporary folder inside ``tmp_dir`` (an existing folder, or None for the system's temp folder) for a
    trainer's encoded corpus, deleted afterwards; a full disk or read-only media is the embedlab storage error."""
    if tmp_dir is not None and not (isinstance(tmp_dir, (str, os.PathLike)) and os.path.isdir(tmp_dir)):
        raise InputError(f"tmp_dir must be an existing folder (or None for the system's temp folder), got "
                         f"{tmp_dir!r}")
    with storage_errors(), tempfile.TemporaryDirectory(prefix=prefix, dir=tmp_dir) as tmp:
        yield Path(tmp)


class Progress(Protocol):
    """What a trainer's progress bar must do (a ``tqdm`` bar does it): count ``n`` more items."""

    def update(self, n: int = 1) -> object: ...


def is_reiterable(corpus: Iterable[object]) -> bool:
    """False for one-shot iterators (generators, file objects) that a second pass would find empty."""
    return iter(corpus) is not corpus


class EncodedCorpus:
    """A corpus encoded once as int32 ids on disk (``tokens.i32`` + ``lengths.i32``), memory-mapped per epoch.

    Later epochs read 4 bytes per token from the page cache instead of re-reading and re-tokenising text, and
    the process never holds more than one block in its own memory.
    """

    def __init__(self, folder: str | os.PathLike[str], n_tokens: int, n_sentences: int) -> None:
        self.folder = Path(folder)
        self.n_tokens = int(n_tokens)
        self.n_sentences = int(n_sentences)

    @property
    def tokens(self) -> np.ndarray:
        """int32 ``(n_tokens,)`` word ids of every sentence, back to back (memory-mapped, read-only)."""
        import numpy as np

        if self.n_tokens == 0:
            return np.zeros(0, np.int32)
        return np.memmap(self.folder / "tokens.i32", dtype=np.int32, mode="r", shape=(self.n_tokens,))

    @property
    def lengths(self) -> np.ndarray:
        """int32 ``(n_sentences,)`` tokens per sentence (memory-mapped, read-only)."""
        import numpy as np

        if self.n_sentences == 0:
            return np.zeros(0, np.int32)
        return np.memmap(self.folder / "lengths.i32", dtype=np.int32, mode="r", shape=(self.n_sentences,))

    @classmethod
    def write(
        cls,
        corpus: Iterable[list[str]],
        folder: str | os.PathLike[str],
        lookup: dict[str, int] | None = None,
        max_sentence_length: int = 10000,
        block: int = 1 << 20,
        progress: Progress | None = None,
    ) -> tuple[EncodedCorpus, dict[str, int], np.ndarray]:
        """Encode ``corpus`` into ``folder`` in one streaming pass.

        With ``lookup`` (word -> id) unknown words become -1. Without it every new word gets the next id in
        first-occurrence order; the returned dict holds those ids and the third value their counts (int64).
        ``block``: tokens buffered per write, or for a ``LineCorpus`` without ``tokenizer`` (the compiled path) bytes
        read per block (without ``lookup`` the blocks are encoded on ``ENCODE_THREADS`` threads side by side).
        """
        import itertools
        from array import array
        from collections import defaultdict

        import numpy as np

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if isinstance(corpus, LineCorpus) and corpus.tokenizer is None:
            fast = _write_compiled(corpus, folder, lookup, max_sentence_length, progress, block)
            if fast is not None:
                n_tok, n_sent, table, counts = fast
                words = dict(lookup) if lookup is not None else dict(zip(table.words(), range(table.n_words),
                                                                         strict=True))
                return cls(folder, n_tok, n_sent), words, counts
        ids: dict[str, int]
        if lookup is None:  # every new word gets the next id
            ids = defaultdict(itertools.count().__next__)
            get = ids.__getitem__

            def encode(sent: list[str]) -> Iterator[int]:
                return map(get, sent)
        else:  # unknown words become -1
            ids = lookup
            minus = itertools.repeat(-1)

            def encode(sent: list[str]) -> Iterator[int]:
                return map(lookup.get, sent, minus)
        counts = np.zeros(0, np.int64)
        lengths = array("i")
        buf = array("i")
        n_tok = 0
        with open(folder / "tokens.i32", "wb") as tf, open(folder / "lengths.i32", "wb") as lf:

            def flush() -> None:
                nonlocal buf, counts, lengths, n_tok
                arr = np.frombuffer(buf, dtype=np.int32)
                if lookup is None and arr.size:
                    c = np.bincount(arr, minlength=len(ids))
                    c[: counts.size] += counts
                    counts = c
                arr.tofile(tf)
                np.frombuffer(lengths, dtype=np.int32).tofile(lf)
                n_tok += arr.size
                if progress is not None:
                    progress.update(arr.size)
                buf, lengths = array("i"), array("i")

            n_sent = 0
            for sent in corpus:
                if isinstance(sent, (str, bytes)):
                    raise InputError("each sentence must be a list of tokens, not a string; split lines first (or pass a path)")
                try:
                    n = len(sent)
                    if n == 0:
                        continue
                    buf.extend(encode(sent))
                except TypeError:  # a number or None for a sentence, a list for a token
                    raise not_a_sentence(n_sent, sent) from None
                while n > max_sentence_length:
                    lengths.append(max_sentence_length)
                    n -= max_sentence_length
                    n_sent += 1
                lengths.append(n)
                n_sent += 1
                if len(buf) >= block:
                    flush()
            flush()
        return cls(folder, n_tok, n_sent), dict(ids), counts

    @classmethod
    def write_ranked(
        cls,
        corpus: Iterable[list[str]],
        folder: str | os.PathLike[str],
        min_count: int = 1,
        max_vocab_size: int | None = None,
        max_sentence_length: int = 10000,
        progress: Progress | None = None,
        block: int = 1 << 20,
    ) -> tuple[EncodedCorpus, Vocab]:
        """Encode ``corpus`` into ``folder`` in one pass, count it and renumber it to its vocabulary.

        The vocabulary, ids and sentences are those of ``write`` (first-occurrence ids) followed by
        ``Vocab.from_counts`` over its counts and ``compact`` through the renumbering, but the words are ranked as
        arrays (``vocab.ranked_ids``) and only the kept ones are decoded, so no Python object is made per
        distinct word of the corpus.

        Parameters
        ----------
        corpus : iterable of list of str
            A ``LineCorpus`` (the compiled path when it has no ``tokenizer``) or token lists.
        folder : path-like
            Where ``tokens.i32`` and ``lengths.i32`` are written (created if missing).
        min_count : int, default 1
            Words seen fewer times (>= 1) are dropped, from the vocabulary and from the encoded sentences.
        max_vocab_size : int or None, default None
            Keep at most this many of the most frequent words (>= 2); None: no limit.
        max_sentence_length : int, default 10000
            Longer sentences are cut into pieces of this many tokens (before words are dropped).
        progress : Progress, optional
            Told the tokens encoded, block by block.
        block : int, default 1 MiB
            As for ``write``: bytes read per block on the compiled path (blocks are encoded on ``ENCODE_THREADS``
            threads side by side), tokens buffered per write otherwise.

        Returns
        -------
        tuple of (EncodedCorpus, Vocab)
            The encoded corpus holding only vocabulary ids (empty sentences dropped), and the vocabulary (most
            frequent first, ties in first-occurrence order; ``raw_tokens`` and ``sentences`` count the corpus
            before words are dropped).

        Raises
        ------
        InputError
            For unusable ``min_count`` / ``max_vocab_size`` (before reading), an empty corpus, no word reaching
            ``min_count``, or sentences that are not token lists.
        """
        import numpy as np

        check_vocab_params(min_count, max_vocab_size)
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        fast = None
        if isinstance(corpus, LineCorpus) and corpus.tokenizer is None:
            fast = _write_compiled(corpus, folder, None, max_sentence_length, progress, block)
        if fast is not None:
            n_tok, n_sent, table, counts = fast
            enc = cls(folder, n_tok, n_sent)
            order = ranked_ids(counts, min_count, max_vocab_size)
            words = table.words(order)
        else:
            enc, ids, counts = cls.write(corpus, folder, max_sentence_length=max_sentence_length, progress=progress,
                                         block=block)
            order = ranked_ids(counts, min_count, max_vocab_size)
            every = list(ids)  # first-occurrence order: position = id
            words = [every[i] for i in order.tolist()]
        vocab = Vocab(words, counts[order], raw_tokens=int(counts.sum()), sentences=enc.n_sentences)
        remap = np.full(counts.size, -1, np.int32)
        remap[order] = np.arange(order.size, dtype=np.int32)
        enc.compact(remap)
        return enc, vocab

    def compact(self, remap: np.ndarray | None) -> None:
        """Map ids through ``remap`` (old id -> new id or -1) and drop -1s and empty sentences, in place."""
        import numpy as np

        from ._kernels import compact

        if self.n_tokens == 0:
            return
        tokens = np.memmap(self.folder / "tokens.i32", dtype=np.int32, mode="r+", shape=(self.n_tokens,))
        lengths = np.memmap(self.folder / "lengths.i32", dtype=np.int32, mode="r+", shape=(self.n_sentences,))
        remap = np.zeros(0, np.int32) if remap is None else np.ascontiguousarray(remap, dtype=np.int32)
        n_tok, n_sent = compact(tokens, lengths, remap)
        tokens.flush()
        lengths.flush()
        del tokens, lengths
        self.n_tokens, self.n_sentences = int(n_tok), int(n_sent)

    def chunks(self, target_words: int = 10000) -> list[tuple[int, int, int]]:
        """(first token, first sentence, end sentence) of consecutive sentence blocks of about ``target_words``."""
        import numpy as np

        if self.n_sentences == 0:
            return []
        ends = np.cumsum(self.lengths, dtype=np.int64)
        cuts = np.searchsorted(ends, np.arange(target_words, int(ends[-1]), target_words, dtype=np.int64), side="left") + 1
        bounds = np.unique(np.concatenate([[0], cuts, [self.n_sentences]]))
        starts = np.concatenate([[0], ends])
        return [(int(starts[a]), int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _lookup_table(lookup: dict[str, int]) -> WordTable | None:
    """A WordTable holding ``lookup``'s words with their ids, or None when one cannot be stored (id beyond int32,
    a word that cannot be UTF-8)."""
    import numpy as np

    from ._encode_kernels import WordTable

    table = WordTable()
    words = [w for w in lookup if isinstance(w, str) and w.split() == [w]]  # others never match a token
    ids = [lookup[w] for w in words]
    if not all(isinstance(i, int) and -(1 << 31) <= i < (1 << 31) for i in ids):
        return None
    try:
        data = np.frombuffer(("\n".join(words) + "\n").encode("utf-8"), np.uint8)
    except UnicodeEncodeError:
        return None
    if words:
        table.encode(data, 1, grow=True)
    if table.n_words != len(words):
        return None
    table.vals[: len(words)] = ids
    return table


def _write_compiled(corpus: LineCorpus, folder: Path, lookup: dict[str, int] | None, cap: int,
                    progress: Progress | None, block_bytes: int) -> tuple[int, int, WordTable, np.ndarray] | None:
    """``EncodedCorpus.write`` of a whitespace-split LineCorpus, block by block through the compiled WordTable:
    (tokens, sentences, the table, counts of its new words by id), or None to take the general path.

    The general path cuts each line at the corpus's own ``max_sentence_length`` and then each piece at ``cap``;
    one cap does the same where the corpus's divides into whole pieces of ``cap`` (or is the smaller), else the
    general path runs.
    """
    import numpy as np

    from ._encode_kernels import WordTable

    own = corpus.max_sentence_length
    if own <= cap:
        cap = own
    elif own % cap:
        return None
    table = WordTable() if lookup is None else _lookup_table(lookup)
    if table is None:
        return None
    grow = lookup is None
    counts = np.zeros(0, np.int64)
    n_tok = n_sent = 0

    def encode(block: bytes) -> tuple[WordTable, np.ndarray, np.ndarray]:  # on a pool thread: a table of its own
        local = WordTable()
        return (local, *local.encode(np.frombuffer(block, np.uint8), cap, True))

    with open(folder / "tokens.i32", "wb") as tf, open(folder / "lengths.i32", "wb") as lf:

        def put(ids: np.ndarray, lengths: np.ndarray) -> None:
            nonlocal n_tok, n_sent
            ids.tofile(tf)
            lengths.tofile(lf)
            n_tok += ids.size
            n_sent += lengths.size
            if progress is not None and ids.size:
                progress.update(ids.size)

        if not grow:
            for block in corpus.byte_blocks(block_bytes):
                put(*table.encode(np.frombuffer(block, np.uint8), cap, False))
        else:  # blocks encoded side by side into tables of their own, merged in order: the ids of one table
            with ThreadPoolExecutor(ENCODE_THREADS) as pool:
                pending: deque[Future[tuple[WordTable, np.ndarray, np.ndarray]]] = deque()
                blocks = corpus.byte_blocks(block_bytes)
                while True:
                    while len(pending) < 2 * ENCODE_THREADS and (piece := next(blocks, None)) is not None:
                        pending.append(pool.submit(encode, piece))
                    if not pending:
                        break
                    local, ids, lengths = pending.popleft().result()
                    where = table.merge(local)
                    if counts.size < table.n_words:
                        counts = np.concatenate([counts, np.zeros(table.n_words - counts.size, np.int64)])
                    counts[where] += np.bincount(ids, minlength=local.n_words)
                    put(where[ids], lengths)
    return n_tok, n_sent, table, counts
