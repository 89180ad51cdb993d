"""embedlab: turn unstructured data into vectors where similar things lie close, and use them.

The five nouns: an Encoder makes vectors, Vectors holds keyed vectors, an Index finds neighbours, a Collection
persists items with metadata, a Trainer learns vectors from data.
"""

from typing import Any as _Any

from ._threads import apply_defaults as _apply_thread_defaults

_apply_thread_defaults()  # before numpy/BLAS are imported anywhere below

from . import metrics  # noqa: E402
from .encoders import Encoder, encoder  # noqa: E402
from .encoders import available as available_encoders
from .errors import *  # noqa: E402,F401,F403
from .errors import __all__ as _ERRORS  # noqa: E402
from .index import Index  # noqa: E402
from .io import load_vectors  # noqa: E402
from .io.glove import load_glove
from .vectors import Vectors  # noqa: E402


def _build_static(name: str, recipe: dict[str, _Any], folder: _Any) -> None:
    """Distil a registered static encoder on first use (``encoders.static`` cannot reach ``train`` itself)."""
    from .train.distill import build_registered  # the package wires the layers: encoders cannot import train

    build_registered(name, recipe, folder)


from .encoders import static as _static  # noqa: E402

_static.set_builder(_build_static)

def glove(limit: int | None = None) -> Vectors:
    """Pretrained GloVe 6B-50d word vectors (400k words, memory-mapped, cached): ``embedlab.glove().arithmetic("king - man + woman")``."""
    return load_glove(limit=limit)


__version__ = "0.1.0"

# Heavier parts load on first use, so `import embedlab` stays quick: name -> module that defines it.
_LAZY = {
    "Collection": "store", "Hit": "store",
    "ExactIndex": "index", "HNSWIndex": "index", "make_index": "index", "load_index": "index",
    "recall_at_k": "index",
    "Word2Vec": "train", "GloVe": "train", "FastText": "train.subword", "TextbookWord2Vec": "train.textbook",
    "Alignment": "align",
    "BPETokenizer": "train.bpe",
    "hybrid_search": "search.hybrid", "search_documents": "passages", "index_records": "passages",
    "evaluate_analogies": "evaluate", "evaluate_word_pairs": "evaluate",
    "explore": "server.explore",
}


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'embedlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names including the lazily loaded ones, so ``dir(embedlab)`` and tab completion show them."""
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["Encoder", "Index", "Vectors", "available_encoders", "encoder", "glove", "load_vectors", "metrics",
           "__version__", *_LAZY, *_ERRORS]
