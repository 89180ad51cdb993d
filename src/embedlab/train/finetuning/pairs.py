"""Training pairs for fine-tuning: read them, clean them, split them.

A pair is a query and its positive (the text it should find), optionally with negatives (texts it must not find)
or a similarity score (for CoSENT). Files: JSONL (``{"query", "positive"}`` plus ``"negative"`` / ``"negatives"``
/ ``"score"``), CSV or TSV with those column names in a header row, or two aligned text files (line i of the first
is the query of line i of the second).

    >>> found = read_pairs("pairs.jsonl")             # Pairs(pairs=[...], duplicates=3, ...)
    >>> train, val = split_pairs(found.pairs, val_fraction=0.1, seed=1)   # no text in both
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import InputError

__all__ = ["Pair", "Pairs", "read_pairs", "split_pairs", "as_pairs"]

QUERY_COLUMNS = ("query", "anchor")
POSITIVE_COLUMNS = ("positive", "document", "passage")


@dataclass(frozen=True)
class Pair:
    """One training example: ``query`` should score ``positive`` above every other text (and above
    ``negatives``); ``score`` in [0, 1] instead marks a graded pair (CoSENT)."""

    query: str
    positive: str
    negatives: tuple[str, ...] = ()
    score: float | None = None


@dataclass
class Pairs:
    """What ``read_pairs`` kept and what it dropped (each dropped line counted once)."""

    pairs: list[Pair]
    read: int = 0
    duplicates: int = 0
    sources: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {"read": self.read, "kept": len(self.pairs), "duplicates_dropped": self.duplicates,
                "files": self.sources}


def _text(value: Any, where: str, column: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{where}: {column!r} must be a string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise InputError(f"{where}: {column!r} is empty; every pair needs a non-empty query and positive")
    return text


def _pair_from_record(rec: dict[str, Any], where: str) -> Pair:
    q_col = next((c for c in QUERY_COLUMNS if c in rec), None)
    p_col = next((c for c in POSITIVE_COLUMNS if c in rec), None)
    if q_col is None or p_col is None:
        missing = "query" if q_col is None else "positive"
        raise InputError(f"{where}: no {missing!r} column (found {sorted(rec)}); pairs need 'query' and 'positive' "
                         "(optional: 'negative', 'negatives', 'score')")
    query, positive = _text(rec[q_col], where, q_col), _text(rec[p_col], where, p_col)
    negs: list[str] = []
    if rec.get("negative") not in (None, ""):
        negs.append(_text(rec["negative"], where, "negative"))
    extra = rec.get("negatives")
    if extra not in (None, ""):
        if isinstance(extra, str):  # CSV/TSV: one cell, '|' between texts
            extra = [t for t in extra.split("|") if t.strip()]
        if not isinstance(extra, list):
            raise InputError(f"{where}: 'negatives' must be a list of strings")
        negs.extend(_text(t, where, "negatives") for t in extra)
    score = rec.get("score")
    if score in ("", None):
        score = None
    else:
        try:
            score = float(score)
        except (TypeError, ValueError):
            raise InputError(f"{where}: 'score' must be a number in [0, 1], got {score!r}") from None
        if not 0.0 <= score <= 1.0:
            raise InputError(f"{where}: 'score' must be in [0, 1], got {score}")
    if query == positive:
        raise InputError(f"{where}: the query equals its positive ({query[:60]!r}); such a pair teaches nothing — "
                         "remove it or give the real text it should find")
    return Pair(query, positive, tuple(negs), score)


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text("utf-8-sig")  # a byte-order mark (Windows editors) is not part of the text
    except FileNotFoundError:
        raise InputError(f"pairs file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte offset {exc.start})") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if not text.strip():
        raise InputError(f"pairs file {path} is empty; give one pair per line")
    return text.splitlines()


def _records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    lines = _read_lines(path)
    suffix = path.suffix.lower()
    out: list[tuple[str, dict[str, Any]]] = []
    if suffix in (".jsonl", ".json", ".ndjson"):
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{n}: not a JSON object ({exc.msg}); write one "
                                 '{"query": ..., "positive": ...} per line') from None
            if not isinstance(rec, dict):
                raise InputError(f"{path}:{n}: expected a JSON object, got {type(rec).__name__}")
            out.append((f"{path}:{n}", rec))
        return out
    if suffix in (".csv", ".tsv"):
        rows = csv.DictReader(lines, delimiter="\t" if suffix == ".tsv" else ",")
        if not rows.fieldnames:
            raise InputError(f"{path} has no header row; the first row must name the columns (query, positive)")
        for n, row in enumerate(rows, 2):
            if None in row:
                raise InputError(f"{path}:{n}: more cells than header columns")
            out.append((f"{path}:{n}", {k.strip(): v for k, v in row.items() if k is not None}))
        return out
    raise InputError(f"{path}: unknown pairs format {suffix or '(no suffix)'!r}; use .jsonl, .csv, .tsv, or two "
                     "aligned text files (queries, positives)")


def read_pairs(path: str | Path, positives: str | Path | None = None) -> Pairs:
    """Read pairs from ``path`` (JSONL/CSV/TSV) or from two aligned text files (``path`` = queries, ``positives``
    = their positives). Exact duplicate pairs are dropped and counted; InputError for empty files, missing
    columns, empty texts, a query equal to its positive, or files of different lengths."""
    first = Path(path).expanduser()
    if positives is not None:
        second = Path(positives).expanduser()
        qs, ps = _read_lines(first), _read_lines(second)
        while qs and not qs[-1].strip():
            qs.pop()
        while ps and not ps[-1].strip():
            ps.pop()
        if len(qs) != len(ps):
            raise InputError(f"{first} has {len(qs)} lines but {second} has {len(ps)}; aligned files need one "
                             "positive per query, line by line")
        records = [(f"{first}:{n}", {"query": q, "positive": p}) for n, (q, p) in enumerate(zip(qs, ps, strict=True), 1)]
        sources = [str(first), str(second)]
    else:
        records = _records(first)
        sources = [str(first)]
    if not records:
        raise InputError(f"{first} holds no pairs")
    return _dedupe([_pair_from_record(rec, where) for where, rec in records], sources)


def as_pairs(items: Sequence[Any]) -> Pairs:
    """Pairs from Python objects: ``Pair``, ``(query, positive)`` tuples or dicts as in JSONL."""
    out = []
    for i, item in enumerate(items):
        where = f"pair {i}"
        if isinstance(item, Pair):
            out.append(_pair_from_record({"query": item.query, "positive": item.positive,
                                          "negatives": list(item.negatives), "score": item.score}, where))
        elif isinstance(item, dict):
            out.append(_pair_from_record(item, where))
        elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
            rec = {"query": item[0], "positive": item[1]}
            if len(item) == 3:
                rec["negative"] = item[2]
            out.append(_pair_from_record(rec, where))
        else:
            raise InputError(f"{where}: expected a Pair, a dict or a (query, positive) tuple, got {item!r:.60}")
    if not out:
        raise InputError("no pairs given")
    return _dedupe(out, [])


def _dedupe(pairs: list[Pair], sources: list[str]) -> Pairs:
    seen: set[tuple[str, str]] = set()
    kept: list[Pair] = []
    for p in pairs:
        key = (p.query, p.positive)
        if key in seen:
            continue
        seen.add(key)
        kept.append(p)
    return Pairs(kept, read=len(pairs), duplicates=len(pairs) - len(kept), sources=sources)


def split_pairs(pairs: Sequence[Pair], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """A seeded train/validation split in which no text (query, positive or negative) appears on both sides:
    pairs that share a text form a group, and groups go whole to one side. InputError when either side would be
    empty (too few pairs, or one group holding everything)."""
    if not 0.0 < float(val_fraction) < 1.0:
        raise InputError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    n = len(pairs)
    if n < 2:
        raise InputError(f"{n} pair(s) cannot be split into training and validation; give at least 2")
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, p in enumerate(pairs):
        for text in (p.query, p.positive, *p.negatives):
            j = owner.setdefault(text, i)
            if j != i:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    order = sorted(groups.values())
    random.Random(seed).shuffle(order)
    want = int(n * float(val_fraction) + 1e-9)
    if want < 1:
        said = f"the validation split would be empty: {n} pairs x {{}} {val_fraction} is under one pair; give more " \
               "pairs or a larger {}"
        raise InputError(said.format("val_fraction", "val_fraction"), cli=said.format("--val-fraction", "--val-fraction"))
    val_idx: list[int] = []
    for g in order:
        if len(val_idx) >= want:
            break
        if len(val_idx) + len(g) >= n:  # would leave nothing to train on
            continue
        val_idx.extend(g)
    if not val_idx:
        said = (f"the validation split would be empty: the {n} pairs share texts so that they form {len(order)} "
                "group(s) that cannot be separated; add more distinct pairs or raise ")
        raise InputError(said + "val_fraction", cli=said + "--val-fraction")
    chosen = set(val_idx)
    return [p for i, p in enumerate(pairs) if i not in chosen], [pairs[i] for i in sorted(chosen)]
