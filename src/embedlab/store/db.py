"""The collection's SQLite catalogue (WAL): ids, metadata, sources, content hashes, segments, tombstones.

Every row of every vector segment has an int64 *label* = segment ``start`` + row number; ``items`` maps the
user's string id to its live label. One SQLite transaction per write (add, upsert, delete, compact) records
the new segment, the rows and the new ``generation``: it is the single commit point that decides what
readers see. ``dead`` lists labels whose rows were deleted or replaced (with the generation that killed
them) until a compaction rewrites the segments and renumbers the labels (a new ``epoch``).
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import CorruptFileError, InputError

DB_FILE = "catalog.sqlite"
ITEMS_TABLE = ("CREATE TABLE items(label INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, metadata TEXT NOT NULL, "
               "source TEXT, hash TEXT)")
SCHEMA = f"""
CREATE TABLE state(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE segments(seg INTEGER PRIMARY KEY AUTOINCREMENT, file TEXT NOT NULL UNIQUE, start INTEGER NOT NULL,
                      rows INTEGER NOT NULL, gen INTEGER NOT NULL);
{ITEMS_TABLE};
CREATE TABLE dead(label INTEGER PRIMARY KEY, gen INTEGER NOT NULL);
INSERT INTO state(key, value) VALUES ('generation', 0), ('epoch', 0), ('layout', 0), ('count', 0), ('next_label', 0);
"""


def connect(path: Path, create: bool = False) -> sqlite3.Connection:
    """Open the catalogue in autocommit mode (transactions are explicit), WAL, synchronous=FULL."""
    if not create and not path.is_file():
        raise CorruptFileError(
            f"{path} is missing; the collection cannot be read. Drop it and build it again, or restore the folder"
        )
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        if create:
            with transaction(conn):
                for stmt in SCHEMA.strip().split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
        else:
            state(conn)  # schema check
    except sqlite3.DatabaseError as exc:
        raise corrupt(path, exc) from None
    return conn


def corrupt(path: Path, exc: Exception) -> CorruptFileError:
    return CorruptFileError(
        f"{path} is damaged or not an embedlab catalogue ({exc}); restore the collection folder from a backup, "
        f"or drop it (embedlab.store.Collection.drop) and add the items again"
    )


@contextmanager
def transaction(conn: sqlite3.Connection, write: bool = False) -> Iterator[sqlite3.Connection]:
    """A read snapshot (``BEGIN``) or a write transaction (``BEGIN IMMEDIATE``); commit or roll back."""
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def state(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT key, value FROM state").fetchall()
    out = {k: int(v) for k, v in rows}
    if not {"generation", "epoch", "count", "next_label"} <= out.keys():
        raise sqlite3.DatabaseError("the state table lacks generation/epoch/count/next_label")
    return out


def set_state(conn: sqlite3.Connection, **values: int) -> None:
    conn.executemany("INSERT INTO state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     [(k, int(v)) for k, v in values.items()])


def segments(conn: sqlite3.Connection, after: int = -1) -> list[tuple[int, str, int, int, int]]:
    """(seg, file, start, rows, gen) of segments with ``seg > after``, in label order."""
    return conn.execute(
        "SELECT seg, file, start, rows, gen FROM segments WHERE seg > ? ORDER BY start", (after,)
    ).fetchall()


def dead_labels(conn: sqlite3.Connection, after_gen: int = -1) -> np.ndarray:
    rows = conn.execute("SELECT label FROM dead WHERE gen > ?", (after_gen,)).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def _json_list(values) -> str:
    return json.dumps(list(values))


def lookup(conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[int, str, str | None, str | None]]:
    """id -> (label, metadata json, source, hash) for the ids that exist."""
    out = {}
    for start in range(0, len(ids), 50_000):
        chunk = ids[start:start + 50_000]
        for label, id_, meta, source, h in conn.execute(
            "SELECT label, id, metadata, source, hash FROM items WHERE id IN (SELECT value FROM json_each(?))",
            (_json_list(chunk),),
        ):
            out[id_] = (label, meta, source, h)
    return out


def by_labels(conn: sqlite3.Connection, labels: np.ndarray) -> dict[int, tuple[str, str, str | None]]:
    """label -> (id, metadata json, source) for live labels."""
    out = {}
    uniq = np.unique(labels[labels >= 0])
    for start in range(0, len(uniq), 50_000):
        chunk = uniq[start:start + 50_000]
        for label, id_, meta, source in conn.execute(
            "SELECT label, id, metadata, source FROM items WHERE label IN (SELECT value FROM json_each(?))",
            (_json_list(chunk.tolist()),),
        ):
            out[label] = (id_, meta, source)
    return out


def where_labels(conn: sqlite3.Connection, where: dict[str, Any]) -> np.ndarray:
    """Labels of the items whose metadata matches ``where`` (equality, ``{"$in": [...]}``, ``{"$eq": v}``)."""
    if not isinstance(where, dict) or not where:
        raise InputError("where must be a non-empty dict such as {'lang': 'ko'} or {'tag': {'$in': ['a', 'b']}}")
    clauses, params = [], []
    for key, cond in where.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"where keys must be non-empty strings, got {key!r}")
        path = '$."' + key.replace('"', '\\"') + '"'
        if isinstance(cond, dict):
            if len(cond) != 1 or next(iter(cond)) not in ("$in", "$eq"):
                raise InputError(f"where[{key!r}]: supported operators are $eq and $in, got {list(cond)}")
            op, val = next(iter(cond.items()))
            if op == "$in":
                if not isinstance(val, (list, tuple, set)) or not val:
                    raise InputError(f"where[{key!r}]['$in'] must be a non-empty list of values")
                vals = [_sql_value(key, v) for v in val]
                nulls = any(v is None for v in vals)
                vals = [v for v in vals if v is not None]
                parts = []
                if vals:
                    parts.append(f"json_extract(metadata, ?) IN ({','.join('?' * len(vals))})")
                    params += [path, *vals]
                if nulls:
                    parts.append("json_extract(metadata, ?) IS NULL")
                    params.append(path)
                clauses.append("(" + " OR ".join(parts) + ")")
                continue
            cond = val
        v = _sql_value(key, cond)
        if v is None:
            clauses.append("json_extract(metadata, ?) IS NULL")
            params.append(path)
        else:
            clauses.append("json_extract(metadata, ?) = ?")
            params += [path, v]
    rows = conn.execute(f"SELECT label FROM items WHERE {' AND '.join(clauses)}", params).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def _sql_value(key: str, v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float)):
        return int(v) if isinstance(v, bool) else v
    raise InputError(f"where[{key!r}]: compare with a string, number, bool or None, got {type(v).__name__}")
