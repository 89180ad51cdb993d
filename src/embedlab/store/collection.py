"""Collection: a persistent, named set of items (id, vector, metadata, content, source) bound to one encoder.

    >>> c = Collection.create("docs")                      # default multilingual encoder, exact index
    >>> c.add(["a", "b"], ["a cat sits", "stock prices fell"], metadata=[{"lang": "en"}, {"lang": "en"}])
    >>> c.search("kitten", k=1, where={"lang": "en"})[0].id
    'a'

``Collection`` is the thin front: it binds the encoder, validates every input before anything is written,
encodes, decides what an upsert changes, and offers the public API. Where the items live is its backend's
business (``store/backend.py``): the local backend (a folder: SQLite catalogue + memory-mapped segments,
``store/local/``) by default, or PostgreSQL + pgvector with ``backend="postgresql://…"``.
"""

from __future__ import annotations

import builtins
import datetime as _dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..encoders import Encoder
from ..errors import InputError, UnknownKeyError
from ..index.base import SearchParams
from ..metrics import as_matrix, check_metric, normalize, norms
from ..vectors import Vectors
from . import _inputs, filters
from .backend import Reader, Table, connect
from .binding import check_encoder, described_encoder, encoder_doc, matryoshka_dim, resolve_encoder
from .manifest import check_name, index_settings, new_manifest
from .records import Hit, Item, Rows, Stored

__all__ = ["Collection", "Item", "Hit"]


def _meta(text: str) -> dict[str, Any]:
    import json

    return {} if text == "{}" else json.loads(text)


class Collection:
    """A named, persistent set of items; create with ``Collection.create`` and reopen with ``Collection.open``.

    ``backend``: None (the local backend under ``root`` or the embedlab home; ``$EMBEDLAB_DATABASE_URL`` when set
    and no ``root`` is given), ``"local"``, or a ``postgresql://`` URL."""

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

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, name: str, encoder: str | Encoder | dict[str, Any] | None = None, *, dim: int | None = None,
               metric: str | None = None, index: str = "exact", index_params: dict[str, Any] | None = None,
               precision: str | None = None, rescore: int | None = None, force: bool = False,
               root: str | Path | None = None, backend: str | None = None, lock_timeout: float = 10.0,
               auto_compact: float = 0.3) -> Collection:
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
            A vectors-only collection's width; below an encoder's width, a Matryoshka prefix (vectors cut to
            ``dim`` and re-normalised; refused for encoders not trained for it unless ``force``).
        metric : str or None
            ``"cosine"``, ``"dot"`` or ``"l2"``; default the encoder's (cosine for vectors-only).
        index : str
            ``"exact"``, ``"hnsw"`` or ``"ivf"`` (ivf: local backend only).
        index_params : dict or None
            The kind's settings (``M``, ``ef_search``, ``nlist``, ``nprobe``, ``m`` ...).
        precision : str or None
            The codes the index keeps: ``"float32"`` (default), ``"float16"``, ``"int8"``, ``"binary"``.
        rescore : int or None
            Candidates (× k) a compressed index re-ranks with the float32 vectors.
        force : bool
            Accept a Matryoshka ``dim`` the encoder was not trained for.
        root : str, path or None
            The local backend's folder of collections (default: the embedlab home's).
        backend : str or None
            None (``$EMBEDLAB_DATABASE_URL`` when set and no ``root``, else local), ``"local"``, or a
            ``postgresql://`` URL.
        lock_timeout : float
            Seconds a write waits for another writer before ``LockTimeoutError``.
        auto_compact : float
            Fraction of dead rows past which the local backend compacts after a write.

        Returns
        -------
        Collection
            The new, empty collection, open for writing.

        Raises
        ------
        InputError
            For a taken or bad name, an unknown encoder, metric, index kind or setting, or settings the backend
            cannot hold (PostgreSQL: no ivf, no compressed precisions).
        DimensionError
            For a ``dim`` wider than the encoder's vectors.
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
        from ..index import make_index

        make_index(index, enc_doc["dim"], enc_doc["metric"], **params)  # validates kind and parameters
        created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        store = connect(backend, root)
        table = store.create(name, new_manifest(name, enc_doc, index, params, created), lock_timeout=lock_timeout,
                             auto_compact=auto_compact)
        return cls(table, enc)

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
        root, backend, lock_timeout, auto_compact
            As for ``create``.
        readonly : bool
            Refuse writes through this handle. A collection on read-only media opens read-only by itself
            (its writes raise ``ReadOnlyStorageError``).

        Returns
        -------
        Collection

        Raises
        ------
        CollectionNotFoundError
            When there is no such collection (the message lists the existing ones).
        EncoderMismatchError
            When ``encoder`` is not the one the collection was built with.
        CorruptFileError, FormatVersionError
            When its stored state is damaged, or was written by a newer embedlab.
        """
        check_name(name)
        store = connect(backend, root)
        table = store.open(name, readonly, lock_timeout=lock_timeout, auto_compact=auto_compact)
        try:
            enc = None
            if encoder is not None:
                enc = resolve_encoder(encoder)
                check_encoder(table.manifest, enc)
        except BaseException:
            table.close()
            raise
        return cls(table, enc)

    @classmethod
    def open_or_create(cls, name: str, encoder: str | Encoder | None = None, **kw: Any) -> Collection:
        """Open a collection if it exists, else create it.

        Parameters
        ----------
        name : str
            The collection's name.
        encoder : str, Encoder or None
            As for ``open`` / ``create``.
        **kw
            ``create``'s keywords; ``root``, ``backend``, ``readonly``, ``lock_timeout`` and ``auto_compact`` are
            also used to open it. The settings of an existing collection are not compared with them.

        Returns
        -------
        Collection

        Raises
        ------
        InputError, EncoderMismatchError
            As ``open`` and ``create`` raise them (a collection created meanwhile by another process is opened).
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
    def list(root: str | Path | None = None, backend: str | None = None) -> builtins.list[str]:
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
        """
        return connect(backend, root).names()

    @classmethod
    def drop(cls, name: str, root: str | Path | None = None, lock_timeout: float = 10.0,
             backend: str | None = None) -> None:
        """Delete a collection and everything stored for it, after a running writer finishes.

        Parameters
        ----------
        name : str
            The collection's name.
        root, backend
            As for ``create``.
        lock_timeout : float
            Seconds to wait for a running writer.

        Raises
        ------
        CollectionNotFoundError
            When there is no such collection.
        LockTimeoutError
            When a writer holds it longer than ``lock_timeout``.
        InputError
            For a local folder without embedlab's marks (never deleted).
        """
        check_name(name)
        connect(backend, root).drop(name, lock_timeout=lock_timeout)

    def close(self) -> None:
        """Release the storage (files, memory maps, connections); the object cannot be used afterwards. The local
        backend saves its ANN cache first when this process changed it."""
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
        """Whether this handle refuses writes (opened read-only, or on read-only media / a full disk)."""
        return self._table.readonly

    @property
    def lock_timeout(self) -> float:
        """Seconds a write waits for another writer before LockTimeoutError (settable)."""
        return float(self._table.lock_timeout)

    @lock_timeout.setter
    def lock_timeout(self, seconds: float) -> None:
        self._table.lock_timeout = float(seconds)

    @property
    def path(self) -> Path | None:
        """The collection's folder for the local backend; None for a database backend."""
        return self._table.capabilities.path

    @property
    def location(self) -> str:
        """Where the collection lives: a folder, or ``postgresql://…#table``."""
        return self._table.location

    @property
    def cache_dir(self) -> Path:
        """A local folder for caches derived from the collection (e.g. its keyword index)."""
        return Path(self._table.cache_dir)

    @property
    def backend(self) -> str:
        """The backend kind: ``local`` or ``postgresql``."""
        return self._table.capabilities.kind

    @property
    def generation(self) -> int:
        """The committed generation: bumped by every write (add, upsert, delete, compact); equal generations of
        one collection mean equal contents, so caches key on it."""
        with self._table.read() as r:
            return int(r.generation)

    @property
    def encoder(self) -> Encoder | None:
        """The collection's encoder (built from the manifest on first use); None for vectors-only collections."""
        manifest = self._table.manifest
        if self._encoder is None and manifest["encoder"].get("name"):
            name = manifest["encoder"]["name"]
            try:
                enc = resolve_encoder(name)
            except InputError as exc:
                if any(sep in name for sep in ("/", "\\")) and not Path(name).expanduser().exists():
                    raise InputError(f"collection {self.name!r} was built with the model folder {name}, which no "
                                     f"longer exists; restore it, or re-embed the stored texts with another "
                                     f"encoder: `embedlab reindex {self.name} --encoder NAME_OR_FOLDER` "
                                     f"(Python: Collection.open(..., encoder=...) with that model)") from None
                raise InputError(f"collection {self.name!r} was built with encoder {name!r}, which is not "
                                 f"registered here ({exc}); pass the Encoder instance to Collection.open "
                                 f"(the CLI: --encoder)") from None
            check_encoder(manifest, enc)
            self._encoder = enc
        return self._encoder

    # ------------------------------------------------------------------ preparing writes
    def _vectors_for(self, items: Sequence[Any] | None, vectors: ArrayLike | None, n: int, batch_size: int,
                     progress: bool, prepared: bool = False) -> np.ndarray:
        if items is None and vectors is None:
            raise InputError("pass items (raw inputs for the encoder), vectors=, or both (vectors computed for the "
                             "items elsewhere, e.g. on a cluster)")
        if vectors is not None:
            vecs = as_matrix(self._truncated(vectors), dim=self.dim, name="vectors")
            if len(vecs) != n:
                raise InputError(f"got {len(vecs)} vectors for {n} ids; pass exactly one vector per id")
        else:
            enc = self.encoder
            if enc is None:
                raise InputError(f"collection {self.name!r} is vectors-only (no encoder); pass vectors=")
            items = _inputs.check_items(items, n)
            # stored items are documents: an asymmetric encoder (E5's "passage:" role) embeds them as such
            vecs = as_matrix(self._truncated(enc.encode_documents(items, batch_size=batch_size, progress=progress,
                                                                  normalize=self.metric == "cosine")),
                             dim=self.dim, name="encoded vectors")
        if self.metric == "cosine":
            if not prepared:
                return normalize(vecs)
            lengths = norms(vecs)
            if np.any((np.abs(lengths - 1.0) > 1e-3) & (lengths > 0)):
                raise InputError("prepared vectors of a cosine collection must be unit length (as exported); pass "
                                 "them without prepared=True to normalise them")
        return vecs

    def _truncated(self, vectors: ArrayLike) -> ArrayLike:
        """Full-width encoder vectors cut to the collection's Matryoshka prefix and re-normalised; anything else
        as given (the dimension is checked by the caller)."""
        if self.source_dim == self.dim:
            return vectors
        arr = np.asarray(vectors, dtype=np.float32)
        if arr.ndim in (1, 2) and arr.shape[-1] == self.source_dim:
            return normalize(np.atleast_2d(arr)[:, : self.dim])
        return vectors

    def _text_only(self) -> bool:
        return self.encoder is not None and tuple(self.encoder.modalities) == ("text",)

    def _hashes(self, items: Sequence[Any]) -> builtins.list[str | None]:
        text_only = self._text_only()
        return [_inputs.item_hash(x, text_only) for x in items]

    def _contents_of(self, items: Sequence[Any]) -> builtins.list[str | None]:
        text_only = self._text_only()
        return [x if _inputs.is_text(x, text_only) else None for x in items]

    # ------------------------------------------------------------------ writes
    def add(self, ids: Sequence[str], items: Sequence[Any] | None = None, *, vectors: ArrayLike | None = None,
            metadata: Sequence[dict[str, Any]] | None = None, sources: Sequence[str | None] | None = None,
            contents: Sequence[str | None] | None = None, hashes: Sequence[str | None] | None = None,
            prepared: bool = False, batch_size: int = 64, progress: bool = False) -> int:
        """Add new items in one commit; an id that exists already stops it before anything is written.

        Parameters
        ----------
        ids : sequence of str
            Unique, non-empty ids (ints are turned into strings).
        items : sequence or None
            Raw inputs for the encoder (texts, image/audio paths ...), embedded with its document role; texts are
            kept as each item's content.
        vectors : array_like or None
            ``(n, dim)`` vectors instead of (or computed elsewhere for) ``items``; full-width vectors of a
            Matryoshka collection's encoder are cut to its prefix. Cosine collections store unit rows.
        metadata : sequence of dict or None
            JSON metadata per item (what ``where`` filters match).
        sources : sequence of (str or None), optional
            Where each item came from (default: the file path for path items).
        contents : sequence of (str or None), optional
            The text each item stands for (e.g. with ``vectors=``).
        hashes : sequence of (str or None), optional
            Content hashes of rows exported from a collection (``export_rows``, Parquet).
        prepared : bool
            Store ``vectors`` bit for bit, as exported (checked for unit length in a cosine collection, not
            re-normalised).
        batch_size : int
            Items per encoder call.
        progress : bool
            Show a progress bar while encoding.

        Returns
        -------
        int
            How many items were added (``len(ids)``).

        Raises
        ------
        InputError
            For an existing or bad id, mismatched lengths, bad metadata, no items and no vectors, or raw items to
            a vectors-only collection.
        DimensionError
            For vectors of the wrong width.
        LockTimeoutError, ReadOnlyStorageError, StorageFullError
            When the storage cannot be written now (nothing is written).
        """
        ids = _inputs.check_ids(ids)
        n = len(ids)
        metas = _inputs.check_metadata(metadata, n) or ["{}"] * n
        srcs = _inputs.check_sources(sources, n)
        given = _inputs.check_contents(contents, n)
        hashes = _inputs.check_hashes(hashes, n) or [None] * n
        if items is not None:
            items = _inputs.check_items(items, n)
            if vectors is None:
                self._refuse_existing(ids)  # before spending time on encoding
            hashes = self._hashes(items)
        vecs = self._vectors_for(items, vectors, n, batch_size, progress, prepared)
        if srcs is None:
            srcs = [_inputs.default_source(x) for x in items] if items is not None else [None] * n
        texts: builtins.list[str | None] = (given if given is not None else
                                            self._contents_of(items) if items is not None else [None] * n)
        with self._table.write() as w:
            w.insert(Rows(ids, vecs, metas, srcs, hashes, texts))
        return n

    def _refuse_existing(self, ids: builtins.list[str]) -> None:
        with self._table.read() as r:
            found = r.lookup(ids)
        if found:
            dup = [i for i in ids if i in found][:5]
            raise InputError(f"{len(found)} id(s) already in collection {self.name!r}, e.g. {dup}; use upsert to "
                             "replace them or delete them first")

    def upsert(self, ids: Sequence[str], items: Sequence[Any] | None = None, *, vectors: ArrayLike | None = None,
               metadata: Sequence[dict[str, Any]] | None = None, sources: Sequence[str | None] | None = None,
               contents: Sequence[str | None] | None = None, hashes: Sequence[str | None] | None = None,
               prepared: bool = False, batch_size: int = 64, progress: bool = False) -> dict[str, int]:
        """Add new ids, replace changed ones and skip unchanged ones, in one commit.

        An item is unchanged when its content hash (with ``items``) or its stored vector (with ``vectors`` only)
        is the same: it is neither re-encoded nor rewritten; a changed metadata or source alone is updated in
        place.

        Parameters
        ----------
        ids, items, vectors, contents, hashes, prepared, batch_size, progress
            As for ``add``.
        metadata, sources : sequence or None
            As for ``add``; None keeps an existing item's metadata / source.

        Returns
        -------
        dict of str to int
            ``{"added", "updated", "unchanged"}``.

        Raises
        ------
        InputError, DimensionError, LockTimeoutError, ReadOnlyStorageError, StorageFullError
            As for ``add`` (an existing id is not an error here).
        """
        ids = _inputs.check_ids(ids)
        n = len(ids)
        metas = _inputs.check_metadata(metadata, n)
        srcs = _inputs.check_sources(sources, n)
        given = _inputs.check_contents(contents, n)
        given_hashes = _inputs.check_hashes(hashes, n)
        if items is None and vectors is None:
            raise InputError("pass items (raw inputs for the encoder), vectors=, or both (vectors computed for the "
                             "items elsewhere, e.g. on a cluster)")
        by_vector = items is None  # without items, "unchanged" means the same stored vector
        if vectors is not None:
            vectors = self._vectors_for(None, vectors, n, batch_size, progress, prepared)
        if items is not None:
            items = _inputs.check_items(items, n)
            hashes = self._hashes(items)
            texts = given if given is not None else self._contents_of(items)
        else:
            hashes = given_hashes or [None] * n
            texts = given if given is not None else [None] * n
        with self._table.write() as w:
            found = w.lookup(ids)
            if by_vector:  # compare with the stored rows (both prepared the same way)
                known = [i for i, id_ in enumerate(ids) if id_ in found]
                stored = w.vectors([ids[i] for i in known]) if known else np.empty((0, self.dim), np.float32)
                assert vectors is not None
                same = set(np.array(known, np.int64)[(stored == vectors[known]).all(axis=1)].tolist())
            encode, meta_only, unchanged = [], [], 0
            for i, id_ in enumerate(ids):
                old = found.get(id_)
                if old is None or (i not in same if by_vector else old.hash != hashes[i]):
                    encode.append(i)
                    continue
                new_meta = old.metadata if metas is None else metas[i]
                new_src = old.source if srcs is None else srcs[i]
                if (new_meta, new_src) != (old.metadata, old.source):
                    meta_only.append((id_, new_meta, new_src))
                else:
                    unchanged += 1
            replaced = [ids[i] for i in encode if ids[i] in found]
            if encode:
                if vectors is not None:
                    vecs = vectors[encode]
                else:
                    assert items is not None
                    vecs = self._vectors_for([items[i] for i in encode], None, len(encode), batch_size, progress)
                e_meta = [metas[i] if metas is not None else (found[ids[i]].metadata if ids[i] in found else "{}")
                          for i in encode]
                e_src = [srcs[i] if srcs is not None else
                         (_inputs.default_source(items[i]) if items is not None else
                          (found[ids[i]].source if ids[i] in found else None)) for i in encode]
                w.insert(Rows([ids[i] for i in encode], vecs, e_meta, e_src, [hashes[i] for i in encode],
                              [texts[i] for i in encode]), replace=replaced)
            if meta_only:
                w.update([m[0] for m in meta_only], [m[1] for m in meta_only], [m[2] for m in meta_only])
        return {"added": len(encode) - len(replaced), "updated": len(replaced) + len(meta_only),
                "unchanged": unchanged}

    def changed(self, ids: Sequence[str], items: Sequence[Any]) -> builtins.list[int]:
        """Which items ``upsert(ids, items)`` would encode, so a caller can encode only those elsewhere (e.g. on a
        cluster) and pass ``vectors=``.

        Parameters
        ----------
        ids : sequence of str
            Ids, as for ``upsert``.
        items : sequence
            Their raw items.

        Returns
        -------
        list of int
            Positions of the ids not stored yet, or stored with another content hash, in order.

        Raises
        ------
        InputError
            For bad ids or mismatched lengths.
        """
        ids = _inputs.check_ids(ids)
        items = _inputs.check_items(items, len(ids))
        hashes = self._hashes(items)
        with self._table.read() as r:
            found = r.lookup(ids)
        return [i for i, id_ in enumerate(ids) if id_ not in found or found[id_].hash != hashes[i]]

    def delete(self, ids: Sequence[str] | None = None, *, where: dict[str, Any] | None = None) -> int:
        """Delete items by id, or every item matching a filter, in one commit.

        Parameters
        ----------
        ids : sequence of str or None
            Ids to delete; unknown ones are ignored.
        where : dict or None
            A metadata filter (see ``search``); every matching item is deleted.

        Returns
        -------
        int
            How many items were deleted.

        Raises
        ------
        InputError
            Unless exactly one of ``ids`` and ``where`` is given, or for a bad filter.
        LockTimeoutError, ReadOnlyStorageError
            When the storage cannot be written now.
        """
        if (ids is None) == (where is None):
            raise InputError("pass ids or where= (exactly one of them) to delete")
        if where is not None:
            flt = filters.parse(where)
            with self._table.write() as w:
                return w.delete(w.ids(flt))
        ids = _inputs.check_ids(ids)
        with self._table.write() as w:
            return w.delete(ids)

    def compact(self) -> None:
        """Reclaim the space of deleted and replaced rows.

        The local backend rewrites its segments and rebuilds its index (recalibrating int8 ranges on the rows
        that are left); PostgreSQL runs ``VACUUM ANALYZE``.

        Raises
        ------
        LockTimeoutError, ReadOnlyStorageError, StorageFullError
            When the storage cannot be written now (nothing changes).
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
            Candidates (× k) a compressed index re-ranks with float32 vectors.

        Returns
        -------
        dict
            The new ``{"kind", "params"}``.

        Raises
        ------
        InputError
            For an unknown kind or setting, or a backend that cannot change its index
            (``capabilities.set_index`` is False: PostgreSQL).
        LockTimeoutError, ReadOnlyStorageError
            When the storage cannot be written now.
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
        from ..index import make_index

        make_index(kind, self.dim, self.metric, **params)  # validates kind and parameters
        self._table.set_index(kind, params)  # InputError where the backend cannot (capabilities.set_index)
        self.index_kind, self.index_params = kind, params
        return {"kind": kind, "params": dict(params)}

    @contextmanager
    def bulk(self) -> Iterator[Collection]:
        """Around a large load (an import, a first index of a corpus): the backend may defer index upkeep.

        PostgreSQL drops its HNSW index and builds it again from the loaded rows at the end, several times faster
        than growing it row by row; searches meanwhile stay correct (exact). The local backend needs nothing.

        Yields
        ------
        Collection
            This collection.
        """
        with self._table.bulk():
            yield self

    @contextmanager
    def writing(self) -> Iterator[Collection]:
        """Hold the write lock across several operations (other writers wait; readers carry on).

        Yields
        ------
        Collection
            This collection.

        Raises
        ------
        LockTimeoutError
            When another writer holds the lock longer than ``lock_timeout``.
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
        enc = self.encoder
        if enc is None:
            raise InputError(f"collection {self.name!r} is vectors-only (no encoder); search with a "
                             f"{self.dim}-d vector")
        # the query role (E5's "query:" prefix); the same as encode for symmetric encoders
        out = enc.encode_queries(list(queries), batch_size=batch_size, normalize=self.metric == "cosine")
        return np.asarray(self._truncated(out), dtype=np.float32)

    def search(self, query: Any, k: int = 10, where: dict[str, Any] | None = None, ef: int | None = None,
               nprobe: int | None = None, rescore: int | None = None) -> builtins.list[Hit]:
        """The ``k`` items nearest to one query, best first.

        Parameters
        ----------
        query : str, item or array_like
            A text or other item for the collection's encoder (embedded with its query role), or one vector of
            ``dim`` (or the encoder's full width for a Matryoshka collection) numbers.
        k : int
            How many hits (>= 1); fewer when fewer items match.
        where : dict or None
            Keep only items whose metadata matches (see ``store/filters.py``: ``{"lang": "ko"}``,
            ``{"year": {"$gte": 2020}}``, ``{"$or": [...]}``).
        ef : int or None
            HNSW search breadth for this call (None: the index's saved ``ef_search``).
        nprobe : int or None
            IVF lists scanned for this call (None: the saved ``nprobe``).
        rescore : int or None
            Candidates re-ranked with the float32 vectors, × k, for compressed precisions (None: the saved one).

        Returns
        -------
        list of Hit
            ``id``, ``score`` (higher is better: cosine, dot or negated L2), ``metadata``, ``source``.

        Raises
        ------
        InputError
            For a batch of vectors (use ``search_many``), a bad ``k``/``ef``/``nprobe``/``rescore`` or filter, a
            setting the backend or the index kind does not take (named), or a text query to a vectors-only
            collection.
        DimensionError
            For a vector of the wrong width.
        """
        if _inputs.is_vector(query) and np.asarray(query).ndim == 2:
            raise InputError("search takes one query; use search_many for a batch of vectors")
        return self.search_many([query], k=k, where=where, ef=ef, nprobe=nprobe, rescore=rescore)[0]

    def search_many(self, queries: Sequence[Any] | np.ndarray, k: int = 10, where: dict[str, Any] | None = None,
                    ef: int | None = None, batch_size: int = 64, nprobe: int | None = None,
                    rescore: int | None = None) -> builtins.list[builtins.list[Hit]]:
        """``search`` for a batch of queries, encoded and searched together (much faster per query).

        Parameters
        ----------
        queries : sequence or numpy.ndarray
            Texts/items for the encoder, or vectors: a list of them or an ``(m, dim)`` array; one kind per call.
        k, where, ef, nprobe, rescore
            As for ``search``.
        batch_size : int
            Queries per encoder call.

        Returns
        -------
        list of list of Hit
            One list per query, in the order given, each best first.

        Raises
        ------
        InputError, DimensionError
            As for ``search`` (an empty batch, or raw items mixed with vectors, is an InputError).
        """
        k = _inputs.check_k(k)
        params = SearchParams(
            ef_search=None if ef is None else _inputs.check_k(ef, "ef"),
            nprobe=None if nprobe is None else _inputs.check_k(nprobe, "nprobe"),
            rescore=None if rescore is None else _inputs.check_rescore(rescore))
        self._table.capabilities.check_search(params)  # before encoding anything
        flt = filters.parse(where) if where is not None else None
        q = self._queries(queries, batch_size)
        return self._table.search(q, k, flt, params)

    def count(self) -> int:
        """Number of live items.

        Returns
        -------
        int
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

    def ids(self, where: dict[str, Any] | None = None) -> builtins.list[str]:
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
        """
        flt = filters.parse(where) if where is not None else None
        with self._table.read() as r:
            return r.ids(flt)

    def sources(self, where: dict[str, Any] | None = None) -> dict[str, str | None]:
        """The source of every item (matching a filter), from one snapshot and without reading any vector: e.g. to
        find the items that came from some files (``embedlab index --sync``).

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
        """
        flt = filters.parse(where) if where is not None else None
        with self._table.read() as r:
            ids = r.ids(flt)
            found = r.lookup(ids) if ids else {}
        return {i: found[i].source for i in ids}

    def _found(self, r: Reader, ids: builtins.list[str]) -> dict[str, Stored]:
        found = r.lookup(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise UnknownKeyError(f"{len(missing)} id(s) not in collection {self.name!r}: {missing[:5]}")
        return found

    def get(self, ids: Sequence[str], missing: str = "error") -> builtins.list[Item]:
        """Items by id, in the order asked.

        Parameters
        ----------
        ids : sequence of str
            The ids wanted.
        missing : str
            ``"error"``: ids that are not present raise; ``"skip"``: they are left out.

        Returns
        -------
        list of Item
            ``id``, ``vector`` (``(dim,)`` float32; unit length in a cosine collection), ``metadata``, ``source``,
            ``content``.

        Raises
        ------
        UnknownKeyError
            With ``missing="error"``, naming ids that are not present.
        InputError
            For bad ids or an unknown ``missing``.
        """
        ids = _inputs.check_ids(ids)
        if missing not in ("error", "skip"):
            raise InputError(f"missing must be 'error' or 'skip', got {missing!r}")
        with self._table.read() as r:
            if missing == "skip":
                found = r.lookup(ids)
                ids = [i for i in ids if i in found]
                if not ids:
                    return []
            else:
                found = self._found(r, ids)
            vecs = r.vectors(ids)
            texts = r.contents(ids)
        return [Item(i, vecs[j], _meta(found[i].metadata), found[i].source, texts.get(i))
                for j, i in enumerate(ids)]

    def contents(self, ids: Sequence[str]) -> builtins.list[str | None]:
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
        """
        ids = _inputs.check_ids(ids)
        with self._table.read() as r:
            self._found(r, ids)
            texts = r.contents(ids)
        return [texts.get(i) for i in ids]

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
            ids, ``(n, dim)`` float32 vectors as stored, metadata JSON texts, sources, hashes and contents, in
            write order.

        Raises
        ------
        InputError
            For a bad ``batch_size``.
        """
        batch_size = _inputs.check_k(batch_size, "batch_size")
        with self._table.read() as r:
            yield from r.rows(batch_size)

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary of the collection.

        Returns
        -------
        dict
            ``name``, ``backend``, ``location``, ``encoder``, ``dim``, ``metric``, ``index`` ``{"kind",
            "params"}``, ``count``, ``generation``, ``created``, ``format_version``, ``readonly``, plus the
            backend's storage facts (``bytes``; local: ``path``, ``segments``, ``deleted_rows``).
        """
        manifest = self._table.manifest
        with self._table.read() as r:
            out = {"name": self.name, "backend": self.backend, "location": self.location,
                   "encoder": dict(manifest["encoder"]), "dim": self.dim, "metric": self.metric,
                   "index": {"kind": self.index_kind, "params": self.index_params},
                   "count": r.count(), "generation": int(r.generation), "created": manifest.get("created"),
                   "format_version": manifest["format_version"], "readonly": self.readonly}
        out.update(self._table.storage_info())
        return out

    def check(self, deep: bool = True) -> dict[str, Any]:
        """Verify what is stored (local backend: the catalogue, every segment's checksum, the manifest copy).

        Parameters
        ----------
        deep : bool
            Also read every vector (the full CRC32 of each local segment); False checks sizes and edges only.

        Returns
        -------
        dict
            ``{"ok": bool, "problems": [str, ...], "segments": int, "items": int, "deep": bool}``.
        """
        return self._table.check(deep)


