"""Our int64 ids over FAISS's row numbers ("positions"), with tombstones.

FAISS numbers rows 0..n-1 in insertion order. ``IdMap`` keeps position -> id, a tombstone per position, and the
live ids sorted with their positions (for id -> position lookups by binary search); removing an id only marks
its position dead, so FAISS's structures never change on a delete.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .kernels import bitmap_selector


class IdMap:
    """Positions <-> ids of a coded index.

    An empty map, or one over saved ``pos_ids`` and ``dead``.

    Parameters
    ----------
    pos_ids : np.ndarray, optional
        ``(positions,)`` int64, the id at each position (None: an empty map).
    dead : np.ndarray, optional
        ``(positions,)`` bool tombstones (None: every position live).

    Attributes
    ----------
    pos_ids : np.ndarray
        ``(positions,)`` int64, the id at each position (read-only outside this class, as all of these).
    dead : np.ndarray
        ``(positions,)`` bool tombstones.
    n_dead : int
        How many of ``dead`` are set.
    sorted_ids : np.ndarray
        ``(live,)`` int64, the live ids sorted.
    order : np.ndarray
        ``(live,)`` int64, the position of each of ``sorted_ids``.
    """

    def __init__(self, pos_ids: np.ndarray | None = None, dead: np.ndarray | None = None) -> None:
        self.pos_ids = np.empty(0, np.int64) if pos_ids is None else pos_ids
        self.dead = np.zeros(len(self.pos_ids), bool) if dead is None else dead
        self.n_dead = int(self.dead.sum())
        live = np.flatnonzero(~self.dead)
        o = np.argsort(self.pos_ids[live], kind="stable")
        self.sorted_ids = self.pos_ids[live][o]
        self.order = live[o].astype(np.int64)
        self._alive: tuple[Any, np.ndarray] | None = None  # FAISS selector of the live positions, and its bitmap

    def __len__(self) -> int:
        """Live ids."""
        return len(self.sorted_ids)

    @property
    def positions(self) -> int:
        """Positions, live and dead (FAISS's ``ntotal``).

        Returns
        -------
        int
            ``len(pos_ids)``.
        """
        return len(self.pos_ids)

    @property
    def nbytes(self) -> int:
        """Bytes of the maps (25 a position while no row is dead).

        Returns
        -------
        int
            8 (id) + 1 (tombstone) a position, plus 16 (sorted id, its position) a live row.
        """
        return int(self.pos_ids.nbytes + self.dead.nbytes + self.sorted_ids.nbytes + self.order.nbytes)

    def has_repeats(self) -> bool:
        """Whether a live id occurs at two positions (a damaged file).

        Returns
        -------
        bool
            True when ``sorted_ids`` holds a repeat.
        """
        return len(self.sorted_ids) > 1 and bool((np.diff(self.sorted_ids) == 0).any())

    def live_ids(self) -> np.ndarray:
        """The live ids in position order.

        Returns
        -------
        np.ndarray
            ``(live,)`` int64.
        """
        return self.pos_ids[~self.dead]

    def live_positions(self) -> np.ndarray:
        """The live positions, ascending.

        Returns
        -------
        np.ndarray
            ``(live,)`` int64.
        """
        return np.flatnonzero(~self.dead)

    def find(self, ids: np.ndarray) -> np.ndarray:
        """The position of each id (binary search in ``sorted_ids``).

        Parameters
        ----------
        ids : np.ndarray
            ``(n,)`` int64 ids.

        Returns
        -------
        np.ndarray
            ``(n,)`` int64 positions, -1 where an id is absent or removed.
        """
        if not len(self.sorted_ids) or not len(ids):
            return np.full(len(ids), -1, np.int64)
        at = np.minimum(np.searchsorted(self.sorted_ids, ids), len(self.sorted_ids) - 1)
        return np.where(self.sorted_ids[at] == ids, self.order[at], -1)

    def ids_at(self, pos: np.ndarray) -> np.ndarray:
        """The ids at positions ``pos``.

        Parameters
        ----------
        pos : np.ndarray
            int64 positions, any shape (e.g. FAISS's ``(nq, k)`` results), -1 for none (FAISS's padding).

        Returns
        -------
        np.ndarray
            int64 ids, the shape of ``pos``; -1 where a position is -1 (a dead position gives its former id).
        """
        ids = self.pos_ids[np.maximum(pos, 0)]
        ids[pos < 0] = -1
        return ids

    def append(self, ids: np.ndarray, start: int) -> None:
        """Record new ids at positions ``start, start + 1, ...`` (the next ones).

        Parameters
        ----------
        ids : np.ndarray
            ``(m,)`` int64 ids, distinct and not live in the map (the caller checks).
        start : int
            The first new position: ``positions`` (FAISS's ``ntotal`` before the add).
        """
        pos = np.arange(start, start + len(ids), dtype=np.int64)
        self.pos_ids = np.concatenate([self.pos_ids, ids])
        self.dead = np.concatenate([self.dead, np.zeros(len(ids), bool)])
        o = np.argsort(ids, kind="stable")
        at = np.searchsorted(self.sorted_ids, ids[o])
        self.sorted_ids = np.insert(self.sorted_ids, at, ids[o])
        self.order = np.insert(self.order, at, pos[o])
        self._alive = None

    def kill(self, pos: np.ndarray) -> None:
        """Mark live positions ``pos`` dead; FAISS's codes stay as they are (searches exclude them by selector).

        Parameters
        ----------
        pos : np.ndarray
            ``(m,)`` int64 live positions, distinct.
        """
        self.dead[pos] = True
        self.n_dead += len(pos)
        keep = ~np.isin(self.order, pos)
        self.sorted_ids, self.order = self.sorted_ids[keep], self.order[keep]
        self._alive = None

    def alive_selector(self) -> Any:
        """A FAISS selector of the live positions (cached until the map changes).

        Returns
        -------
        faiss.IDSelectorBitmap or None
            Accepts the live positions; None while no position is dead.
        """
        if not self.n_dead:
            return None
        if self._alive is None:
            self._alive = bitmap_selector(~self.dead)
        return self._alive[0]
