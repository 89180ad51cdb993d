"""A collection as Apple's Embedding Atlas opens it (``embedlab export NAME --format atlas``): every item's id,
text, source and metadata, the projector's 2-D layout and each item's nearest items by the collection's own index.

The layout is the one the projector shows: read from the projector's cache under ``<home>/projector/`` when
``embedlab serve`` (or an earlier export) already computed it for this data version, method and seed, else fitted
now (``projector_cache.fit``: PCA exact, t-SNE/UMAP on a sample with the rest placed) and stored there, so the
projector then opens it at once. The file is written by ``embedlab.formats.atlas``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..formats import atlas
from ..store import Collection
from .projector_cache import METHOD_NAMES, ProjectorCache, collection_version, fit, layout_key
from .projector_data import LABEL_CHARS, SourceTable

Report = Callable[[float, str], None]


def _rows(col: Collection) -> tuple[SourceTable, list[str], list[str | None]]:
    """Every live item in one snapshot: the projector's table, each item's full text and its source."""
    keys: list[str] = []
    mats: list[np.ndarray] = []
    texts: list[str] = []
    sources: list[str | None] = []
    metas: list[dict[str, Any]] = []
    for rows in col.export_rows():
        keys.extend(rows.ids)
        mats.append(np.asarray(rows.vectors, np.float32))
        for i, key in enumerate(rows.ids):
            texts.append(rows.contents[i] or rows.sources[i] or key)
            sources.append(rows.sources[i])
            metas.append(json.loads(rows.metadata[i]) if rows.metadata[i] else {})
    matrix = np.concatenate(mats) if mats else np.zeros((0, col.dim), np.float32)
    labels = [t[:LABEL_CHARS] for t in texts]
    return SourceTable("collection", col.name, keys, matrix, labels, metas, col.metric), texts, sources


def _distance(scores: np.ndarray, metric: str) -> np.ndarray:
    """Higher-is-better scores as lower-is-closer distances: 1 - cosine; the L2 distance; minus the dot product."""
    return (1.0 - scores) if metric == "cosine" else -scores


def nearest_rows(col: Collection, table: SourceTable, k: int, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest other rows by the collection's own index and metric.

    Parameters
    ----------
    col : Collection
        The open collection ``table`` was read from.
    table : SourceTable
        Its rows (``matrix`` ``(n, dim)`` float32, ``keys`` the ids).
    k : int
        Neighbours per row (>= 1).
    batch_size : int
        Rows searched together.

    Returns
    -------
    tuple of (numpy.ndarray, numpy.ndarray)
        ``(n, k)`` int64 row numbers, best first, ``-1`` where a row has fewer than ``k`` others; and ``(n, k)``
        float32 distances (1 - cosine, the L2 distance, or minus the dot product; ``inf`` beside a ``-1``).

    Raises
    ------
    InputError
        For ``k`` < 1.
    """
    if k < 1:
        raise InputError(f"--neighbors must be at least 1 (or 0 to leave the column out), got {k}")
    n = len(table.keys)
    rows = np.full((n, k), -1, np.int64)
    scores = np.full((n, k), -np.inf, np.float32)
    index = table.rows
    for start in range(0, n, batch_size):
        block = table.matrix[start:start + batch_size]
        for i, hits in enumerate(col.search_many(block, k=k + 1, batch_size=batch_size), start=start):
            found = [(index[h.id], h.score) for h in hits if h.id != table.keys[i] and h.id in index][:k]
            if found:
                rows[i, :len(found)] = [r for r, _ in found]
                scores[i, :len(found)] = [s for _, s in found]
    dist = np.where(rows >= 0, _distance(scores, table.metric), np.inf).astype(np.float32)
    return rows, dist


def export_atlas(col: Collection, path: str | os.PathLike[str], home: str | os.PathLike[str], method: str = "pca",
                 neighbors: int = 10, seed: int = 0, report: Report | None = None) -> dict[str, Any]:
    """Write ``col`` as an Embedding Atlas table (``embedlab.formats.atlas``).

    Parameters
    ----------
    col : Collection
        An open collection.
    path : str or os.PathLike
        The ``.parquet`` file to write (its folder must exist).
    home : str or os.PathLike
        The embedlab home whose ``projector/`` folder caches layouts (the one ``embedlab serve`` uses).
    method : str
        ``"pca"``, ``"umap"`` or ``"tsne"``: the layout's method.
    neighbors : int
        Nearest items per row in the ``neighbors`` column; 0 leaves the column out.
    seed : int
        The layout's seed (the projector's default is 0).
    report : callable or None
        ``report(fraction, stage)`` while a layout is fitted.

    Returns
    -------
    dict
        ``path``, ``count``, ``dim``, ``metric``, ``method``, ``how`` (how the layout was made), ``cached`` (read
        from the projector's cache), ``trustworthiness`` and ``continuity`` (k = 10), ``neighbors`` (k, or 0) and
        ``command`` (the ``embedding-atlas`` command line that opens the file).

    Raises
    ------
    InputError
        For an empty collection, an unknown method, too few items for the method, vectors holding NaN, or a
        negative ``neighbors``.
    """
    if method not in METHOD_NAMES:
        raise InputError(f"unknown layout method {method!r}; choose one of {', '.join(METHOD_NAMES)}")
    if neighbors < 0:
        raise InputError(f"--neighbors must be 0 (no column) or more, got {neighbors}")
    table, texts, sources = _rows(col)
    if not table.keys:
        raise InputError(f"collection {col.name!r} is empty; index something first")
    cache = ProjectorCache(Path(home) / "projector")
    key = layout_key(collection_version(col.name, 0, col.info()), method, seed)
    layout = cache.layout(key)
    cached = layout is not None
    if layout is None:
        layout = cache.store(key, fit(table, method, seed, report or (lambda fraction, stage: None)))
    near, dist = nearest_rows(col, table, neighbors) if neighbors else (None, None)
    description = {"collection": col.name, "metric": table.metric, "dim": int(table.matrix.shape[1]),
                   "method": method, "seed": seed, "how": layout.how, "trustworthiness": layout.trustworthiness,
                   "continuity": layout.continuity, "neighbors_k": neighbors}
    written = atlas.write(path, table.keys, texts, layout.coords, metadata=table.metadata, sources=sources,
                          neighbors=near, distances=dist, description=description)
    return {"path": str(written), "count": len(table.keys), "dim": description["dim"], "metric": table.metric,
            "method": method, "how": layout.how, "cached": cached, "trustworthiness": layout.trustworthiness,
            "continuity": layout.continuity, "neighbors": neighbors,
            "command": atlas.command(written, with_neighbors=bool(neighbors))}
