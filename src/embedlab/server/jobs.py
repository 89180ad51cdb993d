"""Background jobs: slow work (t-SNE and UMAP projections) runs on one worker thread instead of inside the
request, and the client polls ``GET /api/jobs/{id}`` for its progress and result.

    >>> job = runner.submit(("tsne", "docs", 0), lambda report: fit(report), kind="projection")
    >>> runner.get(job.id).to_dict()["status"]          # queued | running | done | error

- one job at a time (a 2-core machine gains nothing from two t-SNE fits at once, and requests keep a core);
- a request identical to a queued or running job (same key) gets that job, not a second one;
- at most ``max_pending`` jobs wait; one more is refused with ``BusyError`` (HTTP 503, Retry-After);
- a job's error is kept in the job (type and scrubbed message, or an internal-error id that is logged), never
  lost in a thread; finished jobs stay readable until ``keep`` newer ones have finished.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Any

from ..errors import UnknownKeyError
from .errors import BusyError

__all__ = ["Job", "JobRunner"]

Report = Callable[[float, str], None]


class Job:
    """One unit of background work: its status, progress (0..1), current stage, and result or error."""

    def __init__(self, key: Hashable, kind: str, fn: Callable[[Report], Any], stage: str) -> None:
        self.id = uuid.uuid4().hex
        self.key, self.kind, self.fn = key, kind, fn
        self.status = "queued"
        self.progress, self.stage = 0.0, stage
        self.result: Any = None
        self.error: dict[str, Any] | None = None
        self.created = time.monotonic()
        self.started: float | None = None
        self.finished: float | None = None

    def report(self, progress: float, stage: str) -> None:
        """Called by the work itself: how far it is (0..1, never going back) and what it is doing."""
        self.progress = max(self.progress, min(1.0, float(progress)))
        self.stage = stage

    def to_dict(self) -> dict[str, Any]:
        """The job as ``GET /api/jobs/{id}`` shows it (``result`` once done, ``error`` once failed)."""
        end = self.finished if self.finished is not None else time.monotonic()
        return {"id": self.id, "kind": self.kind, "status": self.status, "progress": round(self.progress, 3),
                "stage": self.stage, "elapsed_s": round(end - self.created, 2),
                "result": self.result if self.status == "done" else None,
                "error": self.error if self.status == "error" else None}


class JobRunner:
    """A single worker thread over a bounded queue of jobs (see the module docstring)."""

    def __init__(self, describe_error: Callable[[BaseException, str], dict[str, Any]], max_pending: int = 8,
                 keep: int = 32) -> None:
        self.describe_error = describe_error  # exception -> {"type", "message"[, "id"]}, paths scrubbed
        self.max_pending, self.keep = int(max_pending), int(keep)
        self._cv = threading.Condition()
        self._queue: deque[Job] = deque()
        self._active: dict[Hashable, Job] = {}  # key -> queued or running job
        self._jobs: OrderedDict[str, Job] = OrderedDict()  # id -> job, oldest first
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, key: Hashable, fn: Callable[[Report], Any], kind: str = "job", stage: str = "queued") -> Job:
        """The queued or running job for ``key``, else a new job running ``fn(report)``; BusyError when
        ``max_pending`` jobs already wait."""
        with self._cv:
            job = self._active.get(key)
            if job is not None:
                return job
            if self._closed:
                raise BusyError("the server is shutting down; retry once it is back")
            if len(self._queue) >= self.max_pending:
                raise BusyError(f"{len(self._queue)} background jobs are already waiting (the limit is "
                                f"{self.max_pending}); retry in a little while")
            job = Job(key, kind, fn, stage)
            self._active[key] = job
            self._jobs[job.id] = job
            self._queue.append(job)
            self._forget_old()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="embedlab-jobs", daemon=True)
                self._thread.start()
            self._cv.notify_all()
            return job

    def get(self, job_id: str) -> Job:
        """The job ``job_id``; UnknownKeyError (404) when there is none (or it was forgotten)."""
        with self._cv:
            job = self._jobs.get(job_id)
        if job is None:
            raise UnknownKeyError(f"no job {job_id[:64]!r}: it never existed or finished long ago (the server keeps "
                                  f"the last {self.keep} finished jobs); ask for the result again to start a new one")
        return job

    def snapshot(self, job_id: str) -> dict[str, Any]:
        """``get(job_id).to_dict()`` taken under the runner's lock (a consistent view of a running job)."""
        job = self.get(job_id)
        with self._cv:
            return job.to_dict()

    def wait(self, job_id: str, timeout: float) -> dict[str, Any]:
        """The job once it is done or failed, or as it is after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        job = self.get(job_id)
        with self._cv:
            while job.status in ("queued", "running") and time.monotonic() < deadline:
                self._cv.wait(deadline - time.monotonic())
            return job.to_dict()

    def close(self) -> None:
        """Refuse new jobs and fail the queued ones; a running job finishes in its daemon thread."""
        with self._cv:
            self._closed = True
            while self._queue:
                job = self._queue.popleft()
                self._finish(job, error={"type": "BusyError", "message": "the server shut down before this job ran"})
            self._cv.notify_all()

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._closed:
                    self._cv.wait()
                if not self._queue:
                    return
                job = self._queue.popleft()
                job.status, job.started = "running", time.monotonic()
                self._cv.notify_all()

            def report(progress: float, stage: str, job: Job = job) -> None:
                with self._cv:
                    job.report(progress, stage)

            try:
                result = job.fn(report)
            except Exception as exc:  # the job's own error: kept for the client that polls
                error = self.describe_error(exc, f"background {job.kind} job {job.id}")
                with self._cv:
                    self._finish(job, error=error)
            else:
                with self._cv:
                    self._finish(job, result=result)

    def _finish(self, job: Job, result: Any = None, error: dict[str, Any] | None = None) -> None:
        job.finished = time.monotonic()
        if error is not None:
            job.status, job.error = "error", error
        else:
            job.status, job.result, job.progress, job.stage = "done", result, 1.0, "done"
        if self._active.get(job.key) is job:
            del self._active[job.key]
        self._forget_old()
        self._cv.notify_all()

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.status in ("done", "error")]
        for job in finished[: max(0, len(finished) - self.keep)]:
            del self._jobs[job.id]
