"""The PostgreSQL + pgvector backend's table: one collection's rows in one table, behind ``read()`` (a
REPEATABLE READ snapshot) and ``write()`` (one transaction holding the collection's catalogue row)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ...errors import CollectionNotFoundError, DatabaseUnavailableError, InputError
from ...index.base import SearchParams
from ..capabilities import Capabilities
from ..filters import Filter
from ..records import Hit
from . import build
from . import connection as pgc
from . import sql as q
from .sql import CATALOG
from .txn import PgReader, PgWriter

#: pgvector's HNSW takes a search breadth (``hnsw.ef_search``); there are no IVF lists and no compressed codes.
CAPABILITIES = Capabilities("postgresql", None, frozenset({"ef_search"}), set_index=False,
                            refusal_note="its indexes are exact and HNSW over float32 vectors")


class PgTable:
    """One collection in a PostgreSQL database. Built by ``PgStore``; one connection per table, used by one
    thread at a time."""

    capabilities = CAPABILITIES

    def __init__(self, url: str, name: str, table: str, manifest: dict[str, Any], readonly: bool,
                 lock_timeout: float) -> None:
        self.url, self.name, self.table, self.manifest = url, name, table, manifest
        self.readonly = readonly
        self.lock_timeout = float(lock_timeout)
        self.location = f"{pgc.safe_url(url)}#{table}"
        self.cache_dir = pgc.cache_dir(url, name)
        enc = manifest["encoder"]
        self.dim, self.metric = int(enc["dim"]), enc["metric"]
        self.index_kind = manifest["index"]["kind"]
        self.index_params = dict(manifest["index"].get("params", {}))
        self._mutex = threading.RLock()
        self._conn = pgc.connect(url)
        self._closed = False
        self._ef: int | None = None  # the connection's hnsw.ef_search (None: not set by us yet)
        self._count: tuple[float, int] | None = None  # (when, live rows): for choosing exact or HNSW search
        self._load_conn: Any = None  # the connection whose session holds the load lock (lock_load), else None
        self._created: Any = None  # which collection of this name (its catalogue row's creation time)
        try:
            self._created = self._catalogue_row()[2]
        except BaseException:
            self._conn.close()
            raise

    def _catalogue_row(self) -> tuple[int, int, Any]:
        """(generation, live rows, created) of this handle's collection; CollectionNotFoundError when it was dropped
        (and perhaps created again: the same name, another collection) since the handle opened it."""
        row = self._conn.execute(f"SELECT generation, count, created FROM {CATALOG} WHERE name = %s",
                                 (self.name,)).fetchone()
        self._check_same(row)
        return int(row[0]), int(row[1]), row[2]

    def _check_same(self, row: Any) -> None:
        if row is None:
            raise CollectionNotFoundError(f"collection {self.name!r} was dropped from the database meanwhile")
        if self._created is not None and self._created != row[-1]:
            raise CollectionNotFoundError(f"collection {self.name!r} was dropped from the database and created again "
                                          "after this handle opened it; nothing was written. Open it again to use "
                                          "the new one")

    # ------------------------------------------------------------------ transactions
    def _check_open(self) -> None:
        if self._closed:
            raise InputError(f"collection {self.name!r} is closed; open it again")

    def _check_writable(self) -> None:
        self._check_open()
        if self.readonly:
            raise InputError(f"collection {self.name!r} was opened read-only; open it without readonly=True")

    def _connect_again(self, force: bool = False) -> None:
        """A usable connection (a new one when the old is closed or broken, or when ``force``); session
        settings are sent again when needed."""
        if force:
            pgc.end(self._conn, "ROLLBACK")
            try:
                self._conn.close()
            except Exception:  # pragma: no cover - closing a broken connection
                pass
        conn = pgc.begin(self._conn, self.url, None)
        if conn is not self._conn:
            self._conn, self._ef = conn, None

    @contextmanager
    def read(self) -> Iterator[PgReader]:
        """A REPEATABLE READ snapshot: every statement inside sees the same committed state."""
        with self._mutex:
            self._check_open()
            conn = pgc.begin(self._conn, self.url, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if conn is not self._conn:
                self._conn, self._ef = conn, None
            try:
                with pgc.errors(self.url, collection=self.name):
                    yield PgReader(self)
            except BaseException:
                pgc.end(self._conn, "ROLLBACK")
                raise
            with pgc.errors(self.url):
                self._conn.execute("COMMIT")

    def search(self, q: np.ndarray, k: int, where: Filter | None, params: SearchParams) -> list[list[Hit]]:
        """``Reader.search`` without opening a multi-statement snapshot: each query is one statement (its own
        snapshot), session settings are sent only when they change; a connection lost to a server restart is
        reopened and the (read-only) search run again once. See ``backend.Table.search``."""
        with self._mutex:
            self._check_open()
            for attempt in range(2):
                try:
                    with pgc.errors(self.url, collection=self.name):
                        return PgReader(self).search(q, k, where, params)
                except DatabaseUnavailableError:
                    if attempt:
                        raise
                    self._connect_again(force=True)
        raise AssertionError("unreachable")  # pragma: no cover

    def set_ef(self, ef: int) -> None:
        """Set the session's ``hnsw.ef_search`` (a round trip only when it changes)."""
        if ef != self._ef:
            self._conn.execute(f"SET hnsw.ef_search = {int(ef)}")
            self._ef = int(ef)

    def approx_count(self, max_age: float = 5.0) -> int:
        """Live rows, as of at most ``max_age`` seconds ago (exact after this process's own writes): only for
        choosing between exact and HNSW search."""
        now = time.monotonic()
        if self._count is None or now - self._count[0] > max_age:
            self._count = (now, self.state()[1])
        return self._count[1]

    def state(self) -> tuple[int, int]:
        """(generation, live rows) from the catalogue."""
        return self._state()

    def _state(self) -> tuple[int, int]:
        return self._catalogue_row()[:2]

    @contextmanager
    def write(self) -> Iterator[PgWriter]:
        """One transaction; the collection's catalogue row is locked first (other writers wait up to
        ``lock_timeout``); the generation is bumped once when anything changed."""
        with self._mutex:
            self._check_open()
            self._check_writable()
            conn = pgc.begin(self._conn, self.url, "BEGIN ISOLATION LEVEL READ COMMITTED")
            if conn is not self._conn:
                self._conn, self._ef = conn, None
            try:
                with pgc.errors(self.url, lock_name=self.name, lock_timeout=self.lock_timeout, collection=self.name):
                    self._conn.execute(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'")
                    row = self._conn.execute(q.WRITE_ROW, (self.name,)).fetchone()
                    self._check_same(row)
                    w = PgWriter(self, int(row[0]), int(row[1]), int(row[2]), loading=bool(row[3]))
                    yield w
                    if w.changed:
                        self._conn.execute(f"UPDATE {CATALOG} SET generation = generation + 1, count = %s, "
                                           "next_seq = %s WHERE name = %s", (w.live, w.next_seq, self.name))
                    self._conn.execute("COMMIT")
                    self._count = (time.monotonic(), w.live)
            except BaseException:
                pgc.end(self._conn, "ROLLBACK")
                raise

    # ------------------------------------------------------------------ loads (see backend.Table)
    def incomplete(self) -> dict[str, Any] | None:
        """The catalogue's load mark of this collection, with ``running``: whether a loader's session holds the
        collection's load lock (an advisory lock that ends with its session: a SIGKILL or a server stop)."""
        with self._mutex, pgc.errors(self.url):
            self._check_open()
            self._connect_again()
            row = self._conn.execute(q.PENDING_OF, (self.name,)).fetchone()
            if row is None:
                raise CollectionNotFoundError(f"collection {self.name!r} was dropped from the database meanwhile")
            if not isinstance(row[0], dict):
                return None
            return {**row[0], "running": self._load_conn is not None or self._load_held_elsewhere()}

    def _load_held_elsewhere(self) -> bool:
        """Whether another session holds this collection's load lock (taken and released at once to find out)."""
        key = q.load_lock_key(self.table)
        if not self._conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            return True
        self._conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        return False

    def lock_load(self) -> bool:
        """Take the collection's load lock (a session advisory lock) without waiting."""
        with self._mutex, pgc.errors(self.url):
            self._check_writable()
            if self._load_conn is not None:
                return False
            self._connect_again()
            if not self._conn.execute("SELECT pg_try_advisory_lock(%s)", (q.load_lock_key(self.table),)).fetchone()[0]:
                return False
            self._load_conn = self._conn
            return True

    def unlock_load(self) -> None:
        with self._mutex:
            conn, self._load_conn = self._load_conn, None
            if conn is not None and conn is self._conn:  # a lost connection took its lock with it
                try:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (q.load_lock_key(self.table),))
                except Exception:  # a broken connection: its lock went with it
                    pass

    def _ensure_pending_column(self) -> None:
        with self._mutex, pgc.errors(self.url):
            self._connect_again()
            if not self._conn.execute(q.HAS_PENDING, (CATALOG,)).fetchone()[0]:
                self._conn.execute(q.PENDING_DDL)  # a catalogue from before the load mark: once per database

    def mark_incomplete(self, mark: dict[str, Any]) -> None:
        """Record the load mark and drop the HNSW index, in one transaction (the load's completion builds it
        again: pgvector builds a graph from loaded rows several times faster than it grows one; searches
        meanwhile are exact). While the mark is set, writes COPY their rows straight into the table (see
        ``PgWriter.insert``). Bad build settings in the environment (``build.py``) are refused here, before
        anything is loaded (InputError)."""
        from psycopg.types.json import Jsonb

        self._check_writable()
        if self.index_kind == "hnsw":
            build.settings(0, self.dim, self._m(), 0)
        self._ensure_pending_column()
        with self.write():
            self._conn.execute(f"UPDATE {CATALOG} SET pending = %s WHERE name = %s", (Jsonb(mark), self.name))
            if self.index_kind == "hnsw":
                self._conn.execute(pgc.ident_sql("DROP INDEX IF EXISTS {}", q.hnsw_index_name(self.table)))

    def complete(self) -> None:
        """Build the HNSW index the manifest promises (when missing) and clear the load mark, in one transaction."""
        with self.write() as w:
            if self.index_kind == "hnsw":
                self._build_index(w.live)
            if self._conn.execute(q.HAS_PENDING, (CATALOG,)).fetchone()[0]:
                self._conn.execute(f"UPDATE {CATALOG} SET pending = NULL WHERE name = %s", (self.name,))

    def _m(self) -> int:
        return int(self.index_params.get("M", 16))

    def _build_index(self, rows: int) -> None:
        """CREATE INDEX IF NOT EXISTS for the HNSW index, inside the transaction in progress, with the build
        session's memory and parallel workers (``build.py``) set for that transaction only."""
        if not self._conn.execute("SELECT to_regclass(%s) IS NULL", (q.hnsw_index_name(self.table),)).fetchone()[0]:
            return  # built already: nothing to size
        build.prepare(self._conn, rows, self.dim, self._m())
        self._conn.execute(q.hnsw_index_sql(self.table, self.dim, self.metric, self.index_params))

    @contextmanager
    def writing(self) -> Iterator[None]:
        """PostgreSQL serialises writers per collection by row lock within each write; nothing to hold here."""
        with self._mutex:
            self._check_open()
            yield

    def set_index(self, kind: str, params: dict[str, Any]) -> None:
        """Not available here (``capabilities.set_index`` is False): pgvector's index is part of the table.

        Raises
        ------
        InputError
            Always, saying how to move the collection to another index (export, then import).
        """
        raise InputError(f"the {self.capabilities.kind} backend cannot change a collection's index; export it and "
                         "import it into a new collection created with the index you want")

    # ------------------------------------------------------------------ upkeep, facts, checks
    def compact(self) -> None:
        """Build the HNSW index the manifest promises if it is missing and no load is running (a load that stopped
        before its end leaves none), then VACUUM ANALYZE the table (reclaims dead rows, refreshes the planner's
        statistics)."""
        with self._mutex:
            self._check_open()
            with pgc.errors(self.url):
                self._connect_again()
                if self.index_kind == "hnsw" and self._load_conn is None and not self._load_held_elsewhere():
                    self._conn.execute("BEGIN")
                    try:
                        self._build_index(self.state()[1])
                    except BaseException:
                        pgc.end(self._conn, "ROLLBACK")
                        raise
                    self._conn.execute("COMMIT")
                self._conn.execute(pgc.ident_sql("VACUUM (ANALYZE) {}", self.table))

    def storage_info(self) -> dict[str, Any]:
        """Where the collection lives, its size in bytes, and the server's durability setting.

        Returns
        -------
        dict
            ``location``, ``table``, ``bytes`` and ``synchronous_commit`` (``"on"``: an acknowledged write survives
            a crash of the server; ``"off"``: the last commits before a crash may be lost, never consistency).
        """
        with self._mutex, pgc.errors(self.url):
            size = self._conn.execute("SELECT pg_total_relation_size(%s::regclass)", (self.table,)).fetchone()[0]
            sync = self._conn.execute("SHOW synchronous_commit").fetchone()[0]
        return {"location": self.location, "table": self.table, "bytes": int(size), "synchronous_commit": str(sync)}

    def check(self, deep: bool = True) -> dict[str, Any]:
        """The catalogue's count against the table's rows, and every stored vector's dimension."""
        problems: list[str] = []
        with self.read() as r:
            rows = self._conn.execute(pgc.ident_sql("SELECT count(*), count(*) FILTER (WHERE vector_dims(embedding) "
                                                    "<> %s) FROM {}", self.table), (self.dim,)).fetchone()
            if int(rows[0]) != r.count():
                problems.append(f"table {self.table}: {rows[0]} rows but the catalogue records {r.count()}")
            if int(rows[1]):
                problems.append(f"table {self.table}: {rows[1]} vector(s) of the wrong dimension")
            index = q.hnsw_index_name(self.table)
            if self.index_kind == "hnsw" and not self._conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                                                                    (index,)).fetchone()[0]:
                loading = self._conn.execute(q.PENDING_OF, (self.name,)).fetchone()
                why = ("the load that dropped it has not completed; completing it (resuming the load) builds it"
                       if loading is not None and isinstance(loading[0], dict) else
                       f"build it with: embedlab compact {self.name} (Collection.compact())")
                problems.append(f"table {self.table}: the HNSW index the manifest promises ({index}) is missing, so "
                                f"searches scan every row; {why}")
        return {"ok": not problems, "problems": problems, "segments": 0, "items": int(rows[0]), "deep": deep}

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            try:
                self._conn.close()
            except Exception:  # pragma: no cover - closing a broken connection
                pass

    @property
    def conn(self) -> Any:
        """The connection of the transaction in progress (for this backend's Reader/Writer)."""
        return self._conn
