"""What a collection made by an older embedlab needs before new records are written into it, and the ids that
two files claim.

- **Sources**: older versions stored sources relative to the folder the command ran in; `migrations` matches them
  to the files read now (``ingest.resolve_legacy_source``) so they are rewritten, not re-indexed.
- **Ids**: older versions gave a file the id of its stem (``readme`` for ``a/readme.txt``); files now have the
  id of their path relative to the folder indexed, so the same file indexed from another folder (``notes/``,
  then its parent) gets another id too. `renames` pairs each item stored from a file read now under another id
  (and its passages ``old#n``) with the file's id now — the same file by its stored source — so the item is
  re-keyed with its vector (no re-encoding) when its content is unchanged, and replaced (old id deleted, new one
  added) when it changed; either way the old id does not linger beside the new one, with or without ``--sync``.
- **Collisions**: a file whose id is stored for an item of another file that still exists (``a/`` and ``b/``
  both indexed from inside, each with ``readme.txt``; a stem id kept from an older version that equals a new
  path id) is not written over it: `collisions` names it, and indexing leaves it out (or stops, ``strict``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..ingest import Record, is_legacy_source, legacy_id, resolve_legacy_source, source_file, whole_file

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Collection


def resolved(records: list[Record]) -> bool:
    """Whether the records carry resolved (absolute) sources, as ``ingest.read_sources`` writes them.

    Records with relative sources of their own (a library caller's choice) keep the current folder as the base of
    every relative source, stored or new, as before sources were stored resolved.

    Parameters
    ----------
    records : list of Record
        The records being indexed.

    Returns
    -------
    bool
        True when no record's source is relative.
    """
    return all(not is_legacy_source(r.source) for r in records)


def migrations(stored: dict[str, str | None], records: list[Record], items: list[Record],
               sync: Sequence[str | Path] | None) -> dict[str, str]:
    """Stored id → resolved source, for the relative sources an older embedlab stored that
    ``resolve_legacy_source`` matches: to the source the same id (or the file its stem id names) is read from this
    time, else to a file under ``sync``.

    Parameters
    ----------
    stored : dict of str to (str or None)
        The collection's sources (``Collection.sources()``).
    records : list of Record
        The records being indexed.
    items : list of Record
        Their split items.
    sync : sequence of str or Path, or None
        The paths synced.

    Returns
    -------
    dict of str to str
        The sources to rewrite.
    """
    if not resolved(records):
        return {}
    relative = {id_: src for id_, src in stored.items() if is_legacy_source(src)}
    if not relative:
        return {}
    now: dict[str, list[str]] = {}
    for r in [*records, *items]:
        now.setdefault(r.id, []).append(r.source)
    for r in records:
        old = legacy_id(r)
        if old is not None:
            now.setdefault(old, []).append(r.source)
    moves: dict[str, str] = {}
    for id_, src in relative.items():
        assert src is not None  # is_legacy_source
        doc, sep, n = id_.rpartition("#")
        same = now.get(id_) or (now.get(doc, []) if sep and n.isdigit() else [])
        for candidate in [*same, None]:
            to = resolve_legacy_source(src, sync or (), candidate)
            if to is not None:
                moves[id_] = to
                break
    return moves


def write_sources(collection: Collection, moves: dict[str, str], step: int = 1024) -> None:
    """Rewrite the sources of stored items (``migrations``), keeping their vectors and metadata as they are.

    Parameters
    ----------
    collection : Collection
        The collection.
    moves : dict of str to str
        Id → new source.
    step : int
        Items per write.
    """
    ids = list(moves)
    for start in range(0, len(ids), step):
        part = collection.get(ids[start:start + step])
        collection.upsert([it.id for it in part], vectors=np.stack([it.vector for it in part]),
                          sources=[moves[it.id] for it in part], prepared=True)


def collisions(stored: dict[str, str | None], records: list[Record]) -> list[dict[str, str]]:
    """The whole files whose id (or one of its passages' ids) is stored for an item of another file that still
    exists and is not read now (an item of a file read now moves to that file's id, see ``renames``).

    Parameters
    ----------
    stored : dict of str to (str or None)
        The collection's sources, relative ones already resolved where they could be (``migrations``).
    records : list of Record
        The records being indexed.

    Returns
    -------
    list of dict
        ``{"id", "source", "held_by"}`` per colliding file, in input order.
    """
    files = {r.id: r for r in records if whole_file(r)}
    if not files or not stored:
        return []
    moving = {r.source for r in files.values()}  # items of files read now leave their old ids (``renames``)
    out: dict[str, dict[str, str]] = {}
    for id_, src in stored.items():
        doc, sep, n = id_.rpartition("#")
        rid = id_ if id_ in files else (doc if sep and n.isdigit() and doc in files else None)
        if rid is None or rid in out or not src or is_legacy_source(src):
            continue  # a relative source matched to no file: where it lies is unknown, nothing to compare
        held, now = source_file(src), source_file(files[rid].source)
        if held is not None and held != now and held.exists() and src not in moving:
            out[rid] = {"id": rid, "source": files[rid].source, "held_by": src}
    return [out[r.id] for r in records if r.id in out]


@dataclass
class Renames:
    """Items stored under another id for a file read now, and what becomes of them: ``keep`` old id → new id
    (same content: re-keyed with its vector), ``drop`` old ids whose file now gives other content or other
    passages (deleted; the new ids are encoded and added)."""

    keep: dict[str, str] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keep) + len(self.drop)


_PASSAGE = re.compile(r"#\d+\Z")


def renames(collection: Collection, stored: dict[str, str | None], records: list[Record],
            items: list[Record]) -> Renames:
    """Pair the items stored from a file read now under another id — the file's stem (an older embedlab's id,
    ``ingest.legacy_id``), or its path from another folder indexed (``notes/a.txt`` then ``a.txt``) — with the
    file's ids now, by source: a whole item with the document's id, passage ``#n`` with passage ``#n``.

    Parameters
    ----------
    collection : Collection
        The collection (asked which contents changed).
    stored : dict of str to (str or None)
        Its sources, relative ones already resolved where they could be (``migrations``).
    records : list of Record
        The records being indexed (without collisions).
    items : list of Record
        Their split items.

    Returns
    -------
    Renames
        What to re-key and what to delete.
    """
    by_file = {r.source: r for r in records if whole_file(r)}
    out = Renames()
    if not by_file:
        return out
    new = {it.id: it for it in items}
    for id_, src in stored.items():
        rec = by_file.get(src) if src else None
        if rec is None or id_ == rec.id or id_.startswith(rec.id + "#"):
            continue  # not from a file read now, or one of its own ids (current, or a passage it no longer has)
        passage = _PASSAGE.search(id_)
        target = rec.id + (passage.group(0) if passage else "")
        if target in new and target not in out.keep.values() and target not in stored:
            out.keep[id_] = target
        else:
            out.drop.append(id_)
    if out.keep:
        olds = list(out.keep)
        changed = {olds[i] for i in collection.changed(olds, [new[out.keep[o]].item for o in olds])}
        for old in olds:
            if old in changed:
                out.drop.append(old)
                del out.keep[old]
    return out


def apply_renames(collection: Collection, plan: Renames, items: list[Record], step: int = 512) -> None:
    """Re-key the unchanged items (their stored vectors under the new ids, with the new metadata and source),
    then delete every old id.

    Parameters
    ----------
    collection : Collection
        The collection.
    plan : Renames
        From ``renames``.
    items : list of Record
        The split items (the new ids' items, metadata and sources).
    step : int
        Items per write.
    """
    new = {it.id: it for it in items}
    olds = list(plan.keep)
    for start in range(0, len(olds), step):
        part = collection.get(olds[start:start + step])
        targets = [new[plan.keep[it.id]] for it in part]
        collection.upsert([t.id for t in targets], [t.item for t in targets],
                          vectors=np.stack([it.vector for it in part]), metadata=[t.metadata for t in targets],
                          sources=[t.source for t in targets], prepared=True)
    gone = olds + plan.drop
    for start in range(0, len(gone), 4096):
        collection.delete(gone[start:start + 4096])


def renamed_pairs(plan: Renames) -> list[list[str]]:
    """``[[old, new], ...]`` for a report.

    Parameters
    ----------
    plan : Renames
        From ``renames``.

    Returns
    -------
    list of list of str
        The re-keyed ids.
    """
    return [[old, new] for old, new in plan.keep.items()]


