"""Collection: a persistent, named set of items (id, vector, metadata, content, source) bound to one encoder.

    >>> c = Collection.create("docs")                      # default multilingual encoder, exact index
    >>> c.add(["a", "b"], ["a cat sits", "stock prices fell"], metadata=[{"lang": "en"}, {"lang": "en"}])
    >>> c.search("kitten", k=1, where={"lang": "en"})[0].id
    'a'

``Collection`` is the thin front: it binds the encoder, validates every input before anything is written,
encodes, decides what an upsert changes, and offers the public API. This module holds its life cycle (create,
open, drop), its reads (search, get, vectors, export) and its upkeep (compact, reindex, check); the write path
(the encoder binding, add, upsert, changed, delete) is ``store/writes.py``, which ``Collection`` inherits. Where
the items live is its backend's business (``store/backend.py``): the local backend (a folder: SQLite catalogue +
memory-mapped segments, ``store/local/``) by default, or PostgreSQL + pgvector with
``backend="postgresql://…"``.
"""

from __future__ import annotations

import datetime as _dt
import json
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..encoders import Encoder
from ..errors import (
    CollectionNotFoundError,
    CorruptFileError,
    EmbedlabError,
    IncompleteCollectionWarning,
    InputError,
    UnknownKeyError,
    caller_level,
)
from ..index import make_index
from ..index.base import SearchParams
from ..metrics import as_matrix, check_metric
from ..vectors import Vectors
from . import _inputs, filters, loads
from .backend import Reader, Store, Table, connect
from .binding import check_encoder, described_encoder, encoder_doc, matryoshka_dim, resolve_encoder
from .chroma import INCLUDE_GET, ChromaMethods, GetResult, check_include, select_ids
from .manifest import check_name, index_settings, new_manifest
from .records import Hit, Item, Rows, Stored
from .writes import CollectionWrites

if TYPE_CHECKING:  # optional heavy dependencies, imported where used (store/frames.py)
    import pandas as pd
    import pyarrow as pa

__all__ = ["Collection", "Item", "Hit"]


def _meta(text: str) -> dict[str, Any]:
    return {} if text == "{}" else json.loads(text)


class Collection(CollectionWrites, ChromaMethods):
    """A named, persistent set of items; create with ``Collection.create`` and reopen with ``Collection.open``.

    Every item is an id, a vector (``(dim,)`` float32; unit length in a cosine collection), JSON metadata, a
    source and a content. ``backend`` (of ``create``, ``open``, ``list``, ``drop``): None (the local backend under
    ``root`` or the embedlab home; ``$EMBEDLAB_DATABASE_URL`` when set and no ``root`` is given), ``"local"``, or a
    ``postgresql://`` URL. ``add``, ``upsert``, ``changed``, ``delete`` and ``encoder`` are inherited from
    ``CollectionWrites`` (``store/writes.py``); Chroma's ``query``, ``peek`` and ``get_or_create`` from
    ``ChromaMethods`` (``store/chroma.py``), which also gives ``get``, ``add`` and ``upsert`` Chroma's keywords.

    Any method of a closed collection raises ``InputError``; on the PostgreSQL backend any call may also raise
    ``DatabaseUnavailableError`` (the server went away) or ``BackendError`` (it refused an operation).

    Parameters
    ----------
    table : Table
        The collection's storage, as a backend's ``Store.create`` / ``Store.open`` returns it (use
        ``Collection.create`` / ``Collection.open`` rather than this constructor).
    encoder : Encoder or None
        The encoder, already checked against the manifest; None: built by name from the manifest on first use.

    Attributes
    ----------
    name : str
        The collection's name.
    dim : int
        Width of the stored vectors.
    metric : str
        ``"cosine"``, ``"dot"`` or ``"l2"``; scores are higher-is-better (l2: the negated distance).
    source_dim : int
        The encoder's own width when the collection keeps a Matryoshka prefix of it, else ``dim``.
    index_kind : str
        ``"exact"``, ``"hnsw"`` or ``"ivf"``.
    index_params : dict
        The index kind's saved settings (``precision``, ``rescore``, ``M``, ``ef_search``, ``nlist`` ...).
    """

    def __init__(self, table: Table, encoder: Encoder | None) -> None:
        self._table = table
        manifest = table.manifest
        self.name = table.name
        enc = manifest["encoder"]
        self.dim, self.metric = int(enc["dim"]), check_metric(enc["metric"])
        #: the encoder's own width when the collection keeps a Matryoshka prefix of it (else ``dim``)
        self.source_dim = int(enc.get("source_dim") or enc["dim"])
        self.index_kind = manifest["index"]["kind"]
        self.index_params = dict(manifest["index"].get("params", {}))
        self._encoder = encoder
        self._loading = False  # True inside this handle's own bulk()
        self._held_load = False  # True while this handle holds the load lock of the load it was created for
        self._store: Store | None = None  # the Store create/open used: export_rows opens a handle of its own there

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, name: str, encoder: str | Encoder | dict[str, Any] | None = None, *, dim: int | None = None,
               metric: str | None = None, index: str = "exact", index_params: dict[str, Any] | None = None,
               precision: str | None = None, rescore: int | None = None, force: bool = False,
               root: str | Path | None = None, backend: str | None = None, lock_timeout: float = 10.0,
               auto_compact: float = 0.3, loading: dict[str, Any] | None = None) -> Collection:
        """Create an empty collection.

        Parameters
        ----------
        name : str
            1-128 letters, digits, ``.``, ``_`` or ``-``, starting with a letter or digit.
        encoder : str, Encoder, dict or None
            A registered encoder name or model folder, an Encoder, or an encoder description as in
            ``info()["encoder"]`` (``{"name", "dim", "metric", "fingerprint"}``: bound without loading it, as
            imports do). None with ``dim``: a vectors-only collection (writes pass ``vectors=``); None without
            ``dim``: the default encoder.
        dim : int or None
            Vector width, >= 1: a vectors-only collection's; below an encoder's width, a Matryoshka prefix
            (vectors cut to ``dim`` and re-normalised; refused for encoders not trained for it unless ``force``).
        metric : str or None
            ``"cosine"``, ``"dot"`` or ``"l2"``; default the encoder's (cosine for vectors-only).
        index : str
            ``"exact"``, ``"hnsw"`` or ``"ivf"`` (ivf: local backend only).
        index_params : dict or None
            The kind's settings (``M``, ``ef_search``, ``nlist``, ``nprobe``, ``m`` ...).
        precision : str or None
            The codes the index keeps: ``"float32"`` (default), ``"float16"``, ``"int8"``, ``"binary"``.
        rescore : int or None
            Candidates a compressed index re-ranks with the float32 vectors, as a multiple of ``k`` (>= 1).
        force : bool
            Accept a Matryoshka ``dim`` the encoder was not trained for.
        root : str, path or None
            The local backend's folder of collections (default: the embedlab home's).
        backend : str or None
            None (``$EMBEDLAB_DATABASE_URL`` when set and no ``root``, else local), ``"local"``, or a
            ``postgresql://`` URL.
        lock_timeout : float
            Seconds (>= 0) a write waits for another writer before ``LockTimeoutError``.
        auto_compact : float
            Fraction of dead rows, in [0, 1], past which the local backend compacts after a write.
        loading : dict or None
            Create it marked incomplete, in the transaction that creates it, for a load that follows: ``{"resume":
            command, "what": description, ...}`` (JSON-ready). It stays ``incomplete`` (listed so, failed by
            ``check``, warned on open) until ``bulk(resume=command)`` ends normally or ``complete()`` is called;
            PostgreSQL builds its HNSW index then.

        Returns
        -------
        Collection
            The new, empty collection, open for writing.

        Raises
        ------
        InputError
            For a taken or bad name, an unknown encoder, metric, index kind or setting, a bad ``dim``, a Matryoshka
            ``dim`` the encoder was not trained for (without ``force``), or settings the backend cannot hold
            (PostgreSQL: no ivf, no compressed precisions).
        DimensionError
            For a ``dim`` wider than the encoder's vectors, or unlike the one an encoder description gives.
        ModelNotFoundError
            When the encoder's model files are not installed.
        MissingDependencyError
            When the encoder, the index or the backend needs a package that is not installed (the message names
            the extra).
        DatabaseUnavailableError
            When the PostgreSQL server cannot be reached.
        ReadOnlyStorageError
            When the storage cannot be written (read-only media or no permission).
        StorageFullError
            When the disk fills up while the collection is being created.
        """
        check_name(name)
        enc = None
        if isinstance(encoder, dict):  # a description, e.g. from an export: bound by name, built on first use
            enc_doc = described_encoder(encoder, dim, metric)
        elif encoder is None and dim is not None:
            if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or int(dim) <= 0:
                raise InputError(f"dim must be a positive integer, got {dim!r}")
            enc_doc = {"name": None, "dim": int(dim), "metric": check_metric(metric or "cosine"), "fingerprint": None}
        else:
            enc = resolve_encoder(encoder)
            enc_doc = encoder_doc(enc)
            enc_doc["metric"] = check_metric(metric or enc.metric)
            if dim is not None and int(dim) != enc.dim:
                enc_doc.update(dim=matryoshka_dim(enc, dim, force), source_dim=int(enc.dim))
        params = index_settings(index_params, precision, rescore)
        make_index(index, enc_doc["dim"], enc_doc["metric"], **params)  # validates kind and parameters
        created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        store = connect(backend, root)
        mark = None if loading is None else {"since": created, **loading}
        table = store.create(name, new_manifest(name, enc_doc, index, params, created), lock_timeout=lock_timeout,
                             auto_compact=auto_compact, incomplete=mark)
        col = cls(table, enc)
        col._store = store
        if mark is not None:  # the load runs from now on (others see "loading"); this handle's bulk() takes it over
            col._held_load = table.lock_load()
        return col

    @classmethod
    def open(cls, name: str, encoder: str | Encoder | None = None, *, root: str | Path | None = None,
             backend: str | None = None, readonly: bool = False, lock_timeout: float = 10.0,
             auto_compact: float = 0.3) -> Collection:
        """Open an existing collection.

        Parameters
        ----------
        name : str
            The collection's name.
        encoder : str, Encoder or None
            The encoder it was built with (checked); None: rebuilt by name from the manifest on first use.
        root : str, path or None
            As for ``create``.
        backend : str or None
            As for ``create``.
        readonly : bool
            Refuse writes through this handle. A collection on read-only media opens read-only by itself
            (its writes raise ``ReadOnlyStorageError``).
        lock_timeout : float
            Seconds (>= 0) a write waits for another writer, as for ``create``.
        auto_compact : float
            Fraction of dead rows, in [0, 1], as for ``create``.

        Returns
        -------
        Collection
            The open collection. One whose load (an import, a bulk load) was interrupted opens with an
            ``IncompleteCollectionWarning`` saying how to resume or remove it (see ``incomplete``).

        Raises
        ------
        InputError
            For a bad name or backend, or an ``encoder`` that is neither a name nor an Encoder.
        CollectionNotFoundError
            When there is no such collection (the message lists the existing ones).
        EncoderMismatchError
            When ``encoder`` is not the one the collection was built with.
        CorruptFileError
            When its stored state is damaged.
        FormatVersionError
            When it was written by a newer embedlab.
        DatabaseUnavailableError
            When the PostgreSQL server cannot be reached.
        MissingDependencyError
            When the PostgreSQL backend's packages, or ``encoder``'s, are not installed.

        Warns
        -----
        IncompleteCollectionWarning
            When a load of the collection stopped before it completed, or is still running.
        """
        check_name(name)
        store = connect(backend, root)
        table = store.open(name, readonly, lock_timeout=lock_timeout, auto_compact=auto_compact)
        try:
            enc = None
            if encoder is not None:
                enc = resolve_encoder(encoder)
                check_encoder(table.manifest, enc)
            col = cls(table, enc)
            col._store = store
            mark = col.incomplete
            if mark is not None:
                warnings.warn(IncompleteCollectionWarning(loads.describe(name, mark, col.count())),
                              stacklevel=caller_level())
        except BaseException:
            table.close()
            raise
        return col

    @classmethod
    def open_or_create(cls, name: str, encoder: str | Encoder | None = None, **kw: Any) -> Collection:
        """Open a collection if it exists, else create it.

        Parameters
        ----------
        name : str
            The collection's name.
        encoder : str, Encoder or None
            As for ``open`` / ``create``.
        **kw : Any
            ``create``'s keywords; ``root``, ``backend``, ``readonly``, ``lock_timeout`` and ``auto_compact`` are
            also used to open it. The settings of an existing collection are not compared with them.

        Returns
        -------
        Collection
            The existing collection, or the new, empty one.

        Raises
        ------
        InputError
            As ``create`` raises it (a collection created meanwhile by another process is opened instead).
        EncoderMismatchError
            When the existing collection was built with another encoder.
        DimensionError
            As ``create`` raises it.
        CorruptFileError
            When the existing collection's stored state is damaged.
        FormatVersionError
            When the existing collection was written by a newer embedlab.
        ModelNotFoundError
            When the encoder's model files are not installed.
        MissingDependencyError
            When the encoder, the index or the backend needs a package that is not installed.
        DatabaseUnavailableError
            When the PostgreSQL server cannot be reached.
        ReadOnlyStorageError
            When a new collection cannot be written (read-only media or no permission).
        StorageFullError
            When the disk fills up while a new collection is being created.
        """
        open_kw = {k: kw[k] for k in ("root", "backend", "readonly", "lock_timeout", "auto_compact") if k in kw}
        store = connect(kw.get("backend"), kw.get("root"))
        if store.exists(check_name(name)):
            return cls.open(name, encoder, **open_kw)
        try:
            return cls.create(name, encoder, **kw)
        except InputError:
            if store.exists(name):
                return cls.open(name, encoder, **open_kw)
            raise

    @staticmethod
    def names(root: str | Path | None = None, backend: str | None = None) -> list[str]:
        """Names of the collections in a backend.

        Parameters
        ----------
        root : str, path or None
            The local backend's folder of collections (default: the embedlab home's).
        backend : str or None
            As for ``create``.

        Returns
        -------
        list of str
            Sorted names.

        Raises
        ------
        InputError
            For an unknown backend, or ``root`` given with a PostgreSQL URL.
        DatabaseUnavailableError
            When the PostgreSQL server cannot be reached.
        MissingDependencyError
            When the PostgreSQL backend's packages are not installed.
        """
        return connect(backend, root).names()

    @staticmethod
    def statuses(root: str | Path | None = None, backend: str | None = None) -> list[dict[str, Any]]:
        """One row per collection of a backend, each opened read-only: what ``embedlab list`` shows.

        Parameters
        ----------
        root : str, path or None
            The local backend's folder of collections (default: the embedlab home's).
        backend : str or None
            As for ``create``.

        Returns
        -------
        list of dict
            Rows ``{"name", "status", "count", "encoder", "index", "dim"}`` by name, where ``status`` is ``"ok"``,
            ``"incomplete"`` (a load stopped before it completed: the row adds ``what``, ``since``, ``resume`` and
            ``remove``, the commands that resume the load or remove the collection), ``"loading"`` (a load is
            running), ``"damaged"`` (a corrupt file) or ``"unavailable"`` (e.g. written by a newer embedlab; these
            two add ``error``): one bad collection never hides the others.

        Raises
        ------
        InputError
            For an unknown backend, or ``root`` given with a PostgreSQL URL.
        DatabaseUnavailableError
            When the PostgreSQL server cannot be reached.
        MissingDependencyError
            When the PostgreSQL backend's packages are not installed.
        """
        store = connect(backend, root)
        rows: list[dict[str, Any]] = []
        for name in store.names():
            try:
                with Collection(store.open(name, readonly=True), None) as col:
                    info = col.info()
            except CollectionNotFoundError:  # dropped meanwhile
                continue
            except EmbedlabError as exc:
                rows.append({"name": name, "status": "damaged" if isinstance(exc, CorruptFileError) else "unavailable",
                             "error": f"{type(exc).__name__}: {exc}", "count": None, "encoder": None, "index": "",
                             "dim": None})
                continue
            mark = info.get("incomplete")
            row = {"name": name, "status": loads.status_of(mark), "count": info["count"],
                   "encoder": info["encoder"].get("name"), "index": info["index"]["kind"], "dim": info["dim"]}
            if mark is not None:
                row.update({k: mark.get(k) for k in ("what", "since", "resume", "remove")})
            rows.append(row)
        return rows

    @classmethod
    def drop(cls, name: str, root: str | Path | None = None, lock_timeout: float = 10.0,
             backend: str | None = None) -> None:
        """Delete a collection and everything stored for it, after a running writer finishes.

        Parameters
        ----------
        name : str
            The collection's name.
        root : str, path or None
            As for ``create``.
        lock_timeout : float
            Seconds (>= 0) to wait for a running writer.
        backend : str or None
            As for ``create``.

        Raises
        ------
        InputError
            For a bad name or backend, or a local folder without embedlab's marks (never deleted).
        CollectionNotFoundError
            When there is no such collection.
        LockTimeoutError
            When a writer holds it longer than ``lock_timeout``.
        ReadOnlyStorageError
            When the storage cannot be written (read-only media or no permission).
        DatabaseUnavailableError
            When the PostgreSQL server cannot be reached.
        """
        check_name(name)
        connect(backend, root).drop(name, lock_timeout=lock_timeout)

    def close(self) -> None:
        """Release the storage (files, memory maps, connections); the object cannot be used afterwards.

        The local backend saves its ANN cache first when this process changed it.
        """
        self._table.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Collection({self.name!r}, dim={self.dim}, metric={self.metric!r}, index={self.index_kind!r})"

    # ------------------------------------------------------------------ properties
    @property
    def readonly(self) -> bool:
        """Whether this handle refuses writes.

        Returns
        -------
        bool
            True when it was opened read-only, or is on read-only media / a full disk.
        """
        return self._table.readonly

    @property
    def lock_timeout(self) -> float:
        """How long a write waits for another writer before ``LockTimeoutError`` (settable).

        Returns
        -------
        float
            Seconds (>= 0).
        """
        return float(self._table.lock_timeout)

    @lock_timeout.setter
    def lock_timeout(self, seconds: float) -> None:
        """Set how long a write waits for another writer.

        Parameters
        ----------
        seconds : float
            Seconds (>= 0).
        """
        self._table.lock_timeout = float(seconds)

    @property
    def path(self) -> Path | None:
        """The collection's folder.

        Returns
        -------
        pathlib.Path or None
            The folder for the local backend; None for a database backend.
        """
        return self._table.capabilities.path

    @property
    def location(self) -> str:
        """Where the collection lives, for messages.

        Returns
        -------
        str
            A folder, or ``postgresql://…#table`` (without the password).
        """
        return self._table.location

    @property
    def cache_dir(self) -> Path:
        """A local folder for caches derived from the collection.

        Returns
        -------
        pathlib.Path
            Where caches such as the collection's keyword index are kept (on this machine for every backend).
        """
        return Path(self._table.cache_dir)

    @property
    def backend(self) -> str:
        """The backend kind.

        Returns
        -------
        str
            ``"local"`` or ``"postgresql"``.
        """
        return self._table.capabilities.kind

    @property
    def generation(self) -> int:
        """The committed generation, which caches key on.

        Returns
        -------
        int
            Bumped by every write (add, upsert, delete, compact); equal generations of one collection mean equal
            contents.
        """
        with self._table.read() as r:
            return int(r.generation)

    def compact(self) -> None:
        """Reclaim the space of deleted and replaced rows.

        The local backend rewrites its segments and rebuilds its index (recalibrating int8 ranges on the rows
        that are left); PostgreSQL runs ``VACUUM ANALYZE``.

        Raises
        ------
        InputError
            When this handle is read-only.
        LockTimeoutError
            When another writer holds the collection longer than ``lock_timeout`` seconds (nothing changes).
        ReadOnlyStorageError
            When the storage is on read-only media or not writable (nothing changes).
        StorageFullError
            When the disk fills up (the last committed state is kept).
        """
        self._table.compact()

    def reindex(self, index: str | None = None, index_params: dict[str, Any] | None = None, *,
                precision: str | None = None, rescore: int | None = None) -> dict[str, Any]:
        """Rebuild the index with other settings; the vectors are untouched.

        Settings not given are kept when the kind stays the same. The local backend rebuilds from its segments
        (``embedlab plan`` estimates how long).

        Parameters
        ----------
        index : str or None
            ``"exact"``, ``"hnsw"`` or ``"ivf"``; None keeps the kind.
        index_params : dict or None
            The kind's settings (``M``, ``ef_search``, ``nlist``, ``nprobe``, ``m`` ...).
        precision : str or None
            ``"float32"``, ``"float16"``, ``"int8"`` or ``"binary"``.
        rescore : int or None
            Candidates a compressed index re-ranks with float32 vectors, as a multiple of ``k`` (>= 1).

        Returns
        -------
        dict
            The new ``{"kind": str, "params": dict}``, as ``index_kind`` / ``index_params`` now hold them.

        Raises
        ------
        InputError
            For an unknown kind or setting, a read-only handle, or a backend that cannot change its index
            (``capabilities.set_index`` is False: PostgreSQL).
        LockTimeoutError
            When another writer holds the collection longer than ``lock_timeout`` seconds.
        ReadOnlyStorageError
            When the storage is on read-only media or not writable.
        StorageFullError
            When the disk fills up while the index is rebuilt (the old one is kept).
        """
        kind = index or self.index_kind
        params = dict(self.index_params) if kind == self.index_kind and index_params is None else {}
        params.update(index_params or {})
        if precision is not None:
            params["precision"] = precision
        if rescore is not None:
            params["rescore"] = rescore
        if params.get("precision") == "float32":  # the default: not stored, and nothing to rescore
            params.pop("precision")
            if rescore is None:
                params.pop("rescore", None)
        make_index(kind, self.dim, self.metric, **params)  # validates kind and parameters
        self._table.set_index(kind, params)  # InputError where the backend cannot (capabilities.set_index)
        self.index_kind, self.index_params = kind, params
        return {"kind": kind, "params": dict(params)}

    @contextmanager
    def bulk(self, resume: str | None = None) -> Iterator[Collection]:
        """Around a large load (an import, a first index of a corpus): marked incomplete until it ends normally.

        On entry the collection is marked incomplete (one commit) and PostgreSQL drops its HNSW index; when the
        block ends normally the load completes in one commit (PostgreSQL builds the index from the loaded rows,
        several times faster than growing it row by row). Searches meanwhile stay correct (exact). If the block
        raises, or the process is killed, or the database goes away, the mark stays: ``list`` says
        ``incomplete``, ``check`` fails, ``open`` warns, each with ``resume``. While the load runs, others see
        ``loading``. A bulk inside another (or beside another process's) joins it: its writes are ordinary ones.

        Parameters
        ----------
        resume : str or None
            How to resume the load if it stops (the command that runs it); shown by ``list``, ``check`` and
            ``open``. A collection already marked by an unfinished load with the same ``resume`` is that load
            resumed: this block completes it; one marked by another load stays marked.

        Yields
        ------
        Collection
            This collection.

        Raises
        ------
        InputError
            When this handle is read-only.
        LockTimeoutError
            When another writer holds the collection longer than ``lock_timeout`` seconds while the mark is
            written.
        """
        if not (self._held_load and not self._loading) and not self._table.lock_load():
            yield self  # another load runs (an enclosing bulk, another process): join it
            return
        self._loading = True
        try:
            mark = self._table.incomplete()
            ours = mark is None or mark.get("resume") == resume
            if ours:
                kept = {k: v for k, v in (mark or {}).items() if k != "running"}
                self._table.mark_incomplete(kept or loads.new_mark(resume, "a bulk load"))
            yield self
            if ours:
                self._table.complete()
        finally:
            self._loading = self._held_load = False
            self._table.unlock_load()

    @property
    def incomplete(self) -> dict[str, Any] | None:
        """The unfinished load this collection holds part of, if any.

        Returns
        -------
        dict or None
            None when complete; else the load's mark: ``what`` (e.g. ``"an import of docs.parquet (5,000
            rows)"``), ``since`` (UTC, ISO 8601), ``running`` (whether its loader still runs), ``resume`` (the
            command, or words, that resume it) and ``remove`` (the command that drops the collection), plus what
            the load recorded to resume (an import: ``file``, ``rows``).
        """
        mark = self._table.incomplete()
        if mark is None:
            return None
        return {**mark, "resume": mark.get("resume") or loads.RESUME_BULK,
                "remove": loads.cli_command(f"drop {self.name} --yes", self.location.split("#")[0]
                                            if self.backend != "local" else "local",
                                            self.path.parent if self.path is not None else None)}

    def complete(self) -> None:
        """Declare a load finished, in one commit.

        It builds the index the backend promises where it is missing (PostgreSQL's HNSW index) and clears the
        incomplete mark. ``bulk`` and ``import_parquet`` call it when they end normally; call it yourself only
        when you know the rows of an interrupted load are all there (e.g. you loaded the rest without ``bulk``),
        or to build a PostgreSQL HNSW index that a load from an older embedlab left missing.

        Raises
        ------
        InputError
            When this handle is read-only, or another process is still loading the collection.
        LockTimeoutError
            When another writer holds the collection longer than ``lock_timeout`` seconds.
        """
        mark = self._table.incomplete()
        if mark is not None and mark.get("running") and not (self._loading or self._held_load):
            raise InputError(loads.describe(self.name, mark) + "; wait for it to finish")
        self._table.complete()

    @contextmanager
    def writing(self) -> Iterator[Collection]:
        """Hold the write lock across several operations (other writers wait; readers carry on).

        Yields
        ------
        Collection
            This collection.

        Raises
        ------
        InputError
            When this handle is read-only.
        LockTimeoutError
            When another writer holds the lock longer than ``lock_timeout`` seconds.
        """
        with self._table.writing():
            yield self

    # ------------------------------------------------------------------ reads
    def _queries(self, queries: Sequence[Any] | np.ndarray, batch_size: int = 64) -> np.ndarray:
        if isinstance(queries, np.ndarray) and queries.dtype.kind in "fiu":
            return as_matrix(self._truncated(queries), dim=self.dim, name="query vectors")
        if isinstance(queries, (str, bytes)) or not isinstance(queries, (Sequence, np.ndarray)):
            raise InputError("queries must be a list (of texts, items or vectors) or a 2-D array")
        if len(queries) == 0:
            raise InputError("no queries given (empty list); pass at least one query")
        if all(_inputs.is_vector(q) for q in queries):
            return as_matrix(self._truncated(np.asarray(queries, dtype=np.float32)), dim=self.dim,
                             name="query vectors")
        if any(_inputs.is_vector(q) for q in queries):
            raise InputError("queries mix vectors and raw items; pass one kind per call")
        blank = [i for i, q in enumerate(queries) if isinstance(q, str) and not q.strip()]
        if blank:  # the encoder would call them "item N"
            raise InputError(f"query {blank[0]} is empty ({len(blank)} empty query text(s)); remove it or give it "
                             "some text")
        enc = self.encoder
        if enc is None:
            raise InputError(f"collection {self.name!r} is vectors-only (no encoder); search with a "
                             f"{self.dim}-d vector")
        # the query role (E5's "query:" prefix); the same as encode for symmetric encoders
        out = enc.encode_queries(list(queries), batch_size=batch_size, normalize=self.metric == "cosine")
        return np.asarray(self._truncated(out), dtype=np.float32)

    def search(self, query: Any, k: int = 10, where: dict[str, Any] | None = None, ef: int | None = None,
               nprobe: int | None = None, rescore: int | None = None) -> list[Hit]:
        """The ``k`` items nearest to one query, best first.

        Parameters
        ----------
        query : str, item or array_like
            A text or other item for the collection's encoder (embedded with its query role), or one vector:
            ``(dim,)`` numbers (``(source_dim,)``, the encoder's full width, also for a Matryoshka collection),
            taken as float32.
        k : int
            How many hits (>= 1); fewer when fewer items match.
        where : dict or None
            Keep only items whose metadata matches (see ``store/filters.py``: ``{"lang": "ko"}``,
            ``{"year": {"$gte": 2020}}``, ``{"$or": [...]}``).
        ef : int or None
            HNSW search breadth for this call, >= 1 (None: the index's saved ``ef_search``).
        nprobe : int or None
            IVF lists scanned for this call, >= 1 (None: the saved ``nprobe``).
        rescore : int or None
            Candidates re-ranked with the float32 vectors, as a multiple of ``k`` (>= 1), for compressed
            precisions (None: the saved one).

        Returns
        -------
        list of Hit
            Best first: ``id``, ``score`` (float, higher is better: cosine in [-1, 1], dot, or the negated L2
            distance), ``metadata``, ``source``.

        Raises
        ------
        InputError
            For a batch of vectors (use ``search_many``), an empty or blank text query, a bad
            ``k``/``ef``/``nprobe``/``rescore`` or filter, a setting the backend or the index kind does not take
            (named), a text query to a vectors-only
            collection, or an encoder that cannot be rebuilt here (not registered, model folder gone).
        DimensionError
            For a vector of the wrong width.
        NonFiniteError
            For a vector holding NaN or infinity.

        Warns
        -----
        FilterWarning
            When ``where`` matched nothing and the stored metadata says why (``filter_warnings``).
        """
        if _inputs.is_vector(query) and np.asarray(query).ndim == 2:
            raise InputError("search takes one query; use search_many for a batch of vectors")
        if isinstance(query, str) and not query.strip():  # the encoder would name it "item 0"
            raise InputError("the query is empty; type some text to search for")
        return self.search_many([query], k=k, where=where, ef=ef, nprobe=nprobe, rescore=rescore)[0]

    def search_many(self, queries: Sequence[Any] | np.ndarray, k: int = 10, where: dict[str, Any] | None = None,
                    ef: int | None = None, batch_size: int = 64, nprobe: int | None = None,
                    rescore: int | None = None) -> list[list[Hit]]:
        """``search`` for a batch of queries, encoded and searched together (much faster per query).

        Parameters
        ----------
        queries : sequence or numpy.ndarray
            Texts/items for the encoder, or vectors: a list of ``(dim,)`` vectors or an ``(m, dim)`` array (taken
            as float32; ``source_dim`` wide also for a Matryoshka collection); one kind per call.
        k : int
            Hits per query (>= 1), as for ``search``.
        where : dict or None
            A metadata filter applied to every query, as for ``search``.
        ef : int or None
            HNSW search breadth (>= 1), as for ``search``.
        batch_size : int
            Queries per encoder call (>= 1).
        nprobe : int or None
            IVF lists scanned (>= 1), as for ``search``.
        rescore : int or None
            Re-ranked candidates as a multiple of ``k`` (>= 1), as for ``search``.

        Returns
        -------
        list of list of Hit
            One list per query, in the order given, each best first.

        Raises
        ------
        InputError
            As for ``search``; also for an empty batch, a blank query text (naming it), or raw items mixed with
            vectors.
        DimensionError
            For vectors of the wrong width.
        NonFiniteError
            For vectors holding NaN or infinity.

        Warns
        -----
        FilterWarning
            When ``where`` matched nothing and the stored metadata says why (``filter_warnings``).
        """
        k = _inputs.check_k(k)
        params = SearchParams(
            ef_search=None if ef is None else _inputs.check_k(ef, "ef"),
            nprobe=None if nprobe is None else _inputs.check_k(nprobe, "nprobe"),
            rescore=None if rescore is None else _inputs.check_rescore(rescore))
        self._table.capabilities.check_search(params)  # before encoding anything
        flt = filters.parse(where) if where is not None else None
        q = self._queries(queries, batch_size)
        hits = self._table.search(q, k, flt, params)
        if flt is not None and not any(hits):
            self._warn_unmatched(flt)
        return hits

    def count(self) -> int:
        """Number of live items.

        Returns
        -------
        int
            Items stored and not deleted (>= 0).
        """
        with self._table.read() as r:
            return r.count()

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, id_: object) -> bool:
        if not isinstance(id_, str) or "\0" in id_:
            return False
        with self._table.read() as r:
            return bool(r.lookup([id_]))

    def ids(self, where: dict[str, Any] | None = None) -> list[str]:
        """Ids of the items matching a filter, or of all.

        Parameters
        ----------
        where : dict or None
            A metadata filter (see ``search``).

        Returns
        -------
        list of str
            In the order they were last written (an upsert that changes an item moves it last).

        Raises
        ------
        InputError
            For a bad filter.

        Warns
        -----
        FilterWarning
            When ``where`` matched nothing and the stored metadata says why (``filter_warnings``).
        """
        flt = filters.parse(where) if where is not None else None
        with self._table.read() as r:
            out = r.ids(flt)
        if flt is not None and not out:
            self._warn_unmatched(flt)
        return out

    def sources(self, where: dict[str, Any] | None = None) -> dict[str, str | None]:
        """The source of every item (matching a filter), from one snapshot and without reading any vector.

        E.g. to find the items that came from some files (``embedlab index --sync``).

        Parameters
        ----------
        where : dict or None
            A metadata filter (see ``search``).

        Returns
        -------
        dict of str to (str or None)
            id → source, in write order.

        Raises
        ------
        InputError
            For a bad filter.

        Warns
        -----
        FilterWarning
            When ``where`` matched nothing and the stored metadata says why (``filter_warnings``).
        """
        flt = filters.parse(where) if where is not None else None
        with self._table.read() as r:
            ids = r.ids(flt)
            found = r.lookup(ids) if ids else {}
        if flt is not None and not ids:
            self._warn_unmatched(flt)
        return {i: found[i].source for i in ids}

    def values(self, key: str, where: dict[str, Any] | None = None) -> list[tuple[Any, int]]:
        """The distinct values one metadata key holds, with how many items hold each, without reading any vector.

        E.g. what ``{"file": "budget.txt"}`` could have meant when it matched nothing (``notes/budget.txt``).

        Parameters
        ----------
        key : str
            A top-level metadata key (non-empty, no NUL).
        where : dict or None
            Count only the items matching this metadata filter (see ``search``).

        Returns
        -------
        list of (object, int)
            ``(value, items)`` for each distinct string, number or boolean under ``key``, most items first, then
            in write order of first appearance; numbers that are equal count as one (1 and 1.0), a boolean never
            equals a number. Null, list and object values are left out; empty when no item has the key.

        Raises
        ------
        InputError
            For a bad key or a bad filter.
        """
        if not isinstance(key, str) or not key or "\0" in key or key.startswith("$"):
            raise InputError(f"key must be a non-empty metadata key without NUL or a leading $, got {key!r}")
        has = {key: {"$exists": True}}
        flt = filters.parse(has if where is None else {"$and": [where, has]})
        with self._table.read() as r:
            ids = r.ids(flt)
            found = r.lookup(ids) if ids else {}
        counts: dict[tuple[str, Any], list[Any]] = {}
        for i in ids:
            value = _meta(found[i].metadata).get(key)
            what = filters.kind(value)
            if what in ("string", "number", "bool"):
                counts.setdefault((what, value), [value, 0])[1] += 1
        return [(v, n) for v, n in sorted(counts.values(), key=lambda vn: -vn[1])]

    def filter_warnings(self, where: dict[str, Any]) -> list[str]:
        """Why a metadata filter may match nothing here, as far as the stored metadata tells.

        ``search``, ``search_many``, ``ids``, ``sources`` and ``delete(where=)`` issue these as ``FilterWarning``
        when they find nothing (never when they find something); the HTTP API returns them with its answer.

        Parameters
        ----------
        where : dict
            A metadata filter (see ``search``).

        Returns
        -------
        list of str
            One sentence per suspicious test: a key no item has (``no item has key 'yeer' (keys: lang, year);
            did you mean 'year'?``), or a comparison with values of a type the key never holds (``'year' holds
            only strings; {"year": {"$gte": 2020}} compares numbers — write "2020" or re-import with typed
            values``). Empty when the metadata explains nothing, or the collection is empty.

        Raises
        ------
        InputError
            For a bad filter.
        """
        return self._filter_notes(filters.parse(where))

    def _found(self, r: Reader, ids: list[str]) -> dict[str, Stored]:
        found = r.lookup(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise UnknownKeyError(f"{len(missing)} id(s) not in collection {self.name!r}: {missing[:5]}")
        return found

    def get(self, ids: Sequence[str] | None = None, missing: str = "error", *, where: dict[str, Any] | None = None,
            limit: int | None = None, offset: int | None = None,
            include: Sequence[str] | None = None) -> GetResult:
        """Items by id, in the order asked; or, as Chroma's ``get``, those matching ``where`` (all without ids).

        Parameters
        ----------
        ids : sequence of str or None
            The ids wanted; None: every item (in write order), as Chroma.
        missing : str
            ``"error"``: ids that are not present raise; ``"skip"``: they are left out (what Chroma does).
        where : dict or None
            Keep only items whose metadata matches (see ``search``).
        limit : int or None
            At most this many items (>= 1), after ``where`` and ``offset``.
        offset : int or None
            Skip this many first (>= 0).
        include : sequence of str or None
            What Chroma's keys of the result fill in, of ``documents``, ``metadatas``, ``embeddings`` (default:
            metadatas and documents); the items themselves always hold everything.

        Returns
        -------
        GetResult
            A list of Item: ``id``, ``vector`` (``(dim,)`` float32; unit length in a cosine collection),
            ``metadata`` (dict), ``source`` and ``content`` (str or None). It also answers Chroma's keys:
            ``res["ids"]``, ``res["documents"]``, ``res["metadatas"]``, ``res["embeddings"]``
            (``store/chroma.py``).

        Raises
        ------
        UnknownKeyError
            With ``missing="error"``, naming ids that are not present.
        InputError
            For bad ids (empty list, duplicates, non-strings), an unknown ``missing``, a bad filter, ``limit``,
            ``offset`` or ``include``.

        Warns
        -----
        FilterWarning
            When ``where`` matched nothing and the stored metadata says why (``filter_warnings``).
        """
        fields = check_include(include, INCLUDE_GET, ("metadatas", "documents"))
        if missing not in ("error", "skip"):
            raise InputError(f"missing must be 'error' or 'skip', got {missing!r}")
        if ids is not None:
            ids = _inputs.check_ids(ids)
        chosen = select_ids(self, ids, where, limit, offset)  # None: read ``ids`` as given
        ids = ids if chosen is None else chosen
        if not ids:
            return GetResult([], fields, self.dim)
        with self._table.read() as r:
            if missing == "skip":
                found = r.lookup(ids)
                ids = [i for i in ids if i in found]
                if not ids:
                    return GetResult([], fields, self.dim)
            else:
                found = self._found(r, ids)
            vecs = r.vectors(ids)
            texts = r.contents(ids)
        return GetResult((Item(i, vecs[j], _meta(found[i].metadata), found[i].source, texts.get(i))
                          for j, i in enumerate(ids)), fields, self.dim)

    def contents(self, ids: Sequence[str]) -> list[str | None]:
        """The stored contents (the text each item was encoded from) of some ids.

        Parameters
        ----------
        ids : sequence of str
            The ids wanted.

        Returns
        -------
        list of (str or None)
            In the order asked; None where an item has no content.

        Raises
        ------
        UnknownKeyError
            Naming ids that are not present.
        InputError
            For bad ids (empty list, duplicates, non-strings).
        """
        ids = _inputs.check_ids(ids)
        with self._table.read() as r:
            self._found(r, ids)
            texts = r.contents(ids)
        return [texts.get(i) for i in ids]

    def texts(self, ids: Sequence[str], missing: str = "error") -> list[str | None]:
        """The text of each item, as result lists and keyword search show it, without reading any vector.

        An item's text is stored once, as its content (``contents``). Collections written by earlier versions
        also kept it in a ``text`` metadata field (passages and indexed files), and the oldest only there: an
        item without a content gives that field's string instead, so older collections show the same text.

        Parameters
        ----------
        ids : sequence of str
            The ids wanted.
        missing : str
            ``"error"``: ids that are not present raise; ``"skip"``: they get None (a hit deleted since the
            search that found it).

        Returns
        -------
        list of (str or None)
            In the order asked: the content, else a ``text`` metadata string, else None (a media item or a
            vector added without its text).

        Raises
        ------
        UnknownKeyError
            With ``missing="error"``, naming ids that are not present.
        InputError
            For bad ids (empty list, duplicates, non-strings) or an unknown ``missing``.
        """
        if missing not in ("error", "skip"):
            raise InputError(f"missing must be 'error' or 'skip', got {missing!r}")
        ids = _inputs.check_ids(ids)
        with self._table.read() as r:
            found = self._found(r, ids) if missing == "error" else r.lookup(ids)
            contents = r.contents([i for i in ids if i in found])
        out: list[str | None] = []
        for i in ids:
            text = contents.get(i)
            if text is None and i in found and '"text"' in found[i].metadata:
                old = _meta(found[i].metadata).get("text")
                text = old if isinstance(old, str) else None
            out.append(text)
        return out

    def vectors(self) -> Vectors:
        """All live vectors keyed by id.

        Returns
        -------
        Vectors
            Keys in write order and an ``(n, dim)`` float32 matrix: a memory-mapped view when the local backend has
            one segment and nothing deleted, else a copy.
        """
        with self._table.read() as r:
            keys, mat = r.matrix()
        return Vectors(keys, mat)

    def export_rows(self, batch_size: int = 10_000) -> Iterator[Rows]:
        """Every live item, for export to other formats and backends, all from one snapshot.

        Parameters
        ----------
        batch_size : int
            Rows per batch (>= 1).

        Yields
        ------
        Rows
            At most ``batch_size`` rows: ids, ``(n, dim)`` float32 vectors as stored (unit rows in a cosine
            collection), metadata JSON texts, sources, hashes and contents, in write order.

        Raises
        ------
        InputError
            For a bad ``batch_size``, or a closed collection.
        CollectionNotFoundError
            When the collection was dropped meanwhile.

        Notes
        -----
        The snapshot starts at the first batch and is read through a read-only handle of the generator's own
        (when this handle came from ``create`` / ``open``), so this collection stays free to search and write
        while the generator is unfinished, and the batches do not see those writes. The private handle is
        closed when the batches run out, or when the generator is closed or collected.
        """
        batch_size = _inputs.check_k(batch_size, "batch_size")
        self.count()  # a closed handle refuses here, as every method of it does
        if self._store is None:  # built from a table without its Store: the snapshot is this handle's own
            with self._table.read() as r:
                yield from r.rows(batch_size)
            return
        table = self._store.open(self.name, readonly=True, lock_timeout=self.lock_timeout)
        try:
            with table.read() as r:
                yield from r.rows(batch_size)
        finally:
            table.close()

    # ------------------------------------------------------------------ Arrow and pandas (store/frames.py)
    def to_arrow(self, batch_size: int = 10_000) -> pa.RecordBatchReader:
        """Every live item as a stream of Arrow record batches (pyarrow, Parquet, or any tool that reads Arrow).

        The columns are those of the Parquet export: ``id`` (string), ``vector`` (fixed-size list of ``dim``
        float32: the stored vector, bit for bit; unit length in a cosine collection), ``metadata`` (JSON object
        text: any metadata fits; DuckDB's ``json_extract`` or ``json.loads`` read it), ``content``, ``source`` and
        ``hash`` (strings, null where absent), in write order. Memory stays bounded by ``batch_size`` rows
        however large the collection.

        The reader reads one snapshot, taken when this is called, through a read-only handle of its own: this
        collection can be searched and written meanwhile without the stream seeing it. That handle is closed
        when the batches run out or the reader is garbage-collected (``reader.close()`` alone does not release
        it: read to the end, or drop the reader).

        Parameters
        ----------
        batch_size : int
            Rows per record batch (>= 1); every batch but the last has exactly this many.

        Returns
        -------
        pyarrow.RecordBatchReader
            Iterable batches; ``.schema`` describes them, ``.read_all()`` makes one table,
            ``.read_pandas()`` one DataFrame (vectors as fixed-size-list cells; see ``to_pandas`` for arrays).

        Raises
        ------
        InputError
            For a bad ``batch_size``, or a closed collection.
        CollectionNotFoundError
            When the collection was dropped meanwhile.

        Examples
        --------
        >>> for batch in docs.to_arrow(batch_size=1000):
        ...     vectors = batch.column("vector").flatten().to_numpy().reshape(batch.num_rows, docs.dim)
        """
        from . import frames  # the Arrow and pandas layouts live there

        return frames.to_arrow(self, batch_size)

    def to_pandas(self, vectors: bool = True, metadata: str = "columns") -> pd.DataFrame:
        """Every live item as a pandas DataFrame, one row per item in write order.

        Columns: ``id``, ``vector`` (each cell a ``(dim,)`` float32 numpy array, bit for bit as stored: unit
        length in a cosine collection; the cells are views of one ``(n, dim)`` block, which
        ``np.stack(df["vector"])`` gives back), ``content`` and ``source`` (missing where absent), then the
        metadata. With ``metadata="columns"`` each top-level key is a column of its own (a key named like one of
        the four columns above gets the column ``metadata.<key>``); a key an item lacks, or holds as JSON null,
        is a missing value there; integer and boolean columns with gaps use pandas' nullable ``Int64`` /
        ``boolean``; lists and dicts stay Python objects. With ``metadata="json"`` one ``metadata`` column holds
        each item's metadata as JSON text, exactly as stored (null and missing told apart).

        Everything is read into memory; for collections larger than that, stream ``to_arrow`` instead. Needs
        pandas (the ``eval`` extra).

        Parameters
        ----------
        vectors : bool
            Include the ``vector`` column.
        metadata : str
            ``"columns"`` (one column per key) or ``"json"`` (one column of JSON texts).

        Returns
        -------
        pandas.DataFrame
            ``count()`` rows, a default ``RangeIndex``; ``Collection.from_pandas`` reads it back.

        Raises
        ------
        InputError
            For an unknown ``metadata`` layout, a metadata key whose column name is taken twice (use
            ``metadata="json"``), or a closed collection.
        MissingDependencyError
            When pandas is not installed (``pip install 'embedlab[eval]'``).
        """
        from . import frames  # the Arrow and pandas layouts live there

        return frames.to_pandas(self, vectors, metadata)

    @classmethod
    def from_pandas(cls, df: pd.DataFrame, name: str, *, text: str | None = None, id: str | None = "id",
                    metadata: str | Sequence[str] | dict[str, str] | None = None, vector: str | None = None,
                    source: str | None = None, encoder: str | Encoder | None = None, metric: str | None = None,
                    index: str = "exact", index_params: dict[str, Any] | None = None, backend: str | None = None,
                    root: str | Path | None = None, batch_size: int = 64, progress: bool = True) -> Collection:
        """Create collection ``name`` from a pandas DataFrame: one item per row.

        Texts are encoded (in batches of ``batch_size``, with a progress bar), or vectors taken from a column,
        or both (the texts are then kept as contents beside vectors computed elsewhere). The whole frame is
        checked before anything is created; the rows are written in commits of about a twentieth of them (512
        to 10,000 rows) inside ``bulk``, so a load that stops is listed ``incomplete`` (an error removes the new
        collection again). ``to_pandas``'s frame comes back as the same items, vectors bit for bit:
        ``from_pandas(df, name, text="content", vector="vector", metadata=[...], source="source",
        encoder=...)``.

        Cells are converted for JSON metadata: numpy numbers, booleans and arrays become Python numbers, booleans
        and lists; dates, times and timestamps (``datetime``, ``pd.Timestamp``, ``np.datetime64``) become ISO 8601
        text (``"2024-05-01T00:00:00"``, which ``$gte`` / ``$lt`` filters compare in time order when every value
        is written alike); a missing cell (None, NaN, ``pd.NA``, ``NaT``) leaves that key out of that row's
        metadata. Time spans and other objects (``Decimal``, bytes, sets) are refused, naming the column and row.

        Parameters
        ----------
        df : pandas.DataFrame
            The rows.
        name : str
            The new collection's name (taken names are refused).
        text : str or None
            A column of texts (or other items) for the encoder; with ``vector`` only stored as contents (then
            missing cells are allowed).
        id : str or None
            The column of unique ids (strings, or integers turned into strings); None takes the frame's index.
        metadata : str, sequence of str, dict or None
            A list of columns, each stored under its own name as a metadata key; a dict ``{column: key}`` renames
            them; one column name (a string) holding whole metadata objects (dicts, or JSON object texts as
            ``to_pandas(metadata="json")`` writes them).
        vector : str or None
            A column of vectors (arrays or lists, all of one width), taken as float32. A cosine collection stores
            rows of unit length (within 1e-5) as given, bit for bit, and normalises the others.
        source : str or None
            A column of sources (where each item came from).
        encoder : str, Encoder or None
            The encoder (a name, model folder or Encoder). None: the default encoder when texts are encoded; a
            vectors-only collection, as wide as the vectors, when ``vector`` is given.
        metric : str or None
            ``"cosine"``, ``"dot"`` or ``"l2"``; default the encoder's (cosine for vectors-only).
        index : str
            ``"exact"``, ``"hnsw"`` or ``"ivf"``, as for ``create``.
        index_params : dict or None
            The index kind's settings, as for ``create``.
        backend : str or None
            As for ``create``.
        root : str, path or None
            As for ``create``.
        batch_size : int
            Texts per encoder call (>= 1).
        progress : bool
            Show a progress bar over the rows (on a terminal).

        Returns
        -------
        Collection
            The new collection, open, holding one item per row in the frame's order.

        Raises
        ------
        InputError
            For something that is not a DataFrame, neither ``text`` nor ``vector``, a column the frame lacks (the
            message lists its columns) or has twice, missing or duplicate ids, a missing text to encode, metadata
            a collection cannot hold (named by column and row), a taken name, or any ``create`` setting it
            refuses.
        DimensionError
            For vectors of different widths, or vectors not as wide as the encoder's.
        NonFiniteError
            For vectors holding NaN or infinity (the message names a row).
        MissingDependencyError
            When pandas is not installed (``pip install 'embedlab[eval]'``), or the encoder's packages are not.

        Examples
        --------
        >>> df = pd.DataFrame({"id": ["a", "b"], "text": ["a cat", "stock prices"], "lang": ["en", "en"]})
        >>> docs = Collection.from_pandas(df, "docs", text="text", metadata=["lang"])
        """
        from . import frames  # the Arrow and pandas layouts live there

        return frames.from_pandas(cls, df, name, text=text, id=id, metadata=metadata, vector=vector, source=source,
                                  encoder=encoder, metric=metric, index=index, index_params=index_params,
                                  backend=backend, root=root, batch_size=batch_size, progress=progress)

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary of the collection.

        Returns
        -------
        dict
            ``name``, ``backend``, ``location``, ``encoder`` (``{"name", "dim", "metric", "fingerprint"}``),
            ``dim``, ``metric``, ``index`` ``{"kind", "params"}``, ``count``, ``generation``, ``created`` (ISO 8601,
            UTC, seconds), ``format_version``, ``readonly``, plus the backend's storage facts (``bytes`` on disk;
            local: ``path``, ``segments``, ``deleted_rows``), and ``incomplete`` (see the property) while a load
            has not completed.
        """
        manifest = self._table.manifest
        with self._table.read() as r:
            out = {"name": self.name, "backend": self.backend, "location": self.location,
                   "encoder": dict(manifest["encoder"]), "dim": self.dim, "metric": self.metric,
                   "index": {"kind": self.index_kind, "params": self.index_params},
                   "count": r.count(), "generation": int(r.generation), "created": manifest.get("created"),
                   "format_version": manifest["format_version"], "readonly": self.readonly}
        out.update(self._table.storage_info())
        mark = self.incomplete
        if mark is not None:
            out["incomplete"] = mark
        return out

    def check(self, deep: bool = True) -> dict[str, Any]:
        """Verify what is stored (local: catalogue, segment checksums, manifest copy, metadata index).

        Parameters
        ----------
        deep : bool
            Also read every vector (the full CRC32 of each local segment); False checks sizes and edges only.

        Returns
        -------
        dict
            ``{"ok": bool, "problems": [str, ...], "segments": int, "items": int, "deep": bool}``; damage is
            reported in ``problems``, not raised (a damaged metadata index file, derived data, is also rebuilt when
            the collection is writable: ``"metadata index: ...; rebuilt"``). A load that has not completed is a
            problem too (the first), and its mark is added as ``incomplete`` (see the property); so is PostgreSQL's
            HNSW index missing.

        Raises
        ------
        CollectionNotFoundError
            When the collection was dropped (perhaps created again under its name) after this handle opened it.
        """
        report = self._table.check(deep)
        mark = self.incomplete
        if mark is not None:
            report["problems"].insert(0, loads.describe(self.name, mark, report["items"]))
            report["ok"] = False
            report["incomplete"] = mark
        return report


def _list(root: str | Path | None = None, backend: str | None = None, *, status: bool = False) -> Any:
    """Deprecated alias of ``Collection.names`` (``status=True``: ``Collection.statuses``).

    The method's old name shadowed the builtin ``list`` inside the class (CONTRIBUTING.md, "Names").
    """
    new = "Collection.statuses" if status else "Collection.names"
    warnings.warn(f"Collection.list is deprecated; use {new}", DeprecationWarning, stacklevel=2)
    return Collection.statuses(root, backend) if status else Collection.names(root, backend)


setattr(Collection, "list", staticmethod(_list))  # noqa: B010 - set after the class, so it shadows nothing inside it
