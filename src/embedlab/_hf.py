"""Quiet Hugging Face loading: what the encoders and trainers that load ``transformers`` models share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["quiet_transformers"]


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars for the duration (e.g. the unused MLM head when a
    ``BertModel`` loads a ``BertForMaskedLM``'s weights, which is expected, not news); restore them after.

    Raises
    ------
    ImportError
        When ``transformers`` is not installed (callers check with ``errors.require`` first).
    """
    from transformers.utils import logging

    hf_logging: Any = logging  # transformers' logging helpers carry no annotations

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
