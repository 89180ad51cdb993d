"""A masked language model trained by `embedlab train mlm` (``train/mlm.py``), loaded as a contextual token encoder.

Everything ``bert-tokens`` does works on it — ``token_vectors``, ``word_vector`` (the same word in two sentences
gets two vectors), mean-pooled ``encode`` — plus ``fill_mask``, the task it was trained on (Devlin et al. 2019).
The instance's ``name`` is the folder's absolute path, so a collection built with it names the folder it needs.

    >>> enc = load_encoder_folder("mlm-out")        # or MLMEncoder("mlm-out")
    >>> enc.fill_mask("the cat sat on the [MASK]", top_k=3)   # [[('mat', 0.41), ('floor', 0.12), ...]]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._hf import quiet_transformers
from .._params import check_int
from ..errors import InputError, ModelNotFoundError
from ..formats.mlm import FORMAT, MANIFEST, read_manifest
from ..persist import sniff_manifest
from .base import Encoder, check_text
from .contextual import ContextualEncoder
from .registry import EncoderSpec, register, register_folder


def recognises(path: str | Path) -> bool:
    """Whether ``path`` is a folder written by ``embedlab train mlm``.

    Parameters
    ----------
    path : str or path-like
        A folder.

    Returns
    -------
    bool
        True when its ``mlm.json`` says it holds an embedlab masked language model.
    """
    return sniff_manifest(Path(path) / MANIFEST, FORMAT) is not None


def load_encoder_folder(path: str | Path) -> Encoder:
    """The Encoder for a folder written by ``embedlab train mlm`` (an ``MLMEncoder``).

    Parameters
    ----------
    path : str or path-like
        The folder.

    Returns
    -------
    Encoder
        Named by the folder's absolute path.

    Raises
    ------
    ModelNotFoundError
        When the folder has no ``mlm.json`` or its model cannot be loaded.
    CorruptFileError, FormatVersionError
        For a damaged or newer folder.
    """
    return MLMEncoder(path)


def folder_spec(path: str | Path) -> EncoderSpec | None:
    """An EncoderSpec for the folder ``path``, named by its absolute path (as the encoder's ``name`` is).

    What lets the registry build ``--encoder PATH`` and reopen collections by name (``register_folder``).

    Parameters
    ----------
    path : str or path-like
        A folder.

    Returns
    -------
    EncoderSpec or None
        None when ``recognises(path)`` is False.
    """
    doc = sniff_manifest(Path(path) / MANIFEST, FORMAT)
    if doc is None:
        return None
    from functools import partial

    folder = Path(path).expanduser().resolve()
    try:
        dim = int(doc["params"]["hidden"])
    except (KeyError, TypeError, ValueError):
        dim = 0
    return EncoderSpec(name=str(folder), factory=partial(MLMEncoder, folder), dim=dim, modalities=("text",),
                       requires=("transformers", "torch", "tokenizers"), extra="text",
                       description=f"masked language model trained with `embedlab train mlm` ({folder.name})")


class MLMEncoder(ContextualEncoder):
    """Contextual token vectors (last hidden layer) of an embedlab-trained BERT, and its fill-mask head.

    Everything ``ContextualEncoder`` offers (``token_vectors``, ``word_vector``, mean-pooled ``encode``) plus
    ``fill_mask``. Learned: nothing; ``manifest`` holds the folder's ``mlm.json``.

    Parameters
    ----------
    model_path : str or path-like
        The folder written by ``embedlab train mlm`` (required); the encoder's ``name`` is its absolute path.
    max_length : int, optional
        The token limit; default and upper bound: the model's ``max_position_embeddings``.
    threads : int, optional
        torch's intra-op threads (set process-wide).

    Raises
    ------
    ModelNotFoundError
        When ``model_path`` is None or has no ``mlm.json`` (an interrupted run resumes with ``--resume``), or its
        weights or tokenizer are missing.
    CorruptFileError, FormatVersionError
        For a damaged or newer ``mlm.json``.
    MissingDependencyError
        When transformers or torch is not installed.
    """

    name = "mlm"

    def __init__(self, model_path: str | Path | None = None, max_length: int | None = None,
                 threads: int | None = None) -> None:
        if model_path is None:
            raise ModelNotFoundError("encoder 'mlm' needs model_path=<folder written by `embedlab train mlm`>",
                                     cli="encoder 'mlm' needs the folder written by `embedlab train mlm`: give that "
                                         "folder as the encoder (--encoder FOLDER)")
        folder = Path(model_path).expanduser()
        if not (folder / MANIFEST).is_file():
            raise ModelNotFoundError(f"{folder} has no {MANIFEST}: it is not a finished `embedlab train mlm` folder "
                                     "(an interrupted run resumes with --resume)")
        self.manifest = read_manifest(folder)
        with quiet_transformers():  # the MLM head the BertModel does not use is expected, not news
            super().__init__(model_path=folder, max_length=max_length, threads=threads)
        self.name = str(folder.resolve())
        self._mlm: Any = None

    def fill_mask(self, text: str, top_k: int = 5) -> list[list[tuple[str, float]]]:
        """The likeliest tokens for each ``[MASK]`` of ``text``.

        Masked-language-model prediction, the task the model was trained on (Devlin et al. 2019).

        Parameters
        ----------
        text : str
            A text holding one or more ``[MASK]``.
        top_k : int, default 5
            Tokens per mask.

        Returns
        -------
        list of list of (str, float)
            For each mask in order, ``(token, probability)`` pairs, likeliest first; probabilities in [0, 1].

        Raises
        ------
        InputError
            For an empty text, a bad ``top_k``, no ``[MASK]``, or masks only beyond ``max_length`` tokens.
        """
        text = check_text(0, text)
        top_k = check_int(top_k, "top_k", low=1)
        if "[MASK]" not in text:
            raise InputError('the text has no [MASK]; write e.g. "the cat sat on the [MASK]"')
        torch = self._torch
        if self._mlm is None:
            from transformers import BertForMaskedLM

            with quiet_transformers():
                model: Any = BertForMaskedLM.from_pretrained(str(self.folder), local_files_only=True)
                self._mlm = model.eval()
        tok = self._tokenizer
        enc = tok(text, truncation=True, max_length=self.max_length, return_tensors="pt")
        where = (enc["input_ids"][0] == tok.mask_token_id).nonzero().flatten().tolist()
        if not where:
            raise InputError(f"every [MASK] lies beyond max_length={self.max_length} tokens; shorten the text")
        with torch.inference_mode():
            logits = self._mlm(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits[0]
        probs = torch.softmax(logits[where].float(), dim=-1).numpy()
        k = min(top_k, probs.shape[1])
        out = []
        for row in probs:
            best = np.argsort(-row, kind="stable")[:k]
            out.append([(str(tok.convert_ids_to_tokens(int(i))), float(row[i])) for i in best])  # one id: a str
        return out

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``ContextualEncoder.info()`` plus what the training recorded.

        Returns
        -------
        dict
            Also ``kind`` (``"mlm"``), ``layers``, ``vocab_size`` and ``steps``.
        """
        p = self.manifest.get("params", {})
        return {**super().info(), "kind": "mlm", "layers": p.get("layers"), "vocab_size": self.manifest.get("vocab_size"),
                "steps": self.manifest.get("steps")}


register(EncoderSpec(
    name=MLMEncoder.name, factory=MLMEncoder, dim=0, modalities=("text",),
    requires=("transformers", "torch", "tokenizers"), extra="text",
    description="Contextual token vectors of a BERT you trained with `embedlab train mlm` (give its folder as "
                "the encoder name)",
))
register_folder(folder_spec, "mlm.json (`embedlab train mlm`)")
