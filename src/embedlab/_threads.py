"""Thread settings for small machines, applied before numpy/BLAS load.

BLAS and OpenMP pools read their size from the environment once, at import; changing them later inside a
process made two threads slower than one here. So embedlab fills in any variable the user has not set with
the number of cores this process may use.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import InputError

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


_USER_OMP: str | None = None  # $OMP_NUM_THREADS as the user set it, before apply_defaults filled it in


def apply_defaults() -> dict[str, str]:
    """Set unset thread variables to the core count; return the effective settings."""
    global _USER_OMP
    if _USER_OMP is None:
        _USER_OMP = os.environ.get("OMP_NUM_THREADS", "")
    n = str(cpu_count())
    for var in _VARS:
        os.environ.setdefault(var, n)
    return {var: os.environ[var] for var in _VARS}


def user_threads() -> int | None:
    """The ``$OMP_NUM_THREADS`` the user set before embedlab loaded (not one `apply_defaults` filled in).

    Returns
    -------
    int or None
        The positive integer the user gave, else None.
    """
    value = os.environ.get("OMP_NUM_THREADS", "") if _USER_OMP is None else _USER_OMP
    return int(value) if value.isdigit() and int(value) > 0 else None


_POOL_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")  # not numba's: fixed at its import


@contextmanager
def using_threads(n: int) -> Iterator[None]:
    """Run a block with every compute pool of this process at ``n`` threads, as they were afterwards.

    Sets ``$OMP_NUM_THREADS`` (and OpenBLAS's and MKL's), which `compute_threads` returns, so the encoders built
    in the block (onnxruntime sessions, the USE and E5 engines, the tokenizer pools) and libraries loaded in it
    (torch, FAISS) take ``n``; limits the BLAS and OpenMP pools already loaded (threadpoolctl: numpy's BLAS,
    FAISS's OpenMP); and sets torch's intra-op threads when torch is loaded.

    Parameters
    ----------
    n : int
        Threads, 1 or more.

    Yields
    ------
    None
        Inside the block, the settings above hold.

    Raises
    ------
    InputError
        When ``n`` is not a positive integer.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"threads must be a positive integer, got {n!r}")
    from threadpoolctl import ThreadpoolController, threadpool_limits

    loaded = {lib["filepath"] for lib in ThreadpoolController().info()}
    saved = {var: os.environ.get(var) for var in _POOL_VARS}
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    had_faiss = "faiss" in sys.modules
    os.environ.update({var: str(n) for var in _POOL_VARS})
    try:
        with threadpool_limits(limits=n):
            if torch is not None:
                torch.set_num_threads(n)
            yield
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        new = [lib["filepath"] for lib in ThreadpoolController().info() if lib["filepath"] not in loaded]
        if new:  # BLAS or OpenMP libraries loaded in the block took n; threadpoolctl restored only the others
            ThreadpoolController().select(filepath=new).limit(limits=compute_threads())
        torch = sys.modules.get("torch")  # perhaps loaded in the block, with n threads
        if torch is not None:
            torch.set_num_threads(torch_threads if torch_threads is not None else compute_threads())
        faiss = sys.modules.get("faiss")
        if faiss is not None and not had_faiss:  # loaded in the block (one loaded before: threadpoolctl restored it)
            faiss.omp_set_num_threads(compute_threads())
