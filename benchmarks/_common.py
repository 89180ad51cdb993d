"""Shared helpers for the benchmark scripts: thread settings, interleaved median timing, memory, markdown."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

LOAD_NOTE = (
    "The machine (2 cores) was shared with other engineers' jobs while this ran, so absolute numbers are noisy; "
    "the runs are interleaved (ours, theirs, ours, ...) and medians are reported, so the ratios are the figure "
    "to read."
)


def thread_settings() -> dict[str, str]:
    """Thread-related environment, the core count this process may use, and the load average."""
    import embedlab  # noqa: F401  (fills in unset thread variables)
    from embedlab._threads import cpu_count

    info = {v: os.environ.get(v, "unset") for v in THREAD_VARS}
    info["cores"] = str(cpu_count())
    try:
        import faiss

        info["faiss_omp_threads"] = str(faiss.omp_get_max_threads())
    except ImportError:  # pragma: no cover
        pass
    info["loadavg"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    info["python"] = platform.python_version()
    return info


def print_settings(title: str) -> dict[str, str]:
    info = thread_settings()
    print(f"# {title}")
    print("# threads: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    return info


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def interleaved(fns: dict[str, Callable[[], object]], repeats: int = 5, warmup: int = 1) -> dict[str, float]:
    """Median seconds per call for each function, running them round-robin so load affects all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(timed(fn))
    return {name: statistics.median(ts) for name, ts in times.items()}


def interleaved_cpu(fns: dict[str, Callable[[], object]], repeats: int = 5, warmup: int = 1
                    ) -> dict[str, tuple[float, float]]:
    """Like ``interleaved``, but each median twice: (wall seconds, CPU seconds of the calling thread). For work
    done on the calling thread (single queries) the CPU time leaves out the time other jobs held the cores, so it
    is the steadier figure on a busy machine; work on other threads is not counted (use the wall figure there)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            c, t = time.thread_time(), time.perf_counter()
            fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.thread_time() - c)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in fns}


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")  # pragma: no cover


def md_table(headers: list[str], rows: list[list[object]]) -> str:
    """A GitHub markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
