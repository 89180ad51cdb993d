"""One part of the local backend's metadata index: the metadata of the items labelled ``lo .. hi - 1`` as sorted
posting lists, so a filter test is answered in time proportional to the labels it selects.

For every top-level key a part keeps the labels that have the key (``$exists``), and two *value groups*: one
for the key's values (``$eq``, ``$in``, ranges) and one for the elements of list values (``$contains``). A value
group keeps the labels holding null, true and false, and for integers, floats, strings and (values only)
lists/objects (by ``filters.value_key``: numbers compared as numbers at every depth) the sorted distinct values with, for each, its labels (sorted).
Integers and floats are separate columns compared exactly (as Python compares them, so ``2**62 + 1 != 2.0**62``).

A part is written as one file: ``MAGIC``, the header length, the file size and the CRC32 of everything after
the first 32 bytes, then a JSON header (range, generation, keys, where each array lies) and the arrays, 8-byte
aligned. ``load_part`` checks all of it and memory-maps the arrays; any defect is a ``CorruptFileError`` (the
index is derived data: the caller rebuilds the part from the catalogue).
"""

from __future__ import annotations

import bisect
import json
import math
import mmap
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...errors import CorruptFileError, FormatVersionError
from ..filters import INT64, Cond, value_key

MAGIC = b"EMBLMIX1"
FORMAT_VERSION = 2  # 2: lists/objects keyed by filters.value_key (1: by their canonical text)
MAX_KEYS = 4096  # a part over more distinct keys than this is not built (filters then run in SQLite)
_PRE = struct.Struct("<8sQQII")  # magic, header bytes, file bytes, CRC32 of the bytes after this prefix, 0
_DTYPES: dict[str, np.dtype[Any]] = {"i": np.dtype("<i8"), "f": np.dtype("<f8"), "b": np.dtype("u1")}
_EMPTY = np.empty(0, np.int64)
_FIX = "it is derived data: rebuilt from the catalogue"


class TooManyKeys(Exception):
    """The rows hold more than ``MAX_KEYS`` distinct keys: the part is not built."""


# ---------------------------------------------------------------------------------------------- building
class _Group:
    """Accumulates one value group (values or list elements) while a part is built."""

    def __init__(self, compound: bool) -> None:
        self.null: list[int] = []
        self.true: list[int] = []
        self.false: list[int] = []
        self.ints: list[tuple[int, int]] = []
        self.floats: list[tuple[float, int]] = []
        self.strs: list[tuple[str, int]] = []
        self.comp: list[tuple[str, int]] | None = [] if compound else None

    def add(self, v: Any, label: int) -> None:
        if v is None:
            self.null.append(label)
        elif v is True:
            self.true.append(label)
        elif v is False:
            self.false.append(label)
        elif isinstance(v, int):
            self.ints.append((v, label))
        elif isinstance(v, float):
            self.floats.append((v, label))
        elif isinstance(v, str):
            self.strs.append((v, label))
        elif self.comp is not None:
            self.comp.append((value_key(v), label))

    def arrays(self, p: str, out: dict[str, np.ndarray]) -> None:
        for name, labels in (("n", self.null), ("t", self.true), ("f", self.false)):
            if labels:
                out[p + name] = np.unique(np.array(labels, np.int64))
        for name, pairs, dtype in (("i", self.ints, np.int64), ("r", self.floats, np.float64)):
            if pairs:
                vals = np.array([v for v, _ in pairs], dtype)
                labs = np.array([lb for _, lb in pairs], np.int64)
                order = np.lexsort((labs, vals))
                vals, labs = vals[order], labs[order]
                keep = np.ones(len(vals), bool)  # one posting per (value, label): a list may repeat an element
                keep[1:] = (vals[1:] != vals[:-1]) | (labs[1:] != labs[:-1])
                vals, labs = vals[keep], labs[keep]
                starts = np.flatnonzero(np.r_[True, vals[1:] != vals[:-1]])
                out[p + name + "v"] = vals[starts]
                out[p + name + "o"] = np.r_[starts, len(vals)].astype(np.int64)
                out[p + name + "p"] = labs
        for name, spairs in (("s", self.strs), ("c", self.comp or [])):
            if spairs:
                ordered = sorted(set(spairs))
                texts = [s for s, _ in ordered]
                starts_l = [i for i in range(len(texts)) if i == 0 or texts[i] != texts[i - 1]]
                out[p + name + "b"] = np.frombuffer("\0".join(texts[i] for i in starts_l).encode("utf-8"), np.uint8)
                out[p + name + "o"] = np.array(starts_l + [len(texts)], np.int64)
                out[p + name + "p"] = np.array([lb for _, lb in ordered], np.int64)


def build_arrays(rows: Iterable[tuple[int, dict[str, Any]]]) -> tuple[list[str], dict[str, np.ndarray]]:
    """The keys and arrays of a part from ``(label, metadata)`` rows in label order.

    Parameters
    ----------
    rows : iterable of (int, dict)
        Labels (ascending) with their decoded metadata.

    Returns
    -------
    tuple of (list of str, dict of str to numpy.ndarray)
        The keys (sorted) and the arrays, named ``"<key number>.<field>"``.

    Raises
    ------
    TooManyKeys
        When the rows hold more than ``MAX_KEYS`` distinct keys.
    """
    cols: dict[str, tuple[list[int], _Group, _Group]] = {}
    for label, meta in rows:
        for key, v in meta.items():
            col = cols.get(key)
            if col is None:
                if len(cols) >= MAX_KEYS:
                    raise TooManyKeys()
                col = cols[key] = ([], _Group(True), _Group(False))
            col[0].append(label)
            col[1].add(v, label)
            if isinstance(v, list):
                for x in v:
                    col[2].add(x, label)
    keys = sorted(cols)
    out: dict[str, np.ndarray] = {}
    for j, key in enumerate(keys):
        has, values, elements = cols[key]
        out[f"{j}.has"] = np.array(has, np.int64)
        values.arrays(f"{j}.v", out)
        elements.arrays(f"{j}.e", out)
    return keys, out


# ---------------------------------------------------------------------------------------------- the file
def encode_part(header: dict[str, Any], keys: list[str], arrays: dict[str, np.ndarray]) -> bytes:
    """The bytes of a part file (see the module docstring).

    Parameters
    ----------
    header : dict
        JSON-ready facts of the part (``lo``, ``hi``, ``epoch``, ``gen``).
    keys : list of str
        The part's keys, as ``build_arrays`` returned them.
    arrays : dict of str to numpy.ndarray
        Its arrays (int64, float64 or uint8, one-dimensional).

    Returns
    -------
    bytes
        The whole file.
    """
    layout, blobs, at = [], [], 0
    for name, arr in arrays.items():
        code = {"i": "i", "f": "f", "u": "b"}[arr.dtype.kind]
        data = np.ascontiguousarray(arr, _DTYPES[code]).tobytes()
        layout.append([name, code, at, len(arr)])
        blobs.append(data + b"\0" * (-len(data) % 8))
        at += len(blobs[-1])
    doc = {**header, "format": FORMAT_VERSION, "keys": keys, "arrays": layout}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(len(text) + _PRE.size) % 8)
    body = text + b"".join(blobs)
    return _PRE.pack(MAGIC, len(text), _PRE.size + len(body), zlib.crc32(body), 0) + body


def load_part(path: Path) -> Part:
    """Memory-map a part file after checking its size, its CRC32 and its header.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    Part
        The part, its arrays views of the mapped file.

    Raises
    ------
    CorruptFileError
        When the file is truncated, damaged (CRC32) or not a part file.
    FormatVersionError
        When the file is of another format version (written by another embedlab: stale, not damaged).
    FileNotFoundError
        When the file is missing.
    """
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size < _PRE.size:
            raise CorruptFileError(f"{path} is truncated ({size} bytes); {_FIX}")
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    part = _parse(mm, path, size)  # on an error the map goes with its arrays (closing it while they exist fails)
    part.mapped = mm
    return part


def _parse(mm: mmap.mmap, path: Path, size: int) -> Part:
    """The part held by the mapped file ``path`` of ``size`` bytes, checked (see ``load_part``)."""
    magic, hlen, want, crc, zero = _PRE.unpack_from(mm, 0)
    if magic != MAGIC or zero:
        raise CorruptFileError(f"{path} is not a metadata index part (byte offset 0: no {MAGIC!r} magic, or a "
                               f"nonzero reserved field at 28); {_FIX}")
    if want != size or hlen > size - _PRE.size:
        raise CorruptFileError(f"{path} has {size} bytes, {want} expected (truncated); {_FIX}")
    if zlib.crc32(memoryview(mm)[_PRE.size:]) != crc:
        raise CorruptFileError(f"{path} does not match its CRC32 (damaged); {_FIX}")
    try:
        doc = json.loads(bytes(mm[_PRE.size:_PRE.size + hlen]).decode("utf-8"))
        if doc["format"] != FORMAT_VERSION:
            raise FormatVersionError(f"{path} is metadata index format {doc['format']!r}, this embedlab reads "
                                     f"{FORMAT_VERSION}; {_FIX}")
        base = _PRE.size + hlen
        arrays = {}
        for name, code, off, count in doc["arrays"]:
            dtype = _DTYPES[code]
            if not (0 <= off and 0 <= count and base + off + count * dtype.itemsize <= size):
                raise ValueError(f"array {name} lies outside the file")
            arrays[name] = np.frombuffer(mm, dtype, count, base + off)
        keys = [str(k) for k in doc["keys"]]
        return Part(int(doc["lo"]), int(doc["hi"]), int(doc["epoch"]), int(doc["gen"]), keys, arrays)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{path} has a damaged header ({exc}); {_FIX}") from None


# ---------------------------------------------------------------------------------------------- lookups
def _int_bounds(op: str, v: int | float) -> tuple[int | None, int | None]:
    """Inclusive integer bounds ``[lo, hi]`` (None: unbounded) of the integers ``x`` with ``x op v`` (exact)."""
    return {"gt": (math.floor(v) + 1, None), "gte": (math.ceil(v), None), "lt": (None, math.ceil(v) - 1),
            "lte": (None, math.floor(v))}[op]


def _float_bound(op: str, v: int | float) -> tuple[float, Literal["left", "right"]]:
    """Where the floats ``x`` with ``x op v`` (gt/gte: from; lt/lte: up to) begin or end in a sorted float64 column:
    the float to ``searchsorted`` for and the side, exact also for integers no float holds."""
    f = float(v)
    if isinstance(v, float) or int(f) == v:
        return f, "right" if op in ("gt", "lte") else "left"
    # f is v rounded to the nearest float: no float lies strictly between them
    return f, "left" if int(f) > v else "right"


class Part:
    """A loaded (or just built) part: label range, keys, arrays, and the lookups of one filter test."""

    def __init__(self, lo: int, hi: int, epoch: int, gen: int, keys: list[str],
                 arrays: dict[str, np.ndarray]) -> None:
        self.lo, self.hi, self.epoch, self.gen = lo, hi, epoch, gen
        self.keys = {k: j for j, k in enumerate(keys)}
        self.arrays = arrays
        self.mapped: mmap.mmap | None = None
        self._strings: dict[str, tuple[list[str], dict[str, int]]] = {}

    def _a(self, name: str) -> np.ndarray:
        return self.arrays.get(name, _EMPTY)

    def _texts(self, name: str) -> tuple[list[str], dict[str, int]]:
        got = self._strings.get(name)
        if got is None:
            n = len(self._a(name + "o")) - 1
            blob = self.arrays.get(name + "b")
            texts = [] if n <= 0 else bytes(blob if blob is not None else b"").decode("utf-8").split("\0")
            if len(texts) != max(n, 0):
                raise CorruptFileError(f"metadata index part {self.lo}-{self.hi}: string table {name} holds "
                                       f"{len(texts)} values, {n} expected; {_FIX}")
            got = self._strings[name] = (texts, {t: i for i, t in enumerate(texts)})
        return got

    def _slices(self, name: str, lo: int, hi: int) -> np.ndarray:
        """The postings of value numbers ``lo .. hi - 1`` of column ``name`` (sorted by label)."""
        if hi <= lo:
            return _EMPTY
        off = self._a(name + "o")
        out = self._a(name + "p")[off[lo]:off[hi]]
        return out if hi - lo == 1 else np.sort(out)

    def _gather(self, name: str, codes: np.ndarray) -> np.ndarray:
        """The postings of the value numbers ``codes`` (distinct), merged and sorted."""
        if not len(codes):
            return _EMPTY
        if len(codes) == 1:
            return self._slices(name, int(codes[0]), int(codes[0]) + 1)
        off, post = self._a(name + "o"), self._a(name + "p")
        starts, ends = off[codes], off[codes + 1]
        lens = ends - starts
        total = int(lens.sum())
        idx = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
        return np.sort(post[idx])

    # -------------------------------------------------------------- one group's tests
    def _numbers(self, p: str, values: list[int | float]) -> list[np.ndarray]:
        """Labels whose number column ``p`` equals one of ``values``: the integer and the float column."""
        out = []
        iv, rv = self._a(p + "iv"), self._a(p + "rv")
        if len(iv):
            want = [int(x) for x in values if isinstance(x, int) or float(x).is_integer()]
            want = [x for x in want if INT64[0] <= x <= INT64[1]]
            if want:
                q = np.unique(np.array(want, np.int64))
                at = np.searchsorted(iv, q)
                ok = at < len(iv)
                at, q = at[ok], q[ok]
                out.append(self._gather(p + "i", at[iv[at] == q]))
        if len(rv):
            want_f = [float(x) for x in values if isinstance(x, float) or int(float(x)) == x]
            if want_f:
                q = np.unique(np.array(want_f, np.float64))
                at = np.searchsorted(rv, q)
                ok = at < len(rv)
                at, q = at[ok], q[ok]
                out.append(self._gather(p + "r", at[rv[at] == q]))
        return out

    def _texts_eq(self, p: str, values: list[str]) -> np.ndarray:
        if not len(self._a(p + "o")):
            return _EMPTY
        _, where = self._texts(p)
        codes = sorted({where[v] for v in values if v in where})
        return self._gather(p, np.array(codes, np.int64))

    def _eq_any(self, p: str, values: list[Any]) -> np.ndarray:
        """Labels whose value in group ``p`` is ``$eq`` to one of ``values`` (null: JSON null only)."""
        parts: list[np.ndarray] = []
        if any(v is None for v in values):
            parts.append(self._a(p + "n"))
        if any(v is True for v in values):
            parts.append(self._a(p + "t"))
        if any(v is False for v in values):
            parts.append(self._a(p + "f"))
        nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if nums:
            parts += self._numbers(p, nums)
        strs = [v for v in values if isinstance(v, str)]
        if strs:
            parts.append(self._texts_eq(p + "s", strs))
        comp = [value_key(v) for v in values if isinstance(v, (list, dict))]
        if comp:
            parts.append(self._texts_eq(p + "c", comp))
        parts = [x for x in parts if len(x)]
        if not parts:
            return _EMPTY
        return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))

    def _range(self, p: str, low: tuple[str, Any] | None, high: tuple[str, Any] | None) -> np.ndarray:
        """Labels whose value in group ``p`` is above ``low`` and below ``high`` (``(op, value)``: gt/gte and lt/lte,
        values of one kind, number or string; None: unbounded; at least one is given)."""
        kind_of = (low or high or ("", 0))[1]
        if isinstance(kind_of, str):
            if not len(self._a(p + "so")):
                return _EMPTY
            texts, _ = self._texts(p + "s")
            a = 0 if low is None else (bisect.bisect_right if low[0] == "gt" else bisect.bisect_left)(texts, low[1])
            b = len(texts) if high is None else (bisect.bisect_left if high[0] == "lt" else bisect.bisect_right)(
                texts, high[1])
            return self._slices(p + "s", a, b)
        parts = []
        iv = self._a(p + "iv")
        if len(iv):
            lo_b = None if low is None else _int_bounds(*low)[0]
            hi_b = None if high is None else _int_bounds(*high)[1]
            a = 0 if lo_b is None or lo_b < INT64[0] else (len(iv) if lo_b > INT64[1] else
                                                           int(np.searchsorted(iv, lo_b, "left")))
            b = len(iv) if hi_b is None or hi_b > INT64[1] else (0 if hi_b < INT64[0] else
                                                                 int(np.searchsorted(iv, hi_b, "right")))
            parts.append(self._slices(p + "i", a, b))
        rv = self._a(p + "rv")
        if len(rv):
            a, b = 0, len(rv)
            if low is not None:
                f, side = _float_bound(*low)
                a = int(np.searchsorted(rv, f, side))
            if high is not None:
                f, side = _float_bound(*high)
                b = int(np.searchsorted(rv, f, side))
            parts.append(self._slices(p + "r", a, b))
        parts = [x for x in parts if len(x)]
        if not parts:
            return _EMPTY
        return parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))

    def select_range(self, key: str, low: tuple[str, Any] | None, high: tuple[str, Any] | None) -> np.ndarray:
        """The labels of this part whose ``key`` holds a value within two bounds (``$gt``/``$gte`` and ``$lt``/``$lte``
        of one filter's ``$and`` merged: one slice of the sorted values instead of two large sets intersected).

        Parameters
        ----------
        key : str
            The metadata key.
        low, high : tuple of (str, number or str), or None
            ``("gt" | "gte", value)`` and ``("lt" | "lte", value)``; values of one kind (numbers, or strings); None
            leaves that side open (not both).

        Returns
        -------
        numpy.ndarray
            Sorted int64 labels.
        """
        j = self.keys.get(key)
        return _EMPTY if j is None else self._range(f"{j}.v", low, high)

    # -------------------------------------------------------------- one filter test
    def has(self, key: str) -> np.ndarray:
        """Sorted labels of the part's items that have ``key``."""
        j = self.keys.get(key)
        return _EMPTY if j is None else self._a(f"{j}.has")

    def select(self, cond: Cond) -> tuple[np.ndarray, bool]:
        """The labels of this part that pass one field test, as ``(labels, negated)``.

        Parameters
        ----------
        cond : Cond
            One field test of a parsed filter.

        Returns
        -------
        tuple of (numpy.ndarray, bool)
            Sorted int64 labels, and whether the test holds for exactly the *other* labels of the range (``$ne``,
            ``$nin``, ``$exists: false``, and ``$eq``/``$in`` of null, which also match items lacking the key).
            The flag depends only on ``cond``, so parts' answers can be concatenated.
        """
        op, v = cond.op, cond.value
        if op in ("ne", "nin"):
            labels, neg = self.select(Cond(cond.key, "eq" if op == "ne" else "in", v))
            return labels, not neg
        j = self.keys.get(cond.key)
        if op == "exists":
            return (_EMPTY if j is None else self._a(f"{j}.has")), not v
        values = list(v) if op == "in" else [v]
        if op in ("eq", "in"):
            if any(x is None for x in values):  # null or missing: every label but those holding something else
                if j is None:
                    return _EMPTY, True
                others = self._eq_any(f"{j}.v", [x for x in values if x is not None])
                non_null = np.setdiff1d(self._a(f"{j}.has"), self._a(f"{j}.vn"), assume_unique=True)
                return np.setdiff1d(non_null, others, assume_unique=True), True
            return (_EMPTY if j is None else self._eq_any(f"{j}.v", values)), False
        if j is None:
            return _EMPTY, False
        if op == "contains":
            return self._eq_any(f"{j}.e", [v]), False
        bound = (op, v)
        return self._range(f"{j}.v", bound if op in ("gt", "gte") else None, None if op in ("gt", "gte") else bound), \
            False
