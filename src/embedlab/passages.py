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
from typing import Any

from .errors import InputError
from .ingest import Record, source_file, within

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


def limits(encoder: Any = None, max_tokens: int | None = None, overlap: int | None = None) -> tuple[int, int, str]:
    """``(max_tokens, overlap, unit)`` for an encoder: its tokenizer's tokens if it has one, else words."""
    tokenize = _tokenizer(encoder)
    unit = "tokens" if tokenize else "words"
    if max_tokens is None:
        limit = getattr(encoder, "max_length", None)
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
        while inexact and end - start > 1 and len(tokenize(passage)) > max_tokens:
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


def split_records(records: Iterable[Record], encoder: Any = None, max_tokens: int | None = None,
                  overlap: int | None = None) -> tuple[list[Record], SplitStats]:
    """Replace each text record longer than the limit by its passages; other records pass through.

    Every text record keeps what it embeds in its ``text`` metadata (unless it has a ``text`` field already), so
    hits can show it and keyword search can index it per passage, whatever file or table row it came from."""
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


def document_id(hit: Any) -> str:
    """The document a hit belongs to: its ``doc_id`` metadata for a passage, else its own id."""
    meta = getattr(hit, "metadata", None) or {}
    return str(meta.get("doc_id", hit.id))


def passages_of(collection: Any, doc_ids: Iterable[str]) -> dict[str, list[str]]:
    """Document id → the ids of its stored passages, in passage order, for those of ``doc_ids`` that are
    documents split into passages (others are left out); lets a document id stand for its passages."""
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


def group_hits(hits: Sequence[Any], k: int | None = None) -> list[Any]:
    """Keep each document's best hit (hits come best first), re-labelled with the document id."""
    best: dict[str, Any] = {}
    for h in hits:
        doc = document_id(h)
        if doc not in best:
            best[doc] = h if doc == h.id else _relabel(h, doc)
    out = sorted(best.values(), key=lambda h: -h.score)
    return out if k is None else out[:k]


def search_documents(collection: Any, query: Any, k: int = 5, where: dict[str, Any] | None = None) -> list[Any]:
    """The ``k`` best documents for ``query``: passages are grouped by ``doc_id``, each keeping its best.

    Fetches more passages than ``k`` (doubling as needed) so that documents with many matching passages
    cannot crowd the others out. Returns the collection's hits with ``id`` set to the document id; the
    metadata keeps ``doc_id`` and ``passage`` of the best passage.
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
def index_records(collection: Any, records: Iterable[Record], *, max_tokens: int | None = None,
                  overlap: int | None = None, progress: Any = None, chunk: int | None = None,
                  engine: str | None = None, engine_options: dict[str, Any] | None = None,
                  sync: Sequence[str | Path] | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Split long texts into passages and upsert everything into ``collection`` (unchanged items are skipped).

    Passages a document no longer has (it got shorter, or is no longer split) are deleted. ``sync``: the paths
    (files, folders) the records were read from; items whose source lies in one of them but that these records
    no longer produce are deleted too (their file is gone, or its row or passage is), while items from other
    paths are never touched and items of files that still exist but were not read this time (unreadable,
    empty) are kept and counted as ``kept``. ``dry_run=True`` writes nothing (see ``plan_records``).
    ``progress`` is called as ``progress(done, total)`` after each chunk. ``engine="ray"`` encodes on a Ray
    cluster (``engine_options``: address, workers, batch_size; see ``embedlab.scale.ray``); the default encodes
    here. Returns counts: documents, split, passages, added, updated, unchanged, removed, kept.
    """
    if engine not in (None, "local", "ray"):
        raise InputError(f"unknown engine {engine!r}; use local (the default) or ray")
    records = list(records)
    if dry_run:
        return plan_records(collection, records, max_tokens=max_tokens, overlap=overlap, sync=sync)
    items, stats = split_records(records, collection.encoder, max_tokens, overlap)
    total = len(items)
    chunk = chunk or max(512, -(-total // 20))  # at most ~20 upserts (each one writes a segment)
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    if progress:
        progress(0, total)
    if engine == "ray":
        from .scale.ray import upsert_records

        counts = upsert_records(collection, items, progress=progress, **(engine_options or {}))
    for start in range(0, total if engine != "ray" else 0, chunk):
        part = items[start:start + chunk]
        got = collection.upsert([r.id for r in part], [r.item for r in part],
                                metadata=[r.metadata for r in part], sources=[r.source for r in part])
        for key in counts:
            counts[key] += int(got.get(key, 0))
        if progress:
            progress(min(start + chunk, total), total)
    remove, kept = _removals(collection, records, items, sync)
    removed = collection.delete(remove) if remove else 0
    return {"documents": stats.documents, "split": stats.split, "passages": stats.passages, **counts,
            "removed": removed, "kept": len(kept), "max_tokens": stats.max_tokens, "overlap": stats.overlap,
            "unit": stats.unit}


def plan_records(collection: Any, records: Iterable[Record], *, encoder: Any = None, max_tokens: int | None = None,
                 overlap: int | None = None, sync: Sequence[str | Path] | None = None) -> dict[str, Any]:
    """What ``index_records`` would do, without writing anything: the same counts plus ``"dry_run": True`` and
    ``"ids": {"added", "updated", "removed", "kept"}`` (lists of ids, in input / write order).

    ``collection`` may be None for a collection that does not exist yet (everything would be added); then
    ``encoder`` (which decides how texts are split) is required."""
    records = list(records)
    enc = encoder if encoder is not None else (collection.encoder if collection is not None else None)
    if collection is None and encoder is None:
        raise InputError("plan_records needs a collection or, for a new one, the encoder it would use")
    items, stats = split_records(records, enc, max_tokens, overlap)
    added: list[str] = []
    updated: list[str] = []
    unchanged = 0
    step = 1024
    for start in range(0, len(items) if collection is not None else 0, step):
        part = items[start:start + step]
        ids = [r.id for r in part]
        changed = {ids[i] for i in collection.changed(ids, [r.item for r in part])}
        stored = {it.id: it for it in collection.get(ids, missing="skip")}
        for r in part:
            old = stored.get(r.id)
            if old is None:
                added.append(r.id)
            elif r.id in changed or (old.metadata, old.source) != (_as_json(r.metadata), r.source):
                updated.append(r.id)
            else:
                unchanged += 1
    if collection is None:
        added = [r.id for r in items]
        remove: list[str] = []
        kept: list[str] = []
    else:
        remove, kept = _removals(collection, records, items, sync)
    return {"documents": stats.documents, "split": stats.split, "passages": stats.passages, "added": len(added),
            "updated": len(updated), "unchanged": unchanged, "removed": len(remove), "kept": len(kept),
            "max_tokens": stats.max_tokens, "overlap": stats.overlap, "unit": stats.unit, "dry_run": True,
            "ids": {"added": added, "updated": updated, "removed": remove, "kept": kept}}


def _as_json(meta: dict[str, Any]) -> Any:
    """Metadata as it reads back from a collection (JSON types: tuples become lists)."""
    return json.loads(json.dumps(meta, ensure_ascii=False))


def _removals(collection: Any, records: list[Record], items: list[Record],
              sync: Sequence[str | Path] | None) -> tuple[list[str], list[str]]:
    """``(remove, kept)``: stored ids to delete after indexing ``items`` (split from ``records``), in write
    order, and the ids ``sync`` keeps because their file exists but was not read this time."""
    docs = {r.id for r in records}
    current = {r.id for r in items}
    sources = collection.sources() if sync else {id_: None for id_ in collection.ids()}
    remove = _stale_passages(collection, docs, current, list(sources))
    kept: list[str] = []
    if sync:
        roots = [Path(p) for p in sync]
        read = {source_file(r.source) for r in records}
        stale = set(remove)
        for id_, src in sources.items():
            path = source_file(src)
            if id_ in current or id_ in stale or path is None or not within(path, roots):
                continue
            if path in read or not path.exists():
                remove.append(id_)
            else:
                kept.append(id_)
        order = {id_: n for n, id_ in enumerate(sources)}
        remove.sort(key=order.__getitem__)
    return remove, kept


def _stale_passages(collection: Any, docs: set[str], current: set[str], stored: list[str]) -> list[str]:
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
def _tokenizer(encoder: Any) -> Callable[[str], list[str]] | None:
    tok = getattr(encoder, "tokenize", None)
    return tok if callable(tok) else None


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


def _relabel(hit: Any, doc_id: str) -> Any:
    if dataclasses.is_dataclass(hit):
        return dataclasses.replace(hit, id=doc_id)
    if hasattr(hit, "_replace"):
        return hit._replace(id=doc_id)
    raise TypeError(f"cannot relabel a {type(hit).__name__}")  # pragma: no cover
