"""Similarity, word arithmetic on a vectors set, and 2-D projections for the explorer.

Vectors sets are the names the server was configured with (``GET /api/vectors``), never paths. Projections
are computed server-side with ``embedlab.analysis.reduce.project`` and cached per data generation, so the
explorer's repeated loads are free. PCA answers at once; t-SNE and UMAP (seconds to minutes) run as background
jobs: the first request answers 202 with the job (``GET /api/jobs/{id}`` to poll its progress and result),
identical requests share it, and once it is done the same request answers 200 with the cached result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..analysis.reduce import project
from ..encoders import DEFAULT_ENCODER
from ..errors import InputError
from ..vectors import Vectors
from .deps import require_read, state_of, text_encoder
from .jobs import Job, Report
from .state import Projection, ProjectionKey

router = APIRouter(prefix="/api", tags=["vectors and explorer"], dependencies=[Depends(require_read)])
Method = Literal["pca", "umap", "tsne"]
LABEL_CHARS = 90
METHOD_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
SEED = Query(0, ge=0, le=2**32 - 1, description="random seed of the sample and the projection")


class SimilarityRequest(BaseModel):
    """Two texts compared with an encoder (cosine of their embeddings)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    a: str
    b: str
    model: str = DEFAULT_ENCODER


class NeighborsRequest(BaseModel):
    """Nearest keys to a key or to an expression such as ``king - man + woman``."""

    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    query: str
    k: int = Field(10, ge=1)
    method: Literal["3cosadd", "3cosmul"] = "3cosadd"


class AnalogyRequest(BaseModel):
    """``a`` is to ``b`` as ``c`` is to ?"""

    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    a: str
    b: str
    c: str
    k: int = Field(5, ge=1)
    method: Literal["3cosadd", "3cosmul"] = "3cosadd"


class PairRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # "5" and true are not numbers
    a: str
    b: str


@router.get("/health", summary="Liveness and what the server holds")
def health(request: Request) -> JSONResponse:
    st = state_of(request)
    return JSONResponse({"status": "ok", "collections": st.collection_names(), "vectors": st.vectors_names(),
                         "encoders": st.encoder_stats(),
                         "auth": {"writes": st.api_key is not None, "reads": st.api_key is not None
                                  and not st.public_reads}})


@router.post("/similarity", summary="Cosine similarity of two texts")
def similarity(body: SimilarityRequest, request: Request) -> JSONResponse:
    st = state_of(request)
    st.limits.check_texts([body.a, body.b])
    enc = text_encoder(request, body.model)
    va, vb = enc.encode([body.a, body.b], normalize=True)
    return JSONResponse({"model": enc.name, "similarity": float(np.dot(va, vb))})


@router.get("/vectors", summary="The vectors sets this server offers")
def list_vectors(request: Request) -> JSONResponse:
    return JSONResponse({"vectors": state_of(request).vectors_names()})


@router.get("/vectors/{name}", summary="Describe a vectors set")
def get_vectors(name: str, request: Request) -> JSONResponse:
    v = state_of(request).vectors(name)
    return JSONResponse({"name": name, "count": len(v), "dim": v.dim})


def _pairs(pairs: list[tuple[str, float]]) -> list[dict[str, Any]]:
    return [{"id": k, "score": s} for k, s in pairs]


@router.post("/vectors/{name}/neighbors", summary="Nearest keys to a key or an expression")
def neighbors(name: str, body: NeighborsRequest, request: Request) -> JSONResponse:
    st = state_of(request)
    st.limits.check_k(body.k)
    st.limits.check_texts([body.query], "query")
    v = st.vectors(name)
    q = body.query.strip()
    if not q:
        raise InputError("the query is empty; type a word or an expression such as 'king - man + woman'")
    if q in v:
        found = v.most_similar(q, topn=body.k, method=body.method)
        assert isinstance(found, list)  # with a topn, most_similar answers (key, score) pairs
        hits = found
    else:
        hits = v.arithmetic(q, k=body.k, method=body.method)
    return JSONResponse({"query": q, "hits": _pairs(hits)})


@router.post("/vectors/{name}/arithmetic", summary="Answer an expression such as 'king - man + woman'")
def arithmetic(name: str, body: NeighborsRequest, request: Request) -> JSONResponse:
    st = state_of(request)
    st.limits.check_k(body.k)
    st.limits.check_texts([body.query], "expression")
    hits = st.vectors(name).arithmetic(body.query, k=body.k, method=body.method)
    return JSONResponse({"expression": body.query, "hits": _pairs(hits)})


@router.post("/vectors/{name}/analogy", summary="a is to b as c is to ?")
def analogy(name: str, body: AnalogyRequest, request: Request) -> JSONResponse:
    st = state_of(request)
    st.limits.check_k(body.k)
    st.limits.check_texts([body.a, body.b, body.c], "word")
    hits = st.vectors(name).analogy(body.a, body.b, body.c, k=body.k, method=body.method)
    return JSONResponse({"hits": _pairs(hits)})


@router.post("/vectors/{name}/similarity", summary="Cosine similarity of two keys")
def key_similarity(name: str, body: PairRequest, request: Request) -> JSONResponse:
    st = state_of(request)
    st.limits.check_texts([body.a, body.b], "word")
    return JSONResponse({"similarity": st.vectors(name).similarity(body.a, body.b)})


def _coords(matrix: np.ndarray, method: str, seed: int, metric: str) -> np.ndarray:
    if len(matrix) < 2:
        return np.zeros((len(matrix), 2), np.float32)
    return project(matrix, method, dim=2, seed=seed, metric=metric)


def _metadata_columns(metas: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Scalar metadata fields as columns (the explorer colours by one of them)."""
    fields: dict[str, None] = {}
    for m in metas:
        for key, value in m.items():
            if isinstance(value, (str, int, float, bool)) or value is None:
                fields.setdefault(key)
    return {f: [m.get(f) if not isinstance(m.get(f), (dict, list)) else None for m in metas]
            for f in list(fields)[:20]}


def _answer(request: Request, key: ProjectionKey, compute: Callable[[Report], Projection], method: str,
            what: str) -> JSONResponse:
    """PCA: computed now (cached). t-SNE/UMAP: the cached result, else 202 with the background job."""
    st = state_of(request)
    if method == "pca":
        return JSONResponse(st.projection(key, compute))
    job = st.projection_job(key, compute, stage=f"waiting to project {what} with {METHOD_NAMES[method]}")
    if not isinstance(job, Job):  # cached
        return JSONResponse(job)
    return JSONResponse(st.jobs.snapshot(job.id), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})


def _fitting(method: str, n: int) -> str:
    first = " (the first UMAP run compiles, ~1 min)" if method == "umap" else ""
    return f"fitting {METHOD_NAMES[method]} on {n} points{first}"


@router.get("/collections/{name}/projection", summary="2-D projection of a collection (explorer)",
            responses={202: {"description": "t-SNE/UMAP: the background job computing it (poll /api/jobs/{id})"}})
def collection_projection(name: str, request: Request, method: Method = "pca",
                          max_points: int = Query(2000, ge=1), seed: int = SEED) -> JSONResponse:
    st = state_of(request)
    st.limits.check_points(max_points)
    col = st.collection(name)
    info = col.info()

    def compute(report: Report) -> Projection:
        report(0.05, f"reading the vectors of collection {name!r}")
        ids = col.ids()
        total = len(ids)
        if total > max_points:  # a seeded sample keeps the plot readable and the request quick
            pick = np.sort(np.random.default_rng(seed).choice(total, max_points, replace=False))
            ids = [ids[i] for i in pick.tolist()]
        items = col.get(ids) if ids else []
        mat = np.stack([it.vector for it in items]) if items else np.zeros((0, col.dim), np.float32)
        report(0.2, _fitting(method, len(ids)))
        xy = _coords(mat, method, seed, col.metric)
        labels = [(it.source or it.id)[:LABEL_CHARS] for it in items]
        return {"kind": "collection", "name": name, "method": method, "total": total, "ids": ids,
                "x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(), "labels": labels,
                "metadata": _metadata_columns([it.metadata for it in items])}

    key = ("c", name, st.epoch(name), info.get("created"), info["generation"], info["count"], method, max_points,
           seed)
    return _answer(request, key, compute, method, f"collection {name!r}")


@router.get("/vectors/{name}/projection", summary="2-D projection of the most frequent keys (explorer)",
            responses={202: {"description": "t-SNE/UMAP: the background job computing it (poll /api/jobs/{id})"}})
def vectors_projection(name: str, request: Request, method: Method = "pca", max_points: int = Query(1500, ge=1),
                       seed: int = SEED, words_only: bool = True) -> JSONResponse:
    st = state_of(request)
    st.limits.check_points(max_points)
    v = st.vectors(name)

    def compute(report: Report) -> Projection:
        report(0.05, f"reading the vectors of {name!r}")
        rows = _first_rows(v, max_points, words_only)
        keys = [v.keys[i] for i in rows]
        report(0.2, _fitting(method, len(rows)))
        xy = _coords(np.asarray(v.matrix[rows], np.float32), method, seed, "cosine")
        return {"kind": "vectors", "name": name, "method": method, "total": len(v), "ids": keys,
                "x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(), "labels": keys, "metadata": {}}

    return _answer(request, ("v", name, method, max_points, seed, words_only), compute, method, f"{name!r}")


def _first_rows(v: Vectors, n: int, words_only: bool) -> list[int]:
    """The first ``n`` rows (keys are frequency-ordered), skipping punctuation and numbers if asked."""
    if not words_only:
        return list(range(min(n, len(v))))
    out = []
    for i, k in enumerate(v.keys):
        if k.isalpha():
            out.append(i)
            if len(out) == n:
                break
    return out
