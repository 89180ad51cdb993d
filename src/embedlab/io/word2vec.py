"""The original word2vec C tool's formats, text and binary, read and written byte-compatibly.

Text: a header line ``"<count> <dim>\\n"``, then one line per key: ``key v1 v2 ... vd``.
Binary: the same header, then per key ``key`` + one space + ``dim`` little-endian float32 values + ``\\n``
(the C tool's trailing newline; readers, gensim's included, skip it). Keys may not contain spaces or newlines.
Text files without a header (GloVe's own ``.txt``) are read too.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, InputError, NonFiniteError
from ..vectors import Vectors

__all__ = ["load_word2vec", "save_word2vec", "is_binary_word2vec"]

_CHUNK = 20000  # text lines parsed per numpy call


def _fix(path: Path) -> str:  # what to do about a damaged file
    return "re-export or re-download the file, or pass limit=N to read only the complete first rows"


def _parse_header(line: bytes, path: Path) -> tuple[int, int] | None:
    parts = line.split()
    if len(parts) != 2:
        return None
    try:
        n, d = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    if n < 0 or d <= 0:
        raise CorruptFileError(f"{path}: line 1 declares {n} vectors of dimension {d}; the header is invalid")
    return n, d


def is_binary_word2vec(path: str | Path) -> bool:
    """Sniff whether a word2vec file is binary: the first record after the header is not a text line."""
    path = Path(path)
    with open(path, "rb") as f:
        header = f.readline()
        head = _parse_header(header, path)
        if head is None:
            return False  # header-less files only exist as text (GloVe)
        _, d = head
        line = f.readline(64 + 32 * d)
    if not line:
        return False
    try:
        parts = line.decode("utf-8").rstrip("\r\n ").split(" ")
        if len(parts) != d + 1:
            return True
        np.asarray(parts[1:], dtype=np.float32)
        return False
    except (UnicodeDecodeError, ValueError):
        return True


def load_word2vec(path: str | Path, binary: bool | None = None, limit: int | None = None,
                  encoding: str = "utf-8", unicode_errors: str = "strict") -> Vectors:
    """Read a word2vec text or binary file (``binary=None`` detects it) into Vectors.

    ``limit`` reads only the first N vectors (files are frequency-ordered). Truncated or malformed files raise
    CorruptFileError naming the line (text) or row (binary).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no word2vec file at {path}")
    if limit is not None and limit < 0:
        raise InputError(f"limit must be >= 0, got {limit}")
    if binary is None:
        binary = is_binary_word2vec(path)
    if binary:
        return _load_binary(path, limit, encoding, unicode_errors)
    return _load_text(path, limit, encoding, unicode_errors)


def _decode(raw: bytes, encoding: str, errors: str, where: str, path: Path) -> str:
    try:
        return raw.decode(encoding, errors=errors)
    except UnicodeDecodeError as exc:
        raise CorruptFileError(
            f"{path}: {where}: key {raw[:40]!r} is not valid {encoding} ({exc.reason}); pass encoding=... "
            "or unicode_errors='replace' (the C tool may cut multi-byte characters)"
        ) from None


def _load_binary(path: Path, limit: int | None, encoding: str, errors: str) -> Vectors:
    data = path.read_bytes()
    nl = data.find(b"\n")
    head = _parse_header(data[: nl if nl >= 0 else len(data)], path)
    if head is None:
        raise CorruptFileError(f"{path}: line 1 must be '<count> <dim>' for a binary word2vec file")
    n, d = head
    if limit is not None:
        n = min(n, limit)
    width = 4 * d
    pos = nl + 1
    keys: list[str] = []
    matrix = np.empty((n, d), dtype=np.float32)
    size = len(data)
    for i in range(n):
        while pos < size and data[pos] in (10, 13):  # the C tool's "\n" after each vector
            pos += 1
        sp = data.find(b" ", pos)
        if sp < 0 or sp + 1 + width > size:
            got = "no key" if sp < 0 else f"{size - sp - 1} of {width} vector bytes"
            raise CorruptFileError(
                f"{path}: the file ends inside row {i + 1} of {n} (found {got}); it is truncated: {_fix(path)}"
            )
        keys.append(_decode(data[pos:sp], encoding, errors, f"row {i + 1}", path))
        matrix[i] = np.frombuffer(data, dtype="<f4", count=d, offset=sp + 1)
        pos = sp + 1 + width
    _check_finite(matrix, keys, path, "row", 0)
    return Vectors(keys, matrix)


def _check_finite(matrix: np.ndarray, keys: list[str], path: Path, unit: str, first: int) -> None:
    ok = np.isfinite(matrix).all(axis=1)
    if not ok.all():
        i = int(np.argmin(ok))
        raise NonFiniteError(
            f"{path}: {unit} {i + first} (key {keys[i]!r}) contains NaN or infinity; "
            f"{int((~ok).sum())} row(s) are affected; clean the file or drop those keys"
        )


def _load_text(path: Path, limit: int | None, encoding: str, errors: str) -> Vectors:
    with open(path, "rb") as f:
        first = f.readline()
        head = _parse_header(first, path)
        if head is None:  # header-less (GloVe .txt): dimension from the first line
            if not first.strip():
                raise CorruptFileError(f"{path}: the file is empty; expected a '<count> <dim>' header line")
            n, d, line_no = None, len(first.rstrip().split(b" ")) - 1, 0
            f.seek(0)
        else:
            (n, d), line_no = head, 1
        if limit is not None:
            n = limit if n is None else min(n, limit)
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
            if not lines:
                if n is None:
                    break
                raise CorruptFileError(
                    f"{path}: the file ends after line {line_no} but the header announces {n} vectors "
                    f"({len(keys)} read); it is truncated: {_fix(path)}"
                )
            blocks.append(_parse_lines(lines, d, line_no, keys, path, encoding, errors))
            line_no += len(lines)
            if len(lines) < want and n is not None:
                raise CorruptFileError(
                    f"{path}: the file ends after line {line_no} but the header announces {n} vectors "
                    f"({len(keys)} read); it is truncated: {_fix(path)}"
                )
    matrix = np.concatenate(blocks) if blocks else np.zeros((0, d), np.float32)
    _check_finite(matrix, keys, path, "line", (1 if head else 0) + 1)
    return Vectors(keys, matrix)


def _parse_lines(lines: list[bytes], d: int, line_no: int, keys: list[str], path: Path,
                 encoding: str, errors: str) -> np.ndarray:
    rests = []
    for j, line in enumerate(lines):
        parts = line.rstrip(b"\r\n ").split(b" ", 1)
        keys.append(_decode(parts[0].lstrip(b"\n"), encoding, errors, f"line {line_no + j + 1}", path))
        rests.append(parts[1] if len(parts) > 1 else b"")
    text = b" ".join(rests).decode("ascii", errors="replace")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            values = np.fromstring(text, dtype=np.float32, sep=" ")  # C-speed parse; validated below
        except ValueError:
            values = np.zeros(0, np.float32)
    if values.size == len(lines) * d:
        return values.reshape(len(lines), d)
    for j, rest in enumerate(rests):  # find the offending line for a precise message
        toks = rest.split()
        where = f"{path}: line {line_no + j + 1} (key {keys[len(keys) - len(lines) + j]!r})"
        if len(toks) != d:
            hint = "the file is truncated or malformed" if len(toks) < d else "a key may contain a space"
            raise CorruptFileError(f"{where} has {len(toks)} numbers, expected {d}; {hint}: {_fix(path)}")
        try:
            np.asarray([t.decode("ascii") for t in toks], dtype=np.float32)
        except (ValueError, UnicodeDecodeError):
            raise CorruptFileError(f"{where} contains a value that is not a number: {_fix(path)}") from None
    raise CorruptFileError(f"{path}: lines {line_no + 1}-{line_no + len(lines)} could not be parsed as numbers")


def save_word2vec(vectors: Vectors, path: str | Path, binary: bool = False) -> Path:
    """Write ``vectors`` in the word2vec C format (text by default; ``binary=True`` for .bin).

    Text values are the shortest decimal that reads back as the same float32, so text files round-trip exactly.
    """
    path = Path(path)
    for k in vectors.keys:
        if not k or any(c in k for c in " \n\r\t"):
            raise InputError(
                f"key {k!r} cannot be stored in word2vec format (empty or contains whitespace); "
                "rename it or use save_npy/save_safetensors"
            )
    n, d = len(vectors), vectors.dim
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(f"{n} {d}\n".encode("utf-8"))
        for start in range(0, n, _CHUNK):
            block = np.asarray(vectors.matrix[start : start + _CHUNK], dtype=np.float32)
            keys = vectors.keys[start : start + _CHUNK]
            if binary:
                raw = block.astype("<f4", copy=False)
                f.write(b"".join(k.encode("utf-8") + b" " + raw[i].tobytes() + b"\n" for i, k in enumerate(keys)))
            else:
                f.write("".join(f"{k} {' '.join(map(str, row))}\n" for k, row in zip(keys, block)).encode("utf-8"))
    tmp.replace(path)
    return path
