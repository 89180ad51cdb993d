"""Stored sources and ids: a record's ``source`` is its file's resolved absolute path (a table row's: ``path:line
N``), and a file's id is its path relative to the folder indexed (``a/readme.txt``). Older versions stored
relative sources (``resolve_legacy_source`` matches them to files) and file stems as ids (``legacy_id`` gives the
old id of a record, so a collection made then is migrated instead of re-indexed)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .records import Record

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


def file_id(path: Path, root: Path) -> str:
    """The id of a file read from a folder: its path relative to the folder, with ``/`` separators
    (``a/readme.txt``); a file given by itself is read from its own folder, so its id is its name.

    Parameters
    ----------
    path : Path
        The file.
    root : Path
        The folder indexed (the file's own folder for a file given by itself).

    Returns
    -------
    str
        The id.
    """
    return path.relative_to(root).as_posix()


def whole_file(record: Record) -> bool:
    """Whether a record is a whole file read by path (its id is ``file_id``), not a table row or a caller's item.

    Parameters
    ----------
    record : Record
        A record from ``read_sources``.

    Returns
    -------
    bool
        True for a text, document or media file's record.
    """
    return (bool(record.source) and not _ROW_SUFFIX.search(record.source)
            and record.id == record.metadata.get("file"))


def legacy_id(record: Record) -> str | None:
    """The id older versions of embedlab gave a whole file's record: the file's stem (``readme`` for
    ``a/readme.txt``); None for other records, or when it is the same as the id now.

    Parameters
    ----------
    record : Record
        A record from ``read_sources``.

    Returns
    -------
    str or None
        The old id.
    """
    if not whole_file(record):
        return None
    old = PurePosixPath(record.id).stem
    return old if old != record.id else None
