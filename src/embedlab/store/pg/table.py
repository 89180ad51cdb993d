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

    # ------------------------------------------------------------------ transactions
    def _check_open(self) -> None:
        if self._closed:
            raise InputError(f"collection {self.name!r} is closed; open it again")

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
                with pgc.errors(self.url):
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
                    with pgc.errors(self.url):
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
        row = self._conn.execute(f"SELECT generation, count FROM {CATALOG} WHERE name = %s", (self.name,)).fetchone()
        if row is None:
            raise CollectionNotFoundError(f"collection {self.name!r} was dropped from the database meanwhile")
        return int(row[0]), int(row[1])

    @contextmanager
    def write(self) -> Iterator[PgWriter]:
        """One transaction; the collection's catalogue row is locked first (other writers wait up to
        ``lock_timeout``); the generation is bumped once when anything changed."""
        with self._mutex:
            self._check_open()
            if self.readonly:
                raise InputError(f"collection {self.name!r} was opened read-only; open it without readonly=True")
            conn = pgc.begin(self._conn, self.url, "BEGIN ISOLATION LEVEL READ COMMITTED")
            if conn is not self._conn:
                self._conn, self._ef = conn, None
            try:
                with pgc.errors(self.url, lock_name=self.name, lock_timeout=self.lock_timeout):
                    self._conn.execute(f"SET LOCAL lock_timeout = '{int(self.lock_timeout * 1000)}ms'")
                    row = self._conn.execute(f"SELECT generation, count, next_seq FROM {CATALOG} WHERE name = %s "
                                             "FOR UPDATE", (self.name,)).fetchone()
                    if row is None:
                        raise CollectionNotFoundError(f"collection {self.name!r} was dropped from the database")
                    w = PgWriter(self, int(row[0]), int(row[1]), int(row[2]))
                    yield w
                    if w.changed:
                        self._conn.execute(f"UPDATE {CATALOG} SET generation = generation + 1, count = %s, "
                                           "next_seq = %s WHERE name = %s", (w.live, w.next_seq, self.name))
                    self._conn.execute("COMMIT")
                    self._count = (time.monotonic(), w.live)
            except BaseException:
                pgc.end(self._conn, "ROLLBACK")
                raise

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Load many rows fast: the HNSW index is dropped now and built again at the end (pgvector builds a graph
        from loaded rows several times faster than it grows one row by row); searches meanwhile are exact."""
        if self.index_kind != "hnsw":
            yield
            return
        with self._mutex, pgc.errors(self.url):
            self._check_open()
            self._connect_again()
            self._conn.execute(pgc.ident_sql("DROP INDEX IF EXISTS {}", q.hnsw_index_name(self.table)))
        try:
            yield
        finally:
            with self._mutex, pgc.errors(self.url):
                self._connect_again()
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
        """VACUUM ANALYZE the table (reclaims dead rows, refreshes the planner's statistics)."""
        with self._mutex:
            self._check_open()
            with pgc.errors(self.url):
                self._conn.execute(pgc.ident_sql("VACUUM (ANALYZE) {}", self.table))

    def storage_info(self) -> dict[str, Any]:
        with self._mutex, pgc.errors(self.url):
            size = self._conn.execute("SELECT pg_total_relation_size(%s::regclass)", (self.table,)).fetchone()[0]
        return {"location": self.location, "table": self.table, "bytes": int(size)}

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
