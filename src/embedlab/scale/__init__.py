"""Scale beyond one process: distributed batch encoding and indexing on Ray (``pip install 'embedlab[scale]'``).
The PostgreSQL + pgvector collection backend lives with the other backends in ``embedlab.store``.

    >>> from embedlab.scale import index_dataset
    >>> index_dataset("docs", ["corpus/"], workers=2)              # a local Ray cluster, 2 actors
    >>> index_dataset("docs", ["corpus/"], address="auto")         # the cluster this machine belongs to
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def index_dataset(collection: Any, paths: Sequence[str | Path], *, encoder: str | None = None,
                  backend: str | None = None, address: str | None = None, workers: int = 2, batch_size: int = 64,
                  max_tokens: int | None = None, overlap: int | None = None, strict: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """``embedlab index NAME PATHS --engine ray`` from Python: read and split ``paths`` as the single-process path
    does, encode the new and changed items on Ray (see ``embedlab.scale.ray``), and write them to ``collection``
    (a Collection, or the name of one to open or create with ``encoder`` on ``backend``). Returns the same counts
    as ``passages.index_records`` plus ``skipped`` sources."""
    from ..encoders import encoder as build
    from ..ingest import read_sources
    from ..passages import index_records
    from ..store import Collection

    col = collection
    if isinstance(collection, str):
        col = Collection.open_or_create(collection, encoder or None, backend=backend)
    try:
        enc = col.encoder if col.encoder is not None else build(encoder or "use-multilingual")
        records = read_sources(paths, modalities=enc.modalities, strict=strict)
        out = index_records(col, records.records, max_tokens=max_tokens, overlap=overlap, progress=progress,
                            engine="ray", engine_options={"address": address, "workers": workers,
                                                          "batch_size": batch_size})
        out.update(collection=col.name, count=col.count(), skipped=records.skipped)
        return out
    finally:
        if isinstance(collection, str):
            col.close()


def upsert_records(collection: Any, records: Any, **kw: Any) -> dict[str, int]:
    """See ``embedlab.scale.ray.upsert_records`` (imported lazily: Ray is an optional extra)."""
    from .ray import upsert_records as run

    return run(collection, records, **kw)


__all__ = ["index_dataset", "upsert_records"]
