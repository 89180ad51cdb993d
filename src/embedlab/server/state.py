"""What one server process holds: thread-guarded encoders, one open Collection per name, the vectors sets
it may serve, a small cache of explorer projections and the background-job worker that computes the slow ones.

Request handlers run in a thread pool, so everything here is shared between threads:
- encoders: one lock per encoder (some model runtimes are not re-entrant; an Encoder itself keeps no per-call
  state), and collections are opened with the guarded encoder so their own encoding (documents on writes,
  queries on searches) goes through the same lock;
- collections: one ``Collection`` object per name for the whole process (the store's single-writer rule: its
  mutex and file lock serialise writes; readers search committed snapshots);
- vectors sets: only names configured at start-up (``glove-50`` by default), never a path from a request.
"""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders import DEFAULT_ENCODER, Encoder
from ..encoders import encoder as build_encoder
from ..encoders.registry import spec as encoder_spec
from ..errors import CollectionNotFoundError, EmbedlabError, InputError, UnknownKeyError, did_you_mean
from ..io.glove import load_glove
from ..store import Collection
from ..store.manifest import check_name
from ..vectors import Vectors
from .errors import Scrubber, error_answer
from .jobs import Job, JobRunner, Report
from .limits import Limits
from .projector_cache import ProjectorCache

GLOVE_WORDS = 50_000  # the explorer's GloVe set: the 50k most frequent words
#: A projection's cache key: ``("c" | "v", name, ...settings, generation)``.
ProjectionKey = tuple[Any, ...]
#: A computed projection, JSON-ready.
Projection = dict[str, Any]


class _Request:
    __slots__ = ("items", "normalize", "role", "result", "error")

    def __init__(self, items: list[Any], normalize: bool, role: str | None = None) -> None:
        self.items, self.normalize, self.role = items, normalize, role
        self.result: np.ndarray | None = None
        self.error: BaseException | None = None


class GuardedEncoder(Encoder):
    """An encoder whose every call holds one lock: safe to share between request threads.

    Small calls that arrive while the model is busy are coalesced: the next free caller encodes everything
    queued in one batch and hands each request its rows (dynamic batching, as inference servers do). A batch
    of 8 short texts costs about as much as 1-2 single ones, so concurrent clients get far more throughput,
    and an idle server adds no delay. Vectors equal those of separate calls up to float rounding (~1e-7).
    Only requests of the same role (query, document or plain) and normalisation are coalesced.
    """

    def __init__(self, inner: Encoder, max_coalesce: int = 64) -> None:
        self.inner, self.lock = inner, threading.Lock()
        self.name, self.dim, self.modalities = inner.name, inner.dim, tuple(inner.modalities)
        self.metric, self.max_length, self.asymmetric = inner.metric, inner.max_length, inner.asymmetric
        self.matryoshka_dims, self.has_tokenizer = inner.matryoshka_dims, inner.has_tokenizer
        self.special_tokens = inner.special_tokens
        self.languages = inner.languages
        self.max_coalesce = max_coalesce
        self._cv = threading.Condition()
        self._queue: list[_Request] = []
        self._busy = False
        self.batches = self.coalesced = 0  # how many model calls, and how many requests they served

    def encode(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
               normalize: bool = True) -> np.ndarray:
        """``Encoder.encode`` under the lock, small calls coalesced (``progress`` is ignored)."""
        return self._guarded(items, None, batch_size, normalize)

    def encode_queries(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
                       normalize: bool = True) -> np.ndarray:
        """``Encoder.encode_queries`` under the lock, small calls coalesced."""
        return self._guarded(items, "query", batch_size, normalize)

    def encode_documents(self, items: Sequence[Any] | str, batch_size: int = 64, progress: bool = False,
                         normalize: bool = True) -> np.ndarray:
        """``Encoder.encode_documents`` under the lock, small calls coalesced."""
        return self._guarded(items, "document", batch_size, normalize)

    def _guarded(self, items: Sequence[Any] | str | bytes, role: str | None, batch_size: int,
                 normalize: bool) -> np.ndarray:
        given: list[Any] = [items] if isinstance(items, (str, bytes)) else list(items)
        given = self.inner.validate(given) if given else given
        if not given or len(given) > self.max_coalesce // 4:  # big calls (writes) go straight to the model
            with self.lock:
                return self._run(given, role, batch_size, normalize)
        req = _Request(given, normalize, role)
        with self._cv:
            self._queue.append(req)
            while req.result is None and req.error is None:
                if self._busy:
                    self._cv.wait()
                    continue
                batch = self._take(req)
                self._busy = True
                self._cv.release()
                try:
                    self._serve(batch, batch_size)
                finally:
                    self._cv.acquire()
                    self._busy = False
                    self._cv.notify_all()
        if req.error is not None:
            raise req.error
        assert req.result is not None  # the loop above ends with a result or an error
        return req.result

    def _take(self, first: _Request) -> list[_Request]:
        """Queued requests (same role and normalisation as the oldest) up to ``max_coalesce`` items, oldest
        first."""
        head = self._queue[0] if self._queue else first
        batch: list[_Request] = []
        rest: list[_Request] = []
        n = 0
        for r in self._queue:
            same = r.normalize == head.normalize and r.role == head.role
            if same and (not batch or n + len(r.items) <= self.max_coalesce):
                batch.append(r)
                n += len(r.items)
            else:
                rest.append(r)
        self._queue = rest
        return batch

    def _serve(self, batch: list[_Request], batch_size: int) -> None:
        try:
            self._serve_batch(batch, batch_size)
        finally:  # never leave a waiting request without an answer
            for r in batch:
                if r.result is None and r.error is None:
                    r.error = RuntimeError("the encoder stopped while this request was queued; retry it")

    def _serve_batch(self, batch: list[_Request], batch_size: int) -> None:
        items = [x for r in batch for x in r.items]
        with self.lock:
            try:
                out = self._run(items, batch[0].role, max(batch_size, len(items)), batch[0].normalize)
            except Exception:  # one request's bad input must not fail its neighbours: retry one by one
                out = None
            if out is not None:
                self.batches, self.coalesced = self.batches + 1, self.coalesced + len(batch)
                start = 0
                for r in batch:
                    r.result = out[start:start + len(r.items)]
                    start += len(r.items)
                return
            for r in batch:
                try:
                    r.result = self._run(r.items, r.role, batch_size, r.normalize)
                except Exception as exc:  # handed to the request's own thread
                    r.error = exc

    def _run(self, items: list[Any], role: str | None, batch_size: int, normalize: bool) -> np.ndarray:
        return self.inner.encode_role(items, role, batch_size=batch_size, progress=False, normalize=normalize)

    def _encode_batch(self, items: list[Any]) -> np.ndarray:  # pragma: no cover - encode() is overridden
        with self.lock:
            return self.inner.encode(items, batch_size=max(1, len(items)), normalize=False)

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def tokenize(self, text: str) -> list[str]:
        """The inner encoder's tokens of ``text`` (under the lock: a tokenizer is not always thread-safe)."""
        with self.lock:
            return self.inner.tokenize(text)

    def count_tokens(self, texts: list[str]) -> int:
        """Tokens the model sees (its tokenizer when it has one, else whitespace words), for usage counts."""
        if self.inner.has_tokenizer:
            with self.lock:
                return sum(min(len(self.inner.tokenize(t)), self.max_length or 1 << 30) for t in texts)
        return sum(len(t.split()) for t in texts)


def default_vectors_sets() -> dict[str, Callable[[], Vectors]]:
    """The vectors sets a server offers unless told otherwise (loaded lazily, memory-mapped)."""

    def glove50() -> Vectors:
        return load_glove(limit=GLOVE_WORDS)

    return {"glove-50": glove50}


class ServerState:
    """Shared, thread-safe resources of one server (see the module docstring)."""

    def __init__(self, home: Path, api_key: str | None, public_reads: bool, limits: Limits,
                 vectors_sets: dict[str, Vectors | Callable[[], Vectors]] | None,
                 encoder_threads: int | None = None, scrubber: Scrubber | None = None,
                 model_folders: dict[str, Path] | None = None) -> None:
        self.home, self.api_key, self.public_reads, self.limits = home, api_key, public_reads, limits
        self.encoder_threads = encoder_threads
        # model folders the operator offered (``embedlab serve --encoder PATH``), by folder name; a request can
        # name only these and registered encoders, never a path of its own
        self.model_folders = dict(model_folders or {})
        self.root = home / "collections"
        self.root.mkdir(parents=True, exist_ok=True)
        self.scrubber = scrubber or Scrubber(home, self.root)
        self.jobs = JobRunner(self.describe_error, max_pending=limits.max_pending_jobs)
        self._epochs: dict[str, int] = {}  # bumped when a name is dropped: cached projections never outlive it
        self._lock = threading.RLock()
        self._encoders: dict[str, GuardedEncoder] = {}
        self._collections: dict[str, Collection] = {}
        self._vector_sources = dict(default_vectors_sets() if vectors_sets is None else vectors_sets)
        for name in self._vector_sources:
            check_name(name)
        self._vectors: dict[str, Vectors] = {}
        self._projections: OrderedDict[ProjectionKey, Projection] = OrderedDict()
        self.projector = ProjectorCache(home / "projector")  # the projector's tables and layouts (routes_projector)

    # ------------------------------------------------------------------ encoders
    def model_name(self, name: str) -> str:
        """The registry name for a model a request names: a registered encoder (or alias), or a model folder this
        server was started with, by its folder name. InputError for a path: requests never make the server load
        a folder of their choosing (`embedlab serve --encoder PATH` offers one)."""
        folder = self.model_folders.get(name)
        if folder is not None:
            return str(folder)
        if "/" in name or "\\" in name or name.startswith((".", "~")):
            offered = ", ".join(sorted(self.model_folders)) or "none"
            raise InputError(f"a model is named, not given as a path; this server offers model folders only when "
                             f"started with `embedlab serve --encoder PATH`, by folder name (offered: {offered})")
        return name  # checked (and made canonical) by the registry where it is used

    def encoder(self, name: str) -> GuardedEncoder:
        """The guarded, shared encoder ``name`` (built on first use; aliases map to the same instance)."""
        canonical = encoder_spec(name).name
        with self._lock:
            enc = self._encoders.get(canonical)
        if enc is None:
            options = {}
            if self.encoder_threads and "threads" in inspect.signature(encoder_spec(canonical).factory).parameters:
                options["threads"] = self.encoder_threads
            inner = build_encoder(canonical, **options)  # the registry builds each encoder once per process
            with self._lock:
                enc = self._encoders.setdefault(canonical, GuardedEncoder(inner))
        return enc

    def encoder_stats(self) -> dict[str, dict[str, int]]:
        """Per loaded encoder: model calls and the requests they served (coalescing at work)."""
        with self._lock:
            return {n: {"model_calls": e.batches, "requests": e.coalesced} for n, e in self._encoders.items()}

    # ------------------------------------------------------------------ collections
    def collection(self, name: str) -> Collection:
        """The process's one open Collection ``name``; 404 (CollectionNotFoundError) when it does not exist."""
        check_name(name)
        with self._lock:
            col = self._collections.get(name)
            if col is not None:
                return col
            if not (self.root / name).is_dir():
                names = Collection.names(self.root)
                guess = did_you_mean(name, names)
                raise CollectionNotFoundError(f"no collection named {name!r} (existing: {', '.join(names) or 'none yet'}"
                                              f"); {guess + ' Or create' if guess else 'create'} it with "
                                              "POST /api/collections")
            with Collection.open(name, None, root=self.root, readonly=True) as peek:  # which encoder built it
                enc_name = peek.info()["encoder"].get("name")
            enc = None
            if enc_name:
                try:
                    enc = self.encoder(enc_name)
                except EmbedlabError:  # not installed here: vector queries still work
                    enc = None
            col = Collection.open(name, enc, root=self.root)
            self._collections[name] = col
            return col

    def create_collection(self, name: str, encoder: str | None, dim: int | None, metric: str | None,
                          index: str) -> Collection:
        """Create a collection (encoder-backed, or vectors-only when ``dim`` is given without an encoder)."""
        check_name(name)
        enc = self.encoder(self.model_name(encoder or DEFAULT_ENCODER)) if encoder or dim is None else None
        with self._lock:
            col = Collection.create(name, enc, dim=dim, metric=metric, index=index, root=self.root)
            self._collections[name] = col
            return col

    def drop_collection(self, name: str) -> None:
        """Close the open Collection (if any) and delete its folder."""
        check_name(name)
        with self._lock:
            col = self._collections.pop(name, None)
            if col is not None:
                col.close()
            Collection.drop(name, root=self.root)
            self._epochs[name] = self._epochs.get(name, 0) + 1
            self._projections = OrderedDict((k, v) for k, v in self._projections.items() if k[:2] != ("c", name))

    def epoch(self, name: str) -> int:
        """How many times ``name`` was dropped by this server (part of its projections' cache keys)."""
        with self._lock:
            return self._epochs.get(name, 0)

    def collection_names(self) -> list[str]:
        return Collection.names(self.root)

    def close(self) -> None:
        """Stop taking background jobs and close every open collection (saves ANN caches)."""
        self.jobs.close()
        with self._lock:
            for col in self._collections.values():
                col.close()
            self._collections.clear()

    # ------------------------------------------------------------------ vectors sets
    def vectors_names(self) -> list[str]:
        return sorted(self._vector_sources)

    def vectors(self, name: str) -> Vectors:
        """The configured vectors set ``name`` (404 listing the configured names otherwise)."""
        with self._lock:
            if name in self._vectors:
                return self._vectors[name]
            src = self._vector_sources.get(name)
            if src is None:
                have = ", ".join(sorted(self._vector_sources)) or "none"
                raise UnknownKeyError(f"no vectors set named {name!r}; this server offers: {have}")
            vec = src if isinstance(src, Vectors) else src()
            self._vectors[name] = vec
            return vec

    # ------------------------------------------------------------------ projection cache and jobs
    def cached_projection(self, key: ProjectionKey) -> Projection | None:
        """The cached projection for ``key``, or None."""
        with self._lock:
            hit = self._projections.get(key)
            if hit is not None:
                self._projections.move_to_end(key)
            return hit

    def _remember(self, key: ProjectionKey, value: Projection) -> Projection:
        with self._lock:
            self._projections[key] = value
            while len(self._projections) > 16:
                self._projections.popitem(last=False)
        return value

    def projection(self, key: ProjectionKey, compute: Callable[[Report], Projection]) -> Projection:
        """A cached projection computed in this request (key includes the data's generation, so writes
        invalidate it)."""
        hit = self.cached_projection(key)
        return hit if hit is not None else self._remember(key, compute(lambda progress, stage: None))

    def projection_job(self, key: ProjectionKey, compute: Callable[[Report], Projection],
                       stage: str = "queued") -> Projection | Job:
        """A projection, from the cache or from a background job.

        Parameters
        ----------
        key : tuple
            The cache key (it includes the data's generation, so writes invalidate it).
        compute : callable
            ``compute(report)`` computes the projection; ``report(progress, stage)`` tells the job how far it is.
        stage : str
            The job's stage while it waits in the queue.

        Returns
        -------
        dict or Job
            The cached projection, else the job computing it (shared with identical requests; its result is
            cached when done).

        Raises
        ------
        BusyError
            When the background queue is full.
        """
        hit = self.cached_projection(key)
        if hit is not None:
            return hit

        def run(report: Report) -> Projection:  # an identical job may have finished between look-up and submit
            return self.cached_projection(key) or self._remember(key, compute(report))

        return self.jobs.submit(key, run, kind="projection", stage=stage)

    def describe_error(self, exc: BaseException, where: str) -> dict[str, Any]:
        """``{"type", "message"}`` of an exception for a client (paths scrubbed; a bug gets a logged error id)."""
        return error_answer(exc, self.scrubber, where)[1]["error"]
