"""Connections to PostgreSQL for the pgvector backend: connect (with pgvector's types), reconnect after a server
restart, and turn every database error into an embedlab error with what to do."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ... import config
from ...errors import (
    BackendError,
    CollectionNotFoundError,
    DatabaseUnavailableError,
    InputError,
    LockTimeoutError,
    ReadOnlyStorageError,
    StorageFullError,
    require,
)


def _psycopg() -> Any:
    return require("psycopg", "pg", "the PostgreSQL backend")


def safe_url(url: str) -> str:
    """The URL without its password (for messages and ``info``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def cache_dir(url: str, name: str) -> Path:
    """A local folder for caches derived from one collection of one database (e.g. its keyword index)."""
    key = hashlib.sha1(f"{safe_url(url)}\0{name}".encode()).hexdigest()[:16]
    return config.home() / "cache" / "postgresql" / f"{name}-{key}"


def connect(url: str) -> Any:
    """A new autocommit connection (transactions are explicit) with pgvector's types registered.
    DatabaseUnavailableError when the server cannot be reached; BackendError when pgvector is missing."""
    psycopg = _psycopg()
    require("pgvector", "pg", "the PostgreSQL backend")
    from pgvector.psycopg import register_vector

    try:
        conn = psycopg.connect(url, autocommit=True, prepare_threshold=None, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailableError(
            f"cannot connect to PostgreSQL at {safe_url(url)} ({_first_line(exc)}); check the URL and that the "
            "server runs (for a local test server: bash scripts/postgres.sh start)"
        ) from None
    except psycopg.ProgrammingError as exc:
        raise InputError(f"bad PostgreSQL URL {safe_url(url)} ({_first_line(exc)}); use "
                         "postgresql://user@host:port/database") from None
    try:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone() is None:
            ensure_extension(conn, url)
        register_vector(conn)
        try:  # filtered HNSW scans continue until k rows match (pgvector >= 0.8); a session setting
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
        except psycopg.Error:  # an older pgvector: short filtered scans fall back to exact search instead
            pass
    except BaseException:
        conn.close()
        raise
    return conn


def ensure_extension(conn: Any, url: str) -> None:
    """CREATE EXTENSION vector, or BackendError saying how to install it."""
    psycopg = _psycopg()
    available = conn.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'").fetchone()
    if available is None:
        raise BackendError(
            f"the PostgreSQL server at {safe_url(url)} has no pgvector extension installed; install pgvector "
            "(>= 0.8) on the server (on Debian: bash scripts/install-system.sh builds it; see "
            "https://github.com/pgvector/pgvector#installation), then retry"
        )
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as exc:
        raise BackendError(
            f"pgvector {available[0]} is installed on {safe_url(url)} but not enabled in this database, and this "
            f"user may not enable it ({_first_line(exc)}); ask an administrator to run CREATE EXTENSION vector"
        ) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def begin(conn: Any, url: str, statement: str | None) -> Any:
    """Start a transaction on ``conn``; if the server restarted (the connection is gone), reconnect once and
    start it on the new connection, which is returned. ``statement=None`` only makes sure of a usable
    connection (a new one when ``conn`` is closed or broken)."""
    psycopg = _psycopg()
    if statement is None:
        if not (conn.closed or getattr(conn, "broken", False)):
            return conn
    elif not conn.closed:
        try:
            conn.execute(statement)
            return conn
        except (psycopg.OperationalError, psycopg.InterfaceError):
            pass  # a broken connection: reconnect below
    try:
        conn.close()
    except Exception:  # pragma: no cover
        pass
    conn = connect(url)
    if statement is not None:
        with errors(url):
            conn.execute(statement)
    return conn


def end(conn: Any, statement: str = "ROLLBACK") -> None:
    """Finish a transaction, ignoring a broken connection (the next ``begin`` reconnects)."""
    try:
        if not conn.closed:
            conn.execute(statement)
    except Exception:
        pass


@contextmanager
def errors(url: str, lock_name: str | None = None, lock_timeout: float | None = None,
           collection: str | None = None) -> Iterator[None]:
    """Turn psycopg errors inside the block into embedlab errors (``collection``: the one whose table the block
    uses; its table gone is CollectionNotFoundError)."""
    psycopg = _psycopg()
    from psycopg import errors as pe

    try:
        yield
    except pe.UndefinedTable as exc:
        if collection is None:
            raise BackendError(f"PostgreSQL at {safe_url(url)} failed: {_first_line(exc)}") from None
        raise CollectionNotFoundError(f"collection {collection!r} was dropped from the database after this handle "
                                      "opened it; open it again") from None
    except pe.LockNotAvailable:
        raise LockTimeoutError(f"collection {lock_name!r} is being written by another client (its row lock is still "
                               f"held after {lock_timeout:g} s); wait for that writer, or pass a larger "
                               "lock_timeout") from None
    except pe.DiskFull as exc:
        raise StorageFullError(28, f"the PostgreSQL server at {safe_url(url)} has no space left ({_first_line(exc)}); "
                                   "free space on the server: the transaction was rolled back") from None
    except (pe.ReadOnlySqlTransaction, pe.InsufficientPrivilege) as exc:
        raise ReadOnlyStorageError(30, f"the PostgreSQL server at {safe_url(url)} refused a write "
                                       f"({_first_line(exc)}); connect as a user who may write") from None
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        raise DatabaseUnavailableError(f"lost the connection to PostgreSQL at {safe_url(url)} "
                                       f"({_first_line(exc)}); the transaction was rolled back; retry (embedlab "
                                       "reconnects)") from None
    except psycopg.Error as exc:
        raise BackendError(f"PostgreSQL at {safe_url(url)} failed: {_first_line(exc)}") from None


def ident_sql(template: str, *names: str) -> Any:
    """A statement with quoted identifiers: ``ident_sql("SELECT * FROM {}", table)``."""
    from psycopg import sql

    return sql.SQL(template).format(*[sql.Identifier(n) for n in names])
