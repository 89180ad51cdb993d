"""Background jobs over HTTP: ``GET /api/jobs/{id}`` shows a job's status, progress and result or error.

A job is started by a route that would take too long to answer in the request (t-SNE and UMAP projections
answer 202 with the job); the client polls this route until ``status`` is ``done`` (``result`` holds what the
first route would have answered) or ``error`` (``error`` holds ``{"type", "message"}`` as any error body does).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse

from .deps import require_read, state_of

router = APIRouter(prefix="/api/jobs", tags=["background jobs"], dependencies=[Depends(require_read)])


@router.get("/{job_id}", summary="A background job: status (queued, running, done, error), progress, result")
def get_job(request: Request, job_id: str = Path(max_length=64)) -> JSONResponse:
    return JSONResponse(state_of(request).jobs.snapshot(job_id))
