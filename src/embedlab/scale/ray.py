"""Distributed encoding and indexing on Ray (Ray Data, an actor pool), for the same records the single-process
path indexes.

    >>> upsert_records(Collection.open("docs"), records, workers=2)           # a local Ray cluster
    >>> upsert_records(col, records, address="ray://head:10001", workers=16)  # a real one

How it works: the driver reads and splits the sources exactly as ``embedlab index`` does (so ids and passages
are identical), and asks the collection which records are new or changed (``Collection.changed``: the same
content-hash rule ``upsert`` uses), so unchanged records are never sent out. Ray Data spreads those over an
actor pool (``map_batches`` with a callable class: each actor builds the encoder once; Ray Data restarts an
actor whose process died and retries its tasks). With the PostgreSQL
backend each actor writes its own batches straight to the database with ``upsert`` — idempotent by id and
content hash, so a batch Ray retries after a worker died is written once; with the local backend (one writer
per collection folder) actors return vectors and the driver writes them. Metadata-only changes are written by
the driver without encoding anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._params import check_int
from ..encoders import encoder
from ..errors import IncompleteCollectionWarning, InputError, require
from ..store import Collection
from .address import check_address

if TYPE_CHECKING:  # pragma: no cover
    from ..encoders import Encoder
    from ..ingest import Record
    from ..store import Collection

#: Builds the encoder inside a Ray worker (picklable: a registered name, a class and its arguments ...).
EncoderFactory = Callable[[], "Encoder"]

BULK_MIN = 10_000  # loads at least this large (and at least the collection's size) defer index upkeep


class ByName:
    """Builds a registered encoder by name inside a Ray worker (picklable, unlike a loaded model)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self) -> Encoder:
        return encoder(self.name)


class EncodeBatch:
    """The actor class of the pool: builds the encoder once; encodes a batch, then writes it (PostgreSQL) or
    returns its vectors (local backend)."""

    def __init__(self, factory: EncoderFactory, target: dict[str, Any] | None) -> None:
        self.encoder = factory()
        self.collection: Collection | None = None
        if target is not None:
            with warnings.catch_warnings():  # the driver's bulk load marks it: these actors are that load
                warnings.simplefilter("ignore", IncompleteCollectionWarning)
                self.collection = Collection.open(target["name"], self.encoder, backend=target["backend"])

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        ids = [str(x) for x in batch["id"]]
        items = list(batch["item"])
        if self.collection is None:
            vectors = self.encoder.encode_documents(items, batch_size=max(1, len(items)), normalize=False)
            return {"id": np.array(ids, dtype=object), "vector": list(vectors)}
        got = self.collection.upsert(ids, items, metadata=[json.loads(m) for m in batch["metadata"]],
                                     sources=[None if s is None else str(s) for s in batch["source"]],
                                     batch_size=max(1, len(items)))
        return {"added": np.array([got["added"]]), "updated": np.array([got["updated"]]),
                "unchanged": np.array([got["unchanged"]])}


def init(address: str | None = None, workers: int = 2) -> Any:
    """Connect to the Ray cluster at ``address`` (e.g. ``ray://head:10001`` or ``auto``), or start a local one
    with ``workers`` CPUs; quiet logs, no dashboard. Reuses a running connection.

    Parameters
    ----------
    address : str or None
        ``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``; checked first with one short TCP connect
        (``check_address``). None: start a local Ray.
    workers : int
        CPUs of a local Ray.

    Returns
    -------
    module
        The ``ray`` module, connected.

    Raises
    ------
    InputError
        When no cluster answers at ``address`` (one line, within seconds; Ray's own retries and C++ log lines
        are kept out).
    MissingDependencyError
        When Ray is not installed (``pip install 'embedlab[scale]'``).
    """
    ray = require("ray", "scale", "distributed indexing with --engine ray")
    if address:
        address = check_address(address)
    if not ray.is_initialized():
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        with _quiet_backend():
            if address:
                try:
                    ray.init(address=address, **kw)
                except ConnectionError as exc:  # something answered the TCP probe, but not a Ray cluster
                    raise InputError(f"no Ray cluster answers at {address} ({exc}); check the address and that "
                                     "the cluster is up (ray status on its head node)",
                                     cli=f"no Ray cluster answers at --address {address} ({exc}); check the "
                                         "address and that the cluster is up (ray status on its head node)"
                                     ) from None
            else:  # one BLAS/OpenMP thread per worker process: the actors are the parallelism
                ray.init(num_cpus=workers, runtime_env={"env_vars": {v: "1" for v in _THREAD_VARS}}, **kw)
    from ray.data import DataContext

    ctx = DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    ctx.execution_options.preserve_order = True  # the same write order as the single-process path
    return ray


@contextlib.contextmanager
def _quiet_backend() -> Iterator[None]:
    """Ray's C++ core logs only errors while connecting (not a warning a second while it retries), as do the
    processes of a local Ray started then, unless the user set $RAY_BACKEND_LOG_LEVEL; unset again afterwards."""
    if "RAY_BACKEND_LOG_LEVEL" in os.environ:
        yield
        return
    os.environ["RAY_BACKEND_LOG_LEVEL"] = "error"
    try:
        yield
    finally:
        os.environ.pop("RAY_BACKEND_LOG_LEVEL", None)


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


@dataclass(frozen=True)
class RayEngine:
    """Encode on a Ray cluster: the engine ``passages.index_records(..., engine=RayEngine(...))`` takes (the CLI's
    ``embedlab index --engine ray``); see ``upsert_records`` for how, and the fields' meaning.

    >>> index_records(col, records, engine=RayEngine(address="auto", workers=16))
    """

    address: str | None = None
    workers: int = 2
    batch_size: int = 64
    encoder: EncoderFactory | None = None

    def upsert(self, collection: Collection, items: list[Record],
               progress: Callable[[int, int], None] | None) -> dict[str, int]:
        """``upsert_records(collection, items, ...)`` with this engine's settings.

        Parameters
        ----------
        collection : Collection
            The collection written to.
        items : list of Record
            The split items, in write order.
        progress : callable or None
            ``progress(done, total)`` after each batch.

        Returns
        -------
        dict of str to int
            ``{"added", "updated", "unchanged"}``.

        Raises
        ------
        InputError
            For bad settings, or a vectors-only collection without ``encoder``.
        MissingDependencyError
            When Ray is not installed (``pip install 'embedlab[scale]'``).
        """
        return upsert_records(collection, items, address=self.address, workers=self.workers,
                              batch_size=self.batch_size, encoder=self.encoder, progress=progress)


def upsert_records(collection: Collection, records: Sequence[Record], *, address: str | None = None,
                   workers: int = 2, batch_size: int = 64, encoder: EncoderFactory | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Upsert records into a collection, encoding the new and changed ones on Ray.

    Parameters
    ----------
    collection : Collection
        The collection written to (PostgreSQL: every actor writes its own batches; local: the driver writes).
    records : sequence of Record
        ``ingest.Record`` (id, item, metadata, source), in write order.
    address : str or None
        The Ray cluster (``"auto"``, ``"ray://head:10001"``); None starts a local one with ``workers`` CPUs.
    workers : int
        Actors in the pool (>= 1), each with its own encoder.
    batch_size : int
        Records per task (>= 1).
    encoder : callable or None
        Builds the encoder in each actor (picklable); default: the collection's registered encoder by name.
    progress : callable or None
        ``progress(done, total)`` after each batch.

    Returns
    -------
    dict of str to int
        ``{"added", "updated", "unchanged"}`` as ``Collection.upsert`` counts them.

    Raises
    ------
    InputError
        For bad ``workers``/``batch_size``, or a vectors-only collection without ``encoder``.
    MissingDependencyError
        When Ray is not installed.
    """
    workers = check_int(workers, "workers", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    records = list(records)
    if not records:
        return {"added": 0, "updated": 0, "unchanged": 0}
    name = collection.info()["encoder"].get("name")
    if encoder is None:
        if not name:
            raise InputError(f"collection {collection.name!r} is vectors-only: there is no encoder to run on Ray")
        encoder = ByName(name)
    ids = [r.id for r in records]
    todo = collection.changed(ids, [r.item for r in records])
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    rest = sorted(set(range(len(records))) - set(todo))
    if rest:  # unchanged content: at most metadata/source to write, nothing to encode
        got = collection.upsert([ids[i] for i in rest], [records[i].item for i in rest],
                                metadata=[records[i].metadata for i in rest],
                                sources=[records[i].source for i in rest])
        for key in counts:
            counts[key] += got[key]
    total = len(records)
    done = len(rest)
    if progress:
        progress(done, total)
    if not todo:
        return counts
    ray = init(address, workers)
    rows = [{"id": ids[i], "item": _item(records[i].item), "metadata": json.dumps(records[i].metadata),
             "source": records[i].source} for i in todo]
    by_id = {ids[i]: records[i] for i in todo}
    target = {"name": collection.name, "backend": collection.location.split("#")[0]} \
        if collection.backend == "postgresql" else None
    ds = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows) // batch_size + 1, 200)))
    out = ds.map_batches(EncodeBatch, fn_constructor_kwargs={"factory": encoder, "target": target},
                         compute=ray.data.ActorPoolStrategy(size=workers), batch_size=batch_size, num_cpus=1,
                         batch_format="numpy")
    # a first load (or one that at least doubles the collection): the backend may build its index once at the end
    loading = collection.bulk() if len(todo) >= max(BULK_MIN, collection.count()) else contextlib.nullcontext()
    with loading:
        _write_results(collection, out, target, by_id, counts, done, total, progress)
    return counts


def _write_results(collection: Collection, out: Any, target: dict[str, Any] | None, by_id: dict[str, Record],
                   counts: dict[str, int], done: int, total: int,
                   progress: Callable[[int, int], None] | None) -> None:
    """Drain the actors' output: the local backend's driver writes the vectors; PostgreSQL actors already
    wrote theirs and report counts."""
    for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
        if target is None:
            b_ids = [str(x) for x in batch["id"]]
            recs = [by_id[i] for i in b_ids]
            got = collection.upsert(b_ids, [r.item for r in recs], vectors=np.stack(list(batch["vector"])),
                                    metadata=[r.metadata for r in recs], sources=[r.source for r in recs])
            n = len(b_ids)
        else:
            got = {key: int(np.sum(batch[key])) for key in counts}
            n = sum(got.values())
        for key in counts:
            counts[key] += got[key]
        done += n
        if progress:
            progress(min(done, total), total)


def _item(item: Any) -> Any:
    """Items travel as text or file paths (strings): Ray pickles them to the workers."""
    return str(item) if isinstance(item, os.PathLike) else item
