"""Build a BERT sentence-embedding ONNX graph straight from safetensors weights, without torch.

The graph takes ``input_ids`` and ``attention_mask`` (int64, ``(batch, seq)``) and returns
``sentence_embedding`` (float32, ``(batch, hidden)``): embeddings -> N encoder layers -> masked mean
pooling (-> L2 normalisation when the model asks for it), and ``mean_pooled``, the mean before normalisation
(what static distillation embeds tokens with). Only standard ONNX ops (opset 17) are used,
so onnxruntime's graph optimiser can fuse LayerNorm/GELU/attention itself. Files are cached under
``<embedlab home>/cache/onnx`` keyed by the weights fingerprint and written atomically.
"""

from __future__ import annotations

import hashlib
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import config
from ..errors import (
    CorruptFileError,
    MissingDependencyError,
    ModelNotFoundError,
    ReadOnlyStorageError,
    StorageFullError,
)
from ..persist import atomic_path, read_json, storage_error

if TYPE_CHECKING:
    import onnx

OPSET = 17
#: Bumped whenever the graph layout changes, so stale cache files are never reused.
GRAPH_VERSION = 2  # 2: a second output, mean_pooled (the mean before normalisation)


def _strip_prefix(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Accept both bare BertModel keys and keys under a 'bert.' / 'model.' prefix."""
    for prefix in ("bert.", "model.", "0.auto_model."):
        if any(k.startswith(prefix + "embeddings.") for k in weights):
            return {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    return weights


_CONFIG_FIX = "restore the model folder's config.json (a BERT config from its publisher)"


def _shape_settings(config: dict[str, Any]) -> tuple[int, int, int, float]:
    """(hidden_size, num_attention_heads, num_hidden_layers, layer_norm_eps) of a BERT config, checked, so a
    damaged config.json is a CorruptFileError naming the field rather than a KeyError or a ZeroDivisionError."""
    sizes = []
    for key in ("hidden_size", "num_attention_heads", "num_hidden_layers"):
        v = config.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise CorruptFileError(f"config.json has {key}={v!r}, expected a positive integer; {_CONFIG_FIX}")
        sizes.append(v)
    hidden, heads, layers = sizes
    if hidden % heads:
        raise CorruptFileError(f"config.json has hidden_size={hidden}, not a multiple of num_attention_heads={heads}; "
                               f"{_CONFIG_FIX}")
    eps = config.get("layer_norm_eps", 1e-12)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or eps <= 0:
        raise CorruptFileError(f"config.json has layer_norm_eps={eps!r}, expected a small positive number; "
                               f"{_CONFIG_FIX}")
    return hidden, heads, layers, float(eps)


def build_bert_graph(weights: dict[str, np.ndarray], config: dict[str, Any], normalize: bool) -> onnx.ModelProto:
    """An ``onnx.ModelProto`` of a BERT encoder with mean pooling, built with the onnx helper API."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = _strip_prefix(weights)
    if not isinstance(config, dict):
        raise CorruptFileError(f"config.json holds {type(config).__name__}, not an object; {_CONFIG_FIX}")
    if config.get("model_type", "bert") != "bert" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ModelNotFoundError(
            f"the ONNX builder supports BERT models with absolute positions; this folder is "
            f"model_type={config.get('model_type')!r}: use the 'minilm' (sentence-transformers) encoder instead"
        )
    if config.get("hidden_act", "gelu") != "gelu":
        raise ModelNotFoundError(f"unsupported activation {config.get('hidden_act')!r} (only exact 'gelu')")
    hidden, heads, layers, eps = _shape_settings(config)
    head_dim = hidden // heads
    nodes: list[Any] = []  # onnx NodeProto / TensorProto: onnx's protobuf classes
    inits: list[Any] = []

    def get(key: str) -> np.ndarray:
        if key not in w:
            raise CorruptFileError(f"weight {key!r} is missing from model.safetensors; is this a BERT model?")
        return np.ascontiguousarray(w[key], dtype=np.float32)

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=f"{op}_{output}", **attrs))
        return output

    def linear(x: str, prefix: str, out: str, weight: np.ndarray | None = None, bias: np.ndarray | None = None) -> str:
        wt = get(f"{prefix}.weight").T if weight is None else weight
        b = get(f"{prefix}.bias") if bias is None else bias
        mm = node("MatMul", [x, const(f"{out}.W", wt)], f"{out}.mm")
        return node("Add", [mm, const(f"{out}.b", b)], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        return node("LayerNormalization", [x, const(f"{out}.g", get(f"{prefix}.weight")),
                                           const(f"{out}.beta", get(f"{prefix}.bias"))], out, axis=-1, epsilon=eps)

    # Embeddings: word + position + token type 0 (sentences are single segments), then LayerNorm.
    word = node("Gather", [const("word_embeddings", get("embeddings.word_embeddings.weight")), "input_ids"], "emb.word")
    pos_table = get("embeddings.position_embeddings.weight") + get("embeddings.token_type_embeddings.weight")[0]
    seq = node("Shape", ["input_ids"], "emb.seq", start=1, end=2)
    pos = node("Slice", [const("pos_table", pos_table), const("zero1", np.array([0], np.int64)), seq,
                         const("axis0", np.array([0], np.int64))], "emb.pos")
    x = layer_norm(node("Add", [word, pos], "emb.sum"), "embeddings.LayerNorm", "emb.out")

    # Additive attention bias: 0 for real tokens, -10000 for padding, shaped (batch, 1, 1, seq).
    maskf = node("Cast", ["attention_mask"], "mask.f", to=TensorProto.FLOAT)
    inv = node("Sub", [const("one", np.array(1.0, np.float32)), maskf], "mask.inv")
    bias = node("Mul", [inv, const("neg", np.array(-10000.0, np.float32))], "mask.bias")
    bias4 = node("Unsqueeze", [bias, const("axes12", np.array([1, 2], np.int64))], "mask.bias4")
    split_shape = const("split_heads", np.array([0, 0, heads, head_dim], np.int64))
    merge_shape = const("merge_heads", np.array([0, 0, hidden], np.int64))
    scale = 1.0 / np.sqrt(head_dim)

    for i in range(layers):
        p = f"encoder.layer.{i}"
        t = f"l{i}"
        # One fused QKV product; the 1/sqrt(head_dim) scale is folded into the query weights.
        wqkv = np.concatenate([get(f"{p}.attention.self.query.weight").T * scale,
                               get(f"{p}.attention.self.key.weight").T,
                               get(f"{p}.attention.self.value.weight").T], axis=1).astype(np.float32)
        bqkv = np.concatenate([get(f"{p}.attention.self.query.bias") * scale,
                               get(f"{p}.attention.self.key.bias"),
                               get(f"{p}.attention.self.value.bias")]).astype(np.float32)
        qkv = linear(x, "", f"{t}.qkv", weight=wqkv, bias=bqkv)
        nodes.append(helper.make_node("Split", [qkv, const(f"{t}.split", np.array([hidden] * 3, np.int64))],
                                      [f"{t}.q", f"{t}.k", f"{t}.v"], name=f"Split_{t}", axis=-1))
        q = node("Transpose", [node("Reshape", [f"{t}.q", split_shape], f"{t}.q4")], f"{t}.qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [f"{t}.k", split_shape], f"{t}.k4")], f"{t}.kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [f"{t}.v", split_shape], f"{t}.v4")], f"{t}.vt", perm=[0, 2, 1, 3])
        scores = node("Add", [node("MatMul", [q, k], f"{t}.qk"), bias4], f"{t}.scores")
        probs = node("Softmax", [scores], f"{t}.probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"{t}.ctx4")], f"{t}.ctxt", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, merge_shape], f"{t}.ctx")
        attn = linear(ctx, f"{p}.attention.output.dense", f"{t}.attn")
        x = layer_norm(node("Add", [attn, x], f"{t}.res1"), f"{p}.attention.output.LayerNorm", f"{t}.ln1")
        h = linear(x, f"{p}.intermediate.dense", f"{t}.ff1")
        # Exact GELU: 0.5 * h * (1 + erf(h / sqrt(2))).
        erf = node("Erf", [node("Div", [h, const(f"{t}.sqrt2", np.array(np.sqrt(2.0), np.float32))], f"{t}.hs")],
                   f"{t}.erf")
        g = node("Mul", [node("Mul", [h, node("Add", [erf, const(f"{t}.one", np.array(1.0, np.float32))],
                                                f"{t}.erf1")], f"{t}.he"),
                         const(f"{t}.half", np.array(0.5, np.float32))], f"{t}.gelu")
        out = linear(g, f"{p}.output.dense", f"{t}.ff2")
        x = layer_norm(node("Add", [out, x], f"{t}.res2"), f"{p}.output.LayerNorm", f"{t}.ln2")

    # Masked mean pooling over tokens.
    m3 = node("Unsqueeze", [maskf, const("axis2", np.array([2], np.int64))], "pool.m3")
    summed = node("ReduceSum", [node("Mul", [x, m3], "pool.masked"), const("axis1", np.array([1], np.int64))],
                  "pool.sum", keepdims=0)
    count = node("ReduceSum", [maskf, "axis1"], "pool.count", keepdims=1)
    count = node("Max", [count, const("tiny", np.array(1e-9, np.float32))], "pool.count_c")
    emb = node("Div", [summed, count], "pool.mean")
    nodes.append(helper.make_node("Identity", [emb], ["mean_pooled"], name="output.mean_pooled"))
    if normalize:
        norm = node("ReduceL2", [emb], "norm.l2", axes=[1], keepdims=1)  # axes is an attribute before opset 18
        norm = node("Max", [norm, const("eps12", np.array(1e-12, np.float32))], "norm.c")
        emb = node("Div", [emb, norm], "norm.out")
    nodes.append(helper.make_node("Identity", [emb], ["sentence_embedding"], name="output"))

    graph = helper.make_graph(
        nodes, "bert_mean_pooling",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden]),
         helper.make_tensor_value_info("mean_pooled", TensorProto.FLOAT, ["batch", hidden])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="embedlab", producer_version=str(GRAPH_VERSION))
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def cached_onnx(model_dir: Path, fingerprint: str, normalize: bool, int8: bool) -> Path:
    """Path of the float (or int8) ONNX file for ``model_dir``, building and caching it on first use."""
    key = hashlib.sha256(f"{fingerprint}|norm={normalize}|v{GRAPH_VERSION}".encode()).hexdigest()[:20]
    cache = config.home() / "cache" / "onnx"
    float_path = cache / f"bert-{key}-float32.onnx"
    int8_path = cache / f"bert-{key}-int8.onnx"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if not float_path.exists():
            _build_float(model_dir, normalize, float_path)
        if int8 and not int8_path.exists():
            _quantize(float_path, int8_path)
    except ImportError as exc:
        raise MissingDependencyError(f"building the ONNX model needs {exc.name or 'onnx'}: "
                                     f"pip install 'embedlab[text]'") from exc
    except (StorageFullError, ReadOnlyStorageError):
        raise
    except OSError as exc:
        err = storage_error(exc, cache)
        if err is not exc:
            raise err from None
        raise ModelNotFoundError(f"cannot build the ONNX model in {cache}: {exc}; set EMBEDLAB_HOME (or --home) "
                                 f"to a writable folder") from exc
    return int8_path if int8 else float_path


def _build_float(model_dir: Path, normalize: bool, target: Path) -> None:
    import onnx
    from safetensors.numpy import load_file

    weights_file = model_dir / "model.safetensors"
    config_file = model_dir / "config.json"
    for f in (weights_file, config_file):
        if not f.exists():
            raise ModelNotFoundError(f"cannot build the ONNX model: {f} is missing (a BERT folder needs "
                                     f"config.json and model.safetensors)")
    try:
        weights = load_file(str(weights_file))
    except Exception as exc:  # safetensors raises its own error types
        raise CorruptFileError(f"cannot read {weights_file}: {exc}") from exc
    model = build_bert_graph(weights, read_json(config_file, _CONFIG_FIX), normalize)
    with atomic_path(target) as tmp:
        onnx.save_model(model, str(tmp))


def _quantize(float_path: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it logs advice about static-quantisation pre-processing on the root logger
    try:
        with atomic_path(target) as tmp:
            # MatMuls only: int8 weights per output channel, int8 activations scaled per call; embeddings stay float.
            quantize_dynamic(str(float_path), str(tmp), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8,
                             per_channel=True)
    finally:
        root.setLevel(level)
