"""Adapting a pretrained text encoder to a domain with labelled pairs (contrastive fine-tuning).

    >>> from embedlab.train import FineTuner, finetune
    >>> enc = finetune("pairs.jsonl", "use-multilingual", method="adapter", output="adapter/")   # an Encoder
    >>> enc.metrics["after"]["validation"]["recall@1"]
    >>> tuner = FineTuner("minilm", method="full", output="ft/").fit("pairs.jsonl")   # the Trainer form

Modules, one concept each: ``pairs`` (reading, cleaning and splitting pairs), ``loss`` (InfoNCE and its gradient),
``adapter`` (a linear map on frozen vectors, torch or numpy), ``cache`` (base vectors on disk), ``mining`` (hard
negatives), ``evaluate`` (before/after metrics, general-domain retention sets), ``full`` (sentence-transformers'
Trainer) and ``run`` (``FineTuner``: the loop). The folder format is ``formats.finetuned``;
``encoders/adapted.py`` loads the result by path.
"""

from __future__ import annotations

from .adapter import DivergedError
from .pairs import Pair, Pairs, read_pairs, split_pairs
from .run import FineTuner, finetune

__all__ = ["DivergedError", "FineTuner", "Pair", "Pairs", "finetune", "read_pairs", "split_pairs"]
