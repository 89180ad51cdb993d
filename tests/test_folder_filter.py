"""``--where folder=drafts`` also matches files in ``drafts/old`` (``passages.with_subfolders``), for search, ids and
delete, without changing the filter language."""

from __future__ import annotations

import json

import pytest

from embedlab.cli import main
from embedlab.passages import with_subfolders
from embedlab.store import Collection

ITEMS = {  # id -> folder metadata, as `embedlab index` stores files (passages keep their file's folder)
    "drafts/a.txt": "drafts", "drafts/old/b.txt#0": "drafts/old", "drafts/old/b.txt#1": "drafts/old",
    "drafts/old/deeper/c.txt": "drafts/old/deeper", "draftsX/d.txt": "draftsX", "other/e.txt": "other",
    "top.txt": None, "row7": None,
}


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    with Collection.create("notes", dim=2, root=home / "collections") as col:
        ids = list(ITEMS)
        col.add(ids, vectors=[[1.0, i / 10] for i in range(len(ids))],
                metadata=[{"folder": f} if f else {} for f in ITEMS.values()])
    return home


def test_with_subfolders_widens_folder_tests_only(home):
    with Collection.open("notes", root=home / "collections") as col:
        deep = ["drafts", "drafts/old", "drafts/old/deeper"]
        assert with_subfolders(col, {"folder": "drafts"}) == {"folder": {"$in": deep}}
        assert with_subfolders(col, {"folder": {"$eq": "drafts/"}}) == {"folder": {"$in": ["drafts/", *deep[1:]]}}
        assert with_subfolders(col, {"$and": [{"folder": {"$in": ["other", "drafts/old"]}}, {"lang": "ko"}]}) == \
            {"$and": [{"folder": {"$in": ["other", "drafts/old", "drafts/old/deeper"]}}, {"lang": "ko"}]}
        leaf = {"folder": "drafts/old/deeper"}
        assert with_subfolders(col, leaf) == leaf  # nothing below it: the filter as it was
        for same in (None, {"lang": "ko"}, {"folder": {"$ne": "drafts"}}, {"folder": {"$in": [2024, "x"]}}):
            assert with_subfolders(col, same) == same
        assert sorted(col.ids(with_subfolders(col, {"folder": "drafts"}))) == \
            ["drafts/a.txt", "drafts/old/b.txt#0", "drafts/old/b.txt#1", "drafts/old/deeper/c.txt"]


def _run(capsys, *args):
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    return json.loads(out)


def test_cli_folder_filter_includes_subfolders(home, capsys):
    below = ["drafts/a.txt", "drafts/old/b.txt#0", "drafts/old/b.txt#1", "drafts/old/deeper/c.txt"]
    got = _run(capsys, "--home", home, "ids", "notes", "--where", "folder=drafts", "--json")
    assert sorted(got["ids"]) == below and got["count"] == 4
    got = _run(capsys, "--home", home, "ids", "notes", "--where", "folder=drafts/old", "--json")
    assert sorted(got["ids"]) == below[1:]
    got = _run(capsys, "--home", home, "delete", "notes", "--where", "folder=drafts", "--dry-run", "--json")
    assert sorted(got["ids"]) == below and got["count"] == len(ITEMS) and got["deleted"] == 4
    got = _run(capsys, "--home", home, "delete", "notes", "--where", "folder=drafts", "--json")
    assert got["deleted"] == 4 and got["count"] == len(ITEMS) - 4
    got = _run(capsys, "--home", home, "ids", "notes", "--json")
    assert sorted(got["ids"]) == ["draftsX/d.txt", "other/e.txt", "row7", "top.txt"]
