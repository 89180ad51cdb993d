"""What every vectors file reader returns, and the checks they share.

A reader returns ``KeyedArrays(keys, matrix)``: the keys in file order and a float32 ``(n, d)`` matrix (possibly
memory-mapped). A writer takes any ``Keyed`` object — ``KeyedArrays`` or ``embedlab.Vectors`` — so this layer
knows nothing of the vector-space API above it. The shared checks refuse Python pickles and name the file and the
line or row at fault for non-finite values and repeated keys.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

from ..errors import CorruptFileError, NonFiniteError

_CHECK_BYTES = 1 << 25  # rows checked per step: about 32 MiB, so a memory-mapped matrix is never read whole


class KeyedArrays(NamedTuple):
    """Keys and their rows as a reader returns them.

    Attributes
    ----------
    keys : list of str
        One key per row, unique, in file order.
    matrix : numpy.ndarray
        ``(len(keys), d)`` float32, possibly a read-only ``np.memmap``.
    """

    keys: list[str]
    matrix: np.ndarray


class Keyed(Protocol):
    """What a writer needs: ``keys`` (n str) and a ``matrix`` ``(n, d)`` of real numbers (``Vectors`` has both)."""

    @property
    def keys(self) -> Sequence[str]: ...

    @property
    def matrix(self) -> np.ndarray: ...


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
               more_hint: str = "the file is malformed", cli_fix: str | None = None) -> np.ndarray:
    """The ``(len(texts), d)`` float32 rows of ``texts`` (each ``d`` numbers split by ``delimiter``; ``" "`` also
    accepts runs of white space); CorruptFileError ``"{where(j)} has ... numbers"`` for the first bad row, ending
    with ``fix`` (``cli_fix`` in its command-line message, when the fix names a keyword argument)."""
    def corrupt(head: str) -> CorruptFileError:
        return CorruptFileError(f"{head}: {fix}", cli=None if cli_fix is None else f"{head}: {cli_fix}")

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
            raise corrupt(f"{where(j)} has {len(toks)} numbers, expected {d}; {hint}")
        try:
            rows[j] = [float(t) for t in toks]
        except ValueError:
            raise corrupt(f"{where(j)} contains a value that is not a number") from None
    return rows


def keyed(keys: list[str], matrix: np.ndarray, path: Path, unit: str, first: int,
          keys_path: Path | None = None) -> KeyedArrays:
    """Check a file's keys and rows and return them as ``KeyedArrays``.

    Parameters
    ----------
    keys : list of str
        One key per row.
    matrix : numpy.ndarray
        ``(len(keys), d)`` float32 (checked in ~32 MiB blocks, so a memory map is never read whole).
    path : Path
        The file the rows came from (named in errors).
    unit, first : str, int
        How errors name a row: ``"{unit} {row + first}"`` (e.g. ``"line", 2`` for a file with a header line).
    keys_path : Path, optional
        The file the keys came from, when it is not ``path`` (named for a repeated key).

    Returns
    -------
    KeyedArrays

    Raises
    ------
    NonFiniteError
        For a row holding NaN or infinity (the first is named, with how many rows are affected).
    CorruptFileError
        For a repeated key (naming both rows), or keys and rows of different counts.
    """
    check_finite(matrix, keys, path, unit, first)
    if matrix.ndim != 2 or len(keys) != matrix.shape[0]:
        raise CorruptFileError(f"{path}: {len(keys)} keys for a matrix of shape {matrix.shape}; the file is damaged")
    if len(set(keys)) != len(keys):
        seen: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k in seen:
                raise CorruptFileError(
                    f"{keys_path or path}: {unit} {i + first} repeats key {k!r} (first at {unit} {seen[k] + first}); keys must be "
                    "unique: drop or rename the repeated row"
                )
            seen[k] = i
    return KeyedArrays(list(keys), matrix)
