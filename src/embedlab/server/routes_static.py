"""The explorer page and its scripts: three fixed files, looked up by name in code (no directory serving).

plotly.js comes from the installed ``plotly`` Python package (``plotly/package_data/plotly.min.js``), so the
page works without any network access.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from ..errors import MissingDependencyError

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"


def plotly_js() -> Path:
    """Where the installed plotly package keeps its plotly.min.js (MissingDependencyError otherwise)."""
    spec = importlib.util.find_spec("plotly")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
        if path.is_file():
            return path
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


@router.get("/static/plotly.min.js")
def plotly() -> FileResponse:
    return FileResponse(plotly_js(), media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=86400"})
