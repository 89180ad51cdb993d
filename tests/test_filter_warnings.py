"""A metadata filter that matches nothing says why when the stored metadata tells: a key no item has (CSV typos),
or a number compared with values stored only as strings (CSV cells) — on both backends, in Python (FilterWarning),
on the command line (one line on stderr) and over HTTP ("warnings"); never when something was found."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from embedlab.errors import FilterWarning
from embedlab.store import Collection
from embedlab.store.filters import explain_empty, parse

VECS = np.eye(4, dtype=np.float32)
META = [{"year": "2020", "lang": "en", "tags": ["a"]}, {"year": "2021", "lang": "ko", "tags": []},
        {"year": "2019", "lang": "en", "ok": True}, {"title": "x"}]


@pytest.fixture
def csv_like(backend):
    """Four items whose years came from a CSV file (strings)."""
    with Collection.create("csv", dim=4, **backend) as c:
        c.add(["a", "b", "c", "d"], vectors=VECS, metadata=META)
    return backend


def notes(where: dict) -> list[str]:
    types: dict[str, set[str]] = {}
    for m in META:
        for k, v in m.items():
            types.setdefault(k, set()).add({str: "string", bool: "bool", list: "array"}[type(v)])
    return explain_empty(parse(where), types)


def test_the_reasons_for_a_filter_that_matched_nothing():
    assert notes({"year": {"$gte": 2020}}) == [
        "'year' holds only strings; {\"year\": {\"$gte\": 2020}} compares numbers — write \"2020\" or re-import "
        "with typed values"]
    assert notes({"yeer": "2020"}) == ["no item has key 'yeer' (keys: lang, ok, tags, title, year); did you mean "
                                       "'year'?"]
    assert notes({"year": 2020}) == ["'year' holds only strings; {\"year\": 2020} compares numbers — write \"2020\" "
                                     "or re-import with typed values"]
    assert notes({"ok": "true"}) == ["'ok' holds only booleans; {\"ok\": \"true\"} compares strings — write true or "
                                     "re-import with typed values"]
    assert notes({"lang": {"$contains": "en"}}) == [
        "'lang' holds only strings, never a list; {\"lang\": {\"$contains\": \"en\"}} looks inside lists"]
    assert notes({"$or": [{"yeer": 1}, {"lang": "fr"}]}) == [notes({"yeer": 1})[0]]  # lang=fr: simply not met
    # tests that also match items without the key, or values of the right type: nothing to explain
    for where in ({"yeer": {"$ne": 1}}, {"yeer": {"$exists": False}}, {"yeer": None}, {"year": {"$in": [1, "x"]}},
                  {"lang": "fr"}, {"year": {"$gte": "2030"}}, {"tags": {"$contains": "zz"}}):
        assert notes(where) == [], where


def test_python_warns_only_when_nothing_was_found(csv_like):
    with Collection.open("csv", **csv_like) as c:
        with pytest.warns(FilterWarning, match=r"matched nothing in collection 'csv': 'year' holds only strings; "
                                               r"\{\"year\": \{\"\$gte\": 2020\}\} compares numbers — write \"2020\""):
            assert c.search(VECS[0], k=2, where={"year": {"$gte": 2020}}) == []
        with pytest.warns(FilterWarning, match=r"no item has key 'yeer' \(keys: lang, ok, tags, title, year\); "
                                               r"did you mean 'year'\?"):
            assert c.ids(where={"yeer": "2020"}) == []
        with pytest.warns(FilterWarning, match="'year' holds only strings"):
            assert c.search_many(VECS[:2], k=1, where={"year": {"$lt": 2020}}) == [[], []]
        with pytest.warns(FilterWarning, match="no item has key 'yeer'"):
            assert c.delete(where={"yeer": "2019"}) == 0
        with pytest.warns(FilterWarning, match="no item has key 'yeer'"):
            assert c.sources(where={"yeer": "2019"}) == {}
        assert c.filter_warnings({"year": 2020}) == [
            "'year' holds only strings; {\"year\": 2020} compares numbers — write \"2020\" or re-import with typed "
            "values"]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # found something, or nothing to explain: no warning at all
            assert [h.id for h in c.search(VECS[0], k=4, where={"year": {"$gte": "2020"}})] == ["a", "b"]
            assert c.ids(where={"$or": [{"yeer": 1}, {"lang": "ko"}]}) == ["b"]
            assert c.ids(where={"lang": "fr"}) == []
            assert c.ids(where={"yeer": {"$ne": 1}}) == ["a", "b", "c", "d"]
            assert c.delete(where={"lang": "fr"}) == 0
    with Collection.create("empty", dim=4, **csv_like) as e, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert e.ids(where={"yeer": 1}) == [] and e.filter_warnings({"yeer": 1}) == []  # an empty collection


def test_the_cli_prints_the_warning_on_stderr_in_one_line(csv_like, tmp_path):
    args = ["--backend", csv_like["backend"]] if csv_like else []
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="80")
    done = subprocess.run([sys.executable, "-m", "embedlab.cli", *args, "delete", "csv", "--where",
                           '{"year": {"$gte": 2020}}', "--dry-run"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ("warning: the filter matched nothing in collection 'csv': 'year' holds only strings; "
                           "{\"year\": {\"$gte\": 2020}} compares numbers — write \"2020\" or re-import with typed "
                           "values\n")
    assert "nothing matches --where" in done.stdout


def test_http_search_and_delete_return_the_warnings(tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    with TestClient(create_app(tmp_path / "srv"), base_url="http://localhost") as client:
        assert client.post("/api/collections", json={"name": "csv", "dim": 4}).status_code == 201
        items = [{"id": i, "vector": v.tolist(), "metadata": m} for i, v, m in zip("abcd", VECS, META, strict=True)]
        assert client.post("/api/collections/csv/items", json={"items": items}).status_code == 200
        with pytest.warns(FilterWarning):
            r = client.post("/api/collections/csv/search", json={"vector": [1, 0, 0, 0], "where": {"yeer": "2020"}})
        assert r.status_code == 200 and r.json()["hits"] == []
        assert r.json()["warnings"] == ["no item has key 'yeer' (keys: lang, ok, tags, title, year); did you mean "
                                        "'year'?"]
        r = client.post("/api/collections/csv/search", json={"vector": [1, 0, 0, 0], "where": {"year": "2020"}})
        assert [h["id"] for h in r.json()["hits"]] == ["a"] and "warnings" not in r.json()
        with pytest.warns(FilterWarning):
            r = client.post("/api/collections/csv/delete", json={"where": {"year": {"$gt": 2000}}})
        assert r.json()["deleted"] == 0 and "'year' holds only strings" in r.json()["warnings"][0]
