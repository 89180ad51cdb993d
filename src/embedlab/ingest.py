"""Read sources into records ``(id, item, metadata, source)`` ready for a Collection.

Sources: plain text files (id = file stem), folders (recursive: ``.txt``/``.md``, plus image or audio files
when the encoder takes those modalities, given by path), CSV/TSV and JSONL/JSON (a text column and an optional
id column; the other columns become metadata). Each record's ``source`` is the file's resolved absolute path (a
table row's: ``path:line N``), whatever folder the command ran in, so that a later ``--sync`` compares like with
like; ``resolve_legacy_source`` reads the relative sources older versions stored. Bad input fails early with an
error that says what to do:

    >>> recs = read_sources(["notes/", "products.csv"], text_column="description", id_column="sku")
    >>> recs[0].id, recs[0].metadata
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .errors import InputError

TEXT_EXTENSIONS = (".txt", ".md")
TABLE_EXTENSIONS = (".csv", ".tsv")
JSON_EXTENSIONS = (".jsonl", ".ndjson", ".json")
MEDIA_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image": (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"),
    "audio": (".wav", ".flac", ".ogg", ".oga", ".mp3", ".opus", ".aiff", ".aif"),
}
DEFAULT_TEXT_COLUMNS = ("text", "content", "body")
DEFAULT_ID_COLUMNS = ("id",)


class Record(NamedTuple):
    """One item to index: ``item`` is the text, or a ``Path`` for an image/audio file."""

    id: str
    item: str | Path
    metadata: dict[str, Any]
    source: str


class UnreadableFileError(InputError):
    """One input file cannot be read as what it should be (binary, undecodable, unreadable, empty media); in a
    folder or a list of sources it is skipped with this message unless ``strict``."""


@dataclass
class Ingested:
    """The records read from some sources, plus what was skipped and why (iterate it like a list)."""

    records: list[Record] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> Record:
        return self.records[i]


def read_sources(
    paths: Iterable[str | Path] | str | Path,
    *,
    modalities: Sequence[str] = ("text",),
    text_column: str | None = None,
    id_column: str | None = None,
    encoding: str = "utf-8",
    errors: str = "strict",
    strict: bool = False,
) -> Ingested:
    """Read every source into records; ids must be unique across all of them.

    ``modalities`` (usually ``encoder.modalities``) decides which files of a folder are taken. ``encoding`` and
    ``errors`` (``"strict"``, or ``"replace"`` to keep going past bad bytes) apply to every text file. A file
    that cannot be read (binary, not valid text in ``encoding``, no permission, empty media) is skipped and
    listed in ``skipped`` with its reason and the option that would read it; ``strict=True`` raises instead.
    Every path given is resolved first (``Path.resolve``: absolute, symbolic links followed), so records'
    sources and media items are absolute paths under it, the same from any current folder.
    InputError when nothing at all could be read.
    """
    named = [paths] if isinstance(paths, (str, Path)) else list(paths)
    given = [Path(p).expanduser() for p in named]
    if not given:
        raise InputError("no sources given; pass files or folders to read")
    opts = _Options(tuple(modalities), text_column, id_column, encoding, errors, bool(strict))
    out = Ingested()
    seen: dict[str, str] = {}
    for path in given:
        where = path.resolve() if path.exists() else path  # a missing path is reported as it was given
        for rec in _skipping(_read_path(where, opts, out.skipped), opts, out.skipped):
            if rec.id in seen:
                raise InputError(
                    f"duplicate id {rec.id!r}: in {seen[rec.id]} and in {rec.source}; ids must be unique, so rename "
                    "one of them (or pick another --id-column), or index them into separate collections"
                )
            seen[rec.id] = rec.source
            out.records.append(rec)
    if not out.records:
        why = f" (skipped: {'; '.join(out.skipped[:5])})" if out.skipped else ""
        raise InputError(f"no items found in {', '.join(map(str, given))}{why}")
    return out


def read_text_file(path: str | Path, encoding: str = "utf-8", errors: str = "strict") -> str:
    """The decoded text of a file, with clear errors for binary content and bytes that do not decode."""
    path = Path(path)
    data = _read_bytes(path)
    if not data.strip():
        raise UnreadableFileError(f"{path} is empty; add some text to it or leave it out")
    return _decode(path, data, encoding, errors)


_ROW_SUFFIX = re.compile(r":line \d+\Z")


def source_file(source: str | None) -> Path | None:
    """The file a record's ``source`` names, as an absolute path (relative ones resolved against the current
    folder; a table row's ``path:line N`` gives ``path``); None for an item without a source.

    Parameters
    ----------
    source : str or None
        A stored source.

    Returns
    -------
    Path or None
        The file's absolute path.
    """
    if not source:
        return None
    return Path(os.path.abspath(_ROW_SUFFIX.sub("", source)))


def within(path: Path, roots: Iterable[str | Path]) -> bool:
    """Whether ``path`` (absolute, as from ``source_file``) is one of ``roots`` or lies inside one of them.

    Parameters
    ----------
    path : Path
        An absolute path.
    roots : iterable of str or Path
        Files and folders, resolved here as ``read_sources`` resolves the paths it reads.

    Returns
    -------
    bool
        True when ``path`` is a root or lies below one.
    """
    for root in roots:
        top = Path(root).expanduser().resolve()
        if path == top or top in path.parents:
            return True
    return False


def is_legacy_source(source: str | None) -> bool:
    """Whether a stored source is a relative path: written by an embedlab that stored sources as given, relative
    to the folder the command ran in (which was not recorded), before sources were stored resolved.

    Parameters
    ----------
    source : str or None
        A stored source.

    Returns
    -------
    bool
        True for a relative path (a table row's ``path:line N`` by its path).
    """
    return bool(source) and not Path(_ROW_SUFFIX.sub("", str(source))).is_absolute()


def resolve_legacy_source(source: str, roots: Iterable[str | Path] = (), now: str | None = None) -> str | None:
    """The resolved form of a relative source stored by an older embedlab, or None when it cannot be told.

    The folder such a source was relative to was not recorded, so it is matched, in this order, to:

    1. ``now``, the source the same item is read from this time, when that file's path ends with the stored one
       (``notes/a.txt`` stored from the parent folder, or ``a.txt`` stored from inside ``notes/``, both match
       ``/home/me/notes/a.txt``; leading ``./`` and ``../`` are ignored);
    2. else the first file that exists among the stored path taken relative to the current folder, to each of
       ``roots`` and to each folder above a root, keeping only those that lie inside a root.

    A table row keeps its stored ``:line N``.

    Parameters
    ----------
    source : str
        A relative stored source (``is_legacy_source``).
    roots : iterable of str or Path
        The files and folders being read or synced.
    now : str or None
        The source the same id is read from this time, if it is.

    Returns
    -------
    str or None
        The resolved absolute source, or None when nothing matches (the file is gone, or lies outside the roots).
    """
    row = _ROW_SUFFIX.search(source)
    suffix = row.group(0) if row else ""
    path = Path(os.path.normpath(source[: len(source) - len(suffix)]))
    tail = tuple(part for part in path.parts if part not in (".", ".."))
    if not tail:
        return None
    if now:
        file = source_file(now)
        if file is not None and file.parts[-len(tail):] == tail:
            return f"{file}{suffix}"
    tops = [Path(r).expanduser().resolve() for r in roots]
    bases = [Path.cwd() / path]
    for top in tops:
        bases += [a.joinpath(*tail) for a in ([top] if top.is_dir() else []) + list(top.parents)]
    for candidate in bases:
        file = Path(os.path.normpath(candidate))  # the roots are resolved: a symbolic link below them stays one
        if any(file == top or top in file.parents for top in tops) and file.exists():
            return f"{file}{suffix}"
    return None


# --------------------------------------------------------------------------- internals
class _Options(NamedTuple):
    modalities: tuple[str, ...]
    text_column: str | None
    id_column: str | None
    encoding: str
    errors: str
    strict: bool = False


def _skipping(records: Iterator[Record], opts: _Options, skipped: list[str]) -> Iterator[Record]:
    """Records of one explicitly named source; an unreadable file is skipped (listed) unless strict."""
    try:
        yield from records
    except UnreadableFileError as exc:
        if opts.strict:
            raise
        skipped.append(str(exc))


def _media_kind(path: Path, modalities: Sequence[str]) -> str | None:
    ext = path.suffix.lower()
    for kind, exts in MEDIA_EXTENSIONS.items():
        if ext in exts and kind in modalities:
            return kind
    return None


def _any_media_kind(path: Path) -> str | None:
    return _media_kind(path, tuple(MEDIA_EXTENSIONS))


def _read_path(path: Path, opts: _Options, skipped: list[str]) -> Iterator[Record]:
    if not path.exists():
        hint = ""
        if path.parent.is_dir():
            near = sorted(p.name for p in path.parent.iterdir() if p.name.lower().startswith(path.name[:3].lower()))
            hint = f" (similar names there: {', '.join(near[:5])})" if near else ""
        raise InputError(f"{path} does not exist; check the path{hint}")
    if path.is_dir():
        yield from _read_folder(path, opts, skipped)
        return
    ext = path.suffix.lower()
    if ext in TABLE_EXTENSIONS:
        yield from _read_csv(path, opts, skipped)
    elif ext in JSON_EXTENSIONS:
        yield from _read_json(path, opts, skipped)
    elif media := _media_kind(path, opts.modalities):
        yield _media_record(path, media, path.parent)
    elif kind := _any_media_kind(path):
        raise InputError(
            f"{path} is an {kind} file, but this encoder takes {'/'.join(opts.modalities)} only; "
            f"use an encoder for {kind} (see `embedlab encoders`) or index text files"
        )
    elif "text" not in opts.modalities:
        media = ", ".join(e for m in opts.modalities for e in MEDIA_EXTENSIONS.get(m, ()))
        raise InputError(f"{path} is not a file this encoder reads ({'/'.join(opts.modalities)}: {media}); "
                         "pass such files or a folder of them, or pick a text encoder for text")
    else:  # an explicitly named file is read as text whatever its extension
        yield _text_record(path, path.parent, opts)


def _read_folder(root: Path, opts: _Options, skipped: list[str]) -> Iterator[Record]:
    found = 0
    other: dict[str, int] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        ext = path.suffix.lower()
        kind = _media_kind(path, opts.modalities)
        try:
            if kind:
                found += 1
                rec = _media_record(path, kind, root)
            elif ext in TEXT_EXTENSIONS and "text" in opts.modalities:
                if path.stat().st_size == 0 or not _read_bytes(path).strip():
                    skipped.append(f"{path} (empty)")
                    continue
                found += 1
                rec = _text_record(path, root, opts)
            else:
                other[ext or "(no extension)"] = other.get(ext or "(no extension)", 0) + 1
                continue
        except UnreadableFileError as exc:  # one bad file does not stop the others
            if opts.strict:
                raise
            skipped.append(str(exc))
            continue
        yield rec
    if other:
        skipped.append(f"{sum(other.values())} file(s) in {root} with other extensions ({', '.join(sorted(other))})")
    if not found:
        wanted = list(TEXT_EXTENSIONS) if "text" in opts.modalities else []
        wanted += [e for m in opts.modalities for e in MEDIA_EXTENSIONS.get(m, ())]
        raise InputError(
            f"folder {root} has no files to index (looked for {', '.join(wanted)} recursively); "
            "pass CSV/JSONL files directly, or pick an encoder for the files it holds"
        )


def _folder_meta(path: Path, root: Path) -> dict[str, Any]:
    rel = path.relative_to(root)
    meta: dict[str, Any] = {"file": rel.as_posix()}
    if len(rel.parts) > 1:
        meta["folder"] = rel.parent.as_posix()
    return meta


def _text_record(path: Path, root: Path, opts: _Options) -> Record:
    text = read_text_file(path, opts.encoding, opts.errors)
    return Record(path.stem, text, _folder_meta(path, root), str(path))


def _media_record(path: Path, kind: str, root: Path) -> Record:
    if path.stat().st_size == 0:
        raise UnreadableFileError(f"{path} is empty (0 bytes); remove it or replace it with a real {kind} file")
    meta = _folder_meta(path, root)
    meta["modality"] = kind
    return Record(path.stem, path, meta, str(path))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError:
        raise UnreadableFileError(f"cannot read {path}: permission denied; check its permissions") from None
    except IsADirectoryError:  # pragma: no cover - folders are handled before
        raise InputError(f"{path} is a folder") from None


def _decode(path: Path, data: bytes, encoding: str, errors: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and encoding.replace("-", "").lower() == "utf8":
        encoding = "utf-16"  # a UTF-16 file with its byte-order mark: decode it rather than reject it
    elif b"\x00" in data[:8192] and "16" not in encoding and "32" not in encoding:
        at = data.index(b"\x00")
        kind = _any_media_kind(path)
        what = f"an {kind} file" if kind else "a binary file"
        raise UnreadableFileError(
            f"{path} looks like {what}, not text (NUL byte at offset {at}); pass text files (.txt, .md), "
            "CSV or JSONL, or an encoder made for this kind of file"
        )
    try:
        text = data.decode(encoding, errors=errors)
    except LookupError:
        raise InputError(f"unknown text encoding {encoding!r}; use a Python codec name such as utf-8, cp949, latin-1") from None
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 4].hex(" ")
        if encoding.replace("-", "").replace("_", "").lower() not in ("utf8", "utf8sig"):
            raise UnreadableFileError(
                f"{path} is not valid {encoding} text: undecodable bytes ({bad}) at byte offset {exc.start}; find "
                f"its real encoding (e.g. `file -i {path}`) and pass that with --encoding (encoding=) in a separate "
                "run (the encoding applies to every input), or use --encoding-errors replace (errors='replace')"
            ) from None
        raise UnreadableFileError(
            f"{path} is not valid {encoding} text: undecodable bytes ({bad}) at byte offset {exc.start}; "
            f"convert it first (e.g. `iconv -f CP949 -t UTF-8 {path} > {path.stem}.utf8{path.suffix}`), "
            "or read it with --encoding CP949 (encoding='cp949'), or --encoding-errors replace (errors='replace') "
            "to substitute the bad bytes"
        ) from None
    return text.lstrip("\ufeff")


def _pick(columns: Sequence[str], wanted: str | None, defaults: Sequence[str], path: Path, what: str, option: str) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise InputError(
                f"{path} has no {what} column {wanted!r}; its columns are: {', '.join(map(repr, columns))}; "
                f"pick one with {option}"
            )
        return wanted
    return next((c for c in defaults if c in columns), None)


def _need_text_column(path: Path, columns: Sequence[str], opts: _Options) -> str:
    col = _pick(columns, opts.text_column, DEFAULT_TEXT_COLUMNS, path, "text", "--text-column")
    if col is None:
        raise InputError(
            f"{path} has no text column named {' / '.join(DEFAULT_TEXT_COLUMNS)}; its columns are: "
            f"{', '.join(map(repr, columns))}; name the one to embed with --text-column (text_column=)"
        )
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


def _read_csv(path: Path, opts: _Options, skipped: list[str]) -> Iterator[Record]:
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


def _json_rows(path: Path, opts: _Options) -> Iterator[tuple[int, Any]]:
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


def _read_json(path: Path, opts: _Options, skipped: list[str]) -> Iterator[Record]:
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

