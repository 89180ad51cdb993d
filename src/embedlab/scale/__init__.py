"""Scale beyond one process: distributed batch encoding and indexing on Ray (``pip install 'embedlab[scale]'``).
The PostgreSQL + pgvector collection backend lives with the other backends in ``embedlab.store``.

    >>> from embedlab.scale import index_dataset
    >>> index_dataset("docs", ["corpus/"], workers=2)              # a local Ray cluster, 2 actors
    >>> index_dataset("docs", ["corpus/"], address="auto")         # the cluster this machine belongs to
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..encoders import encoder as build
from ..ingest import read_sources
from ..passages import index_records
from ..store import Collection
from .address import check_address
from .ray import RayEngine, upsert_records

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Collection


def index_dataset(collection: Collection | str, paths: Sequence[str | Path], *, encoder: str | None = None,
                  backend: str | None = None, address: str | None = None, workers: int = 2, batch_size: int = 64,
                  max_tokens: int | None = None, overlap: int | None = None, strict: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """``embedlab index NAME PATHS --engine ray`` from Python.

    Reads and splits ``paths`` as the single-process path does, encodes the new and changed items on Ray (see
    ``embedlab.scale.ray``), and writes them to the collection.

    Parameters
    ----------
    collection : Collection or str
        A Collection, or the name of one to open, or create with ``encoder`` on ``backend``.
    paths : sequence of str or path
        Files and folders to read (``ingest.read_sources``).
    encoder : str or None
        The encoder of a new collection (default ``use-multilingual``).
    backend : str or None
        Where a collection given by name lives (``Collection.open`` / ``create``).
    address, workers, batch_size
        The Ray cluster, actors and records per task (``RayEngine``).
    max_tokens, overlap : int or None
        Passage length and overlap (``passages.limits``).
    strict : bool
        Stop at the first file that cannot be read (default: skip it and report it).
    progress : callable or None
        ``progress(done, total)`` after each batch.

    Returns
    -------
    dict
        ``passages.index_records``'s counts plus ``collection``, ``count`` and ``skipped`` sources.

    Raises
    ------
    InputError, MissingDependencyError
        As ``index_records`` and ``RayEngine`` raise them.
    """
    col = Collection.open_or_create(collection, encoder or None, backend=backend) \
        if isinstance(collection, str) else collection
    try:
        enc = col.encoder if col.encoder is not None else build(encoder or "use-multilingual")
        records = read_sources(paths, modalities=enc.modalities, strict=strict)
        out = index_records(col, records.records, max_tokens=max_tokens, overlap=overlap, progress=progress,
                            engine=RayEngine(address=address, workers=workers, batch_size=batch_size))
        out.update(collection=col.name, count=col.count(), skipped=records.skipped)
        return out
    finally:
        if isinstance(collection, str):
            col.close()


__all__ = ["RayEngine", "check_address", "index_dataset", "upsert_records"]
