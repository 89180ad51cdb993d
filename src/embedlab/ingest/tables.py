"""Tables: CSV/TSV and JSONL/JSON files, one record per row (a text column, an optional id column; the other
columns become metadata). A row's source is ``path:line N``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import InputError
from .files import read_text_file
from .records import Options, Record

TABLE_EXTENSIONS = (".csv", ".tsv")
JSON_EXTENSIONS = (".jsonl", ".ndjson", ".json")
DEFAULT_TEXT_COLUMNS = ("text", "content", "body")
DEFAULT_ID_COLUMNS = ("id",)


def _pick(columns: Sequence[str], wanted: str | None, defaults: Sequence[str], path: Path, what: str, option: str) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise InputError(
                f"{path} has no {what} column {wanted!r}; its columns are: {', '.join(map(repr, columns))}; "
                f"pick one with {option}"
            )
        return wanted
    return next((c for c in defaults if c in columns), None)


def _need_text_column(path: Path, columns: Sequence[str], opts: Options) -> str:
    col = _pick(columns, opts.text_column, DEFAULT_TEXT_COLUMNS, path, "text", "--text-column")
    if col is None:
        head = (f"{path} has no text column named {' / '.join(DEFAULT_TEXT_COLUMNS)}; its columns are: "
                f"{', '.join(map(repr, columns))}; name the one to embed with --text-column")
        raise InputError(f"{head} (text_column=)", cli=head)
    return col


def _row_record(path: Path, where: str, row: dict[str, Any], text_col: str, id_col: str | None,
                n: int, skipped: list[str]) -> Record | None:
    text = row.get(text_col)
    if text is None or (isinstance(text, str) and not text.strip()):
        skipped.append(f"{path}:{where} (empty {text_col!r})")
        return None
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False) if isinstance(text, (dict, list)) else str(text)
    if id_col is not None:
        raw = row.get(id_col)
        if raw is None or str(raw).strip() == "":
            raise InputError(f"{path}:{where} has an empty id in column {id_col!r}; fill it in or drop the row")
        rid = str(raw).strip()
    else:
        rid = f"{path.stem}:{n}"
    meta = {k: v for k, v in row.items() if k not in (text_col, id_col) and k is not None}
    return Record(rid, text, meta, f"{path}:{where}")


def read_csv(path: Path, opts: Options, skipped: list[str]) -> Iterator[Record]:
    """The records of a CSV (or, by extension, TSV) file's rows.

    Parameters
    ----------
    path : Path
        The file.
    opts : Options
        The reading options (text and id columns, encoding).
    skipped : list of str
        Receives the rows left out (an empty text).

    Yields
    ------
    Record
        One per row, with the source ``path:line N``.

    Raises
    ------
    InputError
        For a missing column, a duplicate or empty id, or a file that is not valid CSV.
    """
    text = read_text_file(path, opts.encoding, opts.errors)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        columns = [c for c in (reader.fieldnames or []) if c is not None]
    except csv.Error as exc:
        raise InputError(f"{path} is not valid CSV: {exc}") from None
    if not columns:
        raise InputError(f"{path} has no header row; the first line must name the columns")
    text_col = _need_text_column(path, columns, opts)
    id_col = _pick(columns, opts.id_column, DEFAULT_ID_COLUMNS, path, "id", "--id-column")
    n = 0
    ids: dict[str, int] = {}
    try:
        for n, row in enumerate(reader, start=1):
            line = reader.line_num
            row.pop(None, None)  # cells beyond the header
            rec = _row_record(path, f"line {line}", row, text_col, id_col, n, skipped)
            if rec is None:
                continue
            if rec.id in ids:
                raise InputError(
                    f"duplicate id {rec.id!r} in {path} (lines {ids[rec.id]} and {line}); ids must be unique"
                )
            ids[rec.id] = line
            yield rec
    except csv.Error as exc:
        raise InputError(f"{path} line {reader.line_num} is not valid CSV: {exc}") from None
    if n == 0:
        raise InputError(f"{path} has a header but no rows; add rows to index")


def _json_rows(path: Path, opts: Options) -> Iterator[tuple[int, Any]]:
    text = read_text_file(path, opts.encoding, opts.errors)
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
        yield from enumerate(rows, start=1)
        return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path} line {lineno} is not valid JSON ({exc.msg} at column {exc.colno}); "
                "JSONL needs one JSON object per line"
            ) from None


def read_json(path: Path, opts: Options, skipped: list[str]) -> Iterator[Record]:
    """The records of a JSONL file's lines (or of a ``.json`` file's top-level array).

    Parameters
    ----------
    path : Path
        The file.
    opts : Options
        The reading options (text and id columns, encoding).
    skipped : list of str
        Receives the rows left out (an empty text).

    Yields
    ------
    Record
        One per object, with the source ``path:line N``.

    Raises
    ------
    InputError
        For a missing column, a duplicate or empty id, or a line that is not a JSON object.
    """
    ids: dict[str, int] = {}
    n = 0
    for lineno, row in _json_rows(path, opts):
        n += 1
        if not isinstance(row, dict):
            raise InputError(f"{path} line {lineno} is a JSON {type(row).__name__}, expected an object {{...}}")
        columns = list(row)
        if opts.text_column is not None and opts.text_column not in row:
            raise InputError(
                f"{path} line {lineno} has no text column {opts.text_column!r}; its columns are: "
                f"{', '.join(map(repr, columns))}; pick one with --text-column"
            )
        if opts.id_column is not None and opts.id_column not in row:
            raise InputError(
                f"{path} line {lineno} has no id column {opts.id_column!r}; its columns are: "
                f"{', '.join(map(repr, columns))}; pick one with --id-column"
            )
        text_col = _need_text_column(path, columns, opts)
        id_col = _pick(columns, opts.id_column, DEFAULT_ID_COLUMNS, path, "id", "--id-column")
        rec = _row_record(path, f"line {lineno}", row, text_col, id_col, n, skipped)
        if rec is None:
            continue
        if rec.id in ids:
            raise InputError(f"duplicate id {rec.id!r} in {path} (lines {ids[rec.id]} and {lineno}); ids must be unique")
        ids[rec.id] = lineno
        yield rec
    if n == 0:
        raise InputError(f"{path} has no JSON rows; it is empty")

