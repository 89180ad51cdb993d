"""Where embedlab keeps collections: ``--home``, else ``$EMBEDLAB_HOME``, else the user data directory."""

from __future__ import annotations

import os
from pathlib import Path

_override: Path | None = None
_backend: str | None = None


def set_home(path: str | Path | None) -> None:
    """Use ``path`` as the embedlab home for this process (the CLI's ``--home``)."""
    global _override
    _override = Path(path).expanduser() if path else None


def home() -> Path:
    """The embedlab home folder (created on first use)."""
    if _override is not None:
        base = _override
    elif os.environ.get("EMBEDLAB_HOME"):
        base = Path(os.environ["EMBEDLAB_HOME"]).expanduser()
    else:
        data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        base = Path(data) / "embedlab"
    base.mkdir(parents=True, exist_ok=True)
    return base


def collections_dir() -> Path:
    """The folder holding one sub-folder per collection."""
    d = home() / "collections"
    d.mkdir(parents=True, exist_ok=True)
    return d


def set_backend(url: str | None) -> None:
    """Use ``url`` (``"local"`` or ``postgresql://…``) as this process's default collection backend (the CLI's
    ``--backend``); None falls back to ``$EMBEDLAB_DATABASE_URL``, then the local backend."""
    global _backend
    _backend = url or None


def backend() -> str | None:
    """The default collection backend: ``--backend``, else ``$EMBEDLAB_DATABASE_URL``, else None (local)."""
    return _backend or os.environ.get("EMBEDLAB_DATABASE_URL") or None
