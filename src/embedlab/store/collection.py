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
from numbers import Number
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..encoders import DEFAULT_ENCODER, Encoder
from ..errors import DimensionError, EncoderMismatchError, InputError, UnknownKeyError
from ..index.base import SearchParams
from ..metrics import as_matrix, check_metric, normalize, norms
from ..vectors import Vectors
from . import _inputs, filters
from .backend import Reader, Table, connect
from .manifest import check_name, new_manifest
from .records import Hit, Item, Rows, Stored

__all__ = ["Collection", "Item", "Hit"]


def _resolve_encoder(encoder: str | Encoder | None) -> Encoder:
    if isinstance(encoder, Encoder):
        return encoder
    if encoder is not None and not isinstance(encoder, str):
        raise InputError(f"encoder must be a name or an Encoder, got {type(encoder).__name__}")
    from ..encoders import encoder as build

    return build(encoder or DEFAULT_ENCODER)


def _encoder_doc(enc: Encoder) -> dict[str, Any]:
    return {"name": enc.name, "dim": int(enc.dim), "metric": enc.metric, "fingerprint": enc.fingerprint}


def _is_vector(x: Any) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fiu"
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(
        isinstance(v, Number) and not isinstance(v, bool) for v in x
    )


def _meta(text: str) -> dict[str, Any]:
    import json

    return {} if text == "{}" else json.loads(text)


def _check_k(k: Any, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"{name} must be a positive integer, got {k!r}")
    return int(k)


def _check_rescore(rescore: Any) -> int:
    if isinstance(rescore, bool) or not isinstance(rescore, (int, np.integer)) or rescore < 1:
        raise InputError(f"rescore must be an integer >= 1 (re-rank rescore x k candidates with the float32 "
                         f"vectors), got {rescore!r}")
    return int(rescore)


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
        """Create an empty collection (InputError if the name is taken). ``encoder=None`` with ``dim`` makes a
        vectors-only collection (callers pass ``vectors=``; metric defaults to cosine). ``encoder`` may also be an
        encoder description as in ``info()["encoder"]`` (``{"name", "dim", "metric", "fingerprint"}``): the
        collection is bound to that encoder without loading it (imports use this).

        ``index`` is exact, hnsw or ivf; ``precision`` (float32, float16, int8, binary) and ``rescore`` choose the
        codes the index keeps and how many candidates it re-ranks with the float32 vectors (they may also be
        given in ``index_params``, with the kind's own: ``M``, ``ef_search``, ``nlist``, ``nprobe``, ``m`` …).
        ``dim`` below an encoder's width keeps a Matryoshka prefix: vectors truncated to ``dim`` and re-normalised;
        refused for encoders not trained for it (``matryoshka_dims``) unless ``force=True``."""
        check_name(name)
        enc = None
        if isinstance(encoder, dict):  # a description, e.g. from an export: bound by name, built on first use
            enc_doc = _described_encoder(encoder, dim, metric)
        elif encoder is None and dim is not None:
            if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or int(dim) <= 0:
                raise InputError(f"dim must be a positive integer, got {dim!r}")
            enc_doc = {"name": None, "dim": int(dim), "metric": check_metric(metric or "cosine"), "fingerprint": None}
        else:
            enc = _resolve_encoder(encoder)
            enc_doc = _encoder_doc(enc)
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
        """Open an existing collection; the encoder is rebuilt by name from the manifest when not given.
        A collection on read-only media opens read-only by itself (writes raise ReadOnlyStorageError)."""
        check_name(name)
        store = connect(backend, root)
        table = store.open(name, readonly, lock_timeout=lock_timeout, auto_compact=auto_compact)
        try:
            enc = None
            if encoder is not None:
                enc = _resolve_encoder(encoder)
                _check_encoder(table.manifest, enc)
        except BaseException:
            table.close()
            raise
        return cls(table, enc)

    @classmethod
    def open_or_create(cls, name: str, encoder: str | Encoder | None = None, **kw: Any) -> Collection:
        """Open ``name`` if it exists, else create it with the given settings."""
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
        """Names of the collections in ``backend`` / under ``root`` (default: the embedlab home)."""
        return connect(backend, root).names()

    @classmethod
    def drop(cls, name: str, root: str | Path | None = None, lock_timeout: float = 10.0,
             backend: str | None = None) -> None:
        """Delete a collection and everything stored for it (waits for a running writer first)."""
        check_name(name)
        connect(backend, root).drop(name, lock_timeout=lock_timeout)

    def close(self) -> None:
        """Release the storage (files, memory maps, connections); the object cannot be used afterwards."""
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
                enc = _resolve_encoder(name)
            except InputError as exc:
                if any(sep in name for sep in ("/", "\\")) and not Path(name).expanduser().exists():
                    raise InputError(f"collection {self.name!r} was built with the model folder {name}, which no "
                                     f"longer exists; restore it, or re-embed the stored texts with another "
                                     f"encoder: `embedlab reindex {self.name} --encoder NAME_OR_FOLDER` "
                                     f"(Python: Collection.open(..., encoder=...) with that model)") from None
                raise InputError(f"collection {self.name!r} was built with encoder {name!r}, which is not "
                                 f"registered here ({exc}); pass the Encoder instance to Collection.open "
                                 f"(the CLI: --encoder)") from None
            _check_encoder(manifest, enc)
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
        """Add new items (encoded from ``items`` or given as ``vectors``); an existing id raises InputError and
        nothing is written. Texts are kept as each item's content (``contents=`` sets it explicitly, e.g. with
        ``vectors=``). For rows exported from a collection (``export_rows``, Parquet), ``hashes=`` keeps their
        content hashes and ``prepared=True`` stores the vectors bit for bit (checked, not re-normalised). One
        commit; returns how many were added."""
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
        """Add new ids, replace changed ones, skip unchanged ones (same content hash, or the same vector: not
        re-encoded, not rewritten). ``metadata``/``sources`` of None keep an existing item's metadata and source;
        ``hashes``/``prepared`` as in ``add``. Returns ``{"added", "updated", "unchanged"}``."""
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
        """Positions of the items ``upsert(ids, items)`` would encode: ids not stored yet, or stored with another
        content hash. Lets a caller encode only those elsewhere (e.g. on a cluster) and pass ``vectors=``."""
        ids = _inputs.check_ids(ids)
        items = _inputs.check_items(items, len(ids))
        hashes = self._hashes(items)
        with self._table.read() as r:
            found = r.lookup(ids)
        return [i for i, id_ in enumerate(ids) if id_ not in found or found[id_].hash != hashes[i]]

    def delete(self, ids: Sequence[str] | None = None, *, where: dict[str, Any] | None = None) -> int:
        """Delete items by id (unknown ids are ignored) or every item matching ``where``; how many were deleted."""
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
        """Reclaim the space of deleted and replaced rows (the local backend rewrites its segments and rebuilds its
        index, recalibrating int8 ranges on the rows that are left)."""
        self._table.compact()

    def reindex(self, index: str | None = None, index_params: dict[str, Any] | None = None, *,
                precision: str | None = None, rescore: int | None = None) -> dict[str, Any]:
        """Rebuild the index with other settings (kind, precision, rescore, the kind's parameters); the vectors are
        untouched. Settings not given are kept when the kind stays the same. Returns the new ``{"kind",
        "params"}``. The local backend rebuilds from its segments (``embedlab plan`` estimates how long)."""
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
        """Around a large load (an import, a first index of a corpus): the backend may defer index upkeep to the
        end — PostgreSQL drops its HNSW index and builds it again from the loaded rows, several times faster than
        growing it row by row; searches meanwhile stay correct (exact). The local backend needs nothing."""
        with self._table.bulk():
            yield self

    @contextmanager
    def writing(self) -> Iterator[Collection]:
        """Hold the write lock across several operations (other writers wait; readers carry on)."""
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
        if all(_is_vector(q) for q in queries):
            return as_matrix(self._truncated(np.asarray(queries, dtype=np.float32)), dim=self.dim,
                             name="query vectors")
        if any(_is_vector(q) for q in queries):
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
        if _is_vector(query) and np.asarray(query).ndim == 2:
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
        k = _check_k(k)
        params = SearchParams(
            ef_search=None if ef is None else _check_k(ef, "ef"),
            nprobe=None if nprobe is None else _check_k(nprobe, "nprobe"),
            rescore=None if rescore is None else _check_rescore(rescore))
        self._table.capabilities.check_search(params)  # before encoding anything
        flt = filters.parse(where) if where is not None else None
        q = self._queries(queries, batch_size)
        return self._table.search(q, k, flt, params)

    def count(self) -> int:
        """Number of live items."""
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
        """Ids (of the items matching ``where``, or all), in the order they were last written (an upsert that
        changes an item moves it last)."""
        flt = filters.parse(where) if where is not None else None
        with self._table.read() as r:
            return r.ids(flt)

    def sources(self, where: dict[str, Any] | None = None) -> dict[str, str | None]:
        """id → source of every item (matching ``where``), in write order, from one snapshot and without reading
        any vector: e.g. to find the items that came from some files (``embedlab index --sync``)."""
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
        """Items by id, in the order asked. ``missing="error"``: UnknownKeyError names ids that are not present;
        ``missing="skip"``: they are left out."""
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
        """The stored content (the text each item was encoded from; None where there is none) of ``ids``, in the
        order asked; UnknownKeyError names ids that are not present."""
        ids = _inputs.check_ids(ids)
        with self._table.read() as r:
            self._found(r, ids)
            texts = r.contents(ids)
        return [texts.get(i) for i in ids]

    def vectors(self) -> Vectors:
        """All live vectors keyed by id (a memory-mapped view when the local backend has nothing deleted)."""
        with self._table.read() as r:
            keys, mat = r.matrix()
        return Vectors(keys, mat)

    def export_rows(self, batch_size: int = 10_000) -> Iterator[Rows]:
        """Every live item (ids, vectors, metadata JSON, sources, hashes, contents) in write order, in batches of
        ``batch_size``, all from one snapshot (for export to other formats and backends)."""
        batch_size = _check_k(batch_size, "batch_size")
        with self._table.read() as r:
            yield from r.rows(batch_size)

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary: name, location, encoder, index, counts, generation, bytes stored."""
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
        """Verify what is stored (local backend: the catalogue, every segment's checksum, the manifest copy):
        ``{"ok", "problems", ...}``; ``deep=False`` skips reading every vector."""
        return self._table.check(deep)


def _described_encoder(doc: dict[str, Any], dim: int | None, metric: str | None) -> dict[str, Any]:
    """A checked encoder description for the manifest."""
    d = doc.get("dim")
    if isinstance(d, bool) or not isinstance(d, int) or d <= 0:
        raise InputError(f"the encoder description needs a positive integer 'dim', got {d!r}")
    if dim is not None and int(dim) != d:
        raise DimensionError(f"dim={dim} but the encoder description says {d}")
    name, fp = doc.get("name"), doc.get("fingerprint")
    if not (name is None or isinstance(name, str)) or not (fp is None or isinstance(fp, str)):
        raise InputError("the encoder description's 'name' and 'fingerprint' must be strings or null")
    out = {"name": name, "dim": d, "metric": check_metric(metric or doc.get("metric") or "cosine"),
           "fingerprint": fp}
    src = doc.get("source_dim")
    if src is not None:  # a Matryoshka prefix of a wider encoder
        if isinstance(src, bool) or not isinstance(src, int) or src < d:
            raise InputError(f"the encoder description's 'source_dim' must be an integer >= dim ({d}), got {src!r}")
        if src != d:
            out["source_dim"] = src
    return out


def _check_encoder(manifest: dict[str, Any], enc: Encoder) -> None:
    want = manifest["encoder"]
    name = manifest.get("name", "?")
    if not want.get("name"):
        raise EncoderMismatchError(
            f"collection {name!r} is vectors-only ({want['dim']}-d) but encoder {enc.name!r} was given; open it "
            "without an encoder and pass vectors="
        )
    if enc.name != want["name"] or int(enc.dim) != int(want.get("source_dim") or want["dim"]) or (
        want.get("fingerprint") and enc.fingerprint != want["fingerprint"]
    ):
        raise EncoderMismatchError(
            f"collection {name!r} was built with encoder {want['name']!r} ({want['dim']}-d, fingerprint "
            f"{want.get('fingerprint')}) but was opened with {enc.name!r} ({enc.dim}-d, fingerprint "
            f"{enc.fingerprint}); open it with the original encoder, or re-embed its stored contents with the new one: "
            f"embedlab reindex {name} --encoder {enc.name}"
        )


def index_settings(index_params: dict[str, Any] | None, precision: str | None, rescore: int | None
                   ) -> dict[str, Any]:
    """One params dict from ``index_params`` plus the ``precision``/``rescore`` shortcuts (a float32 precision is
    the default and is not stored); InputError when both give a different value."""
    params = dict(index_params or {})
    for key, value in (("precision", precision), ("rescore", rescore)):
        if value is None:
            continue
        if key in params and params[key] != value:
            raise InputError(f"{key} given twice ({value!r} and index_params[{key!r}]={params[key]!r}); pass it once")
        params[key] = value
    if params.get("precision") == "float32":
        params.pop("precision")
    return params


def matryoshka_dim(enc: Encoder, dim: Any, force: bool) -> int:
    """The collection width for a Matryoshka prefix of ``enc``'s vectors: checked against the widths the encoder
    was trained to give (its ``matryoshka_dims``); any narrower width with ``force``."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or int(dim) <= 0:
        raise InputError(f"dim must be a positive integer, got {dim!r}")
    dim = int(dim)
    if dim > enc.dim:
        raise DimensionError(f"dim={dim} is larger than encoder {enc.name!r}'s {enc.dim}-d vectors; a Matryoshka "
                             f"prefix can only be narrower: pick a dim below {enc.dim}, or drop dim")
    # an optional attribute of the encoders trained for it (fine-tuned, adapters); Encoder does not declare it yet
    trained = getattr(enc, "matryoshka_dims", None)
    if force or (trained and dim in trained):
        return dim
    if not trained:
        raise InputError(f"encoder {enc.name!r} was not trained for Matryoshka truncation, so its first {dim} "
                         f"dimensions are not a {dim}-d embedding on their own (search quality may drop sharply); "
                         f"drop dim to keep all {enc.dim}, or pass force=True (CLI --force) to truncate anyway")
    widths = ", ".join(str(int(d)) for d in trained)
    raise InputError(f"encoder {enc.name!r} was trained for Matryoshka widths {widths}, not {dim}; pick one of them, "
                     "or pass force=True (CLI --force) to truncate to another width anyway")