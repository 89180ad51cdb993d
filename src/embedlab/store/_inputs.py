"""Checks on what callers hand a Collection, done before anything is written, and content hashes."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from numbers import Number
from typing import Any

import numpy as np

from .._params import check_unicode
from ..errors import InputError
from .filters import check_json_value


def check_ids(ids: Any) -> list[str]:
    """A non-empty list of unique, non-empty string ids (ints are accepted and turned into strings)."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, (Sequence, np.ndarray)):
        raise InputError(f"ids must be a list of strings, got {type(ids).__name__}; wrap a single id in a list")
    if len(ids) == 0:
        raise InputError("no ids given (empty list); pass at least one id")
    if all(type(x) is str and x and not x.isspace() and "\0" not in x for x in ids):  # the common case, fast
        out = list(ids)
        _check_utf8(out, "id")
    else:
        out = []
        for i, x in enumerate(ids):
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, (str, int, np.integer)):
                raise InputError(f"id at position {i} is {type(x).__name__}; ids must be strings")
            s = str(x)
            if not s.strip():
                raise InputError(f"id at position {i} is empty; every item needs a non-empty id")
            if "\0" in s:
                raise InputError(f"id at position {i} contains a NUL character, which the store cannot look up "
                                 "again; remove it")
            out.append(s)
        _check_utf8(out, "id")
    if len(set(out)) != len(out):
        seen, dup = set(), []
        for s in out:
            if s in seen and s not in dup:
                dup.append(s)
            seen.add(s)
        raise InputError(f"duplicate ids in one call: {dup[:5]}; each id may appear once per call")
    return out


def _check_utf8(values: Sequence[str | None], what: str) -> None:
    """Texts must be valid Unicode (no lone surrogates): they are stored as UTF-8."""
    try:
        "".join(v for v in values if v is not None).encode("utf-8")
    except UnicodeEncodeError:
        for i, v in enumerate(values):
            check_unicode(v or "", f"{what} at position {i}")


def check_metadata(metadata: Any, n: int) -> list[str] | None:
    """Metadata as canonical JSON texts (one dict per item), or None when not given. Values must be JSON values
    (finite numbers, integers within 64 bits, valid Unicode) so that filters treat them the same everywhere."""
    if metadata is None:
        return None
    if isinstance(metadata, dict) or not isinstance(metadata, Sequence):
        raise InputError("metadata must be a list with one dict per id")
    if len(metadata) != n:
        raise InputError(f"got {len(metadata)} metadata dicts for {n} ids; pass one per id (or none)")
    out = []
    dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, allow_nan=False).encode
    for i, m in enumerate(metadata):
        m = {} if m is None else m
        if not isinstance(m, dict) or not all(isinstance(k, str) for k in m):
            raise InputError(f"metadata at position {i} must be a dict with string keys, got {type(m).__name__}")
        try:
            if not _flat_and_plain(m):  # nested or unusual values: the full check (64-bit ints, NUL, depth ...)
                m = check_json_value(m)
            out.append(dumps(m))
        except (TypeError, ValueError) as exc:
            raise InputError(f"metadata at position {i} is not JSON-serialisable ({exc})") from None
    _check_utf8(out, "metadata")
    return out


_INT64 = (-(1 << 63), (1 << 63) - 1)


def _flat_and_plain(m: dict[str, Any]) -> bool:
    """The common case, checked quickly: string keys and values that are short-cut-safe scalars (no NUL in any
    text, integers within 64 bits, finite floats). Anything else goes through ``check_json_value``."""
    for k, v in m.items():
        t = type(v)
        if "\0" in k:
            return False
        if t is str:
            if "\0" in v:
                return False
        elif t is int:
            if not _INT64[0] <= v <= _INT64[1]:
                return False
        elif t is float:
            if v != v or v in (float("inf"), float("-inf")):
                return False
        elif not (t is bool or v is None):
            return False
    return True


def check_sources(sources: Any, n: int) -> list[str | None] | None:
    if sources is None:
        return None
    if isinstance(sources, str) or not isinstance(sources, Sequence):
        raise InputError("sources must be a list with one string (or None) per id")
    if len(sources) != n:
        raise InputError(f"got {len(sources)} sources for {n} ids; pass one per id (or none)")
    out = []
    for i, s in enumerate(sources):
        if s is not None and not isinstance(s, (str, os.PathLike)):
            raise InputError(f"source at position {i} must be a string or None, got {type(s).__name__}")
        out.append(None if s is None else str(s))
    _check_utf8(out, "source")
    return out


def check_contents(contents: Any, n: int) -> list[str | None] | None:
    """Contents (the text each item was encoded from) as given, or None when not given."""
    if contents is None:
        return None
    if isinstance(contents, str) or not isinstance(contents, Sequence):
        raise InputError("contents must be a list with one string (or None) per id")
    if len(contents) != n:
        raise InputError(f"got {len(contents)} contents for {n} ids; pass one per id (or none)")
    for i, c in enumerate(contents):
        if c is not None and not isinstance(c, str):
            raise InputError(f"content at position {i} must be a string or None, got {type(c).__name__}")
    _check_utf8(contents, "content")
    return list(contents)


def check_hashes(hashes: Any, n: int) -> list[str | None] | None:
    """Content hashes carried over from an export (one string or None per id), or None when not given."""
    if hashes is None:
        return None
    if isinstance(hashes, str) or not isinstance(hashes, Sequence) or len(hashes) != n:
        raise InputError(f"hashes must be a list with one string (or None) per id ({n})")
    if not all(h is None or (isinstance(h, str) and h.isascii() and len(h) <= 128) for h in hashes):
        raise InputError("hashes must be short ASCII strings (as exported) or None")
    return list(hashes)


def check_items(items: Any, n: int) -> list[Any]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise InputError("items must be a list with one item per id; wrap a single item in a list")
    if len(items) != n:
        raise InputError(f"got {len(items)} items for {n} ids; pass exactly one item per id")
    return list(items)


def item_hash(item: Any, text_only: bool = False) -> str:
    """A content hash of a raw item: the text, the bytes, or a file's bytes for a path (unless ``text_only``)."""
    h = hashlib.sha256()
    if is_text(item, text_only):
        h.update(b"t:" + item.encode("utf-8", "surrogatepass"))
    elif isinstance(item, (str, os.PathLike)):
        h.update(b"f:")
        with open(item, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    elif isinstance(item, bytes):
        h.update(b"b:" + item)
    elif isinstance(item, np.ndarray):
        h.update(b"a:" + str(item.dtype).encode() + str(item.shape).encode() + item.tobytes())
    else:
        try:
            h.update(b"j:" + json.dumps(item, sort_keys=True).encode())
        except (TypeError, ValueError):
            h.update(b"r:" + repr(item).encode())
    return h.hexdigest()[:32]


def is_text(item: Any, text_only: bool) -> bool:
    """Whether a raw item is a text (its own content) rather than a file path: the rule ``item_hash`` uses."""
    return isinstance(item, str) and (text_only or not _is_file(item))


def default_source(item: Any) -> str | None:
    """What to show for an item when no source is given: its text or its path."""
    if isinstance(item, (str, os.PathLike)):
        return str(item)
    return None


def _is_file(s: str) -> bool:
    if len(s) > 4096 or "\n" in s:
        return False
    try:
        return os.path.isfile(s)
    except (OSError, ValueError):
        return False


def is_vector(x: Any) -> bool:
    """Whether ``x`` is one vector: a numeric array, or a non-empty list/tuple of (non-bool) numbers."""
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fiu"
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(
        isinstance(v, Number) and not isinstance(v, bool) for v in x
    )


def check_k(k: Any, name: str = "k") -> int:
    """``k`` (or another count named ``name``) as a positive int; InputError otherwise."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"{name} must be a positive integer, got {k!r}")
    return int(k)


def check_rescore(rescore: Any) -> int:
    """A per-call ``rescore`` factor as an int >= 1; InputError otherwise."""
    if isinstance(rescore, bool) or not isinstance(rescore, (int, np.integer)) or rescore < 1:
        raise InputError(f"rescore must be an integer >= 1 (re-rank rescore x k candidates with the float32 "
                         f"vectors), got {rescore!r}")
    return int(rescore)
