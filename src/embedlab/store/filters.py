"""Metadata filters (``where=``): one parser, one set of JSON-typed semantics, every backend.

A filter is a dict. Top-level keys are field names (ANDed together) or the logical operators ``$and`` /
``$or`` (each a non-empty list of filters). A field maps to a value (shorthand for ``$eq``) or to a dict of
operators, all of which must hold:

=============  ==========================================================================================
``$eq``        same JSON type and equal value. Numbers compare as numbers (1 == 1.0); a boolean is not a
               number; a string never equals a list or an object; lists and objects equal only the same
               list / object (same order, same keys, same JSON text). ``null`` matches JSON null *and* a
               missing key (as in MongoDB); use ``$exists`` to tell them apart.
``$ne``        not ``$eq`` (so it also matches items that lack the key).
``$gt`` ...    ``$gt $gte $lt $lte``: a number against numbers, a string against strings (code-point
               order); items whose value has another type (or no value) do not match.
``$in``        ``$eq`` to any value of a non-empty list. ``$nin``: to none of them (missing keys match).
``$contains``  the field is a list with an element ``$eq`` to the (non-list, non-object) value.
``$exists``    ``true``: the key is present (even when its value is null); ``false``: it is absent.
=============  ==========================================================================================

Keys may contain any character but NUL, except that a top-level key starting with ``$`` is an operator. Integers must
fit in 64 bits (SQLite's range): larger ones are refused, in metadata and in filters. ``parse`` returns an
immutable tree that each backend compiles to its own query language; ``matches`` evaluates it in Python and is
the reference the backends are tested against.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, Protocol

from ..errors import InputError

FIELD_OPS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$contains", "$exists")
LOGICAL_OPS = ("$and", "$or")
INT64 = (-(1 << 63), (1 << 63) - 1)
MAX_DEPTH = 32  # lists/objects nested deeper than this are refused (in metadata and in filters)


@dataclass(frozen=True)
class Cond:
    """One test on one metadata field: ``op`` is a FIELD_OPS name without the ``$``."""

    key: str
    op: str
    value: Any


@dataclass(frozen=True)
class All:
    """Every part holds ($and)."""

    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Any_:
    """At least one part holds ($or)."""

    parts: tuple[Filter, ...]


Filter = Cond | All | Any_


def parse(where: Any, _depth: int = 0) -> Filter:
    """Check a ``where`` dict and turn it into a filter tree; InputError naming the bad part otherwise."""
    if _depth > MAX_DEPTH:
        raise InputError(f"where nests $and/$or more than {MAX_DEPTH} levels deep; flatten it")
    if not isinstance(where, dict) or not where:
        raise InputError("where must be a non-empty dict such as {'lang': 'ko'} or {'year': {'$gte': 2020}}")
    parts: list[Filter] = []
    for key, cond in where.items():
        if not isinstance(key, str):
            raise InputError(f"where keys must be strings, got {key!r}")
        try:
            _utf8(key)
        except InputError as exc:
            raise InputError(f"where key: {exc}") from None
        if key.startswith("$"):
            parts.append(_logical(key, cond, _depth))
        else:
            parts.extend(_field(key, cond))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _logical(op: str, value: Any, depth: int) -> Filter:
    if op not in LOGICAL_OPS:
        raise InputError(f"unknown operator {op!r} at the top of where; use {' or '.join(LOGICAL_OPS)}, or a field "
                         f"name (field names may not start with '$')")
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError(f"where[{op!r}] must be a non-empty list of filters")
    subs = tuple(parse(v, depth + 1) for v in value)
    return All(subs) if op == "$and" else Any_(subs)


def _field(key: str, cond: Any) -> list[Filter]:
    if isinstance(cond, dict) and cond and all(isinstance(k, str) and k.startswith("$") for k in cond):
        return [_op(key, op, v) for op, v in cond.items()]
    if isinstance(cond, dict) and any(isinstance(k, str) and k.startswith("$") for k in cond):
        raise InputError(f"where[{key!r}] mixes operators and plain keys ({list(cond)}); write "
                         f"{{'$eq': {{...}}}} to compare with an object")
    return [Cond(key, "eq", _value(key, cond, "$eq"))]


def _op(key: str, op: str, v: Any) -> Filter:
    if op not in FIELD_OPS:
        raise InputError(f"where[{key!r}]: unknown operator {op!r}; supported: {' '.join(FIELD_OPS)}")
    name = op[1:]
    if op in ("$in", "$nin"):
        if not isinstance(v, (list, tuple)) or not v:
            raise InputError(f"where[{key!r}][{op!r}] must be a non-empty list of values")
        return Cond(key, name, tuple(_value(key, x, op) for x in v))
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if not (isinstance(v, str) or _is_number(v)):
            raise InputError(f"where[{key!r}][{op!r}] compares with a number or a string, got {_type_name(v)}")
        return Cond(key, name, _value(key, v, op))
    if op == "$exists":
        if not isinstance(v, bool):
            raise InputError(f"where[{key!r}]['$exists'] must be true or false, got {v!r}")
        return Cond(key, name, v)
    if op == "$contains":
        if isinstance(v, (list, tuple, dict)):
            raise InputError(f"where[{key!r}]['$contains'] takes one element value (a string, number, bool or "
                             f"null), got {_type_name(v)}")
        return Cond(key, name, _value(key, v, op))
    return Cond(key, name, _value(key, v, op))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "a list", tuple: "a list", bool: "a boolean", type(None): "null"}.get(
        type(v), type(v).__name__)


def _value(key: str, v: Any, op: str) -> Any:
    """A JSON value, checked: finite numbers, 64-bit integers, string keys; tuples become lists."""
    try:
        return check_json_value(v)
    except InputError as exc:
        raise InputError(f"where[{key!r}][{op!r}]: {exc}") from None


def check_json_value(v: Any, _depth: int = 0) -> Any:
    """``v`` as a plain JSON value (lists for tuples); InputError for NaN/inf, integers beyond 64 bits, non-string
    object keys, NUL characters, nesting deeper than MAX_DEPTH or types JSON cannot hold. Used for metadata and
    filter values alike."""
    if _depth > MAX_DEPTH:
        raise InputError(f"lists/objects nested more than {MAX_DEPTH} levels deep")
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        _utf8(v)
        return v
    if isinstance(v, int):
        if not INT64[0] <= v <= INT64[1]:
            raise InputError(f"the integer {v} does not fit in 64 bits; store it as a string or a float")
        return int(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise InputError(f"{v} is not a finite number")
        return v
    if isinstance(v, (list, tuple)):
        return [check_json_value(x, _depth + 1) for x in v]
    if isinstance(v, dict):
        if not all(isinstance(k, str) for k in v):
            raise InputError("object keys must be strings")
        return {_utf8(k): check_json_value(x, _depth + 1) for k, x in v.items()}
    raise InputError(f"{type(v).__name__} is not a JSON value (use a string, number, bool, null, list or dict)")


def _utf8(s: str) -> str:
    if "\0" in s:
        raise InputError(f"the text {s[:40]!r} contains a NUL character, which JSON metadata cannot keep in every "
                         "backend; remove it")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(f"the text {s[:40]!r} is not valid Unicode (a lone surrogate at character {exc.start})") \
            from None
    return s


def canonical(v: Any) -> str:
    """The canonical JSON text of a value (sorted keys, no spaces): how metadata is stored and sent to a backend."""
    return json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _numbers_as_values(v: Any) -> Any:
    """``v`` with every float that holds an integer of 64 bits written as that integer (``1.0`` -> ``1``)."""
    if isinstance(v, float) and v.is_integer() and INT64[0] <= v <= INT64[1]:
        return int(v)
    if isinstance(v, list):
        return [_numbers_as_values(x) for x in v]
    if isinstance(v, dict):
        return {k: _numbers_as_values(x) for k, x in v.items()}
    return v


def value_key(v: Any) -> str:
    """The text lists and objects are compared by: equal exactly when the values are equal as JSON values, numbers
    compared as numbers at every depth (``[1] == [1.0]``, ``{"x": 1e16} == {"x": 10000000000000000}``), a boolean
    never a number, lists in order, objects by keys and values (what PostgreSQL's jsonb equality does).

    Parameters
    ----------
    v : list or dict
        A decoded JSON list or object (floats finite, integers within 64 bits).

    Returns
    -------
    str
        Canonical JSON text of ``v`` with integral floats written as integers.
    """
    return canonical(_numbers_as_values(v))


def kind(v: Any) -> str:
    """The JSON type class of a value: null, bool, number, string, array, object."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


_MISSING = object()


def _eq(have: Any, want: Any) -> bool:
    if want is None:
        return have is _MISSING or have is None
    if have is _MISSING or kind(have) != kind(want):
        return False
    if isinstance(want, (list, dict)):
        return value_key(have) == value_key(want)
    return bool(have == want)


def _cmp(have: Any, op: str, want: Any) -> bool:
    if have is _MISSING or kind(have) != kind(want):
        return False
    return bool({"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[op])


def matches(flt: Filter, metadata: dict[str, Any]) -> bool:
    """Whether ``metadata`` (a decoded metadata dict) passes ``flt``: the reference semantics."""
    if isinstance(flt, All):
        return all(matches(p, metadata) for p in flt.parts)
    if isinstance(flt, Any_):
        return any(matches(p, metadata) for p in flt.parts)
    have = metadata.get(flt.key, _MISSING)
    op, want = flt.op, flt.value
    if op == "eq":
        return _eq(have, want)
    if op == "ne":
        return not _eq(have, want)
    if op == "in":
        return any(_eq(have, w) for w in want)
    if op == "nin":
        return not any(_eq(have, w) for w in want)
    if op == "exists":
        return bool((have is not _MISSING) == want)
    if op == "contains":
        return isinstance(have, list) and any(_eq(x, want) for x in have)
    return _cmp(have, op, want)


# ---------------------------------------------------------------------- filters -> SQL (shared by the backends)
class SqlDialect(Protocol):
    """What a backend's SQL compiler supplies: the leaf tests; ``to_sql`` composes them."""

    def eq(self, key: str, value: Any) -> tuple[str, list[Any]]:
        """SQL true when ``key``'s value is $eq to ``value`` (null: JSON null or missing); never SQL NULL."""

    def exists(self, key: str, present: bool) -> tuple[str, list[Any]]: ...

    def contains(self, key: str, value: Any) -> tuple[str, list[Any]]: ...

    def compare(self, key: str, op: str, value: Any) -> tuple[str, list[Any]]:
        """``op`` in gt/gte/lt/lte; false (not NULL) when the value has another JSON type or is missing."""

    def in_(self, key: str, values: list[Any]) -> tuple[str, list[Any]]:
        """SQL true when ``key``'s value is $eq to any of ``values``, with a fixed number of parameters however many
        values there are (each JSON type's values passed as one JSON array), so a filter of 10,000 values is one
        short expression, not 10,000 OR-ed tests."""


def _join(parts: list[tuple[str, list[Any]]], word: str) -> tuple[str, list[Any]]:
    """``(p1 word p2 word ...)`` nested as a balanced tree, so the SQL parser's depth grows with log(len(parts)),
    not with len(parts): SQLite refuses expressions more than 1,000 levels deep (a ``$or`` of 1,000 clauses)."""
    if len(parts) <= 2:
        params: list[Any] = []
        for _, p in parts:
            params += p
        return "(" + f" {word} ".join(sql for sql, _ in parts) + ")", params
    mid = len(parts) // 2
    left, right = _join(parts[:mid], word), _join(parts[mid:], word)
    return f"({left[0]} {word} {right[0]})", left[1] + right[1]


def leaf_count(flt: Filter) -> int:
    """How many field tests ``to_sql`` compiles ``flt`` into (after ``$or``/``$and`` tests of one key are merged
    into one ``$in``/``$nin``): what a backend weighs before running a filter as one SQL statement."""
    if isinstance(flt, (All, Any_)):
        return sum(leaf_count(p) for p in _merge_same_key(flt))
    return 1


def _merge_same_key(flt: All | Any_) -> list[Filter]:
    """The parts of a ``$or`` with the equality tests of one key merged into one ``$in`` (``$eq``/``$in``), and of
    a ``$and`` with the inequality tests of one key merged into one ``$nin`` (``$ne``/``$nin``): the same set of
    items, but one indexed membership test instead of thousands of separate ones."""
    op, multi = ("eq", "in") if isinstance(flt, Any_) else ("ne", "nin")
    merged: dict[str, list[Any]] = {}
    rest: list[Filter] = []
    for p in flt.parts:
        if isinstance(p, Cond) and p.op in (op, multi):
            merged.setdefault(p.key, []).extend(p.value if p.op == multi else [p.value])
        else:
            rest.append(p)
    return [Cond(k, multi, v) if len(v) > 1 else Cond(k, op, v[0]) for k, v in merged.items()] + rest


def to_sql(flt: Filter, d: SqlDialect) -> tuple[str, list[Any]]:
    """A SQL boolean expression (and its bound parameters) equal to ``matches(flt, ·)``, built from the dialect's
    leaf tests: ``$ne``/``$nin`` are the negations of ``$eq``/``$in``; ``$and``/``$or`` nest as balanced trees."""
    if isinstance(flt, (All, Any_)):
        parts = _merge_same_key(flt)
        return _join([to_sql(p, d) for p in parts], "AND" if isinstance(flt, All) else "OR")
    key, op, v = flt.key, flt.op, flt.value
    leaf: dict[str, Callable[[], tuple[str, list[Any]]]] = {
        "eq": lambda: d.eq(key, v),
        "in": lambda: d.in_(key, list(v)),
        "exists": lambda: d.exists(key, v),
        "contains": lambda: d.contains(key, v),
    }
    if op in leaf:
        return leaf[op]()
    if op in ("ne", "nin"):
        sql, params = to_sql(Cond(key, "eq" if op == "ne" else "in", v), d)
        return f"NOT {sql}", params
    return d.compare(key, op, v)


# ---------------------------------------------------------------------- why a filter matched nothing
_PLURAL = {"null": "nulls", "bool": "booleans", "number": "numbers", "string": "strings", "array": "lists",
           "object": "objects"}


def keys_of(flt: Filter) -> list[str]:
    """The metadata keys a filter tests, each once, in the order they appear."""
    if isinstance(flt, (All, Any_)):
        return list(dict.fromkeys(k for p in flt.parts for k in keys_of(p)))
    return [flt.key]


def _leaves(flt: Filter) -> list[Cond]:
    if isinstance(flt, (All, Any_)):
        return [c for p in flt.parts for c in _leaves(p)]
    return [flt]


def _text(c: Cond) -> str:
    value = list(c.value) if isinstance(c.value, tuple) else c.value
    shown = value if c.op == "eq" else {f"${c.op}": value}
    return json.dumps({c.key: shown}, ensure_ascii=False)


def _convert(v: Any, have: set[str]) -> str | None:
    """``v`` written as a value of one of the types ``have`` (JSON), where there is an obvious way."""
    if "string" in have and kind(v) in ("number", "bool"):
        return json.dumps(json.dumps(v))
    if isinstance(v, str) and have & {"number", "bool"}:
        try:
            typed = json.loads(v)
        except ValueError:
            return None
        if kind(typed) in have:
            return json.dumps(typed)
    return None


def explain_empty(flt: Filter, types: dict[str, set[str]]) -> list[str]:
    """Why ``flt`` may have matched nothing, from the JSON types the stored metadata holds.

    Parameters
    ----------
    flt : Filter
        A parsed filter that matched no item.
    types : dict of str to set of str
        ``Reader.key_types``'s answer for ``keys_of(flt)``: key → the JSON types (``kind`` names) items hold under
        it, a key no item has left out; other keys of a sample of items, for hints.

    Returns
    -------
    list of str
        One sentence per suspicious test: a key no item has (naming the keys there are), or a comparison with
        values of a type the key never holds (``{"year": {"$gte": 2020}}`` on years stored as strings). Empty when
        the metadata explains nothing (the filter is simply not met).
    """
    notes: list[str] = []
    for c in _leaves(flt):
        values = list(c.value) if c.op in ("in", "nin") else [c.value]
        if c.op in ("ne", "nin") or (c.op == "exists" and not c.value) or (
                c.op in ("eq", "in") and any(v is None for v in values)):
            continue  # these also match items without the key: a missing key explains nothing
        have = types.get(c.key)
        if have is None:
            others = sorted(types)  # the keys items have (those of the filter, and a sample's)
            listed = ", ".join(others[:8]) + ("…" if len(others) > 8 else "")
            close = get_close_matches(c.key, others, n=1)
            notes.append(f"no item has key {c.key!r} ({'keys: ' + listed if others else 'the items have no metadata'})"
                         + (f"; did you mean {close[0]!r}?" if close else ""))
            continue
        if c.op == "exists":
            continue
        if c.op == "contains":
            if "array" not in have:
                notes.append(f"{c.key!r} holds only {_kinds(have)}, never a list; {_text(c)} looks inside lists")
            continue
        wanted = {kind(v) for v in values}
        if wanted & have:
            continue
        fixes = [f for f in (_convert(v, have) for v in values) if f is not None]
        fix = f"write {' or '.join(fixes)}" if fixes else f"compare with {_kinds(have)}"
        notes.append(f"{c.key!r} holds only {_kinds(have)}; {_text(c)} compares {_kinds(wanted)} — {fix} or "
                     "re-import with typed values")
    return list(dict.fromkeys(notes))


def _kinds(kinds: set[str]) -> str:
    names = [_PLURAL[k] for k in sorted(kinds, key=list(_PLURAL).index) if k in _PLURAL]
    return " and ".join(names) if names else "no values"
