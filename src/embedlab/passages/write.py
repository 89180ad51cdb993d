"""Write items given one by one (an API client's, not files read from disk), long texts split into passages as
``index_records`` splits them: the HTTP collection routes' ``"passages": true``.

Unlike ``index_records``, nothing here reasons about files (no source bookkeeping, no sync): an item shorter
than the encoder's limit is written exactly as given, and a longer one is replaced by its passages
``"<id>#<n>"`` (metadata: the item's own plus ``doc_id`` and ``passage``; the text is the content), so that
``search_documents`` reports it once under its own id.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._params import check_unicode
from ..errors import FilterWarning, InputError
from ..ingest import Record
from .results import passages_of
from .split import passage_id, split_records

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Collection


def write_items(collection: Collection, records: list[Record], *, upsert: bool, max_tokens: int | None = None,
                overlap: int | None = None, keep: bool = False,
                check: Callable[[list[Record]], None] | None = None) -> dict[str, Any]:
    """Add or upsert items, each text longer than the collection encoder's limit split into passages.

    With ``upsert``, what an item stored before left behind goes: its passages that the new text no longer
    produces, or the whole item when it is now split (and its passages when it is now whole). Without it, an id
    stored before, whole or as passages, is an error and nothing is written.

    Parameters
    ----------
    collection : Collection
        The collection written to; its encoder decides how texts are split (see ``limits``).
    records : list of Record
        The items: id, text (or a path for a media item, never split), metadata, source (``""`` for none).
    upsert : bool
        Upsert (unchanged items skipped) instead of add.
    max_tokens, overlap : int or None
        Passage length and overlap (default: the encoder's limit and 15 % of it), as for ``index_records``.
    keep : bool
        With ``upsert``: items not split keep their stored metadata and source (the records' are ignored), as
        ``Collection.upsert`` does without ``metadata``; passages always get theirs.
    check : callable or None
        Called with the items about to be written (passages included) before anything is written; raises to
        refuse them (e.g. a server's length limit).

    Returns
    -------
    dict
        ``added`` (and with ``upsert`` ``updated``, ``unchanged``, ``removed``) item counts, and ``split`` (items
        split) and ``passages`` (items written in all, passages included).

    Raises
    ------
    InputError
        For bad limits, a text that is not valid Unicode (naming its position), an id that is also the id of
        another item's passage in the same call, (add) an id stored before, or what the collection refuses.
    """
    for i, r in enumerate(records):  # before a tokenizer sees it (a lone surrogate crashes the Rust ones)
        if isinstance(r.item, str):
            check_unicode(r.item, f"item {i}")
    given = {r.id: r for r in records}
    split, stats = split_records(records, collection.encoder, max_tokens, overlap)
    items = [given[r.id] if r.id in given else r for r in split]  # items not split: exactly as given
    docs = [r.id for r in records]
    taken = [r.id for r in split if r.id in given and given[r.id].item != r.item]
    if taken:
        raise InputError(f"id {taken[0]!r} is both an item of this request and a passage of a longer item; "
                         "rename one of them")
    stored = [it.id for it in collection.get(docs, missing="skip")]
    # a document stored as passages has its passage 0: look those up by id, and scan the metadata for all of a
    # document's passages only for the documents that have one (most writes have none)
    firsts = {it.id for it in collection.get([passage_id(d, 0) for d in docs], missing="skip")}
    split_before = [d for d in docs if passage_id(d, 0) in firsts]
    parts: list[str] = []
    if split_before:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FilterWarning)
            parts = [p for ps in passages_of(collection, split_before).values() for p in ps]
    if check is not None:
        check(items)
    out: dict[str, Any] = {"split": stats.split, "passages": len(items)}
    if not upsert:
        if stored or parts:
            have = (stored + parts)[:5]
            raise InputError(f"id(s) already in collection {collection.name!r} (whole or as passages): "
                             f"{', '.join(map(repr, have))}; upsert to replace them")
        out["added"] = collection.add([r.id for r in items], [r.item for r in items],
                                      metadata=[r.metadata for r in items], sources=_sources(items))
        return out
    counts = dict.fromkeys(("added", "updated", "unchanged"), 0)
    kept = [r for r in items if keep and r.id in given]
    for group, meta in ((kept, False), ([r for r in items if not (keep and r.id in given)], True)):
        if group:
            got = collection.upsert([r.id for r in group], [r.item for r in group],
                                    metadata=[r.metadata for r in group] if meta else None,
                                    sources=_sources(group) if meta else None)
            for key in counts:
                counts[key] += int(got.get(key, 0))
    current = {r.id for r in items}
    stale = [i for i in dict.fromkeys(stored + parts) if i not in current]
    out.update(counts, removed=collection.delete(stale) if stale else 0)
    return out


def _sources(items: list[Record]) -> list[str | None] | None:
    """The items' sources, or None when none has one (the collection then stores what it stores by default)."""
    return [r.source or None for r in items] if any(r.source for r in items) else None
