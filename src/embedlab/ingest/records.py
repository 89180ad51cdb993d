"""What reading produces: `Record` (one item to index), `Ingested` (the records plus what was skipped, left out
as a duplicate, or noted), and the reading options shared by the file and table readers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ..documents import Span


class Record(NamedTuple):
    """One item to index: ``item`` is the text, or a ``Path`` for an image/audio file; ``spans`` say where the
    pages / headed sections of a document's text start (empty for plain text, table rows and media)."""

    id: str
    item: str | Path
    metadata: dict[str, Any]
    source: str
    spans: tuple[Span, ...] = ()


@dataclass
class Ingested:
    """The records read from some sources, plus what was skipped and why, the files left out because their
    content repeats one read before (``duplicates``: ``(source, same as source)``), notes on documents read in
    part (pages without a text layer, a guessed encoding), and the pages read (PDF). Iterate it like a list."""

    records: list[Record] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pages: int = 0

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> Record:
        return self.records[i]


class Options(NamedTuple):
    """Reading options (see ``read_sources``)."""

    modalities: tuple[str, ...]
    text_column: str | None
    id_column: str | None
    encoding: str
    errors: str
    strict: bool = False
    roots: dict[Path, Path] | None = None  # a file given by itself → the folder its id is relative to
