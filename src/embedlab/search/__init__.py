"""Search over collections: BM25 keywords that handle Korean, and hybrid keyword + vector ranking (RRF)."""

from .hybrid import MODES, hybrid_search, rrf_fuse, searcher
from .keyword import KeywordIndex, stored_texts
from .tokenize import Tokenizer

__all__ = ["MODES", "KeywordIndex", "Tokenizer", "hybrid_search", "rrf_fuse", "searcher", "stored_texts"]
