"""Persistent collections: named sets of (id, vector, metadata, content, source) bound to one encoder, over a
storage backend (local folders, or PostgreSQL + pgvector)."""

from .chroma import GetResult
from .collection import Collection
from .records import Hit, Item

__all__ = ["Collection", "GetResult", "Hit", "Item"]
