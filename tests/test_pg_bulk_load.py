"""Bulk loads on PostgreSQL: while a load's mark is set (a new or emptied collection loaded by `import`, `index`,
`Collection.bulk`), rows go in by binary COPY straight into the table and the HNSW index is built once at the end,
with the build session's memory and parallel workers set (store/pg/build.py). Same rows, same search results as
adds into the indexed table; a load killed before its index build stays incomplete until it is run again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from embedlab.errors import IncompleteCollectionWarning, InputError
from embedlab.store import Collection
from embedlab.store.pg import build

N, DIM = 3000, 16


@pytest.fixture
def url(pg_url):
    """The test database, emptied."""
    for name in Collection.names(backend=pg_url):
        Collection.drop(name, backend=pg_url)
    return pg_url


def data(n: int = N, dim: int = DIM, seed: int = 3) -> tuple[list[str], np.ndarray, list[dict], list[str | None]]:
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    metas = [{"n": i, "tag": f"t{i % 7}", "w": "é" * (i % 3)} for i in range(n)]
    return [f"d{i}" for i in range(n)], vecs, metas, [f"text {i}" if i % 4 else None for i in range(n)]


def scalar(url: str, sql: str, *args: object) -> object:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, args).fetchone()[0]


def staging_tables(url: str) -> int:
    """Temporary staging tables of the inserts that go through one (every session's; pg_class lists them all)."""
    return int(scalar(url, "SELECT count(*) FROM pg_class WHERE relname = 'embedlab_stage'"))


def hnsw_of(url: str, name: str) -> list[str]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE %s",
                                           (f"emb_{name}_%_hnsw",))]


def old_path(url: str, name: str, ids, vecs, metas, texts, batch: int = 1000) -> Collection:
    """Adds into the HNSW-indexed table, batch by batch (today's path for a collection that holds rows)."""
    c = Collection.create(name, dim=vecs.shape[1], index="hnsw", index_params={"M": 8}, backend=url)
    for s in range(0, len(ids), batch):
        c.add(ids[s:s + batch], vectors=vecs[s:s + batch], metadata=metas[s:s + batch], contents=texts[s:s + batch])
    return c


def bulk_path(url: str, name: str, ids, vecs, metas, texts, batch: int = 1000) -> Collection:
    """A load into a new collection: created marked, its rows COPYed, completed (index built) at the end."""
    c = Collection.create(name, dim=vecs.shape[1], index="hnsw", index_params={"M": 8}, backend=url,
                          loading={"resume": "run it again", "what": "a test load"})
    with c.bulk(resume="run it again"):
        for s in range(0, len(ids), batch):
            c.add(ids[s:s + batch], vectors=vecs[s:s + batch], metadata=metas[s:s + batch],
                  contents=texts[s:s + batch])
    return c


def test_a_bulk_load_copies_into_the_table_and_stores_and_finds_what_adds_into_the_index_do(url):
    ids, vecs, metas, texts = data()
    before = staging_tables(url)
    with bulk_path(url, "fast", ids, vecs, metas, texts) as fast:
        assert staging_tables(url) == before  # straight into the table: no staging table in its session
        with old_path(url, "slow", ids, vecs, metas, texts) as slow:
            assert staging_tables(url) == before + 1  # the indexed path stages, then INSERT ... ON CONFLICT
            assert fast.incomplete is None and fast.check()["ok"] and len(fast) == N
            assert len(hnsw_of(url, "fast")) == 1 and len(hnsw_of(url, "slow")) == 1
            assert fast.ids() == slow.ids() == ids  # write order kept
            a, b = fast.get(ids), slow.get(ids)
            assert np.stack([x.vector for x in a]).tobytes() == np.stack([x.vector for x in b]).tobytes()
            assert [(x.metadata, x.content, x.source) for x in a] == [(x.metadata, x.content, x.source) for x in b]
            assert a[5].metadata == {"n": 5, "tag": "t5", "w": "éé"} and a[4].content is None
            queries = np.random.default_rng(9).normal(size=(5, DIM)).astype(np.float32)
            for q in queries:  # exact search (below 20,000 rows): the same ids and scores
                got = [(h.id, h.score) for h in fast.search(q, k=10)]
                assert got == [(h.id, h.score) for h in slow.search(q, k=10)] and len(got) == 10
                where = {"tag": "t3"}
                assert [(h.id, h.score) for h in fast.search(q, k=10, where=where)] == \
                    [(h.id, h.score) for h in slow.search(q, k=10, where=where)]


def test_an_existing_id_in_a_bulk_load_is_refused_as_in_any_add_and_the_load_goes_on(url):
    ids, vecs, metas, texts = data(40)
    with Collection.create("dups", dim=DIM, index="hnsw", backend=url) as c:
        with c.bulk():
            c.add(ids[:20], vectors=vecs[:20])
            with pytest.raises(InputError, match=r"^1 id\(s\) already in collection 'dups', e\.g\. \['d7'\]; "
                                                 "use upsert"):
                c.add(["new", "d7"], vectors=vecs[:2])
            assert len(c) == 20 and "new" not in c.ids()  # nothing of the refused batch
            c.add(ids[20:], vectors=vecs[20:])
            c.upsert(["d3", "d39", "d40"], vectors=vecs[:3])  # replacements are COPYed too
        assert c.incomplete is None and len(c) == 41 and c.check()["ok"]
        want = (vecs[1] / np.linalg.norm(vecs[1])).astype(np.float32)
        assert c.get(["d39"])[0].vector.tobytes() == want.tobytes()
        assert len(hnsw_of(url, "dups")) == 1


def test_adding_to_a_collection_that_holds_rows_keeps_its_index_in_place(url):
    ids, vecs, metas, texts = data(200)
    with old_path(url, "kept", ids[:100], vecs[:100], metas[:100], texts[:100]) as c:
        before = staging_tables(url)
        c.add(ids[100:], vectors=vecs[100:], metadata=metas[100:])
        assert len(hnsw_of(url, "kept")) == 1 and staging_tables(url) == before
        assert c.incomplete is None and len(c) == 200 and c.check()["ok"]


@pytest.mark.slow
def test_hnsw_built_once_at_the_end_finds_what_the_index_grown_row_by_row_finds(url):
    n = 21_000  # above EXACT_BELOW: searches walk the HNSW graph
    ids, vecs, metas, texts = data(n, 16, seed=11)
    fast = bulk_path(url, "fastgraph", ids, vecs, metas, texts, batch=7000)
    slow = old_path(url, "slowgraph", ids, vecs, metas, texts, batch=7000)
    queries = np.random.default_rng(12).normal(size=(100, 16)).astype(np.float32)
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    truth = np.argsort(-(queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ unit.T, axis=1)[:, :10]

    def recall(c: Collection) -> float:
        got = c.search_many(queries, k=10, ef=200)
        return float(np.mean([len({h.id for h in hs} & {ids[i] for i in t}) / 10 for hs, t in zip(got, truth, strict=True)]))

    with fast, slow:
        r_fast, r_slow = recall(fast), recall(slow)
        print("recall@10 at ef 200: bulk", r_fast, "adds", r_slow)
        assert r_fast >= 0.99 and r_slow >= 0.99 and r_fast >= r_slow - 0.005, (r_fast, r_slow)
        assert fast.check()["ok"] and slow.check()["ok"]


# A child that loads a new collection in bulk and holds still before the load completes (before the index build),
# until the parent kills it with SIGKILL.
CHILD = textwrap.dedent("""
    import sys, json, numpy as np
    from embedlab.store import Collection
    url, n, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    c = Collection.create("killed", dim=dim, index="hnsw", index_params={"M": 8}, backend=url,
                          loading={"resume": "python load.py killed", "what": "a test load"})
    with c.bulk(resume="python load.py killed"):
        for s in range(0, n, 1000):
            c.add([f"d{i}" for i in range(s, min(s + 1000, n))], vectors=vecs[s:s + 1000])
        print("hold", flush=True)
        sys.stdin.readline()
""")


def test_a_bulk_load_killed_before_its_index_build_is_incomplete_and_a_rerun_completes_it(url):
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(N), str(DIM)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "hold"
        assert [r["status"] for r in Collection.statuses(backend=url)] == ["loading"]
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 60  # the killed session's load lock ends when the server notices
    while (row := Collection.statuses(backend=url)[0])["status"] == "loading" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert row["status"] == "incomplete" and row["count"] == N and row["resume"] == "python load.py killed"
    assert hnsw_of(url, "killed") == []
    with pytest.warns(IncompleteCollectionWarning, match=r"'killed' is incomplete: a test load stopped before it "
                                                         r"completed .*resume it: python load\.py killed"):
        c = Collection.open("killed", backend=url)
    ids, vecs, _, _ = data(N, DIM)
    with c:
        report = c.check()
        assert not report["ok"]
        assert any("the HNSW index the manifest promises" in p and "completing it (resuming the load) builds it" in p
                   for p in report["problems"])
        assert c.search(vecs[42], k=1)[0].id == "d42"  # exact meanwhile
        with c.bulk(resume="python load.py killed"):  # the load run again: its rows are there, so it only completes
            assert len(c) == N
        assert c.incomplete is None and c.check()["ok"] and len(hnsw_of(url, "killed")) == 1
        with old_path(url, "reference", ids, vecs, [{}] * N, [None] * N) as ref:
            for q in vecs[:5] + 0.1:
                assert [(h.id, h.score) for h in c.search(q, k=10)] == [(h.id, h.score) for h in ref.search(q, k=10)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", IncompleteCollectionWarning)
        Collection.open("killed", backend=url).close()


# ---------------------------------------------------------------------- the build session's settings
def test_build_settings_size_the_memory_to_the_graph_and_take_the_environment(monkeypatch):
    monkeypatch.delenv(build.MEMORY_ENV, raising=False)
    monkeypatch.delenv(build.WORKERS_ENV, raising=False)
    assert build.graph_bytes(100_000, 384, 16) == 100_000 * (384 * 4 + 8 + 16 * 32 + 256)
    assert build.graph_bytes(10, 3000, 16) == 10 * (3000 * 2 + 8 + 16 * 32 + 256)  # halfvec above 2,000
    assert build.settings(100_000, 384, 16, 64 << 20) == {"maintenance_work_mem": 231_200_000 * 5 // 4,
                                                           "max_parallel_maintenance_workers": 2}
    assert build.settings(10, 384, 16, 64 << 20)["maintenance_work_mem"] == 64 << 20  # never below the server's
    assert build.settings(10_000_000, 384, 16, 0)["maintenance_work_mem"] == 4 << 30  # auto's ceiling
    monkeypatch.setenv(build.MEMORY_ENV, "512MB")
    monkeypatch.setenv(build.WORKERS_ENV, "0")
    assert build.settings(10_000_000, 384, 16, 1 << 30) == {"maintenance_work_mem": 512 << 20,
                                                            "max_parallel_maintenance_workers": 0}
    monkeypatch.setenv(build.MEMORY_ENV, " 3 GB ")
    monkeypatch.setenv(build.WORKERS_ENV, "auto")
    assert build.settings(1, 8, 16, 0) == {"maintenance_work_mem": 3 << 30, "max_parallel_maintenance_workers": 2}


@pytest.mark.parametrize("memory, workers, bad", [("lots", "auto", "EMBEDLAB_PG_BUILD_MEMORY"),
                                                  ("512", "auto", "EMBEDLAB_PG_BUILD_MEMORY"),
                                                  ("0MB", "auto", "EMBEDLAB_PG_BUILD_MEMORY"),
                                                  ("1gb", "auto", "EMBEDLAB_PG_BUILD_MEMORY"),
                                                  ("auto", "-1", "EMBEDLAB_PG_BUILD_WORKERS"),
                                                  ("auto", "two", "EMBEDLAB_PG_BUILD_WORKERS"),
                                                  ("auto", "2000", "EMBEDLAB_PG_BUILD_WORKERS")])
def test_bad_build_settings_are_refused_before_a_load_starts(url, monkeypatch, memory, workers, bad):
    monkeypatch.setenv(build.MEMORY_ENV, memory)
    monkeypatch.setenv(build.WORKERS_ENV, workers)
    value = memory if bad.endswith("MEMORY") else workers
    with pytest.raises(InputError, match=rf"^\${bad} must be 'auto' or .*, not {value!r}$"):
        build.settings(1, 8, 16, 0)
    with Collection.create("c", dim=4, index="hnsw", backend=url) as c:
        with pytest.raises(InputError, match=rf"^\${bad} must be"), c.bulk():
            c.add(["a"], vectors=[[1, 0, 0, 0]])  # never reached
        assert c.incomplete is None and len(c) == 0 and len(hnsw_of(url, "c")) == 1  # nothing marked or dropped


def test_the_build_transaction_runs_with_the_settings_and_they_end_with_it(url, monkeypatch):
    import psycopg

    monkeypatch.setenv(build.MEMORY_ENV, "300MB")
    monkeypatch.setenv(build.WORKERS_ENV, "1")
    with psycopg.connect(url, autocommit=True) as conn:
        outside = conn.execute("SHOW maintenance_work_mem").fetchone()[0]
        with conn.transaction():
            assert build.prepare(conn, 5, 8, 16) == {"maintenance_work_mem": 300 << 20,
                                                     "max_parallel_maintenance_workers": 1}
            assert conn.execute("SHOW maintenance_work_mem").fetchone()[0] == "300MB"
            assert conn.execute("SHOW max_parallel_maintenance_workers").fetchone()[0] == "1"
            assert conn.execute("SHOW client_connection_check_interval").fetchone()[0] == "1s"
        assert conn.execute("SHOW maintenance_work_mem").fetchone()[0] == outside


def test_compact_builds_a_missing_index_with_the_build_settings(url, monkeypatch):
    ids, vecs, _, _ = data(50)
    with Collection.create("lost", dim=DIM, index="hnsw", backend=url) as c:
        c.add(ids, vectors=vecs)
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP INDEX "{hnsw_of(url, "lost")[0]}"')
        monkeypatch.setenv(build.WORKERS_ENV, "many")
        with pytest.raises(InputError, match=r"^\$EMBEDLAB_PG_BUILD_WORKERS must be"):
            c.compact()
        assert hnsw_of(url, "lost") == []
        monkeypatch.setenv(build.WORKERS_ENV, "0")
        c.compact()
        assert len(hnsw_of(url, "lost")) == 1 and c.check()["ok"]
