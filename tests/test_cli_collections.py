"""The collection commands end to end, in-process: index / search / info / export in a throw-away home."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embedlab.cli import main
from embedlab.cli.collections import parse_where
from embedlab.store import Collection

TRAIN_WORDS = ("The high-speed train leaves Seoul every morning and reaches Busan in under three hours, "
               "running on dedicated rails at three hundred kilometres per hour. ")
FILLER = ("The museum keeps old paintings, pottery and coins from many centuries in quiet rooms "
          "with soft light and wooden floors. ")


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, " ".join(err.split())  # the error console wraps long lines


def run_json(capsys, *args: str):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)  # the whole of stdout must be JSON


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, Path]:
    docs = tmp_path / "docs"
    (docs / "animals").mkdir(parents=True)
    (docs / "animals" / "cat.txt").write_text("Cats are small furry pets that purr and sleep all day.", "utf-8")
    (docs / "animals" / "eagle.md").write_text("An eagle is a bird of prey that soars above mountains.", "utf-8")
    (docs / "ktx.txt").write_text("고속철도는 도시 사이를 빠르게 달리는 기차입니다.", "utf-8")
    (docs / "notes.pdf").write_bytes(b"%PDF-1.4")
    csv_path = tmp_path / "products.csv"
    csv_path.write_text("sku,description,year\ncar1,A red sports car with a loud engine,2020\n"
                        "suv1,A large family SUV with four-wheel drive,2021\n", "utf-8")
    jsonl = tmp_path / "fruit.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": "mango", "text": "Mangoes are sweet tropical fruit.", "year": 2020},
        {"id": "apple", "text": "사과는 아삭하고 달콤한 과일이다.", "year": 2022},
    ]) + "\n", "utf-8")
    return {"docs": docs, "csv": csv_path, "jsonl": jsonl}


def test_round_trip_index_search_info_export(capsys, tmp_path, sources, use_encoder):
    home = tmp_path / "cli-home"
    res = run_json(capsys, "--home", home, "index", "things", sources["docs"], sources["jsonl"])
    assert (res["documents"], res["added"], res["unchanged"], res["split"], res["count"]) == (5, 5, 0, 0, 5)
    assert any("notes.pdf" in s or ".pdf" in s for s in res["skipped"])
    res = run_json(capsys, "--home", home, "index", "things", sources["csv"], "--text-column", "description",
                   "--id-column", "sku")
    assert (res["added"], res["count"]) == (2, 7)
    assert (home / "collections" / "things" / "manifest.json").is_file()

    hits = run_json(capsys, "--home", home, "search", "things", "자동차", "-k", "3")
    assert isinstance(hits, list) and len(hits) == 3
    assert all(set(h) == {"id", "score", "text", "metadata", "source"} for h in hits)
    assert {hits[0]["id"], hits[1]["id"]} == {"car1", "suv1"}
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    assert hits[0]["metadata"]["year"] in ("2020", "2021")

    # --where: CSV cells are strings, JSONL keeps numbers; year=2020 matches both kinds
    hits = run_json(capsys, "--home", home, "search", "things", "something to eat or drive", "--where", "year=2020")
    assert sorted(h["id"] for h in hits) == ["car1", "mango"]
    hits = run_json(capsys, "--home", home, "search", "things", "a bird", "--where", "folder=animals", "-k", "5")
    assert [h["id"] for h in hits] == ["animals/eagle.md", "animals/cat.txt"]
    assert run_json(capsys, "--home", home, "search", "things", "x", "--where", "folder=none") == []

    # every text keeps what was embedded, so keyword search covers table rows and files alike
    hits = run_json(capsys, "--home", home, "search", "things", "four-wheel drive", "--mode", "keyword", "-k", "2")
    assert hits[0]["id"] == "suv1" and hits[0]["text"] == "A large family SUV with four-wheel drive"
    assert "text" not in hits[0]["metadata"]  # stored once, as the content
    hits = run_json(capsys, "--home", home, "search", "things", "고속철도 기차", "--mode", "hybrid", "-k", "1")
    assert hits[0]["id"] == "ktx.txt"

    code, out, _ = run(capsys, "--home", home, "search", "things", "a bird that flies high")
    assert code == 0 and "eagle" in out and "score" in out

    info = run_json(capsys, "--home", home, "info", "things")
    assert (info["name"], info["count"], info["dim"], info["encoder"]["name"]) == ("things", 7, 512, "use-multilingual")
    assert info["readonly"] is False  # the collection's storage, not this command's read-only handle
    listing = run_json(capsys, "--home", home, "info")
    assert listing == [{"name": "things", "status": "ok", "count": 7, "encoder": "use-multilingual", "index": "exact", "dim": 512}]

    from embedlab.io import load_projector, load_word2vec
    from embedlab.store import Collection

    out_vec = tmp_path / "things.vec"
    res = run_json(capsys, "--home", home, "export", "things", "--format", "word2vec", "-o", out_vec)
    assert res["count"] == 7
    loaded = load_word2vec(out_vec)
    col = Collection.open("things", root=home / "collections")
    stored = col.vectors()
    assert sorted(loaded.keys) == sorted(stored.keys)
    np.testing.assert_array_equal(loaded["ktx.txt"], stored["ktx.txt"])
    assert np.allclose(loaded["ktx.txt"], use_encoder.encode("고속철도는 도시 사이를 빠르게 달리는 기차입니다.")[0], atol=1e-5)
    col.close()
    run_json(capsys, "--home", home, "export", "things", "--format", "tsv", "-o", tmp_path / "proj")
    vecs, meta = load_projector(tmp_path / "proj", with_metadata=True)
    assert len(vecs) == 7 and meta["year"][vecs.keys.index("car1")] == "2020"

    # re-indexing the same sources changes nothing
    res = run_json(capsys, "--home", home, "index", "things", sources["docs"], sources["jsonl"])
    assert (res["added"], res["updated"], res["unchanged"], res["removed"]) == (0, 0, 5, 0)


def test_embedlab_home_env_and_missing_collection(capsys, tmp_path, monkeypatch, sources, use_encoder):
    monkeypatch.setenv("EMBEDLAB_HOME", str(tmp_path / "env-home"))
    run_json(capsys, "index", "fruit", sources["jsonl"])
    assert (tmp_path / "env-home" / "collections" / "fruit").is_dir()
    code, out, err = run(capsys, "search", "nothere", "x")
    assert code == 2 and out == ""
    assert "no collection named 'nothere'" in err and "existing: fruit" in err and "embedlab index" in err
    code, _, err = run(capsys, "index", "fruit", sources["jsonl"], "--encoder", "minilm")
    assert code == 2 and "was built with encoder 'use-multilingual', not 'minilm'" in err
    code, _, err = run(capsys, "index", "other", tmp_path / "missing.txt")
    assert code == 2 and "missing.txt does not exist" in err
    assert run_json(capsys, "info") == [{"name": "fruit", "status": "ok", "count": 2, "encoder": "use-multilingual",
                                         "index": "exact", "dim": 512}]
    code, _, err = run(capsys, "search", "fruit", "x", "--where", "novalue")
    assert code == 2 and "--where takes key=value" in err
    code, _, err = run(capsys, "index", "fruit", sources["jsonl"], "--index", "hnsw")
    assert code == 2 and "already uses the 'exact' index" in err

    # an HNSW collection, and a CP949 file read with --encoding
    legacy = tmp_path / "legacy.txt"
    legacy.write_bytes("빠른 기차와 느린 배".encode("cp949"))
    code, _, err = run(capsys, "index", "ann", legacy, "--index", "hnsw")
    assert code == 2 and "not valid utf-8 text" in err and "iconv -f CP949 -t UTF-8" in err
    code, _, err = run(capsys, "index", "ann", legacy, sources["jsonl"], "--index", "hnsw", "--encoding", "cp949",
                       "--strict")
    assert code == 2 and "fruit.jsonl is not valid cp949 text" in err and "in a separate run" in err
    # without --strict the unreadable file is skipped, named with its reason, and the rest is indexed
    res = run_json(capsys, "index", "ann", legacy, sources["jsonl"], "--index", "hnsw", "--encoding", "cp949")
    assert res["added"] == 1 and len(res["skipped"]) == 1
    assert "fruit.jsonl is not valid cp949 text" in res["skipped"][0] and "--encoding" in res["skipped"][0]
    assert run_json(capsys, "index", "ann", sources["jsonl"])["count"] == 3
    assert run_json(capsys, "info", "ann")["index"]["kind"] == "hnsw"
    assert run_json(capsys, "search", "ann", "train", "-k", "1")[0]["id"] == "legacy.txt"

    spaced = tmp_path / "spaced.csv"
    spaced.write_text("id,text\nred car,A red car\n", "utf-8")
    run_json(capsys, "index", "spaced", spaced)
    code, _, err = run(capsys, "export", "spaced", "-o", tmp_path / "s.vec")
    assert code == 2 and "id 'red car' contains whitespace" in err and "--format tsv" in err


def test_index_into_a_vectors_only_collection_is_refused(capsys, tmp_path, sources):
    """A collection made with dim= (or imported from Parquet) has no encoder to read files with: one line, exit 2
    (it was an AttributeError traceback), and the collection is left as it was."""
    with Collection.create("vecs", dim=3) as col:
        col.add(["a"], vectors=np.ones((1, 3), np.float32))
    for extra in ((), ("--dry-run",)):
        code, out, err = run(capsys, "index", "vecs", sources["jsonl"], *extra)
        assert code == 2 and out == ""
        assert "collection 'vecs' is vectors-only (no encoder), so it cannot index files" in err
    with Collection.open("vecs", readonly=True) as col:
        assert col.ids() == ["a"]


def test_long_document_is_split_and_reported_once(capsys, tmp_path, use_encoder):
    docs = tmp_path / "long"
    docs.mkdir()
    (docs / "rail.txt").write_text(FILLER * 3 + TRAIN_WORDS * 2 + FILLER * 3, "utf-8")
    (docs / "bus.txt").write_text("A city bus stops at every corner and is slow but cheap.", "utf-8")
    (docs / "plane.txt").write_text("An airplane flies passengers between continents.", "utf-8")
    res = run_json(capsys, "index", "long", docs, "--max-tokens", "40", "--overlap", "6")
    assert res["split"] == 1 and res["documents"] == 3 and res["passages"] > 5
    assert res["count"] == res["passages"]

    from embedlab.passages import search_documents
    from embedlab.store import Collection

    with Collection.open("long") as col:
        ids = col.ids()
        assert "rail.txt" not in ids and "rail.txt#0" in ids
        item = col.get(["rail.txt#1"])[0]
        assert item.metadata == {"file": "rail.txt", "doc_id": "rail.txt", "passage": 1}  # the text: once, as content
        assert item.content == _passage_texts(docs / "rail.txt", 40, 6, use_encoder)[1]
        assert max(len(use_encoder.tokenize(t)) for t in _passage_texts(docs / "rail.txt", 40, 6, use_encoder)) <= 40
        docs_hits = search_documents(col, "fast train from Seoul to Busan", k=3)
        assert [h.id for h in docs_hits][0] == "rail.txt"
        assert sorted(h.id for h in docs_hits) == ["bus.txt", "plane.txt", "rail.txt"]  # one row per document
        best = docs_hits[0]
        assert best.metadata["doc_id"] == "rail.txt" and best.metadata["passage"] >= 2  # the train part, not the filler

    hits = run_json(capsys, "search", "long", "fast train from Seoul to Busan", "-k", "3")
    assert [h["id"] for h in hits] == [h.id for h in docs_hits]
    assert hits[0]["text"] == _passage_texts(docs / "rail.txt", 40, 6, use_encoder)[best.metadata["passage"]]

    # longer passages: fewer of them, and the ones that no longer exist are removed
    res = run_json(capsys, "index", "long", docs, "--max-tokens", "80", "--overlap", "6")
    assert res["removed"] > 0 and res["unchanged"] == 2
    with Collection.open("long") as col:
        assert col.count() == res["passages"]
    # no split at all: the passages go, the whole document comes back
    res = run_json(capsys, "index", "long", docs)
    with Collection.open("long") as col:
        assert sorted(col.ids()) == ["bus.txt", "plane.txt", "rail.txt"]


def _passage_texts(path: Path, max_tokens: int, overlap: int, enc) -> list[str]:
    from embedlab.passages import split_text

    return split_text(path.read_text("utf-8"), max_tokens, overlap, enc.tokenize)


def test_parse_where():
    assert parse_where(None) is None
    assert parse_where(["lang=ko"]) == {"lang": "ko"}
    assert parse_where(["year=2020"]) == {"year": {"$in": ["2020", 2020]}}
    assert parse_where(["tag=a", "tag=b", "ok=true"]) == {"tag": {"$in": ["a", "b"]}, "ok": {"$in": ["true", True]}}
    assert parse_where(["note=a=b"]) == {"note": "a=b"}
    assert parse_where(["lang=ko", "lang=en", "year=2024"]) == {  # the README's example
        "lang": {"$in": ["ko", "en"]}, "year": {"$in": ["2024", 2024]}}


def test_the_search_table_shows_the_text_shortened_and_whole_ids(capsys, tmp_path, use_encoder):
    docs = tmp_path / "docs" / "a-rather-long-folder-name" / "and-another-one"
    docs.mkdir(parents=True)
    (docs / "museum-visit-report.txt").write_text("The museum opens at nine. " + FILLER * 6, "utf-8")
    home = tmp_path / "home"
    assert run(capsys, "--home", home, "index", "notes", tmp_path / "docs")[0] == 0
    code, out, _ = run(capsys, "--home", home, "search", "notes", "museum", "-k", "1")
    assert code == 0
    rows = [[c.strip() for c in line.split("│")] for line in out.splitlines() if line.startswith("│")]
    column = lambda n: "".join(r[n] for r in rows)  # noqa: E731 - a folded cell, put back together
    assert column(2) == "a-rather-long-folder-name/and-another-one/museum-visit-report.txt"  # the id, whole
    text = "".join(column(4).split())  # folded cells break words: compared without spaces
    assert text.startswith("Themuseumopensatnine.") and text.endswith("…") and len(text) < 160
    assert column(5).split(",") == ["file=a-rather-long-folder-name/and-another-one/museum-visit-report.txt",
                                    "folder=a-rather-long-folder-name/and-another-one"]  # the metadata, no text
