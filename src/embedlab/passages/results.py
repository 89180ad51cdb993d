"""Report search results per document: passages are grouped back into the documents they were split from."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..errors import FilterWarning, InputError
from .split import passage_id

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Collection, Hit

class HitLike(Protocol):
    """What ``group_hits`` reads of a hit (``store.Hit`` has it): its id, score and metadata."""

    @property
    def id(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def metadata(self) -> dict[str, Any]: ...


H = TypeVar("H", bound=HitLike)

#: ``search(query, k, where) -> hits``, best first: how ``search_documents`` reads passages (default
#: ``Collection.search``; ``embedlab.search.searcher`` gives one per search mode, keyword and hybrid included).
Searcher = Callable[[Any, int, "dict[str, Any] | None"], "list[Hit]"]


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
    with warnings.catch_warnings():  # a lookup of ours, not the user's filter: no "no item has key 'doc_id'"
        warnings.simplefilter("ignore", FilterWarning)
        held = collection.ids(where={"doc_id": {"$in": docs}})
    for id_ in held:
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
                     where: dict[str, Any] | None = None, *, search: Searcher | None = None) -> list[Hit]:
    """The ``k`` best documents for a query: passages are grouped by ``doc_id``, each keeping its best.

    Fetches more passages than ``k`` (doubling as needed) so that documents with many matching passages
    cannot crowd the others out. The CLI's ``embedlab search --mode`` and the HTTP search route both come here,
    with ``search=embedlab.search.searcher(collection, mode)``.

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
    search : callable or None
        ``search(query, k, where) -> hits`` (best first) that finds the passages; default
        ``collection.search``.

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
    find = search if search is not None else (lambda q, n, w: collection.search(q, k=n, where=w))
    if total == 0:
        return group_hits(find(query, 1, where), k)  # nothing to find, but a bad query is still refused
    fetch = min(total, max(4 * k, k + 10))
    while True:
        hits = find(query, fetch, where)
        docs = group_hits(hits, k)
        if len(docs) >= k or fetch >= total or len(hits) < fetch:
            return docs
        fetch = min(total, fetch * 2)


def hit_texts(collection: Collection, hits: Sequence[HitLike]) -> list[str | None]:
    """The text of each hit: the stored content of the item found (a document's best passage for a hit
    ``search_documents`` labelled with its document id).

    Parameters
    ----------
    collection : Collection
        The collection the hits came from.
    hits : sequence of Hit
        Hits of ``Collection.search`` or ``search_documents`` (any search mode).

    Returns
    -------
    list of (str or None)
        One per hit, in order, as ``Collection.texts`` gives it (the content, else the ``text`` metadata of a
        collection written by an earlier version); None for an item without text, or one deleted since.
    """
    if not hits:
        return []
    found = [_found_id(h) for h in hits]
    wanted = list(dict.fromkeys(found + [h.id for h in hits]))
    texts = dict(zip(wanted, collection.texts(wanted, missing="skip"), strict=True))
    return [texts[f] if texts[f] is not None else texts[h.id] for f, h in zip(found, hits, strict=True)]


def _found_id(hit: HitLike) -> str:
    """The id of the stored item behind a hit: its best passage's for a document hit of ``search_documents``."""
    meta = hit.metadata or {}
    doc, n = meta.get("doc_id"), meta.get("passage")
    if isinstance(n, int) and not isinstance(n, bool) and n >= 0 and doc is not None and str(doc) == hit.id:
        return passage_id(hit.id, n)
    return hit.id


def _relabel(hit: H, doc_id: str) -> H:
    if dataclasses.is_dataclass(hit) and not isinstance(hit, type):
        relabelled: H = dataclasses.replace(hit, id=doc_id)
        return relabelled
    if isinstance(hit, tuple) and hasattr(hit, "_replace"):  # a named tuple
        renamed: H = hit._replace(id=doc_id)
        return renamed
    raise TypeError(f"cannot relabel a {type(hit).__name__}")  # pragma: no cover
