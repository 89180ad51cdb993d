"""Documents as they come: PDF (text per page), HTML (main text, title), Word ``.docx`` (paragraphs, headings)
and EPUB, each read by a well-kept parser from the ``documents`` extra (``pip install 'embedlab[documents]'``:
pypdf, beautifulsoup4 + lxml, python-docx, EbookLib), the type told by content (`detect`).

A reader returns a `Document`: sections in reading order with their page and heading, which ``ingest`` joins into
one text per file and ``passages`` splits by the encoder's tokens, keeping each passage's page and heading.

    >>> doc = read_document(Path("report.pdf"))
    >>> doc.pages, doc.sections[0].page, doc.title
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .charset import guess_encoding
from .detect import DOCUMENT_EXTENSIONS, DOCUMENT_FORMATS, FORMAT_NAMES, detect, zip_members
from .docx import read_docx
from .epub import read_epub
from .html import extract, read_html
from .model import Document, NoTextError, Section, Span, UnreadableFileError
from .pdf import read_pdf

__all__ = ["DOCUMENT_EXTENSIONS", "DOCUMENT_FORMATS", "FORMAT_NAMES", "Document", "NoTextError", "Section", "Span",
           "UnreadableFileError", "detect", "extract", "guess_encoding", "read_document", "read_docx", "read_epub", "read_html",
           "read_pdf", "zip_members"]


def read_document(path: Path, fmt: str, encoding: str | None = None, errors: str = "strict") -> Document:
    """Read a document of a known format (see ``detect``).

    Parameters
    ----------
    path : Path
        The file.
    fmt : str
        ``pdf``, ``html``, ``docx`` or ``epub``.
    encoding : str or None
        For HTML: an encoding to try when the page declares none (see ``read_html``).
    errors : str
        For HTML: ``"strict"`` or ``"replace"``.

    Returns
    -------
    Document
        Its sections, title, page count and notes.

    Raises
    ------
    InputError
        For another format.
    """
    if fmt == "pdf":
        return read_pdf(path)
    if fmt == "html":
        return read_html(path, encoding, errors)
    if fmt == "docx":
        return read_docx(path)
    if fmt == "epub":
        return read_epub(path)
    raise InputError(f"unknown document format {fmt!r}; one of {', '.join(DOCUMENT_FORMATS)}")
