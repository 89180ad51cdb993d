"""The local backend's ``Reader`` and ``Writer``: what one snapshot or one write transaction of a
``LocalTable`` can do (see ``store/backend.py`` for the protocol).

They see their table through ``SnapshotView`` (the in-memory view synced to the open transaction), so this module
and ``table.py`` do not import each other: the table builds readers and writers, never the other way round.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ...errors import InputError
from ...index.base import SearchParams
from ..filters import Filter
from ..records import Hit, Rows, Stored
from . import segments
from .segments import SEGMENT_DIR, CachedANN, SegmentedExact, segment_file
from .sql import Catalog


class SnapshotView(Protocol):
    """What a reader or writer needs of a ``LocalTable``: its catalogue and its in-memory view (segments, index,
    counts), synced to the transaction that is open while the reader is used."""

    name: str
    path: Path
    dim: int
    catalog: Catalog
    generation: int
    live_count: int
    index: SegmentedExact | CachedANN
    segs: list[tuple[int, int, np.ndarray]]  # (first label, rows, memory map)

    def rows_at(self, labels: np.ndarray) -> np.ndarray:
        """(len(labels), dim) float32 rows at sorted int64 ``labels``."""
        ...

    def filter_labels(self, flt: Filter) -> np.ndarray | None:
        """Sorted int64 live labels passing ``flt`` from the metadata index (None: ask the catalogue)."""
        ...

    def live_blocks(self, chunk: int = 65_536) -> Iterator[np.ndarray]:
        """The live rows in label order, a block of at most ``chunk`` rows at a time."""
        ...


def _meta(text: str) -> dict[str, Any]:
    return {} if text == "{}" else json.loads(text)


class LocalReader:
    """Reads of one snapshot; valid only inside ``LocalTable.read()`` / ``write()``."""

    def __init__(self, table: SnapshotView) -> None:
        self.t, self.cat = table, table.catalog
        self.generation = table.generation

    def count(self) -> int:
        return self.t.live_count

    def lookup(self, ids: Sequence[str]) -> dict[str, Stored]:
        return {i: Stored(m, s, h) for i, (_, m, s, h) in self.cat.lookup(ids).items()}

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        found = self.cat.lookup(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise InputError(f"no stored vector for id(s) {missing[:5]}")
        labels = np.array([found[i][0] for i in ids], np.int64)
        order = np.argsort(labels)
        out = np.empty((len(ids), self.t.dim), np.float32)
        out[order] = self.t.rows_at(labels[order])
        return out

    def contents(self, ids: Sequence[str]) -> dict[str, str | None]:
        return self.cat.contents(ids)

    def ids(self, where: Filter | None = None) -> list[str]:
        labels = self._filter(where)
        return self.cat.labels(where)[1] if labels is None else self.cat.ids_at(labels)

    def _filter(self, where: Filter | None) -> np.ndarray | None:
        """The labels passing ``where`` from the metadata index; None for no filter, or to ask the catalogue."""
        return None if where is None else self.t.filter_labels(where)

    def key_types(self, keys: Sequence[str], sample: int = 1000) -> dict[str, set[str]]:
        return self.cat.key_types(keys, sample)

    def search(self, q: np.ndarray, k: int, where: Filter | None, params: SearchParams) -> list[list[Hit]]:
        """See ``backend.Reader.search``: the catalogue turns ``where`` into allowed labels, the index searches
        with ``params`` (the kind's own settings: ``ef_search`` for HNSW, ``nprobe`` for IVF, ``rescore`` for
        compressed precisions; a float32 exact index refuses ``nprobe`` and ``rescore``)."""
        filt = None
        if where is not None:
            filt = self._filter(where)
            if filt is None:
                filt = np.unique(self.cat.labels(where)[0])
            if not len(filt):
                return [[] for _ in range(len(q))]
        index = self.t.index
        if len(index) == 0:
            return [[] for _ in range(len(q))]
        labels, scores = index.search(q, int(k), filter=filt, params=params)
        rows = self.cat.by_labels(labels.ravel())
        out = []
        for lab_row, sc_row in zip(labels.tolist(), scores.tolist(), strict=True):
            hits = []
            for lab, sc in zip(lab_row, sc_row, strict=True):
                r = rows.get(lab)
                if lab < 0 or r is None:
                    continue
                hits.append(Hit(r[0], float(sc), _meta(r[1]), r[2]))
            out.append(hits)
        return out

    def rows(self, batch: int) -> Iterator[Rows]:
        for block in self.cat.rows(batch):
            labels = np.fromiter((r[0] for r in block), np.int64, count=len(block))
            yield Rows([r[1] for r in block], self.t.rows_at(labels), [r[2] for r in block],
                       [r[3] for r in block], [r[4] for r in block], [r[5] for r in block])

    def matrix(self) -> tuple[list[str], np.ndarray]:
        labels, keys = self.cat.labels()
        segs = self.t.segs
        if len(segs) == 1 and segs[0][1] == len(labels):
            return keys, segs[0][2]
        if not len(labels):
            return keys, np.empty((0, self.t.dim), np.float32)
        return keys, np.concatenate(list(self.t.live_blocks()))


class LocalWriter(LocalReader):
    """One write transaction of a ``LocalTable``: new rows go to a fresh append-only segment file (listed in
    ``pending`` so it is deleted if the transaction does not commit), ids and tombstones to the catalogue."""

    def __init__(self, table: SnapshotView, pending: list[Path]) -> None:
        super().__init__(table)
        self.pending = pending
        self._changed = False  # once this transaction writes, the metadata index (of its start) is out of date

    def _filter(self, where: Filter | None) -> np.ndarray | None:
        return None if self._changed else super()._filter(where)

    def insert(self, rows: Rows, replace: Sequence[str] = ()) -> None:
        self._changed = True
        cat, n = self.cat, len(rows)
        st = cat.state()
        gen, start = st["generation"] + 1, st["next_label"]
        kill = [v[0] for v in cat.lookup(list(replace)).values()] if replace else []
        file = segment_file(gen)
        path = self.t.path / SEGMENT_DIR / file
        self.pending.append(path)
        record = segments.write_segment(path, [rows.vectors], n, self.t.dim)
        cat.add_segment(file, start, n, gen, record)
        if kill:
            cat.kill(kill, gen)
        try:
            cat.insert(start, rows.ids, rows.metadata, rows.sources, rows.hashes, rows.contents)
        except sqlite3.IntegrityError:  # UNIQUE(id): the transaction is rolled back by the caller
            found = {k: v for k, v in cat.lookup(rows.ids).items() if v[0] < start}  # not the rows just inserted
            dup = [i for i in rows.ids if i in found][:5]
            raise InputError(f"{len(found)} id(s) already in collection {self.t.name!r}, e.g. {dup}; use upsert to "
                             "replace them or delete them first") from None
        cat.set_state(generation=gen, next_label=start + n, count=st["count"] + n - len(kill))

    def update(self, ids: Sequence[str], metadata: Sequence[str], sources: Sequence[str | None]) -> None:
        self._changed = True
        self.cat.update(list(zip(metadata, sources, ids, strict=True)))
        gen = self.cat.state()["generation"] + 1
        self.cat.set_state(generation=gen, meta_gen=gen)  # metadata changed in place: older index parts are stale

    def delete(self, ids: Sequence[str]) -> int:
        found = self.cat.lookup(ids)
        if found:
            self._changed = True
            st = self.cat.state()
            gen = st["generation"] + 1
            self.cat.kill([v[0] for v in found.values()], gen)
            self.cat.set_state(generation=gen, count=st["count"] - len(found))
        return len(found)
