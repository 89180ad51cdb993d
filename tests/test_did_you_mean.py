""""Did you mean" for misspelt names in Python and over HTTP, as on the CLI: one helper (``errors.did_you_mean``)
shared by Collection.open (local and PostgreSQL), the server's collections and /v1/embeddings models."""

from __future__ import annotations

import pytest

from embedlab.errors import CollectionNotFoundError
from embedlab.store import Collection


def test_python_open_suggests_the_closest_collection(backend):
    for name in ("notes", "tour"):
        Collection.create(name, dim=2, **backend).close()
    with pytest.raises(CollectionNotFoundError) as exc:
        Collection.open("notse", **backend)
    said = str(exc.value)
    if not backend:
        assert said == ("no collection named 'notse' here (existing: notes, tour); did you mean 'notes'? Or create it "
                        "with Collection.create")
    else:
        assert said.startswith("no collection named 'notse' in ") and said.endswith(
            " (existing: notes, tour); did you mean 'notes'? Or create it with Collection.create")
    with pytest.raises(CollectionNotFoundError) as exc:  # nothing close: no question
        Collection.open("zzz", **backend)
    assert "did you mean" not in str(exc.value) and str(exc.value).endswith(
        "(existing: notes, tour); create it with Collection.create")
    for name in ("notes", "tour"):
        Collection.drop(name, **backend)


def test_http_suggests_the_closest_collection_and_model(tmp_path, use_encoder):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    with TestClient(create_app(tmp_path / "home", vectors_sets={}), base_url="http://localhost") as client:
        assert client.post("/api/collections", json={"name": "notes", "dim": 2}).status_code == 201
        r = client.post("/api/collections/ntoes/search", json={"vector": [1, 0]})
        assert r.status_code == 404
        assert r.json()["error"]["message"] == ("no collection named 'ntoes' (existing: notes); did you mean 'notes'? "
                                                "Or create it with POST /api/collections")
        r = client.post("/v1/embeddings", json={"model": "use-multilingul", "input": "hi"})
        assert r.status_code == 404
        said = r.json()["error"]["message"]
        assert said.startswith("the model 'use-multilingul' does not exist here; did you mean 'use-multilingual'")
        assert "? this server offers: " in said and said.endswith(" (GET /v1/models)")
