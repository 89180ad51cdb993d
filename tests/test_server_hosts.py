"""The Host header allow-list (a guard against DNS rebinding): loopback names by default, `--allowed-host` and
`create_app(allowed_hosts=...)` extend it, everything else gets 421 with a JSON error before any route runs."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from embedlab.server import create_app  # noqa: E402
from embedlab.server.hosts import HostAllowList, HostCheckMiddleware, default_allowed_hosts, split_host  # noqa: E402


def _refused(r, host: str) -> None:
    assert r.status_code == 421, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == "HostError"
    assert f"does not answer to Host {host!r}" in body["error"]["message"]
    assert "--allowed-host" in body["error"]["message"]


@pytest.fixture()
def app(tmp_path):
    return create_app(tmp_path, vectors_sets={})


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "LocalHost:1", "localhost.", "127.0.0.1",
                                  "127.0.0.1:8000", "[::1]", "[::1]:8000", "[0:0:0:0:0:0:0:1]:80"])
def test_loopback_names_are_allowed_with_or_without_port(app, host):
    with TestClient(app, base_url="http://localhost") as c:
        r = c.get("/api/collections", headers={"host": host})
        assert r.status_code == 200 and r.json() == {"collections": []}


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.2",
                                  "192.168.1.5:8000", "testserver", "localhost:notaport", "user@localhost",
                                  "localhost:99999", "[::1"])
def test_other_hosts_get_421_before_any_route(app, host):
    with TestClient(app, base_url="http://localhost") as c:
        # a key-less server: a DNS-rebinding page would reach every route, writes included
        _refused(c.post("/api/collections", json={"name": "pwned", "dim": 2}, headers={"host": host}), host)
        _refused(c.get("/api/collections", headers={"host": host}), host)
        _refused(c.get("/", headers={"host": host}), host)
        _refused(c.post("/v1/embeddings", json={"input": "x", "model": "default"}, headers={"host": host}), host)
        assert c.get("/api/collections").json() == {"collections": []}  # nothing was created


def test_a_real_socket_with_a_forged_host(tmp_path):
    """The same over uvicorn: what a browser sends after DNS rebinding (the page's own name, this port)."""
    from embedlab.server.background import BackgroundServer

    with BackgroundServer(create_app(tmp_path, vectors_sets={})) as srv:
        _refused(httpx.get(srv.url + "/api/health", headers={"Host": f"rebind.example:{srv.port}"}),
                 f"rebind.example:{srv.port}")
        r = httpx.post(srv.url + "/api/collections", json={"name": "x", "dim": 2},
                       headers={"Host": f"rebind.example:{srv.port}"})
        _refused(r, f"rebind.example:{srv.port}")
        assert httpx.get(srv.url + "/api/health").status_code == 200  # Host: 127.0.0.1:<port>
        assert httpx.get(f"http://localhost:{srv.port}/api/collections").json() == {"collections": []}


def test_allowed_hosts_extend_the_list(tmp_path):
    app = create_app(tmp_path, vectors_sets={}, allowed_hosts=["embed.lan", "10.0.0.7:8000", "*.corp.example"])
    with TestClient(app, base_url="http://localhost") as c:
        for ok in ("embed.lan", "EMBED.LAN:9", "10.0.0.7:8000", "a.corp.example", "b.a.corp.example:1", "localhost"):
            assert c.get("/api/collections", headers={"host": ok}).status_code == 200, ok
        for bad in ("10.0.0.7:8001", "10.0.0.7", "corp.example", "evilcorp.example", "embed.lan.evil.example"):
            _refused(c.get("/api/collections", headers={"host": bad}), bad)
    with TestClient(create_app(tmp_path, vectors_sets={}, allowed_hosts=["*"]), base_url="http://anything") as c:
        assert c.get("/api/collections").status_code == 200  # '*': no check (behind a proxy that checks)


def test_bad_allowed_host_entries_are_refused_at_start(tmp_path):
    from embedlab.errors import InputError

    for bad in ("a b", "host:port", "http://x/"):
        with pytest.raises(InputError, match="bad allowed host"):
            create_app(tmp_path, vectors_sets={}, allowed_hosts=[bad])


def test_missing_or_repeated_host_header_is_refused():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    mw = HostCheckMiddleware(app, HostAllowList())

    def call(headers):
        sent = []

        async def send(msg):
            sent.append(msg)

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
        asyncio.run(mw(scope, receive, send))
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    assert call([(b"host", b"localhost")])[0] == 200
    status, body = call([])
    assert status == 421 and json.loads(body)["error"]["type"] == "HostError"
    assert "without a (single) Host header" in json.loads(body)["error"]["message"]
    assert call([(b"host", b"localhost"), (b"host", b"evil.example")])[0] == 421


def test_host_parsing():
    assert split_host("LocalHost:80") == ("localhost", 80)
    assert split_host("[::1]:8000") == ("::1", 8000)
    assert split_host("[0:0::1]") == ("::1", None)
    assert split_host("example.com.") == ("example.com", None)
    for bad in ("", "a b", "x:", "x:0", "[::1]x", "a/b", "a@b"):
        assert split_host(bad) is None, bad


def test_default_allowed_hosts_follow_the_bound_address(monkeypatch):
    import socket

    monkeypatch.setattr(socket, "gethostname", lambda: "box")
    assert default_allowed_hosts("127.0.0.1") == default_allowed_hosts("localhost") == []
    assert default_allowed_hosts("::1") == default_allowed_hosts("127.0.0.5") == []
    assert default_allowed_hosts("192.168.1.5") == ["192.168.1.5"]
    assert default_allowed_hosts("0.0.0.0") == default_allowed_hosts("::") == ["box"]


def test_cli_serve_passes_allowed_hosts(monkeypatch, tmp_path):
    """`embedlab serve --allowed-host NAME` (repeatable) and the bound address reach the app's allow-list."""
    uvicorn = pytest.importorskip("uvicorn")
    from embedlab.cli import main

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    monkeypatch.setattr("embedlab.cli.serve._log_errors", lambda: None)  # no stderr handler left in this process
    monkeypatch.delenv("EMBEDLAB_API_KEY", raising=False)
    with pytest.raises(SystemExit) as e:
        main(["serve", "--no-preload", "--threads", "1", "--host", "192.168.7.7", "--allowed-host", "embed.lan",
              "--allowed-host", "*.corp.example"])
    assert e.value.code == 0
    app = served["app"]
    assert served["host"] == "192.168.7.7"
    assert app.state.allowed_hosts.entries == ["localhost", "127.0.0.1", "::1", "192.168.7.7", "embed.lan",
                                                "*.corp.example"]
    with TestClient(app, base_url="http://localhost") as c:
        for ok in ("192.168.7.7:8000", "embed.lan", "x.corp.example", "127.0.0.1:8000"):
            assert c.get("/api/collections", headers={"host": ok}).status_code == 200, ok
        _refused(c.get("/api/collections", headers={"host": "evil.example"}), "evil.example")


def test_cross_site_simple_posts_are_not_json(app):
    """A page on another origin can send a 'simple' POST (text/plain) without a CORS preflight; the write routes
    refuse anything but a JSON body, and the server sends no CORS headers that would let a page read answers."""
    with TestClient(app, base_url="http://localhost") as c:
        r = c.post("/api/collections", content=json.dumps({"name": "csrf", "dim": 2}),
                   headers={"content-type": "text/plain", "origin": "http://evil.example"})
        assert r.status_code == 400 and r.json()["error"]["type"] == "InputError"
        assert "access-control-allow-origin" not in r.headers
        assert c.get("/api/collections").json() == {"collections": []}
