"""Split long documents into overlapping passages, and report search results per document.

Encoders read a bounded number of tokens and silently lose the rest; splitting keeps every part of a long
document searchable. Passages get ids ``"<doc_id>#<n>"`` and metadata ``{"doc_id", "passage"}`` plus the
document's own metadata, so `search_documents` can group hits back into documents:

    >>> index_records(collection, read_sources("docs/").records)   # split + upsert, counts back
    >>> search_documents(collection, "query", k=5)                  # one hit per document
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from .errors import InputError
from .ingest import Record, is_legacy_source, resolve_legacy_source, source_file, within

if TYPE_CHECKING:  # pragma: no cover
    from .encoders import Encoder
    from .store import Collection, Hit

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

#: Default overlap between consecutive passages, as a fraction of ``max_tokens``.
DEFAULT_OVERLAP_FRACTION = 0.15
#: Passage length when the encoder states no limit (counted in words).
FALLBACK_MAX_WORDS = 256
#: Words per token assumed when an encoder has a token limit but no tokenizer to count with.
WORDS_PER_TOKEN = 0.75
_PIECE_SPACE = "\u2581"  # SentencePiece's word-start mark


@dataclass(frozen=True)
class SplitStats:
    """What `split_records` did: documents in, passages out, and how many documents were split."""

    documents: int
    split: int
    passages: int
    max_tokens: int
    overlap: int
    unit: str  # "tokens" or "words"


def passage_id(doc_id: str, n: int) -> str:
    """The id of passage ``n`` (0-based) of document ``doc_id``."""
    return f"{doc_id}#{n}"


def limits(encoder: Encoder | None = None, max_tokens: int | None = None,
           overlap: int | None = None) -> tuple[int, int, str]:
    """The passage length and overlap for an encoder.

    Parameters
    ----------
    encoder : Encoder or None
        The encoder the passages are for: its tokenizer counts tokens when it has one (else words are counted),
        its ``max_length`` is the default length. None: words, ``FALLBACK_MAX_WORDS`` of them.
    max_tokens : int or None
        Passage length (>= 2); default from the encoder.
    overlap : int or None
        Tokens shared by consecutive passages (0 <= overlap < max_tokens); default 15 % of ``max_tokens``.

    Returns
    -------
    tuple of (int, int, str)
        ``(max_tokens, overlap, unit)`` with unit ``"tokens"`` or ``"words"``.

    Raises
    ------
    InputError
        For ``max_tokens`` below 2 or an overlap outside ``[0, max_tokens)``.
    """
    tokenize = _tokenizer(encoder)
    unit = "tokens" if tokenize else "words"
    if max_tokens is None:
        limit = encoder.max_length if encoder is not None else None
        if limit and tokenize:
            max_tokens = int(limit)
        elif limit:
            max_tokens = max(1, int(limit * WORDS_PER_TOKEN))
        else:
            max_tokens = FALLBACK_MAX_WORDS
    if int(max_tokens) < 2:
        raise InputError(f"max_tokens must be >= 2, got {max_tokens}")
    max_tokens = int(max_tokens)
    if overlap is None:
        overlap = int(round(max_tokens * DEFAULT_OVERLAP_FRACTION))
    if not 0 <= int(overlap) < max_tokens:
        raise InputError(f"overlap must be >= 0 and smaller than max_tokens ({max_tokens}), got {overlap}")
    return max_tokens, int(overlap), unit


def split_text(text: str, max_tokens: int, overlap: int = 0,
               tokenize: Callable[[str], list[str]] | None = None) -> list[str]:
    """Cut ``text`` into passages of at most ``max_tokens`` tokens that overlap by about ``overlap`` tokens.

    Cuts fall between words; a single word longer than the limit is cut between its tokens. Without
    ``tokenize`` tokens are whitespace-separated words.
    """
    if not 0 <= overlap < max_tokens:
        raise InputError(f"overlap must be >= 0 and smaller than max_tokens ({max_tokens}), got {overlap}")
    units = _units(text, max_tokens, tokenize)
    total = sum(u[1] for u in units)
    if total <= max_tokens:
        return [text.strip()]
    out: list[str] = []
    start, n = 0, len(units)
    while start < n:
        end, used = start, 0
        while end < n and used + units[end][1] <= max_tokens:
            used += units[end][1]
            end += 1
        passage = " ".join(u[0] for u in units[start:end])
        # Whole words re-tokenize to the same pieces; cut words may not: check those passages, trim until they fit.
        inexact = tokenize is not None and not all(u[2] for u in units[start:end])
        while inexact and tokenize is not None and end - start > 1 and len(tokenize(passage)) > max_tokens:
            end -= 1
            passage = " ".join(u[0] for u in units[start:end])
        out.append(passage)
        if end >= n:
            break
        back, carried = end, 0  # step back over whole units worth at most `overlap` tokens
        while back - 1 > start and carried + units[back - 1][1] <= overlap:
            back -= 1
            carried += units[back][1]
        start = back
    return out


def split_records(records: Iterable[Record], encoder: Encoder | None = None, max_tokens: int | None = None,
                  overlap: int | None = None) -> tuple[list[Record], SplitStats]:
    """Replace each text record longer than the limit by its passages; other records pass through.

    Every text record keeps what it embeds in its ``text`` metadata (unless it has a ``text`` field already), so
    hits can show it and keyword search can index it per passage, whatever file or table row it came from.

    Parameters
    ----------
    records : iterable of Record
        Documents (id, item, metadata, source).
    encoder : Encoder or None
        Whose tokenizer and limit decide the split (see ``limits``).
    max_tokens, overlap : int or None
        As for ``limits``.

    Returns
    -------
    tuple of (list of Record, SplitStats)
        The records to store (passages ``"<id>#<n>"`` with ``doc_id`` and ``passage`` metadata) and what was done.

    Raises
    ------
    InputError
        For bad limits (see ``limits``).
    """
    max_tokens, overlap, unit = limits(encoder, max_tokens, overlap)
    tokenize = _tokenizer(encoder)
    out: list[Record] = []
    docs = split = 0
    for rec in records:
        docs += 1
        if not isinstance(rec.item, str):
            out.append(rec)
            continue
        parts = split_text(rec.item, max_tokens, overlap, tokenize)
        if len(parts) == 1:
            out.append(Record(rec.id, rec.item, {"text": rec.item, **rec.metadata}, rec.source))
            continue
        split += 1
        for i, part in enumerate(parts):
            meta = {"text": part, **rec.metadata, "doc_id": rec.id, "passage": i}
            out.append(Record(passage_id(rec.id, i), part, meta, rec.source))
    return out, SplitStats(docs, split, len(out), max_tokens, overlap, unit)


class HitLike(Protocol):
    """What ``group_hits`` reads of a hit (``store.Hit`` has it): its id, score and metadata."""

    @property
    def id(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def metadata(self) -> dict[str, Any]: ...


H = TypeVar("H", bound=HitLike)


def document_id(hit: HitLike) -> str:
    """The document a hit belongs to.

    Parameters
    ----------
    hit : Hit
        A search hit.

    Returns
    -------
    str
        Its ``doc_id`` metadata for a passage, else its own id.
    """
    meta = hit.metadata or {}
    return str(meta.get("doc_id", hit.id))


def passages_of(collection: Collection, doc_ids: Iterable[str]) -> dict[str, list[str]]:
    """The stored passages of documents, so that a document id can stand for its passages.

    Parameters
    ----------
    collection : Collection
        Where the passages are stored.
    doc_ids : iterable of str
        Document ids.

    Returns
    -------
    dict of str to list of str
        Document id → the ids of its stored passages in passage order, for those of ``doc_ids`` that are
        documents split into passages (others are left out).
    """
    docs = list(dict.fromkeys(str(d) for d in doc_ids))
    if not docs:
        return {}
    wanted = set(docs)
    out: dict[str, list[tuple[int, str]]] = {}
    for id_ in collection.ids(where={"doc_id": {"$in": docs}}):
        doc, sep, n = id_.rpartition("#")
        if sep and n.isdigit() and doc in wanted:
            out.setdefault(doc, []).append((int(n), id_))
    return {d: [id_ for _, id_ in sorted(out[d])] for d in docs if d in out}


def group_hits(hits: Sequence[H], k: int | None = None) -> list[H]:
    """Keep each document's best hit, re-labelled with the document id.

    Parameters
    ----------
    hits : sequence of Hit
        Search hits, best first (dataclasses or named tuples with ``id``, ``score``, ``metadata``).
    k : int or None
        Keep at most this many documents; None for all.

    Returns
    -------
    list of Hit
        One hit per document (``id`` = the document id; metadata of its best passage), best first.
    """
    best: dict[str, H] = {}
    for h in hits:
        doc = document_id(h)
        if doc not in best:
            best[doc] = h if doc == h.id else _relabel(h, doc)
    out = sorted(best.values(), key=lambda h: -h.score)
    return out if k is None else out[:k]


def search_documents(collection: Collection, query: Any, k: int = 5,
                     where: dict[str, Any] | None = None) -> list[Hit]:
    """The ``k`` best documents for a query: passages are grouped by ``doc_id``, each keeping its best.

    Fetches more passages than ``k`` (doubling as needed) so that documents with many matching passages
    cannot crowd the others out.

    Parameters
    ----------
    collection : Collection
        The collection searched.
    query : str, item or array_like
        What ``Collection.search`` takes: a text/item for the encoder, or one vector.
    k : int
        Documents wanted (>= 1).
    where : dict or None
        A metadata filter, as for ``Collection.search``.

    Returns
    -------
    list of Hit
        The collection's hits with ``id`` set to the document id, best first; the metadata keeps ``doc_id`` and
        ``passage`` of the best passage.

    Raises
    ------
    InputError
        For ``k`` below 1, or what ``Collection.search`` refuses.
    """
    if int(k) < 1:
        raise InputError(f"k must be >= 1, got {k}")
    total = collection.count()
    if total == 0:
        return []
    fetch = min(total, max(4 * k, k + 10))
    while True:
        hits = collection.search(query, k=fetch, where=where)
        docs = group_hits(hits, k)
        if len(docs) >= k or fetch >= total or len(hits) < fetch:
            return docs
        fetch = min(total, fetch * 2)


# --------------------------------------------------------------------------- indexing
def index_records(collection: Collection, records: Iterable[Record], *, max_tokens: int | None = None,
                  overlap: int | None = None, progress: Progress | None = None, chunk: int | None = None,
                  engine: Engine | str | None = None, sync: Sequence[str | Path] | None = None,
                  dry_run: bool = False) -> dict[str, Any]:
    """Split long texts into passages and upsert everything into a collection (unchanged items are skipped).

    Passages a document no longer has (it got shorter, or is no longer split) are deleted. ``sync`` names the
    paths (files, folders) the records were read from: items whose source lies in one of them but that these
    records no longer produce are deleted too (their file is gone, or its row or passage is), while items from
    other paths are never touched and items of files that still exist but were not read this time (unreadable,
    empty) are kept and counted as ``kept``.

    Sources are compared as resolved absolute paths (``ingest.read_sources`` writes them so). Relative sources
    stored by an older embedlab are first rewritten to the file ``ingest.resolve_legacy_source`` matches them to
    (counted as ``migrated``; an unchanged item is then ``unchanged``, not ``updated``); with ``sync``, one that
    matches no file under the synced paths is never removed on a guess: it is kept and counted as ``unresolved``.

    Parameters
    ----------
    collection : Collection
        The collection written to; its encoder decides how texts are split.
    records : iterable of Record
        Documents (id, item, metadata, source), e.g. ``ingest.read_sources(...).records``.
    max_tokens, overlap : int or None
        Passage length and overlap (default: the encoder's limit and 15 % of it; see ``limits``).
    progress : callable or None
        ``progress(done, total)`` after each chunk of items written.
    chunk : int or None
        Items per upsert (default: about a twentieth of them, at least 512; each upsert writes a segment).
    engine : Engine, "local" or None
        Where the items are encoded: None / ``"local"`` in this process; an engine object elsewhere
        (``embedlab.scale.RayEngine(address=..., workers=..., batch_size=...)`` on a Ray cluster).
    sync : sequence of str or path, optional
        The paths the records were read from (see above).
    dry_run : bool
        Write nothing; return ``plan_records``'s answer instead.

    Returns
    -------
    dict
        Counts: ``documents``, ``split``, ``passages``, ``added``, ``updated``, ``unchanged``, ``removed``,
        ``kept``, ``migrated``, ``unresolved``, and the ``max_tokens``, ``overlap`` and ``unit`` used.

    Raises
    ------
    InputError
        For an unknown engine name (``"ray"`` is ``embedlab.scale.RayEngine``), bad limits, or items the
        collection refuses.
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
        return plan_records(collection, records, max_tokens=max_tokens, overlap=overlap, sync=sync)
    items, stats = split_records(records, collection.encoder, max_tokens, overlap)
    moves = _migrations(collection, records, items, sync)
    _write_sources(collection, moves)
    total = len(items)
    chunk = chunk or max(512, -(-total // 20))  # at most ~20 upserts (each one writes a segment)
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    if progress:
        progress(0, total)
    if engine is not None:
        counts = engine.upsert(collection, items, progress)
    for start in range(0, total if engine is None else 0, chunk):
        part = items[start:start + chunk]
        got = collection.upsert([r.id for r in part], [r.item for r in part],
                                metadata=[r.metadata for r in part], sources=[r.source for r in part])
        for key in counts:
            counts[key] += int(got.get(key, 0))
        if progress:
            progress(min(start + chunk, total), total)
    remove, kept, unresolved = _removals(collection, records, items, sync)
    removed = collection.delete(remove) if remove else 0
    return {"documents": stats.documents, "split": stats.split, "passages": stats.passages, **counts,
            "removed": removed, "kept": len(kept), "migrated": len(moves), "unresolved": len(unresolved),
            "max_tokens": stats.max_tokens, "overlap": stats.overlap, "unit": stats.unit}


def plan_records(collection: Collection | None, records: Iterable[Record], *, encoder: Encoder | None = None,
                 max_tokens: int | None = None, overlap: int | None = None,
                 sync: Sequence[str | Path] | None = None) -> dict[str, Any]:
    """What ``index_records`` would do, without writing anything.

    Parameters
    ----------
    collection : Collection or None
        The collection; None for one that does not exist yet (everything would be added).
    records : iterable of Record
        As for ``index_records``.
    encoder : Encoder or None
        Decides how texts are split; default the collection's; required when ``collection`` is None.
    max_tokens, overlap, sync
        As for ``index_records``.

    Returns
    -------
    dict
        ``index_records``'s counts plus ``"dry_run": True`` and ``"ids": {"added", "updated", "removed",
        "kept", "migrated", "unresolved"}`` (lists of ids, in input / write order).

    Raises
    ------
    InputError
        Without a collection or an encoder, or for bad limits.
    """
    records = list(records)
    enc = encoder if encoder is not None else (collection.encoder if collection is not None else None)
    if collection is None and encoder is None:
        raise InputError("plan_records needs a collection or, for a new one, the encoder it would use")
    items, stats = split_records(records, enc, max_tokens, overlap)
    updated: list[str] = []
    remove: list[str] = []
    kept: list[str] = []
    unresolved: list[str] = []
    moves: dict[str, str] = {}
    if collection is None:  # a new collection: everything would be added
        added, unchanged = [r.id for r in items], 0
    else:
        moves = _migrations(collection, records, items, sync)
        added, updated, unchanged = _changes(collection, items, moves)
        remove, kept, unresolved = _removals(collection, records, items, sync, moves)
    return {"documents": stats.documents, "split": stats.split, "passages": stats.passages, "added": len(added),
            "updated": len(updated), "unchanged": unchanged, "removed": len(remove), "kept": len(kept),
            "migrated": len(moves), "unresolved": len(unresolved), "max_tokens": stats.max_tokens,
            "overlap": stats.overlap, "unit": stats.unit, "dry_run": True,
            "ids": {"added": added, "updated": updated, "removed": remove, "kept": kept, "migrated": list(moves),
                    "unresolved": unresolved}}


def _migrations(collection: Collection, records: list[Record], items: list[Record],
                sync: Sequence[str | Path] | None) -> dict[str, str]:
    """Stored id → resolved source, for the relative sources an older embedlab stored that
    ``resolve_legacy_source`` matches (to the same id's source this time, else to a file under ``sync``)."""
    if not _resolved(records):
        return {}
    stored = {id_: src for id_, src in collection.sources().items() if is_legacy_source(src)}
    if not stored:
        return {}
    now = {r.id: r.source for r in records}
    now.update((r.id, r.source) for r in items)
    moves: dict[str, str] = {}
    for id_, src in stored.items():
        assert src is not None  # is_legacy_source
        doc, sep, n = id_.rpartition("#")
        same = now.get(id_) or (now.get(doc) if sep and n.isdigit() else None)
        to = resolve_legacy_source(src, sync or (), same)
        if to is not None:
            moves[id_] = to
    return moves


def _resolved(records: list[Record]) -> bool:
    """Whether the records carry resolved (absolute) sources, as ``ingest.read_sources`` writes them. Records
    with relative sources of their own (a library caller's choice) keep the current folder as the base of every
    relative source, stored or new, as before sources were stored resolved."""
    return all(not is_legacy_source(r.source) for r in records)


def _write_sources(collection: Collection, moves: dict[str, str], step: int = 1024) -> None:
    """Rewrite the sources of stored items (``_migrations``), keeping their vectors and metadata as they are."""
    ids = list(moves)
    for start in range(0, len(ids), step):
        part = collection.get(ids[start:start + step])
        collection.upsert([it.id for it in part], vectors=np.stack([it.vector for it in part]),
                          sources=[moves[it.id] for it in part], prepared=True)


def _changes(collection: Collection, items: list[Record], moves: dict[str, str] | None = None,
             step: int = 1024) -> tuple[list[str], list[str], int]:
    """``(added, updated, unchanged)`` of upserting ``items``: ids new to the collection, ids whose content hash,
    metadata or source (as ``moves`` rewrites it first) differ from the stored ones, and how many are stored as
    they are."""
    moves = moves or {}
    added: list[str] = []
    updated: list[str] = []
    unchanged = 0
    for start in range(0, len(items), step):
        part = items[start:start + step]
        ids = [r.id for r in part]
        changed = {ids[i] for i in collection.changed(ids, [r.item for r in part])}
        stored = {it.id: it for it in collection.get(ids, missing="skip")}
        for r in part:
            old = stored.get(r.id)
            if old is None:
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
              sync: Sequence[str | Path] | None, moves: dict[str, str] | None = None
              ) -> tuple[list[str], list[str], list[str]]:
    """``(remove, kept, unresolved)``: stored ids to delete after indexing ``items`` (split from ``records``), in
    write order; the ids ``sync`` keeps because their file exists but was not read this time; and the ids it
    keeps because their source is relative (an older embedlab's) and matched no file (``_migrations``; its
    rewrites ``moves`` are applied first when they are not written yet)."""
    docs = {r.id for r in records}
    current = {r.id for r in items}
    sources: dict[str, str | None] = collection.sources() if sync else dict.fromkeys(collection.ids())
    if sync:
        sources.update((id_, src) for id_, src in (moves or {}).items() if id_ in sources)
    remove = _stale_passages(collection, docs, current, list(sources))
    kept: list[str] = []
    unresolved: list[str] = []
    if sync:
        roots = [Path(p) for p in sync]
        read = {source_file(r.source) for r in records}
        stale = set(remove)
        resolved = _resolved(records)
        for id_, src in sources.items():
            if id_ in current or id_ in stale:
                continue
            if resolved and is_legacy_source(src):  # relative to an unknown folder: never removed on a guess
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


# --------------------------------------------------------------------------- internals
def _tokenizer(encoder: Encoder | None) -> Callable[[str], list[str]] | None:
    """The encoder's own tokenizer when it has one (``Encoder.has_tokenizer``), else None (whitespace words)."""
    return encoder.tokenize if encoder is not None and encoder.has_tokenizer else None


def _units(text: str, max_tokens: int,
           tokenize: Callable[[str], list[str]] | None) -> list[tuple[str, int, bool]]:
    """(word, token count, exact) triples; words longer than ``max_tokens`` tokens are cut into chunks, whose
    counts are estimates (``exact=False``)."""
    words = text.split()
    if tokenize is None:
        return [(w, 1, True) for w in words]
    pieces = tokenize(text)
    groups: list[list[str]] = []
    for p in pieces:
        if p.startswith(_PIECE_SPACE) or not groups:
            groups.append([p])
        else:
            groups[-1].append(p)
    groups = [g for g in groups if g != [_PIECE_SPACE]] if len(groups) != len(words) else groups
    if len(groups) == len(words):
        texts = words  # keep the original spelling of each word
    else:  # the tokenizer's normalisation changed word boundaries: rebuild words from its pieces
        texts = [_join(g) for g in groups]
    exact = texts is words
    units: list[tuple[str, int, bool]] = []
    for w, g in zip(texts, groups, strict=True):
        if len(g) <= max_tokens:
            units.append((w, len(g), exact))
            continue
        # A continuation chunk gains a word-start token when re-tokenized on its own: budget one for it.
        units.append((_join(g[:max_tokens]), max_tokens, False))
        for i in range(max_tokens, len(g), max_tokens - 1):
            chunk = g[i:i + max_tokens - 1]
            units.append((_join(chunk), len(chunk) + 1, False))
    return units


def _join(pieces: Sequence[str]) -> str:
    return "".join(pieces).replace(_PIECE_SPACE, " ").strip()


def _relabel(hit: H, doc_id: str) -> H:
    if dataclasses.is_dataclass(hit) and not isinstance(hit, type):
        relabelled: H = dataclasses.replace(hit, id=doc_id)
        return relabelled
    if isinstance(hit, tuple) and hasattr(hit, "_replace"):  # a named tuple
        renamed: H = hit._replace(id=doc_id)
        return renamed
    raise TypeError(f"cannot relabel a {type(hit).__name__}")  # pragma: no cover
