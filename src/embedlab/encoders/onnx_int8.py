"""int8 for any BERT model folder: ``int8:PATH`` exports it to ONNX with dynamic int8 matrix products on first use.

Any sentence-transformers-style BERT folder works (``config.json``, ``model.safetensors``, ``tokenizer.json``, mean
pooling): ``embedlab finetune --method full`` output, ``embedlab train mlm`` output, or a user's own. The graph is
built from the safetensors weights without torch (``_onnx_export``), quantised with onnxruntime's
``quantize_dynamic`` (int8 weights per output channel, activations scaled per call), and **checked against the
float graph** (which matches the float model within 1e-5) on a fixed probe set of 24 sentences: the lowest cosine
must be at least 0.98, else the export is refused with the figure. Files are cached beside the folder in
``onnx/`` (``model-float32.onnx``, ``model-int8.onnx``, ``int8.json`` with the check), or under
``<embedlab home>/cache/onnx/`` when the folder cannot be written.

    >>> enc = embedlab.encoder("int8:ft/")           # or export_int8("ft/") for the check alone
    >>> enc.info()["int8_check"]                      # {"cosine_min": 0.991, "cosine_mean": 0.996, ...}
"""

from __future__ import annotations

import hashlib
import os
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from ..errors import InputError, MissingDependencyError, ModelNotFoundError
from ..persist import atomic_path, sniff_manifest, versioned, write_json_atomic
from .onnx_text import OnnxMiniLMEncoder, minilm_folder, require_files
from .registry import EncoderSpec, register_resolver

__all__ = ["MIN_COSINE", "PREFIX", "PROBES", "Int8DriftError", "OnnxInt8Encoder", "export_int8", "resolve"]

PREFIX = "int8:"
MIN_COSINE = 0.98
FORMAT = "embedlab.onnx-int8"
FORMAT_VERSION = 1
CHECK = "int8.json"
PROBES = (
    "The quick brown fox jumps over the lazy dog.",
    "A high-speed train crosses the country in a few hours.",
    "How do I reset my password?",
    "The meeting has been moved to Thursday afternoon.",
    "Add two cups of flour and stir until smooth.",
    "The stock market fell sharply after the announcement.",
    "She plays the violin in the city orchestra.",
    "Error: the file could not be opened for writing.",
    "Photosynthesis converts light into chemical energy.",
    "Please keep your seat belt fastened during the flight.",
    "The museum is closed on Mondays.",
    "He scored the winning goal in the final minute.",
    "Install the package with pip and restart the server.",
    "Rain is expected over the weekend in the north.",
    "The committee approved the new budget.",
    "Dogs are loyal companions.",
    "A short history of the printing press.",
    "What is the capital of Australia?",
    "The patient was given antibiotics for the infection.",
    "Turn left at the second traffic light.",
    "빠른 기차가 나라를 가로지른다.",
    "Le chat dort sur le canapé.",
    "Der Zug kommt um acht Uhr an.",
    "kubernetes pod restart loop after upgrade",
)


class Int8DriftError(ModelNotFoundError):
    """The int8 export of a model folder drifts too far from the float model (cosine below ``MIN_COSINE``)."""


def _cache_dir(folder: Path, key: str, packaged: bool) -> Path:
    """``folder/onnx`` when it can be written (and is not an installed package's), else the home's cache.

    Raises
    ------
    PermissionError
        Never out of this function: it marks an installed package's folder as not writable.
    """
    beside = folder / "onnx"
    try:
        if packaged:
            raise PermissionError(beside)  # never write into an installed package
        beside.mkdir(exist_ok=True)
        probe = beside / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return beside
    except OSError:
        home = config.home() / "cache" / "onnx" / key
        home.mkdir(parents=True, exist_ok=True)
        return home


def export_int8(model_path: str | os.PathLike[str] | None = None, min_cosine: float = MIN_COSINE,
                rebuild: bool = False) -> dict[str, Any]:
    """Export a BERT model folder to float and int8 ONNX (cached) and check the int8 model against the float one.

    Parameters
    ----------
    model_path : path-like, optional
        The model folder; None for the packaged all-MiniLM-L6-v2.
    min_cosine : float, default 0.98
        The lowest probe cosine (int8 vs float) accepted.
    rebuild : bool, default False
        Export again even when a checked export is cached.

    Returns
    -------
    dict
        The check record (also ``int8.json``): ``float_path``, ``int8_path``, ``cosine_min``, ``cosine_mean``,
        ``probes``, ``seconds``, ``fingerprint``.

    Raises
    ------
    ModelNotFoundError
        When the folder or a file is missing, or the model cannot be exported (not a mean-pooled BERT: the message
        says which encoder to use instead).
    Int8DriftError
        When the lowest probe cosine is below ``min_cosine`` (the message gives the figure).
    MissingDependencyError
        When onnx or onnxruntime is not installed.
    CorruptFileError
        For damaged weights or configuration.
    InputError
        For a ``min_cosine`` outside (0, 1].
    """
    from ._onnx_export import GRAPH_VERSION, _build_float, _quantize
    from .onnx_text import folder_fingerprint, model_settings

    folder = minilm_folder(None if model_path is None else Path(model_path)).resolve()
    require_files(folder, "config.json", "model.safetensors", "tokenizer.json")
    if not 0.0 < float(min_cosine) <= 1.0:
        raise InputError(f"min_cosine must be in (0, 1], got {min_cosine}")
    fp = folder_fingerprint(folder, packaged=model_path is None)
    _, normalize = model_settings(folder)
    key = hashlib.sha256(f"{fp}|norm={normalize}|v{GRAPH_VERSION}".encode()).hexdigest()[:20]
    cache = _cache_dir(folder, key, packaged=model_path is None)
    check = cache / CHECK
    doc = sniff_manifest(check, FORMAT)
    if (not rebuild and doc is not None and doc.get("key") == key and doc.get("passed")
            and Path(doc.get("int8_path", "")).is_file()):
        return doc
    float_path, int8_path = cache / "model-float32.onnx", cache / "model-int8.onnx"
    started = time.perf_counter()
    try:
        import onnxruntime  # noqa: F401  (the check runs the graphs)

        with atomic_path(float_path) as tmp:
            _build_float(folder, normalize, tmp)
        _quantize(float_path, int8_path)
    except ImportError as exc:
        raise MissingDependencyError(f"the int8 export needs {exc.name or 'onnx'}: pip install 'embedlab[text]'") \
            from exc
    cos = _probe_cosines(folder, float_path, int8_path)
    record = versioned(FORMAT, FORMAT_VERSION, key=key, fingerprint=fp, float_path=str(float_path),
                       int8_path=str(int8_path), cosine_min=round(float(cos.min()), 5),
                       cosine_mean=round(float(cos.mean()), 5), probes=len(cos), min_cosine=float(min_cosine),
                       passed=bool(cos.min() >= min_cosine), seconds=round(time.perf_counter() - started, 1))
    write_json_atomic(check, record)
    if not record["passed"]:
        raise Int8DriftError(f"the int8 export of {folder} drifts from the float model: lowest cosine "
                             f"{record['cosine_min']:.4f} on {len(cos)} probe sentences (mean "
                             f"{record['cosine_mean']:.4f}), below {min_cosine}; use the float model (the folder "
                             "itself, or minilm-onnx with model_path=) instead")
    return record


def _probe_cosines(folder: Path, float_path: Path, int8_path: Path) -> np.ndarray:
    """Cosines between the float and int8 graphs' vectors of ``PROBES``, one sentence per call (no batch noise)."""
    import onnxruntime as ort

    from .onnx_text import load_tokenizer, model_settings

    max_len, _ = model_settings(folder)
    tok = load_tokenizer(folder, max_len)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sessions = [ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"]) for p in (float_path, int8_path)]
    out = []
    for text in PROBES:
        e = tok.encode(text)
        feed = {"input_ids": np.array([e.ids], np.int64), "attention_mask": np.array([e.attention_mask], np.int64)}
        a, b = (s.run(["sentence_embedding"], feed)[0][0] for s in sessions)
        out.append(float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)))
    return np.asarray(out)


class OnnxInt8Encoder(OnnxMiniLMEncoder):
    """Any BERT model folder on onnxruntime with dynamic int8 matrix products, exported and checked on first use.

    See the module docstring; batching caveats as ``minilm-onnx-int8`` (activations are quantised per batch).

    Parameters
    ----------
    model_path : str or path-like, optional
        The model folder; None for the packaged all-MiniLM-L6-v2. The encoder's ``name`` is ``int8:<absolute
        path>``.
    threads : int, optional
        onnxruntime's intra-op threads; default: the usable cores.

    Raises
    ------
    ModelNotFoundError
        When the folder cannot be exported (missing files, not a mean-pooled BERT).
    Int8DriftError
        When the int8 model drifts from the float one (lowest probe cosine below 0.98).
    MissingDependencyError
        When onnx or onnxruntime is not installed.
    """

    int8 = True

    def __init__(self, model_path: str | Path | None = None, threads: int | None = None) -> None:
        self.check = export_int8(model_path)
        super().__init__(model_path=model_path, threads=threads)
        self.name = PREFIX + str(self.folder.resolve())

    def _onnx_file(self) -> Path:
        return Path(self.check["int8_path"])

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``OnnxMiniLMEncoder.info()`` plus the int8 check.

        Returns
        -------
        dict
            Also ``model_path`` and ``int8_check`` (``cosine_min``, ``cosine_mean``, ``probes``).
        """
        c = self.check
        return {**super().info(), "model_path": str(self.folder),
                "int8_check": {k: c.get(k) for k in ("cosine_min", "cosine_mean", "probes", "min_cosine")}}


PACKAGED_NAMES = ("minilm", "sbert", "minilm-onnx")  # the packaged all-MiniLM-L6-v2, by its registered names


def int8_target(target: str, context: str = "") -> Path | None:
    """The model folder that ``int8:TARGET`` (and ``embedlab int8 TARGET``) exports.

    Parameters
    ----------
    target : str
        A model folder's path, or a registered name of the packaged MiniLM (``minilm``, ``sbert``,
        ``minilm-onnx``).
    context : str, default ""
        Put before the error message (e.g. the whole encoder name).

    Returns
    -------
    Path or None
        The folder; None for the packaged MiniLM (by name or by its path).

    Raises
    ------
    InputError
        When ``target`` is neither a folder nor one of those names (the message says what int8 takes).
    """
    target = target.strip()
    if target in PACKAGED_NAMES:
        return None
    folder = Path(target).expanduser()
    if not folder.is_dir():
        raise InputError(f"{context}{target!r} is not a model folder; int8 takes the path of a BERT model folder "
                         f"(config.json, model.safetensors, tokenizer.json) or one of {', '.join(PACKAGED_NAMES)}")
    try:
        if folder.resolve() == minilm_folder(None).resolve():
            return None  # the packaged model by its path: the same encoder as int8:minilm
    except ModelNotFoundError:
        pass
    return folder


def resolve(name: str) -> EncoderSpec | None:
    """The registry's resolver for ``int8:PATH`` (a model folder) and ``int8:minilm`` (the packaged MiniLM).

    Parameters
    ----------
    name : str
        An encoder name.

    Returns
    -------
    EncoderSpec or None
        Named ``int8:<absolute path>``; None when ``name`` does not start with ``int8:``, or is a fused name
        (``int8:a+b``: int8 binds to its first member) unless that is a folder's path.

    Raises
    ------
    InputError
        When the path is not a folder.
    """
    if not name.startswith(PREFIX):
        return None
    if "+" in name and not Path(name[len(PREFIX):].strip()).expanduser().is_dir():
        return None  # int8:a+b is int8:a fused with b (encoders/fused.py), whichever resolver runs first
    model_path = int8_target(name[len(PREFIX):], f"{name!r}: ")
    folder = minilm_folder(model_path).resolve()
    return EncoderSpec(name=PREFIX + str(folder), factory=partial(OnnxInt8Encoder, model_path),
                       dim=0, modalities=("text",), requires=("onnxruntime", "onnx", "tokenizers", "safetensors"),
                       extra="text", description=f"int8 ONNX export of {folder.name} (checked against the float model)")


register_resolver(resolve)
