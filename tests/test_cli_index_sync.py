"""`embedlab index --sync` and `--dry-run` on both backends: items of files that are gone are removed, items from
other paths never are, unreadable files keep theirs, and a dry run writes nothing."""

from __future__ import annotations

import json

import pytest

from embedlab.cli import main
from embedlab.store import Collection


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())


def cli(backend: dict) -> tuple[str, ...]:
    return ("--backend", backend["backend"]) if backend else ()


def run_json(capsys, backend: dict, *args: str):
    code, out, err = run(capsys, *cli(backend), *args, "--json")
    assert code == 0, err
    return json.loads(out)


def ids(backend: dict, name: str = "notes") -> list[str]:
    with Collection.open(name, **backend) as col:
        return sorted(col.ids())


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_text("Cats purr and sleep all day long.", "utf-8")
    (tmp_path / "d" / "b.txt").write_text("Trains run fast between the big cities.", "utf-8")
    (tmp_path / "d" / "sub" / "c.txt").write_text("Bread is baked in a hot oven.", "utf-8")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "z.txt").write_text("Cats also live in this other folder.", "utf-8")
    (tmp_path / "rows.csv").write_text("id,text\nr1,Apples are red\nr2,Bananas are yellow\nr3,Limes are green\n",
                                       "utf-8")
    return tmp_path


def test_sync_removes_only_the_items_of_gone_files(capsys, tree, backend, use_encoder):
    res = run_json(capsys, backend, "index", "notes", tree / "d", "other", "rows.csv")  # one absolute, two relative
    assert (res["added"], res["count"], res["removed"], res["kept"], res["dry_run"]) == (7, 7, 0, 0, False)
    (tree / "d" / "a.txt").unlink()

    # the issue: without --sync the item of the deleted file is still found
    res = run_json(capsys, backend, "index", "notes", "d")
    assert (res["removed"], res["count"]) == (0, 7)
    hits = run_json(capsys, backend, "search", "notes", "a cat that purrs", "-k", "1")
    assert hits == [{"id": "a", "score": hits[0]["score"], "metadata": {"file": "a.txt",
                     "text": "Cats purr and sleep all day long."}, "source": str(tree / "d" / "a.txt")}]

    # a dry run (the same folder spelt another way) names what would go and writes nothing
    before = ids(backend)
    plan = run_json(capsys, backend, "index", "notes", "./d/", "--sync", "--dry-run")
    assert plan["ids"] == {"added": [], "updated": [], "removed": ["a"], "kept": []}
    assert {k: plan[k] for k in ("documents", "added", "updated", "unchanged", "removed", "count", "dry_run",
                                 "exists")} == {"documents": 2, "added": 0, "updated": 0, "unchanged": 2,
                                                "removed": 1, "count": 6, "dry_run": True, "exists": True}
    code, out, _ = run(capsys, *cli(backend), "index", "notes", "d", "--sync", "--dry-run")
    assert code == 0
    assert " ".join(out.split()) == ("notes (dry run: nothing written): 2 document(s) read would add 0, update 0, "
                                     "remove 1; 2 unchanged; the collection would hold 6 item(s) - a")
    assert ids(backend) == before

    # --sync removes it; other folders and tables are untouched
    code, out, _ = run(capsys, *cli(backend), "index", "notes", "d", "--sync")
    assert code == 0 and "0 added, 0 updated, 2 unchanged, 1 removed; the collection now holds 6 item(s)" \
        in " ".join(out.split())
    assert ids(backend) == ["b", "c", "r1", "r2", "r3", "z"]
    hits = run_json(capsys, backend, "search", "notes", "a cat that purrs", "-k", "1")
    assert [(h["id"], h["source"]) for h in hits] == [("z", "other/z.txt")]

    # a file that still exists but cannot be read this time keeps its item
    (tree / "d" / "b.txt").write_bytes(b"\x00\x01 not text")
    (tree / "d" / "e.txt").write_text("Lemons are sour.", "utf-8")
    res = run_json(capsys, backend, "index", "notes", "d", "--sync")
    assert (res["added"], res["removed"], res["kept"]) == (1, 0, 1) and "b.txt looks like a binary file" in \
        res["skipped"][0]
    code, out, _ = run(capsys, *cli(backend), "index", "notes", "d", "--sync")
    assert "--sync kept 1 item(s) whose files still exist but were not read this time" in " ".join(out.split())
    assert ids(backend) == ["b", "c", "e", "r1", "r2", "r3", "z"]

    # rows gone from a synced table go too; a moved file keeps its id under its new source
    (tree / "rows.csv").write_text("id,text\nr1,Apples are red\nr3,Limes are green\n", "utf-8")
    (tree / "d" / "sub" / "c.txt").rename(tree / "d" / "c.txt")
    res = run_json(capsys, backend, "index", "notes", "rows.csv", "d", "--sync")
    assert (res["removed"], res["updated"]) == (1, 2)  # r2 removed; c moved, r3 now on line 3
    assert ids(backend) == ["b", "c", "e", "r1", "r3", "z"]
    with Collection.open("notes", **backend) as col:
        assert col.sources()["c"] == "d/c.txt" and col.sources()["r3"] == "rows.csv:line 3"


def test_dry_run_on_a_new_collection_creates_nothing(capsys, tree, backend, use_encoder):
    plan = run_json(capsys, backend, "index", "fresh", "d", "--dry-run")
    assert plan["ids"] == {"added": ["a", "b", "c"], "updated": [], "removed": [], "kept": []}
    assert (plan["count"], plan["exists"]) == (3, False)
    code, out, _ = run(capsys, *cli(backend), "index", "fresh", "d", "--sync", "--dry-run")
    assert code == 0 and "(it would be created)" in " ".join(out.split())
    assert Collection.list(**backend) == []
    code, _, err = run(capsys, *cli(backend), "index", "fresh", "nowhere", "--sync", "--dry-run")
    assert code == 2 and "nowhere does not exist" in err
