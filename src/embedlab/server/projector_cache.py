"""Where the projector keeps what it computed: each source's table (in memory, per data version) and each layout
(in memory and on disk, per data version, method, dims and seed), so reopening a view is a file read.

A layout on disk is a folder ``<home>/projector/<digest>/`` with ``coords.npy`` (float32, ``(n, 2)``) and
``meta.json`` (method, how, seconds, trustworthiness, continuity, n); the digest hashes the cache key, which holds
the collection's generation, so a write to the collection makes a new key and old folders are never read again.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.reduce import project
from ..errors import InputError
from ..persist import write_bytes_atomic, write_json_atomic
from .projector_data import SourceTable

Report = Callable[[float, str], None]
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
MIN_POINTS = {"pca": 2, "tsne": 4, "umap": 4}


class Layout:
    """A 2-D layout of a source's rows: ``coords`` ``(n, 2)`` float32 and ``meta`` (JSON-ready dict)."""

    def __init__(self, coords: np.ndarray, meta: dict[str, Any]) -> None:
        self.coords, self.meta = coords, meta


def fit(table: SourceTable, method: str, seed: int, report: Report) -> Layout:
    """Lay out every row of ``table`` in 2-D.

    Parameters
    ----------
    table : SourceTable
        The source (its ``matrix`` is ``(n, dim)`` float32).
    method : str
        ``"pca"``, ``"tsne"`` or ``"umap"``.
    seed : int
        Seed of the fit.
    report : callable
        ``report(fraction, stage)`` progress callback.

    Returns
    -------
    Layout
        ``coords`` (n, 2) float32; ``meta``: ``method``, ``n``, ``how`` (one sentence for the page), ``seconds``,
        ``trustworthiness`` and ``continuity`` (None when not measured).

    Raises
    ------
    InputError
        For an unknown method, too few rows for the method (the minimum named), or rows holding NaN or infinity
        (the first bad row ids named).
    """
    if method not in METHOD_NAMES:
        raise InputError(f"unknown projection method {method!r}; choose one of {', '.join(METHOD_NAMES)}")
    mat = table.matrix
    n = len(mat)
    if n < MIN_POINTS[method]:
        raise InputError(f"{METHOD_NAMES[method]} needs at least {MIN_POINTS[method]} points; {table.name!r} has {n}")
    bad = np.flatnonzero(~np.isfinite(mat).all(axis=1)) if n else np.zeros(0, np.int64)
    if len(bad):
        names = ", ".join(repr(table.keys[i]) for i in bad[:5].tolist())
        raise InputError(f"{len(bad)} row(s) of {table.name!r} hold NaN or infinity (first: {names}); fix or remove "
                         "them before projecting")
    report(0.2, f"fitting {METHOD_NAMES[method]} on {n} points")
    start = time.perf_counter()
    coords = np.asarray(project(mat, method, dim=2, seed=seed, metric=table.metric), np.float32)
    seconds = time.perf_counter() - start
    how = f"{METHOD_NAMES[method]} fitted on all {n:,} rows"
    return Layout(coords, {"method": method, "n": n, "how": how, "seconds": round(seconds, 3),
                           "trustworthiness": None, "continuity": None})


class ProjectorCache:
    """Source tables and layouts, thread-safe; layouts persist under ``folder``."""

    def __init__(self, folder: Path, keep: int = 8) -> None:
        self.folder, self.keep = folder, keep
        self._lock = threading.Lock()
        self._tables: OrderedDict[Hashable, SourceTable] = OrderedDict()
        self._layouts: OrderedDict[Hashable, Layout] = OrderedDict()

    def table(self, key: Hashable, build: Callable[[], SourceTable]) -> SourceTable:
        """The table for ``key`` (a source and its data version), built once."""
        with self._lock:
            hit = self._tables.get(key)
            if hit is not None:
                self._tables.move_to_end(key)
                return hit
        table = build()
        with self._lock:
            self._tables[key] = table
            while len(self._tables) > self.keep:
                self._tables.popitem(last=False)
        return table

    def _dir(self, key: Hashable) -> Path:
        return self.folder / hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32]

    def layout(self, key: Hashable) -> Layout | None:
        """The cached layout for ``key`` (memory, else disk), or None."""
        with self._lock:
            hit = self._layouts.get(key)
            if hit is not None:
                self._layouts.move_to_end(key)
                return hit
        folder = self._dir(key)
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            coords = np.load(folder / "coords.npy", allow_pickle=False)
        except (OSError, ValueError, EOFError):  # absent or broken: recomputed
            return None
        if meta.get("key") != repr(key) or coords.dtype != np.float32 or coords.shape != (meta["n"], 2):
            return None
        return self._keep(key, Layout(coords, meta))

    def store(self, key: Hashable, layout: Layout) -> Layout:
        """Keep ``layout`` for ``key`` in memory and on disk."""
        folder = self._dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        out = io.BytesIO()
        np.lib.format.write_array(out, np.ascontiguousarray(layout.coords, np.float32), allow_pickle=False)
        write_bytes_atomic(folder / "coords.npy", out.getvalue())
        layout.meta["key"] = repr(key)
        write_json_atomic(folder / "meta.json", layout.meta)
        return self._keep(key, layout)

    def _keep(self, key: Hashable, layout: Layout) -> Layout:
        with self._lock:
            self._layouts[key] = layout
            while len(self._layouts) > self.keep:
                self._layouts.popitem(last=False)
        return layout
