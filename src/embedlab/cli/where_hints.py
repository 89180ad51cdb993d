"""What a search's ``--where`` may have meant when it found nothing: ``--where file=budget.txt`` on a collection
whose file is stored as ``notes/budget.txt`` (a file's id and ``file`` metadata are its path relative to the
folder indexed) gets "no item has file = budget.txt; did you mean notes/budget.txt?"."""

from __future__ import annotations

from typing import Any

from ..store import Collection

SHOWN = 3  # existing values named per hint


def where_hints(collection: Collection, where: dict[str, Any] | None) -> list[str]:
    """One line per string equality test of ``where`` whose value no item holds but some hold a value ending with
    or containing it.

    Parameters
    ----------
    collection : Collection
        The collection searched.
    where : dict or None
        The filter as given (``parse_where``'s: ``key: value``, ``{"$eq": value}`` or ``{"$in": [...]}`` tests,
        at the top level or inside ``$and``); other tests are not looked at.

    Returns
    -------
    list of str
        ``"no item has file = budget.txt; did you mean notes/budget.txt?"``, naming up to 3 values (those ending
        with the value asked first, then those containing it, each group by how many items hold it); empty when
        every value asked exists, nothing looks like it, the value asked is empty, or the key is held by no item.
    """
    lines = []
    for key, asked in _equalities(where):
        if not asked:  # every value ends with and contains the empty string: nothing to point at
            continue
        held = [v for v, _ in collection.values(key) if isinstance(v, str)]
        if asked in held:
            continue
        ends = [v for v in held if v.endswith(asked)]
        inside = [v for v in held if asked in v and v not in ends]
        near = (ends + inside)[:SHOWN]
        if near:
            lines.append(f"no item has {key} = {asked}; did you mean {', '.join(near)}?")
    return lines


def _equalities(where: Any) -> list[tuple[str, str]]:
    """The ``(key, string value)`` pairs that ``where`` tests for equality (in order, each once)."""
    if not isinstance(where, dict):
        return []
    out: list[tuple[str, str]] = []
    for key, cond in where.items():
        if key == "$and" and isinstance(cond, list):
            out.extend(pair for part in cond for pair in _equalities(part))
        elif key.startswith("$"):
            continue
        elif isinstance(cond, str):
            out.append((key, cond))
        elif isinstance(cond, dict) and len(cond) == 1 and isinstance(cond.get("$eq"), str):
            out.append((key, cond["$eq"]))
        elif isinstance(cond, dict) and len(cond) == 1 and isinstance(cond.get("$in"), list):
            out.extend((key, v) for v in cond["$in"] if isinstance(v, str))
    return list(dict.fromkeys(out))
