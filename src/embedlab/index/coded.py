"""What the FAISS-backed index kinds share (HNSW, compressed exact, IVF).

Our int64 ids over FAISS positions, tombstone deletes, filters, training, the float32 rows that rescore compressed
codes, and persistence. What differs between the kinds is their ``FaissCodes`` (``faiss_codes.py``).

FAISS numbers rows 0..n-1 in insertion order ("positions"); the ``IdMap`` keeps position -> id and a sorted
id -> position map. ``remove`` marks tombstones that searches exclude through a FAISS ID selector; once more
than the kind's ``compact_fraction`` of the positions are dead the index is rebuilt from the live rows. A filter
keeping few rows is answered exactly over their float32 rows (recall 1.0) when that costs less than the coded
search would (the kind's ``exact_limit``); a broad one runs the coded search with a selector.

Float32 rows come from, in order: a *vector source* set with ``set_vector_source`` (a collection's memory-mapped
segments: resident memory stays the codes), FAISS's own storage (float32 HNSW), or the index's own copy (kept
when neither exists, saved as ``vectors.npy`` and memory-mapped by ``load(..., mmap=True)``).

An index that must be trained (int8 ranges, IVF centroids) keeps rows added before training in a float32
buffer, searched exactly, and trains itself on them once there are ``train_min()`` of them (or when ``train``
is called with a sample); then they move into the codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from .._progress import progress_bar
from ..errors import InputError
from ..metrics import as_matrix, normalize
from . import codec
from .base import Index, RowSource, SearchParams
from .faiss_codes import FaissCodes
from .idmap import IdMap
from .kernels import THREADS, bitmap_selector, neg_distances, padded_topk, prepare_queries, set_threads
from .quantize import Calibration, binarize, check_rescore
from .rescore import rescore_topk

ADD_CHUNK = 20_000  # rows per FAISS add call (progress bar granularity)
_NO_SETTINGS = SearchParams()  # a call without per-call settings
C = TypeVar("C", bound=FaissCodes)


class CodedIndex(Index, Generic[C]):
    """Base of the FAISS-backed kinds (see the module docstring): an index over one kind's ``FaissCodes``.

    A kind's class builds its ``FaissCodes`` in its constructor and passes it here; everything else is shared.

    Parameters
    ----------
    codes : FaissCodes
        The kind's FAISS structures (the type parameter ``C``), with the dimension, metric, precision and saved
        settings.
    rescore : int, optional
        Compressed codes: re-rank ``rescore × k`` candidates with the float32 vectors (None: the precision's
        default; must be None for float32 codes).

    Raises
    ------
    InputError
        A rescore factor the precision does not take.
    """

    kind = "coded"

    def __init__(self, codes: C, rescore: int | None = None) -> None:
        super().__init__(codes.dim, codes.metric)
        self._codes: C = codes
        self.precision = codes.precision
        self.rescore = check_rescore(rescore, codes.rescore_precision)
        #: the settings saved in index.json (the kind's own, shared with its FaissCodes)
        self.params: dict[str, Any] = codes.params
        self._source: RowSource | None = None
        self._reset()

    def _reset(self, keep_training: bool = False) -> None:
        """Empty the index (keeping the training when asked)."""
        self._codes.reset(keep_training)
        self._map = IdMap()
        self._floats: np.ndarray | None = None  # own float32 rows by position (capacity may exceed the positions)
        self._pending_ids = np.empty(0, np.int64)  # rows waiting for training
        self._pending = np.empty((0, self.dim), np.float32)

    # ------------------------------------------------------------------ state
    @property
    def calibration(self) -> Calibration | None:
        """The int8 ranges the codes use.

        Returns
        -------
        Calibration or None
            None before calibration and for other precisions.
        """
        return self._codes.calibration

    @property
    def trained(self) -> bool:
        """Whether the codes are trained (always for kinds that need no training).

        Returns
        -------
        bool
            False while rows wait in the float32 buffer for training (int8 ranges, IVF centroids).
        """
        return self._codes.trained

    def train_min(self) -> int:
        """Rows an untrained index waits for before it trains itself on them.

        Returns
        -------
        int
            A row count: 1000 for int8, 39 × ``min_train()`` for IVF; 0 for codes that need no training.
        """
        return self._codes.train_min() if self._codes.needs_training else 0

    def __len__(self) -> int:
        """Number of live rows (coded and waiting for training)."""
        return len(self._map) + len(self._pending_ids)

    def ids(self) -> np.ndarray:
        """The live ids.

        Returns
        -------
        np.ndarray
            ``(len(self),)`` int64: the coded rows in insertion order, then those waiting for training.
        """
        return np.concatenate([self._map.live_ids(), self._pending_ids])

    def memory_bytes(self) -> int:
        """Resident bytes of the index.

        The kind's FAISS structures (codes; HNSW's graph, IVF's in-memory lists and centroids), the id maps, rows
        waiting for training and any float32 rows this index keeps in memory itself (not a source's, not a memory
        map).

        Returns
        -------
        int
            Bytes, >= 0.
        """
        out = self._codes.memory_bytes() + self._map.nbytes + self._pending.nbytes
        if self._floats is not None and not isinstance(self._floats, np.memmap):
            out += self._floats.nbytes
        return int(out)

    # ------------------------------------------------------------------ float32 rows
    def set_vector_source(self, source: RowSource | None) -> None:
        """Read float32 rows (for rescoring and exact filtered search) through ``source`` instead of keeping a copy.

        A Collection passes its memory-mapped segments, so resident memory stays the compressed codes.

        Parameters
        ----------
        source : RowSource or None
            ``(m,) int64`` sorted, distinct ids -> ``(m, dim)`` float32 rows as the index stores them (unit length
            for cosine); None: no source.
        """
        self._source = source
        if source is not None:
            self._floats = None

    @property
    def has_vector_source(self) -> bool:
        """Whether a vector source was set with ``set_vector_source``.

        Returns
        -------
        bool
            True while a source is set.
        """
        return self._source is not None

    def _keeps_floats(self) -> bool:
        """Whether this index must keep its own float32 copy (nothing else can give it the rows it rescores)."""
        return self._source is None and not self._codes.holds_floats and self.rescore is not None

    def _can_read_floats(self) -> bool:
        return self._source is not None or self._codes.holds_floats or self._floats is not None

    def _no_floats(self) -> InputError:
        return InputError(f"this {self.kind} index ({self.precision}) has no float32 vectors to rescore with: it "
                          "was saved without them (a collection keeps them in its segments); call "
                          "set_vector_source(fn) first")

    def _fetch(self, ids: np.ndarray) -> np.ndarray:
        """Float32 rows of sorted, distinct live ids."""
        if self._source is not None:
            return self._source(ids)
        pos = self._map.find(ids)
        rows = self._codes.floats() if self._codes.holds_floats else self._floats
        if rows is None:
            raise self._no_floats()
        return np.take(rows, pos, axis=0)

    def _rows_at_positions(self, pos: np.ndarray) -> np.ndarray:
        own = self._codes.floats() if self._codes.holds_floats else self._floats if self._source is None else None
        if own is not None:
            return np.take(own, pos, axis=0)
        ids = self._map.pos_ids[pos]
        o = np.argsort(ids, kind="stable")
        rows = np.empty((len(pos), self.dim), np.float32)
        rows[o] = self._fetch(ids[o])
        return rows

    def _keep_floats(self, start: int, vecs: np.ndarray) -> None:
        if not self._keeps_floats():
            return
        need = start + len(vecs)
        cur = self._floats
        if cur is None or len(cur) < need or not cur.flags.writeable:
            cap = max(need, 2 * (len(cur) if cur is not None else 0), 1024)
            new = np.empty((cap, self.dim), np.float32)
            if cur is not None and start:
                new[:start] = cur[:start]
            self._floats = cur = new
        cur[start:need] = vecs

    def _coded_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Ids and float32 rows of the live coded rows (not the pending ones), in position order."""
        live = self._map.live_positions()
        rows = self._rows_at_positions(live) if len(live) else np.empty((0, self.dim), np.float32)
        return self._map.pos_ids[live], np.asarray(rows, np.float32)

    # ------------------------------------------------------------------ mutation
    def _prepare(self, vectors: ArrayLike) -> np.ndarray:
        vecs = as_matrix(vectors, dim=self.dim, name="vectors")
        return normalize(vecs) if self.metric == "cosine" else vecs

    def add(self, ids: Iterable[int], vectors: ArrayLike, progress: bool = False) -> None:
        """Add rows (cosine: stored normalised); before training they wait in a float32 buffer, searched exactly.

        Once the buffer holds ``train_min()`` rows the index trains itself on a sample of them
        (``FaissCodes.sample``) and codes them; rows that cannot train (all identical) stay buffered. Coded rows
        go to FAISS in chunks of 20,000 (``ADD_CHUNK``), the id map following each chunk, so an interrupted add
        leaves a consistent index.

        Parameters
        ----------
        ids : iterable of int
            ``(n,)`` int64 new ids, distinct.
        vectors : array_like
            ``(n, dim)`` finite values, any real dtype (coded from float32).
        progress : bool
            Show a progress bar of the rows coded (moving every 20,000 rows; off when stderr is not a terminal).

        Raises
        ------
        DimensionError
            ``vectors`` not ``(n, dim)`` (an InputError).
        NonFiniteError
            NaN or infinity in ``vectors`` (an InputError).
        InputError
            Not one id per row, repeated ids, or an id already present (remove it first to replace its vector).
        """
        vecs = as_matrix(vectors, dim=self.dim, name="vectors")
        ids = self._ids(ids, len(vecs))
        if not len(ids):
            return
        present = self._map.find(ids) >= 0
        if len(self._pending_ids):
            present |= np.isin(ids, self._pending_ids)
        if present.any():
            raise InputError(
                f"ids already in the index: {ids[present][:5].tolist()}; remove them first to replace their vectors"
            )
        vecs = normalize(vecs) if self.metric == "cosine" else vecs
        if not self.trained:
            self._pending_ids = np.concatenate([self._pending_ids, ids])
            self._pending = np.concatenate([self._pending, vecs]).astype(np.float32, copy=False)
            if len(self._pending_ids) >= self._codes.train_min():
                self._self_train()
            return
        self._insert(ids, vecs, progress)

    def _self_train(self) -> None:
        """Train on the buffered rows (when they allow it) and move them into the codes."""
        try:
            self._codes.train(self._codes.sample(self._pending))
        except InputError:
            return  # e.g. all identical: keep buffering (searched exactly) until the rows allow training
        ids, vecs = self._pending_ids, self._pending
        self._pending_ids, self._pending = np.empty(0, np.int64), np.empty((0, self.dim), np.float32)
        self._insert(ids, vecs)

    def train(self, vectors: ArrayLike) -> None:
        """Train the codes on a sample of vectors (int8: calibrate each dimension's range; IVF: the centroids).

        Rows already added are re-encoded with the new training (int8: recalibration). Codes that need no
        training ignore it.

        Parameters
        ----------
        vectors : array_like
            ``(n, dim)`` finite sample rows, any real dtype (cosine: normalised first).

        Raises
        ------
        DimensionError
            ``vectors`` not ``(n, dim)`` (an InputError).
        NonFiniteError
            NaN or infinity in ``vectors`` (an InputError).
        InputError
            A sample that cannot train (empty, all identical, fewer than an IVF's nlist).
        """
        if not self._codes.needs_training:
            return
        x = self._prepare(vectors)
        coded_ids, coded = self._coded_rows()
        live_ids = np.concatenate([coded_ids, self._pending_ids])
        live = np.concatenate([coded, self._pending])
        self._reset()
        self._codes.train(x)
        if len(live_ids):
            o = np.argsort(live_ids, kind="stable")
            self._insert(live_ids[o], live[o])

    def _insert(self, ids: np.ndarray, vecs: np.ndarray, progress: bool = False) -> None:
        with self._codes.building(), progress_bar(len(vecs), f"{self.kind} build", "row", progress,
                                                  unit_scale=True) as bar:
            # bookkeeping follows each chunk, so an interrupted add leaves a consistent index
            for s in range(0, len(vecs), ADD_CHUNK):
                start = self._codes.ntotal
                part = vecs[s : s + ADD_CHUNK]
                self._codes.add(self._codes.encode(part), start)
                self._keep_floats(start, part)
                self._map.append(ids[s : s + ADD_CHUNK], start)
                bar.update(len(part))

    def remove(self, ids: Iterable[int]) -> int:
        """Remove rows by id.

        Removal marks tombstones (searches exclude them through a FAISS ID selector); the codes are rebuilt
        (``compact``) once more than the kind's ``compact_fraction`` of the positions are dead (a quarter; IVF:
        half).

        Parameters
        ----------
        ids : iterable of int
            ``(m,)`` int64 ids to remove (absent ones are ignored, repeated ones count once).

        Returns
        -------
        int
            How many of them were present (0 to m).

        Raises
        ------
        InputError
            A rebuild was due but there are no float32 rows to rebuild from (see ``compact``).
        """
        ids = np.unique(np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, np.int64).ravel())
        gone = 0
        if len(self._pending_ids):
            keep = ~np.isin(self._pending_ids, ids)
            gone = int((~keep).sum())
            self._pending_ids, self._pending = self._pending_ids[keep], self._pending[keep]
        pos = self._map.find(ids)
        pos = pos[pos >= 0]
        if not len(pos):
            return gone
        self._map.kill(pos)
        if self._map.n_dead > self._codes.compact_fraction * self._codes.ntotal:
            self.compact()
        return gone + len(pos)

    def compact(self, progress: bool = False) -> None:
        """Drop removed rows and reclaim their memory.

        The codes are rebuilt from the live rows' float32 vectors (int8 ranges recalibrated from them; IVF keeps
        its centroids). Without float32 rows to read, a kind that can drop positions from its codes directly
        (IVF) does that instead.

        Parameters
        ----------
        progress : bool
            Show a progress bar while the codes are rebuilt.

        Raises
        ------
        InputError
            No float32 rows to rebuild from (saved without them and no vector source set).
        """
        if not self._can_read_floats() and self.trained and self._codes.drop(self._map.dead):
            self._map = IdMap(self._map.live_ids())
            return
        ids, vecs = self._coded_rows()
        pend_ids, pend = self._pending_ids, self._pending
        vecs = np.array(vecs, dtype=np.float32)  # detach from the storage being rebuilt
        self._reset(keep_training=not self._codes.retrains_on_rebuild)
        if self._codes.needs_training and not self.trained and len(ids):
            try:
                self._codes.train(self._codes.sample(vecs))
            except InputError:  # e.g. one row left: buffer it, searched exactly
                pass
        if not self.trained:
            self._pending_ids = np.concatenate([ids, pend_ids])
            self._pending = np.concatenate([vecs, pend]).astype(np.float32, copy=False)
            return
        if len(ids):
            self._insert(ids, vecs, progress)
        self._pending_ids, self._pending = pend_ids, pend

    # ------------------------------------------------------------------ search
    def search(
        self, queries: ArrayLike, k: int = 10, filter: Iterable[int] | None = None,
        params: SearchParams | None = None, rescore: int | None = None, **kw: Any,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate k best rows per query.

        The kind's FAISS search over its codes (HNSW graph walk, IVF list scan, flat code scan), then, for
        compressed codes, ``rescore × k`` candidates re-ranked by their exact float32 scores (``rescore_topk``:
        the re-ranking of FAISS's ``IndexRefineFlat``). A filter that keeps few rows is answered exactly
        over their float32 rows (the kind's ``exact_limit``); a broad one searches the codes through a FAISS ID
        selector with a widened beam or probe count. Before training every row is in the float32 buffer, searched
        exactly.

        Parameters
        ----------
        queries : array_like
            ``(nq, dim)`` query vectors, or one ``(dim,)`` vector (one query).
        k : int
            Results per query (>= 1).
        filter : iterable of int, optional
            Only rows whose id is in it: answered exactly over their float32 rows when few are kept.
        params : SearchParams, optional
            This call's settings: ``rescore`` (compressed codes) and the kind's own (``ef_search`` for HNSW,
            ``nprobe`` for IVF); None fields keep the saved ones.
        rescore : int, optional
            The same as ``params.rescore``: re-rank ``rescore × k`` candidates with the float32 vectors.
        **kw
            The kind's keywords for its settings: ``ef`` (HNSW, = ``ef_search``), ``nprobe`` (IVF).

        Returns
        -------
        ids : np.ndarray
            ``(nq, k)`` int64, best first, padded with -1 where fewer than k rows qualify.
        scores : np.ndarray
            ``(nq, k)`` float32, higher is better (inner product; -distance for l2; exact float32 scores when
            rescored), padded with -inf.

        Raises
        ------
        DimensionError
            Queries not ``(nq, dim)`` or ``(dim,)`` (an InputError).
        NonFiniteError
            NaN or infinity in the queries (an InputError).
        InputError
            ``k`` < 1, a setting this kind does not take (named) or out of range, the same setting given twice,
            or compressed codes with no float32 rows to rescore with.
        """
        k = self._check_k(k)
        q = prepare_queries(queries, self.dim, self.metric)
        if params is None and rescore is None and not kw:
            settings, r = _NO_SETTINGS, self.rescore
        else:
            settings = self._settings(params, rescore, kw)
            r = self.rescore if settings.rescore is None else settings.rescore
        nq = len(q)
        if len(self._pending_ids):  # untrained: every row is in the float32 buffer
            return self._search_pending(q, k, filter)
        idmap, codes = self._map, self._codes
        n = len(idmap.sorted_ids)
        if not n:
            return np.full((nq, k), -1, np.int64), np.full((nq, k), -np.inf, np.float32)
        kk = k if r is None else k * r
        sel = idmap.alive_selector()
        widen = 1.0
        _bits = None
        if filter is not None:
            fids = np.unique(np.asarray(list(filter) if not isinstance(filter, np.ndarray) else filter, np.int64))
            pos = np.sort(idmap.find(fids))
            pos = pos[pos >= 0]
            widen = codes.filter_widen(n, len(pos))
            if len(pos) <= codes.exact_limit(n, max(kk, k), widen, settings) and self._can_read_floats():
                return self._exact_over(q, k, pos)
            mask = np.zeros(codes.ntotal, bool)
            mask[pos] = True
            sel, _bits = bitmap_selector(mask)
        qc = binarize(q) if self.precision == "binary" else q
        if nq == 1 and codes.one_thread_query:
            set_threads(1)
            try:
                D, I = codes.search(qc, kk, sel, widen, settings)
            finally:
                set_threads(THREADS)
        else:
            D, I = codes.search(qc, kk, sel, widen, settings)
        if r is not None:
            return self._rescore(q, I, k)
        out_ids = idmap.pos_ids[I]
        if self.metric == "l2":
            neg_distances(D)
        if (I[0, -1] if nq == 1 else I[:, -1].min()) < 0:  # fewer than k rows reachable: FAISS pads the tail
            missing = I < 0
            out_ids[missing] = -1
            D[missing] = -np.inf
        return out_ids, D

    def _settings(self, params: SearchParams | None, rescore: Any, kw: dict[str, Any]) -> SearchParams:
        """The settings of one call from ``params``, ``rescore=`` and the kind's keywords, each checked.

        Raises
        ------
        InputError
            A setting the kind does not take (named), one given twice, or a value out of range.
        """
        codes = self._codes
        given: dict[str, tuple[str, Any]] = {}  # field -> (the name the caller gave it by, value)
        for key, value in kw.items():
            field = codes.keywords.get(key)
            if field is None:
                raise self._unknown_settings(params, kw)
            if value is not None:
                given[field] = (key, value)
        if rescore is not None:
            given["rescore"] = ("rescore", rescore)
        if params is not None:
            for name, value in params.set().items():
                if name != "rescore" and name not in codes.settings:
                    raise self._unknown_settings(params, kw)
                if name in given:
                    raise InputError(f"{given[name][0]}={given[name][1]!r} and {name}={value!r} (in SearchParams) set "
                                     "the same search setting; give one")
                given[name] = (name, value)
        if not given:
            return _NO_SETTINGS
        return SearchParams(**{
            field: check_rescore(value, codes.rescore_precision) if field == "rescore"
            else codes.check_setting(field, name, value)
            for field, (name, value) in given.items()})

    def _unknown_settings(self, params: SearchParams | None, kw: dict[str, Any]) -> InputError:
        """The error for settings this kind does not take.

        They are named as the caller named them (keywords, or SearchParams fields).
        """
        takes = self._codes.settings  # field -> its keyword
        unknown = sorted(key for key in kw if key not in self._codes.keywords)
        own = ", ".join(takes.values())
        if not unknown and params is not None:
            unknown = [field for field in params.set() if field != "rescore" and field not in takes]
            own = ", ".join(takes)
        return InputError(f"unknown search parameter(s) for an {self.kind} index: {', '.join(unknown)}"
                          + (f"; it takes {own}" if own else ""))

    def _rescore(self, q: np.ndarray, I: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best of the candidate positions ``I`` by exact float32 scores, as (ids, scores)."""
        pos_ids = self._map.pos_ids
        if self._source is not None:  # rows by id from the source (sorted ids: memory maps read in order)
            full = (I[0, -1] if len(I) == 1 else I[:, -1].min()) >= 0  # FAISS pads the tail with -1
            cand = pos_ids[I] if full else self._map.ids_at(I)
            return rescore_topk(q, cand, self._source, k, self.metric)
        rows = self._codes.floats() if self._codes.holds_floats else self._floats
        if rows is None:
            raise self._no_floats()
        pos, sc = rescore_topk(q, I, lambda p: np.take(rows, p, axis=0), k, self.metric)
        return self._map.ids_at(pos), sc

    def _exact_over(self, q: np.ndarray, k: int, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact search over the live positions ``pos`` (sorted) with their float32 rows."""
        rows = (np.ascontiguousarray(self._rows_at_positions(pos), dtype=np.float32) if len(pos)
                else np.empty((0, self.dim), np.float32))
        return padded_topk(q, rows, self._map.pos_ids[pos], k, self.metric)

    def _search_pending(self, q: np.ndarray, k: int, filter: Iterable[int] | None) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(len(self._pending_ids))
        if filter is not None:
            fids = np.asarray(list(filter) if not isinstance(filter, np.ndarray) else filter, np.int64)
            rows = np.flatnonzero(np.isin(self._pending_ids, fids))
        return padded_topk(q, self._pending, self._pending_ids, k, self.metric, rows=rows)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write the index to a folder, atomically.

        The folder holds ``index.json`` (parameters and the precision block), the FAISS structures
        (``faiss.write_index``), the id maps, the int8 calibration and (when the index keeps them) its float32
        vectors; see ``codec``.

        Parameters
        ----------
        path : str or Path
            The index folder (replaced whole: a crash leaves the old folder or the new one).

        Raises
        ------
        StorageFullError
            The disk filled up while writing (the old folder is kept).
        ReadOnlyStorageError
            Read-only media or no write permission.
        """
        head = {"kind": self.kind, "dim": self.dim, "metric": self.metric, "params": dict(self.params),
                "count": len(self)}
        rows = codec.CodedRows(self._map.pos_ids, self._map.dead, self._pending_ids, self._pending,
                               self.calibration, self._floats)
        codec.write_coded(path, head, self.precision, self.rescore, rows, self._codes.files())
        self._codes.saved(Path(path))

    @classmethod
    def load(cls, path: str | Path, mmap: bool = False) -> Self:
        """Read an index written by ``save`` (parameters restored).

        Parameters
        ----------
        path : str or Path
            The index folder.
        mmap : bool
            Memory-map the saved float32 vectors (and IVF's inverted lists) read-only; their checksums are then
            skipped (sizes and headers are still checked).

        Returns
        -------
        CodedIndex
            Of the class it is called on.

        Raises
        ------
        InputError
            No index folder there, or an index of another kind.
        CorruptFileError
            A missing, truncated or damaged file, or parameters that do not fit (named).
        FormatVersionError
            Written by a newer embedlab.
        """  # noqa: DOC501 - codec.corrupt() returns the CorruptFileError raised
        folder = Path(path)
        doc = codec.read_manifest(folder, cls.kind)
        prec = codec.precision_block(folder, doc)
        params = dict(doc["params"])
        params.setdefault("precision", prec["name"])
        make: Callable[..., Self] = cls  # a kind's constructor takes (dim, metric, **its saved params)
        try:
            self = make(int(doc["dim"]), doc["metric"], **params)
        except (TypeError, KeyError, ValueError, InputError) as exc:
            raise codec.corrupt(folder, f"bad parameters in index.json ({exc})") from None
        if self.precision != prec["name"]:
            raise codec.corrupt(folder, "the precision in index.json's params and its precision block differ")
        npos = codec.positions(folder, doc)
        rows = codec.read_coded(folder, doc, self.dim, self.precision, mmap)
        self._codes.calibration = rows.calibration
        self._codes.read(folder, doc, npos, mmap)
        self._floats = rows.floats
        self._pending_ids, self._pending = rows.pending_ids, rows.pending
        self._map = IdMap(rows.pos_ids, rows.dead)
        if len(self) != int(doc["count"]) or self._map.has_repeats():
            raise codec.corrupt(folder, "ids.npy does not match index.json")
        return self
