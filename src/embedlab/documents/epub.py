"""EPUB books: the chapters in reading (spine) order, sections by heading, the book's title (EbookLib; each
chapter's XHTML is read like an HTML page). Books protected by DRM are refused with that reason."""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

from ..errors import require
from .html import extract
from .model import Document, NoTextError, Section, UnreadableFileError

_FONT = re.compile(r"\.(?:ttf|otf|woff2?)$", re.I)


def read_epub(path: Path) -> Document:
    """Read an EPUB's chapters in reading order.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    Document
        Sections by heading across all chapters; the title from the book's metadata.

    Raises
    ------
    UnreadableFileError
        For a damaged book, or one whose chapters are encrypted (DRM).
    NoTextError
        For a book without text.
    MissingDependencyError
        Without EbookLib (``pip install 'embedlab[documents]'``).
    """
    ebooklib = require("ebooklib", "documents", "reading EPUB files")
    require("bs4", "documents", "reading EPUB files")
    from bs4 import XMLParsedAsHTMLWarning
    from ebooklib import epub

    _refuse_drm(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EbookLib warns about its own future defaults
            book = epub.read_epub(str(path), options={"ignore_ncx": True})
        chapters = []
        for idref, *_ in book.spine:
            item = book.get_item_with_id(idref)
            if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or isinstance(item, epub.EpubNav):
                continue
            chapters.append(item.get_content())
    except UnreadableFileError:
        raise
    except Exception as exc:  # EbookLib raises KeyError, zip and XML errors on a broken book
        raise UnreadableFileError(f"{path} is a damaged EPUB ({type(exc).__name__}: {exc}); re-export it (e.g. "
                                  "with Calibre) and index the result") from None
    sections: list[Section] = []
    for content in chapters:
        with warnings.catch_warnings():
            # chapters are XHTML, sometimes a bare XML fragment: read as HTML on purpose (the same text extraction
            # as web pages, tolerant of the broken markup books carry), so bs4's hint to use an XML parser is noise
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            _, found = extract(content, main_only=False)
        sections.extend(found)
    if not sections:
        raise NoTextError(f"{path} has no text in its chapters; leave it out")
    titles = book.get_metadata("DC", "title")
    title = " ".join(str(titles[0][0]).split()) if titles and titles[0] and titles[0][0] else None
    return Document("epub", sections, title=title or None)


def _refuse_drm(path: Path) -> None:
    """An EPUB whose ``META-INF/encryption.xml`` encrypts anything but fonts (font obfuscation is harmless)."""
    try:
        with zipfile.ZipFile(path) as zf:
            if "META-INF/encryption.xml" not in zf.namelist():
                return
            xml = zf.read("META-INF/encryption.xml").decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError) as exc:
        raise UnreadableFileError(f"{path} is a damaged EPUB ({exc}); re-export it and index the result") from None
    uris = re.findall(r"""URI\s*=\s*["']([^"']+)""", xml)
    if any(not _FONT.search(u) for u in uris):
        raise UnreadableFileError(f"{path} is protected by DRM (its chapters are encrypted); only DRM-free EPUBs "
                                  "can be read")
