"""The embedlab HTTP server: an OpenAI-compatible embeddings API, collections, vector arithmetic and the web
embedding projector, in one FastAPI app.

    >>> app = create_app(home="~/.local/share/embedlab", api_key="s3cret")   # then: uvicorn.run(app)

Errors are JSON ``{"error": {"type": ..., "message": ...}}`` with 400 (bad input), 401 (API key), 404 (unknown
collection, id, job, model or word), 409 (a collection built with another encoder version), 413 (a limit), 421
(a ``Host`` this server does not answer to, see ``hosts``), 500 (a damaged collection file; or a bug: then a
generic message with an ``id`` that the server logs with the traceback), 503 (a model, lock, worker or writable
storage not available right now) and 507 (the disk is full). Messages never carry file-system paths (see
``errors.Scrubber``). Every route is a few lines over the library; request handlers are plain functions run in
the thread pool (see ``state``); t-SNE and UMAP projections run as background jobs (see ``jobs``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__, config
from ..encoders.registry import spec as encoder_spec
from ..errors import EmbedlabError, InputError
from ..vectors import Vectors
from . import routes_collections, routes_jobs, routes_openai, routes_projector, routes_static, routes_vectors
from .deps import error_response
from .errors import AuthError, InternalErrorMiddleware, Scrubber, error_answer, status_of
from .hosts import HostAllowList, HostCheckMiddleware
from .limits import BodyLimitMiddleware, Limits
from .state import ServerState

__all__ = ["create_app", "AuthError", "ApiKeyError", "status_of"]

ApiKeyError = AuthError
_HTTP_TYPES = {400: "InputError", 404: "NotFound", 405: "MethodNotAllowed", 401: "AuthError", 413: "ResourceLimitError",
               415: "InputError"}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "body"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def create_app(home: str | Path | None = None, api_key: str | None = None, public_reads: bool = True,
               limits: Limits | None = None,
               vectors_sets: dict[str, Vectors | Callable[[], Vectors]] | None = None,
               preload: tuple[str, ...] = (), encoder_threads: int | None = None,
               allowed_hosts: Iterable[str] = (), model_folders: Iterable[str | Path] = ()) -> FastAPI:
    """Build the app. ``home``: the embedlab home (collections live in ``home/collections``; default
    ``$EMBEDLAB_HOME``); ``api_key``: required on write routes (and on reads when ``public_reads=False``);
    ``vectors_sets``: name -> Vectors (or a function returning one) offered for arithmetic and the explorer
    (default: ``glove-50``, the 50k most frequent GloVe words); ``preload``: encoders to build at start-up;
    ``encoder_threads``: BLAS threads per model call for encoders that take a ``threads`` option (None: the
    encoder's default; concurrency comes from requests and dynamic batching, see ``state.GuardedEncoder``);
    ``allowed_hosts``: names accepted in the ``Host`` header besides localhost, 127.0.0.1 and [::1] (see
    ``hosts``; ``embedlab serve`` adds the address it is bound to); ``model_folders``: model folders (fine-tuned,
    MLM, CLIP heads, sentence-transformers) offered to requests by their folder name (InputError when one is not a
    loadable folder, or two share a name); requests cannot name other paths."""
    limits = limits or Limits()
    home_path = (Path(home).expanduser() if home is not None else config.home()).resolve()
    home_path.mkdir(parents=True, exist_ok=True)
    hosts = HostAllowList(allowed_hosts)
    if api_key is not None and not api_key.strip():
        raise EmbedlabError("the API key is empty; pass a non-empty key or none")
    scrubber = Scrubber(home_path)
    folders: dict[str, Path] = {}
    for folder in model_folders:
        path = Path(folder).expanduser().resolve()
        encoder_spec(str(path))  # InputError now, naming what a model folder holds, when it is not one
        if path.name in folders:
            raise InputError(f"two model folders are named {path.name!r} ({folders[path.name]} and {path}); "
                             "requests name them by folder name, so rename one")
        folders[path.name] = path
    st = ServerState(home_path, api_key.strip() if api_key else None, public_reads, limits, vectors_sets,
                     encoder_threads, scrubber, model_folders=folders)
    for name in preload:
        st.encoder(name)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        st.close()

    offline_docs = routes_static.offline_docs_dir() is not None  # else FastAPI's /docs (Swagger UI from a CDN)
    app = FastAPI(title="embedlab", version=__version__, lifespan=lifespan,
                  docs_url=None if offline_docs else "/docs",
                  description="Embeddings as a service: an OpenAI-compatible /v1/embeddings, collections with "
                              "search, vector arithmetic, and the embedding projector at / (/projector).")
    app.state.embedlab = st
    app.state.allowed_hosts = hosts

    @app.exception_handler(EmbedlabError)
    async def _embedlab_error(request: Request, exc: EmbedlabError) -> JSONResponse:
        status, body, headers = error_answer(exc, scrubber, f"{request.method} {request.url.path}")
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, "InputError", scrubber.scrub(_validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}; see /docs for the API"
        return error_response(exc.status_code, _HTTP_TYPES.get(exc.status_code, "HTTPError"), scrubber.scrub(message))

    app.include_router(routes_openai.router)
    app.include_router(routes_collections.router)
    app.include_router(routes_vectors.router)
    app.include_router(routes_jobs.router)
    app.include_router(routes_projector.router)
    app.include_router(routes_static.router)
    if offline_docs:
        app.include_router(routes_static.docs_router)
    # outermost last: the Host check runs first, then the body limit; a bug's exception meets the 500 answer
    app.add_middleware(InternalErrorMiddleware, scrubber=scrubber)
    app.add_middleware(BodyLimitMiddleware, max_bytes=limits.max_body_bytes)
    app.add_middleware(HostCheckMiddleware, hosts=hosts)
    return app


def api_key_from(file: str | Path | None = None, env: str = "EMBEDLAB_API_KEY") -> str | None:
    """The API key from ``file`` (first line) or the environment variable ``env``; None when neither is set."""
    if file is not None:
        path = Path(file).expanduser()
        try:
            key = path.read_text(encoding="utf-8").strip().splitlines()
        except OSError as exc:
            raise EmbedlabError(f"cannot read the API key file {path}: {exc.strerror}") from None
        if not key or not key[0].strip():
            raise EmbedlabError(f"the API key file {path} is empty; put the key on its first line")
        return key[0].strip()
    value = os.environ.get(env, "").strip()
    return value or None
