"""The new encoders where encoders are named: a static folder and a fused name through the HTTP server, and through
``--engine ray`` (encoded in Ray workers that build them by name), with the same vectors as in this process."""

from __future__ import annotations

import numpy as np
import pytest

import embedlab
from embedlab.store import Collection

TEXTS = ["A high-speed train crosses the country in hours.", "A car has four wheels.", "The museum is closed.",
         "Rain is expected over the weekend.", "Dogs are loyal companions.", "The stock market fell sharply."]


@pytest.fixture(scope="module")
def statics(tmp_path_factory):
    """Two small static encoders distilled from use-multilingual (its 3,000 most frequent pieces; 32-d, 16-d)."""
    from embedlab.train.distill import DistillationTrainer

    root = tmp_path_factory.mktemp("statics")
    return [DistillationTrainer("use-multilingual", dim=d, max_tokens=3000, progress=False).fit().save(root / f"s{d}")
            for d in (32, 16)]


def test_the_server_serves_a_static_folder_and_a_fused_name(statics, tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    folder = statics[0]
    app = create_app(tmp_path / "home", vectors_sets={}, model_folders=[folder])
    with TestClient(app, base_url="http://localhost") as c:
        r = c.post("/v1/embeddings", json={"model": folder.name, "input": TEXTS[:2]})
        assert r.status_code == 200, r.text
        got = np.array([d["embedding"] for d in r.json()["data"]], np.float32)
        np.testing.assert_allclose(got, embedlab.encoder(str(folder)).encode(TEXTS[:2]), atol=1e-5)
        r = c.post("/v1/embeddings", json={"model": "use-multilingual*2+glove-50", "input": "a fast train"})
        assert r.status_code == 200, r.text
        assert r.json()["model"] == "use-multilingual*2+glove-50" and len(r.json()["data"][0]["embedding"]) == 562
        r = c.post("/api/collections", json={"name": "fz", "encoder": f"use-multilingual+{folder.name}"})
        assert r.status_code == 400  # a request cannot name a folder inside a fused name either: not a model name


@pytest.mark.slow
def test_engine_ray_builds_static_and_fused_encoders_by_name_in_its_workers(statics, tmp_path):
    ray = pytest.importorskip("ray")
    from embedlab.ingest import read_sources
    from embedlab.passages import index_records
    from embedlab.scale.ray import RayEngine, init

    docs = tmp_path / "docs"
    docs.mkdir()
    for i, t in enumerate(TEXTS * 5):
        (docs / f"d{i:02d}.txt").write_text(f"{t} ({i})", "utf-8")
    was = ray.is_initialized()
    init(workers=2)
    try:
        for name in (f"{statics[0]}*0.7+{statics[1]}*0.3",):  # a fused name whose members are folder paths
            enc = embedlab.encoder(name)
            plain = Collection.create("plain", enc)
            index_records(plain, read_sources(docs).records)
            onray = Collection.create("onray", enc)
            index_records(onray, read_sources(docs).records, engine=RayEngine(workers=2, batch_size=8))
            a, b = onray.vectors(), plain.vectors()
            assert a.keys == b.keys
            np.testing.assert_allclose(np.asarray(a.matrix), np.asarray(b.matrix), atol=1e-5)
            for c in (plain, onray):
                c.close()
                Collection.drop(c.name)
    finally:
        if not was:
            ray.shutdown()
