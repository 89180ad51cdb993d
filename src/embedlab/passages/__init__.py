"""Split long documents into overlapping passages, index them, and report search results per document.

Encoders read a bounded number of tokens and silently lose the rest; splitting keeps every part of a long
document searchable. Passages get ids ``"<doc_id>#<n>"`` and metadata ``{"doc_id", "passage"}`` plus the
document's own metadata (and ``page``/``page_end``/``heading`` for documents read with pages or headings), so
`search_documents` can group hits back into documents:

    >>> index_records(collection, read_sources("docs/").records)   # split + upsert, counts back
    >>> search_documents(collection, "query", k=5)                  # one hit per document
"""

from __future__ import annotations

from .folders import with_subfolders
from .index import Engine, Progress, index_records, plan_records
from .pages import with_page_spans
from .results import HitLike, Searcher, document_id, group_hits, hit_texts, passages_of, search_documents
from .roots import file_roots
from .split import (
    DEFAULT_OVERLAP_FRACTION,
    FALLBACK_MAX_WORDS,
    WORDS_PER_TOKEN,
    SplitStats,
    limits,
    passage_id,
    split_records,
    split_text,
)
from .write import write_items

__all__ = ["DEFAULT_OVERLAP_FRACTION", "FALLBACK_MAX_WORDS", "WORDS_PER_TOKEN", "Engine", "HitLike", "Progress",
           "Searcher", "SplitStats", "document_id", "file_roots", "group_hits", "hit_texts", "index_records", "limits", "passage_id",
           "passages_of", "plan_records", "search_documents", "split_records", "split_text", "with_page_spans",
           "with_subfolders", "write_items"]
