"""The write path of a Collection: the encoder it is bound to, preparing vectors, and committing items.

``Collection`` (``store/collection.py``) inherits ``encoder``, ``add``, ``upsert``, ``changed`` and ``delete`` from
``CollectionWrites``: everything that validates items, encodes them (or checks the vectors given instead), decides
what an upsert changes and writes it through the backend's ``Writer`` in one transaction. The methods use only the
collection's Table and the settings its manifest fixes (``name``, ``dim``, ``source_dim``, ``metric``), which
``Collection.__init__`` sets.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..encoders import Encoder
from ..errors import FilterWarning, InputError, caller_level
from ..metrics import as_matrix, normalize, norms
from . import _inputs, filters
from .backend import Table
from .binding import check_encoder, resolve_encoder
from .chroma import chroma_names
from .records import Rows

__all__ = ["CollectionWrites"]


class CollectionWrites:
    """The part of ``Collection`` that puts items in: encoder binding, vector preparation, add/upsert/delete."""

    _table: Table
    _encoder: Encoder | None
    name: str
    dim: int
    source_dim: int
    metric: str

    @property
    def encoder(self) -> Encoder | None:
        """The collection's encoder, built from the manifest on first use.

        Returns
        -------
        Encoder or None
            The encoder the collection was built with (checked against its recorded name, width and
            fingerprint); None for a vectors-only collection.

        Raises
        ------
        InputError
            When the encoder cannot be rebuilt here: its name is not registered, or its model folder is gone
            (the message says how to re-embed).
        EncoderMismatchError
            When the encoder built under the recorded name is not the one the collection was built with.
        ModelNotFoundError
            When the encoder's model files are not installed.
        MissingDependencyError
            When the encoder needs a package that is not installed (the message names the extra).
        """
        manifest = self._table.manifest
        if self._encoder is None and manifest["encoder"].get("name"):
            name = manifest["encoder"]["name"]
            try:
                enc = resolve_encoder(name)
            except InputError as exc:
                if any(sep in name for sep in ("/", "\\")) and not Path(name).expanduser().exists():
                    what = (f"collection {self.name!r} was built with the model folder {name}, which no longer "
                            f"exists; restore it, or re-embed the stored texts with another encoder: `embedlab "
                            f"reindex {self.name} --encoder NAME_OR_FOLDER`")
                    raise InputError(f"{what} (Python: Collection.open(..., encoder=...) with that model)",
                                     cli=what) from None
                what = f"collection {self.name!r} was built with encoder {name!r}, which is not registered here ({exc})"
                raise InputError(f"{what}; pass the Encoder instance to Collection.open",
                                 cli=f"{what}; re-embed the stored texts with an encoder that is: embedlab reindex "
                                     f"{self.name} --encoder NAME_OR_FOLDER") from None
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
        """Full-width encoder vectors cut to the collection's Matryoshka prefix and re-normalised.

        ``(n, source_dim)`` or ``(source_dim,)`` in, ``(n, dim)`` float32 unit rows out; anything else is returned
        as given (the caller checks the dimension).
        """
        if self.source_dim == self.dim:
            return vectors
        arr = np.asarray(vectors, dtype=np.float32)
        if arr.ndim in (1, 2) and arr.shape[-1] == self.source_dim:
            return normalize(np.atleast_2d(arr)[:, : self.dim])
        return vectors

    def _text_only(self) -> bool:
        return self.encoder is not None and tuple(self.encoder.modalities) == ("text",)

    def _hashes(self, items: Sequence[Any]) -> list[str | None]:
        text_only = self._text_only()
        return [_inputs.item_hash(x, text_only) for x in items]

    def _contents_of(self, items: Sequence[Any]) -> list[str | None]:
        text_only = self._text_only()
        return [x if _inputs.is_text(x, text_only) else None for x in items]

    # ------------------------------------------------------------------ writes
    def add(self, ids: Sequence[str], items: Sequence[Any] | None = None, *, vectors: ArrayLike | None = None,
            metadata: Sequence[dict[str, Any]] | None = None, sources: Sequence[str | None] | None = None,
            contents: Sequence[str | None] | None = None, hashes: Sequence[str | None] | None = None,
            prepared: bool = False, batch_size: int = 64, progress: bool = False,
            documents: Sequence[Any] | None = None, embeddings: ArrayLike | None = None,
            metadatas: Sequence[dict[str, Any]] | None = None) -> int:
        """Add new items in one commit; an id that exists already stops it before anything is written.

        Parameters
        ----------
        ids : sequence of str
            ``n`` unique, non-empty ids (ints are turned into strings).
        items : sequence or None
            ``n`` raw inputs for the encoder (texts, image/audio paths ...), embedded with its document role;
            texts are kept as each item's content.
        vectors : array_like or None
            ``(n, dim)`` vectors (taken as float32) instead of (or computed elsewhere for) ``items``; ``(n,
            source_dim)`` full-width vectors of a Matryoshka collection's encoder are cut to its prefix. Cosine
            collections store unit rows.
        metadata : sequence of dict or None
            JSON metadata per item (what ``where`` filters match): string keys; finite numbers, integers within
            64 bits.
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
            Items per encoder call (>= 1).
        progress : bool
            Show a progress bar while encoding.
        documents, embeddings, metadatas : optional
            Chroma's names of ``items``, ``vectors`` and ``metadata`` (``store/chroma.py``); giving one argument
            under both names raises ``TypeError``.

        Returns
        -------
        int
            How many items were added (``len(ids)``).

        Raises
        ------
        InputError
            For an existing or bad id, mismatched lengths, bad metadata, sources, contents or hashes, no items and
            no vectors, raw items to a vectors-only collection, prepared vectors of a cosine collection that are
            not unit length, a read-only handle, or an encoder that cannot be rebuilt here (see ``encoder``).
        DimensionError
            For vectors of the wrong width.
        NonFiniteError
            For vectors (given or encoded) holding NaN or infinity.
        LockTimeoutError
            When another writer holds the collection longer than ``lock_timeout`` seconds (nothing is written).
        ReadOnlyStorageError
            When the storage is on read-only media or not writable (nothing is written).
        StorageFullError
            When the disk fills up (nothing is written).
        CollectionNotFoundError
            When the collection was dropped (perhaps created again under its name) after this handle opened it
            (nothing is written).
        """
        items, vectors, metadata = chroma_names(items, vectors, metadata, documents, embeddings, metadatas)
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
        texts: list[str | None] = (given if given is not None else
                                            self._contents_of(items) if items is not None else [None] * n)
        with self._table.write() as w:
            w.insert(Rows(ids, vecs, metas, srcs, hashes, texts))
        return n

    def _refuse_existing(self, ids: list[str]) -> None:
        with self._table.read() as r:
            found = r.lookup(ids)
        if found:
            dup = [i for i in ids if i in found][:5]
            raise InputError(f"{len(found)} id(s) already in collection {self.name!r}, e.g. {dup}; use upsert to "
                             "replace them or delete them first")

    def upsert(self, ids: Sequence[str], items: Sequence[Any] | None = None, *, vectors: ArrayLike | None = None,
               metadata: Sequence[dict[str, Any]] | None = None, sources: Sequence[str | None] | None = None,
               contents: Sequence[str | None] | None = None, hashes: Sequence[str | None] | None = None,
               prepared: bool = False, batch_size: int = 64, progress: bool = False,
               documents: Sequence[Any] | None = None, embeddings: ArrayLike | None = None,
               metadatas: Sequence[dict[str, Any]] | None = None) -> dict[str, int]:
        """Add new ids, replace changed ones and skip unchanged ones, in one commit.

        An item is unchanged when its content hash (with ``items``) or its stored vector (with ``vectors`` only)
        is the same: it is neither re-encoded nor rewritten; a changed metadata or source alone is updated in
        place.

        Parameters
        ----------
        ids : sequence of str
            ``n`` unique, non-empty ids, as for ``add``.
        items : sequence or None
            ``n`` raw inputs for the encoder, as for ``add``.
        vectors : array_like or None
            ``(n, dim)`` vectors (taken as float32), as for ``add``.
        metadata : sequence of dict or None
            As for ``add``; None keeps an existing item's metadata.
        sources : sequence of (str or None), optional
            As for ``add``; None keeps an existing item's source.
        contents : sequence of (str or None), optional
            As for ``add``.
        hashes : sequence of (str or None), optional
            As for ``add``.
        prepared : bool
            As for ``add``.
        batch_size : int
            Items per encoder call (>= 1).
        progress : bool
            Show a progress bar while encoding.
        documents, embeddings, metadatas : optional
            Chroma's names of ``items``, ``vectors`` and ``metadata`` (``store/chroma.py``); giving one argument
            under both names raises ``TypeError``.

        Returns
        -------
        dict of str to int
            ``{"added", "updated", "unchanged"}``: counts that sum to ``n``.

        Raises
        ------
        InputError
            As for ``add`` (an existing id is not an error here).
        DimensionError
            For vectors of the wrong width.
        NonFiniteError
            For vectors (given or encoded) holding NaN or infinity.
        LockTimeoutError
            When another writer holds the collection longer than ``lock_timeout`` seconds (nothing is written).
        ReadOnlyStorageError
            When the storage is on read-only media or not writable (nothing is written).
        StorageFullError
            When the disk fills up (nothing is written).
        CollectionNotFoundError
            When the collection was dropped (perhaps created again under its name) after this handle opened it
            (nothing is written).
        """
        items, vectors, metadata = chroma_names(items, vectors, metadata, documents, embeddings, metadatas)
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

    def changed(self, ids: Sequence[str], items: Sequence[Any]) -> list[int]:
        """Which items ``upsert(ids, items)`` would encode.

        A caller can then encode only those elsewhere (e.g. on a cluster) and pass ``vectors=``.

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
            For bad ids (empty list, duplicates, non-strings) or mismatched lengths.
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
            Unless exactly one of ``ids`` and ``where`` is given, for bad ids or a bad filter, or for a read-only
            handle.
        LockTimeoutError
            When another writer holds the collection longer than ``lock_timeout`` seconds (nothing is deleted).
        ReadOnlyStorageError
            When the storage is on read-only media or not writable (nothing is deleted).
        StorageFullError
            When the disk is full (nothing is deleted).
        CollectionNotFoundError
            When the collection was dropped (perhaps created again under its name) after this handle opened it
            (nothing is deleted).

        Warns
        -----
        FilterWarning
            When ``where`` matched nothing and the stored metadata says why (``filter_warnings``).
        """
        if (ids is None) == (where is None):
            raise InputError("pass ids or where= (exactly one of them) to delete")
        if where is not None:
            flt = filters.parse(where)
            with self._table.write() as w:
                deleted = w.delete(w.ids(flt))
            if not deleted:
                self._warn_unmatched(flt)
            return deleted
        ids = _inputs.check_ids(ids)
        with self._table.write() as w:
            return w.delete(ids)

    # ------------------------------------------------------------------ filters that match nothing
    def _filter_notes(self, flt: filters.Filter) -> list[str]:
        """Why ``flt`` matched nothing, as far as the stored metadata tells (nothing for an empty collection)."""
        with self._table.read() as r:
            if r.count() == 0:
                return []
            types = r.key_types(filters.keys_of(flt))
        return filters.explain_empty(flt, types)

    def _warn_unmatched(self, flt: filters.Filter | None) -> None:
        """Issue a ``FilterWarning`` per reason the metadata gives for a filter that matched nothing.

        Call it only when nothing was found.
        """
        if flt is None:
            return
        for note in self._filter_notes(flt):
            warnings.warn(FilterWarning(f"the filter matched nothing in collection {self.name!r}: {note}"),
                          stacklevel=caller_level())
