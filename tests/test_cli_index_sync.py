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
    assert hits == [{"id": "a.txt", "score": hits[0]["score"], "text": "Cats purr and sleep all day long.",
                     "metadata": {"file": "a.txt"}, "source": str(tree / "d" / "a.txt")}]

    # a dry run (the same folder spelt another way) names what would go and writes nothing
    before = ids(backend)
    plan = run_json(capsys, backend, "index", "notes", "./d/", "--sync", "--dry-run")
    assert plan["ids"] == {"added": [], "updated": [], "removed": ["a.txt"], "kept": [], "migrated": [],
                           "unresolved": [], "renamed": []}
    assert {k: plan[k] for k in ("documents", "added", "updated", "unchanged", "removed", "count", "dry_run",
                                 "exists")} == {"documents": 2, "added": 0, "updated": 0, "unchanged": 2,
                                                "removed": 1, "count": 6, "dry_run": True, "exists": True}
    code, out, _ = run(capsys, *cli(backend), "index", "notes", "d", "--sync", "--dry-run")
    assert code == 0
    assert " ".join(out.split()) == ("notes (dry run: nothing written): 2 document(s) read would add 0, update 0, "
                                     "remove 1; 2 unchanged; the collection would hold 6 item(s) - a.txt")
    assert ids(backend) == before

    # --sync removes it; other folders and tables are untouched
    code, out, _ = run(capsys, *cli(backend), "index", "notes", "d", "--sync")
    assert code == 0 and "0 added, 0 updated, 2 unchanged, 1 removed; the collection now holds 6 item(s)" \
        in " ".join(out.split())
    assert ids(backend) == ["b.txt", "r1", "r2", "r3", "sub/c.txt", "z.txt"]
    hits = run_json(capsys, backend, "search", "notes", "a cat that purrs", "-k", "1")
    assert [(h["id"], h["source"]) for h in hits] == [("z.txt", str((tree / "other" / "z.txt").resolve()))]

    # a file that still exists but cannot be read this time keeps its item
    (tree / "d" / "b.txt").write_bytes(b"\x00\x01 not text")
    (tree / "d" / "e.txt").write_text("Lemons are sour.", "utf-8")
    res = run_json(capsys, backend, "index", "notes", "d", "--sync")
    assert (res["added"], res["removed"], res["kept"]) == (1, 0, 1) and "b.txt looks like a binary file" in \
        res["skipped"][0]
    code, out, _ = run(capsys, *cli(backend), "index", "notes", "d", "--sync")
    assert "--sync kept 1 item(s) whose files still exist but were not read this time" in " ".join(out.split())
    assert ids(backend) == ["b.txt", "e.txt", "r1", "r2", "r3", "sub/c.txt", "z.txt"]

    # rows gone from a synced table go too; a file moved to another subfolder changes id (its path)
    (tree / "rows.csv").write_text("id,text\nr1,Apples are red\nr3,Limes are green\n", "utf-8")
    (tree / "d" / "sub" / "c.txt").rename(tree / "d" / "c.txt")
    res = run_json(capsys, backend, "index", "notes", "rows.csv", "d", "--sync")
    assert (res["removed"], res["updated"], res["added"]) == (2, 1, 1)  # r2, sub/c.txt removed; r3 now on line 3
    assert ids(backend) == ["b.txt", "c.txt", "e.txt", "r1", "r3", "z.txt"]
    with Collection.open("notes", **backend) as col:
        assert col.sources()["c.txt"] == str((tree / "d" / "c.txt").resolve())
        assert col.sources()["r3"] == f"{(tree / 'rows.csv').resolve()}:line 3"


def test_dry_run_on_a_new_collection_creates_nothing(capsys, tree, backend, use_encoder):
    plan = run_json(capsys, backend, "index", "fresh", "d", "--dry-run")
    assert plan["ids"] == {"added": ["a.txt", "b.txt", "sub/c.txt"], "updated": [], "removed": [], "kept": [],
                           "migrated": [], "unresolved": [], "renamed": []}
    assert (plan["count"], plan["exists"]) == (3, False)
    code, out, _ = run(capsys, *cli(backend), "index", "fresh", "d", "--sync", "--dry-run")
    assert code == 0 and "(it would be created)" in " ".join(out.split())
    assert Collection.names(**backend) == []
    code, _, err = run(capsys, *cli(backend), "index", "fresh", "nowhere", "--sync", "--dry-run")
    assert code == 2 and "nowhere does not exist" in err


# ------------------------------------------------------------------ sources stored resolved (issue 21)
def _counts(res: dict) -> tuple[int, ...]:
    return tuple(res.get(k) for k in ("added", "updated", "unchanged", "removed", "migrated", "unresolved"))


def test_sync_from_inside_from_the_parent_and_by_absolute_path_is_a_no_op(capsys, tree, backend, monkeypatch,
                                                                          use_encoder):
    """The issue: `index NAME .` from inside the folder stored cwd-relative sources, so a --sync from its parent
    or by absolute path reported every item "updated" (and could remove the wrong ones). Sources are stored
    resolved: every spelling of the folder, from any current folder, is the same source."""
    d = (tree / "d").resolve()
    monkeypatch.chdir(d)
    res = run_json(capsys, backend, "index", "notes", ".")
    assert (res["added"], res["count"]) == (3, 3)
    with Collection.open("notes", **backend) as col:
        assert col.sources() == {"a.txt": str(d / "a.txt"), "b.txt": str(d / "b.txt"),
                                 "sub/c.txt": str(d / "sub" / "c.txt")}
    for where, path in ((d, "."), (d, "./"), (tree, "d"), (tree, "d/"), (tree / "other", str(d)),
                        (d / "sub", "..")):
        monkeypatch.chdir(where)
        plan = run_json(capsys, backend, "index", "notes", path, "--sync", "--dry-run")
        assert _counts(plan)[:4] == (0, 0, 3, 0), (where, path, plan["ids"])  # was: 3 updated from elsewhere
        assert _counts(plan) == (0, 0, 3, 0, 0, 0)
        res = run_json(capsys, backend, "index", "notes", path, "--sync")
        assert _counts(res) == (0, 0, 3, 0, 0, 0) and res["count"] == 3, (where, path)

    # exactly the items whose files are gone go, whichever spelling syncs
    (d / "a.txt").unlink()
    monkeypatch.chdir(tree / "other")
    res = run_json(capsys, backend, "index", "notes", str(d), "--sync")
    assert _counts(res) == (0, 0, 2, 1, 0, 0) and ids(backend) == ["b.txt", "sub/c.txt"]
    (d / "sub" / "c.txt").unlink()
    monkeypatch.chdir(d)
    res = run_json(capsys, backend, "index", "notes", ".", "--sync")
    assert _counts(res) == (0, 0, 1, 1, 0, 0) and ids(backend) == ["b.txt"]


def _legacy(backend: dict, name: str, cwd, paths: list[str]) -> None:
    """A collection as an older embedlab left it: sources relative to the folder the command ran in, and files'
    stems as their ids."""
    import os

    from embedlab.ingest import legacy_id, read_sources
    from embedlab.passages import index_records

    recs = read_sources([cwd / p for p in paths]).records
    old = [r._replace(id=legacy_id(r) or r.id, metadata={**r.metadata},
                      source=os.path.relpath(r.source.split(":line ")[0], cwd)
                      + (":line " + r.source.split(":line ")[1] if ":line " in r.source else "")) for r in recs]
    with Collection.open_or_create(name, "use-multilingual", **backend) as col:
        index_records(col, old)


def test_relative_sources_of_an_older_collection_are_migrated(capsys, tree, backend, monkeypatch, use_encoder):
    """Rule: a stored relative source names the file read now for the same item (or for the file its stem id
    names) whose path ends with it, else an existing file under the synced paths; it is rewritten to that resolved
    path (migrated, not "updated"), and a stem id to the file's path id (renamed, its vector kept). One that
    matches no file is kept and reported (unresolved), never removed on a guess."""
    d = (tree / "d").resolve()
    _legacy(backend, "notes", d, ["."])                         # made inside d/ with `.`: a.txt, b.txt, sub/c.txt
    _legacy(backend, "notes", tree.resolve(), ["rows.csv", "other"])   # made from the parent: rows.csv:line 2 ...
    with Collection.open("notes", **backend) as col:
        assert col.sources()["a"] == "a.txt" and col.sources()["r1"] == "rows.csv:line 2"
        assert sorted(col.ids()) == ["a", "b", "c", "r1", "r2", "r3", "z"]
    (d / "b.txt").unlink()                                      # gone before the first sync: cannot be told

    # from the parent, the first sync rewrites what it can match, keeps the rest, re-encodes nothing
    monkeypatch.chdir(tree)
    plan = run_json(capsys, backend, "index", "notes", "d", "rows.csv", "--sync", "--dry-run")
    assert _counts(plan) == (0, 0, 5, 0, 5, 2) and plan["renamed"] == 2
    assert plan["ids"]["migrated"] == ["a", "c", "r1", "r2", "r3"] and plan["ids"]["unresolved"] == ["b", "z"]
    assert plan["ids"]["renamed"] == [["a", "a.txt"], ["c", "sub/c.txt"]]
    res = run_json(capsys, backend, "index", "notes", "d", "rows.csv", "--sync")
    assert _counts(res) == (0, 0, 5, 0, 5, 2) and res["count"] == 7 and res["renamed"] == 2
    code, out, _ = run(capsys, *cli(backend), "index", "notes", "d", "rows.csv", "--sync")
    out = " ".join(out.split())
    assert code == 0 and "0 added, 0 updated, 5 unchanged;" in out and "re-keyed" not in out
    assert "--sync kept 2 item(s) whose relative sources" in out and "embedlab delete notes ID" in out
    with Collection.open("notes", **backend) as col:
        src = col.sources()
    assert src == {"a.txt": str(d / "a.txt"), "b": "b.txt", "sub/c.txt": str(d / "sub" / "c.txt"),
                   "r1": f"{tree.resolve() / 'rows.csv'}:line 2", "r2": f"{tree.resolve() / 'rows.csv'}:line 3",
                   "r3": f"{tree.resolve() / 'rows.csv'}:line 4", "z": "other/z.txt"}

    # z's folder synced from inside it: matched through the file read now (its stem id names it); then every
    # source is resolved and every id a path
    monkeypatch.chdir(tree / "other")
    res = run_json(capsys, backend, "index", "notes", ".", "--sync")
    assert _counts(res) == (0, 0, 1, 0, 1, 1) and res["renamed"] == 1
    # once migrated, a gone file is removed like any other
    (d / "a.txt").unlink()
    res = run_json(capsys, backend, "index", "notes", str(d), "--sync")
    assert _counts(res) == (0, 0, 1, 1, 0, 1) and "a.txt" not in ids(backend) and "b" in ids(backend)
    assert ids(backend) == ["b", "r1", "r2", "r3", "sub/c.txt", "z.txt"]


def test_legacy_source_matched_under_a_synced_root_when_its_item_is_not_read(tmp_path, monkeypatch):
    """Rule 2 of resolve_legacy_source: a relative source whose item is not read this time (its row is gone, its
    file unreadable) names an existing file under a synced path, tried from the current folder, from the path
    and from the folders above it; nothing outside the synced paths ever matches."""
    from embedlab.ingest import is_legacy_source, resolve_legacy_source

    (tmp_path / "notes" / "sub").mkdir(parents=True)
    (tmp_path / "notes" / "sub" / "a.txt").write_text("x", "utf-8")
    (tmp_path / "rows.csv").write_text("id,text\n", "utf-8")
    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "p.txt").write_text("x", "utf-8")
    top = tmp_path.resolve()
    monkeypatch.chdir(tmp_path / "papers")
    notes = top / "notes"
    assert resolve_legacy_source("sub/a.txt", [notes]) == str(notes / "sub" / "a.txt")            # made inside
    assert resolve_legacy_source("notes/sub/a.txt", [notes]) == str(notes / "sub" / "a.txt")      # from the parent
    assert resolve_legacy_source("../notes/sub/a.txt", [notes]) == str(notes / "sub" / "a.txt")   # from a sibling
    assert resolve_legacy_source("./a.txt", [notes / "sub" / "a.txt"]) == str(notes / "sub" / "a.txt")  # a file
    assert resolve_legacy_source("rows.csv:line 7", [top / "rows.csv"]) == f"{top / 'rows.csv'}:line 7"
    assert resolve_legacy_source("p.txt", [notes]) is None       # exists (in the current folder) but not synced
    assert resolve_legacy_source("gone.txt", [notes]) is None
    assert resolve_legacy_source("x/a.txt", [], now=str(notes / "sub" / "a.txt")) is None
    assert resolve_legacy_source("a.txt", [], now=str(notes / "sub" / "a.txt")) == str(notes / "sub" / "a.txt")
    assert is_legacy_source("a.txt") and is_legacy_source("rows.csv:line 2") and not is_legacy_source(str(notes))
    assert not is_legacy_source(None) and not is_legacy_source("")
