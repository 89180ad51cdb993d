"""Adapting a pretrained text encoder to a domain with labelled pairs (contrastive fine-tuning).

    >>> from embedlab.train import finetune
    >>> enc = finetune("pairs.jsonl", "use-multilingual", method="adapter", output="adapter/")   # an Encoder
    >>> enc.metrics["after"]["validation"]["recall@1"]

Modules, one concept each: ``pairs`` (reading, cleaning and splitting pairs), ``loss`` (InfoNCE and its gradient),
``adapter`` (a linear map on frozen vectors, torch or numpy), ``cache`` (base vectors on disk), ``mining`` (hard
negatives), ``evaluate`` (before/after metrics, general-domain retention sets), ``full`` (sentence-transformers'
Trainer), ``saved`` (the folder format) and ``run`` (the loop). ``encoders/adapted.py`` loads the result by path.

The package itself is callable, so ``embedlab.train.finetune(...)`` and ``from embedlab.train.finetune import
finetune`` both reach the same function.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from .adapter import DivergedError
from .pairs import Pair, Pairs, read_pairs, split_pairs
from .run import finetune

__all__ = ["finetune", "Pair", "Pairs", "read_pairs", "split_pairs", "DivergedError"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kw: Any) -> Any:
        return finetune(*args, **kw)


sys.modules[__name__].__class__ = _CallableModule
