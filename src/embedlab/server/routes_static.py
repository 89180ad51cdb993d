"""The explorer page, its scripts and the API docs' assets: fixed files looked up by name in code (no
directory serving, so no request can name a file).

plotly.js comes from the installed ``plotly`` Python package (``plotly/package_data/plotly.min.js``) and the
Swagger UI of ``/docs`` from ``fastapi-offline``'s bundled copy, so both pages work without network access.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from .._packages import package_dir
from ..errors import MissingDependencyError, UnknownKeyError

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"


def plotly_js() -> Path:
    """Where the installed plotly package keeps its plotly.min.js (MissingDependencyError otherwise)."""
    folder = package_dir("plotly")
    if folder is not None and (folder / "package_data" / "plotly.min.js").is_file():
        return folder / "package_data" / "plotly.min.js"
    raise MissingDependencyError("the explorer's plot needs plotly.js from the plotly package: "
                                 "pip install 'embedlab[server]'")


@router.get("/")
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@router.get("/explorer")
def explorer() -> RedirectResponse:
    return RedirectResponse("/")


@router.get("/static/explorer.js")
def explorer_js() -> FileResponse:
    return FileResponse(STATIC / "explorer.js", media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@router.get("/projector")
def projector() -> FileResponse:
    return FileResponse(STATIC / "projector.html", media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


@router.get("/static/projector.js")
def projector_js() -> FileResponse:
    return FileResponse(STATIC / "projector.js", media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})


def _serve(path: Path, cache: str) -> None:
    """A GET route for one fixed file under /static/ (no directory serving: the path is named here)."""

    def serve() -> FileResponse:
        return FileResponse(path, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": cache})

    router.add_api_route("/static/" + path.relative_to(STATIC).as_posix(), serve, methods=["GET"])


# the projector's other modules, one concept each (projector.html loads them in order before projector.js)
for _name in ("projector-url.js", "projector-scatter.js", "projector-canvas.js", "projector-3d.js", "projector-compare.js"):
    _serve(STATIC / _name, "no-cache")
# three.js (Points, Raycaster, OrbitControls) for the 3-D view, vendored (static/vendor/VENDORED.md)
_serve(STATIC / "vendor" / "three-points.min.js", "public, max-age=86400")


@router.get("/static/vendor/regl-scatterplot.min.js")
def regl_scatterplot() -> FileResponse:
    """regl-scatterplot, vendored (static/vendor/VENDORED.md: version, licence, checksum)."""
    return FileResponse(STATIC / "vendor" / "regl-scatterplot.min.js", media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/static/plotly.min.js")
def plotly() -> FileResponse:
    return FileResponse(plotly_js(), media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=86400"})


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
