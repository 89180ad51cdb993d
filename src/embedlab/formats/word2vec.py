"""The original word2vec C tool's formats, text and binary, read and written byte-compatibly.

Text: a header line ``"<count> <dim>\\n"``, then one line per key: ``key v1 v2 ... vd``.
Binary: the same header, then per key ``key`` + one space + ``dim`` little-endian float32 values + ``\\n``
(the C tool's trailing newline; readers, gensim's included, skip it). Keys may not contain spaces or newlines.
Text files without a header (GloVe's own ``.txt``) are read too.

The C tool's vocabulary file (``-save-vocab``, gensim's ``fvocab``) holds one ``word count`` line per key.

Damage raises ``CorruptFileError`` (a ``ValueError``, as gensim raises for a malformed file), or one of its two
subclasses where gensim raises something else for the same damage, so code written for gensim keeps catching it:
``TruncatedFileError`` (also an ``EOFError``) when the file ends before the rows its header declares, and
``UndecodableFileError`` (also a ``UnicodeDecodeError``) for a key that is not valid in the file's encoding.
"""

from __future__ import annotations

import codecs
import mmap
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import CorruptFileError, InputError
from ..persist import atomic_file
from .keyed import Keyed, KeyedArrays, keyed, parse_rows, refuse_pickle

__all__ = ["TruncatedFileError", "UndecodableFileError", "is_binary_word2vec", "read", "read_vocab", "write",
           "write_vocab"]


class TruncatedFileError(CorruptFileError, EOFError):
    """A word2vec file that ends before the rows its header declares: a ``CorruptFileError`` that is also the
    ``EOFError`` gensim raises for the same damage."""


class UndecodableFileError(CorruptFileError, UnicodeDecodeError):
    """A key (or vocabulary line) that is not valid in the file's encoding: a ``CorruptFileError`` that is also the
    ``UnicodeDecodeError`` gensim raises for the same damage, carrying the codec's ``encoding``, ``object``,
    ``start``, ``end`` and ``reason``; ``str()`` is embedlab's message (naming the file and where)."""

    def __init__(self, message: str, encoding: str, obj: bytes, start: int, end: int, reason: str,
                 cli: str | None = None) -> None:
        UnicodeDecodeError.__init__(self, encoding, obj, start, end, reason)
        self.message, self.cli = message, cli

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> tuple[type, tuple[str, str, bytes, int, int, str, str | None]]:  # picklable
        return type(self), (self.message, self.encoding, self.object, self.start, self.end, self.reason, self.cli)

_CHUNK = 20000  # text lines parsed per numpy call
_HEADER_BYTES = 256  # a "<count> <dim>" line is never longer
_MAX_DIM = (1 << 31) - 1
_MAX_KEY_BYTES = 1 << 20  # a binary key longer than this means the file is not what its header says
_MIN_COUNT, _MAX_COUNT = -(1 << 63), (1 << 63) - 1  # a vocabulary count is an int64, as gensim stores it
_CONTROL = frozenset(set(range(32)) - {9, 10, 13} | {127})  # bytes that never occur in a text file


_FIX = "re-export or re-download the file"  # what to do about a damaged file (the command line reads no part)
_FIX_PY = _FIX + ", or pass limit=N to read only the complete first rows"


def _damaged(cls: type[CorruptFileError], head: str) -> CorruptFileError:
    """``cls`` for a damaged file: ``head``, then what to do about it (in Python, or at the command line)."""
    return cls(f"{head}: {_FIX_PY}", cli=f"{head}: {_FIX}")


def _wrong_count(head: str, declared: int) -> CorruptFileError:
    """The error for rows beyond those line 1 declares: the header's count is wrong."""
    head += "; the count in the header is wrong: fix it"
    return CorruptFileError(f"{head}, or pass limit={declared} to read only the declared rows", cli=head)


def _parse_header(line: bytes, path: Path) -> tuple[int, int] | None:
    """``(count, dim)`` from a ``"<count> <dim>"`` line; None when the line is not a header (GloVe text)."""
    parts = line.split()
    if len(parts) != 2:
        return None
    try:
        n, d = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    if n < 0 or not 0 < d <= _MAX_DIM:
        raise CorruptFileError(f"{path}: line 1 declares {n} vectors of dimension {d}; the header is invalid: "
                               "it must be '<count> <dim>' with count >= 0 and 0 < dim < 2**31")
    return n, d


def _check_room(path: Path, n: int, d: int, row_bytes: int, avail: int, offset: int) -> None:
    """Refuse a header whose ``n`` rows of at least ``row_bytes`` bytes each cannot fit in the ``avail`` bytes
    after it, before anything is allocated for them."""
    need = n * row_bytes
    if need > avail:
        raise _damaged(TruncatedFileError,
            f"{path}: line 1 declares {n} vectors of dimension {d}, which need at least {need:,} bytes, but only "
            f"{avail:,} bytes follow the header (byte offset {offset}); the header is wrong or the file is "
            f"truncated"
        )


def _split_row(body: bytes, d: int) -> tuple[bytes, bytes]:
    """``(key, values)`` of a text row: the key ends at the first space, unless the key itself begins with a
    space (``"  0.1 0.2"`` is the key ``" "``): then it is everything before the last ``d`` values."""
    key, _, rest = body.partition(b" ")
    if not key and body:
        parts = body.rsplit(b" ", d)
        return parts[0], b" ".join(parts[1:])
    return key, rest


def _is_text_row(line: bytes, d: int) -> bool:
    _, rest = _split_row(line.rstrip(b"\r\n "), d)
    toks = rest.split()
    if len(toks) != d:
        return False
    try:
        [float(t) for t in toks]
    except ValueError:
        return False
    return True


def _looks_like_text(region: bytes) -> bool:
    """True when ``region`` could be part of a text file: UTF-8 (possibly cut mid-character at its end) without
    control bytes. A row of float32 bytes almost never is."""
    try:
        region.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":
            return False
    return not any(b in _CONTROL for b in region)


def is_binary_word2vec(path: str | Path) -> bool:
    """Sniff whether a word2vec file is binary: its first record after the header is not a text row of
    ``dim`` numbers, and the bytes after the first key are not text."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = _parse_header(f.readline(_HEADER_BYTES), path)
        if head is None:
            return False  # header-less files only exist as text (GloVe)
        d = head[1]
        start = f.tell()
        line = f.readline(min(64 + 32 * d, size))
        if not line or _is_text_row(line, d):
            return False
        f.seek(start)
        raw = f.read(min(64 + 4 * d + 1, size))
    sp = raw.find(b" ")
    return not _looks_like_text(raw[sp + 1 : sp + 1 + 4 * d] if sp >= 0 else raw)


def read(path: str | Path, binary: bool | None = None, limit: int | None = None,
         encoding: str = "utf-8", unicode_errors: str = "strict", no_header: bool = False) -> KeyedArrays:
    """Read a word2vec text or binary file (``binary=None`` detects it) as KeyedArrays: keys in file order and a
    float32 ``(n, dim)`` matrix.

    ``limit`` reads only the first N vectors (files are frequency-ordered). ``no_header`` reads a text file whose
    first line is already a vector (as gensim's ``no_header``; without it such a file is detected unless its first
    line could be a header, e.g. the key ``5`` with one value). A header that promises more rows than the file
    can hold or a truncated row raise TruncatedFileError, a malformed row or data after the promised rows
    CorruptFileError, a key not valid in ``encoding`` UndecodableFileError, each naming the line (text) or row and
    byte offset (binary); NaN or infinity raise NonFiniteError; a Python pickle (gensim's ``.model`` / ``.kv``)
    is refused with how to convert it.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no word2vec file at {path}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0):
        raise InputError(f"limit must be a whole number >= 0, got {limit!r}")
    _check_codec(encoding, unicode_errors)
    refuse_pickle(path)
    if binary is None:
        binary = False if no_header else is_binary_word2vec(path)
    if binary:
        if no_header:
            raise InputError("no_header=True reads text files only; a binary word2vec file always has a header")
        return _load_binary(path, limit, encoding, unicode_errors)
    return _load_text(path, limit, encoding, unicode_errors, no_header)


def _check_codec(encoding: str, unicode_errors: str) -> None:
    try:
        codecs.lookup(encoding)
        codecs.lookup_error(unicode_errors)
    except (LookupError, TypeError):
        raise InputError(f"unknown encoding {encoding!r} or unicode_errors {unicode_errors!r}; use e.g. "
                         "encoding='utf-8' or 'latin-1' and unicode_errors='strict', 'replace' or 'ignore'") from None


def _decode(raw: bytes, encoding: str, errors: str, where: str, path: Path, what: str = "key") -> str:
    try:
        return raw.decode(encoding, errors=errors)
    except UnicodeDecodeError as exc:
        head = f"{path}: {where}: {what} {raw[:40]!r} is not valid {encoding} ({exc.reason})"
        raise UndecodableFileError(
            f"{head}; pass encoding=... or unicode_errors='replace' (the C tool may cut multi-byte characters)",
            exc.encoding, exc.object, exc.start, exc.end, exc.reason,
            cli=f"{head}; convert the file to UTF-8 first (e.g. with iconv)",
        ) from None


def _load_binary(path: Path, limit: int | None, encoding: str, errors: str) -> KeyedArrays:
    size = path.stat().st_size
    if size == 0:
        raise CorruptFileError(f"{path}: the file is empty; expected a '<count> <dim>' header line")
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        nl = data.find(b"\n", 0, _HEADER_BYTES)
        head = _parse_header(data[: nl if nl >= 0 else min(size, _HEADER_BYTES)], path)
        if head is None or nl < 0:
            raise CorruptFileError(f"{path}: line 1 must be '<count> <dim>' for a binary word2vec file")
        declared, d = head
        n = declared if limit is None else min(declared, limit)
        width, pos = 4 * d, nl + 1
        _check_room(path, n, d, 1 + width, size - pos, pos)
        keys: list[str] = []
        matrix = np.empty((n, d), dtype=np.float32)
        for i in range(n):
            while pos < size and data[pos] in (10, 13):  # the C tool's "\n" after each vector
                pos += 1
            sp = data.find(b" ", pos, min(size, pos + _MAX_KEY_BYTES))
            if sp < 0 and pos + _MAX_KEY_BYTES < size:
                raise _damaged(CorruptFileError, f"{path}: row {i + 1} of {n} (byte offset {pos}) has no space "
                               f"ending its key within {_MAX_KEY_BYTES:,} bytes; the file is damaged")
            if sp < 0 or sp + 1 + width > size:
                got = "no key" if sp < 0 else f"{size - sp - 1} of {width} vector bytes"
                raise _damaged(TruncatedFileError, f"{path}: the file ends inside row {i + 1} of {n} (found {got}) "
                               f"that starts at byte offset {pos}; it is truncated")
            raw = data[pos:sp]
            if b"\n" in raw:
                raise _damaged(CorruptFileError, f"{path}: row {i + 1} (byte offset {pos}) has a key with a line "
                               f"break; the header's dimension {d} does not match the rows, or the file is damaged")
            keys.append(_decode(raw, encoding, errors, f"row {i + 1} (byte offset {pos})", path))
            matrix[i] = np.frombuffer(data[sp + 1 : sp + 1 + width], dtype="<f4")
            pos = sp + 1 + width
        if limit is None:
            while pos < size and data[pos] in (10, 13, 32):
                pos += 1
            if pos < size:
                raise _wrong_count(f"{path}: {size - pos:,} bytes follow the {n} vectors line 1 declares (byte "
                                   f"offset {pos})", n)
    return keyed(keys, matrix, path, "row", 1)


def _load_text(path: Path, limit: int | None, encoding: str, errors: str, no_header: bool = False) -> KeyedArrays:
    size = path.stat().st_size
    with open(path, "rb") as f:
        first = f.readline()
        head = None if no_header else _parse_header(first, path)
        if head is None:  # header-less (GloVe .txt): dimension from the first line
            if not first.strip():
                raise CorruptFileError(f"{path}: the file is empty; expected a '<count> <dim>' header line")
            n, d, line_no = None, len(first.rstrip(b"\r\n ").split(b" ")) - 1, 0
            if d < 1:
                raise CorruptFileError(f"{path}: line 1 holds no numbers after its key; expected a '<count> <dim>' "
                                       "header or 'key v1 v2 ...' rows (word2vec or GloVe text)")
            f.seek(0)
        else:
            (n, d), line_no = head, 1
        declared = n
        if limit is not None:
            n = limit if n is None else min(n, limit)
        if declared is not None:  # a header: its count (or the limit) must fit the file
            _check_room(path, declared if limit is None else min(declared, limit), d, 2 * d, size - len(first),
                        len(first))
        keys: list[str] = []
        blocks: list[np.ndarray] = []
        while n is None or len(keys) < n:
            want = _CHUNK if n is None else min(_CHUNK, n - len(keys))
            lines = []
            for _ in range(want):
                line = f.readline()
                if not line:
                    break
                lines.append(line)
            if lines:
                blocks.append(_parse_lines(lines, d, line_no, keys, path, encoding, errors))
                line_no += len(lines)
            if len(lines) < want:
                if n is None:
                    break
                raise _damaged(TruncatedFileError,
                    f"{path}: the file ends after line {line_no} but the header announces {n} vectors "
                    f"({len(keys)} read); it is truncated"
                )
        if declared is not None and limit is None:
            _refuse_extra_rows(f, path, line_no, declared)
    matrix = np.concatenate(blocks) if len(blocks) > 1 else blocks[0] if blocks else np.zeros((0, d), np.float32)
    return keyed(keys, matrix, path, "line", (1 if head else 0) + 1)


def _refuse_extra_rows(f: BinaryIO, path: Path, line_no: int, declared: int) -> None:
    """CorruptFileError when a non-blank line follows the rows the header declares (they would be lost)."""
    for line in f:
        line_no += 1
        if line.strip():
            raise _wrong_count(f"{path}: line {line_no} holds data after the {declared} vectors line 1 declares",
                               declared)


def _parse_lines(lines: list[bytes], d: int, line_no: int, keys: list[str], path: Path,
                 encoding: str, errors: str) -> np.ndarray:
    """The ``(len(lines), d)`` float32 rows of text lines (their keys appended to ``keys``); CorruptFileError
    naming the first line that does not hold a key and ``d`` numbers."""
    rests = []
    for j, line in enumerate(lines):
        key, rest = _split_row(line.rstrip(b"\r\n "), d)
        keys.append(_decode(key, encoding, errors, f"line {line_no + j + 1}", path))
        rests.append(rest.decode("latin-1"))  # never fails; a non-ASCII byte is then "not a number"
    first = len(keys) - len(lines)
    return parse_rows(rests, d, " ", lambda j: f"{path}: line {line_no + j + 1} (key {keys[first + j]!r})",
                      _FIX_PY, more_hint="a key may contain a space", cli_fix=_FIX)


def write(vectors: Keyed, path: str | Path, binary: bool = False, *, header: bool = True, total: int | None = None,
          prefix: str = "", rows: Sequence[int] | np.ndarray | None = None, append: bool = False) -> Path:
    """Write ``vectors`` in the word2vec C format (text by default; ``binary=True`` for .bin).

    Text values are the shortest decimal that reads back as the same float32, so text files round-trip exactly.
    gensim's ``save_word2vec_format`` options: ``header=False`` leaves out the ``"<count> <dim>"`` line (GloVe
    style, text only), ``total`` is the count that line declares (default: the rows written), ``prefix`` is put
    before every key, ``rows`` picks the rows and their order (default: all, in order) and ``append`` adds to the
    end of an existing file (still written atomically: the old content is copied into the new file first).
    """
    path = Path(path)
    for k in vectors.keys:
        key = prefix + k
        if not key or any(c in key for c in " \n\r\t"):
            raise InputError(
                f"key {key!r} cannot be stored in word2vec format (empty or contains whitespace); "
                "rename it or use save_npy/save_safetensors"
            )
    if binary and not header:
        raise InputError("a binary word2vec file needs its header line; pass write_header=True or binary=False")
    order = np.arange(len(vectors.keys)) if rows is None else np.asarray(rows, dtype=np.int64)
    n, d = len(order), vectors.matrix.shape[1]
    with atomic_file(path, "wb") as f:
        if append and path.is_file():
            with open(path, "rb") as old:
                shutil.copyfileobj(old, f)
        if header:
            f.write(f"{n if total is None else total} {d}\n".encode())
        for start in range(0, n, _CHUNK):
            idx = order[start : start + _CHUNK]
            block = np.asarray(vectors.matrix[idx], dtype=np.float32)
            keys = [prefix + vectors.keys[i] for i in idx.tolist()]
            if binary:
                raw = block.astype("<f4", copy=False)
                f.write(b"".join(k.encode("utf-8") + b" " + raw[i].tobytes() + b"\n" for i, k in enumerate(keys)))
            else:
                f.write("".join(f"{k} {' '.join(map(str, row))}\n" for k, row in zip(keys, block, strict=True)).encode("utf-8"))
    return path


def read_vocab(path: str | Path, encoding: str = "utf-8", unicode_errors: str = "strict") -> dict[str, int]:
    """The C tool's vocabulary file (``-save-vocab``; gensim's ``fvocab``): ``{word: count}`` from ``word count``
    lines (blank lines skipped; a word given twice keeps its last count).

    FileNotFoundError for a missing file; CorruptFileError naming the line for one that is not ``word count``
    with a whole-number count that fits an int64; UndecodableFileError for a line that is not valid in ``encoding`` (gensim raises
    UnicodeDecodeError there) unless ``unicode_errors`` says what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no vocabulary file at {path}")
    _check_codec(encoding, unicode_errors)
    counts: dict[str, int] = {}
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            parts = _decode(raw, encoding, unicode_errors, f"line {n}", path, what="line").split()
            if not parts:
                continue
            try:
                if len(parts) != 2:
                    raise ValueError
                count = int(parts[1])
                if not _MIN_COUNT <= count <= _MAX_COUNT:
                    raise ValueError
            except ValueError:
                raise CorruptFileError(f"{path}: line {n} is {raw[:60]!r}, not 'word count' (a word, a space and a "
                                       "whole number of at most 19 digits); this is not a word2vec vocabulary file, "
                                       "or it is damaged") from None
            counts[parts[0]] = count
    return counts


def write_vocab(path: str | Path, keys: Sequence[str], counts: Sequence[object], prefix: str = "",
                append: bool = False) -> Path:
    """Write a vocabulary file (``word count`` lines, UTF-8) that ``read_vocab`` and the C tool read; ``append``
    adds to an existing file (atomically, as ``write``)."""
    path = Path(path)
    with atomic_file(path, "wb") as f:
        if append and path.is_file():
            with open(path, "rb") as old:
                shutil.copyfileobj(old, f)
        f.write("".join(f"{prefix}{k} {c}\n" for k, c in zip(keys, counts, strict=True)).encode("utf-8"))
    return path
