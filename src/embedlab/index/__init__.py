"""Indexes: exact and approximate nearest-neighbour search behind one interface."""

from .base import Index

__all__ = ["Index"]
