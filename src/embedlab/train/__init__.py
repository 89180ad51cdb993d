"""Trainers that learn vectors from data, all on one contract (``train/base.py``: ``fit(data) -> self``, then
``.wv`` / ``.to_encoder()`` / ``.save(folder)``): Word2Vec (Skip-gram / CBOW), FastText, GloVe, the textbook
full-softmax Word2Vec, BPE tokenizers, entity embeddings, implicit ALS, a masked language model, a small CLIP and
contrastive fine-tuning, static distillation of a sentence encoder, plus the corpus and vocabulary they share.

Heavy modules (numba kernels, torch) load on first use: ``from embedlab.train import Word2Vec, GloVe``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .base import Trainer
from .corpus import LineCorpus, as_corpus
from .vocab import Vocab

# name -> module that defines it, imported on first use
_LAZY = {
    "Word2Vec": "word2vec", "GloVe": "glove", "FastText": "subword", "TextbookWord2Vec": "textbook",
    "BPETokenizer": "bpe", "EntityEmbedding": "entity", "ImplicitALS": "factorization",
    "MaskedLMTrainer": "mlm", "CLIPTrainer": "clip", "train_clip": "clip",
    "FineTuner": "finetuning", "finetune": "finetuning",
    "DistillationTrainer": "distill", "distill": "distill",
}

__all__ = ["LineCorpus", "Trainer", "Vocab", "as_corpus", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'embedlab.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
