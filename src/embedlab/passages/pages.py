"""``page=3`` also matches an item that spans page 3: a document read page by page is stored as items that each
cover pages ``page`` to ``page_end`` (a short three-page PDF is one item, ``page=1, page_end=3``; a long one is
split into passages that may cross pages), so an equality test on ``page`` alone missed every page but the first
of each item. The filter stays one of the filter language's own, so every backend runs it.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from ..errors import FilterWarning

if TYPE_CHECKING:  # pragma: no cover
    from ..store import Collection

KEY, END = "page", "page_end"


def with_page_spans(collection: Collection, where: dict[str, Any] | None) -> dict[str, Any] | None:
    """``where`` with each test that ``page`` equals (or is in) some numbers widened to the items spanning them.

    Only for a collection whose items hold ``page_end`` (read page by page): elsewhere the filter is left as it
    is, so a filter that matches nothing is explained in the user's own keys, never in ``page_end``.

    Parameters
    ----------
    collection : Collection
        The collection the filter is for.
    where : dict or None
        A metadata filter; ``{"page": 3}``, ``{"page": {"$eq": 3}}`` and ``{"page": {"$in": [...]}}`` (the numbers
        of the list; the CLI's ``page=3`` is ``{"$in": ["3", 3]}``) are widened, also inside ``$and`` / ``$or``;
        any other test (ranges, ``$ne``, ``$exists``, strings only) is left as it is.

    Returns
    -------
    dict or None
        The filter, with ``{"$or": [{"page": <the test>}, {"page": {"$lte": 3}, "page_end": {"$gte": 3}}]}`` in
        place of such a test; ``where`` itself when it has none (None for None).
    """
    if where is None:
        return None
    wide = _widen(where)
    if wide == where:
        return where
    with warnings.catch_warnings():  # a lookup of ours: no "no item has key 'page_end'"
        warnings.simplefilter("ignore", FilterWarning)
        spans = bool(collection.ids(where={END: {"$exists": True}}))
    return wide if spans else where


def _widen(where: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    spans: list[dict[str, Any]] = []
    for key, cond in where.items():
        if key in ("$and", "$or") and isinstance(cond, list):
            out[key] = [_widen(c) if isinstance(c, dict) else c for c in cond]
        elif key == KEY and _numbers(cond):
            spans.append({"$or": [{KEY: cond}, *({KEY: {"$lte": n}, END: {"$gte": n}} for n in _numbers(cond))]})
        else:
            out[key] = cond
    if not spans:
        return out
    parts = ([out] if out else []) + spans
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _numbers(cond: Any) -> list[int | float]:
    """The page numbers an equality or membership test asks for (none for any other test)."""
    if isinstance(cond, dict) and set(cond) == {"$eq"}:
        values = [cond["$eq"]]
    elif isinstance(cond, dict) and set(cond) == {"$in"} and isinstance(cond["$in"], list):
        values = cond["$in"]
    elif isinstance(cond, dict | list):
        return []
    else:
        values = [cond]
    return list(dict.fromkeys(v for v in values if isinstance(v, int | float) and not isinstance(v, bool)))
