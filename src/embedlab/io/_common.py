"""Checks every vectors reader shares: Python pickles refused, finite values, unique keys, naming the file and
the line or row at fault."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, InputError, NonFiniteError
from ..vectors import Vectors

_CHECK_BYTES = 1 << 25  # rows checked per step: about 32 MiB, so a memory-mapped matrix is never read whole


def refuse_pickle(path: Path) -> None:
    """``CorruptFileError`` for a Python pickle (gensim's own ``.model`` / ``.kv`` saves), whatever its name."""
    with open(path, "rb") as fh:
        head = fh.read(2)
    if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        raise CorruptFileError(
            f"{path} is a Python pickle (byte offset 0: pickle protocol {head[1]} header), such as gensim's own "
            "Word2Vec/KeyedVectors .model or .kv save; embedlab does not load pickles (they can run code). "
            "Convert it in gensim: model.wv.save_word2vec_format('vectors.bin', binary=True) (or "
            "KeyedVectors.load(path).save_word2vec_format(...)), then load that file"
        )


def check_finite(matrix: np.ndarray, keys: list[str], path: Path, unit: str, first: int) -> None:
    """``NonFiniteError`` naming the first row with NaN or infinity as ``{unit} {i + first}`` and its key.

    Reads ``matrix`` (possibly memory-mapped) in blocks of about 32 MiB, so memory stays bounded.
    """
    n = len(matrix)
    step = max(1, _CHECK_BYTES // max(1, matrix.itemsize * (matrix.shape[1] if matrix.ndim == 2 else 1)))
    bad_first, bad = -1, 0
    for start in range(0, n, step):
        ok = np.isfinite(matrix[start : start + step]).all(axis=1)
        if not ok.all():
            if bad_first < 0:
                bad_first = start + int(np.argmin(ok))
            bad += int((~ok).sum())
    if bad_first >= 0:
        raise NonFiniteError(
            f"{path}: {unit} {bad_first + first} (key {keys[bad_first]!r}) contains NaN or infinity; "
            f"{bad} row(s) are affected; clean the file or drop those keys"
        )


def parse_rows(texts: list[str], d: int, delimiter: str, where: Callable[[int], str], fix: str,
               more_hint: str = "the file is malformed") -> np.ndarray:
    """The ``(len(texts), d)`` float32 rows of ``texts`` (each ``d`` numbers split by ``delimiter``; ``" "`` also
    accepts runs of white space); CorruptFileError ``"{where(j)} has ... numbers"`` for the first bad row."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data"
            values = np.loadtxt(texts, dtype=np.float32, delimiter=delimiter, comments=None, quotechar=None,
                                ndmin=2)  # C-speed and strict per row; blank rows are skipped, hence the shape check
        if values.shape == (len(texts), d):
            return values
    except ValueError:
        pass
    rows = np.empty((len(texts), d), dtype=np.float32)  # slow path: runs of spaces, or a bad row to name
    for j, text in enumerate(texts):
        toks = text.split() if delimiter == " " else text.split(delimiter)
        if len(toks) != d:
            hint = "the file is truncated or malformed" if len(toks) < d else more_hint
            raise CorruptFileError(f"{where(j)} has {len(toks)} numbers, expected {d}; {hint}: {fix}")
        try:
            rows[j] = [float(t) for t in toks]
        except ValueError:
            raise CorruptFileError(f"{where(j)} contains a value that is not a number: {fix}") from None
    return rows


def make_vectors(keys: list[str], matrix: np.ndarray, path: Path, unit: str, first: int,
                 keys_path: Path | None = None) -> Vectors:
    """Vectors from a file's keys and rows: finite values and unique keys, else an error naming
    ``{unit} {row + first}`` of ``path`` (of ``keys_path`` for a repeated key, when the keys live there)."""
    check_finite(matrix, keys, path, unit, first)
    try:
        return Vectors(keys, matrix)
    except InputError as exc:
        seen: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k in seen:
                raise CorruptFileError(
                    f"{keys_path or path}: {unit} {i + first} repeats key {k!r} (first at {unit} {seen[k] + first}); keys must be "
                    "unique: drop or rename the repeated row"
                ) from None
            seen[k] = i
        raise CorruptFileError(f"{path}: {exc}") from None
