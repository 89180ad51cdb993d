"""Where the projector keeps what it computed: each source's table (in memory, per data version) and each layout
(in memory and on disk, per data version, method, dims and seed), so reopening a view is a file read.

Layouts are ``embedlab.analysis.layout.Layout`` objects (``fit_layout``: PCA exact over every row, t-SNE/UMAP on a
sample with the rest placed, trustworthiness and continuity at k = 10). On disk each is ``Layout.save``'s folder
``<home>/projector/<digest>/layout/`` beside ``key.json`` (the cache key it answers); the key holds the
collection's generation, so a write to the collection makes a new key and old folders are never read again. A
folder that does not load (damaged, or written by another version) is recomputed. Beside them, ``kdbush.bin``: the
spatial index of the page's drawn points (``spatial_index.kdbush``), built once per layout.
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
from ..persist import write_bytes_atomic, write_json_atomic
from .projector_data import SourceTable
from .spatial_index import index_size, kdbush, normalized

Report = Callable[[float, str], None]
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
MIN_POINTS = {"pca": 2, "tsne": 4, "umap": 4}


def collection_version(name: str, epoch: int, info: dict[str, Any]) -> tuple[Any, ...]:
    """The data-version part of a collection's cache keys: a write, a drop or a re-creation changes it.

    Parameters
    ----------
    name : str
        The collection's name.
    epoch : int
        How many times this server dropped ``name`` (0 outside a server, as in a server's first life).
    info : dict
        ``Collection.info()``: its ``created``, ``generation`` and ``count`` are used.

    Returns
    -------
    tuple
        ``("collection", name, epoch, created, generation, count)``.
    """
    return ("collection", name, epoch, info.get("created"), info["generation"], info["count"])


def layout_key(version: tuple[Any, ...], method: str, seed: int, dims: int = 2) -> tuple[Any, ...]:
    """The cache key of a layout of one data version (``ProjectorCache.layout`` / ``store``).

    Parameters
    ----------
    version : tuple
        The source's data version (``collection_version`` for a collection).
    method : str
        ``"pca"``, ``"tsne"`` or ``"umap"``.
    seed : int
        The fit's seed.
    dims : int, default 2
        2 or 3 components.

    Returns
    -------
    tuple
        ``(*version, method, dims, seed)``.
    """
    return (*version, method, dims, seed)


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
        ``method``, ``n``, ``how``, ``seconds``, ``trustworthiness``, ``continuity`` and ``quality`` (how those two
        were measured: rows scored, where neighbours were searched; ``None`` for a layout cached before it was
        recorded) (JSON-ready).
    """
    return {"method": layout.method, "n": len(layout.coords), "how": layout.how, "seconds": round(layout.seconds, 3),
            "trustworthiness": layout.trustworthiness, "continuity": layout.continuity,
            "quality": layout.params.get("quality")}


class ProjectorCache:
    """Source tables and layouts, thread-safe; layouts persist under ``folder``."""

    def __init__(self, folder: Path, keep: int = 8) -> None:
        self.folder, self.keep = folder, keep
        self._lock = threading.Lock()
        self._tables: OrderedDict[Hashable, SourceTable] = OrderedDict()
        self._layouts: OrderedDict[Hashable, Layout] = OrderedDict()
        self._results: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self._indexes: OrderedDict[Hashable, bytes] = OrderedDict()

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
        (folder / "kdbush.bin").unlink(missing_ok=True)  # an earlier layout's index (this one was recomputed)
        with self._lock:
            self._indexes.pop(key, None)
        layout.save(folder / "layout")
        write_json_atomic(folder / "key.json", repr(key))
        return self._keep(key, layout)

    def spatial_index(self, key: Hashable, layout: Layout) -> bytes:
        """The KDBush index of ``layout``'s drawn points (``spatial_index.kdbush``), built once per layout.

        Kept in memory and on disk as ``kdbush.bin`` beside the layout's folder (``key`` must be the layout's
        own key, as given to ``store``); a file of the wrong size is rebuilt.

        Parameters
        ----------
        key : hashable
            The layout's cache key.
        layout : Layout
            The layout (2-D).

        Returns
        -------
        bytes
            The index, as regl-scatterplot's ``draw(points, {spatialIndex})`` reads it.

        Raises
        ------
        InputError
            For a 3-D layout (the renderer's index is 2-D).
        """
        if layout.dims != 2:
            raise InputError(f"a spatial index is built for 2-D layouts; this one is {layout.dims}-D")
        with self._lock:
            hit = self._indexes.get(key)
            if hit is not None:
                self._indexes.move_to_end(key)
                return hit
        path = self._dir(key) / "kdbush.bin"
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        if len(data) != index_size(len(layout.coords)):
            data = kdbush(normalized(layout.coords))
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, data)
        with self._lock:
            self._indexes[key] = data
            while len(self._indexes) > self.keep:
                self._indexes.popitem(last=False)
        return data

    def _keep(self, key: Hashable, layout: Layout) -> Layout:
        with self._lock:
            self._layouts[key] = layout
            while len(self._layouts) > self.keep:
                self._layouts.popitem(last=False)
        return layout
