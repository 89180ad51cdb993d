"""Index records into a collection: split, migrate what older versions stored, upsert, and (with ``sync``) remove
the items of files that are gone."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import InputError
from ..ingest import Record, is_legacy_source, source_file, within
from .legacy import (
    Renames,
    apply_renames,
    collisions,
    migrations,
    renamed_pairs,
    renames,
    resolved,
    write_sources,
)
from .paced import upsert_paced
from .split import split_records

if TYPE_CHECKING:  # pragma: no cover
    from ..encoders import Encoder
    from ..store import Collection

#: ``progress(done, total)``: called after each chunk of items is written.
Progress = Callable[[int, int], None]


class Engine(Protocol):
    """How ``index_records`` encodes and writes the items it split, when not in this process: an engine object
    from a layer above (``embedlab.scale.RayEngine`` encodes on a Ray cluster). The default (None) encodes here."""

    def upsert(self, collection: Collection, items: list[Record], progress: Progress | None) -> dict[str, int]:
        """Upsert ``items`` into ``collection`` (unchanged ones skipped, as ``Collection.upsert`` does).

        Parameters
        ----------
        collection : Collection
            The collection written to.
        items : list of Record
            The split items (passage ids, texts, metadata, sources), in write order.
        progress : callable or None
            ``progress(done, total)`` after each batch written.

        Returns
        -------
        dict of str to int
            ``{"added", "updated", "unchanged"}`` counts.
        """
        ...


def index_records(collection: Collection, records: Iterable[Record], *, max_tokens: int | None = None,
                  overlap: int | None = None, progress: Progress | None = None,
                  skipped: Callable[[int], None] | None = None, chunk: int | None = None,
                  engine: Engine | str | None = None, sync: Sequence[str | Path] | None = None,
                  dry_run: bool = False, duplicates: Sequence[str] = (), strict: bool = False) -> dict[str, Any]:
    """Split long texts into passages and upsert everything into a collection (unchanged items are skipped).

    Passages a document no longer has (it got shorter, or is no longer split) are deleted. ``sync`` names the
    paths (files, folders) the records were read from: items whose source lies in one of them but that these
    records no longer produce are deleted too (their file is gone, or its row or passage is, or its content now
    repeats another file's: ``duplicates``), while items from other paths are never touched and items of files
    that still exist but were not read this time (unreadable, empty) are kept and counted as ``kept``.

    Sources are compared as resolved absolute paths (``ingest.read_sources`` writes them so). Relative sources
    stored by an older embedlab are first rewritten to the file ``ingest.resolve_legacy_source`` matches them to
    (counted as ``migrated``; an unchanged item is then ``unchanged``, not ``updated``); with ``sync``, one that
    matches no file under the synced paths is never removed on a guess: it is kept and counted as ``unresolved``.
    Items an older embedlab stored under a file's stem (``readme``, ``readme#2``) are re-keyed to the file's id
    now (``a/readme.txt``, ``a/readme.txt#2``) with their vectors when their content is unchanged (counted as
    ``renamed``), else replaced — never left beside the new ids, and never re-encoded for the rename alone
    (see ``passages.legacy``). A file whose id is stored for an item of another file that still exists is not
    written over it: it is left out and listed in ``collisions`` (``strict``: InputError, nothing written).

    Parameters
    ----------
    collection : Collection
        The collection written to; its encoder decides how texts are split.
    records : iterable of Record
        Documents (id, item, metadata, source, spans), e.g. ``ingest.read_sources(...).records``.
    max_tokens, overlap : int or None
        Passage length and overlap (default: the encoder's limit and 15 % of it; see ``limits``).
    progress : callable or None
        ``progress(done, total)`` after each chunk of items written and, while a chunk encodes here, after each
        encoder step of about half a second (``passages.paced``).
    skipped : callable or None
        ``skipped(n)`` just before a ``progress`` report that counts ``n`` more items found stored as they are
        (written without encoding: an interrupted run's items, say), so a bar can leave them out of its rate
        and estimate (as tqdm's ``initial=``). Called only with ``progress`` and the local engine.
    chunk : int or None
        Items per upsert (default: about a twentieth of them, at least 512; each upsert writes a segment).
    engine : Engine, "local" or None
        Where the items are encoded: None / ``"local"`` in this process; an engine object elsewhere
        (``embedlab.scale.RayEngine(address=..., workers=..., batch_size=...)`` on a Ray cluster).
    sync : sequence of str or path, optional
        The paths the records were read from (see above).
    dry_run : bool
        Write nothing; return ``plan_records``'s answer instead.
    duplicates : sequence of str
        Sources of files read but left out as duplicates of another's content (``Ingested.duplicates``): with
        ``sync`` their stored items are removed like those of any file read.
    strict : bool
        Raise on a collision instead of leaving the file out.

    Returns
    -------
    dict
        Counts: ``documents``, ``split``, ``passages``, ``added``, ``updated``, ``unchanged``, ``removed``,
        ``kept``, ``migrated``, ``unresolved``, ``renamed``, the ``max_tokens``, ``overlap`` and ``unit`` used,
        and ``collisions`` (``{"id", "source", "held_by"}`` per file left out).

    Raises
    ------
    InputError
        For an unknown engine name (``"ray"`` is ``embedlab.scale.RayEngine``), bad limits, items the collection
        refuses, or (``strict``) a collision.
    """
    if isinstance(engine, str):
        if engine == "ray":
            raise InputError("engine='ray' takes its settings as an object now: pass "
                             "engine=embedlab.scale.RayEngine(address=..., workers=..., batch_size=...), or call "
                             "embedlab.scale.index_dataset")
        if engine != "local":
            raise InputError(f"unknown engine {engine!r}; use local (the default) or an engine object such as "
                             "embedlab.scale.RayEngine")
        engine = None
    records = list(records)
    if dry_run:
        return plan_records(collection, records, max_tokens=max_tokens, overlap=overlap, sync=sync,
                            duplicates=duplicates, strict=strict)
    stored = collection.sources()
    moves = migrations(stored, records, records, sync)
    records, collided = _without_collisions({**stored, **moves}, records, strict)
    items, stats = split_records(records, collection.encoder, max_tokens, overlap)
    write_sources(collection, moves)
    rename = renames(collection, {**stored, **moves}, records, items)
    apply_renames(collection, rename, items)
    total = len(items)
    chunk = chunk or max(512, -(-total // 20))  # at most ~20 upserts (each one writes a segment)
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    if progress:
        progress(0, total)
    if engine is not None:
        counts = engine.upsert(collection, items, progress)
    for start in range(0, total if engine is None else 0, chunk):
        part = items[start:start + chunk]
        if progress and collection.encoder is not None:  # report while a chunk encodes, not only after it
            got = upsert_paced(collection, part, _offset(progress, start, total), skipped=skipped)
        else:
            got = collection.upsert([r.id for r in part], [r.item for r in part],
                                    metadata=[r.metadata for r in part], sources=[r.source for r in part])
            if progress and skipped:
                skipped(int(got.get("unchanged", 0)))
        for key in counts:
            counts[key] += int(got.get(key, 0))
        if progress:
            progress(min(start + chunk, total), total)
    remove, kept, unresolved = _removals(collection, records, items, sync, duplicates=duplicates)
    removed = (collection.delete(remove) if remove else 0) + len(rename.drop)
    return {"documents": stats.documents, "split": stats.split, "passages": stats.passages, **counts,
            "removed": removed, "kept": len(kept), "migrated": len(moves), "unresolved": len(unresolved),
            "renamed": len(rename.keep), "max_tokens": stats.max_tokens, "overlap": stats.overlap,
            "unit": stats.unit, "collisions": collided}


def _offset(progress: Progress, start: int, total: int) -> Callable[[int], None]:
    """``report(done)`` within a chunk that starts at ``start``, as ``progress(start + done, total)``."""
    return lambda done: progress(start + done, total)


def plan_records(collection: Collection | None, records: Iterable[Record], *, encoder: Encoder | None = None,
                 max_tokens: int | None = None, overlap: int | None = None,
                 sync: Sequence[str | Path] | None = None, duplicates: Sequence[str] = (),
                 strict: bool = False) -> dict[str, Any]:
    """What ``index_records`` would do, without writing anything.

    Parameters
    ----------
    collection : Collection or None
        The collection; None for one that does not exist yet (everything would be added).
    records : iterable of Record
        As for ``index_records``.
    encoder : Encoder or None
        Decides how texts are split; default the collection's; required when ``collection`` is None.
    max_tokens, overlap, sync, duplicates, strict
        As for ``index_records``.

    Returns
    -------
    dict
        ``index_records``'s counts plus ``"dry_run": True`` and ``"ids": {"added", "updated", "removed",
        "kept", "migrated", "unresolved", "renamed"}`` (lists of ids, in input / write order; ``renamed`` holds
        ``[old, new]`` pairs).

    Raises
    ------
    InputError
        Without a collection or an encoder, for bad limits, or (``strict``) a collision.
    """
    records = list(records)
    enc = encoder if encoder is not None else (collection.encoder if collection is not None else None)
    if collection is None and encoder is None:
        raise InputError("plan_records needs a collection or, for a new one, the encoder it would use")
    updated: list[str] = []
    remove: list[str] = []
    kept: list[str] = []
    unresolved: list[str] = []
    moves: dict[str, str] = {}
    collided: list[dict[str, str]] = []
    rename = Renames()
    if collection is None:  # a new collection: everything would be added
        items, stats = split_records(records, enc, max_tokens, overlap)
        added, unchanged = [r.id for r in items], 0
    else:
        stored = collection.sources()
        moves = migrations(stored, records, records, sync)
        records, collided = _without_collisions({**stored, **moves}, records, strict)
        items, stats = split_records(records, enc, max_tokens, overlap)
        rename = renames(collection, {**stored, **moves}, records, items)
        added, updated, unchanged = _changes(collection, items, moves, set(rename.keep.values()),
                                             set(rename.keep) | set(rename.drop))
        remove, kept, unresolved = _removals(collection, records, items, sync, moves, duplicates, rename)
    return {"documents": stats.documents, "split": stats.split, "passages": stats.passages, "added": len(added),
            "updated": len(updated), "unchanged": unchanged, "removed": len(remove), "kept": len(kept),
            "migrated": len(moves), "unresolved": len(unresolved), "renamed": len(rename.keep),
            "max_tokens": stats.max_tokens, "overlap": stats.overlap, "unit": stats.unit, "collisions": collided,
            "dry_run": True,
            "ids": {"added": added, "updated": updated, "removed": remove, "kept": kept, "migrated": list(moves),
                    "unresolved": unresolved, "renamed": renamed_pairs(rename)}}


def _without_collisions(stored: dict[str, str | None], records: list[Record],
                        strict: bool) -> tuple[list[Record], list[dict[str, str]]]:
    """The records less the files whose id another existing file's item holds (``legacy.collisions``)."""
    found = collisions(stored, records)
    if found and strict:
        first = found[0]
        raise InputError(
            f"{len(found)} file(s) have an id that the collection holds for another file: {first['id']!r} is "
            f"{first['source']} here and {first['held_by']} there; index the folder above both (the ids then "
            "include the subfolder), index into another collection, or delete the stored item first "
            "(embedlab delete NAME ID); nothing was written"
        )
    if not found:
        return records, []
    out = {c["id"] for c in found}
    return [r for r in records if r.id not in out], found


def _changes(collection: Collection, items: list[Record], moves: dict[str, str] | None = None,
             renamed: set[str] | None = None, freed: set[str] | None = None,
             step: int = 1024) -> tuple[list[str], list[str], int]:
    """``(added, updated, unchanged)`` of upserting ``items``: ids new to the collection, ids whose content hash,
    metadata or source (as ``moves`` rewrites it first) differ from the stored ones, and how many are stored as
    they are (the ``renamed`` ids, re-keyed from an old id with the same content, are; the ``freed`` ids, whose
    stored item moves to another id first, are new)."""
    moves = moves or {}
    renamed = renamed or set()
    freed = freed or set()
    added: list[str] = []
    updated: list[str] = []
    unchanged = 0
    for start in range(0, len(items), step):
        part = items[start:start + step]
        ids = [r.id for r in part]
        changed = {ids[i] for i in collection.changed(ids, [r.item for r in part])}
        stored = {it.id: it for it in collection.get(ids, missing="skip")}
        for r in part:
            old = stored.get(r.id) if r.id not in freed else None
            if old is None and r.id in renamed:
                unchanged += 1
            elif old is None:
                added.append(r.id)
            elif r.id in changed or (old.metadata, moves.get(r.id, old.source)) != (_as_json(r.metadata), r.source):
                updated.append(r.id)
            else:
                unchanged += 1
    return added, updated, unchanged


def _as_json(meta: dict[str, Any]) -> Any:
    """Metadata as it reads back from a collection (JSON types: tuples become lists)."""
    return json.loads(json.dumps(meta, ensure_ascii=False))


def _removals(collection: Collection, records: list[Record], items: list[Record],
              sync: Sequence[str | Path] | None, moves: dict[str, str] | None = None, duplicates: Sequence[str] = (),
              rename: Renames | None = None) -> tuple[list[str], list[str], list[str]]:
    """``(remove, kept, unresolved)``: stored ids to delete after indexing ``items`` (split from ``records``), in
    write order; the ids ``sync`` keeps because their file exists but was not read this time; and the ids it
    keeps because their source is relative (an older embedlab's) and matched no file (``legacy.migrations``; its
    rewrites ``moves`` are applied first when they are not written yet). A dry run passes the ``rename`` it
    would apply first: its re-keyed old ids are not removed, its dropped ones are."""
    docs = {r.id for r in records}
    current = {r.id for r in items}
    sources: dict[str, str | None] = collection.sources() if sync else dict.fromkeys(collection.ids())
    if sync:
        sources.update((id_, src) for id_, src in (moves or {}).items() if id_ in sources)
    dropped = set(rename.drop) if rename is not None else set()
    skip = (set(rename.keep) | dropped) if rename is not None else set()
    remove = [i for i in _stale_passages(collection, docs, current, list(sources)) if i not in skip]
    remove += [i for i in sources if i in dropped]
    kept: list[str] = []
    unresolved: list[str] = []
    if sync:
        roots = [Path(p) for p in sync]
        read = {source_file(r.source) for r in records} | {source_file(d) for d in duplicates}
        stale = set(remove)
        resolved_ = resolved(records)
        for id_, src in sources.items():
            if id_ in current or id_ in stale or id_ in skip:
                continue
            if resolved_ and is_legacy_source(src):  # relative to an unknown folder: never removed on a guess
                unresolved.append(id_)
                continue
            path = source_file(src)
            if path is None or not within(path, roots):
                continue
            if path in read or not path.exists():
                remove.append(id_)
            else:
                kept.append(id_)
    order = {id_: n for n, id_ in enumerate(sources)}
    remove.sort(key=order.__getitem__)
    return remove, kept, unresolved


def _stale_passages(collection: Collection, docs: set[str], current: set[str], stored: list[str]) -> list[str]:
    """Stored ids of re-indexed documents that the new split did not produce."""
    stale_candidates = []
    for id_ in stored:
        if id_ in current:
            continue
        if id_ in docs:  # the document was stored whole and is now split into passages
            stale_candidates.append(id_)
            continue
        doc, sep, n = id_.rpartition("#")
        if sep and n.isdigit() and doc in docs:
            stale_candidates.append(id_)
    return [it.id for it in collection.get(stale_candidates)
            if it.id in docs or str(it.metadata.get("doc_id")) in docs] if stale_candidates else []
