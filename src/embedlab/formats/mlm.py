"""The folder ``embedlab train mlm`` (``MaskedLMTrainer``) writes: a Hugging Face BERT folder plus embedlab's
manifest, written last.

    config.json, model.safetensors   BertForMaskedLM (safetensors, no pickle)
    tokenizer.json (+ tokenizer_config.json, special_tokens_map.json)   the WordPiece tokenizer
    token_counts.npy                 (vocab_size,) int64 counts per token id in the training text (unigram baseline)
    mlm.json                         format "embedlab.mlm", format_version 1: params, vocab_size, steps, loss history,
                                     held-out metrics, the corpus fingerprint — its presence marks a finished folder
    checkpoint/                      while training or after an interruption: model + AdamW state (safetensors) and
                                     trainer_state.json (format "embedlab.mlm.checkpoint"); removed when finished

Only light imports here (json, numpy, safetensors), so listing encoders stays fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..persist import atomic_file, read_npy, read_versioned, sniff_manifest, versioned, write_json_atomic

__all__ = ["CHECKPOINT", "FIX", "FORMAT", "FORMAT_VERSION", "MANIFEST", "TOKEN_COUNTS", "checkpoint_step",
           "read_manifest", "read_token_counts", "read_token_embeddings", "recognises", "write_manifest",
           "write_token_counts"]

FORMAT = "embedlab.mlm"
FORMAT_VERSION = 1
MANIFEST = "mlm.json"
CHECKPOINT = "checkpoint"
CHECKPOINT_STATE = "trainer_state.json"
TOKEN_COUNTS = "token_counts.npy"
WEIGHTS = "model.safetensors"
EMBEDDINGS = "bert.embeddings.word_embeddings.weight"  # BertForMaskedLM's input token embeddings
FIX = "train the model again (embedlab train mlm)"


def recognises(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` is a finished MLM folder (its ``mlm.json`` names the format; nothing else is read)."""
    return sniff_manifest(Path(folder) / MANIFEST, FORMAT) is not None


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``mlm.json`` of a finished folder.

    Raises
    ------
    CorruptFileError
        When it is missing, not JSON, or of another format.
    FormatVersionError
        For a folder from a newer embedlab.
    """
    return read_versioned(Path(folder) / MANIFEST, FORMAT, FORMAT_VERSION, "masked-language model", FIX)


def write_manifest(folder: str | os.PathLike[str], **fields: Any) -> dict[str, Any]:
    """Write ``mlm.json`` atomically (last: it marks the folder finished); returns what was written."""
    doc = versioned(FORMAT, FORMAT_VERSION, **fields)
    write_json_atomic(Path(folder) / MANIFEST, doc)
    return doc


def write_token_counts(folder: str | os.PathLike[str], counts: np.ndarray) -> None:
    """Write ``token_counts.npy`` ((vocab_size,) int64) atomically."""
    with atomic_file(Path(folder) / TOKEN_COUNTS) as fh:
        np.save(fh, np.asarray(counts, dtype=np.int64), allow_pickle=False)


def read_token_counts(folder: str | os.PathLike[str]) -> np.ndarray:
    """``token_counts.npy`` as (vocab_size,) int64, its header checked first (CorruptFileError naming it)."""
    return read_npy(Path(folder) / TOKEN_COUNTS, FIX, np.int64, (-1,))


def checkpoint_step(folder: str | os.PathLike[str]) -> int | None:
    """The step of the checkpoint in ``folder/checkpoint``, or None when there is none (or it is unreadable)."""
    try:
        with open(Path(folder) / CHECKPOINT / CHECKPOINT_STATE, encoding="utf-8") as fh:
            step = json.load(fh).get("step")
    except (OSError, ValueError, AttributeError):
        return None
    return step if isinstance(step, int) else None


def read_token_embeddings(folder: str | os.PathLike[str]) -> tuple[list[str], np.ndarray]:
    """The input token embeddings of a finished folder, without torch: the tokens by id (from ``tokenizer.json``)
    and BERT's word-embedding matrix (from ``model.safetensors``).

    Returns
    -------
    tokens : list of str
        ``vocab_size`` WordPiece tokens, by id.
    matrix : numpy.ndarray
        ``(vocab_size, hidden)`` float32.

    Raises
    ------
    CorruptFileError
        When the tokenizer or the weights are missing, unreadable, or disagree on the vocabulary size.
    """
    from safetensors import SafetensorError, safe_open

    folder = Path(folder)
    tok_path = folder / "tokenizer.json"
    try:
        vocab = json.loads(tok_path.read_text("utf-8"))["model"]["vocab"]
        tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: int(kv[1]))]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptFileError(f"{tok_path} is not a readable WordPiece tokenizer ({exc}); {FIX}") from None
    try:
        with safe_open(str(folder / WEIGHTS), framework="numpy") as fh:
            matrix = np.asarray(fh.get_tensor(EMBEDDINGS), dtype=np.float32)
    except (OSError, SafetensorError, KeyError) as exc:
        raise CorruptFileError(f"{folder / WEIGHTS} holds no readable {EMBEDDINGS} ({exc}); {FIX}") from None
    if matrix.ndim != 2 or matrix.shape[0] != len(tokens):
        raise CorruptFileError(f"{folder / WEIGHTS}: embeddings of shape {matrix.shape} for {len(tokens)} tokens; "
                               f"{FIX}")
    return tokens, matrix
