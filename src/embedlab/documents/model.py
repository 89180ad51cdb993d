"""What every document reader returns: a `Document` of `Section`s (text with its page and heading), and the error
for a file that cannot be read as what it should be."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import InputError


class UnreadableFileError(InputError):
    """One input file cannot be read as what it should be (binary, undecodable, unreadable, empty media, an
    encrypted or damaged document); in a folder or a list of sources it is skipped with this message unless
    ``strict``."""


class NoTextError(UnreadableFileError):
    """A document that holds no text to index: a scanned PDF without a text layer, or an empty document. It is
    reported (skipped with the reason), never indexed empty."""


class Section(NamedTuple):
    """A run of a document's text: a page of a PDF, or what follows a heading (``heading`` names it)."""

    text: str
    page: int | None = None
    heading: str | None = None


class Span(NamedTuple):
    """Where a section starts in a document's joined text (a character offset), and its page and heading."""

    start: int
    page: int | None
    heading: str | None


#: What separates two sections in a document's joined text.
SECTION_BREAK = "\n\n"


@dataclass
class Document:
    """A document read from a file: its format (``pdf``, ``html``, ``docx``, ``epub``), sections in reading order,
    title, page count (PDF) and notes on what could not be read of it (pages without a text layer ...)."""

    format: str
    sections: list[Section]
    title: str | None = None
    pages: int | None = None
    notes: list[str] = field(default_factory=list)

    def text_and_spans(self) -> tuple[str, tuple[Span, ...]]:
        """The sections' texts joined by blank lines, and where each section starts in that text.

        Returns
        -------
        tuple of (str, tuple of Span)
            The text, and one span per non-empty section in order.
        """
        parts: list[str] = []
        spans: list[Span] = []
        at = 0
        for sec in self.sections:
            text = sec.text.strip()
            if not text:
                continue
            if parts:
                at += len(SECTION_BREAK)
            spans.append(Span(at, sec.page, sec.heading))
            parts.append(text)
            at += len(text)
        return SECTION_BREAK.join(parts), tuple(spans)

    def metadata(self) -> dict[str, Any]:
        """The document-level metadata its items get: ``format``, and ``title`` and ``pages`` when known.

        Returns
        -------
        dict
            JSON-ready metadata.
        """
        meta: dict[str, Any] = {"format": self.format}
        if self.title:
            meta["title"] = self.title
        if self.pages is not None:
            meta["pages"] = self.pages
        return meta


_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u3000]+")


def clean_lines(text: str) -> str:
    """Text with runs of spaces collapsed in each line, lines stripped and blank lines dropped (NULs removed).

    Parameters
    ----------
    text : str
        Extracted text.

    Returns
    -------
    str
        One paragraph or line per line.
    """
    lines = (_SPACES.sub(" ", line).strip() for line in text.replace("\x00", "").splitlines())
    return "\n".join(line for line in lines if line)


@contextlib.contextmanager
def quiet_logger(name: str) -> Iterator[None]:
    """Silence a parser's logger below ERROR while it reads (pypdf logs every repair it makes); what matters
    reaches the user as a note or an error instead."""
    log = logging.getLogger(name)
    old = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(old)
