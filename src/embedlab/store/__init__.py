"""Persistent collections: named sets of (id, vector, metadata, source) bound to one encoder and one index."""

from .collection import Collection
from ._search import Hit, Item

__all__ = ["Collection", "Hit", "Item"]
