"""t-SNE / UMAP projections as background jobs: 202 with a job, `GET /api/jobs/{id}` for status, progress and
the result or error; identical requests share a job, results are cached, one worker runs one job at a time and
a bounded queue refuses the overflow (503). Only small t-SNE fits here: UMAP compiles for ~45 s on first use."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from embedlab import Vectors  # noqa: E402
from embedlab.server import Limits, create_app  # noqa: E402

JOB_KEYS = {"id", "kind", "status", "progress", "stage", "elapsed_s", "result", "error"}
DEADLINE_S = 120


def _clusters(n_per: int = 10, dim: int = 8, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Three tight, far-apart clusters: any working 2-D projection keeps each point next to its own cluster."""
    rng = np.random.default_rng(seed)
    centres = np.eye(3, dim, dtype=np.float32) * 10
    vecs = np.concatenate([c + 0.05 * rng.standard_normal((n_per, dim)).astype(np.float32) for c in centres])
    ids = [f"{'abc'[i // n_per]}{i % n_per}" for i in range(3 * n_per)]
    return ids, vecs


def _poll(c, job_id: str, headers: dict | None = None) -> dict:
    """GET /api/jobs/{id} until the job is done or failed (deadline, no fixed sleeps)."""
    seen = []
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        r = c.get(f"/api/jobs/{job_id}", headers=headers)
        assert r.status_code == 200, r.text
        job = r.json()
        assert set(job) == JOB_KEYS and job["id"] == job_id and job["kind"] == "projection"
        assert 0.0 <= job["progress"] <= 1.0
        seen.append(job["progress"])
        if job["status"] in ("done", "error"):
            assert seen == sorted(seen)  # progress never goes back
            return job
        assert job["status"] in ("queued", "running") and job["result"] is None and job["error"] is None
        c.app.state.embedlab.jobs.wait(job_id, timeout=0.2)  # wakes as soon as the job finishes
    raise AssertionError(f"job {job_id} still not finished after {DEADLINE_S} s")


class Gate:
    """A job that holds the single worker until released, so tests can line up requests behind it."""

    def __init__(self, st) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.job = st.jobs.submit(("gate", id(self)), self._run, kind="test")
        assert self.started.wait(30), "the worker never started the gate job"

    def _run(self, report):
        self.started.set()
        assert self.release.wait(60)
        return {"gate": "open"}


@pytest.fixture()
def client(tmp_path):
    app = create_app(tmp_path / "home", vectors_sets={})
    with TestClient(app, base_url="http://localhost") as c:
        ids, vecs = _clusters()
        assert c.post("/api/collections", json={"name": "k", "dim": 8}).status_code == 201
        items = [{"id": i, "vector": v.tolist(), "metadata": {"group": i[0]}} for i, v in zip(ids, vecs, strict=True)]
        assert c.post("/api/collections/k/items", json={"items": items}).status_code == 200
        yield c


def test_tsne_runs_as_a_job_and_its_result_is_cached(client):
    r = client.get("/api/collections/k/projection", params={"method": "tsne"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert set(job) == JOB_KEYS and job["status"] in ("queued", "running") and job["kind"] == "projection"
    assert r.headers["location"] == f"/api/jobs/{job['id']}"
    done = _poll(client, job["id"])
    assert done["status"] == "done" and done["progress"] == 1.0 and done["error"] is None
    res = done["result"]
    assert (res["kind"], res["name"], res["method"], res["total"]) == ("collection", "k", "tsne", 30)
    assert set(res["metadata"]["group"]) == {"a", "b", "c"} and len(res["x"]) == len(res["y"]) == 30
    xy = np.c_[res["x"], res["y"]]
    assert np.isfinite(xy).all()
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.eye(30) * 1e9
    nearest = d.argmin(1)
    assert all(res["ids"][i][0] == res["ids"][j][0] for i, j in enumerate(nearest))  # clusters stay together
    again = client.get("/api/collections/k/projection", params={"method": "tsne"})
    assert again.status_code == 200 and again.json() == res  # cached: no second job
    # a write changes the data's generation: the next request is a new job
    client.post("/api/collections/k/items", json={"items": [{"id": "z", "vector": [1.0] * 8}]})
    r = client.get("/api/collections/k/projection", params={"method": "tsne"})
    assert r.status_code == 202 and r.json()["id"] != job["id"]
    assert _poll(client, r.json()["id"])["result"]["total"] == 31


def test_pca_stays_synchronous(client):
    r = client.get("/api/collections/k/projection")
    assert r.status_code == 200 and r.json()["method"] == "pca" and r.json()["total"] == 30


def test_identical_requests_share_one_job_and_the_worker_runs_one_at_a_time(client):
    st = client.app.state.embedlab
    gate = Gate(st)
    try:
        first = client.get("/api/collections/k/projection", params={"method": "tsne", "max_points": 20})
        second = client.get("/api/collections/k/projection", params={"method": "tsne", "max_points": 20})
        other = client.get("/api/collections/k/projection", params={"method": "tsne", "max_points": 21})
        assert first.status_code == second.status_code == other.status_code == 202
        assert first.json()["id"] == second.json()["id"] != other.json()["id"]
        for r in (first, other):  # both wait behind the running gate job
            job = client.get(r.headers["location"]).json()
            assert job["status"] == "queued" and job["progress"] == 0.0
            assert job["stage"].startswith("waiting to project collection 'k' with t-SNE")
        assert st.jobs.snapshot(gate.job.id)["status"] == "running"
    finally:
        gate.release.set()
    a, b = _poll(client, first.json()["id"]), _poll(client, other.json()["id"])
    assert a["status"] == b["status"] == "done"
    assert len(a["result"]["ids"]) == 20 and len(b["result"]["ids"]) == 21
    assert st.jobs.snapshot(gate.job.id)["result"] == {"gate": "open"}


def test_a_failing_job_reports_its_error_and_is_not_cached(client):
    client.post("/api/collections", json={"name": "tiny", "dim": 2})
    client.post("/api/collections/tiny/items", json={"items": [{"id": str(i), "vector": [i, 1]} for i in range(3)]})
    r = client.get("/api/collections/tiny/projection", params={"method": "tsne"})
    assert r.status_code == 202
    job = _poll(client, r.json()["id"])
    assert job["status"] == "error" and job["result"] is None
    assert job["error"] == {"type": "InputError", "message": "t-SNE needs at least 4 points, got 3; use PCA for tiny "
                                                            "sets"}
    retry = client.get("/api/collections/tiny/projection", params={"method": "tsne"})
    assert retry.status_code == 202 and retry.json()["id"] != job["id"]  # errors are not cached: a new try
    _poll(client, retry.json()["id"])


def test_a_bug_in_a_job_is_an_internal_error_with_a_logged_id(client, monkeypatch, caplog):
    from embedlab.server import routes_vectors

    def bug(*a, **k):
        raise ZeroDivisionError("secret detail")

    monkeypatch.setattr(routes_vectors, "_coords", bug)
    with caplog.at_level(logging.ERROR, logger="embedlab.server"):
        r = client.get("/api/collections/k/projection", params={"method": "tsne"})
        job = _poll(client, r.json()["id"])
    err = job["error"]
    assert job["status"] == "error" and err["type"] == "InternalError" and set(err) == {"type", "message", "id"}
    assert "secret" not in str(job) and err["id"] in err["message"]
    logged = [rec for rec in caplog.records if err["id"] in rec.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info[0] is ZeroDivisionError
    assert f"background projection job {job['id']}" in logged[0].getMessage()


def test_a_full_queue_is_refused_with_503(tmp_path):
    with TestClient(create_app(tmp_path, vectors_sets={}, limits=Limits(max_pending_jobs=1)),
                    base_url="http://localhost") as c:
        ids, vecs = _clusters()
        c.post("/api/collections", json={"name": "k", "dim": 8})
        c.post("/api/collections/k/items", json={"items": [{"id": i, "vector": v.tolist()} for i, v in zip(ids, vecs, strict=True)]})
        gate = Gate(c.app.state.embedlab)
        try:
            queued = c.get("/api/collections/k/projection", params={"method": "tsne"})
            assert queued.status_code == 202
            again = c.get("/api/collections/k/projection", params={"method": "tsne"})
            assert again.status_code == 202 and again.json()["id"] == queued.json()["id"]  # shared, not refused
            r = c.get("/api/collections/k/projection", params={"method": "tsne", "seed": 1})
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
            assert r.json()["error"]["type"] == "BusyError"
            assert "1 background jobs are already waiting (the limit is 1)" in r.json()["error"]["message"]
        finally:
            gate.release.set()
        assert _poll(c, queued.json()["id"])["status"] == "done"
        assert c.get("/api/collections/k/projection", params={"method": "tsne", "seed": 1}).status_code == 202


def test_shutdown_fails_queued_jobs_instead_of_losing_them(tmp_path):
    """A UMAP request queued behind a busy worker is never fitted here: closing the server fails it visibly."""
    with TestClient(create_app(tmp_path, vectors_sets={}), base_url="http://localhost") as c:
        ids, vecs = _clusters()
        c.post("/api/collections", json={"name": "k", "dim": 8})
        c.post("/api/collections/k/items", json={"items": [{"id": i, "vector": v.tolist()} for i, v in zip(ids, vecs, strict=True)]})
        st = c.app.state.embedlab
        gate = Gate(st)
        r = c.get("/api/collections/k/projection", params={"method": "umap"})
        assert r.status_code == 202 and r.json()["status"] == "queued"
        assert "UMAP" in r.json()["stage"]
    gate.release.set()  # the app shut down when the client closed
    job = st.jobs.snapshot(r.json()["id"])
    assert job["status"] == "error" and job["error"]["type"] == "BusyError"
    assert "shut down before this job ran" in job["error"]["message"]


def test_jobs_follow_the_read_key(tmp_path):
    app = create_app(tmp_path, api_key="pw", public_reads=False, vectors_sets={})
    auth = {"Authorization": "Bearer pw"}
    with TestClient(app, base_url="http://localhost") as c:
        ids, vecs = _clusters()
        c.post("/api/collections", json={"name": "k", "dim": 8}, headers=auth)
        c.post("/api/collections/k/items", headers=auth,
               json={"items": [{"id": i, "vector": v.tolist()} for i, v in zip(ids, vecs, strict=True)]})
        r = c.get("/api/collections/k/projection", params={"method": "tsne"}, headers=auth)
        assert r.status_code == 202
        assert c.get(f"/api/jobs/{r.json()['id']}").status_code == 401
        assert _poll(c, r.json()["id"], headers=auth)["status"] == "done"


def test_vectors_projection_job(tmp_path):
    keys = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}".replace("w", "") for i in range(30)]
    _, vecs = _clusters()
    with TestClient(create_app(tmp_path, vectors_sets={"words": Vectors(keys, vecs)}),
                    base_url="http://localhost") as c:
        r = c.get("/api/vectors/words/projection", params={"method": "tsne"})
        assert r.status_code == 202
        res = _poll(c, r.json()["id"])["result"]
        assert (res["kind"], res["method"], res["ids"]) == ("vectors", "tsne", keys)
        assert c.get("/api/vectors/words/projection", params={"method": "tsne"}).json() == res
