"""The projector page (``/``), its scripts and the API docs' assets: fixed files looked up by name in code (no
directory serving, so no request can name a file).

``/`` (and the old explorer's ``/explorer``) redirect to ``/projector``; an old ``/?source=collection:tour`` link
becomes ``/projector#source=collection%3Atour``, the projector's own view-in-the-URL form. regl-scatterplot is
vendored in ``static/vendor`` (VENDORED.md: version, licence, checksum) and the Swagger UI of ``/docs`` comes from
``fastapi-offline``'s bundled copy, so both pages work without network access.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from .._packages import package_dir
from ..errors import MissingDependencyError, UnknownKeyError

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"


def static_file(name: str) -> Path:
    """A file of the installed package's ``server/static`` folder.

    Parameters
    ----------
    name : str
        Its path under ``static`` (a fixed name from this module, never a request's).

    Returns
    -------
    Path
        The file.

    Raises
    ------
    MissingDependencyError
        When the installed package lacks it (an install without its package data).
    """
    path = STATIC / name
    if not path.is_file():
        raise MissingDependencyError(f"the page's file {path} is missing from the installed embedlab package; "
                                     "reinstall it: pip install --force-reinstall 'embedlab[server]'")
    return path


def _script(name: str, cache: str = "no-cache") -> FileResponse:
    return FileResponse(static_file(name), media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": cache})


@router.get("/")
def index(source: str | None = None) -> RedirectResponse:
    """The projector; ``?source=KIND:NAME`` (the old explorer's links) becomes its ``#source=`` view state."""
    return RedirectResponse("/projector" + (f"#source={quote(source, safe='')}" if source else ""))


@router.get("/explorer")
def explorer(source: str | None = None) -> RedirectResponse:
    return index(source)


@router.get("/projector")
def projector() -> FileResponse:
    return FileResponse(static_file("projector.html"), media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@router.get("/static/projector.js")
def projector_js() -> FileResponse:
    return _script("projector.js")


def _serve(name: str, cache: str) -> None:
    """A GET route for one fixed file under /static/ (no directory serving: the name is given here); a file
    missing from the installed package answers 503 (``static_file``)."""

    def serve() -> FileResponse:
        return _script(name, cache)

    router.add_api_route("/static/" + name, serve, methods=["GET"])


# the projector's other modules, one concept each (projector.html loads them in order around projector.js)
for _name in ("projector-url.js", "projector-frames.js", "projector-scatter.js", "projector-canvas.js",
              "projector-3d.js", "projector-compare.js", "source-memory.js", "analogy.js"):
    _serve(_name, "no-cache")
# three.js (Points, Raycaster, OrbitControls) for the 3-D view, vendored (static/vendor/VENDORED.md)
_serve("vendor/three-points.min.js", "public, max-age=86400")


@router.get("/static/vendor/regl-scatterplot.min.js")
def regl_scatterplot() -> FileResponse:
    """regl-scatterplot, vendored (static/vendor/VENDORED.md: version, licence, checksum)."""
    return _script("vendor/regl-scatterplot.min.js", "public, max-age=86400")


def offline_docs_dir() -> Path | None:
    """Swagger UI files bundled in the ``fastapi-offline`` package, if installed."""
    folder = package_dir("fastapi_offline")
    if folder is None or not (folder / "static" / "swagger-ui-bundle.js").is_file():
        return None
    return folder / "static"


_DOCS_FILES = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8"}
docs_router = APIRouter(include_in_schema=False)


@docs_router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=request.app.openapi_url, title="embedlab API",
                               swagger_js_url="/static/docs/swagger-ui-bundle.js",
                               swagger_css_url="/static/docs/swagger-ui.css", swagger_favicon_url="data:,")


@docs_router.get("/static/docs/{name}")
def docs_asset(name: str) -> FileResponse:
    folder = offline_docs_dir()
    if name not in _DOCS_FILES or folder is None:
        raise UnknownKeyError(f"no docs asset {name!r}")
    return FileResponse(folder / name, media_type=_DOCS_FILES[name], headers={"Cache-Control": "public, max-age=86400"})
