"""The PostgreSQL + pgvector backend: collections as tables in a database, found through a catalogue table.

    >>> Collection.create("docs", backend="postgresql://me@db.example:5432/search")

Choose it when several services read one store, when a collection outgrows one machine's disk, or when the
vectors should live beside the rest of your data; the local backend is faster for one process on one machine.
See ``sql.py`` for the schema. Needs ``pip install 'embedlab[pg]'`` (psycopg 3 + pgvector) and a server with
pgvector ≥ 0.8 (``bash scripts/postgres.sh start`` runs a throw-away one locally).
"""

from __future__ import annotations

from typing import Any

from ...errors import CollectionNotFoundError, InputError, did_you_mean
from ...persist import check_version
from .. import manifest as mf
from . import connection as pgc
from . import sql as q
from .table import PgTable

__all__ = ["PgStore", "PgTable"]


class PgStore:
    """Collections in the PostgreSQL database at ``url``."""

    kind = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url

    def _run(self, fn: Any) -> Any:
        conn = pgc.connect(self.url)
        try:
            with pgc.errors(self.url):
                return fn(conn)
        finally:
            conn.close()

    def names(self) -> list[str]:
        def go(conn: Any) -> list[str]:
            if conn.execute("SELECT to_regclass(%s)", (q.CATALOG,)).fetchone()[0] is None:
                return []
            return [r[0] for r in conn.execute(f"SELECT name FROM {q.CATALOG} ORDER BY name")]

        out: list[str] = self._run(go)
        return out

    def _row(self, conn: Any, name: str) -> tuple[Any, ...] | None:
        if conn.execute("SELECT to_regclass(%s)", (q.CATALOG,)).fetchone()[0] is None:
            return None
        row: tuple[Any, ...] | None = conn.execute(f"SELECT table_name, manifest FROM {q.CATALOG} WHERE name = %s",
                                                   (name,)).fetchone()
        return row

    def exists(self, name: str) -> bool:
        mf.check_name(name)
        return bool(self._run(lambda conn: self._row(conn, name) is not None))

    def _missing(self, name: str) -> CollectionNotFoundError:
        have = self.names()
        guess = did_you_mean(name, have)
        return CollectionNotFoundError(f"no collection named {name!r} in {pgc.safe_url(self.url)} (existing: "
                                       f"{', '.join(have) if have else 'none yet'}); "
                                       + (f"{guess} Or create" if guess else "create") + " it with Collection.create")

    def create(self, name: str, manifest: dict[str, Any], *, lock_timeout: float = 10.0,
               auto_compact: float = 0.3, incomplete: dict[str, Any] | None = None) -> PgTable:
        dim, metric = int(manifest["encoder"]["dim"]), manifest["encoder"]["metric"]
        kind, params = manifest["index"]["kind"], dict(manifest["index"].get("params", {}))
        if kind not in ("exact", "hnsw"):
            what = f"the PostgreSQL backend has exact and hnsw indexes, not {kind!r}; an {kind} index is a " \
                   "local-backend feature (create the collection without "
            raise InputError(what + "backend=)", cli=what + "--backend postgresql://...)")
        compressed = [key for key in ("precision", "rescore") if params.get(key) not in (None, "float32")]
        if compressed:
            raise InputError(f"the PostgreSQL backend keeps float32 vectors (pgvector's vector type; halfvec only for "
                             f"its HNSW index above {q.VECTOR_INDEX_MAX} dimensions) and does not rescore, so "
                             f"{' and '.join(compressed)}={params.get(compressed[0])!r} is a local-backend feature: "
                             "create the collection on the local backend")
        if kind == "hnsw" and dim > q.HALFVEC_INDEX_MAX:
            what = (f"pgvector indexes at most {q.HALFVEC_INDEX_MAX} dimensions (as halfvec), and this encoder makes "
                    f"{dim}: create the collection with ")
            raise InputError(what + "index='exact', or use the local backend",
                             cli=what + "--index exact, or use the local backend (leave out --backend)")
        table = q.table_name(name)

        def go(conn: Any) -> None:
            from psycopg.types.json import Jsonb

            conn.execute("BEGIN")
            try:
                # one creator at a time (held to COMMIT): two processes creating the same name meet here, and the
                # second sees the first's row and says it exists (open_or_create then opens it), instead of both
                # passing the check and one failing on the catalogue's unique key or its CREATE TABLE IF NOT EXISTS
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (q.CREATE_LOCK,))
                conn.execute(q.CATALOG_DDL)
                if incomplete is not None and not conn.execute(q.HAS_PENDING, (q.CATALOG,)).fetchone()[0]:
                    conn.execute(q.PENDING_DDL)  # a catalogue from before the load mark
                if conn.execute(f"SELECT 1 FROM {q.CATALOG} WHERE name = %s", (name,)).fetchone():
                    where = f"collection {name!r} already exists in {pgc.safe_url(self.url)}"
                    raise InputError(f"{where}; open it with Collection.open or drop it",
                                     cli=f"{where}; add to it with: embedlab index {name} PATH..., or drop it with: "
                                         f"embedlab drop {name}")
                conn.execute(f"INSERT INTO {q.CATALOG} (name, table_name, manifest, format_version) VALUES "
                             "(%s, %s, %s, %s)", (name, table, Jsonb(manifest), mf.FORMAT_VERSION))
                if incomplete is not None:  # marked in the creating transaction: never a moment it looks complete
                    conn.execute(f"UPDATE {q.CATALOG} SET pending = %s WHERE name = %s", (Jsonb(incomplete), name))
                conn.execute(pgc.ident_sql(
                    f"CREATE TABLE {{}} (id text PRIMARY KEY, seq bigint NOT NULL, embedding vector({dim}) NOT NULL, "
                    "metadata jsonb NOT NULL DEFAULT '{{}}', content text, source text, hash text)", table))
                conn.execute(pgc.ident_sql("CREATE INDEX {} ON {} (seq)", table + "_seq", table))
                conn.execute(pgc.ident_sql("CREATE INDEX {} ON {} USING gin (metadata jsonb_path_ops)",
                                           table + "_meta", table))
                if kind == "hnsw" and incomplete is None:  # a load builds it when it completes
                    conn.execute(q.hnsw_index_sql(table, dim, metric, params))
                conn.execute("COMMIT")
            except BaseException:
                pgc.end(conn, "ROLLBACK")  # DDL is transactional: nothing half-created stays behind
                raise

        self._run(go)
        return PgTable(self.url, name, table, manifest, False, lock_timeout)

    def open(self, name: str, readonly: bool = False, *, lock_timeout: float = 10.0,
             auto_compact: float = 0.3) -> PgTable:
        mf.check_name(name)
        row = self._run(lambda conn: self._row(conn, name))
        if row is None:
            raise self._missing(name)
        table, manifest = row
        manifest = mf.check(manifest, f"the catalogue row of {name!r}", "drop the collection and build it again")

        check_version(f"the catalogue row of {name!r}", manifest.get("format_version"), mf.FORMAT_VERSION,
                      "collection", "upgrade embedlab")
        return PgTable(self.url, name, table, manifest, readonly, lock_timeout)

    def drop(self, name: str, *, lock_timeout: float = 10.0) -> None:
        mf.check_name(name)

        def go(conn: Any) -> bool:
            conn.execute("BEGIN")
            try:
                conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout * 1000)}ms'")
                row = self._row(conn, name)
                if row is None:
                    pgc.end(conn, "ROLLBACK")
                    return False
                conn.execute(f"SELECT 1 FROM {q.CATALOG} WHERE name = %s FOR UPDATE", (name,))
                conn.execute(pgc.ident_sql("DROP TABLE IF EXISTS {}", row[0]))
                conn.execute(f"DELETE FROM {q.CATALOG} WHERE name = %s", (name,))
                conn.execute("COMMIT")
                return True
            except BaseException:
                pgc.end(conn, "ROLLBACK")
                raise

        if not self._run(go):
            raise self._missing(name)
