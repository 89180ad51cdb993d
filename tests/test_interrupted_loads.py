"""Loads that do not finish: an import (`embedlab import`), a bulk load (`Collection.bulk()`) and a first index
(`embedlab index` into a new collection) killed with SIGKILL at aimed points, or cut off by a PostgreSQL server
stop, on both backends. A half-loaded collection must never look complete: `list` says incomplete (loading while
its loader still runs) with the commands that resume it or remove it, `check` fails it, opening it warns, a plain
re-run is refused with those commands, and the resume finishes it with every row of the file exactly once (and,
on PostgreSQL, the HNSW index the manifest promises built)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.errors import IncompleteCollectionWarning, InputError
from embedlab.store import Collection
from embedlab.store.loads import RESUME_BULK

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROWS, DIM, BATCH = 2000, 16, 200


@pytest.fixture
def url(pg_url):
    """The test database, emptied."""
    for name in Collection.names(backend=pg_url):
        Collection.drop(name, backend=pg_url)
    return pg_url

# A child that runs a CLI command and holds still at an aimed point (printing "hold"), until the parent kills it
# (SIGKILL) or tells it to go on (a line on its stdin). Points: "created" (the collection exists, nothing loaded),
# "added N" (N batches committed), "insert N" (inside the N-th batch's transaction, before its commit),
# "complete" (every row in, before the commit that completes the load), "upsert N" (after N index upserts).
CHILD = textwrap.dedent("""
    import sys
    from embedlab.cli import main
    from embedlab.store import Collection
    from embedlab.store.local.table import LocalTable
    from embedlab.store.local.txn import LocalWriter
    from embedlab.store.pg.table import PgTable
    from embedlab.store.pg.txn import PgWriter
    point, at = sys.argv[1], int(sys.argv[2])
    calls = {}

    def hold():
        print("hold", flush=True)
        sys.stdin.readline()

    def counted(name, real):
        def wrapper(*a, **kw):
            out = real(*a, **kw)
            calls[name] = calls.get(name, 0) + 1
            print(name, calls[name], flush=True)
            if point == name and calls[name] == at:
                hold()
            return out
        return wrapper

    Collection.add = counted("added", Collection.add)
    Collection.upsert = counted("upsert", Collection.upsert)
    LocalWriter.insert = counted("insert", LocalWriter.insert)
    PgWriter.insert = counted("insert", PgWriter.insert)
    real_create = Collection.create
    Collection.create = classmethod(lambda cls, *a, **kw: counted("created", real_create)(*a, **kw))
    for table in (LocalTable, PgTable):
        if not hasattr(table, "complete"):  # (an embedlab without load marks: nothing completes a load)
            continue

        def complete(self, _real=table.complete):
            if point == "complete":
                hold()
            return _real(self)
        table.complete = complete
    main(sys.argv[3:])
""")


def spawn(point: str, at: int, *args: str) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", CHILD, point, str(at), *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_hold(child: subprocess.Popen) -> list[str]:
    seen = []
    while True:
        line = child.stdout.readline()
        assert line, f"the child ended before its hold point: {seen} {child.stderr.read()}"
        seen.append(line.strip())
        if line.strip() == "hold":
            return seen


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())


def cli(backend: dict) -> tuple[str, ...]:
    return ("--backend", backend["backend"]) if backend else ()


def listed(capsys, backend: dict) -> dict[str, dict]:
    code, out, err = run(capsys, *cli(backend), "list", "--json")
    assert code == 0, err
    return {r["name"]: r for r in json.loads(out)}


def settled(capsys, backend: dict, name: str) -> dict:
    """The listing of ``name`` once its killed loader is gone: a killed client's PostgreSQL session (and its load
    lock) ends when the server notices the closed socket, a moment after the SIGKILL."""
    deadline = time.monotonic() + 60
    while True:
        row = listed(capsys, backend)[name]
        if row["status"] != "loading" or time.monotonic() > deadline:
            return row
        time.sleep(0.05)


def export_file(tmp_path, backend: dict):
    """A Parquet file of ROWS items (HNSW index, metadata, contents, sources) and its rows as read back."""
    rng = np.random.default_rng(21)
    with Collection.create("source", dim=DIM, index="hnsw", index_params={"M": 8}, root=tmp_path / "src") as src:
        src.add([f"r{i}" for i in range(ROWS)], vectors=rng.normal(size=(ROWS, DIM)).astype(np.float32),
                metadata=[{"n": i, "year": str(2000 + i % 25)} for i in range(ROWS)],
                contents=[f"text {i}" if i % 3 else None for i in range(ROWS)],
                sources=[f"doc{i % 7}.txt" for i in range(ROWS)])
        from embedlab.store.parquet import export_parquet

        export_parquet(src, tmp_path / "items.parquet", batch_size=500)
    t = pq.read_table(tmp_path / "items.parquet")
    vecs = np.asarray(t.column("vector").combine_chunks().flatten(), np.float32).reshape(-1, DIM)
    return tmp_path / "items.parquet", {"ids": t.column("id").to_pylist(), "vectors": vecs,
                                        "metadata": [json.loads(m) for m in t.column("metadata").to_pylist()],
                                        "contents": t.column("content").to_pylist(),
                                        "sources": t.column("source").to_pylist()}


def assert_same_as_file(backend: dict, want: dict) -> None:
    with Collection.open("imp", **backend) as c:
        ids = c.ids()
        assert ids == want["ids"]  # every row exactly once, in the file's order
        items = c.get(ids)
        assert np.stack([it.vector for it in items]).tobytes() == want["vectors"].tobytes()  # bit for bit
        assert [it.metadata for it in items] == want["metadata"]
        assert [it.content for it in items] == want["contents"]
        assert [it.source for it in items] == want["sources"]
        assert c.search(want["vectors"][1234], k=1)[0].id == "r1234"


def hnsw_indexes(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'emb_imp_%%_hnsw'")]


def assert_incomplete(capsys, backend: dict, name: str, resume: str, what: str) -> None:
    row = settled(capsys, backend, name)
    assert row["status"] == "incomplete", row
    assert row["resume"] == resume and what in row["what"]
    assert row["remove"] == " ".join(["embedlab", *cli(backend), "drop", name, "--yes"])
    code, out, _ = run(capsys, *cli(backend), "check", name)
    flat = " ".join(out.split())
    assert code == 1 and "is incomplete" in flat and f"resume the load: {resume}" in flat
    assert f"or remove the collection: {row['remove']}" in flat
    with pytest.warns(IncompleteCollectionWarning, match=f"collection '{name}' is incomplete.*resume it: "):
        Collection.open(name, **backend).close()


@pytest.mark.slow
def test_an_import_killed_anywhere_is_listed_incomplete_and_resumes_to_exactly_the_file(tmp_path, capsys, backend):
    path, want = export_file(tmp_path, backend)
    expected = " ".join(["embedlab", *(("--backend", backend["backend"]) if backend else ()), "import",
                         str(path.resolve()), "--name", "imp", "--resume"])
    kills = [("created", 1, "drop"), ("added", 3, "resume"), ("insert", 5, "resume"), ("complete", 0, "resume")]
    for point, at, then in kills:
        child = spawn(point, at, *cli(backend), "import", str(path), "--name", "imp", "--batch-size", str(BATCH))
        try:
            wait_hold(child)
            assert listed(capsys, backend)["imp"]["status"] == "loading"  # its loader still runs: not resumable
            code, _, err = run(capsys, *cli(backend), "import", str(path), "--name", "imp", "--resume")
            assert code == 2 and "is being loaded" in err and "wait for it to finish" in err
        finally:
            child.kill()
            child.wait()
        assert_incomplete(capsys, backend, "imp", expected, f"an import of {path.resolve()} ({ROWS:,} rows)")
        count = listed(capsys, backend)["imp"]["count"]
        assert count == {"created": 0, "added": 3 * BATCH, "insert": 4 * BATCH, "complete": ROWS}[point]
        if backend:  # the HNSW index is built when the import completes: it is missing, and check says so
            assert hnsw_indexes(backend["backend"]) == []
            _, out, _ = run(capsys, *cli(backend), "check", "imp")
            assert "the HNSW index the manifest promises" in " ".join(out.split())
        code, _, err = run(capsys, *cli(backend), "import", str(path), "--name", "imp")  # a plain re-run
        assert code == 2 and expected in err and "drop imp --yes" in err
        if then == "drop":
            code, out, _ = run(capsys, *cli(backend), *shlex.split(listed(capsys, backend)["imp"]["remove"])[1:])
            assert code == 0 and "imp" not in listed(capsys, backend)
            continue
        code, out, err = run(capsys, *shlex.split(expected)[1:])  # the resume command, exactly as listed
        assert code == 0, err
        assert f"{count} of {ROWS} items" in " ".join(out.split())
        assert listed(capsys, backend)["imp"] == {"name": "imp", "status": "ok", "count": ROWS, "encoder": None,
                                                  "index": "hnsw", "dim": DIM}
        code, out, err = run(capsys, *cli(backend), "check", "imp")
        assert code == 0, out
        assert_same_as_file(backend, want)
        if backend:
            assert len(hnsw_indexes(backend["backend"])) == 1
        Collection.drop("imp", **backend)
    # a resume of a complete collection, or from another file, is refused; an import that completes is plain
    code, _, err = run(capsys, *cli(backend), "import", str(path), "--name", "imp", "--json")
    assert code == 0, err
    with Collection.open("imp", **backend) as c:
        report = c.check()
        assert c.incomplete is None and "incomplete" not in c.info() and set(report) == {
            "ok", "problems", "segments", "items", "deep"} and report["ok"] and report["items"] == ROWS
    code, _, err = run(capsys, *cli(backend), "import", str(path), "--name", "imp", "--resume")
    assert code == 2 and "is complete (it is not an interrupted import): nothing to resume" in err


def test_a_resume_refuses_rows_that_differ_from_the_file_or_another_file(tmp_path, capsys, backend):
    path, want = export_file(tmp_path, backend)
    child = spawn("added", 2, *cli(backend), "import", str(path), "--name", "imp", "--batch-size", str(BATCH))
    try:
        wait_hold(child)
    finally:
        child.kill()
        child.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteCollectionWarning)
        with Collection.open("imp", **backend) as c:  # someone changed a stored row meanwhile
            c.upsert(["r7"], vectors=want["vectors"][8:9], prepared=True)
    code, _, err = run(capsys, *cli(backend), "import", str(path), "--name", "imp", "--resume")
    assert code == 2 and "holds id 'r7' with another vector and content than row 7" in err and "drop imp --yes" in err
    other = tmp_path / "other.parquet"
    pq.write_table(pq.read_table(path).slice(0, 50), other)
    code, _, err = run(capsys, *cli(backend), "import", str(other), "--name", "imp", "--resume")
    assert code == 2 and f"not of {other}" in err
    assert listed(capsys, backend)["imp"]["status"] == "incomplete"  # a refused resume keeps what it has


def test_a_server_stop_during_an_import_leaves_it_incomplete_and_resumable(tmp_path, capsys, url):
    pg_url = url
    import psycopg

    backend = {"backend": pg_url}
    path, want = export_file(tmp_path, backend)
    db = pg_url.rsplit("/", 1)[1]
    admin = pg_url.rsplit("/", 1)[0] + "/postgres"
    for point, at in (("added", 3), ("complete", 0)):
        child = spawn(point, at, *cli(backend), "import", str(path), "--name", "imp", "--batch-size", str(BATCH))
        try:
            wait_hold(child)
            with psycopg.connect(admin, autocommit=True) as conn:  # the server goes away for this database
                conn.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
                try:
                    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                                 (db,))
                    child.stdin.write("go\n")
                    child.stdin.flush()
                    _, err = child.communicate(timeout=120)
                finally:
                    conn.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
        finally:
            child.kill()
            child.wait()
        assert child.returncode == 2 and "PostgreSQL" in err  # one line, and nothing could be dropped
        expected = f"embedlab --backend {pg_url} import {path.resolve()} --name imp --resume"
        assert_incomplete(capsys, backend, "imp", expected, "an import of")
        assert listed(capsys, backend)["imp"]["count"] == (3 * BATCH if point == "added" else ROWS)
        assert hnsw_indexes(pg_url) == []
        code, _, err = run(capsys, *shlex.split(expected)[1:])
        assert code == 0, err
        assert_same_as_file(backend, want)
        assert len(hnsw_indexes(pg_url)) == 1 and listed(capsys, backend)["imp"]["status"] == "ok"
        Collection.drop("imp", **backend)


BULK_CHILD = textwrap.dedent("""
    import sys, json, numpy as np
    from embedlab.store import Collection
    kw = json.loads(sys.argv[1])
    c = Collection.open("bulk", **kw)
    with c.bulk():
        v = np.random.default_rng(5).normal(size=(900, 8)).astype(np.float32)
        for b in range(3):
            c.add([f"n{b}-{i}" for i in range(300)], vectors=v[300 * b:300 * (b + 1)])
        print("hold", flush=True)
        sys.stdin.readline()
""")


def test_a_bulk_load_killed_before_its_index_build_is_incomplete_until_resumed(capsys, backend):
    rng = np.random.default_rng(4)
    old = rng.normal(size=(100, 8)).astype(np.float32)
    with Collection.create("bulk", dim=8, index="hnsw", **backend) as c:
        c.add([f"o{i}" for i in range(100)], vectors=old)
    child = subprocess.Popen([sys.executable, "-c", BULK_CHILD, json.dumps(backend)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "hold"
        assert listed(capsys, backend)["bulk"]["status"] == "loading"
        with pytest.warns(IncompleteCollectionWarning, match="'bulk' is being loaded: a bulk load is running"):
            c = Collection.open("bulk", **backend)
        with c, pytest.raises(InputError, match="is being loaded"):
            c.complete()  # not while its loader runs
    finally:
        child.kill()
        child.wait()
    assert_incomplete(capsys, backend, "bulk", RESUME_BULK, "a bulk load")
    if backend:
        import psycopg

        with psycopg.connect(backend["backend"]) as conn:
            assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'emb_bulk_%%_hnsw'"
                                ).fetchone()[0] == 0
        _, out, _ = run(capsys, *cli(backend), "check", "bulk")
        assert "the HNSW index the manifest promises" in " ".join(out.split())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IncompleteCollectionWarning)
        c = Collection.open("bulk", **backend)
    with c:
        assert len(c) == 1000 and c.search(old[42], k=1)[0].id == "o42"  # searches stay correct meanwhile
        with c.bulk():  # the interrupted load run again (here: nothing left to add) completes it
            pass
        assert c.incomplete is None and c.check()["ok"]
    assert listed(capsys, backend)["bulk"]["status"] == "ok"
    if backend:
        with psycopg.connect(backend["backend"]) as conn:
            assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'emb_bulk_%%_hnsw'"
                                ).fetchone()[0] == 1


def test_a_first_index_killed_midway_is_incomplete_and_the_same_command_completes_it(tmp_path, capsys, backend):
    notes = tmp_path / "notes.csv"
    words = ["train", "car", "ship", "plane", "bike", "bus"]
    notes.write_text("id,text\n" + "".join(f"n{i},a {words[i % 6]} number {i}\n" for i in range(1300)), "utf-8")
    child = spawn("upsert", 1, *cli(backend), "index", "notes", str(notes), "--encoder", "glove-50")
    try:
        wait_hold(child)
        assert listed(capsys, backend)["notes"]["status"] == "loading"
    finally:
        child.kill()
        child.wait()
    resume = " ".join(["embedlab", *cli(backend), "index", "notes", str(notes.resolve())])
    assert_incomplete(capsys, backend, "notes", resume, "a first index of 1 path(s)")
    assert listed(capsys, backend)["notes"]["count"] == 512  # the first of three upserts
    with pytest.warns(IncompleteCollectionWarning, match="'notes' is incomplete"):  # (printed, then resumed)
        code, out, err = run(capsys, *shlex.split(resume)[1:])
    assert code == 0, err
    assert listed(capsys, backend)["notes"] == {"name": "notes", "status": "ok", "count": 1300,
                                                "encoder": "glove-50", "index": "exact", "dim": 50}
    assert run(capsys, *cli(backend), "check", "notes")[0] == 0


def test_a_missing_hnsw_index_is_reported_by_check_and_built_by_compact(url):
    import psycopg

    pg_url = url
    with Collection.create("lost", dim=4, index="hnsw", backend=pg_url) as c:
        c.add(["a", "b"], vectors=np.eye(4, dtype=np.float32)[:2])
        assert c.check()["ok"]
        with psycopg.connect(pg_url, autocommit=True) as conn:  # as a bulk load from before this check left it
            conn.execute("DO $$ DECLARE i text; BEGIN SELECT indexname INTO i FROM pg_indexes WHERE indexname LIKE "
                         "'emb_lost_%_hnsw'; EXECUTE format('DROP INDEX %I', i); END $$")
        report = c.check()
        assert not report["ok"] and "HNSW index the manifest promises" in report["problems"][0]
        assert "embedlab compact lost" in report["problems"][0]
        c.compact()
        assert c.check() == {"ok": True, "problems": [], "segments": 0, "items": 2, "deep": True}


def test_a_catalogue_from_before_the_load_mark_still_lists_opens_and_loads(url):
    import psycopg

    pg_url = url
    Collection.create("old", dim=4, backend=pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE embedlab_collections DROP COLUMN pending")
    with warnings.catch_warnings():
        warnings.simplefilter("error", IncompleteCollectionWarning)
        with Collection.open("old", backend=pg_url) as c:
            assert c.incomplete is None and c.check()["ok"]
            c.add(["a"], vectors=[[1, 0, 0, 0]])
            with c.bulk():  # gains the column
                c.add(["b"], vectors=[[0, 1, 0, 0]])
    assert [r["status"] for r in Collection.statuses(backend=pg_url)] == ["ok"]


def test_http_lists_an_interrupted_load_as_incomplete(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    half = Collection.create("half", dim=2, root=tmp_path / "srv" / "collections",
                             loading={"resume": "embedlab import x.parquet --name half --resume", "what": "an import"})
    half.add(["a"], vectors=[[1, 0]])
    half.close()  # as a killed import leaves it: marked, and no loader holds its load lock
    with TestClient(create_app(tmp_path / "srv"), base_url="http://localhost") as client:
        with pytest.warns(IncompleteCollectionWarning):
            listed = {c["name"]: c for c in client.get("/api/collections").json()["collections"]}
        assert listed["half"]["status"] == "incomplete" and listed["half"]["count"] == 1
        assert listed["half"]["incomplete"]["resume"] == "embedlab import x.parquet --name half --resume"
        assert client.post("/api/collections/half/search", json={"vector": [1, 0]}).json()["hits"][0]["id"] == "a"
