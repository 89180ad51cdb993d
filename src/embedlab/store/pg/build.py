"""The settings of the session that builds a collection's HNSW index once, at the end of a load.

pgvector builds the graph in memory while it fits in ``maintenance_work_mem`` and falls back to inserting on disk
(several times slower) once it does not; its parallel workers share the build. A server's defaults (64 MB, 2
workers) are too small for most loads, so the build's transaction sets both (``SET LOCAL``: nothing outlives it), and a build whose client is gone (a killed loader) stops
within a second instead of holding the collection's catalogue row to its end:

- ``maintenance_work_mem``: ``$EMBEDLAB_PG_BUILD_MEMORY`` (e.g. ``2GB``), or ``auto`` (the default): the
  estimated size of the graph (rows × (4 bytes per dimension, 2 for halfvec, + 16 bytes per neighbour slot (2m)
  + 256)) plus a quarter, at most 4 GB, and never less than the server's own setting;
- ``max_parallel_maintenance_workers``: ``$EMBEDLAB_PG_BUILD_WORKERS`` (a whole number ≥ 0), or ``auto`` (the
  default): 2 (the server's default); the server still caps it at its ``max_parallel_workers`` and
  ``max_worker_processes``.

Measured on the 2-core test machine (50k × 384, m=16, two runs each, load 10–22): 64 MB and 2 workers 191.5 /
191.6 s; auto (138 MiB) and 2 workers 67.2 / 86.6 s; auto and no workers 129.9 / 184.2 s (BENCHMARKS "Scale"). Parallel workers share the build's memory through ``dynamic_shared_memory_type``: a
  container whose ``/dev/shm`` is smaller than that memory needs ``EMBEDLAB_PG_BUILD_WORKERS=0`` (or a larger
  ``/dev/shm``).
"""

from __future__ import annotations

import os
import re
from typing import Any

from ...errors import InputError

MEMORY_ENV = "EMBEDLAB_PG_BUILD_MEMORY"
WORKERS_ENV = "EMBEDLAB_PG_BUILD_WORKERS"
AUTO_WORKERS = 2
AUTO_MEMORY_MAX = 4 << 30  # bytes: auto never asks for more (set the variable for larger builds)
_UNITS = {"kB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+)\s*(kB|MB|GB|TB)\s*$")


def graph_bytes(rows: int, dim: int, m: int) -> int:
    """Estimated memory of pgvector's in-memory HNSW graph.

    Parameters
    ----------
    rows : int
        Rows indexed (>= 0).
    dim : int
        Vector dimension; above 2,000 the index holds halfvec (2 bytes per value), else float32.
    m : int
        The index's ``m`` (each element keeps up to ``2m`` neighbours on its bottom layer).

    Returns
    -------
    int
        Bytes: ``rows × (value bytes + 16 × 2m + 256)``.
    """
    value = dim * (2 if dim > 2000 else 4) + 8
    return int(rows) * (value + 16 * 2 * int(m) + 256)


def _size(text: str) -> int:
    match = _SIZE.match(text)
    if match is None or int(match.group(1)) <= 0:
        raise InputError(f"${MEMORY_ENV} must be 'auto' or a size such as 512MB or 2GB (units kB, MB, GB, TB), "
                         f"not {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def settings(rows: int, dim: int, m: int, server_bytes: int) -> dict[str, int]:
    """The build session's settings for an index of ``rows`` rows, from the environment.

    Parameters
    ----------
    rows : int
        Rows to index.
    dim : int
        Vector dimension.
    m : int
        The index's ``m``.
    server_bytes : int
        The session's current ``maintenance_work_mem`` in bytes (``auto`` never goes below it).

    Returns
    -------
    dict of str to int
        ``{"maintenance_work_mem": bytes, "max_parallel_maintenance_workers": n}``.

    Raises
    ------
    InputError
        When ``$EMBEDLAB_PG_BUILD_MEMORY`` is neither ``auto`` nor a size with a unit (kB, MB, GB, TB), or
        ``$EMBEDLAB_PG_BUILD_WORKERS`` is neither ``auto`` nor a whole number in [0, 1024].
    """
    memory = os.environ.get(MEMORY_ENV, "auto").strip() or "auto"
    if memory == "auto":
        want = graph_bytes(rows, dim, m) * 5 // 4
        mem = max(int(server_bytes), min(want, AUTO_MEMORY_MAX))
    else:
        mem = _size(memory)
    workers_text = os.environ.get(WORKERS_ENV, "auto").strip() or "auto"
    if workers_text == "auto":
        workers = AUTO_WORKERS
    elif workers_text.isdigit() and int(workers_text) <= 1024:
        workers = int(workers_text)
    else:
        raise InputError(f"${WORKERS_ENV} must be 'auto' or a whole number of parallel workers from 0 to 1024, "
                         f"not {workers_text!r}")
    return {"maintenance_work_mem": mem, "max_parallel_maintenance_workers": workers}


def prepare(conn: Any, rows: int, dim: int, m: int) -> dict[str, int]:
    """Set the build settings for the rest of the transaction in progress on ``conn`` (``SET LOCAL``).

    Parameters
    ----------
    conn : psycopg.Connection
        A connection inside a transaction, about to run the index's ``CREATE INDEX``.
    rows, dim, m : int
        As for ``settings``.

    Returns
    -------
    dict of str to int
        The settings made (see ``settings``).

    Raises
    ------
    InputError
        For bad environment settings (see ``settings``).
    """
    current = conn.execute("SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'maintenance_work_mem'"
                           ).fetchone()[0]
    out = settings(rows, dim, m, int(current))
    conn.execute(f"SET LOCAL maintenance_work_mem = '{out['maintenance_work_mem'] // 1024}kB'")
    conn.execute(f"SET LOCAL max_parallel_maintenance_workers = {out['max_parallel_maintenance_workers']}")
    if conn.info.server_version >= 140000:  # a killed loader's build stops too, releasing the collection's row
        conn.execute("SET LOCAL client_connection_check_interval = '1s'")
    return out
