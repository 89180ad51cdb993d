"""Word ``.docx`` files: paragraphs and tables in reading order, sections by heading (python-docx).

Headings are the paragraphs styled ``Title`` or ``Heading N``; tables read row by row, cells separated by `` | ``.
Headers, footers and comments are left out (page furniture).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from ..errors import require
from .detect import zip_members
from .model import Document, NoTextError, Section, UnreadableFileError, clean_lines


def read_docx(path: Path) -> Document:
    """Read a Word document's text and headings.

    Parameters
    ----------
    path : Path
        The file (checked to be a Word document by its content first, see ``detect``).

    Returns
    -------
    Document
        Sections by heading; the title from the document's properties or its ``Title`` paragraph.

    Raises
    ------
    UnreadableFileError
        For a file that is not a Word document (another zip archive) or is damaged.
    NoTextError
        For a document without text.
    MissingDependencyError
        Without python-docx (``pip install 'embedlab[documents]'``).
    """
    docx = require("docx", "documents", "reading Word (.docx) files")
    try:
        doc = docx.Document(str(path))
        blocks = list(doc.iter_inner_content())
    except docx.opc.exceptions.PackageNotFoundError:
        members = zip_members(path)
        held = f" (it holds: {', '.join(members)})" if members else ""
        raise UnreadableFileError(f"{path} is not a Word document{held}; pass .docx files saved by Word or "
                                  "LibreOffice, or leave it out") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, AttributeError, TypeError) as exc:
        raise UnreadableFileError(f"{path} is a damaged Word document ({exc or type(exc).__name__}); open and save "
                                  "it again in Word or LibreOffice, and index the result") from None
    except Exception as exc:  # lxml's XMLSyntaxError and the like, on a damaged part
        raise UnreadableFileError(f"{path} is a damaged Word document ({type(exc).__name__}: {exc}); open and "
                                  "save it again in Word or LibreOffice, and index the result") from None
    sections: list[Section] = []
    heading: str | None = None
    lines: list[str] = []
    title_par: str | None = None
    for block in blocks:
        if hasattr(block, "rows"):
            lines.extend(_table_rows(block))
            continue
        text = " ".join(str(block.text or "").split())
        if not text:
            continue
        level = _heading_level(block)
        if level is None:
            lines.append(text)
            continue
        if level == 0 and title_par is None:
            title_par = text
        if lines:
            sections.append(Section(clean_lines("\n".join(lines)), None, heading))
        heading, lines = text, [text]
    if lines:
        sections.append(Section(clean_lines("\n".join(lines)), None, heading))
    sections = [s for s in sections if s.text]
    if not sections:
        raise NoTextError(f"{path} has no text; leave it out")
    title = _core_title(doc) or title_par or next((s.heading for s in sections if s.heading), None)
    return Document("docx", sections, title=title)


def _heading_level(paragraph: Any) -> int | None:
    """0 for a ``Title`` paragraph, N for ``Heading N``, None for body text."""
    try:
        name = str(paragraph.style.name or "") if paragraph.style is not None else ""
    except (KeyError, AttributeError, ValueError):
        return None
    if name == "Title":
        return 0
    if name.startswith("Heading"):
        rest = name[len("Heading"):].strip()
        return int(rest) if rest.isdigit() else 1
    return None


def _table_rows(table: Any) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:  # a merged cell repeats in each column it spans: keep it once
            text = " ".join(str(cell.text or "").split())
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _core_title(doc: Any) -> str | None:
    try:
        title = " ".join(str(doc.core_properties.title or "").split())
    except Exception:  # a damaged core-properties part: no title
        return None
    return title or None
