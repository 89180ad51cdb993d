"""Exact nearest-neighbour search over one or two float32 matrices (the scans are ``kernels.search_matrix``).

Rows live in a *base* matrix (which may be a caller's read-only ``np.memmap``, never copied) and a small
growable *tail* for rows added later. Removal marks tombstones; searches skip them (over-fetching when there
are few, a FAISS ID selector or a chunked gather when there are many), and once more than a quarter of the
rows are dead the live rows are compacted into a fresh base so the space is reclaimed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..metrics import as_matrix, normalize
from . import codec
from .base import Index, SearchParams
from .kernels import GATHER_BYTES, merge_topk, search_matrix, unit_rows

COMPACT_FRACTION = 0.25  # dead/total rows above which the arrays are rebuilt


class ExactIndex(Index):
    """Exact search (brute force with FAISS kernels); the reference every approximate index is measured against.

    Rows are kept as float32 (unit length for cosine) and every query scans all live rows with FAISS's exhaustive
    kernels (``knn_inner_product`` / ``knn_L2sqr``, see ``kernels.search_matrix``), so its recall is 1.0 by
    construction. Exact search over float16 / int8 / binary codes is ``CompressedExactIndex``.

    Parameters
    ----------
    dim : int
        Dimension of the rows (>= 1).
    metric : str
        ``"cosine"`` (default), ``"dot"`` or ``"l2"``.

    Raises
    ------
    InputError
        ``dim`` < 1 or an unknown metric.

    Examples
    --------
    >>> idx = ExactIndex(3, "cosine"); idx.add([7, 8], [[1, 0, 0], [0, 1, 0]])
    >>> idx.search([[1, 0.1, 0]], k=1)[0]
    array([[7]])
    """

    kind = "exact"

    def __init__(self, dim: int, metric: str = "cosine") -> None:
        super().__init__(dim, metric)
        self._set_base(np.empty((0, self.dim), np.float32), np.empty(0, np.int64))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_matrix(
        cls, ids: ArrayLike, matrix: ArrayLike, metric: str = "cosine", prepared: bool = True, copy: bool = False
    ) -> ExactIndex:
        """Wrap an existing ``(n, d)`` float32 matrix (e.g. a read-only ``np.memmap``) without copying it.

        Parameters
        ----------
        ids : array_like
            ``(n,)`` distinct int64 ids, one per row.
        matrix : array_like
            ``(n, d)`` rows, d >= 1 (the index's dimension); float32 C-order arrays are used in place, anything
            else is copied to float32.
        metric : str
            ``cosine`` (default), ``dot`` or ``l2``.
        prepared : bool
            True promises the rows are already as the index stores them (unit length for cosine, finite), so
            nothing is read at open time; False checks them and, for cosine, normalises (a copy).
        copy : bool
            Copy the rows even when they could be used in place.

        Returns
        -------
        ExactIndex
            Over those rows; a wrapped memory map is never compacted behind the caller's back.

        Raises
        ------
        InputError
            ``matrix`` not 2-D, ids of another length or repeated, or an unknown metric.
        NonFiniteError
            NaN or infinity in the rows (checked with ``prepared=False`` only; an InputError).
        """
        mat = np.asarray(matrix)
        if mat.ndim != 2:
            raise InputError(f"matrix must be 2-D, got shape {mat.shape}")
        self = cls(mat.shape[1], metric)
        if not prepared:
            mat = as_matrix(mat, dim=self.dim, name="matrix")
            if self.metric == "cosine":
                mat, copy = normalize(mat), False
        owned = not (isinstance(matrix, np.ndarray) and np.may_share_memory(mat, matrix))
        if mat.dtype != np.float32 or not mat.flags.c_contiguous or copy:
            mat, owned = np.array(mat, dtype=np.float32, order="C", copy=True), True
        ids = np.asarray(ids, dtype=np.int64).ravel()
        if len(ids) != len(mat):
            raise InputError(f"got {len(ids)} ids for {len(mat)} rows; pass one id per row")
        self._set_base(mat, ids, owned)
        return self

    def _set_base(self, mat: np.ndarray, ids: np.ndarray, owned: bool = True) -> None:
        self._base, self._base_ids = mat, ids
        self._base_owned = owned  # False: the caller's matrix (e.g. a memmap); never compacted behind its back
        self._base_dead: np.ndarray | None = None
        self._base_ndead = 0
        self._order = np.argsort(ids, kind="stable")
        self._sorted = ids[self._order]
        if len(ids) > 1 and (self._sorted[1:] == self._sorted[:-1]).any():
            dup = self._sorted[1:][self._sorted[1:] == self._sorted[:-1]][:5].tolist()
            raise InputError(f"ids must be unique; repeated: {dup}")
        self._tail = np.empty((0, self.dim), np.float32)
        self._tail_ids = np.empty(0, np.int64)
        self._tail_dead = np.empty(0, bool)
        self._tail_n = self._tail_ndead = 0
        self._tail_pos: dict[int, int] = {}

    # ------------------------------------------------------------------ lookup
    def _locate(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each id: where it lives (0 absent/removed, 1 base, 2 tail) and its row there."""
        where = np.zeros(len(ids), np.int8)
        rows = np.full(len(ids), -1, np.int64)
        nb = len(self._base_ids)
        if nb and len(ids):
            pos = np.minimum(np.searchsorted(self._sorted, ids), nb - 1)
            hit = self._sorted[pos] == ids
            r = self._order[pos]
            if self._base_dead is not None:
                hit &= ~self._base_dead[r]
            where[hit], rows[hit] = 1, r[hit]
        if self._tail_pos:
            for i in np.flatnonzero(where == 0):
                t = self._tail_pos.get(int(ids[i]))
                if t is not None:
                    where[i], rows[i] = 2, t
        return where, rows

    def _rows(self) -> int:
        return len(self._base_ids) + self._tail_n

    def __len__(self) -> int:
        """Number of live (not removed) rows."""
        return self._rows() - self._base_ndead - self._tail_ndead

    def ids(self) -> np.ndarray:
        """The live ids.

        Returns
        -------
        np.ndarray
            ``(len(self),)`` int64: the wrapped matrix's rows first, in row order, then the rows added later.
        """
        base = self._base_ids if self._base_dead is None else self._base_ids[~self._base_dead]
        tail = self._tail_ids[: self._tail_n][~self._tail_dead[: self._tail_n]]
        return np.concatenate([base, tail])

    def memory_bytes(self) -> int:
        """Bytes of the rows (base + appended tail) and the id maps.

        A memory-mapped base counts whole, since every query reads all of it (it is the working set).

        Returns
        -------
        int
            ``n · d · 4`` for the rows plus 24 bytes a row for the ids, their sort order and the sorted ids
            (plus the tail's capacity, when rows were added after the base).
        """
        return int(self._base.nbytes + self._base_ids.nbytes + self._order.nbytes + self._sorted.nbytes
                   + self._tail.nbytes + self._tail_ids.nbytes + self._tail_dead.nbytes)

    def _live(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """Live ids and the row blocks (views where possible) holding their vectors, in the same order."""
        blocks = [self._base if self._base_dead is None else self._base[~self._base_dead]]
        blocks.append(self._tail[: self._tail_n][~self._tail_dead[: self._tail_n]])
        return self.ids(), blocks

    # ------------------------------------------------------------------ mutation
    def add(self, ids: Iterable[int], vectors: ArrayLike) -> None:
        """Add rows (cosine: stored normalised).

        Rows go to a growable tail (amortised doubling); once the tail would outgrow the base, both are folded
        into a new base.

        Parameters
        ----------
        ids : iterable of int
            ``(n,)`` int64 new ids, distinct.
        vectors : array_like
            ``(n, dim)`` finite values, any real dtype (stored as float32).

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
        where, _ = self._locate(ids)
        if where.any():
            dup = ids[where > 0][:5].tolist()
            raise InputError(f"ids already in the index: {dup}; remove them first to replace their vectors")
        vecs = normalize(vecs) if self.metric == "cosine" else vecs
        if self._tail_n + len(ids) > len(self._base_ids):  # tail would outgrow base: fold all into a new base
            live_ids, blocks = self._live()
            self._set_base(np.concatenate(blocks + [vecs]).astype(np.float32, copy=False),
                           np.concatenate([live_ids, ids]))
            return
        need = self._tail_n + len(ids)
        if need > len(self._tail):
            cap = max(need, 2 * len(self._tail), 1024)
            for name, shape, dt in (("_tail", (cap, self.dim), np.float32), ("_tail_ids", (cap,), np.int64),
                                    ("_tail_dead", (cap,), bool)):
                new = np.zeros(shape, dt)
                new[: self._tail_n] = getattr(self, name)[: self._tail_n]
                setattr(self, name, new)
        s = self._tail_n
        self._tail[s:need] = vecs
        self._tail_ids[s:need] = ids
        self._tail_dead[s:need] = False
        self._tail_pos.update(zip(ids.tolist(), range(s, need), strict=True))
        self._tail_n = need

    def remove(self, ids: Iterable[int]) -> int:
        """Remove rows by id (absent ids are ignored); compacts once more than a quarter of the rows are dead.

        Parameters
        ----------
        ids : iterable of int
            ``(m,)`` int64 ids to remove (absent ones are ignored, repeated ones count once).

        Returns
        -------
        int
            How many of them were present (0 to m).
        """
        ids = np.unique(np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, np.int64).ravel())
        where, rows = self._locate(ids)
        base_rows = rows[where == 1]
        if len(base_rows):
            if self._base_dead is None:
                self._base_dead = np.zeros(len(self._base_ids), bool)
            self._base_dead[base_rows] = True
            self._base_ndead += len(base_rows)
        tail_rows = rows[where == 2]
        if len(tail_rows):
            self._tail_dead[tail_rows] = True
            self._tail_ndead += len(tail_rows)
            for i in self._tail_ids[tail_rows].tolist():
                del self._tail_pos[i]
        removed = int((where > 0).sum())
        if removed and (self._base_ndead + self._tail_ndead) > COMPACT_FRACTION * self._rows():
            if self._base_owned:
                self.compact()
            elif self._tail_ndead > COMPACT_FRACTION * self._tail_n:
                self._compact_tail()
        return removed

    def _compact_tail(self) -> None:
        keep = ~self._tail_dead[: self._tail_n]
        n = int(keep.sum())
        self._tail[:n] = self._tail[: self._tail_n][keep]
        self._tail_ids[:n] = self._tail_ids[: self._tail_n][keep]
        self._tail_dead[:n] = False
        self._tail_n, self._tail_ndead = n, 0
        self._tail_pos = dict(zip(self._tail_ids[:n].tolist(), range(n), strict=True))

    def compact(self) -> None:
        """Rebuild the arrays from the live rows only (drops tombstones, reclaims their memory).

        Runs by itself once more than a quarter of the rows are dead, except over a matrix wrapped with
        ``from_matrix`` (a memory map stays a memory map; call this to trade it for an in-RAM copy).
        """
        live_ids, blocks = self._live()
        mat = np.concatenate(blocks) if len(blocks[1]) else np.array(blocks[0], dtype=np.float32, order="C")
        self._set_base(mat, live_ids)

    # ------------------------------------------------------------------ search
    def search(
        self, queries: ArrayLike, k: int = 10, filter: Iterable[int] | None = None,
        params: SearchParams | None = None, **kw: Any,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The exact k best rows per query.

        A scan of every live row with FAISS's exhaustive kernels; removed rows are skipped by over-fetching, a
        masked BLAS product (one wide query), a FAISS ID selector or a chunked gather (``kernels.search_matrix``
        picks). A filter scans only the rows it keeps.

        Parameters
        ----------
        queries : array_like
            ``(nq, dim)`` query vectors, or one ``(dim,)`` vector (one query).
        k : int
            Results per query (>= 1).
        filter : iterable of int, optional
            Only rows whose id is in it (ids not in the index are ignored).
        params : SearchParams, optional
            Accepted for a uniform interface; an exact scan has no setting to change, so every field must be
            None.
        **kw
            None is taken: any keyword (``ef``, ``nprobe``, ``rescore`` are settings of the approximate kinds)
            raises TypeError, as an unknown keyword argument would.

        Returns
        -------
        ids : np.ndarray
            ``(nq, k)`` int64, best first, padded with -1 where fewer than k rows qualify.
        scores : np.ndarray
            ``(nq, k)`` float32, higher is better (inner product; -distance for l2), padded with -inf.

        Raises
        ------
        DimensionError
            Queries not ``(nq, dim)`` or ``(dim,)`` (an InputError).
        NonFiniteError
            NaN or infinity in the queries (an InputError).
        InputError
            ``k`` < 1, or a setting in ``params``.
        TypeError
            Any keyword in ``kw``.
        """
        if kw:  # as before SearchParams: the approximate kinds' keywords are no parameters of this method
            raise TypeError(f"{type(self).__name__}.search() got an unexpected keyword argument {next(iter(kw))!r}")
        if params is not None and params.set():
            raise InputError(f"{', '.join(params.set())} do(es) not apply to a float32 exact index (it scans every "
                             "vector); ef_search is for HNSW, nprobe for IVF, rescore for compressed precisions")
        k = self._check_k(k)
        q = self._queries(queries)
        if self.metric == "cosine":
            q = unit_rows(q)
        segs = [(self._base, self._base_ids, self._base_dead, self._base_ndead)]
        if self._tail_n:
            n = self._tail_n
            segs.append((self._tail[:n], self._tail_ids[:n], self._tail_dead[:n], self._tail_ndead))
        parts = []
        if filter is None:
            for mat, ids, dead, nd in segs:
                if len(mat) - nd > 0:
                    parts.append(search_matrix(q, mat, ids, k, self.metric, dead, nd))
        else:
            fids = np.unique(np.asarray(list(filter) if not isinstance(filter, np.ndarray) else filter, np.int64))
            where, rows = self._locate(fids)
            for seg_no, (mat, ids, _, _) in enumerate(segs, start=1):
                sub = np.sort(rows[where == seg_no])
                if len(sub):
                    parts.append(search_matrix(q, mat, ids, k, self.metric, rows=sub))
        return merge_topk(parts, len(q), k)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write the live rows to the folder ``path`` atomically: a crash leaves the old folder or the new one.

        The folder holds ``index.json``, ``ids.npy`` (``(n,)`` int64) and ``vectors.npy`` (``(n, dim)`` float32,
        as stored: unit length for cosine); removed rows are not written.

        Parameters
        ----------
        path : str or Path
            The index folder (replaced whole).

        Raises
        ------
        StorageFullError
            The disk filled up while writing (the old folder is kept).
        ReadOnlyStorageError
            Read-only media or no write permission.
        """
        live_ids, blocks = self._live()

        def write_vectors(p: Path) -> None:
            """Stream the live rows into one ``.npy`` file, at most ``GATHER_BYTES`` at a time.

            Parameters
            ----------
            p : Path
                The file to write (inside the temporary folder).
            """
            out = np.lib.format.open_memmap(p, mode="w+", dtype=np.float32, shape=(len(live_ids), self.dim))
            at = 0
            step = max(1, GATHER_BYTES // (4 * self.dim))
            for block in blocks:
                for s in range(0, len(block), step):
                    part = block[s : s + step]
                    out[at : at + len(part)] = part
                    at += len(part)
            out.flush()
            del out

        codec.write_folder(
            path,
            {"kind": self.kind, "dim": self.dim, "metric": self.metric, "params": {}, "count": len(live_ids),
             "precision": codec.float32_precision()},
            {"ids.npy": lambda p: np.save(p, live_ids), "vectors.npy": write_vectors},
        )

    @classmethod
    def load(cls, path: str | Path, mmap: bool = False) -> ExactIndex:
        """Read an index written by ``save``.

        Parameters
        ----------
        path : str or Path
            The index folder.
        mmap : bool
            Map ``vectors.npy`` read-only instead of reading it (fast open; checksums are then skipped, sizes and
            headers are still checked).

        Returns
        -------
        ExactIndex
            Over the saved rows (a read-only memory map with ``mmap``).

        Raises
        ------
        InputError
            No index folder there, another kind, or compressed codes (open those with ``load_index``).
        CorruptFileError
            A missing, truncated or damaged file, named.
        FormatVersionError
            Written by a newer embedlab.
        """  # noqa: DOC501 - codec.corrupt() returns the CorruptFileError raised
        folder = Path(path)
        doc = codec.read_manifest(folder, cls.kind)
        name = codec.precision_block(folder, doc)["name"]
        if name != "float32":
            raise InputError(f"index at {folder} holds {name} codes, not float32 rows; open it with "
                             "embedlab.index.load_index")
        n, dim = int(doc["count"]), int(doc["dim"])
        ids = codec.load_npy(folder, doc, "ids.npy", np.int64, (n,))
        mat = codec.load_npy(folder, doc, "vectors.npy", np.float32, (n, dim), mmap=mmap)
        try:
            return cls.from_matrix(ids, mat, doc["metric"], prepared=True)
        except InputError as exc:
            raise codec.corrupt(folder, str(exc)) from None
