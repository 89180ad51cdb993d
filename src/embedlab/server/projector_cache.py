"""Where the projector keeps what it computed: each source's table (in memory, per data version) and each layout
(in memory and on disk, per data version, method, dims and seed), so reopening a view is a file read.

Layouts are ``embedlab.analysis.layout.Layout`` objects (``fit_layout``: PCA exact over every row, t-SNE/UMAP on a
sample with the rest placed, trustworthiness and continuity at k = 10). On disk each is ``Layout.save``'s folder
``<home>/projector/<digest>/layout/`` beside ``key.json`` (the cache key it answers); the key holds the
collection's generation, so a write to the collection makes a new key and old folders are never read again. A
folder that does not load (damaged, or written by another version) is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.layout import Layout, fit_layout
from ..errors import EmbedlabError, InputError
from ..persist import write_json_atomic
from .projector_data import SourceTable

Report = Callable[[float, str], None]
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
MIN_POINTS = {"pca": 2, "tsne": 4, "umap": 4}


def fit(table: SourceTable, method: str, seed: int, report: Report, dims: int = 2) -> Layout:
    """Lay out every row of ``table`` in 2-D (or 3-D) with ``embedlab.analysis.layout.fit_layout``.

    Parameters
    ----------
    table : SourceTable
        The source (its ``matrix`` is ``(n, dim)`` float32; its metric is used).
    method : str
        ``"pca"``, ``"tsne"`` or ``"umap"``.
    seed : int
        Seed of the fit.
    report : callable
        ``report(fraction, stage)`` progress callback.
    dims : int
        2 (the map) or 3 (the 3-D view).

    Returns
    -------
    Layout
        ``coords`` (n, dims) float32, ``how``, ``seconds``, ``trustworthiness`` and ``continuity`` (k = 10), and what
        ``place`` needs.

    Raises
    ------
    InputError
        For an unknown method, too few rows for the method (the minimum named), rows holding NaN or infinity
        (the first bad row ids named), or dims not 2 or 3 (or wider than the vectors).
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
    return fit_layout(mat, method, dims=dims, seed=seed, report=report, metric=table.metric)


def describe(layout: Layout) -> dict[str, Any]:
    """A layout as the page shows it beside the method picker.

    Parameters
    ----------
    layout : Layout
        A fitted or loaded layout.

    Returns
    -------
    dict
        ``method``, ``n``, ``how``, ``seconds``, ``trustworthiness``, ``continuity`` (JSON-ready).
    """
    return {"method": layout.method, "n": len(layout.coords), "how": layout.how, "seconds": round(layout.seconds, 3),
            "trustworthiness": layout.trustworthiness, "continuity": layout.continuity}


class ProjectorCache:
    """Source tables and layouts, thread-safe; layouts persist under ``folder``."""

    def __init__(self, folder: Path, keep: int = 8) -> None:
        self.folder, self.keep = folder, keep
        self._lock = threading.Lock()
        self._tables: OrderedDict[Hashable, SourceTable] = OrderedDict()
        self._layouts: OrderedDict[Hashable, Layout] = OrderedDict()
        self._results: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()

    def result(self, key: Hashable) -> dict[str, Any] | None:
        """A remembered JSON-ready result (clusters) for ``key``, or None."""
        with self._lock:
            hit = self._results.get(key)
            if hit is not None:
                self._results.move_to_end(key)
            return hit

    def remember(self, key: Hashable, value: dict[str, Any]) -> dict[str, Any]:
        """Keep ``value`` for ``key`` (memory only; the last ``keep`` results) and return it."""
        with self._lock:
            self._results[key] = value
            while len(self._results) > self.keep:
                self._results.popitem(last=False)
        return value

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
            if json.loads((folder / "key.json").read_text(encoding="utf-8")) != repr(key):
                return None
            layout = Layout.load(folder / "layout")
        except (OSError, ValueError, EmbedlabError):  # absent, damaged or another version's: recomputed
            return None
        return self._keep(key, layout)

    def store(self, key: Hashable, layout: Layout) -> Layout:
        """Keep ``layout`` for ``key`` in memory and on disk."""
        folder = self._dir(key)
        folder.mkdir(parents=True, exist_ok=True)
        layout.save(folder / "layout")
        write_json_atomic(folder / "key.json", repr(key))
        return self._keep(key, layout)

    def _keep(self, key: Hashable, layout: Layout) -> Layout:
        with self._lock:
            self._layouts[key] = layout
            while len(self._layouts) > self.keep:
                self._layouts.popitem(last=False)
        return layout
