"""Files: plain text (``.txt``/``.md``), documents (PDF, HTML, Word, EPUB: told by content, read by
``embedlab.documents``) and image/audio files, one record per file with the id ``file_id`` gives, plus the walk
of a folder (recursive, hidden files left out)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..documents import (
    DOCUMENT_EXTENSIONS,
    DOCUMENT_FORMATS,
    FORMAT_NAMES,
    UnreadableFileError,
    detect,
    guess_encoding,
    read_document,
    zip_members,
)
from ..errors import InputError, MissingDependencyError, Said
from .records import Options, Record
from .sources import file_id

TEXT_EXTENSIONS = (".txt", ".md")
MEDIA_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image": (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"),
    "audio": (".wav", ".flac", ".ogg", ".oga", ".mp3", ".opus", ".aiff", ".aif"),
}
_OTHER_OFFICE = {"ole": "save it as .docx or PDF", "odt": "save it as .docx or PDF",
                 "xlsx": "export it as CSV", "pptx": "export it as PDF"}


class FileRead(NamedTuple):
    """One file's record, the notes its reader made (pages without a text layer ...) and its pages (PDF)."""

    record: Record
    notes: list[str]
    pages: int


#: ``tick(pages)``: called once per file looked at in a folder walk (``pages``: PDF pages read from it).
Tick = Callable[[int], None]


def read_text_file(path: str | Path, encoding: str = "utf-8", errors: str = "strict") -> str:
    """The decoded text of a file, with clear errors for binary content and bytes that do not decode."""
    path = Path(path)
    data = _read_bytes(path)
    if not data.strip():
        raise UnreadableFileError(f"{path} is empty; add some text to it or leave it out")
    return _decode(path, data, encoding, errors)


def media_kind(path: Path, modalities: Sequence[str]) -> str | None:
    """``image`` or ``audio`` for a file of that kind (by extension) when ``modalities`` takes it, else None.

    Parameters
    ----------
    path : Path
        The file.
    modalities : sequence of str
        What the encoder takes.

    Returns
    -------
    str or None
        The media kind.
    """
    ext = path.suffix.lower()
    for kind, exts in MEDIA_EXTENSIONS.items():
        if ext in exts and kind in modalities:
            return kind
    return None


def any_media_kind(path: Path) -> str | None:
    """``image`` or ``audio`` for a file with such an extension, whatever the encoder takes.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    str or None
        The media kind.
    """
    return media_kind(path, tuple(MEDIA_EXTENSIONS))


def classify(path: Path, modalities: Sequence[str], given: bool) -> str | None:
    """How a file is read: ``image``/``audio``, ``text``, or a document format (``pdf``, ``html``, ``docx``,
    ``epub``), told by its content as well as its extension.

    A ``.txt``/``.md`` file that is really a PDF, Word file or EPUB is read as that (HTML inside Markdown stays
    text); a file with a document's extension is read as the format its content has, and refused when its content
    is something else (a ``.docx`` that is a zip of other files); a file with another extension is a document when
    its content says so, else text if ``given`` by itself, else None (left out of a folder).

    Parameters
    ----------
    path : Path
        The file.
    modalities : sequence of str
        What the encoder takes.
    given : bool
        Whether the file was named by itself (not found in a folder).

    Returns
    -------
    str or None
        How to read it; None: not a file to index.

    Raises
    ------
    UnreadableFileError
        For a document extension with other content, a recognised format that is not read (``.doc``,
        ``.odt``, ``.xlsx``, ``.pptx``), or a symbolic link to nothing.
    """
    if _dangling(path):
        raise UnreadableFileError(f"{path} is a broken symbolic link: it points to {os.readlink(path)}, which does "
                                  "not exist; fix the link or remove it")
    media = media_kind(path, modalities)
    if media or "text" not in modalities:
        return media
    ext = path.suffix.lower()
    try:
        fmt = detect(path, html_by_tags=DOCUMENT_EXTENSIONS.get(ext) == "html")
    except PermissionError:
        raise UnreadableFileError(f"cannot read {path}: permission denied; check its permissions") from None
    if ext in TEXT_EXTENSIONS:
        return fmt if fmt in ("pdf", "docx", "epub") else "text"
    if fmt in DOCUMENT_FORMATS:
        return fmt
    if fmt in _OTHER_OFFICE:
        raise UnreadableFileError(f"{path} is {FORMAT_NAMES[fmt]}, which is not read; {_OTHER_OFFICE[fmt]} to index it")
    want = DOCUMENT_EXTENSIONS.get(ext)
    if want == "html":
        return "html"  # a page without tags is still read as HTML (its text)
    if want is not None:
        what = FORMAT_NAMES.get(fmt, "") if fmt else ""
        held = ""
        if fmt == "zip":
            names = zip_members(path)
            held = f" (it holds: {', '.join(names)})" if names else ""
        raise UnreadableFileError(
            f"{path} is not {FORMAT_NAMES[want]}: its content is {what or 'something else'}{held}; give it the "
            "extension of what it is, or leave it out"
        )
    return "text" if given else None


def read_file(path: Path, root: Path, how: str, opts: Options) -> FileRead:
    """Read one file as ``classify`` says.

    Parameters
    ----------
    path : Path
        The file (resolved).
    root : Path
        The folder indexed (its own folder for a file given by itself): the id is the path relative to it.
    how : str
        What ``classify`` returned.
    opts : Options
        The reading options.

    Returns
    -------
    FileRead
        The record (documents: the text of all sections, with ``spans``), the reader's notes and pages.

    Raises
    ------
    UnreadableFileError
        For a file that cannot be read as what it is.
    """
    meta = folder_meta(path, root)
    rid = file_id(path, root)
    if how in MEDIA_EXTENSIONS:
        if path.stat().st_size == 0:
            raise UnreadableFileError(f"{path} is empty (0 bytes); remove it or replace it with a real {how} file")
        meta["modality"] = how
        return FileRead(Record(rid, path, meta, str(path)), [], 0)
    if how == "text":
        return FileRead(Record(rid, read_text_file(path, opts.encoding, opts.errors), meta, str(path)), [], 0)
    if path.stat().st_size == 0:
        raise UnreadableFileError(f"{path} is empty (0 bytes); leave it out")
    given = opts.encoding if opts.encoding.replace("-", "").lower() != "utf8" else None
    doc = read_document(path, how, given, opts.errors)
    text, spans = doc.text_and_spans()
    meta.update(doc.metadata())
    return FileRead(Record(rid, text, meta, str(path), spans), list(doc.notes), doc.pages or 0)


def visible_files(root: Path) -> list[Path]:
    """The files under a folder, recursively and sorted, leaving out hidden ones (and those in hidden folders);
    symbolic links to nothing are listed too (``classify`` refuses them, naming the missing target).

    Parameters
    ----------
    root : Path
        The folder.

    Returns
    -------
    list of Path
        The files.
    """
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not any(part.startswith(".") for part in rel.parts) and (path.is_file() or _dangling(path)):
            out.append(path)
    return out


def _dangling(path: Path) -> bool:
    """Whether ``path`` is a symbolic link to nothing: listed, so that reading it says so (it was left out
    without a word, as if the file were not there)."""
    return path.is_symlink() and not path.exists()


def read_folder(root: Path, files: list[Path], opts: Options, skipped: list[str], notes: list[str],
                tick: Tick | None = None) -> Iterator[Record]:
    """The records of a folder's files (``visible_files``): unreadable ones are skipped (listed) unless strict.

    Parameters
    ----------
    root : Path
        The folder.
    files : list of Path
        Its files.
    opts : Options
        The reading options.
    skipped : list of str
        Receives what was skipped and why.
    notes : list of str
        Receives the readers' notes.
    tick : callable or None
        ``tick(pages)`` after each file.

    Yields
    ------
    Record
        One per file read.

    Raises
    ------
    InputError
        When the folder holds no file to index.
    MissingDependencyError
        With ``strict``, for a document whose parser is not installed (else it is skipped and listed, by count).
    """
    found = 0
    other: dict[str, int] = {}
    missing: dict[str, int] = {}
    for path in files:
        pages = 0
        try:
            how = classify(path, opts.modalities, given=False)
            if how is None:
                ext = path.suffix.lower() or "(no extension)"
                other[ext] = other.get(ext, 0) + 1
                continue
            if how not in MEDIA_EXTENSIONS and (path.stat().st_size == 0 or
                                                how == "text" and not _read_bytes(path).strip()):
                skipped.append(f"{path} (empty)")
                continue
            found += 1
            got = read_file(path, root, how, opts)
            pages = got.pages
            notes.extend(got.notes)
        except UnreadableFileError as exc:  # one bad file does not stop the others
            if opts.strict:
                raise
            found += 1
            skipped.append(Said(exc))  # with its CLI phrasing
            continue
        except MissingDependencyError as exc:  # a document whose parser is not installed: the others are read
            if opts.strict:
                raise
            found += 1
            missing[str(exc)] = missing.get(str(exc), 0) + 1
            continue
        finally:
            if tick is not None:
                tick(pages)
        yield got.record
    skipped.extend(f"{n} document(s) in {root} not read: {why}" for why, n in missing.items())
    if other:
        skipped.append(f"{sum(other.values())} file(s) in {root} with other extensions ({', '.join(sorted(other))})")
    if not found:
        wanted = list(TEXT_EXTENSIONS) + list(DOCUMENT_EXTENSIONS) if "text" in opts.modalities else []
        wanted += [e for m in opts.modalities for e in MEDIA_EXTENSIONS.get(m, ())]
        raise InputError(
            f"folder {root} has no files to index (looked for {', '.join(wanted)} recursively); "
            "pass CSV/JSONL files directly, or pick an encoder for the files it holds"
        )


def folder_meta(path: Path, root: Path) -> dict[str, Any]:
    """A file's ``file`` (its path relative to ``root``) and, below a subfolder, ``folder`` metadata.

    Parameters
    ----------
    path : Path
        The file.
    root : Path
        The folder indexed.

    Returns
    -------
    dict
        The metadata.
    """
    rel = path.relative_to(root)
    meta: dict[str, Any] = {"file": rel.as_posix()}
    if len(rel.parts) > 1:
        meta["folder"] = rel.parent.as_posix()
    return meta


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
        kind = any_media_kind(path)
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
            head = (f"{path} is not valid {encoding} text: undecodable bytes ({bad}) at byte offset {exc.start}; "
                    f"find its real encoding (e.g. `file -i {path}`) and pass that with --encoding")
            tail = "in a separate run (the encoding applies to every input), or use --encoding-errors replace"
            raise UnreadableFileError(f"{head} (encoding=) {tail} (errors='replace')", cli=f"{head} {tail}") from None
        guess = guess_encoding(data)  # the likely encoding, so the hint names one that decodes this file
        if guess is None:
            head = (f"{path} is not valid {encoding} text: undecodable bytes ({bad}) at byte offset {exc.start}; "
                    f"find its real encoding (e.g. `file -i {path}`) and convert it first (`iconv -f ENCODING -t "
                    f"UTF-8 {path} > {path.stem}.utf8{path.suffix}`), or read it with --encoding ENCODING")
            raise UnreadableFileError(
                f"{head} (encoding=), or --encoding-errors replace (errors='replace') to substitute the bad bytes",
                cli=f"{head}, or --encoding-errors replace to substitute the bad bytes") from None
        name = guess.upper()
        head = (f"{path} is not valid {encoding} text: undecodable bytes ({bad}) at byte offset {exc.start}; it reads "
                f"as {name}: convert it first (e.g. `iconv -f {name} -t UTF-8 {path} > "
                f"{path.stem}.utf8{path.suffix}`), or read it with --encoding {name}")
        raise UnreadableFileError(
            f"{head} (encoding={guess!r}), or --encoding-errors replace (errors='replace') to substitute the bad bytes",
            cli=f"{head}, or --encoding-errors replace to substitute the bad bytes"
        ) from None
    return text.lstrip("\ufeff")
