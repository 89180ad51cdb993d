"""The storage seam: what a Collection needs from where its items live, as a small set of protocols.

A **Store** is a connection to a place that holds named collections (a folder of collections on this machine; a
PostgreSQL database); it creates, opens, lists and drops **Tables**. A Table is one collection's storage: a
consistent read snapshot (``read()`` → ``Reader``), one all-or-nothing write transaction (``write()`` →
``Writer``), compaction, and an integrity check. Everything about encoders, validation and the public API
lives in ``Collection``, which talks to its Table only through these methods; a backend is one module that
implements them (the shape follows LanceDB's connection/table split, each with a local and a remote side).

Filters reach a backend already parsed (``filters.Filter``); vectors already prepared (float32, unit rows for
cosine collections); metadata as canonical JSON text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

from .filters import Filter
from .records import Hit, Rows, Stored


class Reader(Protocol):
    """One committed snapshot of a table: every call sees the same state."""

    @property
    def generation(self) -> int:
        """Bumped by every committed write; equal generations mean equal contents."""

    def count(self) -> int:
        """Live items."""

    def lookup(self, ids: Sequence[str]) -> dict[str, Stored]:
        """id → what is stored for it, for the ids that exist."""

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """(len(ids), dim) float32 stored vectors of existing ids, in the order asked."""

    def contents(self, ids: Sequence[str]) -> dict[str, str | None]:
        """id → stored content for the ids that exist."""

    def ids(self, where: Filter | None = None) -> list[str]:
        """Ids of the items matching ``where`` (all when None), in the order they were last written."""

    def search(self, q: np.ndarray, k: int, where: Filter | None, ef: int | None) -> list[list[Hit]]:
        """The ``k`` best live items per query row of ``q`` ((m, dim) float32), best first."""

    def rows(self, batch: int) -> Iterator[Rows]:
        """Every live item, in write order, ``batch`` rows at a time (for export)."""

    def matrix(self) -> tuple[list[str], np.ndarray]:
        """(ids in write order, (n, dim) float32 vectors); a view, not a copy, where the backend can."""


class Writer(Reader, Protocol):
    """A write transaction: everything it does becomes visible at once when it commits, or not at all."""

    def insert(self, rows: Rows, replace: Sequence[str] = ()) -> None:
        """Store new rows; ids in ``replace`` lose their old row. Any other id that exists: InputError."""

    def update(self, ids: Sequence[str], metadata: Sequence[str], sources: Sequence[str | None]) -> None:
        """Change metadata and source of existing ids (vectors untouched)."""

    def delete(self, ids: Sequence[str]) -> int:
        """Delete existing ids (others ignored); how many were deleted."""


class Table(Protocol):
    """One collection's storage."""

    name: str
    manifest: dict[str, Any]  # format, name, encoder {name, dim, metric, fingerprint}, index {kind, params}
    readonly: bool
    location: str  # where it lives, for messages and ``info`` (a folder, a database table)
    lock_timeout: float  # seconds a write waits for another writer
    cache_dir: Any  # a local folder for caches derived from the table (e.g. the keyword index), or None

    def read(self) -> AbstractContextManager[Reader]: ...

    def write(self) -> AbstractContextManager[Writer]: ...

    def writing(self) -> AbstractContextManager[None]:
        """Keep other writers out across several ``write()`` calls."""

    def search(self, q: np.ndarray, k: int, where: Filter | None, ef: int | None) -> list[list[Hit]]:
        """``Reader.search`` on a fresh snapshot; a backend may run it without a multi-statement transaction."""

    def bulk(self) -> AbstractContextManager[None]:
        """Around a large load: a backend may defer index upkeep until the end (searches stay correct)."""

    def compact(self) -> None: ...

    def storage_info(self) -> dict[str, Any]:
        """Backend facts for ``Collection.info``: location, bytes, segments / deleted rows where they apply."""

    def check(self, deep: bool = True) -> dict[str, Any]:
        """Verify the stored state: ``{"ok": bool, "problems": [...], ...}``."""

    def close(self) -> None: ...


class Store(Protocol):
    """A connection to a place holding named collections."""

    kind: str  # "local", "postgresql"

    def names(self) -> list[str]: ...

    def exists(self, name: str) -> bool: ...

    def create(self, name: str, manifest: dict[str, Any], *, lock_timeout: float = 10.0,
               auto_compact: float = 0.3) -> Table: ...

    def open(self, name: str, readonly: bool = False, *, lock_timeout: float = 10.0,
             auto_compact: float = 0.3) -> Table: ...

    def drop(self, name: str, *, lock_timeout: float = 10.0) -> None: ...


def connect(backend: Any = None, root: Any = None) -> Store:
    """The Store for ``backend``: ``"local"`` → collections in folders under ``root`` (default: the embedlab
    home); ``"postgresql://…"`` → the PostgreSQL + pgvector backend; None → the process default
    (``config.backend()``: the CLI's ``--backend`` or ``$EMBEDLAB_DATABASE_URL``) when no ``root`` was given,
    else local. InputError for anything else."""
    from .. import config
    from ..errors import InputError

    if backend is None:
        backend = (config.backend() or "local") if root is None else "local"
    if backend == "local":
        from .local import LocalStore

        return LocalStore(root)
    if isinstance(backend, str) and backend.startswith(("postgresql://", "postgres://")):
        if root is not None:
            raise InputError("root= is for the local backend; a PostgreSQL backend keeps its collections in the "
                             "database")
        from .pg import PgStore

        return PgStore(backend)
    raise InputError(f"unknown backend {backend!r}: use 'local' or a postgresql://user@host:port/db URL")
