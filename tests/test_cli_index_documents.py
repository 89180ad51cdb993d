"""`embedlab index` on a mixed folder of PDF/HTML/DOCX/EPUB/TXT in nested subfolders: path ids, pages and headings
in passage metadata, bad documents skipped with their reasons, duplicates counted, a 500-page PDF; collections
made with file-stem ids re-keyed without re-encoding; ids another file holds never written over."""

from __future__ import annotations

import json
import time

import pytest
from doc_builders import encrypt_pdf, html_page, long_pdf, with_outline, write_docx, write_epub, write_pdf, write_zip

from embedlab.cli import main
from embedlab.store import Collection

pytest.importorskip("pypdf")
pytest.importorskip("docx")
pytest.importorskip("bs4")
pytest.importorskip("ebooklib")


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, " ".join(out.split()), " ".join(err.split())


def run_json(capsys, *args):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def ids(name: str = "docs") -> list[str]:
    with Collection.open(name) as col:
        return sorted(col.ids())


@pytest.fixture
def mixed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "docs"
    pdf = write_pdf(root / "reports" / "harbour.pdf",
                    ["Harbour report\nThe night ferry crosses the strait to the island every evening.",
                     "Winter timetable\nIn winter the ferry sails only on weekends.",
                     "Budget\nThe harbour spends most of its budget on dredging."], title="Harbour report 2024")
    with_outline(pdf, [("Ferries", 0), ("Money", 2)])
    (root / "web").mkdir(parents=True)
    (root / "web" / "rail.html").write_bytes(html_page(
        "euc-kr", "고속철도 뉴스", "고속철도", "고속철도는 도시 사이를 빠르게 달리는 기차입니다.", "역사",
        "첫 노선은 2004년에 개통했습니다.").encode("cp949"))
    write_docx(root / "plans" / "bakery.docx", [("h1", "Bread"), ("p", "Fresh bread is baked in a hot oven every "
                                                                       "morning."), ("h1", "Cakes"),
                                                ("p", "Cakes are sold on Sundays.")], title="Bakery plan")
    write_epub(root / "books" / "journeys.epub", [("Departure", "<p>The train leaves the station at nine.</p>")],
               title="Journeys")
    for folder, text in (("a", "How to build the museum guide."), ("b", "How to run the library catalogue.")):
        (root / folder).mkdir()
        (root / folder / "readme.txt").write_text(text, "utf-8")
    (root / "b" / "copy-of-a.md").write_text("How to build the museum guide.", "utf-8")  # a duplicate
    write_pdf(root / "scans" / "scan.pdf", [None, None])
    encrypt_pdf(pdf, root / "reports" / "locked.pdf", user="secret")
    write_zip(root / "plans" / "fake.docx", {"data.csv": "a,b\n"})
    return root


WANT_IDS = ["a/readme.txt", "b/readme.txt", "books/journeys.epub", "plans/bakery.docx", "reports/harbour.pdf",
            "web/rail.html"]


def test_mixed_nested_folder_from_a_fresh_start(capsys, mixed, use_encoder):
    res = run_json(capsys, "index", "docs", "docs")
    assert (res["documents"], res["added"], res["count"], res["pages"]) == (6, 6, 6, 3)
    assert ids() == WANT_IDS  # a/readme.txt and b/readme.txt coexist
    assert len(res["skipped"]) == 3
    for why in ("scan.pdf has no text layer", "locked.pdf is encrypted and needs a password",
                "fake.docx is not a Word document"):
        assert any(why in s for s in res["skipped"]), (why, res["skipped"])
    assert res["duplicates"] == [{"source": str((mixed / "b" / "copy-of-a.md").resolve()),
                                  "same_as": str((mixed / "a" / "readme.txt").resolve())}]
    with Collection.open("docs") as col:
        pdf = col.get(["reports/harbour.pdf"])[0]
    assert {k: pdf.metadata[k] for k in ("file", "folder", "format", "title", "pages", "page", "page_end",
                                         "heading")} == {"file": "reports/harbour.pdf", "folder": "reports",
                                                         "format": "pdf", "title": "Harbour report 2024",
                                                         "pages": 3, "page": 1, "page_end": 3, "heading": "Ferries"}
    hits = run_json(capsys, "search", "docs", "고속열차", "-k", "1")
    assert hits[0]["id"] == "web/rail.html" and hits[0]["metadata"]["title"] == "고속철도 뉴스"
    hits = run_json(capsys, "search", "docs", "ferry timetable", "-k", "1", "--where", "format=pdf")
    assert hits[0]["id"] == "reports/harbour.pdf"

    # the text report says what was left out and why
    code, out, _ = run(capsys, "index", "docs", "docs")
    assert code == 0 and "0 added, 0 updated, 6 unchanged" in out and "(3 PDF page(s))" in out
    assert "1 file(s) left out: their content repeats a file read before" in out and "copy-of-a" in out
    assert "3 source(s) skipped" in out

    # --sync after a file is gone and another changed; nothing else is touched
    (mixed / "b" / "readme.txt").unlink()
    write_docx(mixed / "plans" / "bakery.docx", [("h1", "Bread"), ("p", "Sourdough only from now on.")])
    res = run_json(capsys, "index", "docs", "docs", "--sync")
    assert (res["added"], res["updated"], res["unchanged"], res["removed"]) == (0, 1, 4, 1)
    assert ids() == [i for i in WANT_IDS if i != "b/readme.txt"]


def test_long_documents_split_with_pages_and_a_500_page_pdf(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    long_pdf(tmp_path / "big" / "manual.pdf", 500)
    start = time.perf_counter()
    res = run_json(capsys, "index", "big", "big", "--encoder", "glove-50")
    took = time.perf_counter() - start
    print(f"\nembedlab index of a 500-page PDF (glove-50): {took:.1f} s, {res['passages']} passages")
    assert (res["documents"], res["split"], res["pages"]) == (1, 1, 500) and res["count"] == res["passages"]
    with Collection.open("big") as col:
        first, last = col.get(["manual.pdf#0", f"manual.pdf#{res['passages'] - 1}"])
    assert (first.metadata["page"], last.metadata["page_end"]) == (1, 500)
    assert first.metadata["doc_id"] == "manual.pdf" and first.metadata["passage"] == 0
    hits = run_json(capsys, "search", "big", "harbour ferry", "-k", "3")
    assert [h["id"] for h in hits] == ["manual.pdf"]  # passages grouped back into their document
    again = run_json(capsys, "index", "big", "big")
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, res["passages"])


# ------------------------------------------------------------------------- migration of file-stem ids
def _stem_collection(name: str, root, texts: dict[str, str]) -> None:
    """A collection as embedlab made it before ids were paths: file stems as ids (sources resolved)."""
    from embedlab.ingest import legacy_id, read_sources
    from embedlab.passages import index_records

    for rel, text in texts.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")
    recs = read_sources(root).records
    with Collection.open_or_create(name, "use-multilingual") as col:
        index_records(col, [r._replace(id=legacy_id(r) or r.id) for r in recs], max_tokens=24, overlap=4)


LONG = "The night ferry crosses the strait to the island every evening and returns at dawn. " * 6


def test_stem_ids_are_re_keyed_without_re_encoding(capsys, tmp_path, monkeypatch, use_encoder):
    """Migration rule: an item stored under another id for a file read now (the stem id of older versions, and
    its passages) is re-keyed to the file's path id with its stored vector when the content is unchanged
    ("renamed"), replaced when it changed; the old id never lingers, with or without --sync."""
    monkeypatch.chdir(tmp_path)
    notes = tmp_path / "notes"
    _stem_collection("notes", notes, {"cats.txt": "Cats purr and sleep.", "sub/trains.md": "Trains run fast.",
                                      "ferry.txt": LONG, "gone.txt": "This file will be deleted."})
    assert ids("notes")[:3] == ["cats", "ferry#0", "ferry#1"] and "trains" in ids("notes")
    with Collection.open("notes") as col:
        before = {it.id: it.vector for it in col.get(col.ids())}
    (notes / "gone.txt").unlink()
    (notes / "sub" / "trains.md").write_text("Trains run fast and on time.", "utf-8")  # changed since

    plan = run_json(capsys, "index", "notes", "notes", "--max-tokens", "24", "--overlap", "4", "--dry-run")
    assert (plan["added"], plan["updated"], plan["removed"], plan["renamed"]) == (1, 0, 1, len(before) - 2)
    assert ["cats", "cats.txt"] in plan["ids"]["renamed"] and ["ferry#1", "ferry.txt#1"] in plan["ids"]["renamed"]
    assert plan["ids"]["added"] == ["sub/trains.md"] and plan["ids"]["removed"] == ["trains"]
    code, out, _ = run(capsys, "index", "notes", "notes", "--max-tokens", "24", "--overlap", "4")
    assert code == 0 and "were re-keyed to their path in the folder given now" in out
    after = ids("notes")
    assert "cats.txt" in after and "cats" not in after and "trains" not in after and "sub/trains.md" in after
    assert "gone" in after  # not synced: the item of a gone file stays, as before
    with Collection.open("notes") as col:
        for old, new in plan["ids"]["renamed"]:
            assert (col.get([new])[0].vector == before[old]).all()  # the stored vector, not re-encoded
        assert col.get(["ferry.txt#0"])[0].metadata["doc_id"] == "ferry.txt"
    res = run_json(capsys, "index", "notes", "notes", "--max-tokens", "24", "--overlap", "4", "--sync")
    assert (res["added"], res["updated"], res["renamed"], res["removed"]) == (0, 0, 0, 1) and "gone" not in ids("notes")


def test_the_same_folder_indexed_from_its_parent_is_re_keyed_not_duplicated(capsys, tmp_path, monkeypatch,
                                                                            use_encoder):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("Cats purr and sleep.", "utf-8")
    run_json(capsys, "index", "notes", "notes")
    assert ids("notes") == ["a.txt"]
    res = run_json(capsys, "index", "notes", ".")
    assert (res["added"], res["renamed"], res["count"]) == (0, 1, 1) and ids("notes") == ["notes/a.txt"]


def test_an_id_held_by_another_file_is_never_written_over(capsys, tmp_path, monkeypatch, use_encoder):
    """Collision rule: a file whose id the collection holds for an item of another file that still exists — a
    stem id kept from an older collection, or the same relative path indexed from another folder — is left out
    and named (--strict: the run stops before writing anything); the stored item is untouched."""
    monkeypatch.chdir(tmp_path)
    old = tmp_path / "old"
    _stem_collection("notes", old, {"guide.txt": "The museum guide from the old collection."})
    assert ids("notes") == ["guide"]
    new = tmp_path / "new"
    new.mkdir()
    (new / "guide").write_text("A new file named guide, without an extension.", "utf-8")
    (new / "other.txt").write_text("Another new file.", "utf-8")

    given = (new / "guide", new / "other.txt")  # a file named by itself is read whatever its extension
    res = run_json(capsys, "index", "notes", *given)
    assert res["collisions"] == [{"id": "guide", "source": str((new / "guide").resolve()),
                                  "held_by": str((old / "guide.txt").resolve())}]
    assert (res["added"], res["count"]) == (1, 2) and ids("notes") == ["guide", "other.txt"]
    with Collection.open("notes") as col:
        assert col.get(["guide"])[0].content == "The museum guide from the old collection."
    code, out, _ = run(capsys, "index", "notes", *given)
    assert code == 0 and "left out:" in out and "its id guide is held by" in out
    code, _, err = run(capsys, "index", "notes", *given, "--strict")
    assert code == 2 and "1 file(s) have an id that the collection holds for another file" in err

    # the migrated item's own file read again: re-keyed to guide.txt, which frees the id "guide" for the new file
    res = run_json(capsys, "index", "notes", old, *given)
    assert (res["renamed"], res["collisions"]) == (1, []) and ids("notes") == ["guide", "guide.txt", "other.txt"]

    # the same relative path from two folders indexed one after the other: the second is left out
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "readme.txt").write_text(f"The readme of {folder}.", "utf-8")
    run_json(capsys, "index", "two", tmp_path / "a")
    res = run_json(capsys, "index", "two", tmp_path / "b")
    assert [c["id"] for c in res["collisions"]] == ["readme.txt"] and ids("two") == ["readme.txt"]
    code, _, err = run(capsys, "index", "two", tmp_path / "a", tmp_path / "b", "--dry-run")  # in one run
    assert code == 2 and "duplicate id 'readme.txt'" in err and "index the folder that holds both" in err
    res = run_json(capsys, "index", "two", tmp_path, "--dry-run")  # from the folder above: a/, b/ in the ids
    assert ["readme.txt", "a/readme.txt"] in res["ids"]["renamed"] and "b/readme.txt" in res["ids"]["added"]
