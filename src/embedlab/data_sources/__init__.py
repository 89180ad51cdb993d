"""Real data read from what is installed on this machine (no downloads): gettext message pairs."""

from .gettext_pairs import MessagePair, PairStats, clean_message, load_gettext_pairs, read_mo

__all__ = ["MessagePair", "PairStats", "clean_message", "load_gettext_pairs", "read_mo"]
