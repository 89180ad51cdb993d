"""Collections over HTTP: create, list, describe, drop; add/upsert items, get them by id, delete them by id or by a
metadata filter; search by text, vector or the id of a stored item, with a metadata filter.

As on the CLI: a text longer than the encoder's limit is stored as passages (``"passages": true``, the default;
``embedlab index`` splits files so), and a text query searches in ``"mode"`` vector, keyword or hybrid
(``embedlab search --mode``), a document stored as passages reported once — both through the same library
functions the CLI calls (``passages.write_items``'s splitter, ``passages.search_documents`` with
``search.searcher``). Each hit carries ``"text"``: the text of the item or passage found (its stored content,
``passages.hit_texts``), null for an item stored without one.

Names are checked by the store (letters, digits, ``._-``; never a path), so no request can reach a file
outside the server's collections folder. One damaged collection does not break the list: it is listed with
``"status": "damaged"`` (a corrupt file) or ``"unavailable"`` (e.g. written by a newer embedlab, or built with
another version of its encoder) and ``"error": "<type>: <message without paths>"``, next to the healthy ones'
full descriptions with ``"status": "ok"`` — or ``"incomplete"`` (a load of it stopped before it completed; its
``"incomplete"`` says how to resume it) or ``"loading"`` (a load is running). A search or a delete whose filter
matched nothing adds ``"warnings"``: why, when the stored metadata tells (a key no item has, a number compared
with values stored as strings).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..encoders import DEFAULT_ENCODER
from ..errors import CollectionNotFoundError, CorruptFileError, EmbedlabError, InputError, UnknownKeyError
from ..ingest import Record
from ..passages import hit_texts, passages_of, search_documents, write_items
from ..search import searcher
from ..store import Collection, Item
from .deps import require_read, require_write, state_of
from .state import ServerState

router = APIRouter(prefix="/api/collections", tags=["collections"])
READ, WRITE = [Depends(require_read)], [Depends(require_write)]
#: how to stay under the server's characters-per-text limit, in request words
WHOLE_HINT = ('send "passages": true (the default) to store it as passages, as `embedlab index` does, or send '
              "shorter texts")
PASSAGE_HINT = 'send a smaller "max_tokens" to split it into shorter passages'
MAX_DIM = 1 << 16  # vectors wider than this are not embeddings; a typo would make every write huge


class CollectionCreate(BaseModel):
    """A new collection: an encoder name (default ``use-multilingual``), or ``dim`` alone for vectors-only; with an
    encoder, a smaller ``dim`` keeps a Matryoshka prefix (``force`` for encoders not trained for it). ``index``
    exact, hnsw or ivf; ``precision`` float32, float16, int8 or binary with ``rescore``; ``index_params`` the
    kind's own (``M``, ``ef_search``, ``nlist``, ``nprobe``, ``m``, ...)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    name: str
    encoder: str | None = None
    dim: int | None = Field(None, ge=1, le=MAX_DIM)
    metric: str | None = None
    index: str = "exact"
    precision: Literal["float32", "float16", "int8", "binary"] | None = None
    rescore: int | None = Field(None, ge=1)
    index_params: dict[str, Any] | None = None
    force: bool = False


class Reindex(BaseModel):
    """New index settings for a collection (the vectors stay); settings left out are kept when the kind stays."""

    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    index: str | None = None
    precision: Literal["float32", "float16", "int8", "binary"] | None = None
    rescore: int | None = Field(None, ge=1)
    index_params: dict[str, Any] | None = None


class ItemIn(BaseModel):
    """One item to write: ``text`` (encoded by the collection's encoder) or ``vector``, plus metadata."""

    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    id: str
    text: str | None = None
    vector: list[float] | None = None
    metadata: dict[str, Any] | None = None
    source: str | None = None


class ItemsWrite(BaseModel):
    """Items to write. ``passages`` (default true, as ``embedlab index``): a text longer than the encoder's limit
    is stored as passages ``ID#N`` of at most ``max_tokens`` tokens sharing ``overlap`` (defaults: the encoder's
    limit and 15 % of it), which search reports once under ``ID``; false stores each text whole (the encoder
    truncates it) and refuses texts over the server's character limit."""

    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    items: list[ItemIn] = Field(min_length=1)
    passages: bool = True
    max_tokens: int | None = Field(None, ge=1)
    overlap: int | None = Field(None, ge=0)


class GetRequest(BaseModel):
    """Items by id, in the order asked: an unknown id is a 404 naming it, or left out with ``missing="skip"``."""

    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    ids: list[str] = Field(min_length=1)
    include_vectors: bool = False
    missing: Literal["error", "skip"] = "error"


class DeleteRequest(BaseModel):
    """Exactly one of ``ids`` (unknown ones are ignored) or ``where`` (every item matching the filter)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    ids: list[str] | None = Field(None, min_length=1)
    where: dict[str, Any] | None = None


class SearchRequest(BaseModel):
    """Exactly one of ``query`` (text), ``vector`` or ``id`` (a stored item: its neighbours, itself left out).

    ``mode`` searches a text query as ``embedlab search --mode`` does: ``vector`` (the default), ``keyword``
    (BM25, Korean-aware) or ``hybrid`` (both, fused by reciprocal rank); a document stored as passages is
    reported once, by its best passage, under its own id."""

    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    query: str | None = None
    vector: list[float] | None = None
    id: str | None = None
    mode: str = "vector"
    k: int = Field(10, ge=1)
    where: dict[str, Any] | None = None
    ef: int | None = Field(None, ge=1)
    nprobe: int | None = Field(None, ge=1)
    rescore: int | None = Field(None, ge=1)


def _info(col: Collection, st: ServerState) -> dict[str, Any]:
    """``col.info()`` without where it is stored (the server's disk layout, or a database address, is none of
    the client's business): the location keys are dropped and any other string is scrubbed of paths."""
    info = col.info()
    for key in ("path", "location"):
        info.pop(key, None)
    return _scrubbed(info, st.scrubber.scrub)


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: _scrubbed(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, scrub) for v in value]
    return value


@router.get("", dependencies=READ, summary="List collections (damaged ones with their error)")
def list_collections(request: Request) -> JSONResponse:
    st = state_of(request)
    out = []
    for name in st.collection_names():
        try:
            info = _info(st.collection(name), st)
            mark = info.get("incomplete")
            status = "ok" if mark is None else "loading" if mark.get("running") else "incomplete"
            out.append({**info, "status": status})
        except CollectionNotFoundError:  # dropped meanwhile
            continue
        except Exception as exc:  # one bad collection must not hide the others
            err = st.describe_error(exc, f"listing collection {name!r}")
            healthy = isinstance(exc, EmbedlabError) and not isinstance(exc, CorruptFileError)
            out.append({"name": name, "status": "unavailable" if healthy else "damaged",
                        "error": f"{err['type']}: {err['message']}"})
    return JSONResponse({"collections": out})


@router.post("", dependencies=WRITE, status_code=201, summary="Create a collection")
def create_collection(body: CollectionCreate, request: Request) -> JSONResponse:
    st = state_of(request)
    extra = body.precision, body.rescore, body.index_params
    if not body.force and all(x is None for x in extra):
        col = st.create_collection(body.name, body.encoder, body.dim, body.metric, body.index)
        return JSONResponse(_info(col, st), status_code=201)
    if body.index_params is not None:
        st.limits.check_depth(body.index_params, "'index_params'")
    enc = st.encoder(body.encoder or DEFAULT_ENCODER) if body.encoder or body.dim is None else None
    Collection.create(body.name, enc, dim=body.dim, metric=body.metric, index=body.index,
                      index_params=body.index_params, precision=body.precision, rescore=body.rescore,
                      force=body.force, root=st.root).close()
    return JSONResponse(_info(st.collection(body.name), st), status_code=201)


@router.post("/{name}/reindex", dependencies=WRITE, summary="Rebuild a collection's index with other settings")
def reindex_collection(name: str, body: Reindex, request: Request) -> JSONResponse:
    st = state_of(request)
    if body.index_params is not None:
        st.limits.check_depth(body.index_params, "'index_params'")
    col = st.collection(name)
    t0 = time.perf_counter()
    new = col.reindex(body.index, body.index_params, precision=body.precision, rescore=body.rescore)
    return JSONResponse({"index": new, "count": col.count(), "took_ms": round(1000 * (time.perf_counter() - t0), 2)})


@router.get("/{name}", dependencies=READ, summary="Describe a collection")
def get_collection(name: str, request: Request) -> JSONResponse:
    st = state_of(request)
    return JSONResponse(_info(st.collection(name), st))


@router.delete("/{name}", dependencies=WRITE, summary="Drop a collection and all its files")
def drop_collection(name: str, request: Request) -> JSONResponse:
    state_of(request).drop_collection(name)
    return JSONResponse({"dropped": name})


def _write(name: str, body: ItemsWrite, request: Request, upsert: bool) -> dict[str, Any]:
    st = state_of(request)
    st.limits.check_batch(len(body.items), "items")
    col = st.collection(name)
    items = body.items
    has_text = [it.text is not None for it in items]
    has_vec = [it.vector is not None for it in items]
    if any(t and v for t, v in zip(has_text, has_vec, strict=True)) or not all(t or v for t, v in zip(has_text, has_vec, strict=True)):
        raise InputError("every item needs exactly one of 'text' or 'vector'")
    if any(has_text) and any(has_vec):
        raise InputError("items mix texts and vectors; send one kind per request")
    for i, it in enumerate(items):
        if it.metadata is not None:
            st.limits.check_depth(it.metadata, f"the metadata of item {i}")
    ids = [it.id for it in items]
    # upsert without any metadata/source keeps the stored ones; otherwise each item's own (missing = empty)
    given_meta = any(it.metadata is not None for it in items)
    metadata = [it.metadata or {} for it in items] if given_meta or not upsert else None
    sources = [it.source for it in items] if any(it.source is not None for it in items) else None
    texts = vectors = None  # every item has exactly one of them, and all items the same one (checked above)
    if any(has_text):
        texts = [it.text for it in items if it.text is not None]
    else:
        vectors = [it.vector for it in items if it.vector is not None]
    if not body.passages and (body.max_tokens is not None or body.overlap is not None):
        raise InputError("'max_tokens' and 'overlap' set how long texts are split into passages; leave them out "
                         "with \"passages\": false")
    t0 = time.perf_counter()
    if texts is not None and body.passages:
        records = [Record(it.id, it.text or "", it.metadata or {}, it.source or "") for it in items]
        written = write_items(col, records, upsert=upsert, max_tokens=body.max_tokens, overlap=body.overlap,
                              keep=upsert and not given_meta and sources is None,
                              check=lambda its: st.limits.check_texts([r.item for r in its], "item", PASSAGE_HINT,
                                                                      [r.id for r in its]))
        written.update(count=col.count(), took_ms=round(1000 * (time.perf_counter() - t0), 2))
        return written
    if texts is not None:
        st.limits.check_texts(texts, "item", WHOLE_HINT, ids)
    if upsert:
        out: dict[str, Any] = dict(col.upsert(ids, texts, vectors=vectors, metadata=metadata, sources=sources))
    else:
        out = {"added": col.add(ids, texts, vectors=vectors, metadata=metadata, sources=sources)}
    out.update(count=col.count(), took_ms=round(1000 * (time.perf_counter() - t0), 2))
    return out


@router.post("/{name}/items", dependencies=WRITE, summary="Add new items (an existing id is an error)")
def add_items(name: str, body: ItemsWrite, request: Request) -> JSONResponse:
    return JSONResponse(_write(name, body, request, upsert=False))


@router.put("/{name}/items", dependencies=WRITE, summary="Upsert items (add new, replace changed, skip same)")
def upsert_items(name: str, body: ItemsWrite, request: Request) -> JSONResponse:
    return JSONResponse(_write(name, body, request, upsert=True))


@router.post("/{name}/delete", dependencies=WRITE,
             summary="Delete items by id (unknown ids are ignored) or every item matching a filter")
def delete_items(name: str, body: DeleteRequest, request: Request) -> JSONResponse:
    st = state_of(request)
    if (body.ids is None) == (body.where is None):
        raise InputError("send exactly one of 'ids' (a list of ids) or 'where' (a metadata filter) to delete")
    if body.ids is not None:
        st.limits.check_batch(len(body.ids), "ids")
        col = st.collection(name)
        return JSONResponse({"deleted": col.delete(body.ids), "count": col.count()})
    st.limits.check_depth(body.where, "the filter 'where'")
    col = st.collection(name)
    with col.writing():  # the ids reported are exactly the ones deleted
        ids = col.ids(body.where)
        deleted = col.delete(ids) if ids else 0
    out: dict[str, Any] = {"deleted": deleted, "count": col.count(), "ids": ids}
    if not ids and body.where is not None:
        notes = col.filter_warnings(body.where)
        if notes:
            out["warnings"] = notes
    return JSONResponse(out)


def _item_json(item: Item, include_vector: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "metadata": item.metadata, "source": item.source, "content": item.content}
    if include_vector:
        out["vector"] = item.vector.tolist()
    return out


@router.post("/{name}/get", dependencies=READ, summary="Get items by id")
def get_items(name: str, body: GetRequest, request: Request) -> JSONResponse:
    st = state_of(request)
    st.limits.check_batch(len(body.ids), "ids")
    items = _get(st.collection(name), body.ids, body.missing)
    return JSONResponse({"items": [_item_json(it, body.include_vectors) for it in items]})


# ``:path``: ids are file paths (``notes/a.txt``, ``notes%2Fa.txt`` in the URL), which a plain parameter refused
@router.get("/{name}/items/{item_id:path}", dependencies=READ, summary="Get one item by id")
def get_item(name: str, item_id: str, request: Request, include_vector: bool = False) -> JSONResponse:
    item = _get(state_of(request).collection(name), [item_id], "error")[0]
    return JSONResponse(_item_json(item, include_vector))


def _get(col: Collection, ids: list[str], missing: str) -> list[Item]:
    """``col.get``; an id that is a document split into passages is named with its passages in the error."""
    try:
        return col.get(ids, missing=missing)
    except UnknownKeyError as exc:
        found = {it.id for it in col.get(ids, missing="skip")}
        parts = passages_of(col, [i for i in ids if i not in found])
        if not parts:
            raise
        hint = "".join(f"; {d!r} is a long document stored as {len(p)} passages ({p[0]} … {p[-1]})"
                       for d, p in list(parts.items())[:3])
        raise UnknownKeyError(f"{exc}{hint}") from None


@router.post("/{name}/search", dependencies=READ, summary="Nearest items to a text, a vector or a stored item")
def search(name: str, body: SearchRequest, request: Request) -> JSONResponse:
    st = state_of(request)
    st.limits.check_k(body.k)
    if body.where is not None:
        st.limits.check_depth(body.where, "the filter 'where'")
    given = [x for x in ("query", "vector", "id") if getattr(body, x) is not None]
    if len(given) != 1:
        raise InputError("send exactly one of 'query' (text), 'vector' or 'id' (a stored item); got "
                         + (", ".join(given) or "none"))
    if body.mode != "vector" and body.query is None:
        raise InputError(f"mode {body.mode!r} searches a text 'query'; a 'vector' or 'id' search is by vector "
                         "only (leave 'mode' out)")
    col = st.collection(name)
    t0 = time.perf_counter()
    tuning = {"ef": body.ef, "nprobe": body.nprobe, "rescore": body.rescore}
    find = searcher(col, body.mode, **tuning)  # checks the mode and its tuning before any search
    if body.id is not None:
        vec = col.get([body.id])[0].vector
        hits = [h for h in col.search(vec, k=body.k + 1, where=body.where, **tuning) if h.id != body.id][: body.k]
    elif body.vector is not None:
        hits = col.search(body.vector, k=body.k, where=body.where, **tuning)
    else:
        query = body.query or ""  # exactly one of query, vector, id was given (checked above)
        if not query.strip():
            raise InputError("the query is empty; type some text to search for")
        st.limits.check_texts([query], "query")
        hits = search_documents(col, query, k=body.k, where=body.where, search=find)  # as `embedlab search`
    took = round(1000 * (time.perf_counter() - t0), 2)
    texts = hit_texts(col, hits)  # each hit's text, stored once as its content (as `embedlab search --json`)
    out: dict[str, Any] = {"hits": [{**h.to_dict(), "text": t} for h, t in zip(hits, texts, strict=True)],
                           "took_ms": took}
    if not hits and body.where is not None:  # why the filter matched nothing, when the metadata tells
        notes = col.filter_warnings(body.where)
        if notes:
            out["warnings"] = notes
    return JSONResponse(out)
