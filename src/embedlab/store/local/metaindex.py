"""The local backend's metadata index: filters resolved to labels in time proportional to what they select.

The index is a list of *parts* (``metapart.Part``) that together cover the labels ``0 .. next_label - 1`` of the
current epoch, each built from the catalogue's rows of its label range at some generation. It is derived data,
kept in ``meta-index/`` as one checksummed file per part (memory-mapped when read) and caught up lazily, on the
first filter after a commit: new rows get a new part (only they are read), and the trailing parts are merged
while the one before the last is no larger than the last (a binary counter: each row is rebuilt about
log2(rows / batch) times in all, and a handful of parts cover a collection).

A part built at generation ``g`` stays exact for every later snapshot of the same epoch, because rows are never
changed in place — except by ``Writer.update`` (metadata edits), which records its generation as the state key
``meta_gen``: parts older than it are dropped and rebuilt. Rows deleted or replaced since a part was built are
taken out with the catalogue's tombstones (``dead``); a compaction (a new epoch) renumbers the labels and starts
the index afresh. A part file that is missing, truncated, damaged (CRC32), of another epoch or older than
``meta_gen`` is never used: its range is rebuilt from the catalogue (and the file replaced when the collection
is writable).

A filter becomes set algebra over sorted int64 label arrays: each field test gives ``(labels, negated)``
(``Part.select``); ``$and`` intersects and subtracts, ``$or`` unites, a negated result stays a complement until
the end, so ``{"tag": "x", "lang": {"$ne": "en"}}`` costs the labels of ``tag`` and ``lang``, not the collection.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import CorruptFileError, FormatVersionError, StorageFullError
from ...persist import write_bytes_atomic
from ..filters import All, Any_, Cond, Filter
from .metapart import Part, TooManyKeys, build_arrays, encode_part, load_part

META_DIR = "meta-index"
PART_NAME = re.compile(r"part-e(\d+)-g(\d+)-l(\d+)-h(\d+)-[0-9a-f]{8}\.mix")
_EMPTY = np.empty(0, np.int64)

#: what builds a part: ``rows(lo, hi)`` yields ``(label, metadata dict)`` of the live items in ``[lo, hi)``
RowReader = Callable[[int, int], Iterable[tuple[int, dict[str, Any]]]]


def _member(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask of the elements of sorted ``a`` found in sorted ``b`` (time ~ len(a) · log len(b))."""
    if not len(b) or not len(a):
        return np.zeros(len(a), bool)
    at = np.searchsorted(b, a)
    at[at == len(b)] = 0
    return b[at] == a


def _and(sets: list[tuple[np.ndarray, bool]]) -> tuple[np.ndarray, bool]:
    pos = sorted((a for a, neg in sets if not neg), key=len)
    negs = [a for a, neg in sets if neg]
    if not pos:
        return _union(negs), True
    out = pos[0]
    for a in pos[1:]:
        out = out[_member(out, a)]
    for a in negs:
        out = out[~_member(out, a)]
    return out, False


def _or(sets: list[tuple[np.ndarray, bool]]) -> tuple[np.ndarray, bool]:
    pos = [a for a, neg in sets if not neg]
    if len(pos) == len(sets):
        return _union(pos), False
    out, _ = _and([(a, False) for a, neg in sets if neg])  # not (N1 and N2 ... and not (P1 or P2 ...))
    return out[~_member(out, _union(pos))], True


def _pairs(conds: list[Cond]) -> list[tuple[Cond | None, Cond | None]]:
    """Range tests of one key and kind as ``(lower, upper)`` bound pairs: each lower bound paired with an upper one
    while both last, the rest alone (their intersection is the same set)."""
    lows = [c for c in conds if c.op in ("gt", "gte")]
    highs = [c for c in conds if c.op in ("lt", "lte")]
    out: list[tuple[Cond | None, Cond | None]] = list(zip(lows, highs, strict=False))
    out += [(c, None) for c in lows[len(highs):]] + [(None, c) for c in highs[len(lows):]]
    return out


def _union(sets: list[np.ndarray]) -> np.ndarray:
    sets = [a for a in sets if len(a)]
    if not sets:
        return _EMPTY
    return sets[0] if len(sets) == 1 else np.unique(np.concatenate(sets))


def part_name(epoch: int, gen: int, lo: int, hi: int) -> str:
    """A fresh file name for a part of labels ``lo .. hi - 1`` built at ``gen`` of ``epoch``.

    Parameters
    ----------
    epoch, gen, lo, hi : int
        The part's epoch, generation and label range.

    Returns
    -------
    str
        ``part-e<epoch>-g<gen>-l<lo>-h<hi>-<8 random hex digits>.mix`` (matched by ``PART_NAME``).
    """
    return f"part-e{epoch}-g{gen}-l{lo}-h{hi}-{uuid.uuid4().hex[:8]}.mix"


class MetaIndex:
    """The metadata index of one collection folder (see the module docstring).

    Parameters
    ----------
    folder : Path
        Where its part files live (``<collection>/meta-index``).
    writable : bool
        Whether parts are saved (and damaged or superseded files deleted); a read-only collection keeps the parts
        it builds in memory.
    """

    def __init__(self, folder: Path, writable: bool) -> None:
        self.folder, self.writable = folder, writable
        self.parts: list[Part] = []
        self._at: tuple[int, int] | None = None  # (epoch, generation) the parts cover
        self._ok = False  # False when the rows hold too many keys to index (filters then run in SQLite)
        self._off = -1  # the epoch found to hold too many keys
        self._dead = _EMPTY
        self._next = 0

    # ------------------------------------------------------------------ the cover
    def sync(self, state: dict[str, int], rows: RowReader, dead: Callable[[], np.ndarray]) -> bool:
        """Bring the parts up to a snapshot.

        Parameters
        ----------
        state : dict of str to int
            The snapshot's catalogue state (``epoch``, ``generation``, ``next_label``, ``meta_gen`` if any).
        rows : callable
            ``rows(lo, hi)``: the ``(label, metadata)`` of the snapshot's live items with labels in ``[lo, hi)``.
        dead : callable
            ``dead()``: the snapshot's deleted labels (int64).

        Returns
        -------
        bool
            Whether the index can answer filters for this snapshot (False: more than ``metapart.MAX_KEYS`` keys).
        """
        epoch, gen, n = state["epoch"], state["generation"], state["next_label"]
        if self._at == (epoch, gen):
            return self._ok
        if self._off == epoch:  # too many keys in this epoch: not tried again until a compaction
            self._at, self._ok = (epoch, gen), False
            return False
        meta_gen = state.get("meta_gen", 0)
        keep = [p for p in self.parts if p.epoch == epoch and meta_gen <= p.gen <= gen and p.hi <= n]
        try:
            cover = self._cover(keep, epoch, gen, meta_gen, n, rows)
        except TooManyKeys:
            self.parts, self._at, self._ok, self._off = [], (epoch, gen), False, epoch
            return False
        self.parts, self._at, self._ok = cover, (epoch, gen), True
        self._dead, self._next = np.sort(dead()), n
        self._collect(epoch, gen, cover)
        return True

    def _cover(self, keep: list[Part], epoch: int, gen: int, meta_gen: int, n: int, rows: RowReader) -> list[Part]:
        mem = {p.lo: p for p in sorted(keep, key=lambda p: p.hi)}
        disk: dict[int, list[tuple[int, int, Path]]] | None = None
        cover: list[Part] = []
        lo = 0
        while lo < n:
            part = mem.get(lo)
            if part is None:
                disk = self._listing(epoch, gen, meta_gen, n) if disk is None else disk
                part = self._load(lo, epoch, disk.get(lo, []))
            if part is None:
                starts = [s for s in list(mem) + list(disk or {}) if s > lo]
                part = self._build(rows, lo, min(starts + [n]), epoch, gen)
            cover.append(part)
            lo = part.hi
        while len(cover) >= 2 and cover[-2].hi - cover[-2].lo <= cover[-1].hi - cover[-1].lo:
            merged = self._build(rows, cover[-2].lo, cover[-1].hi, epoch, gen)
            cover[-2:] = [merged]
        return cover

    def _listing(self, epoch: int, gen: int, meta_gen: int, n: int) -> dict[int, list[tuple[int, int, Path]]]:
        """Usable part files by first label: ``[(last label + 1, generation, path), ...]``, widest first."""
        out: dict[int, list[tuple[int, int, Path]]] = {}
        for e, g, lo, hi, path in self._files():
            if e == epoch and meta_gen <= g <= gen and lo < hi <= n:
                out.setdefault(lo, []).append((hi, g, path))
        for found in out.values():
            found.sort(reverse=True)
        return out

    def _files(self) -> Iterator[tuple[int, int, int, int, Path]]:
        try:
            names = os.listdir(self.folder)
        except OSError:  # no folder yet (or unreadable): nothing saved
            return
        for name in names:
            m = PART_NAME.fullmatch(name)
            if m:
                e, g, lo, hi = (int(x) for x in m.groups())
                yield e, g, lo, hi, self.folder / name

    def _load(self, lo: int, epoch: int, candidates: list[tuple[int, int, Path]]) -> Part | None:
        """The first of the candidate files starting at label ``lo`` that loads and is what its name says."""
        for hi, gen, path in candidates:
            try:
                part = load_part(path)
            except FileNotFoundError:  # removed meanwhile by another process's clean-up
                continue
            except (CorruptFileError, FormatVersionError, OSError):  # damaged, or an older embedlab's format
                self._reject(path)
                continue
            if (part.lo, part.hi, part.epoch, part.gen) != (lo, hi, epoch, gen):  # renamed or copied: not its name
                self._reject(path)
                continue
            return part
        return None

    def _reject(self, path: Path) -> None:
        """A part file that cannot be used is never read again: deleted when writable (``check`` reports such
        files when it finds them before a filter does)."""
        if self.writable:
            path.unlink(missing_ok=True)

    def _build(self, rows: RowReader, lo: int, hi: int, epoch: int, gen: int) -> Part:
        keys, arrays = build_arrays(rows(lo, hi))
        part = Part(lo, hi, epoch, gen, keys, arrays)
        if self.writable:
            data = encode_part({"lo": lo, "hi": hi, "epoch": epoch, "gen": gen}, keys, arrays)
            try:
                self.folder.mkdir(exist_ok=True)
                write_bytes_atomic(self.folder / part_name(epoch, gen, lo, hi), data)
            except (OSError, StorageFullError):  # derived data: kept in memory, saved by a later catch-up
                pass
        return part

    def _collect(self, epoch: int, gen: int, cover: list[Part]) -> None:
        """Delete part files this snapshot has no use for: older epochs, and ranges of this epoch the cover holds
        in other parts (files from newer snapshots, written by other processes, stay)."""
        if not self.writable:
            return
        for e, g, lo, hi, path in self._files():
            if e < epoch or (e == epoch and g <= gen and not any(p.lo == lo and p.hi == hi and p.gen == g
                                                                  for p in cover)):
                path.unlink(missing_ok=True)

    def close(self) -> None:
        """Forget the parts (and release their memory maps)."""
        self.parts, self._at, self._dead = [], None, _EMPTY

    # ------------------------------------------------------------------ queries
    def labels(self, flt: Filter) -> np.ndarray:
        """The live labels of the synced snapshot whose metadata passes ``flt``.

        Parameters
        ----------
        flt : Filter
            A parsed filter.

        Returns
        -------
        numpy.ndarray
            Sorted int64 labels, equal to evaluating ``filters.matches`` on every live item.
        """
        got, neg = self._eval(flt)
        if neg:
            keep = np.ones(self._next, bool)
            keep[got] = False
        elif len(self._dead):
            return got[~_member(got, self._dead)]
        else:
            return got
        keep[self._dead] = False
        return np.flatnonzero(keep).astype(np.int64)

    def _eval(self, flt: Filter) -> tuple[np.ndarray, bool]:
        if isinstance(flt, All):
            ranges: dict[tuple[str, bool], list[Cond]] = {}
            rest: list[Filter] = []
            for p in flt.parts:  # a key's lower and upper bounds of one kind become one range
                if isinstance(p, Cond) and p.op in ("gt", "gte", "lt", "lte"):
                    ranges.setdefault((p.key, isinstance(p.value, str)), []).append(p)
                else:
                    rest.append(p)
            sets = [self._eval(p) for p in rest]
            for (key, _), conds in ranges.items():
                sets += [self._range(key, c) for c in _pairs(conds)]
            return _and(sets)
        if isinstance(flt, Any_):
            return _or([self._eval(p) for p in flt.parts])
        return self._select(flt)

    def _range(self, key: str, bounds: tuple[Cond | None, Cond | None]) -> tuple[np.ndarray, bool]:
        low, high = ((c.op, c.value) if c is not None else None for c in bounds)
        found = [a for a in (p.select_range(key, low, high) for p in self.parts) if len(a)]
        return (np.concatenate(found) if len(found) > 1 else found[0] if found else _EMPTY), False

    def _select(self, cond: Cond) -> tuple[np.ndarray, bool]:
        found = [p.select(cond) for p in self.parts]
        if not found:
            return _EMPTY, cond.op in ("ne", "nin") or (cond.op == "exists" and not cond.value)
        neg = found[0][1]
        arrays = [a for a, _ in found if len(a)]
        return (np.concatenate(arrays) if len(arrays) > 1 else arrays[0] if arrays else _EMPTY), neg

    # ------------------------------------------------------------------ check
    def check(self, state: dict[str, int], rows: RowReader, dead: Callable[[], np.ndarray],
              repair: bool) -> list[str]:
        """Verify every part file the snapshot would use (size, CRC32, header, range); rebuild when asked.

        Parameters
        ----------
        state : dict of str to int
            The snapshot's catalogue state.
        rows, dead : callable
            As for ``sync``.
        repair : bool
            Delete the damaged files and rebuild the index now (writable collections).

        Returns
        -------
        list of str
            One line per damaged part file; empty when all are sound.
        """
        epoch, gen, meta_gen = state["epoch"], state["generation"], state.get("meta_gen", 0)
        problems = []
        for e, g, lo, hi, path in self._files():
            if e != epoch or not meta_gen <= g <= gen or hi > state["next_label"]:
                continue
            try:
                part = load_part(path)
                if (part.lo, part.hi, part.epoch, part.gen) != (lo, hi, e, g):
                    raise CorruptFileError(f"{path} holds labels {part.lo}-{part.hi} of generation {part.gen}, its "
                                           "name says otherwise")
            except (FileNotFoundError, FormatVersionError):  # gone, or stale: an older embedlab's (replaced on use)
                continue
            except (CorruptFileError, OSError) as exc:
                problems.append(f"metadata index: {exc}" + ("; rebuilt" if repair and self.writable else ""))
                if repair and self.writable:
                    path.unlink(missing_ok=True)
        if repair and problems:
            self.parts, self._at = [], None
            self.sync(state, rows, dead)
        return problems
