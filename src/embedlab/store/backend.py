"""The storage seam: what a Collection needs from where its items live, as a small set of protocols.

A **Store** is a connection to a place that holds named collections (a folder of collections on this machine; a
PostgreSQL database); it creates, opens, lists and drops **Tables**. A Table is one collection's storage: a
consistent read snapshot (``read()`` → ``Reader``), one all-or-nothing write transaction (``write()`` →
``Writer``), compaction, an index rebuild, and an integrity check; what it is and what it can do is declared in
its ``capabilities`` (a ``Capabilities`` value), never probed. Everything about encoders, validation and the
public API lives in ``Collection``, which talks to its Table only through these methods; a backend is one module
that implements them (the shape follows LanceDB's connection/table split, each with a local and a remote side).

Filters reach a backend already parsed (``filters.Filter``); vectors already prepared (float32, unit rows for
cosine collections); metadata as canonical JSON text; per-call search settings as one ``SearchParams`` value
(the Index layer's own, so one value travels from ``Collection.search`` to the index).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .. import config
from ..errors import InputError
from ..index.base import SearchParams
from .capabilities import Capabilities
from .filters import Filter
from .records import Hit, Rows, Stored

__all__ = ["Capabilities", "Reader", "SearchParams", "Store", "Table", "Writer", "connect"]


class Reader(Protocol):
    """One committed snapshot of a table: every call sees the same state."""

    @property
    def generation(self) -> int:
        """The committed generation of this snapshot.

        Returns
        -------
        int
            Bumped by every committed write; equal generations of one table mean equal contents.
        """

    def count(self) -> int:
        """Live items.

        Returns
        -------
        int
            How many items the snapshot holds.
        """

    def lookup(self, ids: Sequence[str]) -> dict[str, Stored]:
        """What is stored for some ids, without reading their vectors.

        Parameters
        ----------
        ids : sequence of str
            Ids to look up; unknown ones are left out of the result.

        Returns
        -------
        dict of str to Stored
            id → metadata (canonical JSON text), source and content hash, for the ids that exist.
        """

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """Stored vectors of existing ids.

        Parameters
        ----------
        ids : sequence of str
            Ids that exist, in the order wanted.

        Returns
        -------
        numpy.ndarray
            ``(len(ids), dim)`` float32, row ``i`` for ``ids[i]`` (unit rows in a cosine collection).

        Raises
        ------
        InputError
            When an id is not stored (the message names up to five).
        """

    def contents(self, ids: Sequence[str]) -> dict[str, str | None]:
        """Stored contents (the text each item was encoded from).

        Parameters
        ----------
        ids : sequence of str
            Ids to read; unknown ones are left out.

        Returns
        -------
        dict of str to (str or None)
            id → content, None where the item has none.
        """

    def ids(self, where: Filter | None = None) -> list[str]:
        """Ids of the items matching a filter.

        Parameters
        ----------
        where : Filter or None
            A parsed metadata filter; None for every item.

        Returns
        -------
        list of str
            The matching ids, in the order they were last written.
        """

    def search(self, q: np.ndarray, k: int, where: Filter | None, params: SearchParams) -> list[list[Hit]]:
        """The best live items for each query row.

        Parameters
        ----------
        q : numpy.ndarray
            ``(m, dim)`` float32 query rows, prepared as the stored vectors are (unit rows for cosine).
        k : int
            Hits wanted per query (>= 1); fewer come back when fewer items match.
        where : Filter or None
            Only items whose metadata matches; None for all.
        params : SearchParams
            Per-call search settings; None fields use the index's saved ones.

        Returns
        -------
        list of list of Hit
            ``m`` lists, each best first (scores higher-is-better).

        Raises
        ------
        InputError
            When ``params`` sets something this backend (``Capabilities.check_search``) or its index kind does not
            take, naming it.
        """

    def key_types(self, keys: Sequence[str], sample: int = 1000) -> dict[str, set[str]]:
        """Which JSON types the items' metadata holds under some keys: what explains a filter that matched nothing.

        Parameters
        ----------
        keys : sequence of str
            Top-level metadata keys (a filter's); each is looked up among all live items.
        sample : int
            The other keys are reported from the first ``sample`` items only (a bounded query), for hints.

        Returns
        -------
        dict of str to set of str
            key → the types found (``filters.kind`` names: ``"null"``, ``"bool"``, ``"number"``, ``"string"``,
            ``"array"``, ``"object"``); a key of ``keys`` that no item has is left out.
        """

    def rows(self, batch: int) -> Iterator[Rows]:
        """Every live item, for export.

        Parameters
        ----------
        batch : int
            Rows per yielded batch (>= 1).

        Yields
        ------
        Rows
            Batches in write order; vectors ``(n, dim)`` float32 as stored.
        """

    def matrix(self) -> tuple[list[str], np.ndarray]:
        """All live vectors at once.

        Returns
        -------
        tuple of (list of str, numpy.ndarray)
            Ids in write order and their ``(n, dim)`` float32 vectors: a view, not a copy, where the backend can
            (local: a memory map when nothing was deleted).
        """


class Writer(Reader, Protocol):
    """A write transaction: everything it does becomes visible at once when it commits, or not at all."""

    def insert(self, rows: Rows, replace: Sequence[str] = ()) -> None:
        """Store new rows.

        Parameters
        ----------
        rows : Rows
            ``n`` rows: ids, ``(n, dim)`` float32 prepared vectors, metadata JSON texts, sources, hashes, contents.
        replace : sequence of str
            Ids that lose their old row (an upsert's changed items).

        Raises
        ------
        InputError
            When an id of ``rows`` exists and is not in ``replace`` (the transaction is then rolled back).
        """

    def update(self, ids: Sequence[str], metadata: Sequence[str], sources: Sequence[str | None]) -> None:
        """Change the metadata and source of existing ids; their vectors stay.

        Parameters
        ----------
        ids : sequence of str
            Existing ids.
        metadata : sequence of str
            New metadata, canonical JSON text, one per id.
        sources : sequence of (str or None)
            New sources, one per id.
        """

    def delete(self, ids: Sequence[str]) -> int:
        """Delete existing ids (others are ignored).

        Parameters
        ----------
        ids : sequence of str
            Ids to delete.

        Returns
        -------
        int
            How many were deleted.
        """


class Table(Protocol):
    """One collection's storage."""

    name: str
    manifest: dict[str, Any]  # format, name, encoder {name, dim, metric, fingerprint}, index {kind, params}
    readonly: bool
    location: str  # where it lives, for messages and ``info`` (a folder, a database table)
    lock_timeout: float  # seconds a write waits for another writer
    cache_dir: Path  # a local folder for caches derived from the table (e.g. the keyword index)

    @property
    def capabilities(self) -> Capabilities:
        """What this table is (kind, local path) and can do (search settings it passes on, index rebuilds)."""

    def read(self) -> AbstractContextManager[Reader]:
        """A consistent read snapshot.

        Returns
        -------
        context manager of Reader
            Every call on the reader inside the ``with`` block sees the same committed state.

        Raises
        ------
        InputError
            When the table was closed.
        """

    def write(self) -> AbstractContextManager[Writer]:
        """One all-or-nothing write transaction.

        Returns
        -------
        context manager of Writer
            Commits when the ``with`` block ends normally; rolls everything back when it raises.

        Raises
        ------
        LockTimeoutError
            When another writer holds the table longer than ``lock_timeout`` seconds.
        InputError, ReadOnlyStorageError, StorageFullError
            When the table was opened read-only, is on read-only media, or its disk is full.
        """

    def writing(self) -> AbstractContextManager[None]:
        """Keep other writers out across several ``write()`` calls (readers carry on).

        Returns
        -------
        context manager
            Holds the write lock for the ``with`` block.
        """

    def search(self, q: np.ndarray, k: int, where: Filter | None, params: SearchParams) -> list[list[Hit]]:
        """``Reader.search`` on a fresh snapshot.

        A backend may run it without a multi-statement transaction (PostgreSQL: each query is one statement).

        Parameters
        ----------
        q : numpy.ndarray
            ``(m, dim)`` float32 query rows, prepared as the stored vectors are (unit rows for cosine).
        k : int
            Hits wanted per query (>= 1); fewer come back when fewer items match.
        where : Filter or None
            Only items whose metadata matches; None for all.
        params : SearchParams
            Per-call search settings; None fields use the index's saved ones.

        Returns
        -------
        list of list of Hit
            ``m`` lists, each best first (scores higher-is-better).

        Raises
        ------
        InputError
            When ``params`` sets something this backend or its index kind does not take (named), or the table
            was closed.
        """

    def set_index(self, kind: str, params: dict[str, Any]) -> None:
        """Rebuild the collection's index with other settings; the vectors stay.

        Parameters
        ----------
        kind : str
            ``"exact"``, ``"hnsw"`` or ``"ivf"`` (already validated by the caller with ``index.make_index``).
        params : dict
            The kind's settings as they are stored in the manifest (``precision``, ``rescore``, ``M``, ...).

        Raises
        ------
        InputError
            When the backend cannot rebuild its index (``capabilities.set_index`` is False), or the table is
            read-only.
        LockTimeoutError
            When another writer holds the table longer than ``lock_timeout`` seconds.
        """

    def incomplete(self) -> dict[str, Any] | None:
        """The committed mark of a load that has not completed (an interrupted import or bulk load).

        Returns
        -------
        dict or None
            The mark as ``mark_incomplete`` (or ``Store.create``) recorded it, plus ``"running"``: whether its
            loader still holds the load lock (``lock_load``; True when this table holds it); None when complete.
        """

    def lock_load(self) -> bool:
        """Take the load lock without waiting.

        The lock tells others that a load is running; it dies with the process, or with the database session.

        Returns
        -------
        bool
            True when taken; False when another loader (another process, or an enclosing load on this table)
            holds it.

        Raises
        ------
        InputError, ReadOnlyStorageError
            When the table is read-only.
        """

    def unlock_load(self) -> None:
        """Release the load lock taken by ``lock_load`` (nothing when not held)."""

    def mark_incomplete(self, mark: dict[str, Any]) -> None:
        """Record ``mark`` as the table's incomplete load, in one transaction (replacing an older mark).

        A backend may defer index upkeep until ``complete``: PostgreSQL drops its HNSW index in the same
        transaction (pgvector builds a graph from loaded rows several times faster than it grows one), so a
        missing index is always a marked load; searches stay correct (exact).

        Parameters
        ----------
        mark : dict
            JSON-ready: how to resume the load (``"resume"``), when it began (``"since"``), what it loads.

        Raises
        ------
        InputError, ReadOnlyStorageError
            When the table is read-only.
        LockTimeoutError
            When another writer holds the table longer than ``lock_timeout`` seconds.
        """

    def complete(self) -> None:
        """Finish a load, in one transaction.

        It builds the index the manifest promises where it is missing (PostgreSQL's HNSW index) and clears the
        incomplete mark.

        Raises
        ------
        InputError, ReadOnlyStorageError
            When the table is read-only.
        LockTimeoutError
            When another writer holds the table longer than ``lock_timeout`` seconds.
        """

    def compact(self) -> None:
        """Reclaim the space of deleted and replaced rows.

        Local: rewrite the segments into one and rebuild the index; PostgreSQL: ``VACUUM ANALYZE``.

        Raises
        ------
        InputError
            When the table was opened read-only or closed.
        LockTimeoutError
            When another writer holds the table longer than ``lock_timeout`` seconds.
        ReadOnlyStorageError
            When the table is on read-only media or not writable.
        StorageFullError
            When the disk fills up (the last committed state is kept).
        """

    def storage_info(self) -> dict[str, Any]:
        """Backend facts for ``Collection.info``.

        Returns
        -------
        dict
            JSON-ready: location, ``bytes`` stored, and segments / deleted rows where they apply.
        """

    def check(self, deep: bool = True) -> dict[str, Any]:
        """Verify the stored state.

        Parameters
        ----------
        deep : bool
            Also read every stored vector (local: the full CRC32 of each segment).

        Returns
        -------
        dict
            ``{"ok": bool, "problems": [str, ...], "segments": int, "items": int, "deep": bool}``.
        """

    def close(self) -> None:
        """Release files, memory maps and connections (local: save the ANN cache first if it changed)."""


class Store(Protocol):
    """A connection to a place holding named collections."""

    kind: str  # "local", "postgresql"

    def names(self) -> list[str]:
        """Names of the collections here, sorted.

        Returns
        -------
        list of str
        """

    def exists(self, name: str) -> bool:
        """Whether a collection ``name`` exists here.

        Parameters
        ----------
        name : str
            A collection name (checked: letters, digits, ``._-``).

        Returns
        -------
        bool

        Raises
        ------
        InputError
            For a name that is not a valid collection name.
        """

    def create(self, name: str, manifest: dict[str, Any], *, lock_timeout: float = 10.0,
               auto_compact: float = 0.3, incomplete: dict[str, Any] | None = None) -> Table:
        """Create an empty collection.

        Parameters
        ----------
        name : str
            The new collection's name.
        manifest : dict
            Its manifest (``store.manifest.new_manifest``): encoder description and index settings.
        lock_timeout : float
            Seconds a write waits for another writer.
        auto_compact : float
            Fraction of dead rows past which a local table compacts itself after a write.
        incomplete : dict or None
            A load mark (see ``Table.mark_incomplete``) recorded in the transaction that creates the collection, so
            no moment exists at which a half-loaded collection looks complete; the load's ``Table.complete`` clears
            it (PostgreSQL then builds the HNSW index it skipped at creation).

        Returns
        -------
        Table
            The new collection's table, open for writing.

        Raises
        ------
        InputError
            When the name is taken, or the backend cannot hold the manifest's index settings.
        """

    def open(self, name: str, readonly: bool = False, *, lock_timeout: float = 10.0,
             auto_compact: float = 0.3) -> Table:
        """Open an existing collection.

        Parameters
        ----------
        name : str
            The collection's name.
        readonly : bool
            Refuse writes through this table.
        lock_timeout, auto_compact : float
            As for ``create``.

        Returns
        -------
        Table

        Raises
        ------
        CollectionNotFoundError
            When there is no collection ``name`` (the message lists the existing ones).
        CorruptFileError, FormatVersionError
            When its stored state is damaged or written by a newer embedlab.
        """

    def drop(self, name: str, *, lock_timeout: float = 10.0) -> None:
        """Delete a collection and everything stored for it, after a running writer finishes.

        Parameters
        ----------
        name : str
            The collection's name.
        lock_timeout : float
            Seconds to wait for a running writer.

        Raises
        ------
        CollectionNotFoundError
            When there is no collection ``name``.
        LockTimeoutError
            When a writer holds it longer than ``lock_timeout``.
        """


def connect(backend: str | None = None, root: str | Path | None = None) -> Store:
    """The Store for a backend.

    Parameters
    ----------
    backend : str or None
        ``"local"``: collections in folders under ``root``; a ``"postgresql://…"`` URL: the PostgreSQL + pgvector
        backend; None: the process default (``config.backend()``: the CLI's ``--backend`` or
        ``$EMBEDLAB_DATABASE_URL``) when no ``root`` was given, else local.
    root : str, path or None
        The local backend's folder of collections (default: the embedlab home's ``collections/``).

    Returns
    -------
    Store

    Raises
    ------
    InputError
        For an unknown backend, or ``root`` given with a PostgreSQL URL.
    """
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
