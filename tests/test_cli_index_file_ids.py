"""A file indexed by itself gets the id its folder's indexing gives it when the collection tells which folder
that is: `embedlab index notes/sub/a.md` after `embedlab index notes/` keys it sub/a.md (it used to be a.md, then
re-keyed back and forth by each run), and a folder run after it finds it unchanged."""

from __future__ import annotations

import json

import pytest

from embedlab.cli import main
from embedlab.errors import InputError
from embedlab.ingest import read_sources
from embedlab.passages import file_roots
from embedlab.store import Collection


@pytest.fixture
def notes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes" / "sub").mkdir(parents=True)
    (tmp_path / "notes" / "b.md").write_text("Bread is baked at dawn in the village oven.", "utf-8")
    (tmp_path / "notes" / "sub" / "c.md").write_text("The ferry crosses the strait every evening.", "utf-8")
    return tmp_path / "notes"


def index(capsys, *paths) -> dict:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["index", "notes", *map(str, paths), "--json"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    return json.loads(out)


def stored() -> dict[str, str]:
    with Collection.open("notes") as col:
        return {i: col.get([i])[0].metadata.get("file") for i in col.ids()}


def test_a_file_alone_then_its_folder_keeps_one_id(notes, capsys, use_encoder):
    index(capsys, notes)
    (notes / "sub" / "a.md").write_text("The museum opens at ten on Sundays.", "utf-8")
    got = index(capsys, "notes/sub/a.md")  # alone: keyed as notes/ keys it
    assert (got["added"], got["renamed"], got["count"]) == (1, 0, 3)
    assert stored() == {"b.md": "b.md", "sub/c.md": "sub/c.md", "sub/a.md": "sub/a.md"}
    with Collection.open("notes") as col:
        assert col.get(["sub/a.md"])[0].metadata["folder"] == "sub"
    got = index(capsys, notes)  # then its folder: the same id, unchanged, nothing re-keyed or duplicated
    assert (got["added"], got["updated"], got["unchanged"], got["renamed"], got["count"]) == (0, 0, 3, 0, 3)
    assert sorted(stored()) == ["b.md", "sub/a.md", "sub/c.md"]
    got = index(capsys, notes / "sub" / "c.md")  # a stored file alone (absolute path): its stored id
    assert (got["added"], got["unchanged"], got["renamed"], got["count"]) == (0, 1, 0, 3)
    assert sorted(stored()) == ["b.md", "sub/a.md", "sub/c.md"]


def test_a_file_alone_into_a_new_collection_is_re_keyed_once_by_its_folder(notes, capsys, use_encoder):
    got = index(capsys, "notes/sub/c.md")  # nothing tells its folder yet: its name, as before
    assert stored() == {"c.md": "c.md"}
    got = index(capsys, notes)  # re-keyed by source, no duplicate
    assert (got["added"], got["renamed"], got["count"]) == (1, 1, 2)
    assert sorted(stored()) == ["b.md", "sub/c.md"]
    got = index(capsys, "notes/sub/c.md")  # and alone again it stays sub/c.md (it used to flip back to c.md)
    assert (got["unchanged"], got["renamed"], got["count"]) == (1, 0, 2)
    assert sorted(stored()) == ["b.md", "sub/c.md"]


def test_file_roots_reads_the_folders_a_collection_was_indexed_from(notes, capsys, use_encoder):
    index(capsys, notes)
    (notes / "sub" / "a.md").write_text("new", "utf-8")
    (notes / "top.md").write_text("top", "utf-8")
    with Collection.open("notes") as col:
        assert file_roots(col, ["notes/sub/a.md", "notes/top.md", "notes", "missing.md"]) == {
            "notes/sub/a.md": notes.resolve()}  # top.md's root is its own folder: the default, not named
    with Collection.create("empty", use_encoder) as col:
        assert file_roots(col, ["notes/sub/a.md"]) == {}


def test_read_sources_roots_key_a_file_relative_to_a_folder_above_it(notes):
    got = read_sources(["notes/sub/c.md"], roots={"notes/sub/c.md": "notes"})
    assert [(r.id, r.metadata) for r in got.records] == [("sub/c.md", {"file": "sub/c.md", "folder": "sub"})]
    same = read_sources([notes / "sub" / "c.md"], roots={str(notes / "sub" / "c.md"): notes})
    assert [r.id for r in same.records] == ["sub/c.md"]
    with pytest.raises(InputError, match=r"roots gives .*c\.md the root .*b\.md, which is not a folder above it"):
        read_sources(["notes/sub/c.md"], roots={"notes/sub/c.md": "notes/b.md"})
    with pytest.raises(InputError, match="roots names notes/b.md, which is not a file given to read"):
        read_sources(["notes/sub/c.md"], roots={"notes/b.md": "notes"})
    with pytest.raises(InputError, match="roots names notes, which is not a file given to read"):
        read_sources(["notes"], roots={"notes": "."})
