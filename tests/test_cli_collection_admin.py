"""`embedlab list / get / delete / drop` (and Collection.sources) on both backends, in-process: exact outputs, JSON
shapes and one-line errors with exit code 2."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.store import Collection

VECS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], np.float32)


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())  # the error console wraps long lines


def cli(backend: dict) -> tuple[str, ...]:
    """The global options that put the CLI on ``backend`` (the conftest fixture's keyword arguments)."""
    return ("--backend", backend["backend"]) if backend else ()


def run_json(capsys, backend: dict, *args: str):
    code, out, err = run(capsys, *cli(backend), *args, "--json")
    assert code == 0, err
    return json.loads(out)  # the whole of stdout must be JSON


@pytest.fixture
def things(backend):
    """A vectors-only collection 'things' with metadata, sources, contents and two passages of a document."""
    col = Collection.create("things", dim=3, metric="dot", **backend)
    col.add(["a", "b", "rail#0", "rail#1"], vectors=VECS,
            metadata=[{"lang": "en", "year": 2020}, {"lang": "ko"}, {"doc_id": "rail", "passage": 0},
                      {"doc_id": "rail", "passage": 1}],
            sources=["d/a.txt", "d/b.txt", "d/rail.txt", "d/rail.txt"],
            contents=["alpha text", "베타", "first part", "second part"])
    col.close()
    return backend


def _ids(backend: dict, name: str = "things") -> list[str]:
    with Collection.open(name, **backend) as col:
        return col.ids()


def test_sources_without_vectors(things):
    with Collection.open("things", **things) as col:
        assert col.sources() == {"a": "d/a.txt", "b": "d/b.txt", "rail#0": "d/rail.txt", "rail#1": "d/rail.txt"}
        assert col.sources(where={"lang": "ko"}) == {"b": "d/b.txt"}


def test_list_and_info_without_a_name(capsys, things):
    Collection.create("empty", dim=2, **things).close()
    rows = run_json(capsys, things, "list")
    assert rows == [
        {"name": "empty", "status": "ok", "count": 0, "encoder": None, "index": "exact", "dim": 2},
        {"name": "things", "status": "ok", "count": 4, "encoder": None, "index": "exact", "dim": 3},
    ]
    assert run_json(capsys, things, "info") == rows
    code, out, _ = run(capsys, *cli(things), "list")
    assert code == 0
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert "┃ name ┃ count ┃ encoder ┃ index ┃ dim ┃ status ┃" in lines  # the status column is always there
    assert "things 4 - exact 3 ok" in lines and "empty 0 - exact 2 ok" in lines
    if things:  # the database is named without a password
        assert "collectionsinpostgresql://postgres@127.0.0.1:" in "".join(out.split())
    Collection.drop("empty", **things)
    Collection.drop("things", **things)
    assert run_json(capsys, things, "list") == []
    code, out, _ = run(capsys, *cli(things), "list")
    assert code == 0 and "no collections in" in out and "embedlab index NAME PATH" in out


def test_list_shows_a_damaged_collection_with_its_status(capsys, tmp_path):
    Collection.create("good", dim=2).close()
    bad = Collection.create("bad", dim=2)
    path = bad.path
    bad.close()
    (path / "manifest.json").write_text("{not json", "utf-8")
    rows = run_json(capsys, {}, "list")
    assert [(r["name"], r["status"]) for r in rows] == [("bad", "damaged"), ("good", "ok")]
    assert rows[0]["error"].startswith("CorruptFileError: ") and "manifest.json is not valid JSON" in rows[0]["error"]
    assert (rows[0]["count"], rows[0]["encoder"], rows[0]["dim"]) == (None, None, None)
    code, out, _ = run(capsys, "list")
    assert code == 0 and "damaged" in out and "embedlab check bad" in " ".join(out.split())
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert "bad damaged" in lines and "good 0 - exact 2 ok" in lines
    # a damaged collection can still be dropped
    code, out, err = run(capsys, "drop", "bad", "--yes")
    assert code == 0, err
    assert out.startswith("dropped bad") and [r["name"] for r in run_json(capsys, {}, "list")] == ["good"]


def test_get_json_table_vectors_and_errors(capsys, things):
    got = run_json(capsys, things, "get", "things", "b", "a", "b")  # each once, in the order asked
    assert got == [
        {"id": "b", "metadata": {"lang": "ko"}, "source": "d/b.txt", "content": "베타"},
        {"id": "a", "metadata": {"lang": "en", "year": 2020}, "source": "d/a.txt", "content": "alpha text"},
    ]
    got = run_json(capsys, things, "get", "things", "a", "--vectors")
    assert got == [{"id": "a", "metadata": {"lang": "en", "year": 2020}, "source": "d/a.txt",
                    "content": "alpha text", "vector": [1.0, 0.0, 0.0]}]
    code, out, _ = run(capsys, *cli(things), "get", "things", "a", "--vectors")
    assert code == 0
    row = next(" ".join(line.replace("│", " ").split()) for line in out.splitlines() if "alpha" in line)
    assert row.startswith("a d/a.txt lang=en, year=2020 alpha text [1.0000, 0.0000, 0.0000]") and "(3-d)" in out

    code, out, err = run(capsys, *cli(things), "get", "things", "a", "zz", "yy")
    assert (code, out) == (2, "")
    assert err == "error: 2 id(s) not in collection 'things': ['zz', 'yy'] (list its ids with: embedlab ids " \
                  "things)"
    code, _, err = run(capsys, *cli(things), "get", "things", "rail")
    assert code == 2 and "'rail' is a long document stored as 2 passages (rail#0 … rail#1)" in err
    code, _, err = run(capsys, *cli(things), "get", "nothere", "a")
    assert code == 2 and err.startswith("error: no collection named 'nothere' (existing: things)")
    assert "Traceback" not in err


def test_delete_by_ids_where_dry_run_and_errors(capsys, things):
    before = _ids(things)
    # dry runs write nothing
    res = run_json(capsys, things, "delete", "things", "--where", "lang=ko", "--dry-run")
    assert res == {"collection": "things", "deleted": 1, "ids": ["b"], "count": 4, "dry_run": True}
    code, out, _ = run(capsys, *cli(things), "delete", "things", "a", "rail", "--dry-run")
    assert code == 0
    assert out.splitlines() == ["would delete 3 item(s) from things (dry run: nothing written)", "  - a",
                                "  - rail#0", "  - rail#1"]
    assert _ids(things) == before

    # unknown ids: an error naming them, and nothing is deleted
    code, out, err = run(capsys, *cli(things), "delete", "things", "a", "nope")
    assert (code, out) == (2, "")
    assert err == ("error: 1 id(s) not in collection 'things': ['nope']; nothing was deleted (check the ids with "
                   "embedlab get, or pass --ignore-missing)")
    assert _ids(things) == before
    res = run_json(capsys, things, "delete", "things", "a", "nope", "--ignore-missing")
    assert res == {"collection": "things", "deleted": 1, "ids": ["a"], "count": 3, "dry_run": False}

    # a document id deletes all its passages; a JSON filter works as in search
    code, out, _ = run(capsys, *cli(things), "delete", "things", "rail")
    assert code == 0 and out.splitlines() == ["deleted 2 item(s) from things; it now holds 1 item(s)",
                                              "  - rail#0", "  - rail#1"]
    res = run_json(capsys, things, "delete", "things", "--where", '{"lang": {"$in": ["en", "de"]}}')
    assert res == {"collection": "things", "deleted": 0, "ids": [], "count": 1, "dry_run": False}
    code, out, _ = run(capsys, *cli(things), "delete", "things", "--where", "lang=de")
    assert code == 0 and out.strip() == "nothing matches --where in things; nothing deleted"
    res = run_json(capsys, things, "delete", "things", "--where", "lang=ko")
    assert res == {"collection": "things", "deleted": 1, "ids": ["b"], "count": 0, "dry_run": False}

    for args, message in [
        ((), "error: pass the ids to delete or --where FILTER (exactly one of them)"),
        (("a", "--where", "lang=ko"), "error: pass the ids to delete or --where FILTER (exactly one of them)"),
        (("--where", "lang"), "error: --where takes key=value or a JSON filter, got 'lang'"),
        (("--where", "{bad"), "error: --where '{bad' is not valid JSON"),
        (("--where", '{"year": {"$near": 3}}'), "error: where['year']: unknown operator '$near'; supported:"),
    ]:
        code, out, err = run(capsys, *cli(things), "delete", "things", *args)
        assert (code, out) == (2, ""), args
        assert err.startswith(message), (args, err)
    code, _, err = run(capsys, *cli(things), "delete", "nothere", "a")
    assert code == 2 and err.startswith("error: no collection named 'nothere'")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_drop_asks_unless_yes_and_refuses_without_a_terminal(capsys, things, monkeypatch):
    code, out, err = run(capsys, *cli(things), "drop", "things")
    assert (code, out) == (2, "")
    assert err == ("error: not dropping 'things' (4 item(s)): dropping asks for confirmation and there is no terminal "
                   "to ask on; pass --yes to drop it (embedlab drop things --yes)")
    assert len(_ids(things)) == 4
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    code, out, err = run(capsys, *cli(things), "drop", "things")
    assert code == 1 and out.strip() == "kept things"
    assert "drop collection 'things' (4 item(s)) and everything stored for it? [y/N]" in err
    assert len(_ids(things)) == 4
    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    code, out, _ = run(capsys, *cli(things), "drop", "things")
    assert code == 0 and out.strip() == "dropped things (4 item(s))"
    assert Collection.names(**things) == []

    Collection.create("other", dim=2, **things).close()
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run_json(capsys, things, "drop", "other", "--yes") == {"dropped": "other", "count": 0}
    code, out, err = run(capsys, *cli(things), "drop", "other", "--yes")
    assert (code, out) == (2, "")
    assert err == "error: no collection named 'other' (existing: none yet); make it with: embedlab index other PATH..."
    code, _, err = run(capsys, *cli(things), "drop", "../x", "--yes")
    assert code == 2 and "bad collection name '../x'" in err
