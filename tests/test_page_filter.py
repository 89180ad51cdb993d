"""``--where page=3`` also matches an item that spans page 3 (``passages.with_page_spans``): a short three-page
PDF is one item (``page=1, page_end=3``) and passages of a long one cross pages, so ``page=3`` alone found only
items that start on page 3; for search, ids and delete, without changing the filter language."""

from __future__ import annotations

import json
import warnings

import pytest
from doc_builders import write_pdf

from embedlab.cli import main
from embedlab.errors import FilterWarning
from embedlab.passages import with_page_spans
from embedlab.store import Collection


def test_with_page_spans_widens_page_equalities_only(tmp_path):
    span3 = {"page": {"$lte": 3}, "page_end": {"$gte": 3}}
    with Collection.create("pages", dim=2, root=tmp_path) as col:
        col.add(["report.pdf", "memo.pdf", "notes.txt"], vectors=[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                metadata=[{"page": 1, "page_end": 3}, {"page": 1, "page_end": 2}, {}])
        assert with_page_spans(col, {"page": 3}) == {"$or": [{"page": 3}, span3]}
        assert with_page_spans(col, {"page": {"$eq": 3.0}}) == {"$or": [
            {"page": {"$eq": 3.0}}, {"page": {"$lte": 3.0}, "page_end": {"$gte": 3.0}}]}
        cli = {"page": {"$in": ["3", 3]}}  # the CLI's page=3
        assert with_page_spans(col, cli) == {"$or": [cli, span3]}
        assert with_page_spans(col, {"page": {"$in": [2, 3, 2, True]}, "format": "pdf"}) == {"$and": [
            {"format": "pdf"},
            {"$or": [{"page": {"$in": [2, 3, 2, True]}}, {"page": {"$lte": 2}, "page_end": {"$gte": 2}}, span3]}]}
        assert with_page_spans(col, {"$or": [{"page": 3}, {"lang": "ko"}]}) == {
            "$or": [{"$or": [{"page": 3}, span3]}, {"lang": "ko"}]}
        for same in (None, {"lang": "ko"}, {"page": {"$gte": 3}}, {"page": {"$ne": 3}}, {"page": "3"},
                     {"page": True}, {"page": {"$in": ["3"]}}, {"page": [3]}, {"page_end": 3}):
            assert with_page_spans(col, same) == same
        assert col.ids(with_page_spans(col, {"page": 2})) == ["report.pdf", "memo.pdf"]
    with Collection.create("plain", dim=2, root=tmp_path) as col:  # no item spans pages: the filter as it was
        col.add(["a.txt"], vectors=[[1.0, 0.0]], metadata=[{"file": "a.txt"}])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert with_page_spans(col, {"page": 3}) == {"page": 3}
        with pytest.warns(FilterWarning) as seen:
            assert col.ids(with_page_spans(col, {"page": 3})) == []
        assert [str(w.message) for w in seen] == [
            "the filter matched nothing in collection 'plain': no item has key 'page' (keys: file)"]


def _run(capsys, *args):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    return json.loads(out), err


def test_cli_page_filter_finds_the_item_spanning_the_page(tmp_path, capsys, use_encoder):
    docs = tmp_path / "docs"
    docs.mkdir()
    write_pdf(docs / "report.pdf", ["Quarterly revenue grew by ten percent.", None,
                                    "The railway network expanded in 2024."])
    write_pdf(docs / "memo.pdf", ["Bread is baked in an oven.", "Flour and water are needed."])
    home = tmp_path / "home"
    got, _ = _run(capsys, "--home", home, "index", "library", docs, "--json")
    assert got["count"] == 2
    hits, err = _run(capsys, "--home", home, "search", "library", "railway", "--where", "page=3", "--json")
    assert [(h["id"], h["metadata"]["page"], h["metadata"]["page_end"]) for h in hits] == [("report.pdf", 1, 3)]
    assert err == ""
    got, _ = _run(capsys, "--home", home, "ids", "library", "--where", "page=2", "--json")
    assert sorted(got["ids"]) == ["memo.pdf", "report.pdf"]
    got, _ = _run(capsys, "--home", home, "ids", "library", "--where", '{"page": {"$in": [3, 7]}}', "--json")
    assert got["ids"] == ["report.pdf"]
    got, _ = _run(capsys, "--home", home, "ids", "library", "--where", "page=4", "--json")
    assert got["ids"] == []
    got, _ = _run(capsys, "--home", home, "ids", "library", "--where", '{"page": {"$gte": 2}}', "--json")
    assert got["ids"] == []  # a range stays exact: both items start on page 1
    got, _ = _run(capsys, "--home", home, "delete", "library", "--where", "page=3", "--where", "format=pdf",
                  "--dry-run", "--json")
    assert got["ids"] == ["report.pdf"] and got["count"] == 2
