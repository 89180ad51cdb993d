"""Trainers that learn vectors from data: Word2Vec (Skip-gram / CBOW), GloVe, plus the corpus and vocabulary they share.

Heavy modules (numba kernels) load on first use: ``from embedlab.train import Word2Vec, GloVe``.
"""

from __future__ import annotations

from .corpus import LineCorpus, as_corpus
from .vocab import Vocab

__all__ = ["GloVe", "LineCorpus", "Vocab", "Word2Vec", "as_corpus", "finetune"]


def __getattr__(name: str):
    if name == "Word2Vec":
        from .word2vec import Word2Vec

        return Word2Vec
    if name == "GloVe":
        from .glove import GloVe

        return GloVe
    if name == "finetune":  # the package embedlab.train.finetune, callable as the function of the same name
        import importlib

        return importlib.import_module(f"{__name__}.finetune")
    raise AttributeError(f"module 'embedlab.train' has no attribute {name!r}")
