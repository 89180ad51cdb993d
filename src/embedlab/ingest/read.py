"""`read_sources`: files, folders and tables into records, ids unique across all of them, exact duplicates of
content left out (and counted), with a progress bar of files/s and pages/s."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from .._progress import progress_bar
from ..documents import UnreadableFileError
from ..errors import InputError, Said, close_names
from .files import (
    MEDIA_EXTENSIONS,
    Tick,
    any_media_kind,
    classify,
    media_kind,
    read_file,
    read_folder,
    visible_files,
)
from .records import Ingested, Options, Record
from .sources import whole_file
from .tables import JSON_EXTENSIONS, TABLE_EXTENSIONS, read_csv, read_json


def read_sources(
    paths: Iterable[str | Path] | str | Path,
    *,
    modalities: Sequence[str] = ("text",),
    text_column: str | None = None,
    id_column: str | None = None,
    encoding: str = "utf-8",
    errors: str = "strict",
    strict: bool = False,
    progress: bool = False,
    roots: Mapping[str | Path, str | Path] | None = None,
) -> Ingested:
    """Read every source into records; ids must be unique across all of them.

    A file's id is its path relative to the folder given (``a/readme.txt``; a file given by itself: its name, or
    its path relative to its ``roots`` entry), so files of the same name in different subfolders coexist.
    ``modalities`` (usually ``encoder.modalities``) decides
    which files of a folder are taken: text (``.txt``, ``.md``), documents (PDF, HTML, Word ``.docx``, EPUB, told
    by content; the ``documents`` extra), and image or audio files when the encoder takes those. ``encoding`` and
    ``errors`` (``"strict"``, or ``"replace"`` to keep going past bad bytes) apply to every text file (to an
    HTML page only when it declares no charset). A file that cannot be read (binary, not valid text in
    ``encoding``, no permission, empty media, an encrypted, damaged or scanned document) is skipped and listed in
    ``skipped`` with its reason and what would read it; ``strict=True`` raises instead. A file whose content
    (text, or media bytes) repeats one read before is left out and listed in ``duplicates``. Every path given is
    resolved first (``Path.resolve``: absolute, symbolic links followed), so records' sources and media items
    are absolute paths under it, the same from any current folder.

    Parameters
    ----------
    paths : str, Path or iterable of them
        Files and folders (CSV/TSV and JSONL/JSON files are read as tables: one record per row).
    modalities : sequence of str
        What the encoder takes.
    text_column, id_column : str or None
        The table columns to embed and to take ids from (default ``text``/``content``/``body`` and ``id``).
    encoding : str
        Text encoding of the text files.
    errors : str
        ``"strict"`` or ``"replace"``.
    strict : bool
        Raise at the first file that cannot be read instead of skipping it.
    progress : bool
        Show a progress bar (files/s, pages/s) on a terminal's stderr.
    roots : mapping or None
        For a file given by itself (a key: the path as given in ``paths``, or resolved), the folder its id and
        ``file`` / ``folder`` metadata are relative to instead of its own folder: ``{"notes/sub/a.md": "notes"}``
        keys it ``sub/a.md``, as indexing ``notes/`` does. Folders and tables given are not affected.

    Returns
    -------
    Ingested
        The records, and the skipped sources, duplicates, notes and pages read.

    Raises
    ------
    InputError
        When nothing at all could be read, a path does not exist, two records have one id, or a root of ``roots``
        is not a folder above its file.
    UnreadableFileError
        With ``strict``, for the first file that cannot be read.
    """
    named = [paths] if isinstance(paths, (str, Path)) else list(paths)
    given = [Path(p).expanduser() for p in named]
    if not given:
        raise InputError("no sources given; pass files or folders to read")
    out = Ingested()
    seen: dict[str, str] = {}
    contents: dict[str, str] = {}
    where = [p.resolve() if p.exists() else p for p in given]  # a missing path is reported as it was given
    opts = Options(tuple(modalities), text_column, id_column, encoding, errors, bool(strict),
                   _roots(roots or {}, given, where))
    listings = {p: visible_files(p) for p in where if p.is_dir()}
    total = sum(len(listings.get(p, ())) or 1 for p in where)
    start = time.monotonic()
    with progress_bar(total, "reading", unit="file", enabled=progress) as bar:

        def tick(pages: int) -> None:
            out.pages += pages
            bar.update(1)
            if out.pages:
                rate = out.pages / max(time.monotonic() - start, 1e-9)
                bar.set_postfix_str(f"{out.pages:,} pages, {rate:,.1f} pages/s", refresh=False)

        for path in where:
            records = _read_path(path, opts, out, listings.get(path), tick)
            for rec in _skipping(records, opts, out.skipped):
                if whole_file(rec):
                    digest = _digest(rec)
                    if digest in contents:
                        out.duplicates.append((rec.source, contents[digest]))
                        continue
                    contents[digest] = rec.source
                if rec.id in seen:
                    raise InputError(
                        f"duplicate id {rec.id!r}: in {seen[rec.id]} and in {rec.source}; ids must be unique (a "
                        "file's id is its path relative to the folder given), so index the folder that holds both "
                        "(or pick another --id-column for tables), rename one, or index them into separate "
                        "collections"
                    )
                seen[rec.id] = rec.source
                out.records.append(rec)
    if not out.records:
        why = f" (skipped: {'; '.join(out.skipped[:5])})" if out.skipped else ""
        if out.duplicates and not out.skipped:
            why = f" ({len(out.duplicates)} duplicate(s) of content read before)"
        raise InputError(f"no items found in {', '.join(map(str, given))}{why}")
    return out


def _roots(roots: Mapping[str | Path, str | Path], given: list[Path], where: list[Path]) -> dict[Path, Path]:
    """``roots`` by resolved file, each checked to be a folder above its file."""
    by_given = {str(g): w for g, w in zip(given, where, strict=True)} | {str(w): w for w in where}
    out: dict[Path, Path] = {}
    for path, root in roots.items():
        file = by_given.get(str(Path(path).expanduser()))
        if file is None or not file.is_file():
            raise InputError(f"roots names {path}, which is not a file given to read")
        top = Path(root).expanduser().resolve()
        if not file.is_relative_to(top) or file == top:
            raise InputError(f"roots gives {file} the root {top}, which is not a folder above it")
        out[file] = top
    return out


def _digest(rec: Record) -> str:
    """The content hash duplicates are found by: the text read, or a media file's bytes."""
    h = hashlib.sha256()
    if isinstance(rec.item, str):
        h.update(b"t:" + rec.item.encode("utf-8", "surrogatepass"))
    else:
        h.update(b"f:")
        with open(rec.item, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _skipping(records: Iterator[Record], opts: Options, skipped: list[str]) -> Iterator[Record]:
    """Records of one explicitly named source; an unreadable file is skipped (listed) unless strict."""
    try:
        yield from records
    except UnreadableFileError as exc:
        if opts.strict:
            raise
        skipped.append(Said(exc))  # with its CLI phrasing


def _read_path(path: Path, opts: Options, out: Ingested, files: list[Path] | None, tick: Tick) -> Iterator[Record]:
    if not path.exists():
        hint = ""
        if path.parent.is_dir():
            names = [p.name for p in path.parent.iterdir()]
            close = close_names(path.name, names)  # misspelt (difflib), then those sharing its first letters
            near = list(dict.fromkeys(close + sorted(n for n in names if n.lower().startswith(path.name[:3].lower()))))
            hint = f" (similar names there: {', '.join(near[:5])})" if near else ""
        raise InputError(f"{path} does not exist; check the path{hint}")
    if path.is_dir():
        yield from read_folder(path, files if files is not None else visible_files(path), opts, out.skipped,
                               out.notes, tick)
        return
    try:
        yield from _read_file(path, opts, out)
    finally:
        tick(0)  # its pages are counted by _read_file


def _read_file(path: Path, opts: Options, out: Ingested) -> Iterator[Record]:
    ext = path.suffix.lower()
    if ext in TABLE_EXTENSIONS:
        yield from read_csv(path, opts, out.skipped)
    elif ext in JSON_EXTENSIONS:
        yield from read_json(path, opts, out.skipped)
    elif media := media_kind(path, opts.modalities):
        yield read_file(path, (opts.roots or {}).get(path, path.parent), media, opts).record
    elif kind := any_media_kind(path):
        raise InputError(
            f"{path} is an {kind} file, but this encoder takes {'/'.join(opts.modalities)} only; "
            f"use an encoder for {kind} (see `embedlab encoders`) or index text files"
        )
    elif "text" not in opts.modalities:
        media = ", ".join(e for m in opts.modalities for e in MEDIA_EXTENSIONS.get(m, ()))
        raise InputError(f"{path} is not a file this encoder reads ({'/'.join(opts.modalities)}: {media}); "
                         "pass such files or a folder of them, or pick a text encoder for text")
    else:  # an explicitly named file is read as what its content is: a document, else text whatever its extension
        how = classify(path, opts.modalities, given=True) or "text"
        got = read_file(path, (opts.roots or {}).get(path, path.parent), how, opts)
        out.notes.extend(got.notes)
        out.pages += got.pages
        yield got.record
