"""Loads that have not completed: the mark a collection carries while an import or bulk load is unfinished.

A load (``import_parquet``, ``Collection.bulk``, ``embedlab index`` into a new collection) records a *mark* in its
backend's catalogue at the commit point that starts it — for a new collection in the very transaction that
creates it — and clears it in the transaction that completes it (PostgreSQL also builds its HNSW index there).
A SIGKILL, a server stop or an error in between leaves the mark, so the half-loaded collection is listed as
``incomplete`` (``Collection.statuses()``, ``embedlab list``), ``check`` fails it, opening it warns, and
the mark says how to resume the load or remove the collection. While the loader still runs (it holds the
collection's load lock, which dies with its process or database session) the status is ``loading`` instead.

The mark is a JSON object: ``resume`` (the command, or the words, that resume the load), ``what`` (what is being
loaded, for messages), ``since`` (UTC, ISO 8601) and whatever the load needs to resume (an import: the file, its
row count and description checksum).
"""

from __future__ import annotations

import datetime as _dt
import os
import shlex
from pathlib import Path
from typing import Any

from .. import config
from .pg.connection import safe_url

#: What a mark says when the load left no command to resume it (a bulk load from Python).
RESUME_BULK = "run the interrupted load again (Collection.bulk() completes it when it ends)"


def new_mark(resume: str | None, what: str, **details: Any) -> dict[str, Any]:
    """A load mark: how to resume (a command or words), what is loaded, since now, and ``details`` (JSON-ready)."""
    return {"resume": resume, "what": what, "since": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            **details}


def cli_command(args: str, backend: str | None = None, root: str | os.PathLike[str] | None = None) -> str:
    """The ``embedlab`` command line that runs ``args`` on a backend, chosen as ``backend.connect`` chooses it:
    ``--backend URL`` for a database (without its password), ``--home`` for local collections under another
    embedlab home's ``collections`` folder."""
    if backend is None:
        backend = (config.backend() or "local") if root is None else "local"
    if backend != "local":
        return f"embedlab --backend {shlex.quote(safe_url(backend))} {args}"
    folder = Path(root) if root is not None else None
    if folder is not None and folder.name == "collections" and folder.resolve() != config.collections_dir().resolve():
        return f"embedlab --home {shlex.quote(str(folder.parent.resolve()))} {args}"
    return f"embedlab {args}"


def status_of(mark: dict[str, Any] | None) -> str:
    """``"ok"`` (no mark), ``"loading"`` (its loader runs) or ``"incomplete"`` (it stopped)."""
    if mark is None:
        return "ok"
    return "loading" if mark.get("running") else "incomplete"


def describe(name: str, mark: dict[str, Any], count: int | None = None) -> str:
    """One sentence about an unfinished load of collection ``name``: what, since when, how many items it holds,
    and (when it stopped) the commands that resume it or remove the collection."""
    what = mark.get("what") or "a load"
    held = f"; it holds {count:,} item(s) so far" if count is not None else ""
    if mark.get("running"):
        return (f"collection {name!r} is being loaded: {what} is running (since {mark.get('since')}){held}; it is "
                "complete when that load ends")
    return (f"collection {name!r} is incomplete: {what} stopped before it completed (started {mark.get('since')})"
            f"{held}; resume it: {mark.get('resume') or RESUME_BULK}, or remove it: {mark.get('remove')}")
