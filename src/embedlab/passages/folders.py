"""``folder=drafts`` also matches files in ``drafts/old``: a metadata filter on a file's ``folder`` widened to the
folder's subfolders that the collection holds.

``embedlab index`` stores a file's ``folder`` (its folder relative to the folder indexed, ``drafts/old``) and its
path as its id (``drafts/old/memo.txt``, passages ``drafts/old/memo.txt#2``), so the subfolders of ``drafts``
that hold items are read off the stored ids; the filter itself stays an ordinary ``$in`` that every backend runs.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Collection

KEY = "folder"


def with_subfolders(collection: Collection, where: dict[str, Any] | None) -> dict[str, Any] | None:
    """``where`` with each test that ``folder`` equals (or is in) some folders widened to their subfolders.

    Parameters
    ----------
    collection : Collection
        The collection the filter is for (its ids name the folders it holds).
    where : dict or None
        A metadata filter; ``{"folder": "drafts"}``, ``{"folder": {"$eq": "drafts"}}`` and ``{"folder": {"$in":
        [...]}}`` are widened, also inside ``$and`` / ``$or``; any other test is left as it is.

    Returns
    -------
    dict or None
        The filter, with ``{"folder": {"$in": ["drafts", "drafts/old", ...]}}`` for such a test; ``where`` itself
        when it has none (None for None).
    """
    if where is None or not _mentions(where):
        return where
    folders: set[str] = set()
    for id_ in collection.ids():
        doc, sep, n = id_.rpartition("#")
        path = doc if sep and n.isdigit() else id_
        parent = posixpath.dirname(path)
        while parent:
            folders.add(parent)
            parent = posixpath.dirname(parent)
    return _widen(where, sorted(folders))


def _mentions(where: Any) -> bool:
    if not isinstance(where, dict):
        return False
    return KEY in where or any(isinstance(v, list) and any(_mentions(x) for x in v)
                               for k, v in where.items() if k in ("$and", "$or"))


def _widen(where: dict[str, Any], folders: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, cond in where.items():
        if key in ("$and", "$or") and isinstance(cond, list):
            out[key] = [_widen(c, folders) if isinstance(c, dict) else c for c in cond]
        elif key == KEY:
            out[key] = _widened(cond, folders)
        else:
            out[key] = cond
    return out


def _widened(cond: Any, folders: list[str]) -> Any:
    if isinstance(cond, dict) and set(cond) == {"$eq"}:
        names = [cond["$eq"]]
    elif isinstance(cond, dict) and set(cond) == {"$in"} and isinstance(cond["$in"], list):
        names = cond["$in"]
    elif isinstance(cond, dict):
        return cond  # $ne, $exists, ...: exactly as written
    else:
        names = [cond]
    if not isinstance(names, list):
        return cond
    prefixes = [n.rstrip("/") + "/" for n in names if isinstance(n, str)]
    wide = list(dict.fromkeys([*names, *(f for f in folders if f.startswith(tuple(prefixes)))]))
    return cond if wide == names else {"$in": wide}
