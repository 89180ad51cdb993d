"""A collection's manifest: what it is (name, encoder, metric, index) and which format wrote it.

The local backend keeps it as ``manifest.json`` (written atomically) and a copy inside its catalogue, so an
edited file is noticed; the PostgreSQL backend keeps it in its catalogue table. It describes; it is not the
commit point for data (each backend's transaction is).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import CorruptFileError, InputError
from ..persist import read_versioned, versioned

FORMAT = "embedlab.collection"
FORMAT_VERSION = 2  # 2: contents, segment checksums and the manifest copy in the catalogue
MANIFEST = "manifest.json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_name(name: Any) -> str:
    """A collection name usable as a folder or table name everywhere; InputError otherwise. Every path that
    creates, opens or drops a collection (Python, CLI, HTTP) checks names here."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(
            f"bad collection name {name!r}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    return name


def check(doc: Any, where: str, fix: str) -> dict[str, Any]:
    """Validate the fields of a manifest read from ``where``; CorruptFileError otherwise."""
    enc = doc.get("encoder") if isinstance(doc, dict) else None
    idx = doc.get("index") if isinstance(doc, dict) else None
    ok = (
        isinstance(enc, dict)
        and isinstance(enc.get("dim"), int) and not isinstance(enc.get("dim"), bool) and enc["dim"] > 0
        and enc.get("metric") in ("cosine", "dot", "l2")
        and (enc.get("name") is None or isinstance(enc.get("name"), str))
        and isinstance(idx, dict)
        and isinstance(idx.get("kind"), str)
        and isinstance(idx.get("params", {}), dict)
    )
    if not ok:
        raise CorruptFileError(f"{where} lacks valid 'encoder' {{name, dim, metric}} or 'index' {{kind, params}}; "
                               f"{fix}")
    out: dict[str, Any] = doc
    return out


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read and validate ``folder/manifest.json``; CorruptFileError or FormatVersionError with what to do."""
    path = folder / MANIFEST
    fix = f"restore {path} from a backup, or drop the collection and build it again"
    if not path.is_file():
        raise CorruptFileError(f"collection folder {folder} has no {MANIFEST}; {fix}")
    doc = read_versioned(path, FORMAT, FORMAT_VERSION, "collection manifest", fix)
    return check(doc, str(path), fix)


def new_manifest(name: str, encoder: dict[str, Any], kind: str, params: dict[str, Any], created: str) -> dict[str, Any]:
    """The manifest of a freshly created collection."""
    return versioned(FORMAT, FORMAT_VERSION, name=name, encoder=encoder, index={"kind": kind, "params": params},
                     created=created)


def index_settings(index_params: dict[str, Any] | None, precision: str | None, rescore: int | None
                   ) -> dict[str, Any]:
    """The index parameters a manifest stores, from ``index_params`` and the ``precision``/``rescore`` shortcuts.

    Parameters
    ----------
    index_params : dict or None
        The kind's own settings (``M``, ``ef_search``, ``nlist``, ...), possibly with ``precision``/``rescore``.
    precision : str or None
        ``"float32"`` (the default: not stored), ``"float16"``, ``"int8"`` or ``"binary"``.
    rescore : int or None
        Candidates (× k) a compressed index re-ranks with float32 vectors.

    Returns
    -------
    dict
        One params dict (checked by ``index.make_index`` later).

    Raises
    ------
    InputError
        When a shortcut and ``index_params`` give different values for the same setting.
    """
    params = dict(index_params or {})
    for key, value in (("precision", precision), ("rescore", rescore)):
        if value is None:
            continue
        if key in params and params[key] != value:
            raise InputError(f"{key} given twice ({value!r} and index_params[{key!r}]={params[key]!r}); pass it once")
        params[key] = value
    if params.get("precision") == "float32":
        params.pop("precision")
    return params
