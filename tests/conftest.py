"""Session-wide test settings: offline, two threads, a throw-away embedlab home, models loaded once."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "2")
os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own embedlab home so collections never leak between tests."""
    from embedlab import config

    monkeypatch.setenv("EMBEDLAB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EMBEDLAB_DATABASE_URL", raising=False)
    config.set_home(None)
    config.set_backend(None)
    yield


@pytest.fixture
def progress_bars(monkeypatch):
    """``progress_bars(module, ...)`` puts a ``RecordingBar`` (tests/recording_bar.py) in place of each module's
    ``progress_bar`` and returns the list the bars made are appended to (one list per test)."""
    from recording_bar import recording_into

    made: list = []

    def record(*modules):
        for module in modules:
            monkeypatch.setattr(module, "progress_bar", recording_into(made))
        return made

    return record


@pytest.fixture(scope="session")
def use_encoder():
    """The default multilingual encoder, loaded once per test session."""
    import embedlab

    return embedlab.encoder("use-multilingual")


@pytest.fixture(scope="session")
def glove():
    """GloVe 6B-50d (400k words), loaded once per test session."""
    from embedlab.io.glove import load_glove

    return load_glove()


# --------------------------------------------------------------------------- the projector's browser tests
@pytest.fixture(scope="module")
def playwright():
    """Playwright, per test module (the modules importing ``projector_pages``, skipped without Chromium)."""
    from projector_pages import sync_api

    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    """Debian's headless Chromium with the projector tests' flags, per test module."""
    from projector_pages import ARGS, CHROMIUM

    b = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield b
    b.close()


# --------------------------------------------------------------------------- PostgreSQL + pgvector
# The test command (scripts/run.sh test) starts a throw-away server with scripts/postgres.sh and exports its URL
# as EMBEDLAB_TEST_DATABASE_URL; run directly, pytest starts it the same way. Where PostgreSQL and pgvector are
# not installed (no root to install them) the PostgreSQL tests skip and say why — except in CI, where a
# missing database is a failure, never a silent skip. Tests drop every collection in that database.
_PG: dict = {}


def _start_postgres() -> tuple[str | None, str]:
    import subprocess
    from pathlib import Path

    url = os.environ.get("EMBEDLAB_TEST_DATABASE_URL")
    if url:
        return url, ""
    script = Path(__file__).resolve().parents[1] / "scripts" / "postgres.sh"

    def pg(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)

    check = pg("check")
    if check.returncode != 0:
        return None, (check.stdout + check.stderr).strip() or "PostgreSQL/pgvector not installed"
    _PG["stop"] = pg("status").returncode != 0  # stop it at the end only if this session started it
    started = pg("start")
    if started.returncode != 0:
        return None, f"scripts/postgres.sh start failed: {(started.stdout + started.stderr).strip()}"
    return started.stdout.strip().splitlines()[-1], ""


def pytest_sessionfinish(session, exitstatus):
    if _PG.get("database"):
        try:
            import psycopg

            with psycopg.connect(_PG["server"], autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{_PG["database"]}" WITH (FORCE)')
        except Exception:  # a leftover test database is harmless; never fail the run for it
            pass
    if _PG.get("stop"):
        import subprocess
        from pathlib import Path

        script = Path(__file__).resolve().parents[1] / "scripts" / "postgres.sh"
        subprocess.run(["bash", str(script), "stop"], capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def pg_url():
    """The URL of a database of its own for this test session (created on the test PostgreSQL + pgvector server,
    started once per session, and dropped at the end), so concurrent sessions never see each other's data."""
    if "url" not in _PG:
        _PG["url"], _PG["why"] = _start_postgres()
        if _PG["url"] is not None:
            _PG["url"] = _session_database(_PG["url"])
    if _PG["url"] is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests, but no server could be started: {_PG['why']}")
        pytest.skip(f"no PostgreSQL + pgvector server: {_PG['why']}")
    return _PG["url"]


def _session_database(server_url: str) -> str:
    import uuid

    import psycopg

    name = f"embedlab_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # from template1, which has the vector extension
        conn.execute(f'ALTER DATABASE "{name}" OWNER TO CURRENT_USER')
    _PG["server"], _PG["database"] = server_url, name
    return server_url.rsplit("/", 1)[0] + "/" + name


def _empty_database(url: str) -> None:
    from embedlab.store import Collection

    for name in Collection.names(backend=url):
        Collection.drop(name, backend=url)


@pytest.fixture(params=["local", "postgresql"])
def backend(request):
    """Keyword arguments that put a Collection on each backend: ``Collection.create(name, dim=4, **backend)``;
    the PostgreSQL database starts empty for every test."""
    if request.param == "local":
        return {}
    url = request.getfixturevalue("pg_url")
    _empty_database(url)
    return {"backend": url}
