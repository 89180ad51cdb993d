"""Tell a file's type by its content, not only by its extension: a PDF named ``.txt``, a Word file without an
extension, or a ``.docx`` that is really a zip of something else are recognised before a reader is picked.

    >>> detect(Path("report"))          # a PDF without an extension
    'pdf'
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

#: Extensions of the document formats read (the content decides, these only say which files to look at).
DOCUMENT_EXTENSIONS: dict[str, str] = {".pdf": "pdf", ".html": "html", ".htm": "html", ".xhtml": "html",
                                       ".docx": "docx", ".epub": "epub"}
#: The document formats ``read_document`` reads.
DOCUMENT_FORMATS = ("pdf", "html", "docx", "epub")
#: What a format is called in messages.
FORMAT_NAMES = {"pdf": "a PDF", "html": "an HTML page", "docx": "a Word document (.docx)", "epub": "an EPUB book",
                "zip": "a zip archive", "ole": "an old Microsoft Office file (.doc/.xls/.ppt)",
                "odt": "an OpenDocument text (.odt)", "xlsx": "an Excel workbook (.xlsx)",
                "pptx": "a PowerPoint deck (.pptx)"}

_HEAD = 8192
_HTML_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html[\s>])", re.I | re.S)
_HTML_TAGS = re.compile(rb"<(?:html|head|body|title|meta|p|div|h1)[\s>/]", re.I)


def head(path: Path, size: int = _HEAD) -> bytes:
    """The first ``size`` bytes of a file (all of a smaller one).

    Parameters
    ----------
    path : Path
        The file.
    size : int
        How many bytes.

    Returns
    -------
    bytes
        Its first bytes.
    """
    with open(path, "rb") as fh:
        return fh.read(size)


def detect(path: Path, start: bytes | None = None, html_by_tags: bool = False) -> str | None:
    """The format of a file from its content.

    Parameters
    ----------
    path : Path
        The file (zip archives are opened to look at their members).
    start : bytes or None
        Its first bytes if already read (default: read here).
    html_by_tags : bool
        Also take a file that merely holds HTML tags near its start for HTML (for ``.html`` files); otherwise only
        one that starts as an HTML page (``<!DOCTYPE html>``, ``<html>``) is.

    Returns
    -------
    str or None
        ``pdf``, ``docx``, ``epub``, ``html`` (the formats read); ``zip``, ``ole``, ``odt``, ``xlsx``, ``pptx``
        (recognised, not read); None for anything else (text, media, unknown binary).
    """
    data = head(path) if start is None else start
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _zip_kind(path)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if _HTML_START.match(data) or (html_by_tags and _HTML_TAGS.search(data[:_HEAD])):
        return "html"
    if html_by_tags and data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte-order mark
        text = data.decode("utf-16", errors="replace").encode("utf-8")
        if _HTML_TAGS.search(text):
            return "html"
    return None


def zip_members(path: Path, limit: int = 8) -> list[str]:
    """The first ``limit`` member names of a zip archive (empty if it cannot be opened), for messages.

    Parameters
    ----------
    path : Path
        A zip archive.
    limit : int
        How many names.

    Returns
    -------
    list of str
        Member names.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()[:limit]
    except (zipfile.BadZipFile, OSError, ValueError):
        return []


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            mimetype = zf.read("mimetype")[:100].strip() if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, RuntimeError):
        return "zip"
    if mimetype == b"application/epub+zip" or ("META-INF/container.xml" in names and
                                                any(n.endswith(".opf") for n in names)):
        return "epub"
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        return "odt"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    return "zip"
