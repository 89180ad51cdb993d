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
from typing import TYPE_CHECKING, Any

from .encoders import Encoder
from .encoders import encoder as build
from .errors import InputError
from .store import Collection

if TYPE_CHECKING:  # pragma: no cover
    from .encoders import Encoder
    from .store import Collection

__all__ = ["reembed", "staging_name"]


def staging_name(name: str) -> str:
    """The name of the staging collection a re-embedding of ``name`` writes first.

    Parameters
    ----------
    name : str
        The collection re-embedded.

    Returns
    -------
    str
        ``"<name>.reembed"``, cut to the 128 characters a collection name may have.
    """
    return f"{name}.reembed"[:128]


class _Settings:
    """What the re-embedded collection keeps of the old one: its index and its Matryoshka width."""

    def __init__(self, col: Collection) -> None:
        self.index, self.index_params = col.index_kind, dict(col.index_params)
        self.dim = col.dim if col.source_dim != col.dim else None


def _create(name: str, enc: Encoder, kept: _Settings, root: str | Path | None, backend: str | None) -> Collection:
    return Collection.create(name, enc, index=kept.index, index_params=kept.index_params, dim=kept.dim, root=root,
                             backend=backend)


def _copy(src: Collection, dst: Collection) -> int:
    n = 0
    for rows in src.export_rows():
        dst.add(rows.ids, vectors=rows.vectors, metadata=[json.loads(m) for m in rows.metadata],
                sources=rows.sources, contents=rows.contents, hashes=rows.hashes, prepared=True)
        n += len(rows.ids)
    return n


def reembed(name: str, encoder: str | Path | Encoder, *, root: str | Path | None = None,
            backend: str | None = None, batch_size: int = 64, progress: bool = False) -> dict[str, Any]:
    """Re-embed a collection's stored texts with another encoder; see the module docstring.

    Parameters
    ----------
    name : str
        The collection.
    encoder : str, path or Encoder
        The new encoder: a registered name, a model folder, or an Encoder instance.
    root, backend
        Where the collection lives (as for ``Collection.open``).
    batch_size : int
        Texts per encoder call.
    progress : bool
        Show a progress bar while encoding.

    Returns
    -------
    dict
        ``{"collection", "count", "encoder", "fingerprint", "previous_encoder", "resumed"}``.

    Raises
    ------
    InputError
        When the encoder does not encode text, or some item has no stored text (nothing is changed then).
    CollectionNotFoundError
        When there is no such collection (and no staging copy of it to finish).
    """
    enc = encoder if isinstance(encoder, Encoder) else build(str(encoder))
    stage = staging_name(name)
    names = Collection.names(root=root, backend=backend)
    if name not in names and stage in names:  # an earlier run died after dropping NAME: finish its swap
        with Collection.open(stage, enc, root=root, backend=backend) as staged:
            kept = _Settings(staged)
            with _create(name, enc, kept, root, backend) as fresh:
                count = _copy(staged, fresh)
        Collection.drop(stage, root=root, backend=backend)
        return {"collection": name, "count": count, "encoder": enc.name, "fingerprint": enc.fingerprint,
                "previous_encoder": None, "resumed": True}
    with Collection.open(name, root=root, backend=backend) as old:
        previous = old.info()["encoder"].get("name")
        kept = _Settings(old)
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
        Collection.drop(stage, root=root, backend=backend)
    with _create(stage, enc, kept, root, backend) as staged:
        if ids:
            assert vectors is not None
            staged.add(ids, vectors=vectors, metadata=[json.loads(m) for b in batches for m in b.metadata],
                       sources=[s for b in batches for s in b.sources], contents=contents,
                       hashes=[h for b in batches for h in b.hashes])
        Collection.drop(name, root=root, backend=backend)
        with _create(name, enc, kept, root, backend) as fresh:
            count = _copy(staged, fresh)
    Collection.drop(stage, root=root, backend=backend)
    return {"collection": name, "count": count, "encoder": enc.name, "fingerprint": enc.fingerprint,
            "previous_encoder": previous, "resumed": False}
