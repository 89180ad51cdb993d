"""Reading a Collection: search (queries as raw items or vectors, metadata filters), get, ids, export, info."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Number
from typing import Any

import numpy as np

from ..errors import InputError, UnknownKeyError
from ..metrics import as_matrix
from ..vectors import Vectors
from . import _inputs, db


@dataclass
class Item:
    """One stored entry: its id, vector (float32; unit length for cosine collections), metadata and source."""

    id: str
    vector: np.ndarray
    metadata: dict = field(default_factory=dict)
    source: str | None = None


@dataclass
class Hit:
    """One search result; ``score`` is higher-is-better (cosine, dot, or negated L2 distance)."""

    id: str
    score: float
    metadata: dict = field(default_factory=dict)
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "score": self.score, "metadata": self.metadata, "source": self.source}


def _is_vector(x: Any) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fiu"
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(
        isinstance(v, Number) and not isinstance(v, bool) for v in x
    )


class ReadMixin:
    """Reading for Collection (which provides _read, _index, _segs, _count, encoder, dim, metric, name)."""

    def _queries(self, queries: Sequence[Any] | np.ndarray, batch_size: int = 64) -> np.ndarray:
        if isinstance(queries, np.ndarray) and queries.ndim == 2:
            return as_matrix(queries, dim=self.dim, name="query vectors")
        if isinstance(queries, (str, bytes)) or not isinstance(queries, (Sequence, np.ndarray)):
            raise InputError("queries must be a list (of texts, items or vectors) or a 2-D array")
        if len(queries) == 0:
            raise InputError("no queries given (empty list); pass at least one query")
        if all(_is_vector(q) for q in queries):
            return as_matrix(np.asarray(queries, dtype=np.float32), dim=self.dim, name="query vectors")
        if any(_is_vector(q) for q in queries):
            raise InputError("queries mix vectors and raw items; pass one kind per call")
        enc = self.encoder
        if enc is None:
            raise InputError(f"collection {self.name!r} is vectors-only (no encoder); search with a "
                             f"{self.dim}-d vector")
        return enc.encode(list(queries), batch_size=batch_size, normalize=self.metric == "cosine")

    def search(self, query: Any, k: int = 10, where: dict | None = None, ef: int | None = None) -> list[Hit]:
        """The ``k`` items nearest to ``query`` (a text/item for the encoder, or a vector), best first.

        ``where`` keeps only items whose metadata matches, e.g. ``{"lang": "ko"}`` or ``{"tag": {"$in": [..]}}``;
        ``ef`` sets the HNSW search breadth for this call."""
        if _is_vector(query) and np.asarray(query).ndim == 2:
            raise InputError("search takes one query; use search_many for a batch of vectors")
        return self.search_many([query], k=k, where=where, ef=ef)[0]

    def search_many(self, queries: Sequence[Any] | np.ndarray, k: int = 10, where: dict | None = None,
                    ef: int | None = None, batch_size: int = 64) -> list[list[Hit]]:
        """``search`` for a batch of queries (encoded and searched together: much faster per query)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        if ef is not None and (not isinstance(ef, (int, np.integer)) or ef < 1):
            raise InputError(f"ef must be a positive integer, got {ef!r}")
        q = self._queries(queries, batch_size)
        with self._read() as conn:
            filt = None
            if where is not None:
                filt = np.unique(db.where_labels(conn, where))
                if not len(filt):
                    return [[] for _ in range(len(q))]
            if len(self._index) == 0:
                return [[] for _ in range(len(q))]
            labels, scores = self._index.search(q, int(k), filter=filt, ef=ef)
            rows = db.by_labels(conn, labels.ravel())
        out = []
        for lab_row, sc_row in zip(labels.tolist(), scores.tolist()):
            hits = []
            for lab, sc in zip(lab_row, sc_row):
                r = rows.get(lab)
                if lab < 0 or r is None:
                    continue
                hits.append(Hit(r[0], float(sc), _meta(r[1]), r[2]))
            out.append(hits)
        return out

    def count(self) -> int:
        """Number of live items."""
        with self._read():
            return self._count

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, id_: object) -> bool:
        with self._read():
            return bool(db.lookup(self._conn, [str(id_)]))

    def ids(self) -> list[str]:
        """All ids, in the order they were last written (an upsert that changes an item moves it last)."""
        with self._read():
            return [r[0] for r in self._conn.execute("SELECT id FROM items ORDER BY label")]

    def get(self, ids: Sequence[str]) -> list[Item]:
        """Items by id, in the order asked; UnknownKeyError names ids that are not present."""
        ids = _inputs.check_ids(ids)
        with self._read():
            found = db.lookup(self._conn, ids)
            missing = [i for i in ids if i not in found]
            if missing:
                raise UnknownKeyError(f"{len(missing)} id(s) not in collection {self.name!r}: {missing[:5]}")
            labels = np.array([found[i][0] for i in ids], np.int64)
            order = np.argsort(labels)
            vecs = np.empty((len(ids), self.dim), np.float32)
            vecs[order] = self._rows(labels[order])
        return [Item(i, vecs[j], _meta(found[i][1]), found[i][2]) for j, i in enumerate(ids)]

    def vectors(self) -> Vectors:
        """All live vectors keyed by id (a memory-mapped view when nothing was deleted since compaction)."""
        with self._read():
            rows = self._conn.execute("SELECT label, id FROM items ORDER BY label").fetchall()
            labels = np.fromiter((r[0] for r in rows), np.int64, count=len(rows))
            keys = [r[1] for r in rows]
            if len(self._segs) == 1 and self._segs[0][1] == len(labels):
                mat = self._segs[0][2]
            elif not len(labels):
                mat = np.empty((0, self.dim), np.float32)
            else:
                mat = np.concatenate(list(self._live_blocks()))
        return Vectors(keys, mat)

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary: name, path, encoder, index, counts, generation, bytes on disk."""
        with self._read():
            total = sum(rows for _, rows, _ in self._segs)
            out = {"name": self.name, "path": str(self.path), "encoder": dict(self._manifest["encoder"]),
                   "dim": self.dim, "metric": self.metric,
                   "index": {"kind": self.index_kind, "params": self.index_params},
                   "count": self._count, "segments": len(self._segs), "deleted_rows": total - self._count,
                   "generation": self._gen, "created": self._manifest.get("created"),
                   "format_version": self._manifest["format_version"]}
        out["bytes"] = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        return out


def _meta(text: str) -> dict:
    return {} if text == "{}" else json.loads(text)

