"""Each item's text is stored once, as its content (never copied into a ``text`` metadata field): passages of a
folder index, the readers that show or search the text (``Collection.texts``, CLI and HTTP results, keyword
search, exports), collections written by earlier versions (text in metadata too, or only there), a ``text``
metadata field of the user's own, and the local, PostgreSQL and Parquet stores agreeing."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.errors import InputError, UnknownKeyError
from embedlab.ingest import Record, read_sources
from embedlab.passages import hit_texts, index_records, search_documents, split_records
from embedlab.search import stored_texts
from embedlab.store import Collection
from embedlab.store.parquet import export_parquet, import_parquet

LONG = " ".join(f"Ferry number {i} leaves the harbour at dawn." for i in range(30)) + " Code QX-4471 closes it."
SHORT = "Bicycles can be rented near the station."


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())


def run_json(capsys, *args):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(autouse=True)
def _wide_tables(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one line per table row (rich reads $COLUMNS)


@pytest.fixture
def notes(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "long.txt").write_text(LONG, "utf-8")
    (folder / "short.txt").write_text(SHORT, "utf-8")
    return folder


def test_split_records_keep_the_text_out_of_the_metadata():
    recs = [Record("a", LONG, {"tag": "x"}, "a.txt"),
            Record("b", SHORT, {"text": SHORT, "k": 1}, "b.txt"),  # a copy of the text itself: dropped
            Record("c", "A harbour.", {"text": "my own caption"}, "")]  # the user's own field: kept
    out, stats = split_records(recs, None, max_tokens=20, overlap=2)
    assert stats.split == 1 and len(out) == stats.passages == 2 + sum(r.id.startswith("a#") for r in out)
    passages = [r for r in out if r.id.startswith("a#")]
    assert [r.metadata for r in passages] == [{"tag": "x", "doc_id": "a", "passage": i} for i in range(len(passages))]
    assert " ".join(r.item for r in passages).startswith(LONG.split(" Ferry number 2")[0])
    by_id = {r.id: r for r in out}
    assert by_id["b"].metadata == {"k": 1} and by_id["b"].item == SHORT
    assert by_id["c"].metadata == {"text": "my own caption"}
    assert recs[1].metadata == {"text": SHORT, "k": 1}  # the caller's dict is not changed


def test_a_passage_index_stores_each_text_once(capsys, tmp_path, notes, use_encoder):
    res = run_json(capsys, "index", "notes", notes, "--max-tokens", "20")
    assert res["split"] == 1 and res["count"] > 2
    with Collection.open("notes") as col:
        rows = [r for batch in col.export_rows() for r in zip(batch.ids, batch.metadata, batch.contents, strict=True)]
        assert len(rows) == res["count"]
        n = res["count"] - 1
        assert [(i, json.loads(m)) for i, m, _ in rows] == [
            *((f"long.txt#{i}", {"doc_id": "long.txt", "file": "long.txt", "passage": i}) for i in range(n)),
            ("short.txt", {"file": "short.txt"})]  # the stored metadata: no copy of the text
        assert " ".join(c for _, _, c in rows[:n]).endswith("Code QX-4471 closes it.") and rows[n][2] == SHORT
        ids = [i for i, _, _ in rows]
        assert col.texts(ids) == [c for _, _, c in rows] == col.contents(ids)

    # the CLI still shows each hit's text: the best passage's, whole in --json, in the table's text column
    hits = run_json(capsys, "search", "notes", "QX-4471 closes", "--mode", "keyword", "-k", "2")
    assert hits[0]["id"] == "long.txt" and "QX-4471" in hits[0]["text"] and hits[0]["text"] in LONG
    assert hits[0]["text"] != LONG and "text" not in hits[0]["metadata"]
    code, out, _ = run(capsys, "search", "notes", "bicycle rental", "-k", "1")
    assert code == 0 and "Bicycles can be rented" in " ".join(out.split())


def test_hit_texts_follow_a_document_hit_to_its_best_passage(notes, use_encoder):
    with Collection.create("docs", use_encoder) as col:
        index_records(col, read_sources(notes).records, max_tokens=20, overlap=2)
        raw = col.search("QX-4471 closes it", k=3)
        assert hit_texts(col, raw) == col.texts([h.id for h in raw])
        grouped = search_documents(col, "QX-4471 closes it", k=2)
        best = [h for h in raw if h.metadata.get("doc_id") == "long.txt"][0]
        texts = hit_texts(col, grouped)
        assert grouped[0].id == "long.txt" and texts[0] == col.texts([best.id])[0]
        assert dict(zip([h.id for h in grouped], texts, strict=True)).get("short.txt", SHORT) == SHORT
        assert hit_texts(col, []) == []


def test_texts_of_collections_written_by_earlier_versions(capsys, use_encoder):
    """Earlier versions kept each text in metadata "text" beside the content, and the oldest only there (a
    vector with its metadata): both read the same text, and a user's own "text" field that differs is kept."""
    texts = ["A quiet harbour at dawn.", "Stock prices fell sharply on Monday.", "The ferry leaves at noon."]
    vecs = use_encoder.encode(texts)
    with Collection.create("old", use_encoder) as col:
        col.add(["both", "caption"], texts[:2], metadata=[{"text": texts[0], "lang": "en"},
                                                          {"text": "a caption of my own"}],
                sources=["harbour.txt", "prices.txt"])
        col.add(["meta-only"], vectors=vecs[2:], metadata=[{"text": texts[2]}])  # no content stored
        col.add(["vector"], vectors=vecs[:1])  # no text at all
        assert col.texts(["both", "caption", "meta-only", "vector"]) == [texts[0], texts[1], texts[2], None]
        assert col.get(["meta-only"])[0].content is None
        assert stored_texts(col, col.ids()) == {"both": texts[0], "caption": texts[1], "meta-only": texts[2]}

    hits = run_json(capsys, "search", "old", "ferry noon", "--mode", "keyword", "-k", "1")
    assert [(h["id"], h["text"], h["metadata"]) for h in hits] == [("meta-only", texts[2], {"text": texts[2]})]
    hits = run_json(capsys, "search", "old", "stock prices", "--mode", "keyword", "-k", "1")
    assert (hits[0]["text"], hits[0]["metadata"]) == (texts[1], {"text": "a caption of my own"})
    # the table shows the text once; a "text" field that repeats it is not shown again, one that differs is
    code, out, _ = run(capsys, "search", "old", "harbour at dawn", "--mode", "keyword", "-k", "1")
    flat = " ".join(out.split())
    assert code == 0 and flat.count("A quiet harbour at dawn.") == 1 and "lang=en" in flat
    code, out, _ = run(capsys, "search", "old", "stock prices", "--mode", "keyword", "-k", "1")
    assert code == 0 and "text=a caption of my own" in " ".join(out.split())
    code, out, _ = run(capsys, "get", "old", "both", "caption")
    flat = " ".join(out.split())
    assert code == 0 and flat.count("A quiet harbour at dawn.") == 1 and "text=a caption of my own" in flat


def test_a_users_text_column_is_kept_when_it_differs(capsys, tmp_path, use_encoder):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps(r) for r in [
        {"id": "r1", "body": "The ferry timetable changes in winter.", "text": "timetable note"},
        {"id": "r2", "body": "Bicycles can be rented near the station.", "text": "Bicycles can be rented near "
                                                                                 "the station."}]) + "\n", "utf-8")
    run_json(capsys, "index", "rows", rows, "--text-column", "body")
    with Collection.open("rows") as col:
        got = col.get(["r1", "r2"])
        assert [(it.content, it.metadata) for it in got] == [
            ("The ferry timetable changes in winter.", {"text": "timetable note"}),
            ("Bicycles can be rented near the station.", {})]  # a copy of the text is stored once
    # --where text=... matches the metadata field (the user's), never the content
    hits = run_json(capsys, "search", "rows", "ferry", "--where", "text=timetable note")
    assert [h["id"] for h in hits] == ["r1"]
    assert run_json(capsys, "search", "rows", "bicycles", "--where",
                    "text=Bicycles can be rented near the station.") == []


def test_collection_texts_refuses_bad_input(use_encoder):
    with Collection.create("t", use_encoder) as col:
        col.add(["a"], ["A cat."])
        assert col.texts(["a", "gone"], missing="skip") == ["A cat.", None]
        with pytest.raises(UnknownKeyError, match=r"1 id\(s\) not in collection 't': \['gone'\]"):
            col.texts(["a", "gone"])
        with pytest.raises(InputError, match="missing must be 'error' or 'skip', got 'ignore'"):
            col.texts(["a"], missing="ignore")
        with pytest.raises(InputError):
            col.texts([])


def test_local_postgresql_and_parquet_agree(tmp_path, notes, backend, use_encoder):
    records = read_sources(notes).records
    with Collection.create("agree", use_encoder, **backend) as col:
        index_records(col, records, max_tokens=20, overlap=2)
        ids = col.ids()
        got = {"store": (col.texts(ids), [it.metadata for it in col.get(ids)])}
        export_parquet(col, tmp_path / "agree.parquet")
    import_parquet(tmp_path / "agree.parquet", "copy", root=tmp_path / "copy")
    with Collection.open("copy", root=tmp_path / "copy") as copy:
        got["parquet"] = (copy.texts(ids), [it.metadata for it in copy.get(ids)])
    assert got["store"] == got["parquet"]
    texts, metas = got["store"]
    assert all(t for t in texts) and not any("text" in m for m in metas)
    assert " ".join(t for t, m in zip(texts, metas, strict=True) if m.get("doc_id") == "long.txt").endswith(
        "Code QX-4471 closes it.")


def test_exports_carry_the_text(capsys, tmp_path, use_encoder):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from embedlab.server import create_app

    texts = {"a": "A quiet harbour at dawn.", "b": "Stock prices fell sharply.", "c": "The ferry leaves at noon."}
    home = tmp_path / "home"
    with Collection.create("ex", use_encoder, root=home / "collections") as col:
        col.add(list(texts), list(texts.values()), metadata=[{"n": i} for i in range(3)])
    with TestClient(create_app(home), base_url="http://localhost") as client:
        assert client.get("/api/projector/collection/ex/layout").status_code == 200
        r = client.post("/api/projector/collection/ex/export", json={"rows": [2, 0], "format": "csv"})
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == ["id", "label", "text", "x", "y", "n"]
        assert [(x[0], x[2], x[5]) for x in rows[1:]] == [("c", texts["c"], "2"), ("a", texts["a"], "0")]
        r = client.post("/api/projector/collection/ex/export", json={"rows": [1], "format": "jsonl"})
        assert json.loads(r.text)["text"] == texts["b"]
        pq = pytest.importorskip("pyarrow.parquet")
        r = client.post("/api/projector/collection/ex/export", json={"rows": [0, 1], "format": "parquet"})
        assert pq.read_table(io.BytesIO(r.content)).column("text").to_pylist() == [texts["a"], texts["b"]]
        r = client.post("/api/collections/ex/search", json={"query": "ferry at noon", "k": 1})
        assert [(h["id"], h["text"]) for h in r.json()["hits"]] == [("c", texts["c"])]
    run_json(capsys, "--home", home, "export", "ex", "--format", "tsv", "-o", tmp_path / "proj")
    lines = (tmp_path / "proj" / "metadata.tsv").read_text("utf-8").splitlines()
    assert lines == ["key\tn\ttext", f"a\t0\t{texts['a']}", f"b\t1\t{texts['b']}", f"c\t2\t{texts['c']}"]
    assert np.isfinite(np.loadtxt(tmp_path / "proj" / "vectors.tsv", delimiter="\t")).all()


def test_re_indexing_an_old_collection_drops_the_copies_in_place(notes, use_encoder):
    """A collection an earlier version wrote (each text in metadata "text" too): indexing the same files again
    rewrites the metadata without the copy, keeps every vector (nothing re-encoded) and shows the same texts."""
    records, _ = split_records(read_sources(notes).records, use_encoder, max_tokens=20, overlap=2)
    with Collection.create("old", use_encoder) as col:
        col.add([r.id for r in records], [r.item for r in records],
                metadata=[{"text": r.item, **r.metadata} for r in records], sources=[r.source for r in records])
        ids = col.ids()
        before = (col.texts(ids), col.vectors().matrix.copy())
        counts = index_records(col, read_sources(notes).records, max_tokens=20, overlap=2)
        assert (counts["added"], counts["updated"], counts["unchanged"], counts["removed"]) == (0, len(ids), 0, 0)
        assert col.ids() == ids and not any("text" in it.metadata for it in col.get(ids))
        assert col.texts(ids) == before[0]
        np.testing.assert_array_equal(col.vectors().matrix, before[1])
        counts = index_records(col, read_sources(notes).records, max_tokens=20, overlap=2)
        assert (counts["updated"], counts["unchanged"]) == (0, len(ids))


def test_export_refuses_texts_that_are_not_one_per_row(use_encoder):
    pytest.importorskip("fastapi")
    from embedlab.server.projector_data import export, from_collection

    with Collection.create("ex", use_encoder) as col:
        col.add(["a", "b"], ["A harbour.", "A market."])
        table = from_collection(col)
    coords = np.zeros((2, 2), np.float32)
    with pytest.raises(InputError, match=r"^1 texts for 2 rows; give one text \(or None\) per row$"):
        export(table, [0, 1], coords, "csv", ["A harbour."])
    assert export(table, [1], coords, "csv", ["A market."]).decode("utf-8").splitlines()[1] == "b,A market.,A market.,0.0,0.0"
