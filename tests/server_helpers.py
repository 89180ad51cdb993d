"""What the in-process HTTP tests share (FastAPI's TestClient over ``create_app``): a client on a fresh home with
a collection added through the API, and the error-shape check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def assert_error(r: Any, status: int, kind: str, match: str) -> None:
    """``r`` is an embedlab error answer: ``status``, ``{"error": {"type": kind, "message": ...match...}}``."""
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["type"] == kind
    assert match in err["message"], err["message"]


def add_items(c: Any, collection: str, items: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    """POST ``items`` (and any other body fields) to ``collection``; asserts a 200 and returns the answer."""
    r = c.post(f"/api/collections/{collection}/items", json={"items": items, **body})
    assert r.status_code == 200, r.text
    return r.json()


@contextmanager
def api_client(home: Path, collection: str, items: list[dict[str, Any]], expect: dict[str, Any] | None = None,
               **app_options: Any) -> Iterator[Any]:
    """A TestClient on ``create_app(home, **app_options)`` with ``collection`` created (default encoder) and
    ``items`` added through the API: the creation checked, and the add's answer holding ``expect`` (default
    ``{"added": len(items)}``)."""
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    with TestClient(create_app(home, **app_options), base_url="http://localhost") as c:
        assert c.post("/api/collections", json={"name": collection}).status_code == 201
        answer = add_items(c, collection, items)
        want = expect if expect is not None else {"added": len(items)}
        assert {k: answer.get(k) for k in want} == want

        yield c
