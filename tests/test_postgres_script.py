"""scripts/postgres.sh: a throw-away PostgreSQL + pgvector (>= 0.8.0) server for tests and benchmarks.

The server tests start their own cluster in a temporary folder (on a free port, so a developer's
`.pgdata` server is left alone) once per session and wipe it at the end. They skip, saying why, when
PostgreSQL or pgvector is not installed (`bash scripts/install-system.sh` as root installs both).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "postgres.sh"
URL_RE = re.compile(r"^postgresql://postgres@127\.0\.0\.1:(\d+)/embedlab$")


def _env(data: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "EMBEDLAB_PGPORT" and not k.startswith("PG")}
    if data is not None:
        env["EMBEDLAB_PGDATA"] = str(data)
    env.update(extra)
    return env


def pg(*args: str, data: Path | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run scripts/postgres.sh with no stdin (as in CI)."""
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=_env(data, **extra), stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=300,
    )


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", v)[:3])


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """(data folder, url) of a running server for this session; stopped and wiped at the end.

    Tests that stop or move it leave it running at the same URL."""
    check = pg("check")
    if check.returncode != 0:
        pytest.skip(f"no PostgreSQL + pgvector here: {check.stderr.strip()}")
    data = tmp_path_factory.mktemp("pg") / "data"
    started = pg("start", data=data)
    assert started.returncode == 0, started.stderr
    yield data, started.stdout.strip()
    stopped = pg("stop", "--wipe", data=data)
    assert stopped.returncode == 0, stopped.stderr
    assert not os.path.lexists(data) and pg("status", data=data).returncode == 1


def psql(data: Path, sql: str, db: str = "embedlab") -> str:
    """One SQL statement through the script's psql, unaligned tuples only."""
    res = pg("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql, data=data)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


# --- without a server -------------------------------------------------------------------------------

def test_missing_server_programs_say_how_to_install():
    for cmd in ("check", "start"):
        res = pg(cmd, EMBEDLAB_PG_BINDIR="/nonexistent")
        assert res.returncode == 3
        assert "scripts/install-system.sh" in res.stderr and "as root" in res.stderr


def test_usage_errors(tmp_path):
    assert pg("frobnicate").returncode == 2
    assert pg("stop", "--hard", data=tmp_path / "d").returncode == 2
    res = pg("url", data=tmp_path / "none")
    assert res.returncode == 1 and "start" in res.stderr
    assert pg("status", data=tmp_path / "none").returncode == 1
    assert pg("stop", data=tmp_path / "none").returncode == 0  # nothing to stop


# --- with a server ----------------------------------------------------------------------------------

def test_start_prints_the_url_and_url_repeats_it(server):
    data, url = server
    assert URL_RE.match(url), url
    assert pg("url", data=data).stdout.strip() == url
    status = pg("status", data=data)
    assert status.returncode == 0 and status.stdout.strip() == url


def test_pgvector_is_recent_in_every_database(server):
    data, _ = server
    assert _version(psql(data, "SELECT extversion FROM pg_extension WHERE extname = 'vector'")) >= (0, 8, 0)
    psql(data, "DROP DATABASE IF EXISTS fresh", db="postgres")
    psql(data, "CREATE DATABASE fresh", db="postgres")  # from template1, which has the extension
    assert psql(data, "SELECT count(*) FROM pg_extension WHERE extname = 'vector'", db="fresh") == "1"
    psql(data, "DROP DATABASE fresh", db="postgres")


def test_listens_on_localhost_only_with_small_settings(server):
    data, _ = server
    got = psql(data, "SELECT current_setting('listen_addresses') || ' ' || current_setting('max_connections')")
    assert got == "127.0.0.1 50"


def test_start_again_is_a_no_op(server):
    data, url = server
    before = psql(data, "SELECT pg_postmaster_start_time()")
    t0 = time.perf_counter()
    again = pg("start", data=data)
    assert again.returncode == 0 and again.stdout.strip() == url and again.stderr == ""
    assert time.perf_counter() - t0 < 5
    assert psql(data, "SELECT pg_postmaster_start_time()") == before


def test_python_client_hnsw_iterative_scan_halfvec_and_binary_copy(server):
    psycopg = pytest.importorskip("psycopg")
    np = pytest.importorskip("numpy")
    pytest.importorskip("pgvector")
    from pgvector import HalfVector
    from pgvector.psycopg import register_vector

    _, url = server
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 3)).astype(np.float32)
    with psycopg.connect(url, prepare_threshold=None) as conn:
        register_vector(conn)
        assert _version(conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]) >= (0, 8, 0)
        conn.execute("CREATE TEMP TABLE items (id int8, cat int4, v vector(3), h halfvec(3))")
        with conn.cursor().copy("COPY items (id, cat, v, h) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int4", "vector", "halfvec"])
            for i, row in enumerate(x):
                copy.write_row([i, i % 5, row, HalfVector(row)])
        conn.execute("CREATE INDEX ON items USING hnsw (v vector_cosine_ops)")
        conn.execute("CREATE INDEX ON items USING hnsw (h halfvec_l2_ops)")
        with conn.transaction():
            conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            conn.execute("SET LOCAL enable_seqscan = off")
            assert conn.execute("SHOW hnsw.iterative_scan").fetchone()[0] == "relaxed_order"
            plan = "\n".join(r[0] for r in conn.execute(
                "EXPLAIN SELECT id FROM items WHERE cat = 2 ORDER BY v <=> %s LIMIT 5", (x[2],)))
            assert "items_v_idx" in plan
            rows = conn.execute(
                "SELECT id, cat, v FROM items WHERE cat = 2 ORDER BY v <=> %s LIMIT 5", (x[2],)).fetchall()
        assert len(rows) == 5 and all(cat == 2 for _, cat, _ in rows) and rows[0][0] == 2
        np.testing.assert_allclose(rows[0][2].to_numpy(), x[2], rtol=1e-6)  # pgvector>=0.4 returns Vector
        nearest = conn.execute("SELECT id, h FROM items ORDER BY h <-> %s LIMIT 1", (HalfVector(x[7]),)).fetchone()
        assert nearest[0] == 7
        np.testing.assert_allclose(nearest[1].to_numpy(), x[7], rtol=1e-3)


def test_stop_then_start_keeps_port_and_data(server):
    data, url = server
    psql(data, "CREATE TABLE IF NOT EXISTS kept (x int); INSERT INTO kept VALUES (1)")
    stopped = pg("stop", data=data)
    assert stopped.returncode == 0, stopped.stderr
    assert pg("status", data=data).returncode == 1
    assert pg("url", data=data).stdout.strip() == url  # the port is remembered
    assert pg("stop", data=data).returncode == 0  # stopping a stopped server is fine
    restarted = pg("start", data=data)
    assert restarted.returncode == 0 and restarted.stdout.strip() == url, restarted.stderr
    assert psql(data, "SELECT count(*) FROM kept") == "1"
    psql(data, "DROP TABLE kept")


def test_a_taken_port_moves_the_server_to_the_next_free_one(server, tmp_path):
    data, url = server
    port = int(URL_RE.match(url).group(1))
    assert pg("stop", data=data).returncode == 0
    with socket.socket() as blocker:  # another program takes the port while the server is down
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the stopped server's TIME_WAIT
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        moved = pg("start", data=data)
        assert moved.returncode == 0, moved.stderr
        new_port = int(URL_RE.match(moved.stdout.strip()).group(1))
        assert new_port > port and pg("url", data=data).stdout.strip() == moved.stdout.strip()
        pinned = pg("start", data=tmp_path / "other", EMBEDLAB_PGPORT=str(port))
        assert pinned.returncode == 1 and f"port {port}" in pinned.stderr
        assert not (tmp_path / "other" / "cluster").exists()
    assert pg("stop", data=data).returncode == 0  # back to the session's port, now free again
    assert pg("start", data=data, EMBEDLAB_PGPORT=str(port)).stdout.strip() == url
