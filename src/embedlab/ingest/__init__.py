"""Read sources into records ``(id, item, metadata, source, spans)`` ready for a Collection.

Sources: folders (recursive: text ``.txt``/``.md``, documents — PDF, HTML, Word ``.docx``, EPUB, told by content
and read by ``embedlab.documents`` — plus image or audio files when the encoder takes those modalities, given by
path), files named by themselves, CSV/TSV and JSONL/JSON tables (a text column and an optional id column; the
other columns become metadata). A file's id is its path relative to the folder given (``a/readme.txt``), so
files of one name in different subfolders coexist; a document's ``spans`` say where its pages and headed sections
start, so its passages keep their page and heading. Each record's ``source`` is the file's resolved absolute path
(a table row's: ``path:line N``), whatever folder the command ran in, so that a later ``--sync`` compares like
with like; ``resolve_legacy_source`` reads the relative sources older versions stored, ``legacy_id`` the file
stems they used as ids. Bad input fails early with an error that says what to do:

    >>> recs = read_sources(["notes/", "products.csv"], text_column="description", id_column="sku")
    >>> recs[0].id, recs[0].metadata
"""

from __future__ import annotations

from ..documents import NoTextError, Span, UnreadableFileError
from .files import MEDIA_EXTENSIONS, TEXT_EXTENSIONS, read_text_file
from .read import read_sources
from .records import Ingested, Record
from .sources import (
    file_id,
    is_legacy_source,
    legacy_id,
    resolve_legacy_source,
    source_file,
    whole_file,
    within,
)
from .tables import DEFAULT_ID_COLUMNS, DEFAULT_TEXT_COLUMNS, JSON_EXTENSIONS, TABLE_EXTENSIONS

__all__ = ["DEFAULT_ID_COLUMNS", "DEFAULT_TEXT_COLUMNS", "JSON_EXTENSIONS", "MEDIA_EXTENSIONS", "TABLE_EXTENSIONS",
           "TEXT_EXTENSIONS", "Ingested", "NoTextError", "Record", "Span", "UnreadableFileError", "file_id",
           "is_legacy_source", "legacy_id", "read_sources", "read_text_file", "resolve_legacy_source", "source_file",
           "whole_file", "within"]
