"""Thread settings for small machines, applied before numpy/BLAS load.

BLAS and OpenMP pools read their size from the environment once, at import; changing them later inside a
process made two threads slower than one here. So embedlab fills in any variable the user has not set with
the number of cores this process may use.
"""

from __future__ import annotations

import os

_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def cpu_count() -> int:
    """Cores this process may run on (respects CPU affinity, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def compute_threads() -> int:
    """Threads one compute pool (BLAS, ONNX Runtime, a tokenizer) should use: ``$OMP_NUM_THREADS`` when it is set
    (a Ray actor or a server worker sets 1), else the cores this process may run on."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else cpu_count()


def apply_defaults() -> dict[str, str]:
    """Set unset thread variables to the core count; return the effective settings."""
    n = str(cpu_count())
    for var in _VARS:
        os.environ.setdefault(var, n)
    return {var: os.environ[var] for var in _VARS}
