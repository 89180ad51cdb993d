"""Re-embed a collection's stored contents with another encoder (`embedlab reindex NAME --encoder PATH`), e.g. after
fine-tuning: no source files needed, ids, metadata, sources and contents kept, index settings kept.

A collection is bound to one encoder, so this builds a new collection and swaps it in, using only the public
Collection API:

1. read every item (one snapshot) and encode all contents with the new encoder's document role — nothing is
   written until this succeeds (an item without stored text stops it here, and the collection is untouched);
2. write them into a staging collection ``NAME.reembed``;
3. drop ``NAME``, create it again bound to the new encoder, copy the staged rows bit for bit, drop the staging one.

If the process dies during step 3, the re-embedded items are safe in ``NAME.reembed`` and running the same command
again finishes the swap.

    >>> reembed("docs", "/abs/path/to/finetuned")     # {"collection": "docs", "count": 1200, "encoder": ...}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = ["reembed", "staging_name"]


def staging_name(name: str) -> str:
    return f"{name}.reembed"[:128]


def _settings(col: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {"index": col.index_kind, "index_params": dict(col.index_params)}
    if col.source_dim != col.dim:
        kw["dim"] = col.dim
    return kw


def _copy(src: Any, dst: Any) -> int:
    n = 0
    for rows in src.export_rows():
        dst.add(rows.ids, vectors=rows.vectors, metadata=[json.loads(m) for m in rows.metadata],
                sources=rows.sources, contents=rows.contents, hashes=rows.hashes, prepared=True)
        n += len(rows.ids)
    return n


def reembed(name: str, encoder: Any, *, root: str | Path | None = None, backend: str | None = None,
            batch_size: int = 64, progress: bool = False) -> dict[str, Any]:
    """Re-embed collection ``name`` with ``encoder`` (a name, a model folder path or an Encoder); see the module
    docstring. Returns ``{"collection", "count", "encoder", "fingerprint", "previous_encoder"}``."""
    from .encoders import Encoder
    from .encoders import encoder as build
    from .store import Collection

    enc = encoder if isinstance(encoder, Encoder) else build(str(encoder))
    stage = staging_name(name)
    names = Collection.list(root=root, backend=backend)
    loc = {"root": root, "backend": backend}
    if name not in names and stage in names:  # an earlier run died after dropping NAME: finish its swap
        with Collection.open(stage, enc, **loc) as staged:
            kw = _settings(staged)
            with Collection.create(name, enc, **kw, **loc) as fresh:
                count = _copy(staged, fresh)
        Collection.drop(stage, **loc)
        return {"collection": name, "count": count, "encoder": enc.name, "fingerprint": enc.fingerprint,
                "previous_encoder": None, "resumed": True}
    with Collection.open(name, **loc) as old:
        previous = old.info()["encoder"].get("name")
        kw = _settings(old)
        if "text" not in enc.modalities:
            raise InputError(f"encoder {enc.name!r} does not encode text; reindex re-embeds stored text contents")
        batches = list(old.export_rows())
    ids = [i for b in batches for i in b.ids]
    contents = [c for b in batches for c in b.contents]
    missing = [i for i, c in zip(ids, contents, strict=True) if not c]
    if missing:
        raise InputError(f"{len(missing)} item(s) of {name!r} have no stored text (e.g. {missing[:3]}), so they cannot "
                         "be re-embedded without their sources; index the source files again with `embedlab index "
                         f"{name} PATH... --encoder ...` into a new collection")
    vectors = None
    if ids:
        vectors = enc.encode_documents(contents, batch_size=batch_size, progress=progress)
    if stage in names:
        Collection.drop(stage, **loc)
    with Collection.create(stage, enc, **kw, **loc) as staged:
        if ids:
            assert vectors is not None
            staged.add(ids, vectors=vectors, metadata=[json.loads(m) for b in batches for m in b.metadata],
                       sources=[s for b in batches for s in b.sources], contents=contents,
                       hashes=[h for b in batches for h in b.hashes])
        Collection.drop(name, **loc)
        with Collection.create(name, enc, **kw, **loc) as fresh:
            count = _copy(staged, fresh)
    Collection.drop(stage, **loc)
    return {"collection": name, "count": count, "encoder": enc.name, "fingerprint": enc.fingerprint,
            "previous_encoder": previous, "resumed": False}
