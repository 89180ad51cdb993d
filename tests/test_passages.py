"""Splitting long documents into overlapping passages and grouping passage hits back into documents."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from embedlab.errors import InputError
from embedlab.ingest import Record
from embedlab.passages import group_hits, limits, search_documents, split_records, split_text


def test_split_words_exact_windows():
    text = " ".join("abcdefghij")
    assert split_text(text, 4, 1) == ["a b c d", "d e f g", "g h i j"]
    assert split_text(text, 4, 0) == ["a b c d", "e f g h", "i j"]
    assert split_text(text, 10, 2) == [text]


def test_split_covers_every_word_in_order():
    words = [f"w{i}" for i in range(1000)]
    parts = split_text(" ".join(words), 50, 7)
    assert all(len(p.split()) <= 50 for p in parts)
    rebuilt = parts[0].split()
    for prev, part in zip(parts, parts[1:], strict=False):  # consecutive pairs
        cur = part.split()
        shared = len(set(prev.split()) & set(cur))
        assert 1 <= shared <= 7
        rebuilt += cur[shared:]
    assert rebuilt == words


def test_split_with_sentencepiece_respects_token_limit(use_encoder):
    text = " ".join(f"Sentence {i} is about 고속 열차 and electric cars." for i in range(200))
    parts = split_text(text, 64, 10, use_encoder.tokenize)
    assert len(parts) > 10
    assert max(len(use_encoder.tokenize(p)) for p in parts) <= 64
    assert parts[0].startswith("Sentence 0 is about 고속 열차")
    # overlap: the start of each passage repeats the end of the previous one
    assert parts[1].split()[0] in parts[0].split()[-12:]


def test_word_longer_than_limit_is_cut_between_tokens(use_encoder):
    blob = "東京は日本の首都であり世界最大級の都市です" * 10  # no spaces at all
    parts = split_text(blob, 16, 2, use_encoder.tokenize)
    assert len(parts) > 3
    assert all(len(use_encoder.tokenize(p)) <= 16 for p in parts)


def test_limits_defaults_and_validation(use_encoder):
    assert limits(use_encoder) == (512, 77, "tokens")
    assert limits(use_encoder, 100) == (100, 15, "tokens")

    class NoTokenizer:
        max_length, has_tokenizer = 128, False  # an Encoder without a tokenizer of its own

    assert limits(NoTokenizer()) == (96, 14, "words")
    assert limits(None) == (256, 38, "words")
    with pytest.raises(InputError, match="overlap must be >= 0 and smaller than max_tokens \\(10\\)"):
        limits(None, 10, 10)
    with pytest.raises(InputError, match="max_tokens must be >= 2"):
        limits(None, 1)


def test_split_records_ids_metadata_and_stats():
    long = " ".join(f"w{i}" for i in range(25))
    recs = [Record("short", "a few words", {"lang": "en"}, "s.txt"), Record("long", long, {"lang": "en"}, "l.txt")]
    out, stats = split_records(recs, None, max_tokens=10, overlap=2)
    assert [r.id for r in out] == ["short", "long#0", "long#1", "long#2"]
    assert out[2].metadata == {"lang": "en", "doc_id": "long", "passage": 1}  # the text: the item, stored once
    assert out[0].metadata == {"lang": "en"} and out[0].item == "a few words"
    assert out[2].item.split()[0] == "w8" and out[2].source == "l.txt"
    assert (stats.documents, stats.split, stats.passages, stats.unit) == (2, 1, 4, "words")


@dataclass(frozen=True)
class _Hit:
    id: str
    score: float
    metadata: dict
    source: str | None = None


def test_group_hits_keeps_best_passage_per_document():
    hits = [
        _Hit("big#3", 0.9, {"doc_id": "big", "passage": 3}),
        _Hit("big#1", 0.8, {"doc_id": "big", "passage": 1}),
        _Hit("small", 0.7, {}),
        _Hit("other#0", 0.6, {"doc_id": "other", "passage": 0}),
    ]
    docs = group_hits(hits)
    assert [(d.id, d.score, d.metadata.get("passage")) for d in docs] == [("big", 0.9, 3), ("small", 0.7, None),
                                                                         ("other", 0.6, 0)]
    assert [d.id for d in group_hits(hits, 2)] == ["big", "small"]


def test_search_documents_fetches_more_when_one_document_crowds_the_rest():
    """40 passages of one document outrank everything else; k=3 must still return 3 distinct documents."""
    import numpy as np

    from embedlab.store import Collection

    col = Collection.create("crowd", dim=2)
    angles = [i / 100 for i in range(40)] + [0.8, 0.9, 1.5]
    vecs = np.array([[np.cos(a), np.sin(a)] for a in angles], dtype=np.float32)
    ids = [f"big#{i}" for i in range(40)] + ["a", "b", "far"]
    meta = [{"doc_id": "big", "passage": i} for i in range(40)] + [{}, {}, {}]
    col.add(ids, vectors=vecs, metadata=meta)
    docs = search_documents(col, [1.0, 0.0], k=3)
    assert [d.id for d in docs] == ["big", "a", "b"]
    assert docs[0].metadata == {"doc_id": "big", "passage": 0} and docs[0].score == pytest.approx(1.0)
    assert [d.id for d in search_documents(col, [1.0, 0.0], k=10)] == ["big", "a", "b", "far"]
    assert [d.id for d in search_documents(col, [1.0, 0.0], k=3, where={"passage": 5})] == ["big"]
    with pytest.raises(InputError, match="k must be >= 1"):
        search_documents(col, [1.0, 0.0], k=0)
    col.close()


def test_index_records_library_round_trip(use_encoder):
    """split + upsert through the library (what the CLI and the HTTP server call)."""
    from embedlab.passages import index_records
    from embedlab.store import Collection

    long = ("Paintings and old coins fill the quiet museum rooms. " * 6
            + "The night ferry crosses the strait to the island every evening. " * 2
            + "Paintings and old coins fill the quiet museum rooms. " * 6)
    recs = [Record("museum", long, {"kind": "guide"}, "guide.txt"),
            Record("bakery", "Fresh bread and croissants every morning.", {"kind": "shop"}, "shop.txt")]
    with Collection.create("lib", use_encoder) as col:
        got = index_records(col, recs, max_tokens=24, overlap=4)
        assert (got["documents"], got["split"], got["added"], got["removed"]) == (2, 1, got["passages"], 0)
        assert got["passages"] == col.count() > 5
        again = index_records(col, recs, max_tokens=24, overlap=4)
        assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, got["passages"])
        hits = search_documents(col, "a boat that sails at night", k=2)
        assert [h.id for h in hits] == ["museum", "bakery"]
        assert hits[0].metadata["kind"] == "guide" and hits[0].source == "guide.txt"
        assert "ferry" in _passage(recs[0].item, hits[0].metadata["passage"], use_encoder)
        assert [h.id for h in search_documents(col, "bread", k=5, where={"kind": "shop"})] == ["bakery"]


def _passage(text, n, enc):
    return split_text(text, 24, 4, enc.tokenize)[n]


def test_plan_and_sync_with_passages(use_encoder, tmp_path, monkeypatch):
    """plan_records predicts index_records exactly; sync removes a gone file's passages, never another path's."""
    from embedlab.passages import index_records, passages_of, plan_records
    from embedlab.store import Collection

    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    long = "The night ferry crosses the strait to the island every evening. " * 8
    (tmp_path / "docs" / "ferry.txt").write_text(long, "utf-8")
    recs = [Record("ferry", long, {}, "docs/ferry.txt"), Record("bus", "A slow city bus.", {}, "docs/bus.txt"),
            Record("elsewhere", "A kept note.", {}, "notes/elsewhere.txt")]
    with Collection.create("plan", use_encoder) as col:
        index_records(col, recs, max_tokens=24, overlap=4)
        parts = passages_of(col, ["ferry", "bus", "nothing"])
        assert list(parts) == ["ferry"] and parts["ferry"] == [f"ferry#{i}" for i in range(len(parts["ferry"]))]
        assert len(parts["ferry"]) > 2
        # bus.txt does not exist on disk and is not among the records any more: gone; ferry gets shorter
        now = [Record("ferry", long[:200], {}, "docs/ferry.txt")]
        plan = plan_records(col, now, max_tokens=24, overlap=4, sync=["docs"])
        removed = [p for p in parts["ferry"] if p not in {f"ferry#{i}" for i in range(plan["passages"])}] + ["bus"]
        assert sorted(plan["ids"]["removed"]) == sorted(removed)
        assert plan["ids"]["kept"] == [] and plan["dry_run"] is True
        before = col.ids()
        assert index_records(col, now, max_tokens=24, overlap=4, sync=["docs"], dry_run=True) == plan
        assert col.ids() == before  # a dry run writes nothing
        done = index_records(col, now, max_tokens=24, overlap=4, sync=["docs"])
        assert {k: done[k] for k in ("added", "updated", "unchanged", "removed", "kept")} == \
            {k: plan[k] for k in ("added", "updated", "unchanged", "removed", "kept")}
        assert "elsewhere" in col.ids() and "bus" not in col.ids()
        assert plan_records(col, now, max_tokens=24, overlap=4, sync=["docs"])["ids"] == \
            {"added": [], "updated": [], "removed": [], "kept": [], "migrated": [], "unresolved": [], "renamed": []}
    with pytest.raises(InputError, match="needs a collection or, for a new one, the encoder"):
        plan_records(None, now)
    new = plan_records(None, now, encoder=use_encoder, max_tokens=24, overlap=4)
    assert new["ids"]["added"] == [f"ferry#{i}" for i in range(new["passages"])]
