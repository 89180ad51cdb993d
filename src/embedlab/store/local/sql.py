"""The local backend's SQLite catalogue (WAL) — every SQL statement of the local backend lives here.

Every row of every vector segment has an int64 *label* = segment ``start`` + row number; ``items`` maps the
user's string id to its live label with its metadata (JSON text), source, content hash and content. One SQLite
transaction per write records the new segment (with its size and checksums), the rows and the new
``generation``: it is the single commit point that decides what readers see. ``dead`` lists labels whose rows
were deleted or replaced (with the generation that killed them) until a compaction rewrites the segments and
renumbers the labels (a new ``epoch``). ``meta`` keeps a copy of the manifest, so an edited ``manifest.json``
is noticed. Every SQLite error becomes an embedlab error (``Catalog.guard``).

Checksums (schema 3): SQLite pages carry none, so a flipped bit inside ``catalog.sqlite`` could change an item
silently. Each item row carries the CRC32 of its label, id, metadata, source and hash (``crc``) and of its id and
content (``content_crc``), verified whenever the row is read (``lookup``, ``by_labels``, ``contents``, ``rows``)
and all at once by ``verify_items`` (``check``); the small tables (state, segments, the manifest copy) are
covered by one CRC32 in ``meta`` (``records_crc``), written with every commit and verified on every open.
Catalogues of schema 2 gain the columns (and their values) on their first writable open.
"""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import CorruptFileError, InputError, LockTimeoutError, ReadOnlyStorageError, StorageFullError
from ..filters import Filter, leaf_count, matches, to_sql, value_key

DB_FILE = "catalog.sqlite"
SCHEMA_VERSION = 3  # 3: row checksums (items.crc, items.content_crc, meta.records_crc)
_ITEMS = ("CREATE TABLE {name}(label INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, metadata TEXT NOT NULL, "
          "source TEXT, hash TEXT, content TEXT, crc INTEGER, content_crc INTEGER)")
_SCHEMA = [
    "CREATE TABLE state(key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE segments(seg INTEGER PRIMARY KEY AUTOINCREMENT, file TEXT NOT NULL UNIQUE, start INTEGER NOT NULL, "
    "rows INTEGER NOT NULL, gen INTEGER NOT NULL, bytes INTEGER, crc32 INTEGER, edge_crc INTEGER)",
    _ITEMS.format(name="items"),
    "CREATE TABLE dead(label INTEGER PRIMARY KEY, gen INTEGER NOT NULL)",
    "INSERT INTO state(key, value) VALUES ('generation', 0), ('epoch', 0), ('layout', 0), ('count', 0), "
    f"('next_label', 0), ('schema', {SCHEMA_VERSION})",
]
_FIX = "restore the collection folder from a backup, or drop the collection and add the items again"
_NONE = "\x00"  # how a missing source/hash/content enters a checksum (NUL is refused in every stored text)


def row_crc(label: int, id_: str, metadata: str, source: str | None, hash_: str | None) -> int:
    """CRC32 of an item row's label, id, metadata, source and hash (what ``items.crc`` holds)."""
    text = "\x1f".join((str(label), id_, metadata, _NONE if source is None else source, _NONE if hash_ is None else hash_))
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def content_crc(id_: str, content: str | None) -> int:
    """CRC32 of an item's id and content (what ``items.content_crc`` holds)."""
    text = id_ + "\x1f" + (_NONE if content is None else content)
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def _with_crcs(rows: Iterable[tuple[int, str, str, str | None, str | None, str | None]]
               ) -> Iterator[tuple[int, str, str, str | None, str | None, str | None, int, int]]:
    """Each ``(label, id, metadata, source, hash, content)`` row with its `row_crc` and `content_crc` appended: the
    same values, inlined (the two calls per row cost a third of a 100k-row insert)."""
    crc, none = zlib.crc32, _NONE
    for lb, i, m, so, h, co in rows:
        yield (lb, i, m, so, h, co,
               crc(f"{lb}\x1f{i}\x1f{m}\x1f{none if so is None else so}\x1f{none if h is None else h}"
                   .encode("utf-8", "surrogatepass")),
               crc(f"{i}\x1f{none if co is None else co}".encode("utf-8", "surrogatepass")))


_CHUNK = 50_000  # ids per IN (...) list
SQL_LEAVES = 256  # filters with more field tests than this are evaluated in Python (see Catalog.labels)


class Segment(tuple):  # type: ignore[type-arg]  # a plain row with named fields
    """(seg, file, start, rows, gen, bytes, crc32, edge_crc) of one committed segment."""

    __slots__ = ()
    seg = property(lambda s: s[0])
    file = property(lambda s: s[1])
    start = property(lambda s: s[2])
    rows = property(lambda s: s[3])
    gen = property(lambda s: s[4])
    bytes = property(lambda s: s[5])
    crc32 = property(lambda s: s[6])
    edge_crc = property(lambda s: s[7])


_TOO_LARGE = ("too many sql variables", "expression tree is too large", "parser stack overflow",
              "string or blob too big", "too many terms")


def too_large(exc: sqlite3.Error) -> bool:
    """Whether SQLite refused a statement for its size (a huge filter), which says nothing about the file."""
    return any(t in str(exc).lower() for t in _TOO_LARGE)


def translate(exc: sqlite3.Error, path: Path) -> Exception:
    """The embedlab error for a SQLite error on the catalogue at ``path``; only errors that can come from the file
    itself are called damage."""
    text = str(exc)
    low = text.lower()
    if too_large(exc):
        return InputError(f"the request is too large for the catalogue of {path.parent.name!r} ({text}); split it "
                          "into smaller ones")
    if "disk is full" in low or ("disk i/o error" in low and _nearly_full(path.parent)):
        return StorageFullError(28, f"no space left to write the catalogue of {path.parent.name!r} ({text}); free "
                                    "some disk space and retry: the collection keeps its last committed state")
    if "readonly" in low or "read-only" in low:
        return ReadOnlyStorageError(30, f"cannot write the catalogue of {path.parent.name!r} ({text}): the media is "
                                        "read-only or lacks write permission; open the collection with readonly=True")
    if "locked" in low or "busy" in low:
        return LockTimeoutError(f"the catalogue of {path.parent.name!r} stayed locked by another process ({text}); "
                                "retry when that writer is done")
    return CorruptFileError(f"{path} is damaged or not an embedlab catalogue ({text}); {_FIX}")


def _nearly_full(folder: Path) -> bool:
    """Whether the file system of ``folder`` has (almost) no space left: SQLite reports a full disk as a plain
    I/O error when it cannot create or grow its WAL or shared-memory file."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < (1 << 20)


def _uri(path: Path, mode: str) -> str:
    from urllib.parse import quote

    return f"file:{quote(str(path))}?{mode}"


def _value_key_of_text(text: str) -> str:
    """``filters.value_key`` of a stored list or object (its JSON text): how filters compare them in SQL."""
    return value_key(json.loads(text))


@contextmanager
def _closed_on_error(conn: sqlite3.Connection) -> Iterator[None]:
    """Close ``conn`` when the block raises (a connection that failed its first statements is not kept)."""
    try:
        yield
    except BaseException:
        conn.close()
        raise


class Catalog:
    """One connection to a collection's ``catalog.sqlite``; transactions are explicit (``read``/``write``)."""

    def __init__(self, path: Path, create: bool = False, readonly: bool = False) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise CorruptFileError(f"{self.path} is missing; the collection cannot be read. {_FIX}")
        self.readonly = readonly
        self.has_content = self.has_meta = self.has_row_crc = self.has_checksums = False
        try:
            self.conn = self._connect(create, readonly)
            if create:
                with self.write():
                    for stmt in _SCHEMA:
                        self.conn.execute(stmt)
            cols = {r[1] for r in self.conn.execute("PRAGMA table_info(items)")}
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"state", "segments", "items", "dead"} <= tables:
                raise sqlite3.DatabaseError("tables state/segments/items/dead are missing")
            self.has_content, self.has_meta = "content" in cols, "meta" in tables
            self.has_row_crc = "crc" in cols
            seg_cols = {r[1] for r in self.conn.execute("PRAGMA table_info(segments)")}
            self.has_checksums = "crc32" in seg_cols
            if create:
                with self.write():
                    pass  # seals the new catalogue's records
            with self.read():
                self.state()
                self.verify_records()
        except sqlite3.Error as exc:
            self._abandon()
            raise translate(exc, self.path) from None
        except BaseException:
            self._abandon()
            raise

    def _abandon(self) -> None:
        """Close the connection of a catalogue that failed to open: nothing of it (file handles, SQLite locks, the
        WAL) stays behind to make this process's next open of the folder look locked by another process."""
        conn: sqlite3.Connection | None = self.__dict__.get("conn")
        if conn is not None:
            conn.close()

    def _connect(self, create: bool, readonly: bool) -> sqlite3.Connection:
        conn = self._open_connection(create, readonly)
        conn.create_function("embedlab_row_crc", 5, row_crc, deterministic=True)
        conn.create_function("embedlab_content_crc", 2, content_crc, deterministic=True)
        conn.create_function("embedlab_value_key", 1, _value_key_of_text, deterministic=True)
        return conn

    def _open_connection(self, create: bool, readonly: bool) -> sqlite3.Connection:
        if not readonly:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
            with _closed_on_error(conn):
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
            return conn
        # Read-only: WAL readers need the -shm file; on read-only media with no WAL left over (a clean close),
        # the database file alone is the whole state, so it can be opened immutable.
        try:
            conn = sqlite3.connect(_uri(self.path, "mode=ro"), uri=True, isolation_level=None,
                                   check_same_thread=False, timeout=30.0)
            with _closed_on_error(conn):
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                raise ReadOnlyStorageError(
                    30, f"collection {self.path.parent.name!r} was not closed cleanly (its write-ahead log holds "
                        "changes) and its folder is read-only; copy the folder somewhere writable and open it there"
                ) from None
            conn = sqlite3.connect(_uri(self.path, "mode=ro&immutable=1"), uri=True, isolation_level=None,
                                   check_same_thread=False)
            return conn

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn every SQLite error inside the block into an embedlab error."""
        try:
            yield
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from None

    @contextmanager
    def read(self) -> Iterator[Catalog]:
        """A read snapshot (``BEGIN``): every statement inside sees the same committed state."""
        with self.guard():
            self.conn.execute("BEGIN")
            try:
                yield self
            finally:
                self.conn.execute("COMMIT")

    def begin_write(self) -> None:
        with self.guard():
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        with self.guard():
            self.seal()
            self.conn.execute("COMMIT")

    def rollback(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error:  # no transaction open (it failed to start), or the connection is gone
            pass

    @contextmanager
    def write(self) -> Iterator[Catalog]:
        """One write transaction (``BEGIN IMMEDIATE``): committed at the end, rolled back on any error."""
        self.begin_write()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def close(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:  # pragma: no cover - closing a broken connection
            pass

    # ------------------------------------------------------------------ schema upgrade
    def upgrade(self, manifest: dict[str, Any]) -> None:
        """Bring a catalogue written by an older embedlab to this schema (inside a write transaction)."""
        c = self.conn
        if not self.has_content:
            c.execute("ALTER TABLE items ADD COLUMN content TEXT")
        if not self.has_checksums:
            for col in ("bytes", "crc32", "edge_crc"):
                c.execute(f"ALTER TABLE segments ADD COLUMN {col} INTEGER")
        if not self.has_meta:
            c.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        if not self.has_row_crc:
            c.execute("ALTER TABLE items ADD COLUMN crc INTEGER")
            c.execute("ALTER TABLE items ADD COLUMN content_crc INTEGER")
            c.execute("UPDATE items SET crc = embedlab_row_crc(label, id, metadata, source, hash), "
                      "content_crc = embedlab_content_crc(id, content)")
        self.set_manifest(manifest)
        self.set_state(schema=SCHEMA_VERSION)
        self.has_content = self.has_meta = self.has_checksums = self.has_row_crc = True

    def needs_upgrade(self) -> bool:
        return not (self.has_content and self.has_meta and self.has_checksums and self.has_row_crc)

    # ------------------------------------------------------------------ checksums
    def _records_crc(self) -> int:
        """CRC32 of the state table, the segment rows and the manifest copy, in a fixed order."""
        parts = [repr(sorted(self.conn.execute("SELECT key, value FROM state").fetchall())),
                 repr(self.conn.execute("SELECT * FROM segments ORDER BY seg").fetchall()),
                 repr(self.conn.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchall())]
        pending = self.conn.execute("SELECT value FROM meta WHERE key = 'pending'").fetchall()
        if pending:  # only while a load is incomplete, so catalogues without one keep their checksum
            parts.append(repr(pending))
        return zlib.crc32("\x1e".join(parts).encode("utf-8", "surrogatepass"))

    def seal(self) -> None:
        """Record the small tables' checksum (inside a write transaction, just before it commits)."""
        if self.has_meta and self.conn.in_transaction:
            self.conn.execute("INSERT INTO meta(key, value) VALUES ('records_crc', ?) ON CONFLICT(key) DO UPDATE "
                              "SET value = excluded.value", (str(self._records_crc()),))

    def verify_records(self) -> None:
        """Compare the small tables with their recorded checksum (cheap: a few rows); sqlite3.DatabaseError (a
        CorruptFileError once translated) when they differ. Catalogues written before the checksum pass."""
        if not self.has_meta:
            return
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'records_crc'").fetchone()
        if row is not None and row[0] != str(self._records_crc()):
            raise sqlite3.DatabaseError("the catalogue's state, segment and manifest records do not match their "
                                        "checksum (records_crc): the file was damaged or edited")

    def verify_items(self) -> list[str]:
        """Every item row checked against its checksums, and the small tables against theirs; the problems found
        (empty when fine)."""
        try:
            self.verify_records()
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        if not self.has_row_crc:
            return []
        bad = self.conn.execute(
            "SELECT id FROM items WHERE crc IS NOT NULL AND (crc != embedlab_row_crc(label, id, metadata, source, "
            "hash) OR content_crc != embedlab_content_crc(id, content)) LIMIT 6").fetchall()
        if not bad:
            return []
        return [f"{len(bad) if len(bad) < 6 else 'at least 6'} item row(s) do not match their checksum (e.g. id "
                f"{bad[0][0]!r}): the catalogue was damaged or edited"]

    @property
    def _crc(self) -> str:
        """The row-checksum column to read (NULL in catalogues from before schema 3)."""
        return "crc" if self.has_row_crc else "NULL"

    # ------------------------------------------------------------------ state and manifest copy
    def state(self) -> dict[str, int]:
        out = {k: int(v) for k, v in self.conn.execute("SELECT key, value FROM state")}
        if not {"generation", "epoch", "count", "next_label"} <= out.keys():
            raise sqlite3.DatabaseError("the state table lacks generation/epoch/count/next_label")
        return out

    def set_state(self, **values: int) -> None:
        self.conn.executemany("INSERT INTO state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                              "value = excluded.value", [(k, int(v)) for k, v in values.items()])

    def manifest(self) -> dict[str, Any] | None:
        """The manifest copy stored at creation (None in catalogues from before it was kept)."""
        if not self.has_meta:
            return None
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'manifest'").fetchone()
        if row is None:
            return None
        try:
            doc = json.loads(row[0])
        except ValueError as exc:
            raise sqlite3.DatabaseError(f"the stored manifest copy is not JSON ({exc})") from None
        return doc if isinstance(doc, dict) else None

    def pending(self) -> dict[str, Any] | None:
        """The mark of a load that has not completed (an interrupted import or bulk load); None when complete."""
        if not self.has_meta:
            return None
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'pending'").fetchone()
        if row is None:
            return None
        try:
            doc = json.loads(row[0])
        except ValueError as exc:
            raise sqlite3.DatabaseError(f"the stored load mark is not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise sqlite3.DatabaseError("the stored load mark is not a JSON object")
        return doc

    def set_pending(self, mark: dict[str, Any] | None) -> None:
        """Record (a dict) or clear (None) the mark of an incomplete load, inside a write transaction."""
        if mark is None:
            self.conn.execute("DELETE FROM meta WHERE key = 'pending'")
        else:
            self.conn.execute("INSERT INTO meta(key, value) VALUES ('pending', ?) ON CONFLICT(key) DO UPDATE SET "
                              "value = excluded.value", (json.dumps(mark, sort_keys=True, ensure_ascii=False),))

    def set_manifest(self, manifest: dict[str, Any]) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES ('manifest', ?) ON CONFLICT(key) DO UPDATE SET "
                          "value = excluded.value", (json.dumps(manifest, sort_keys=True),))

    # ------------------------------------------------------------------ segments and tombstones
    def segments(self, after: int = -1) -> list[Segment]:
        """Committed segments with ``seg > after``, in label order."""
        cols = "bytes, crc32, edge_crc" if self.has_checksums else "NULL, NULL, NULL"
        rows = self.conn.execute(f"SELECT seg, file, start, rows, gen, {cols} FROM segments WHERE seg > ? "
                                 "ORDER BY start", (after,)).fetchall()
        out = []
        for r in rows:
            if not (isinstance(r[1], str) and all(isinstance(x, int) for x in r[2:5])):
                raise sqlite3.DatabaseError(f"segment row {r[:5]!r} is malformed")
            out.append(Segment(r))
        return out

    def segment_files(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT file FROM segments")}

    def add_segment(self, file: str, start: int, rows: int, gen: int, record: dict[str, int]) -> None:
        self.conn.execute("INSERT INTO segments(file, start, rows, gen, bytes, crc32, edge_crc) VALUES "
                          "(?, ?, ?, ?, ?, ?, ?)",
                          (file, start, rows, gen, record["bytes"], record["crc32"], record["edge_crc"]))

    def drop_segments(self, segs: Sequence[int] | None = None) -> None:
        """Forget the given segments (all of them when ``segs`` is None)."""
        if segs is None:
            self.conn.execute("DELETE FROM segments")
        else:
            self.conn.executemany("DELETE FROM segments WHERE seg = ?", [(s,) for s in segs])

    def dead_labels(self, after_gen: int = -1) -> np.ndarray:
        rows = self.conn.execute("SELECT label FROM dead WHERE gen > ?", (after_gen,)).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def kill(self, labels: Sequence[int], gen: int) -> None:
        """Delete the items at ``labels`` and record their rows as dead at generation ``gen``."""
        self.conn.executemany("DELETE FROM items WHERE label = ?", [(lb,) for lb in labels])
        self.conn.executemany("INSERT INTO dead(label, gen) VALUES (?, ?)", [(lb, gen) for lb in labels])

    # ------------------------------------------------------------------ items
    def insert(self, start: int, ids: Sequence[str], metas: Sequence[str], sources: Sequence[str | None],
               hashes: Sequence[str | None], contents: Sequence[str | None]) -> None:
        """Insert rows labelled ``start, start + 1, ...`` (sqlite3.IntegrityError if an id exists)."""
        rows = zip(range(start, start + len(ids)), ids, metas, sources, hashes, contents, strict=True)
        self.conn.executemany("INSERT INTO items(label, id, metadata, source, hash, content, crc, content_crc) VALUES "
                              "(?, ?, ?, ?, ?, ?, ?, ?)", _with_crcs(rows))

    def update(self, rows: Sequence[tuple[str, str | None, str]]) -> None:
        """Set (metadata, source) of existing ids: ``rows`` of ``(metadata, source, id)``."""
        self.conn.executemany("UPDATE items SET metadata = ?, source = ?, crc = embedlab_row_crc(label, id, ?, ?, "
                              "hash) WHERE id = ?", ((m, so, m, so, i) for m, so, i in rows))

    def renumber(self) -> None:
        """Compaction: labels become 0..n-1 in the old label order (the live rows' new segment order)."""
        c = self.conn
        c.execute(_ITEMS.format(name="items_new"))
        c.execute("INSERT INTO items_new SELECT nl, id, metadata, source, hash, content, "
                  "embedlab_row_crc(nl, id, metadata, source, hash), content_crc FROM (SELECT ROW_NUMBER() OVER "
                  "(ORDER BY label) - 1 AS nl, * FROM items) ORDER BY nl")
        c.execute("DROP TABLE items")
        c.execute("ALTER TABLE items_new RENAME TO items")
        c.execute("DELETE FROM dead")

    def lookup(self, ids: Sequence[str]) -> dict[str, tuple[int, str, str | None, str | None]]:
        """id -> (label, metadata json, source, hash) for the ids that exist."""
        out = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = json.dumps(list(ids[start:start + _CHUNK]))
            for label, id_, meta, source, h, crc in self.conn.execute(
                f"SELECT label, id, metadata, source, hash, {self._crc} FROM items WHERE id IN "
                "(SELECT value FROM json_each(?))", (chunk,),
            ):
                _verify_row(label, id_, meta, source, h, crc)
                out[_check_id(id_)] = (_check_label(label), _check_meta(meta), source, h)
        return out

    def by_labels(self, labels: np.ndarray) -> dict[int, tuple[str, str, str | None]]:
        """label -> (id, metadata json, source) for live labels."""
        out = {}
        uniq = np.unique(labels[labels >= 0])
        for start in range(0, len(uniq), _CHUNK):
            chunk = json.dumps(uniq[start:start + _CHUNK].tolist())
            for label, id_, meta, source, h, crc in self.conn.execute(
                f"SELECT label, id, metadata, source, hash, {self._crc} FROM items WHERE label IN "
                "(SELECT value FROM json_each(?))", (chunk,),
            ):
                _verify_row(label, id_, meta, source, h, crc)
                out[label] = (_check_id(id_), _check_meta(meta), source)
        return out

    def contents(self, ids: Sequence[str]) -> dict[str, str | None]:
        """id -> stored content (None when the item has none) for the ids that exist."""
        col = "content" if self.has_content else "NULL"
        crc = "content_crc" if self.has_row_crc else "NULL"
        out = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = json.dumps(list(ids[start:start + _CHUNK]))
            for id_, content, want in self.conn.execute(
                f"SELECT id, {col}, {crc} FROM items WHERE id IN (SELECT value FROM json_each(?))", (chunk,)
            ):
                if want is not None and content_crc(_check_id(id_), content) != want:
                    raise sqlite3.DatabaseError(f"the content of item {id_!r} does not match its checksum")
                out[_check_id(id_)] = content
        return out

    def labels(self, flt: Filter | None = None) -> tuple[np.ndarray, list[str]]:
        """(labels, ids) of the live items matching ``flt`` (all when None), in label order.

        A filter of more than ``SQL_LEAVES`` field tests (a ``$or`` of hundreds of compound clauses: each test is a
        ``json_each`` subquery per row, and SQLite also takes seconds just to prepare such a statement), or one
        SQLite refuses for its size, is evaluated with ``filters.matches`` over the rows instead (each row's
        metadata decoded once): the same answer, and faster for such filters."""
        if flt is not None and leaf_count(flt) > SQL_LEAVES:
            return self._labels_in_python(flt)
        sql, params = ("1", []) if flt is None else compile_filter(flt)
        try:
            rows = self.conn.execute(f"SELECT label, id FROM items WHERE {sql} ORDER BY label", params).fetchall()
        except sqlite3.OperationalError as exc:
            if flt is None or not too_large(exc):
                raise
            return self._labels_in_python(flt)
        labels = np.fromiter((_check_label(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        return labels, [_check_id(r[1]) for r in rows]

    def metadata_rows(self, lo: int, hi: int) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(label, metadata)`` of the live items with ``lo <= label < hi``, in label order, each row checked
        against its checksum (what the metadata index is built from)."""
        for label, id_, meta, source, h, crc in self.conn.execute(
                f"SELECT label, id, metadata, source, hash, {self._crc} FROM items WHERE label >= ? AND label < ? "
                "ORDER BY label", (int(lo), int(hi))):
            _verify_row(label, id_, meta, source, h, crc)
            yield label, json.loads(meta)

    def ids_at(self, labels: np.ndarray) -> list[str]:
        """The ids of sorted live ``labels``, in label order (labels of no item are left out)."""
        out: list[str] = []
        for start in range(0, len(labels), _CHUNK):
            chunk = json.dumps(labels[start:start + _CHUNK].tolist())
            out += [_check_id(r[0]) for r in self.conn.execute(
                "SELECT id FROM items WHERE label IN (SELECT value FROM json_each(?)) ORDER BY label", (chunk,))]
        return out

    def _labels_in_python(self, flt: Filter) -> tuple[np.ndarray, list[str]]:
        rows = [(label, id_) for label, id_, meta in self.conn.execute(
            "SELECT label, id, metadata FROM items ORDER BY label") if matches(flt, json.loads(_check_meta(meta)))]
        labels = np.fromiter((_check_label(r[0]) for r in rows), dtype=np.int64, count=len(rows))
        return labels, [_check_id(r[1]) for r in rows]

    def rows(self, batch: int) -> Iterator[list[tuple[int, str, str, str | None, str | None, str | None]]]:
        """Every live item as (label, id, metadata, source, hash, content), in label order, ``batch`` at a time."""
        col = "content" if self.has_content else "NULL"
        crcs = "crc, content_crc" if self.has_row_crc else "NULL, NULL"
        cur = self.conn.execute(f"SELECT label, id, metadata, source, hash, {col}, {crcs} FROM items ORDER BY label")
        while block := cur.fetchmany(batch):
            for r in block:
                _check_label(r[0]), _check_id(r[1]), _check_meta(r[2])
                _verify_row(r[0], r[1], r[2], r[3], r[4], r[6])
                if r[7] is not None and content_crc(r[1], r[5]) != r[7]:
                    raise sqlite3.DatabaseError(f"the content of item {r[1]!r} does not match its checksum")
            yield [r[:6] for r in block]

    def key_types(self, keys: Sequence[str], sample: int) -> dict[str, set[str]]:
        """The JSON types (``filters.kind`` names) each of ``keys`` holds among all live items (keys no item has
        are left out), and every key of the first ``sample`` items with the types seen there."""
        out: dict[str, set[str]] = {}
        wanted = set(keys)
        if keys:
            rows = self.conn.execute("SELECT j.key, j.type FROM items, json_each(items.metadata) j WHERE j.key IN "
                                     "(SELECT value FROM json_each(?)) GROUP BY j.key, j.type",
                                     (json.dumps(list(keys)),)).fetchall()
            for key, t in rows:
                out.setdefault(key, set()).add(_JSON_KIND.get(t, t))
        for key, t in self.conn.execute("SELECT j.key, j.type FROM (SELECT metadata FROM items ORDER BY label LIMIT ?) "
                                        "s, json_each(s.metadata) j GROUP BY j.key, j.type", (int(sample),)):
            if key not in wanted:
                out.setdefault(key, set()).add(_JSON_KIND.get(t, t))
        return out

    def integrity(self) -> list[str]:
        """SQLite's own integrity check (problems found; empty when fine)."""
        rows = self.conn.execute("PRAGMA integrity_check").fetchall()
        return [] if [r[0] for r in rows] == ["ok"] else [str(r[0]) for r in rows]


def _verify_row(label: Any, id_: Any, meta: Any, source: Any, hash_: Any, crc: Any) -> None:
    """sqlite3.DatabaseError (reported as damage) when an item row does not match its checksum."""
    if crc is not None and row_crc(_check_label(label), _check_id(id_), _check_meta(meta), source, hash_) != crc:
        raise sqlite3.DatabaseError(f"the catalogue row of item {id_!r} does not match its checksum")


def _check_id(v: Any) -> str:
    if type(v) is not str:
        raise sqlite3.DatabaseError(f"an item id came back as {type(v).__name__} ({v!r:.40}), not text")
    return v


def _check_label(v: Any) -> int:
    if type(v) is not int:
        raise sqlite3.DatabaseError(f"an item label came back as {type(v).__name__}, not an integer")
    return v


def _check_meta(v: Any) -> str:
    if type(v) is not str:
        raise sqlite3.DatabaseError(f"an item's metadata came back as {type(v).__name__}, not JSON text")
    return v


# ---------------------------------------------------------------------- filters -> SQL
# Each test reads the item's top-level key through json_each, which handles keys with any character (SQLite's
# JSON paths cannot spell some, e.g. a key containing a double quote). json_each's ``type`` is SQLite's JSON
# type: null, true, false, integer, real, text, array, object; ``atom`` is the SQL value of a scalar.
_FIELD = "SELECT 1 FROM json_each(items.metadata) j WHERE j.key = ?"
#: json_each's types as ``filters.kind`` names them
_JSON_KIND = {"null": "null", "true": "bool", "false": "bool", "integer": "number", "real": "number",
              "text": "string", "array": "array", "object": "object"}
_TYPES = {"string": "j.type = 'text'", "number": "j.type IN ('integer', 'real')"}


def _scalar_test(v: Any, alias: str = "j") -> tuple[str, list[Any]]:
    """SQL true when json_each row ``alias`` holds a value $eq to ``v`` (not null: callers handle null)."""
    t = f"{alias}.type"
    if isinstance(v, bool):
        return f"{t} = '{'true' if v else 'false'}'", []
    if isinstance(v, (int, float)):
        return f"{t} IN ('integer', 'real') AND {alias}.atom = ?", [v]
    if isinstance(v, str):
        return f"{t} = 'text' AND {alias}.atom = ?", [v]
    return (f"{t} = '{'array' if isinstance(v, list) else 'object'}' AND embedlab_value_key({alias}.value) = ?",
            [value_key(v)])


class _SQLite:
    """The SQLite leaf tests of ``filters.to_sql`` (json_each rows: ``type`` and ``atom``)."""

    def eq(self, key: str, v: Any) -> tuple[str, list[Any]]:
        if v is None:  # JSON null or a missing key
            return f"NOT EXISTS({_FIELD} AND j.type != 'null')", [key]
        test, params = _scalar_test(v)
        return f"EXISTS({_FIELD} AND {test})", [key, *params]

    def exists(self, key: str, present: bool) -> tuple[str, list[Any]]:
        return f"{'' if present else 'NOT '}EXISTS({_FIELD})", [key]

    def contains(self, key: str, v: Any) -> tuple[str, list[Any]]:
        elem, params = ("e.type = 'null'", []) if v is None else _scalar_test(v, "e")
        return (f"EXISTS(SELECT 1 FROM json_each(items.metadata) j, json_each(j.value) e WHERE j.key = ? AND "
                f"j.type = 'array' AND {elem})"), [key, *params]

    def compare(self, key: str, op: str, v: Any) -> tuple[str, list[Any]]:
        sign = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        kind = "number" if isinstance(v, (int, float)) else "string"
        return f"EXISTS({_FIELD} AND {_TYPES[kind]} AND j.atom {sign} ?)", [key, v]

    def in_(self, key: str, values: list[Any]) -> tuple[str, list[Any]]:
        parts: list[tuple[str, list[Any]]] = []
        if any(x is None for x in values):
            parts.append(self.eq(key, None))
        strings = [x for x in values if isinstance(x, str)]
        numbers = [x for x in values if isinstance(x, (int, float)) and not isinstance(x, bool)]
        bools = sorted({"true" if x else "false" for x in values if isinstance(x, bool)})
        compound = [value_key(x) for x in values if isinstance(x, (list, dict))]
        if strings:
            parts.append((f"EXISTS({_FIELD} AND j.type = 'text' AND j.atom IN (SELECT value FROM json_each(?)))",
                          [key, json.dumps(strings)]))
        if numbers:  # 1 and 1.0 are the same number: SQLite compares an integer atom with a real one by value
            parts.append((f"EXISTS({_FIELD} AND j.type IN ('integer', 'real') AND j.atom IN "
                          "(SELECT value FROM json_each(?)))", [key, json.dumps(numbers)]))
        if bools:
            parts.append((f"EXISTS({_FIELD} AND j.type IN ({', '.join(repr(b) for b in bools)}))", [key]))
        if compound:
            parts.append((f"EXISTS({_FIELD} AND j.type IN ('array', 'object') AND embedlab_value_key(j.value) IN "
                          "(SELECT value FROM json_each(?)))", [key, json.dumps(compound)]))
        if not parts:  # pragma: no cover - parse refuses an empty $in
            return "0", []
        return "(" + " OR ".join(sql for sql, _ in parts) + ")", [x for _, p in parts for x in p]


def compile_filter(flt: Filter) -> tuple[str, list[Any]]:
    """A SQL boolean expression over ``items`` (and its parameters) equal to ``filters.matches``."""
    return to_sql(flt, _SQLite())

