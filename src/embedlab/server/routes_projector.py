"""The projector's API (``/projector``): every row of a collection or vectors set laid out in 2-D, coordinates sent
as one binary array, everything else asked for by row number.

- ``GET /api/projector/{kind}/{name}/layout?method=&seed=&dims=``: the layout's description (method, how it was
  made, seconds, trustworthiness/continuity and how they were measured, row count, metadata fields); PCA of up to
  128 million vector cells (1M rows of 128-d, 333k of 384-d) is computed in the request, larger PCA and every
  t-SNE and UMAP answer 202 with a background job (``GET /api/jobs/{id}``). Layouts are cached in memory and on disk per
  data generation, method, dimensions and seed, so reopening a view reads a file.
- ``GET .../coords``: the layout's coordinates, float32 little-endian ``x0 y0 x1 y1 ...`` (``x0 y0 z0 ...`` for
  ``dims=3``; one request).
- ``GET .../spatial-index``: a KDBush index of the points as the page draws them (``spatial_index``), built with
  the 2-D layout and cached beside it, which the page hands to regl-scatterplot's ``draw`` instead of sorting a
  million points itself.
- ``GET .../clusters?algorithm=&n_clusters=&stop_words=``: k-means or HDBSCAN on the original vectors, each
  cluster named by c-TF-IDF over the rows' texts, as a colour column (a background job; cached).
- ``GET .../point/{row}``, ``GET .../column/{field}``: a row's id, label and metadata; a field for colouring.
- ``GET .../ids``: every row's id in row order (the compare view matches two sources' rows by id).
- ``POST .../neighbors``: a row's nearest rows by the source's own index and metric, and how many of them are
  also among its nearest in 2-D.
- ``POST .../query``: a text (a collection, embedded by its encoder) or a key or expression (a vectors set): its
  nearest rows and where it lands on the layout (``Layout.place``: ``exact`` for PCA, ``transform`` for UMAP,
  ``nearest-neighbour`` for t-SNE).
- ``POST .../select``: rows matching a ``where`` filter (the collection's own filter semantics) and/or a regex.
- ``POST .../export``: rows as CSV, JSONL or Parquet.

``kind`` is ``collection`` or ``vectors``. Every layout-bound call takes ``dims`` (2, the default, or 3: the
3-D view); the cache key holds it, so a 3-D layout is computed and cached beside the 2-D one.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ..analysis.layout import Layout
from ..errors import DimensionError, InputError
from .deps import require_read, state_of
from .jobs import Job, Report
from .projector_cache import METHOD_NAMES, collection_version, describe, fit, layout_key
from .projector_data import SourceTable, cluster_column, column, export, from_collection, from_vectors, regex_rows
from .state import ServerState

router = APIRouter(prefix="/api/projector", tags=["projector"], dependencies=[Depends(require_read)])
Kind = Literal["collection", "vectors"]
Method = Literal["pca", "tsne", "umap"]
SEED = Query(0, ge=0, le=2**32 - 1, description="random seed of the layout")
#: PCA of at most this many vector cells (rows x dimension) is computed in the request, larger layouts are jobs:
#: the PCA (covariance in float32 blocks) plus its sampled trustworthiness take ~3-4 s at this size on one core
#: (1M x 32-d 4.0 s, 100k x 384-d 2.1 s measured; 1M x 384-d, 3x over, 8-12 s)
INLINE_CELLS = 128_000_000
DIMS = Query(2, ge=2, le=3, description="2 (the map) or 3 (the 3-D view)")
VECTORS_ROWS = 1_000_000  # the most frequent keys of a vectors set that the projector shows
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8",
         "parquet": "application/vnd.apache.parquet"}


class NeighborsBody(BaseModel):
    """A row's nearest rows in the original space."""

    model_config = ConfigDict(extra="forbid", strict=True)
    row: int = Field(ge=0)
    k: int = Field(10, ge=1, le=100)
    method: Method = "pca"
    seed: int = Field(0, ge=0)
    dims: int = Field(2, ge=2, le=3)


class QueryBody(BaseModel):
    """A text (collection) or a key or expression such as ``king - man + woman`` (vectors set) to place."""

    model_config = ConfigDict(extra="forbid", strict=True)
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(10, ge=1, le=100)
    method: Method = "pca"
    seed: int = Field(0, ge=0)
    dims: int = Field(2, ge=2, le=3)


class SelectBody(BaseModel):
    """Rows matching a metadata filter and/or a regular expression over ids and labels (both: rows matching
    both)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    where: dict[str, Any] | None = None
    regex: str | None = Field(None, max_length=1000)


class ExportBody(BaseModel):
    """Rows to export, with the layout their coordinates come from."""

    model_config = ConfigDict(extra="forbid", strict=True)
    rows: list[int]
    format: Literal["csv", "jsonl", "parquet"] = "csv"
    method: Method = "pca"
    seed: int = Field(0, ge=0)
    dims: int = Field(2, ge=2, le=3)


def _version(st: ServerState, kind: str, name: str) -> tuple[Any, ...]:
    if kind == "collection":
        return collection_version(name, st.epoch(name), st.collection(name).info())
    v = st.vectors(name)
    n = min(len(v), VECTORS_ROWS)
    # a vectors set has no generation: a strided sample of its rows stands in, so a set changed under the same
    # name (and length) between two runs does not reopen the old set's cached layout
    sample = np.ascontiguousarray(v.matrix[: n : max(1, n // 1000)], dtype=np.float32)
    digest = hashlib.sha256(sample.tobytes() + "\n".join(v.keys[:n:max(1, n // 1000)]).encode("utf-8")).hexdigest()
    return ("vectors", name, len(v), VECTORS_ROWS, digest[:16])


def _table(st: ServerState, kind: str, name: str) -> tuple[SourceTable, tuple[Any, ...]]:
    version = _version(st, kind, name)
    if kind == "collection":
        return st.projector.table(version, lambda: from_collection(st.collection(name))), version
    return st.projector.table(version, lambda: from_vectors(name, st.vectors(name), VECTORS_ROWS)), version


def _describe(table: SourceTable, layout: Layout) -> dict[str, Any]:
    return {**describe(layout), "kind": table.kind, "name": table.name, "metric": table.metric, "fields": table.fields()}


def _key(st: ServerState, kind: str, name: str, method: str, seed: int, dims: int = 2) -> tuple[Any, ...]:
    return layout_key(_table(st, kind, name)[1], method, seed, dims)


def _fitted(st: ServerState, key: tuple[Any, ...], table: SourceTable, method: str, seed: int,
            report: Report, dims: int = 2) -> Layout:
    """Fit, cache, and (2-D) build the drawn points' spatial index now (the page asks for it next)."""
    layout = st.projector.store(key, fit(table, method, seed, report, dims))
    if layout.dims == 2:
        report(1.0, "indexing the points for the map")
        st.projector.spatial_index(key, layout)
    return layout


def _layout(st: ServerState, kind: str, name: str, method: str, seed: int,
            dims: int = 2) -> tuple[SourceTable, Layout | Job]:
    """The cached layout, or (PCA) one computed now, or (t-SNE/UMAP) the job computing it."""
    table, version = _table(st, kind, name)
    key = layout_key(version, method, seed, dims)
    hit = st.projector.layout(key)
    if hit is not None:
        return table, hit
    if method == "pca" and table.matrix.size <= INLINE_CELLS:
        return table, _fitted(st, key, table, method, seed, lambda fraction, stage: None, dims)

    def run(report: Report) -> dict[str, Any]:
        cached = st.projector.layout(key)
        return _describe(table, cached or _fitted(st, key, table, method, seed, report, dims))

    job = st.jobs.submit(("projector", *key), run, kind="projection",
                         stage=f"waiting to lay out {name!r} with {METHOD_NAMES[method]} in {dims}-D")
    return table, job


@router.get("/{kind}/{name}/layout", summary="Describe (or start computing) a 2-D layout of every row",
            responses={202: {"description": "t-SNE/UMAP: the background job computing it (poll /api/jobs/{id})"}})
def layout(kind: Kind, name: str, request: Request, method: Method = "pca", seed: int = SEED,
           dims: int = DIMS) -> JSONResponse:
    st = state_of(request)
    table, found = _layout(st, kind, name, method, seed, dims)
    if isinstance(found, Job):
        return JSONResponse(st.jobs.snapshot(found.id), status_code=202, headers={"Location": f"/api/jobs/{found.id}"})
    return JSONResponse(_describe(table, found))


def _ready(st: ServerState, kind: str, name: str, method: str, seed: int,
           dims: int = 2) -> tuple[SourceTable, Layout]:
    table, found = _layout(st, kind, name, method, seed, dims)
    if isinstance(found, Job):
        raise InputError(f"the {dims}-D {METHOD_NAMES[method]} layout of {name!r} is still being computed (job {found.id}); "
                         "poll /api/jobs/{id} until it is done")
    return table, found


@router.get("/{kind}/{name}/coords", summary="A layout's coordinates: float32 little-endian x, y (, z) per row",
            response_class=Response)
def coords(kind: Kind, name: str, request: Request, method: Method = "pca", seed: int = SEED,
           dims: int = DIMS) -> Response:
    _, found = _ready(state_of(request), kind, name, method, seed, dims)
    data = np.ascontiguousarray(found.coords, dtype="<f4").tobytes()
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "no-cache"})


@router.get("/{kind}/{name}/spatial-index", summary="A KDBush index of the drawn points (regl-scatterplot's)",
            response_class=Response)
def spatial_index(kind: Kind, name: str, request: Request, method: Method = "pca", seed: int = SEED) -> Response:
    st = state_of(request)
    table, found = _ready(st, kind, name, method, seed)
    data = st.projector.spatial_index(_key(st, kind, name, method, seed), found)
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "no-cache"})


@router.get("/{kind}/{name}/clusters", summary="Clusters on the original vectors, named by c-TF-IDF (a job)",
            responses={202: {"description": "the background job clustering (poll /api/jobs/{id})"}})
def clusters(kind: Kind, name: str, request: Request, algorithm: Literal["kmeans", "hdbscan"] = "kmeans",
             n_clusters: int | None = Query(None, ge=1, le=1000), stop_words: str = Query("", max_length=5000),
             seed: int = SEED) -> JSONResponse:
    st = state_of(request)
    table, version = _table(st, kind, name)
    words = sorted({w.strip() for w in stop_words.split(",") if w.strip()})
    key = ("clusters", *version, algorithm, n_clusters, tuple(words), seed)
    hit = st.projector.result(key)
    if hit is not None:
        return JSONResponse(hit)

    def run(report: Report) -> dict[str, Any]:
        report(0.1, f"clustering {len(table.keys):,} rows with {'k-means' if algorithm == 'kmeans' else 'HDBSCAN'}")
        return st.projector.remember(key, cluster_column(table, algorithm, n_clusters, words, seed))

    job = st.jobs.submit(key, run, kind="clusters", stage=f"waiting to cluster {name!r}")
    return JSONResponse(st.jobs.snapshot(job.id), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})


@router.get("/{kind}/{name}/point/{row}", summary="One row's id, label and metadata")
def point(kind: Kind, name: str, row: int, request: Request) -> JSONResponse:
    table, _ = _table(state_of(request), kind, name)
    return JSONResponse(table.point(row))


@router.get("/{kind}/{name}/ids", summary="Every row's id, in row order")
def ids(kind: Kind, name: str, request: Request) -> JSONResponse:
    table, _ = _table(state_of(request), kind, name)
    return JSONResponse({"ids": list(table.keys)})


@router.get("/{kind}/{name}/column/{field}", summary="A metadata field for colouring (categories or numbers)")
def field_column(kind: Kind, name: str, field: str, request: Request) -> JSONResponse:
    table, _ = _table(state_of(request), kind, name)
    return JSONResponse(column(table, field))


def _nearest_2d(coords: np.ndarray, row: int, k: int) -> set[int]:
    d = ((coords - coords[row]) ** 2).sum(axis=1)
    d[row] = np.inf
    k = min(k, len(coords) - 1)
    return set(np.argpartition(d, k - 1)[:k].tolist()) if k > 0 else set()


@router.post("/{kind}/{name}/neighbors", summary="A row's nearest rows in the original space, and in 2-D")
def neighbors(kind: Kind, name: str, body: NeighborsBody, request: Request) -> JSONResponse:
    st = state_of(request)
    table, found = _ready(st, kind, name, body.method, body.seed, body.dims)
    info = table.point(body.row)
    if kind == "collection":
        hits = [(h.id, h.score) for h in st.collection(name).search(table.matrix[body.row], k=body.k + 1)]
    else:
        got = st.vectors(name).most_similar(info["id"], topn=body.k + 1)
        assert isinstance(got, list)  # with a topn, most_similar answers (key, score) pairs
        hits = got
    hits = [(i, s) for i, s in hits if i != info["id"]][: body.k]
    rows = [table.rows.get(i, -1) for i, _ in hits]
    flat = _nearest_2d(found.coords, body.row, len(hits))
    return JSONResponse({"row": body.row, "id": info["id"], "metric": table.metric,
                         "hits": [{"row": r, "id": i, "score": float(s), "label": table.labels[r] if r >= 0 else i}
                                  for (i, s), r in zip(hits, rows, strict=True)],
                         "k": len(hits), "also_2d": len({r for r in rows if r >= 0} & flat)})


@router.post("/{kind}/{name}/query", summary="A query's nearest rows, and where it lands on the layout")
def query(kind: Kind, name: str, body: QueryBody, request: Request) -> JSONResponse:
    st = state_of(request)
    table, found = _ready(st, kind, name, body.method, body.seed, body.dims)
    text = body.query.strip()
    if not text:
        raise InputError("the query is empty; type a text (a collection) or a word or expression (a vectors set)")
    if kind == "collection":
        col = st.collection(name)
        hits = [(h.id, h.score) for h in col.search(text, k=body.k)]
        enc = col.encoder  # search above embedded the text, so there is one
        assert enc is not None
        vector = enc.encode_queries([text])[0]
    else:
        v = st.vectors(name)
        got = v.most_similar(text, topn=body.k) if text in v else v.arithmetic(text, k=body.k)
        assert isinstance(got, list)  # with a topn, most_similar answers (key, score) pairs
        hits = got
        vector = v.vector(text)
    rows = [table.rows.get(i, -1) for i, _ in hits]
    try:
        xy, how = found.place(np.asarray(vector, np.float32)[None, :])
        where: list[float] | None = xy[0].tolist()
    except DimensionError:  # e.g. a Matryoshka collection stores shorter vectors: the hits' mean instead
        placed = [r for r in rows if r >= 0]
        where, how = (found.coords[placed].mean(axis=0).tolist() if placed else None), "nearest-neighbour"
    return JSONResponse({"query": text, "place": where, "placed_by": how,
                         "hits": [{"row": r, "id": i, "score": float(s), "label": table.labels[r] if r >= 0 else i}
                                  for (i, s), r in zip(hits, rows, strict=True)]})


@router.post("/{kind}/{name}/select", summary="Rows matching a where filter and/or a regex")
def select(kind: Kind, name: str, body: SelectBody, request: Request) -> JSONResponse:
    st = state_of(request)
    table, _ = _table(st, kind, name)
    picked: set[int] | None = None
    if body.where is not None:
        if kind != "collection":
            raise InputError("a vectors set has no metadata to filter; use a regex over its keys")
        picked = {table.rows[i] for i in st.collection(name).ids(where=body.where) if i in table.rows}
    if body.regex is not None:
        matched = set(regex_rows(table, body.regex))
        picked = matched if picked is None else picked & matched
    if picked is None:
        raise InputError("give a where filter, a regex, or both")
    return JSONResponse({"rows": sorted(picked), "count": len(picked)})


@router.post("/{kind}/{name}/export", summary="Rows' ids, labels, texts, coordinates and metadata as CSV, JSONL or Parquet",
             response_class=Response)
def export_rows(kind: Kind, name: str, body: ExportBody, request: Request) -> Response:
    st = state_of(request)
    table, found = _ready(st, kind, name, body.method, body.seed, body.dims)
    texts = None
    if kind == "collection":  # each row's text: stored once, as the item's content
        keys = [table.keys[r] for r in body.rows if 0 <= r < len(table.keys)]  # export names rows out of range
        unique = list(dict.fromkeys(keys))
        by_id = dict(zip(unique, st.collection(name).texts(unique, missing="skip"), strict=True)) if unique else {}
        texts = [by_id.get(table.keys[r]) if 0 <= r < len(table.keys) else None for r in body.rows]
    data = export(table, body.rows, found.coords, body.format, texts)
    filename = f"{name}-selection.{body.format}"
    return Response(data, media_type=MEDIA[body.format],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
