"""Split long documents into overlapping passages by the encoder's tokens, keeping each passage's page and heading.

Encoders read a bounded number of tokens and silently lose the rest; splitting keeps every part of a long
document searchable. Passages get ids ``"<doc_id>#<n>"`` and metadata ``{"doc_id", "passage"}`` plus the
document's own metadata, and, for a document read with pages or headings (``Record.spans``), the ``page`` and
``page_end`` it covers and the ``heading`` in force where it starts.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..ingest import Record, Span

if TYPE_CHECKING:  # pragma: no cover
    from ..encoders import Encoder

#: Default overlap between consecutive passages, as a fraction of ``max_tokens``.
DEFAULT_OVERLAP_FRACTION = 0.15
#: Passage length when the encoder states no limit (counted in words).
FALLBACK_MAX_WORDS = 256


#: Words per tokenizer call when counting a long text's tokens (whole words, so the pieces are the same).
_BLOCK_WORDS = 200
#: Words per token assumed when an encoder has a token limit but no tokenizer to count with.
WORDS_PER_TOKEN = 0.75


_PIECE_SPACE = "\u2581"  # SentencePiece's word-start mark


@dataclass(frozen=True)


class SplitStats:
    """What `split_records` did: documents in, passages out, and how many documents were split."""

    documents: int
    split: int
    passages: int
    max_tokens: int
    overlap: int
    unit: str  # "tokens" or "words"


def passage_id(doc_id: str, n: int) -> str:
    """The id of passage ``n`` (0-based) of document ``doc_id``."""
    return f"{doc_id}#{n}"


def limits(encoder: Encoder | None = None, max_tokens: int | None = None,
           overlap: int | None = None) -> tuple[int, int, str]:
    """The passage length and overlap for an encoder.

    Parameters
    ----------
    encoder : Encoder or None
        The encoder the passages are for: its tokenizer counts tokens when it has one (else words are counted),
        its ``max_length`` is the default length. None: words, ``FALLBACK_MAX_WORDS`` of them.
    max_tokens : int or None
        Passage length (>= 2); default from the encoder.
    overlap : int or None
        Tokens shared by consecutive passages (0 <= overlap < max_tokens); default 15 % of ``max_tokens``.

    Returns
    -------
    tuple of (int, int, str)
        ``(max_tokens, overlap, unit)`` with unit ``"tokens"`` or ``"words"``.

    Raises
    ------
    InputError
        For ``max_tokens`` below 2 or an overlap outside ``[0, max_tokens)``.
    """
    tokenize = _tokenizer(encoder)
    unit = "tokens" if tokenize else "words"
    if max_tokens is None:
        limit = encoder.max_length if encoder is not None else None
        if limit and tokenize:  # the model's own framing ([CLS] ... [SEP]) counts against its limit too
            max_tokens = int(limit) - int(encoder.special_tokens if encoder is not None else 0)
        elif limit:
            max_tokens = max(1, int(limit * WORDS_PER_TOKEN))
        else:
            max_tokens = FALLBACK_MAX_WORDS
    if int(max_tokens) < 2:
        raise InputError(f"max_tokens must be >= 2, got {max_tokens}")
    max_tokens = int(max_tokens)
    if overlap is None:
        overlap = int(round(max_tokens * DEFAULT_OVERLAP_FRACTION))
    if not 0 <= int(overlap) < max_tokens:
        raise InputError(f"overlap must be >= 0 and smaller than max_tokens ({max_tokens}), got {overlap}")
    return max_tokens, int(overlap), unit


def split_text(text: str, max_tokens: int, overlap: int = 0,
               tokenize: Callable[[str], list[str]] | None = None) -> list[str]:
    """Cut ``text`` into passages of at most ``max_tokens`` tokens that overlap by about ``overlap`` tokens.

    Cuts fall between words; a single word longer than the limit is cut between its tokens. Without
    ``tokenize`` tokens are whitespace-separated words.

    Parameters
    ----------
    text : str
        The text.
    max_tokens : int
        Passage length in tokens.
    overlap : int
        Tokens shared by consecutive passages (0 <= overlap < max_tokens).
    tokenize : callable or None
        The encoder's tokenizer; None counts words.

    Returns
    -------
    list of str
        The passages (the stripped text itself when it fits).

    Raises
    ------
    InputError
        For an overlap outside ``[0, max_tokens)``.
    """
    return [p for p, _, _ in _split(text, max_tokens, overlap, tokenize)]


def _split(text: str, max_tokens: int, overlap: int,
           tokenize: Callable[[str], list[str]] | None) -> list[tuple[str, int, int]]:
    """``split_text``'s passages with the indexes of their first and last words in ``text.split()``."""
    if not 0 <= overlap < max_tokens:
        raise InputError(f"overlap must be >= 0 and smaller than max_tokens ({max_tokens}), got {overlap}")
    units = _units(text, max_tokens, tokenize)
    total = sum(u[1] for u in units)
    if total <= max_tokens:
        return [(text.strip(), 0, units[-1][3] if units else 0)]
    out: list[tuple[str, int, int]] = []
    start, n = 0, len(units)
    while start < n:
        end, used = start, 0
        while end < n and used + units[end][1] <= max_tokens:
            used += units[end][1]
            end += 1
        passage = " ".join(u[0] for u in units[start:end])
        # Whole words re-tokenize to the same pieces; cut words may not: check those passages, trim until they fit.
        inexact = tokenize is not None and not all(u[2] for u in units[start:end])
        while inexact and tokenize is not None and end - start > 1 and len(tokenize(passage)) > max_tokens:
            end -= 1
            passage = " ".join(u[0] for u in units[start:end])
        out.append((passage, units[start][3], units[end - 1][3]))
        if end >= n:
            break
        back, carried = end, 0  # step back over whole units worth at most `overlap` tokens
        while back - 1 > start and carried + units[back - 1][1] <= overlap:
            back -= 1
            carried += units[back][1]
        start = back
    return out


def split_records(records: Iterable[Record], encoder: Encoder | None = None, max_tokens: int | None = None,
                  overlap: int | None = None) -> tuple[list[Record], SplitStats]:
    """Replace each text record longer than the limit by its passages; other records pass through.

    What an item embeds is stored once, as its content (``Collection.texts`` reads it back for hits and keyword
    search), never copied into its metadata: a record's own ``text`` metadata field is kept when it differs from
    the record's text and dropped when it equals it (it would store the text twice). A document read with pages
    or headings (``Record.spans``) gives each of its items ``page`` and ``page_end`` (the first and last page it
    covers) and ``heading`` (the heading in force where it starts), where known.

    Parameters
    ----------
    records : iterable of Record
        Documents (id, item, metadata, source, spans).
    encoder : Encoder or None
        Whose tokenizer and limit decide the split (see ``limits``).
    max_tokens, overlap : int or None
        As for ``limits``.

    Returns
    -------
    tuple of (list of Record, SplitStats)
        The records to store (passages ``"<id>#<n>"`` with ``doc_id`` and ``passage`` metadata) and what was done.

    Raises
    ------
    InputError
        For bad limits (see ``limits``).
    """
    max_tokens, overlap, unit = limits(encoder, max_tokens, overlap)
    tokenize = _tokenizer(encoder)
    out: list[Record] = []
    docs = split = 0
    for rec in records:
        docs += 1
        if not isinstance(rec.item, str):
            out.append(rec)
            continue
        parts = _split(rec.item, max_tokens, overlap, tokenize)
        where = _Locator(rec.item, rec.spans) if rec.spans else None
        own = _own_metadata(rec.metadata, rec.item)
        if len(parts) == 1:
            place = where.metadata(0, len(where.starts) - 1) if where is not None else {}
            out.append(Record(rec.id, rec.item, {**own, **place}, rec.source))
            continue
        split += 1
        for i, (part, first, last) in enumerate(parts):
            place = where.metadata(first, last) if where is not None else {}
            meta = {**own, **place, "doc_id": rec.id, "passage": i}
            out.append(Record(passage_id(rec.id, i), part, meta, rec.source))
    return out, SplitStats(docs, split, len(out), max_tokens, overlap, unit)


def _own_metadata(metadata: dict[str, Any], text: str) -> dict[str, Any]:
    """``metadata`` without a ``text`` field that only repeats ``text`` (stored once, as the content); a ``text``
    field of the user's own that differs is kept."""
    if metadata.get("text") != text:
        return metadata
    return {k: v for k, v in metadata.items() if k != "text"}


class _Locator:
    """Words of a document's text → the pages and heading of its spans."""

    def __init__(self, text: str, spans: Sequence[Span]) -> None:
        found = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        self.starts = [a for a, _ in found]
        self.ends = [b for _, b in found]
        self.spans = list(spans)
        self.offsets = [s.start for s in spans]

    def _span(self, char: int) -> Span:
        return self.spans[max(0, bisect.bisect_right(self.offsets, char) - 1)]

    def metadata(self, first: int, last: int) -> dict[str, Any]:
        if not self.starts:
            return {}
        first = min(max(first, 0), len(self.starts) - 1)
        last = min(max(last, first), len(self.starts) - 1)
        head, tail = self._span(self.starts[first]), self._span(self.ends[last] - 1)
        meta: dict[str, Any] = {}
        if head.page is not None:
            meta["page"] = head.page
            meta["page_end"] = tail.page if tail.page is not None else head.page
        if head.heading:
            meta["heading"] = head.heading
        return meta


def _tokenizer(encoder: Encoder | None) -> Callable[[str], list[str]] | None:
    """The encoder's own tokenizer when it has one (``Encoder.has_tokenizer``), else None (whitespace words)."""
    return encoder.tokenize if encoder is not None and encoder.has_tokenizer else None


def _units(text: str, max_tokens: int,
           tokenize: Callable[[str], list[str]] | None) -> list[tuple[str, int, bool, int]]:
    """(word, token count, exact, word index) tuples, one per word of ``text.split()`` (original spelling kept);
    words longer than ``max_tokens`` tokens are cut into chunks, whose counts are estimates (``exact=False``).

    Pieces that mark word starts as SentencePiece does (``▁``) are grouped into words in one tokenizer call; other
    tokenizers (WordPiece's ``##`` continuations, punctuation split off words) are asked word by word, and the
    counts marked inexact, so each passage is checked against the limit as a whole."""
    words = text.split()
    if tokenize is None:
        return [(w, 1, True, i) for i, w in enumerate(words)]
    # blocks of whole words, not the whole text in one call: a 5 MB file is one sequence of millions of tokens
    pieces: list[str] = []
    for i in range(0, len(words), _BLOCK_WORDS):
        block = tokenize(" ".join(words[i:i + _BLOCK_WORDS]))
        pieces += block
        if not any(p.startswith(_PIECE_SPACE) for p in block):
            break  # no word-start marks (WordPiece): the words are asked one by one below
    groups: list[list[str]] = []
    for p in pieces:
        if p.startswith(_PIECE_SPACE) or not groups:
            groups.append([p])
        else:
            groups[-1].append(p)
    groups = [g for g in groups if g != [_PIECE_SPACE]] if len(groups) != len(words) else groups
    exact = len(groups) == len(words)
    if not exact:  # the pieces do not mark word starts: each word's own pieces, asked once per distinct word
        seen: dict[str, list[str]] = {}
        groups = [seen[w] if w in seen else seen.setdefault(w, tokenize(w) or [w]) for w in words]
    units: list[tuple[str, int, bool, int]] = []
    for n, (w, g) in enumerate(zip(words, groups, strict=True)):
        if len(g) <= max_tokens:
            units.append((w, len(g), exact, n))
            continue
        # A continuation chunk gains a word-start token when re-tokenized on its own: budget one for it.
        units.append((_join(g[:max_tokens]), max_tokens, False, n))
        for i in range(max_tokens, len(g), max_tokens - 1):
            chunk = g[i:i + max_tokens - 1]
            units.append((_join(chunk), len(chunk) + 1, False, n))
    return units


def _join(pieces: Sequence[str]) -> str:
    return "".join(pieces).replace(_PIECE_SPACE, " ").strip()
