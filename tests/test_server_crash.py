"""Durability of the server: SIGKILL it while clients are writing, restart it, and every acknowledged write is
there (the store commits before the route answers)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import httpx
import numpy as np
import pytest

pytest.importorskip("uvicorn")

from embedlab.server.background import free_port, serve_process  # noqa: E402
from embedlab.store import Collection  # noqa: E402

DIM, BATCH = 8, 10


def _vectors(batch: int) -> np.ndarray:
    return np.random.default_rng(batch).standard_normal((BATCH, DIM)).astype(np.float32)


def _start(home, port: int, *args: str, env_key: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, EMBEDLAB_HOME=str(home), OMP_NUM_THREADS="1")
    env.pop("EMBEDLAB_API_KEY", None)
    if env_key:
        env["EMBEDLAB_API_KEY"] = env_key
    return serve_process(port, "--no-preload", *args, env=env, timeout=30)


def test_sigkill_during_writes_keeps_every_acknowledged_write(tmp_path):
    home, port = tmp_path / "home", free_port()
    key_file = tmp_path / "key.txt"
    key_file.write_text("file-key\n")
    proc = _start(home, port, "--api-key-file", str(key_file))  # the CLI reads the key from a file ...
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": "Bearer file-key"}
    try:
        r = httpx.post(base + "/api/collections", json={"name": "crash", "dim": DIM, "metric": "dot"})
        assert r.status_code == 401 and "API key" in r.json()["error"]["message"]
        r = httpx.post(base + "/api/collections", json={"name": "crash", "dim": DIM, "metric": "dot"}, headers=auth)
        assert r.status_code == 201
        acked: list[int] = []
        stop = threading.Event()

        def writer() -> None:
            with httpx.Client(base_url=base, timeout=10, headers=auth) as c:
                b = 0
                while not stop.is_set():
                    items = [{"id": f"b{b}-{j}", "vector": v.tolist(), "metadata": {"batch": b}}
                             for j, v in enumerate(_vectors(b))]
                    try:
                        r = c.post("/api/collections/crash/items", json={"items": items})
                    except httpx.HTTPError:
                        return  # the server died mid-request: this batch was never acknowledged
                    if r.status_code == 200:
                        acked.append(b)
                    b += 1

        t = threading.Thread(target=writer)
        t.start()
        deadline = time.monotonic() + 20
        while len(acked) < 12 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        stop.set()
        t.join(15)
        assert len(acked) >= 12
    finally:
        if proc.poll() is None:
            proc.kill()

    # the store opens cleanly and holds every acknowledged batch, bit for bit
    col = Collection.open("crash", root=home / "collections")
    present = set(col.ids())
    for b in acked:
        ids = [f"b{b}-{j}" for j in range(BATCH)]
        assert set(ids) <= present, f"acknowledged batch {b} lost"
        np.testing.assert_array_equal(np.stack([it.vector for it in col.get(ids)]), _vectors(b))
    extra = {i.split("-")[0] for i in present} - {f"b{b}" for b in acked}
    assert len(extra) <= 1  # at most the batch in flight at the kill, whole or not at all
    assert len(present) % BATCH == 0
    col.close()

    # ... or from $EMBEDLAB_API_KEY; the restarted server serves every write and accepts new ones
    proc = _start(home, port, "--private-reads", env_key="env-key")
    try:
        assert httpx.get(base + "/api/collections/crash").status_code == 401
        env_auth = {"X-API-Key": "env-key"}
        assert httpx.get(base + "/api/collections/crash", headers=env_auth).json()["count"] == len(present)
        r = httpx.post(base + "/api/collections/crash/items", json={"items": [{"id": "after", "vector": [1.0] * DIM}]},
                       headers=env_auth)
        assert r.status_code == 200 and r.json()["count"] == len(present) + 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
