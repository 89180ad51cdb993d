"""A bad Ray ``--address`` is one line within seconds (not Ray's 30 s of C++ warnings and nested tracebacks), from
the CLI (dry run too) and from Python; the real cluster accepting it is in test_scale_ray.py."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

pytest.importorskip("ray")

from embedlab.cli import main  # noqa: E402
from embedlab.errors import InputError  # noqa: E402
from embedlab.scale import check_address  # noqa: E402
from embedlab.scale.ray import init  # noqa: E402


@pytest.fixture()
def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def not_grpc() -> Iterator[int]:
    """A local port where a server accepts connections and answers in HTTP/1 (not a gRPC server)."""
    srv = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield int(srv.getsockname()[1])
    done.set()
    srv.close()


@pytest.fixture()
def no_cluster(monkeypatch, tmp_path):
    """``auto`` finds nothing: no $RAY_ADDRESS, and a Ray temp folder that records no cluster."""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path / "raytmp"))


def test_refused_port(closed_port):
    with pytest.raises(InputError) as exc:
        check_address(f"127.0.0.1:{closed_port}")
    assert str(exc.value) == (f"no Ray cluster answers at 127.0.0.1:{closed_port} (connection refused); check the "
                              "address and that the cluster is up (ray status on its head node), or pass no address "
                              "to start a local Ray for this call")
    assert exc.value.cli_message() == (
        f"no Ray cluster answers at --address 127.0.0.1:{closed_port} (connection refused); check the address and "
        "that the cluster is up (ray status on its head node), or leave out --address to start a local Ray for this "
        "command")


def test_a_server_that_is_not_grpc(not_grpc):
    with pytest.raises(InputError, match=r"^no Ray cluster answers at ray://127\.0\.0\.1:\d+ \(something accepts "
                                         r"connections there, but no gRPC server\); "):
        check_address(f"ray://127.0.0.1:{not_grpc}")


def test_silence_times_out_within_the_timeout():
    srv = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel's backlog) and never answers
    try:
        port = srv.getsockname()[1]
        t = time.perf_counter()
        with pytest.raises(InputError, match=rf"^no Ray cluster answers at 127\.0\.0\.1:{port} \(timed out after "
                                             r"0\.5 s\); "):
            check_address(f"127.0.0.1:{port}", timeout=0.5)
        assert time.perf_counter() - t < 3
    finally:
        srv.close()


def test_unknown_host():
    with pytest.raises(InputError, match=r"^no Ray cluster answers at nohost\.invalid:6379 \(unknown host\); "):
        check_address("nohost.invalid:6379")


@pytest.mark.parametrize("bad", ["nonsense", "head:", ":6379", "head:port", "head:0", "head:70000", "ray://head"])
def test_malformed(bad):
    with pytest.raises(InputError) as exc:
        check_address(bad)
    assert exc.value.cli_message() == (
        f"--address {bad} is not a Ray cluster address; use HOST:PORT (the head's GCS port, 6379 by default), "
        "ray://HOST:PORT (Ray Client, 10001 by default) or auto")
    assert str(exc.value).startswith(f"address={bad!r} is not a Ray cluster address; ")


def test_auto_without_a_cluster(no_cluster):
    with pytest.raises(InputError) as exc:
        check_address("auto")
    assert exc.value.cli_message() == (
        "no Ray cluster is running on this machine for --address auto (none started with ray start --head, and "
        "$RAY_ADDRESS is not set); start one with ray start --head, give its address, or leave out --address to "
        "start a local Ray for this command")


def test_auto_reads_ray_address_and_the_cluster_file(no_cluster, monkeypatch, tmp_path, closed_port):
    (tmp_path / "raytmp" / "ray").mkdir(parents=True)
    (tmp_path / "raytmp" / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{closed_port}\n")
    with pytest.raises(InputError, match=rf"^no Ray cluster answers at 127\.0\.0\.1:{closed_port} \(what auto "
                                         r"found\) \(connection refused\); "):
        check_address("auto")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")
    with pytest.raises(InputError, match=r"^no Ray cluster answers at 127\.0\.0\.1:1 \(what auto found\) "):
        check_address("auto")


def test_init_checks_the_address_first(closed_port):
    t = time.perf_counter()
    with pytest.raises(InputError, match=rf"^no Ray cluster answers at 127\.0\.0\.1:{closed_port} "):
        init(address=f"127.0.0.1:{closed_port}")
    assert time.perf_counter() - t < 5


@pytest.mark.parametrize("dry_run", [True, False])
def test_cli_one_line_fast(tmp_path, capsys, closed_port, dry_run):
    (tmp_path / "a.txt").write_text("hello", "utf-8")
    t = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        main(["index", "rayx", str(tmp_path / "a.txt"), "--engine", "ray", "--address", f"127.0.0.1:{closed_port}",
              *(["--dry-run"] if dry_run else [])])
    assert time.perf_counter() - t < 5
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == (f"error: no Ray cluster answers at --address 127.0.0.1:{closed_port} (connection refused); check "
                   "the address and that the cluster is up (ray status on its head node), or leave out --address to "
                   "start a local Ray for this command\n")


def test_cli_auto_without_a_cluster(tmp_path, capsys, no_cluster):
    (tmp_path / "a.txt").write_text("hello", "utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["index", "rayx", str(tmp_path / "a.txt"), "--engine", "ray", "--address", "auto", "--dry-run"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith("error: no Ray cluster is running on this machine for --address auto ")
