"""Know the cost before paying it: what an index will take in memory and time, predicted before it is built.

Memory (resident and on disk), build time and query time of an index are predicted from per-operation constants
measured on this machine.

``calibrate()`` runs a short micro-benchmark (about 10-30 s: scans of float32, float16, int8 and binary codes,
a batched product, two small HNSW builds and searches with FAISS's distance counters, a k-means, a rescoring
gather, a disk write) and ``constants()`` caches its result in the embedlab home, keyed by this machine (CPU,
cores, threads, FAISS version). ``estimate(count, dim, index, precision, ...)`` then combines them:

- scans cost bytes read (memory-bound) or code work (compute-bound), whichever is larger;
- HNSW computes ``β · ef · M`` distances per query (β from FAISS's own distance counter; at most n) and does
  ``(a + b · ln n) · efC`` units of work per insertion (fitted from two timed builds; M changes it little; at
  most the rows present, (n − 1) / 2 on average), each a distance plus an overhead;
- IVF scans ``n · nprobe / nlist`` codes plus the centroids, and trains ``TRAIN_ITERS`` rounds of k-means;
- rescoring reads ``rescore × k`` float32 rows per query;
- memory counts codes, graph links (``4 · (2M + M/(M−1)) + 12`` bytes a node in FAISS's HNSW), our id maps
  (25 bytes a row), centroids, and for float32 exact search the scanned rows themselves (they stay on disk
  but every query reads them all, so they are the working set).

    >>> est = estimate(1_000_000, 384, index="hnsw", precision="int8")      # doctest: +SKIP
    >>> est.resident_bytes / 2**20, est.build_s, est.query_s                 # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from .._threads import cpu_count
from ..errors import InputError
from ..persist import write_json_atomic
from . import make_index
from .base import Index
from .coded import CodedIndex
from .compressed import CompressedExactIndex
from .exact import ExactIndex
from .ivf import RECOMMENDED_PER_LIST, IVFIndex
from .kernels import faiss, query_threads
from .quantize import binary_bytes, check_precision, code_bytes

CONSTANTS_FORMAT = 4  # 2: coded_build_dim_s / binary_build_dim_s, fastest-of timings; 3: HNSW on wider clusters;
# 4: no gemv_byte_s (one exact query is FAISS's scan at every width)
ID_MAP_BYTES = 25  # per row: position -> id (8), tombstone (1), sorted ids (8), their positions (8)
EXACT_ID_BYTES = 24  # ExactIndex over a matrix: ids, sort order, sorted ids
TRAIN_ITERS = 10  # FAISS k-means iterations (its default niter for IVF training)
DEFAULTS = {"hnsw": {"M": 32, "ef_construction": 100, "ef_search": 128}, "ivf": {"nlist": 1024, "nprobe": 16, "m": 0,
                                                                                "nbits": 8}}


@dataclass
class Constants:
    """Seconds per elementary operation on this machine (see the module docstring)."""

    machine: str
    scan_byte_s: float  # float32 flat scan (FAISS), one query, per byte of rows (memory-bound)
    f32_dim_s: float  # one float32 distance, per dimension, rows in cache
    fp16_dim_s: float  # float16 code scan, per dimension
    sq8_dim_s: float  # int8 code scan, per dimension
    bin_byte_s: float  # Hamming scan, per code byte ...
    bin_row_s: float  # ... plus per row (heap test), so a row costs bin_row_s + bytes · bin_byte_s
    gemm_s: float  # batched float32 product, per multiply-add
    sq_encode_dim_s: float  # coding float16 / int8, per dimension (FAISS alone; IVF-SQ adds)
    coded_build_dim_s: float  # an exact int8 index through our layer: calibration + coding + id maps (float16,
    binary_build_dim_s: float  # not measured, is charged the same), and a binary one; per row and dimension
    hnsw_node_s: float  # per distance evaluated in a graph walk, beyond the distance itself
    hnsw_query_beta: float  # distances per query / (ef · M)
    hnsw_build_a: float  # work per insertion / efC = a + b · ln(n) (M barely matters)
    hnsw_build_b: float
    hnsw_build_node_s: float  # per unit of that work, beyond one distance (neighbour pruning, locks, links)
    rescore_row_s: float  # fetch + score one float32 row, per dimension
    ivf_row_dim_s: float  # IVF-Flat list scan, per scanned row and dimension
    pq_code_s: float  # IVF-PQ list scan, per scanned row and sub-quantizer
    kmeans_s: float  # k-means training, per (training row · centroid · dimension · iteration)
    call_s: float  # fixed cost of one search call through our layer (float32 codes)
    coded_call_s: float  # the same for compressed codes: query coding, candidate fetch and re-ranking included
    write_byte_s: float  # writing an index file, per byte
    created: str = ""
    format: int = CONSTANTS_FORMAT
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Estimate:
    """What an index of ``count`` × ``dim`` vectors is predicted to cost."""

    kind: str
    precision: str
    params: dict[str, Any]
    count: int
    dim: int
    resident_bytes: int  # memory the index keeps (codes, graph, maps; float32 exact: its working set)
    disk_bytes: int  # the float32 segments plus the saved index
    build_s: float
    query_s: float  # one query at a time (batch 1)
    batch_query_s: float  # per query, in batches of ``batch``
    batch: int = 1000

    def as_dict(self) -> dict[str, Any]:
        """The estimate as plain values (for JSON).

        Returns
        -------
        dict
            Field name -> value (``dataclasses.asdict``).
        """
        return asdict(self)


# ---------------------------------------------------------------------------------------------- calibration
def machine_key() -> str:
    """What the constants depend on: CPU model, usable cores, thread settings, FAISS version.

    Returns
    -------
    str
        ``"<cpu model>|cores=<n>|omp=<OMP_NUM_THREADS>|faiss=<version>"``.
    """
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return f"{model}|cores={cpu_count()}|omp={threads}|faiss={faiss.__version__}"


def _best(fn: Any, repeats: int = 3, one_thread: bool = True) -> float:
    """The fastest of ``repeats`` calls (after one warm-up), in seconds.

    Other processes only ever add time, so the minimum is the estimate least moved by a busy machine (as
    ``timeit`` advises). One-query work runs on one FAISS thread, as the indexes run it
    (``kernels.query_threads``).
    """
    with query_threads(1 if one_thread else 2):
        fn()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return float(np.min(times))


def calibrate(quick: bool = False, seed: int = 0) -> Constants:
    """Measure the per-operation constants now (about 10-30 s).

    Parameters
    ----------
    quick : bool
        Use smaller sizes (60,000 rows instead of 250,000; for tests).
    seed : int
        Seeds the synthetic rows and queries (``realistic``).

    Returns
    -------
    Constants
        Seconds per operation on this machine, keyed by ``machine_key()``.
    """
    rng = np.random.default_rng(seed)
    n, d = (60_000, 128) if quick else (250_000, 128)
    x = realistic(rng, n, d)  # embedding-like rows: IVF lists are as unbalanced as real ones
    q1 = np.ascontiguousarray(x[7:8])
    flat = faiss.IndexFlatIP(d)
    flat.add(x)
    scan_byte_s = _best(lambda: flat.search(q1, 10)) / (n * d * 4)
    small = faiss.IndexFlatIP(d)
    small.add(x[:2000])
    qs = rng.standard_normal((64, d)).astype(np.float32)
    f32_dim_s = _best(lambda: [small.search(qs[i : i + 1], 10) for i in range(16)]) / (16 * 2000 * d)
    qb = rng.standard_normal((256, d)).astype(np.float32)
    sub = faiss.IndexFlatIP(d)
    sub.add(x[:20_000])
    gemm_s = _best(lambda: sub.search(qb, 10), one_thread=False) / (256 * 20_000 * d)
    sq_s = {}
    for name, qt in (("fp16", faiss.ScalarQuantizer.QT_fp16), ("sq8", faiss.ScalarQuantizer.QT_8bit)):
        sq = faiss.IndexScalarQuantizer(d, qt, faiss.METRIC_INNER_PRODUCT)
        sq.train(x[:5000])
        t0 = time.perf_counter()
        sq.add(x)
        enc = (time.perf_counter() - t0) / (n * d)
        sq_s[name] = _best(lambda sq=sq: sq.search(q1, 10)) / (n * d)
        sq_s[name + "_enc"] = enc
    per_row = []
    for nbytes in (8, 64):  # two code sizes: a per-row and a per-byte cost
        codes = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
        bf = faiss.IndexBinaryFlat(8 * nbytes)
        bf.add(codes)
        per_row.append(_best(lambda bf=bf, codes=codes: bf.search(codes[:1], 20)) / n)
    bin_byte_s = max(1e-12, (per_row[1] - per_row[0]) / 56)
    bin_row_s = max(1e-12, per_row[0] - 8 * bin_byte_s)
    hn = _hnsw_constants(rng, quick, f32_dim_s)
    ivf = _ivf_constants(x, q1)
    rows = x[:50_000]
    picks = np.sort(rng.choice(len(rows), 400, replace=False))
    rescore_row_s = _best(lambda: np.einsum("ij,j->i", np.take(rows, picks, axis=0), q1[0])) / (400 * d)
    tiny = ExactIndex.from_matrix(np.arange(64), x[:64], "dot")
    call_s = _best(lambda: [tiny.search(q1, 10) for _ in range(50)], repeats=5) / 50
    coded = CompressedExactIndex(d, "dot", precision="int8", rescore=2)
    coded.set_vector_source(lambda ids: x[ids])
    coded.train(x[:2000])
    coded.add(np.arange(64), x[:64])
    coded_call_s = _best(lambda: [coded.search(q1, 10) for _ in range(50)], repeats=5) / 50
    build = {p: _best(lambda p=p: _coded_build(x, p), repeats=2, one_thread=False) / (n * d)
             for p in ("int8", "binary")}
    with tempfile.TemporaryDirectory() as tmp:
        blob = x[: (8_000 if quick else 64_000)].tobytes()

        def write() -> None:
            with open(Path(tmp) / "w.bin", "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())

        write_byte_s = _best(write, repeats=2) / len(blob)
    fields: dict[str, Any] = dict(
        machine=machine_key(), scan_byte_s=scan_byte_s, f32_dim_s=f32_dim_s,
        fp16_dim_s=sq_s["fp16"], sq8_dim_s=sq_s["sq8"], bin_byte_s=bin_byte_s, bin_row_s=bin_row_s, gemm_s=gemm_s,
        sq_encode_dim_s=(sq_s["fp16_enc"] + sq_s["sq8_enc"]) / 2, rescore_row_s=rescore_row_s, call_s=call_s,
        coded_call_s=coded_call_s, coded_build_dim_s=build["int8"], binary_build_dim_s=build["binary"],
        write_byte_s=write_byte_s, created=time.strftime("%Y-%m-%dT%H:%M:%S"))
    fields.update(hn)
    fields.update(ivf)
    return Constants(**fields)


def _coded_build(x: np.ndarray, precision: str) -> None:
    """Build an exact index of codes over ``x`` the way a collection does: calibrate, then add."""
    coded = CompressedExactIndex(x.shape[1], "dot", precision=precision, rescore=2)
    coded.set_vector_source(lambda ids: x[ids])
    coded.train(x)
    coded.add(np.arange(len(x)), x)


def _ivf_constants(x: np.ndarray, q1: np.ndarray) -> dict[str, float]:
    """IVF: k-means per (row · centroid · dimension · iteration), list scans per row (flat) and per code (PQ)."""
    n, d = x.shape
    nlist, m = 64, 16
    big = 128 if n < 100_000 else 256  # a k-means large enough that its products, not its overhead, dominate
    sample = np.ascontiguousarray(x[: 60 * big])

    def kmeans() -> None:
        """One FAISS k-means of ``big`` centroids over the sample (``TRAIN_ITERS`` iterations)."""
        km = faiss.Clustering(d, big)
        km.niter = TRAIN_ITERS
        km.verbose = False
        km.train(sample, faiss.IndexFlatL2(d))

    kmeans_s = _best(kmeans, repeats=2, one_thread=False) / (len(sample) * big * d * TRAIN_ITERS)
    train = np.ascontiguousarray(x[: 64 * nlist])
    flat = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    flat.train(train)
    flat.add(x)
    flat.nprobe = 8
    qs = np.ascontiguousarray(x[::max(1, n // 32)][:32])  # queries where the data is: the lists they probe are big
    ivf_row_dim_s = _best(lambda: [flat.search(qs[i : i + 1], 10) for i in range(32)]) / (32 * n * 8 / nlist * d)
    pq = faiss.IndexIVFPQ(faiss.IndexFlatIP(d), d, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
    pq.train(np.ascontiguousarray(x[:10_000]))  # 39 rows per PQ centroid: no FAISS warning
    pq.add(x)
    pq.nprobe = 8
    pq_code_s = _best(lambda: [pq.search(qs[i : i + 1], 10) for i in range(32)]) / (32 * n * 8 / nlist * m)
    return {"ivf_row_dim_s": ivf_row_dim_s, "pq_code_s": pq_code_s, "kmeans_s": kmeans_s}


def _hnsw_constants(rng: np.random.Generator, quick: bool, f32_dim_s: float) -> dict[str, float]:
    """Fit the HNSW walk: distances per query and per insertion (FAISS's counters), and the seconds each costs."""
    d, M, efc, ef = 64, 16, 64, 64
    sizes = (6_000, 15_000) if quick else (10_000, 40_000)  # small builds are dominated by per-call overhead
    per_insert: list[float] = []  # seconds per insertion at each size
    index = None
    # HNSW walks are longer on real embeddings than on tight clusters: at M 16, efC 64, ef 64 over 30k rows FAISS
    # counted 1,006 distances a query on MiniLM sentences and 762 on GloVe, 342 with the default spread and 923
    # with these wider, noisier clusters, which the graph is calibrated on
    data = realistic(rng, sizes[-1] + 400, d, spread=1.0, noise=0.3)
    for n in sizes:
        x = data[:n]
        index = faiss.IndexHNSWFlat(d, M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = efc
        t0 = time.perf_counter()
        index.add(x)
        per_insert.append((time.perf_counter() - t0) / n)
    assert index is not None
    (n1, n2), (s1, s2) = sizes, per_insert
    # seconds per insertion = efC · (1 + b · ln n) · (distance + overhead): b from the growth between the sizes.
    # M barely matters (measured: M 16 -> 32 at efC 64 changed the build by 2%; efC 64 -> 128 by 70%)
    b = (s2 - s1) / (s1 * math.log(n2) - s2 * math.log(n1))
    b = min(max(b, 0.0), 0.5) if math.isfinite(b) else 0.0
    a = 1.0
    build_node_s = max(1e-9, s1 / (efc * (a + b * math.log(n1))) - f32_dim_s * d)
    q = data[-400:]
    params = faiss.SearchParametersHNSW()
    params.efSearch = ef
    stats = faiss.cvar.hnsw_stats
    stats.reset()
    index.search(q[:50], 10, params=params)
    ndis = float(stats.ndis) / 50 or float(ef * M)
    secs = _best(lambda: [index.search(q[i : i + 1], 10, params=params) for i in range(100)]) / 100
    return {"hnsw_node_s": max(1e-9, secs / ndis - f32_dim_s * d), "hnsw_query_beta": ndis / (ef * M),
            "hnsw_build_a": a, "hnsw_build_b": b, "hnsw_build_node_s": build_node_s}


def realistic(rng: np.random.Generator, n: int, d: int, spread: float = 0.5, noise: float = 0.1) -> np.ndarray:
    """Unit rows shaped like embeddings rather than noise.

    200 clusters in a 32-d latent space, lifted to d dims with a little noise (graph builds and walks on uniform
    noise take several times longer than on real vectors).

    Parameters
    ----------
    rng : np.random.Generator
        The random source.
    n : int
        Rows.
    d : int
        Dimension.
    spread : float
        The clusters' width in the latent space (their centres are standard normal).
    noise : float
        Standard deviation of the noise added after the lift to ``d`` dims.

    Returns
    -------
    np.ndarray
        ``(n, d)`` float32, C order, unit rows.
    """
    centers = rng.standard_normal((200, 32))
    lat = centers[rng.integers(0, 200, n)] + spread * rng.standard_normal((n, 32))
    x = lat @ rng.standard_normal((32, d)) + noise * rng.standard_normal((n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def constants_path() -> Path:
    """Where ``constants`` caches this machine's constants.

    Returns
    -------
    Path
        ``<embedlab home>/plan/constants.json``.
    """
    return config.home() / "plan" / "constants.json"


def constants(recalibrate: bool = False) -> Constants:
    """The constants of this machine: read from the cache, or measured now (``calibrate``) and cached.

    The cache (``constants_path()``) is used when its format and ``machine_key()`` match; an unreadable cache is
    measured again.

    Parameters
    ----------
    recalibrate : bool
        Measure again even when the cache matches.

    Returns
    -------
    Constants
        Seconds per operation on this machine.
    """
    path = constants_path()
    key = machine_key()
    if not recalibrate and path.is_file():
        try:
            doc = json.loads(path.read_text())
            if doc.get("format") == CONSTANTS_FORMAT and doc.get("machine") == key:
                return Constants(**doc)
        except (OSError, ValueError, TypeError):
            pass  # a cache: measure again
    found = calibrate()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, asdict(found))
    return found


# ---------------------------------------------------------------------------------------------- the model
def _dist_s(c: Constants, precision: str, dim: int) -> float:
    """Seconds for one distance between a query and one code, rows in cache."""
    if precision == "binary":
        return c.bin_row_s + binary_bytes(dim) * c.bin_byte_s
    return dim * {"float32": c.f32_dim_s, "float16": c.fp16_dim_s, "int8": c.sq8_dim_s}[precision]


def _scan_s(c: Constants, precision: str, dim: int, rows: float) -> float:
    """One query scanning ``rows`` codes in memory: the larger of reading them and computing them."""
    read = rows * code_bytes(precision, dim) * c.scan_byte_s
    return max(read, rows * _dist_s(c, precision, dim))


def hnsw_graph_bytes(M: int) -> float:
    """Bytes of FAISS HNSW links and level bookkeeping per node (expected over the level draw).

    Parameters
    ----------
    M : int
        Links per node (>= 2): 2M on the bottom layer, M on each upper one, levels drawn with FAISS's
        ``1 / ln M`` multiplier (Malkov & Yashunin 2018).

    Returns
    -------
    float
        ``4 · (2M + M / (M − 1)) + 12``: 4-byte links, an 8-byte offset and a 4-byte level.
    """
    return 4 * (2 * M + M / (M - 1)) + 12


def _check_shape(count: Any, dim: Any) -> None:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise InputError(f"count must be a positive integer, got {count!r}")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise InputError(f"dim must be a positive integer, got {dim!r}")


def _empty_index(dim: int, index: str, precision: str, metric: str, rescore: int | None, params: dict[str, Any]
                 ) -> Index:
    """The (empty) index these settings describe.

    Building it runs the index layer's own checks, so a setting an index refuses (rescore 0, M 0, a PQ size that
    does not divide the dimension, binary IVF, an unknown metric, a float32 index with rescore ...) is refused
    here with the same message. Constructing one is cheap (no rows, no centroids).

    Raises
    ------
    InputError
        An unknown kind or precision, or a setting the index refuses.
    """
    if index not in ("exact", "hnsw", "ivf"):
        raise InputError(f"unknown index kind {index!r}; choose one of exact, hnsw, ivf")
    check_precision(precision, metric)
    kw = dict(params)
    if precision != "float32":
        kw["precision"] = precision
    if rescore is not None:
        kw["rescore"] = rescore
    return make_index(index, int(dim), metric, **kw)


def check_settings(count: int, dim: int, index: str = "exact", precision: str = "float32", metric: str = "cosine",
                   rescore: int | None = None, **params: Any) -> None:
    """Check that an index of these settings can be built over ``count`` rows.

    The index's own checks (see ``estimate``), plus what only the row count decides: IVF searches at most its
    ``nlist`` lists, so ``nprobe`` must not exceed them, and needs at least ``nlist`` training vectors (2^nbits
    with PQ).

    Parameters
    ----------
    count : int
        Rows the index will hold (>= 1).
    dim : int
        Their dimension (>= 1).
    index : str
        ``exact``, ``hnsw`` or ``ivf``.
    precision : str
        ``float32``, ``float16``, ``int8`` or ``binary``.
    metric : str
        ``cosine``, ``dot`` or ``l2``.
    rescore : int, optional
        The rescore factor (compressed codes only).
    **params
        The kind's own settings (``M``, ``nlist``, ``nprobe``, ``m`` ...), as ``make_index`` takes them.

    Raises
    ------
    InputError
        ``count`` or ``dim`` not a positive integer, a setting the index refuses, ``nprobe`` above ``nlist``, or
        fewer rows than an IVF index needs to train.
    """
    _check_shape(count, dim)
    idx = _empty_index(dim, index, precision, metric, rescore, params)
    if not isinstance(idx, IVFIndex):
        return
    nlist, nprobe = idx.params["nlist"], idx.params["nprobe"]
    if nprobe > nlist:
        why = f"a query can scan at most the {nlist} lists there are"
        raise InputError(f"nprobe={nprobe} exceeds nlist={nlist}: {why}; choose nprobe between 1 and {nlist}",
                         cli=f"--nprobe {nprobe} exceeds --nlist {nlist}: {why}; choose --nprobe between 1 and "
                             f"{nlist}")
    need = idx.min_train()
    if int(count) < need:
        pq = f" and 2^nbits = {1 << idx.params['nbits']} for the PQ codebooks" if idx.params["m"] else ""
        raise InputError(f"an IVF index with nlist={nlist} needs at least {need} training vectors (one per list{pq}; "
                         f"{RECOMMENDED_PER_LIST * need} or more recommended), got {int(count)}; plan for more "
                         f"vectors or lower nlist (about 4·sqrt(n) suits n rows)")


def estimate(count: int, dim: int, index: str = "exact", precision: str = "float32", metric: str = "cosine",
             rescore: int | None = None, k: int = 10, batch: int = 1000, consts: Constants | None = None,
             **params: Any) -> Estimate:
    """Predicted memory, disk, build time and query time of an index (see the module docstring for the model).

    Parameters
    ----------
    count : int
        Rows the index will hold (>= 1).
    dim : int
        Their dimension (>= 1).
    index : str
        ``exact`` (default), ``hnsw`` or ``ivf``.
    precision : str
        ``float32`` (default), ``float16``, ``int8`` or ``binary``.
    metric : str
        ``cosine`` (default), ``dot`` or ``l2``.
    rescore : int, optional
        The rescore factor (None: the precision's default).
    k : int
        Results per query the query time is predicted for (the HNSW beam is at least ``rescore × k``).
    batch : int
        Queries per call for ``batch_query_s``.
    consts : Constants, optional
        Per-operation constants (None: ``constants()``, measuring them on first use, 10-30 s).
    **params
        The kind's settings (``M``, ``ef_construction``, ``ef_search``, ``nlist``, ``nprobe``, ``m``, ``nbits``,
        ``train_size``); missing ones take ``make_index``'s defaults.

    Returns
    -------
    Estimate
        Bytes (resident, on disk) and seconds (build, one query, per query in batches).

    Raises
    ------
    InputError
        ``count`` or ``dim`` not a positive integer, or a setting the index refuses (its own message;
        ``check_settings`` also checks what depends on the row count).
    """
    _check_shape(count, dim)
    idx = _empty_index(dim, index, precision, metric, rescore, params)
    c = consts or constants()
    n, d = int(count), int(dim)
    p = {**DEFAULTS.get(index, {}), **params}
    pq_m = int(p.get("m", 0) or 0) if index == "ivf" else 0
    compressed = precision != "float32" or pq_m > 0
    r = int(idx.rescore or 1) if compressed and isinstance(idx, CodedIndex) else 0
    seg_bytes = n * d * 4 + 128
    rescore_s = r * k * d * c.rescore_row_s if compressed else 0.0
    call = c.coded_call_s if compressed else c.call_s
    if index == "exact":
        if precision == "float32":
            resident = n * d * 4 + EXACT_ID_BYTES * n
            index_disk = 0
            build = 0.0
            query = call + _scan_s(c, "float32", d, n)  # one query: FAISS's scan (kernels.faiss_knn)
            per_batch = call / batch + n * d * c.gemm_s
        else:
            resident = n * (code_bytes(precision, d) + ID_MAP_BYTES)
            index_disk = resident
            build = n * d * (c.binary_build_dim_s if precision == "binary" else c.coded_build_dim_s)
            query = call + _scan_s(c, precision, d, n) + rescore_s
            per_batch = query
    elif index == "hnsw":
        M, efc, ef = int(p["M"]), int(p["ef_construction"]), int(p.get("ef_search", 128))
        ef = max(ef, k * (r or 1))
        resident = int(n * (code_bytes(precision, d) + hnsw_graph_bytes(M) + ID_MAP_BYTES))
        index_disk = resident
        dist = _dist_s(c, precision, d)
        # a walk cannot evaluate more distances than there are rows: a query at most n, an insertion at most the
        # rows already present ((n - 1) / 2 on average over the build)
        per_insert = min((c.hnsw_build_a + c.hnsw_build_b * math.log(max(n, 2))) * efc, (n - 1) / 2)
        build = n * max(per_insert, 1.0) * (dist + c.hnsw_build_node_s)
        query = call + min(c.hnsw_query_beta * ef * M, n) * (dist + c.hnsw_node_s) + rescore_s
        per_batch = query
    else:
        nlist, nprobe = int(p["nlist"]), int(p["nprobe"])
        code = pq_m * ((int(p.get("nbits", 8)) + 7) // 8) if pq_m else code_bytes(precision, d)
        resident = nlist * d * 4 + ID_MAP_BYTES * n
        index_disk = n * (code + 8) + nlist * d * 4
        train = min(n, int(p.get("train_size") or max(39 * nlist, min(256 * nlist, 100_000))))
        build = (TRAIN_ITERS * train * nlist * d * c.kmeans_s + n * nlist * d * c.gemm_s
                 + (n * d * c.sq_encode_dim_s if precision != "float32" or pq_m else 0.0))
        if pq_m:  # FAISS trains the PQ codebooks with 25 k-means iterations of 256 centroids
            build += 25 * min(train, 256 * 256) * 256 * d * c.kmeans_s
        scanned = n * min(nprobe, nlist) / nlist
        if pq_m:
            scan = scanned * pq_m * c.pq_code_s + 256 * d * c.f32_dim_s
        else:
            scan = scanned * d * c.ivf_row_dim_s * (code_bytes(precision, d) / (4 * d) if precision != "float32"
                                                    else 1.0)
        query = call + nlist * d * c.f32_dim_s + scan + rescore_s
        per_batch = nlist * d * c.gemm_s + scan + rescore_s
    build += index_disk * c.write_byte_s
    shown = {key: v for key, v in p.items() if v is not None}
    if compressed:
        shown["rescore"] = r
    return Estimate(kind=index, precision=precision, params=shown, count=n, dim=d, resident_bytes=int(resident),
                    disk_bytes=int(seg_bytes + index_disk), build_s=float(build), query_s=float(query),
                    batch_query_s=float(per_batch), batch=batch)


#: the settings each kind takes besides precision and rescore (its constructor's)
SETTINGS = {"exact": (), "hnsw": ("M", "ef_construction", "ef_search", "seed"),
            "ivf": ("nlist", "nprobe", "m", "nbits", "train_size", "seed")}


def check_plan(count: int, dim: int, indexes: tuple[str, ...] | None = None,
               precisions: tuple[str, ...] | None = None, metric: str = "cosine", **params: Any
               ) -> list[tuple[str, str, int | None, dict[str, Any]]]:
    """The combinations ``plan`` estimates, each checked (``check_settings``).

    Needs no constants: bad input is refused before this machine is measured.

    Parameters
    ----------
    count : int
        Rows the index will hold (>= 1).
    dim : int
        Their dimension (>= 1).
    indexes : tuple of str, optional
        Kinds to plan (default: exact, hnsw, ivf).
    precisions : tuple of str, optional
        Precisions to plan (default: all four).
    metric : str
        ``cosine`` (default), ``dot`` or ``l2``.
    **params
        Settings, each given to the kinds that take it (``rescore`` to every combination with compressed codes).

    Returns
    -------
    list of tuple
        ``(kind, precision, rescore, the kind's settings)`` per combination, kinds in the order given.

    Raises
    ------
    InputError
        As ``plan`` describes: ``count`` or ``dim`` not a positive integer, an unknown kind, a setting none of
        the kinds takes, or a combination that an index refuses (asked for explicitly, or any setting it refuses).
    """
    _check_shape(count, dim)
    kinds = tuple(indexes) if indexes else ("exact", "hnsw", "ivf")
    precs = tuple(precisions) if precisions else ("float32", "float16", "int8", "binary")
    for kind in kinds:
        if kind not in SETTINGS:
            raise InputError(f"unknown index kind {kind!r}; choose one of exact, hnsw, ivf")
    for key in params:
        takers = [kind for kind in SETTINGS if key in SETTINGS[kind]]
        if key == "rescore" or any(kind in takers for kind in kinds):
            continue
        raise InputError(f"{key} does not apply to {' or '.join(kinds)} indexes" + (
            f" (it is a setting of {' and '.join(takers)})" if takers else
            f"; settings: {', '.join(sorted({s for own in SETTINGS.values() for s in own} | {'rescore'}))}"))
    ivf_given = any(key in params for key in SETTINGS["ivf"])
    out = []
    for kind in kinds:
        for prec in precs:
            own = {key: v for key, v in params.items() if key in SETTINGS[kind]}
            rescore = params.get("rescore")
            if prec == "float32" and not (kind == "ivf" and own.get("m")) and not precisions:
                rescore = None  # a default list: rescore is for the rows with compressed codes
            if prec == "binary" and kind == "ivf":
                skip = not (indexes and precisions)  # IVF has no binary codes
            elif prec == "binary" and metric == "l2":
                skip = not precisions  # binary codes have no l2
            elif kind == "ivf" and own.get("m") and prec != "float32":
                skip = not precisions  # PQ codes are their own compression
            elif kind == "ivf" and not ivf_given and int(count) < DEFAULTS["ivf"]["nlist"]:
                skip = not indexes  # too few rows to train the default lists
            else:
                skip = False
            if not skip:
                check_settings(count, dim, kind, prec, metric, rescore, **own)
                out.append((kind, prec, rescore, own))
    return out


def plan(count: int, dim: int, indexes: tuple[str, ...] | None = None, precisions: tuple[str, ...] | None = None,
         metric: str = "cosine", consts: Constants | None = None, **params: Any) -> list[Estimate]:
    """``estimate`` for every combination of ``indexes`` and ``precisions``, each kind with the ``params`` it takes.

    Combinations that cannot exist (IVF has no binary codes, l2 no binary, PQ no other codes, an IVF with the
    default nlist over fewer rows than lists) are left out of a default list; asked for explicitly they raise the
    index's InputError, as does any setting an index refuses (``check_settings``) or that none of the kinds asked
    for takes.

    Parameters
    ----------
    count : int
        Rows the index will hold (>= 1).
    dim : int
        Their dimension (>= 1).
    indexes : tuple of str, optional
        Kinds to plan (default: exact, hnsw, ivf).
    precisions : tuple of str, optional
        Precisions to plan (default: all four).
    metric : str
        ``cosine`` (default), ``dot`` or ``l2``.
    consts : Constants, optional
        Per-operation constants (None: ``constants()``, measured on first use, after the input is checked).
    **params
        Settings, each given to the kinds that take it (``M``, ``nlist``, ``nprobe``, ``m``, ``rescore`` ...).

    Returns
    -------
    list of Estimate
        One per combination, in the order of ``check_plan``.

    Raises
    ------
    InputError
        As described above.
    """
    combos = check_plan(count, dim, indexes, precisions, metric, **params)
    return estimate_all(count, dim, combos, metric, consts or constants())


def estimate_all(count: int, dim: int, combos: list[tuple[str, str, int | None, dict[str, Any]]], metric: str,
                 consts: Constants) -> list[Estimate]:
    """``estimate`` of each combination ``check_plan`` returned.

    The combinations are already checked: bad settings were refused before the constants were measured.

    Parameters
    ----------
    count : int
        Rows the index will hold.
    dim : int
        Their dimension.
    combos : list of tuple
        ``(kind, precision, rescore, settings)`` from ``check_plan``.
    metric : str
        ``cosine``, ``dot`` or ``l2``.
    consts : Constants
        Per-operation constants.

    Returns
    -------
    list of Estimate
        One per combination, in order.
    """
    return [estimate(count, dim, kind, prec, metric, rescore, consts=consts, **own)
            for kind, prec, rescore, own in combos]


def index_memory_bytes(index: Index) -> int:
    """What a built index actually holds in memory: the figure ``estimate`` predicts as ``resident_bytes``.

    Parameters
    ----------
    index : Index
        A built index.

    Returns
    -------
    int
        ``index.memory_bytes()``: codes, graph, id maps; float32 exact search: its rows.

    Raises
    ------
    InputError
        ``index`` is not an ``Index``.
    """
    if not isinstance(index, Index):
        raise InputError(f"cannot measure a {type(index).__name__}")
    return index.memory_bytes()
