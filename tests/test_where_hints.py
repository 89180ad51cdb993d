"""`--where file=budget.txt` that matches nothing because the file is stored as notes/budget.txt: the CLI search
names what the value may have meant, from ``Collection.values`` (distinct metadata values with their counts)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.cli.where_hints import where_hints
from embedlab.errors import InputError
from embedlab.store import Collection


# --------------------------------------------------------------------------- Collection.values
def test_values_counts_each_distinct_value_most_held_first(backend):
    rng = np.random.default_rng(0)
    metas = [{"file": "notes/budget.txt", "n": 1}, {"file": "plan.txt", "n": 1.0}, {"file": "notes/budget.txt",
             "n": True}, {"file": "plan.txt", "n": None}, {"file": "notes/budget.txt", "n": [1]},
             {"other": "x", "n": "1"}]
    with Collection.create("vals", dim=4, **backend) as col:
        col.add([f"i{i}" for i in range(6)], vectors=rng.normal(size=(6, 4)).astype(np.float32), metadata=metas)
        assert col.values("file") == [("notes/budget.txt", 3), ("plan.txt", 2)]
        got = col.values("n")  # 1 and 1.0 are one number; True is not a number; null and lists left out
        assert got == [(1, 2), (True, 1), ("1", 1)] and isinstance(got[1][0], bool)
        assert col.values("file", where={"n": {"$gte": 1}}) == [("notes/budget.txt", 1), ("plan.txt", 1)]
        assert col.values("author") == []
        assert col.values("file", where={"other": "x"}) == []


def test_values_refuses_bad_keys_and_filters():
    with Collection.create("bad", dim=4) as col:
        assert col.values("file") == []  # empty collection
        for key in ("", "a\0b", "$and", 3):
            with pytest.raises(InputError, match="key must be a non-empty metadata key without NUL or a leading"):
                col.values(key)
        with pytest.raises(InputError):
            col.values("file", where={"year": {"$near": 3}})


# --------------------------------------------------------------------------- the hint
def test_where_hints_name_values_that_end_with_or_contain_the_one_asked():
    rng = np.random.default_rng(1)
    files = ["a/budget.txt", "b/budget.txt", "budget.txt.bak", "c/budget.txt", "d/budget.txt", "plan.txt"]
    with Collection.create("hints", dim=4) as col:
        col.add([f"i{i}" for i in range(len(files) + 1)], vectors=rng.normal(size=(len(files) + 1, 4)),
                metadata=[{"file": f} for f in files] + [{"file": "a/budget.txt", "lang": "en"}])
        # endings first (most held first, then write order), then containing; at most 3
        assert where_hints(col, {"file": "budget.txt"}) == [
            "no item has file = budget.txt; did you mean a/budget.txt, b/budget.txt, c/budget.txt?"]
        assert where_hints(col, {"file": {"$eq": ".bak"}}) == ["no item has file = .bak; did you mean budget.txt.bak?"]
        assert where_hints(col, {"file": "udget.txt.b"}) == [
            "no item has file = udget.txt.b; did you mean budget.txt.bak?"]
        assert where_hints(col, {"$and": [{"lang": "en"}, {"file": {"$in": ["plan", 3]}}]}) == [
            "no item has file = plan; did you mean plan.txt?"]
        assert where_hints(col, {"file": "plan.txt"}) == []  # held: nothing to suggest
        assert where_hints(col, {"file": "zebra"}) == []  # nothing like it
        assert where_hints(col, {"file": ""}) == []  # empty: every value would "end with" it
        assert where_hints(col, {"author": "budget.txt"}) == []  # a key no item has
        assert where_hints(col, {"file": {"$ne": "x"}}) == [] and where_hints(col, None) == []


@pytest.fixture
def docs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs" / "notes").mkdir(parents=True)
    (tmp_path / "docs" / "notes" / "budget.txt").write_text("We spend most of the money on rent and food.", "utf-8")
    (tmp_path / "docs" / "plan.txt").write_text("Next year we plan a trip to the mountains.", "utf-8")
    return tmp_path / "docs"


def search(capsys, *args):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["search", "docs", "money", *args])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    return out, err


def test_cli_search_hints_at_the_file_in_a_subfolder(docs, capsys, use_encoder):
    with pytest.raises(SystemExit) as exc:
        main(["index", "docs", str(docs), "--json"])
    assert exc.value.code == 0
    out, _ = search(capsys, "--where", "file=budget.txt")
    assert out.splitlines() == ["no results (nothing matches the --where filter)",
                                "hint: no item has file = budget.txt; did you mean notes/budget.txt?"]
    out, err = search(capsys, "--where", "file=budget.txt", "--json")
    assert json.loads(out) == [] and "hint: no item has file = budget.txt; did you mean notes/budget.txt?" in err
    out, err = search(capsys, "--where", "file=notes/budget.txt")  # something matches: no hint
    assert "hint" not in out + err and "no results" not in out and "money" in out
    out, err = search(capsys, "--where", "file=notes/budget.txt", "--json")
    assert [h["id"] for h in json.loads(out)] == ["notes/budget.txt"] and "hint" not in err
    out, err = search(capsys, "--where", "author=budget.txt")  # a key no item has: no value to suggest
    assert "no results" in out and "did you mean notes/budget.txt" not in out + err


def test_cli_ids_and_delete_hint_as_search_does(docs, capsys, use_encoder):
    """`embedlab ids` / `embedlab delete` with a --where that matches nothing said nothing at all (ids: an empty
    list; delete: "nothing matches"): they name the value it may have meant, as search does."""
    with pytest.raises(SystemExit) as exc:
        main(["index", "docs", str(docs), "--json"])
    assert exc.value.code == 0

    def run(*args):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        out, err = capsys.readouterr()
        assert exc.value.code == 0, err
        return out, err

    hint = "hint: no item has file = budget.txt; did you mean notes/budget.txt?"
    assert run("ids", "docs", "--where", "file=budget.txt") == ("", hint + "\n")  # stdout: the ids, none
    out, err = run("ids", "docs", "--where", "file=budget.txt", "--json")
    assert json.loads(out)["ids"] == [] and err == hint + "\n"
    assert run("ids", "docs", "--where", "file=notes/budget.txt") == ("notes/budget.txt\n", "")
    assert run("ids", "docs", "--where", "file=zebra") == ("", "")  # nothing like it: nothing to suggest
    out, err = run("delete", "docs", "--where", "file=budget.txt")
    assert out.splitlines() == ["nothing matches --where in docs; nothing deleted", hint] and err == ""
    out, err = run("delete", "docs", "--where", "file=budget.txt", "--json")
    assert json.loads(out)["ids"] == [] and err == hint + "\n"
    out, err = run("delete", "docs", "--where", "file=notes/budget.txt", "--dry-run")
    assert "would delete 1 item(s)" in out and "hint" not in out + err
    with Collection.open("docs") as col:
        assert col.count() == 2
