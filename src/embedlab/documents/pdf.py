"""PDF files: the text layer of each page (pypdf), its page number, and the bookmark (outline) heading in force.

Encrypted files open when they need no password to read (owner-password-only files, the common case); a scan
without a text layer is refused as such (`NoTextError`), never indexed empty; a damaged file or page is named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import require
from .model import Document, NoTextError, Section, UnreadableFileError, clean_lines, quiet_logger


def read_pdf(path: Path) -> Document:
    """Read a PDF's text, one section per page.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    Document
        Sections with ``page`` (1-based) and the outline ``heading`` of that page; ``notes`` name the pages that
        had no text layer or could not be read.

    Raises
    ------
    UnreadableFileError
        For a damaged file, or one encrypted with a password needed to read it.
    NoTextError
        When no page has text (a scanned document without a text layer, or an empty one).
    MissingDependencyError
        Without pypdf (``pip install 'embedlab[documents]'``).
    """
    pypdf = require("pypdf", "documents", "reading PDF files")
    with quiet_logger("pypdf"):
        try:
            reader = pypdf.PdfReader(str(path), strict=False)
            _unlock(reader, path, pypdf)
            count = len(reader.pages)
        except UnreadableFileError:
            raise
        except pypdf.errors.DependencyError as exc:  # AES without the cryptography package
            raise UnreadableFileError(f"{path} is encrypted with AES and needs the cryptography package to read: "
                                      f"pip install 'embedlab[documents]' ({exc})") from None
        except Exception as exc:  # pypdf raises many kinds on broken input
            raise _damaged(path, exc) from None
        if count == 0:
            raise NoTextError(f"{path} has no pages; leave it out")
        headings = _outline(reader, pypdf)
        sections: list[Section] = []
        blank: list[int] = []
        scanned: list[int] = []
        broken: list[int] = []
        heading: str | None = None
        for i in range(count):
            heading = headings.get(i, heading)
            try:
                page = reader.pages[i]
                text = clean_lines(page.extract_text() or "")
            except Exception:  # one bad page does not stop the others
                broken.append(i + 1)
                continue
            if text:
                sections.append(Section(text, i + 1, heading))
            elif _has_images(page):
                scanned.append(i + 1)
            else:
                blank.append(i + 1)
        title = _title(reader)
    if not sections:
        if broken and not scanned:
            raise UnreadableFileError(f"{path} is damaged: none of its {count} page(s) could be read; repair it "
                                      f"(e.g. `qpdf {path} repaired.pdf`) and index the result")
        if scanned:
            raise NoTextError(
                f"{path} has no text layer: {len(scanned)} of its {count} page(s) are images only (a scan?); run "
                f"OCR on it first (e.g. `ocrmypdf {path} {path.stem}.ocr.pdf`) and index the result"
            )
        raise NoTextError(f"{path} has no text on any of its {count} page(s); leave it out")
    doc = Document("pdf", sections, title=title, pages=count)
    if scanned:
        doc.notes.append(f"{path}: page(s) {_ranges(scanned)} have no text layer (images only) and were not "
                         "indexed; OCR the file (e.g. ocrmypdf) to index them")
    if broken:
        doc.notes.append(f"{path}: page(s) {_ranges(broken)} could not be read (damaged) and were not indexed")
    return doc


def _unlock(reader: Any, path: Path, pypdf: Any) -> None:
    """Open an encrypted PDF with the empty user password (files that restrict only editing or printing)."""
    if not reader.is_encrypted:
        return
    if reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
        raise UnreadableFileError(
            f"{path} is encrypted and needs a password to open; decrypt it first (e.g. `qpdf --decrypt "
            f"--password=... {path} {path.stem}.decrypted.pdf`) and index the result"
        )


def _damaged(path: Path, exc: Exception) -> UnreadableFileError:
    why = str(exc) or type(exc).__name__
    return UnreadableFileError(f"{path} is a damaged PDF ({why}); repair it (e.g. `qpdf {path} repaired.pdf`) or "
                               "re-export it from the program that made it, and index the result")


def _has_images(page: Any) -> bool:
    """Whether a page draws images (its resources hold an image XObject, directly or inside a form)."""
    try:
        return _holds_image(page.get("/Resources"), 0)
    except Exception:  # a broken resource dictionary: say no
        return False


def _holds_image(resources: Any, depth: int) -> bool:
    if resources is None or depth > 3:
        return False
    resources = resources.get_object()
    xobjects = resources.get("/XObject")
    if xobjects is None:
        return False
    for ref in xobjects.get_object().values():
        obj = ref.get_object()
        sub = obj.get("/Subtype")
        if sub == "/Image" or (sub == "/Form" and _holds_image(obj.get("/Resources"), depth + 1)):
            return True
    return False


def _outline(reader: Any, pypdf: Any) -> dict[int, str]:
    """Page index → the last bookmark title that points to it (the headings of the document's outline)."""
    out: dict[int, str] = {}

    def walk(items: Any) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
                continue
            try:
                page = reader.get_destination_page_number(item)
                title = " ".join(str(item.title or "").split())
            except Exception:  # a broken bookmark is left out
                continue
            if page is not None and page >= 0 and title:
                out[page] = title

    try:
        walk(reader.outline)
    except Exception:  # a broken outline: no headings
        return {}
    return out


def _title(reader: Any) -> str | None:
    try:
        meta = reader.metadata
        title = " ".join(str(meta.title).split()) if meta is not None and meta.title else ""
    except Exception:
        return None
    return title or None


def _ranges(pages: list[int]) -> str:
    """``[1, 2, 3, 7]`` → ``"1-3, 7"``."""
    out: list[str] = []
    start = prev = pages[0]
    for p in [*pages[1:], None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if p is not None:
            start = prev = p
    return ", ".join(out)
