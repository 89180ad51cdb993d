"""The PostgreSQL + pgvector backend on a real server (scripts/postgres.sh): its faults and its own features.
The behaviour it shares with the local backend is tested by the parametrised Collection and filter tests."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.errors import (
    BackendError,
    CollectionNotFoundError,
    DatabaseUnavailableError,
    DimensionError,
    EncoderMismatchError,
    InputError,
    LockTimeoutError,
)
from embedlab.store import Collection

psycopg = pytest.importorskip("psycopg")


@pytest.fixture
def url(pg_url):
    from embedlab.store import Collection

    for name in Collection.names(backend=pg_url):
        Collection.drop(name, backend=pg_url)
    return pg_url


def _sql(url, statement, params=None):
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else None


def _tables(url):
    return {r[0] for r in _sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_unreachable_or_wrong_url_is_a_clear_error_and_creates_nothing(url):
    before = _tables(url)
    for bad in ("postgresql://postgres@127.0.0.1:1/embedlab", "postgresql://nobody@127.0.0.1:1/x"):
        with pytest.raises(DatabaseUnavailableError, match=r"cannot connect to PostgreSQL at .*127.0.0.1:1.*"
                                                           r"scripts/postgres.sh start"):
            Collection.create("c", dim=4, backend=bad)
    assert _tables(url) == before


def test_passwords_never_appear_in_messages(url):
    with pytest.raises(DatabaseUnavailableError) as exc:
        Collection.open("c", backend="postgresql://u:hunter2@127.0.0.1:1/x")
    assert "hunter2" not in str(exc.value) and "u:***@127.0.0.1:1" in str(exc.value)
    with pytest.raises(InputError, match="unknown backend 'mysql://x'"):
        Collection.create("c", dim=4, backend="mysql://x")


def test_a_failed_create_leaves_no_table(url):
    before = _tables(url)
    with pytest.raises(InputError, match="pgvector indexes at most 4000 dimensions"):
        Collection.create("huge", dim=4001, index="hnsw", backend=url)
    Collection.create("first", dim=4, backend=url).close()
    with pytest.raises(InputError, match="already exists"):
        Collection.create("first", dim=4, backend=url)
    made = _tables(url) - before - {"embedlab_collections"}  # the catalogue appears with the first collection
    assert made == {r[0] for r in _sql(url, "SELECT table_name FROM embedlab_collections")}
    assert Collection.names(backend=url) == ["first"]


def test_dimensions_above_the_vector_index_limit_use_a_halfvec_index(url):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(60, 2500)).astype(np.float32)
    with Collection.create("wide", dim=2500, index="hnsw", backend=url) as c:
        c.add([f"w{i}" for i in range(60)], vectors=v)
        assert c.search(v[17], k=1)[0].id == "w17"
        from embedlab.metrics import normalize

        np.testing.assert_array_equal(c.get(["w3"])[0].vector, normalize(v[3:4])[0])  # stored as float32, exactly
    idx = _sql(url, "SELECT indexdef FROM pg_indexes WHERE indexname LIKE '%%_hnsw'")
    assert "halfvec(2500)" in idx[0][0] and "halfvec_cosine_ops" in idx[0][0]
    with Collection.create("wide-exact", dim=5000, backend=url) as c:  # no index: exact search only
        c.add(["x"], vectors=rng.normal(size=(1, 5000)).astype(np.float32))
        assert c.search(np.ones(5000), k=1)[0].id == "x"


def test_the_pgvector_extension_missing_says_how_to_install_it(url):
    _sql(url, "DROP DATABASE IF EXISTS embedlab_noext")
    _sql(url, "DROP ROLE IF EXISTS embedlab_plain")
    _sql(url, "CREATE ROLE embedlab_plain LOGIN")
    _sql(url, "CREATE DATABASE embedlab_noext TEMPLATE template0 OWNER embedlab_plain")
    noext = url.replace("postgres@", "embedlab_plain@").rsplit("/", 1)[0] + "/embedlab_noext"
    try:
        with pytest.raises(BackendError, match="pgvector .* not enabled in this database.*CREATE EXTENSION vector"):
            Collection.create("c", dim=4, backend=noext)
    finally:
        _sql(url, "DROP DATABASE IF EXISTS embedlab_noext")
        _sql(url, "DROP ROLE IF EXISTS embedlab_plain")


def test_a_different_encoder_is_refused(url, use_encoder):
    Collection.create("enc", use_encoder, backend=url).close()
    with pytest.raises(EncoderMismatchError, match="built with encoder 'use-multilingual'"):
        Collection.open("enc", "glove-50", backend=url)
    with pytest.raises(DimensionError):
        Collection.open("enc", backend=url).search([1.0, 2.0])


def test_a_dropped_connection_reconnects(url):
    c = Collection.create("re", dim=2, backend=url)
    c.add(["a"], vectors=[[1, 0]])
    killed = _sql(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")  # as a restart looks
    assert killed and all(r[0] for r in killed)
    assert c.ids() == ["a"]  # reconnected
    c.add(["b"], vectors=[[0, 1]])
    assert len(c) == 2
    c.close()


def test_writers_wait_for_each_other_and_time_out_clearly(url):
    a = Collection.create("lock", dim=2, backend=url)
    b = Collection.open("lock", backend=url, lock_timeout=0.3)
    with a._table.write() as w:  # hold the collection's write lock as another client would
        w.insert(_rows(["x"], [[1, 0]]))
        with pytest.raises(LockTimeoutError, match="being written by another client"):
            b.add(["y"], vectors=[[0, 1]])
        assert b.ids() == []  # readers are not blocked and never see an uncommitted write
    assert b.ids() == ["x"]
    b.add(["y"], vectors=[[0, 1]])
    assert a.ids() == ["x", "y"]


def _rows(ids, vecs):
    from embedlab.store.records import Rows

    n = len(ids)
    return Rows(ids, np.asarray(vecs, np.float32), ["{}"] * n, [None] * n, [None] * n, [None] * n)


def test_cli_backend_option_and_environment(url, capsys, tmp_path, monkeypatch):
    from embedlab.cli import main

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "train.txt").write_text("A fast train crosses the country.", "utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["--backend", url, "index", "notes", str(tmp_path / "d"), "--json"])
    assert exc.value.code == 0
    assert Collection.names(backend=url) == ["notes"] and Collection.names(backend="local") == []
    monkeypatch.setenv("EMBEDLAB_DATABASE_URL", url)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["search", "notes", "고속 열차", "--json"])
    assert exc.value.code == 0
    import json

    assert json.loads(capsys.readouterr().out)[0]["id"] == "train.txt"


def test_info_states_the_servers_durability(pg_url):
    """What an acknowledged write survives depends on the server's synchronous_commit; info says which it is
    (the throw-away test server of scripts/postgres.sh runs with it off, for speed)."""
    from embedlab.store import Collection

    with Collection.create("dur", dim=2, backend=pg_url) as c:
        assert c.info()["synchronous_commit"] == "off"


def test_a_handle_on_a_dropped_collection_never_writes_into_the_one_that_took_its_name(url):
    # the table's name follows from the collection's name: a handle kept open across a drop and a create of the
    # same name wrote into the new collection (with its own manifest's encoder and settings), and read a dropped
    # table as a BackendError ('relation ... does not exist')
    old = Collection.create("pd", dim=2, backend=url)
    old.add(["x"], vectors=[[1, 0]])
    Collection.drop("pd", backend=url)
    gone = "collection 'pd' was dropped from the database after this handle opened it; open it again"
    for read in (old.ids, lambda: old.search([1, 0]), lambda: old.get(["x"])):
        with pytest.raises(CollectionNotFoundError) as err:
            read()
        assert str(err.value) == gone
    new = Collection.create("pd", dim=2, backend=url)
    new.add(["n"], vectors=[[1, 1]], metadata=[{"k": 1}])
    again = ("collection 'pd' was dropped from the database and created again after this handle opened it; nothing "
             "was written. Open it again to use the new one")
    for write in (lambda: old.add(["y"], vectors=[[0, 1]]), lambda: old.upsert(["n"], vectors=[[0, 1]]),
                  lambda: old.update(ids=["n"], metadatas=[{"k": 2}]), lambda: old.delete(["n"]),
                  lambda: old.delete(where={"k": 1})):
        with pytest.raises(CollectionNotFoundError) as err:
            write()
        assert str(err.value) == again
    assert new.ids() == ["n"] and new.get(["n"])[0].metadata == {"k": 1}
    old.close()
    assert Collection.open("pd", backend=url).check()["ok"]
