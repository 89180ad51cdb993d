"""Collection: round trips with a real encoder and with vectors, filters, HNSW, upsert, errors (nothing written)."""

from __future__ import annotations

import json
import sqlite3
import zlib

import numpy as np
import pytest

from embedlab.encoders.base import Encoder
from embedlab.errors import (
    CollectionNotFoundError,
    CorruptFileError,
    DimensionError,
    EncoderMismatchError,
    FormatVersionError,
    InputError,
    NonFiniteError,
    UnknownKeyError,
)
from embedlab.store import Collection, Hit, Item


class HashingEncoder(Encoder):
    """A real (if simple) text encoder: hashed character trigrams, 64-d. Counts the items it encodes."""

    name = "test-trigram-hash"
    dim = 64
    metric = "cosine"

    def __init__(self) -> None:
        self.encoded = 0

    def _encode_batch(self, items):
        self.encoded += len(items)
        out = np.zeros((len(items), self.dim), np.float32)
        for r, text in enumerate(items):
            t = f"  {text.lower()}  "
            for i in range(len(t) - 2):
                out[r, zlib.crc32(t[i:i + 3].encode()) % self.dim] += 1.0
        return out


def unit(x):
    x = np.asarray(x, np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def brute(mat, q, k, metric="cosine"):
    if metric == "l2":
        s = -np.linalg.norm(mat - q, axis=1)
    elif metric == "cosine":
        s = unit(mat) @ unit(q)
    else:
        s = mat @ q
    return np.argsort(-s, kind="stable")[:k], s


def seg_files(c):
    return sorted(p.name for p in (c.path / "segments").iterdir())


def snapshot(c):
    return (len(c), c.generation, c.ids(), seg_files(c) if c.path else None)


DOCS = {
    "cat": "The cat sleeps on the warm sofa.",
    "dog": "A dog barks loudly at the mailman.",
    "stocks": "Stock markets fell sharply after the interest rate decision.",
    "rain": "Heavy rain is expected across the region tomorrow.",
    "ko-cat": "고양이가 소파 위에서 자고 있다.",
    "pasta": "Boil the pasta for ten minutes and add tomato sauce.",
}


def test_text_collection_round_trip(use_encoder, backend):
    c = Collection.create("docs", use_encoder, **backend)
    ids = list(DOCS)
    meta = [{"lang": "ko" if i.startswith("ko") else "en", "n": n} for n, i in enumerate(ids)]
    assert c.add(ids, [DOCS[i] for i in ids], metadata=meta) == 6
    hits = c.search("A kitten is napping on the couch", k=3)
    assert isinstance(hits[0], Hit) and hits[0].id in ("cat", "ko-cat") and {h.id for h in hits[:2]} == {"cat", "ko-cat"}
    assert hits[0].source == DOCS[hits[0].id] and hits[0].score > hits[2].score
    assert c.search("주식 시장이 폭락했다", k=1)[0].id == "stocks"  # Korean query, English document
    assert [h.id for h in c.search("A kitten is napping", k=2, where={"lang": "en"})][0] == "cat"
    info = c.info()
    assert info["format_version"] == 2 and info["generation"] == 1 and info["backend"] == (
        "postgresql" if backend else "local")
    assert info["encoder"] == {"name": "use-multilingual", "dim": 512, "metric": "cosine",
                               "fingerprint": use_encoder.fingerprint}
    c.close()
    if not backend:
        manifest = json.loads((c.path / "manifest.json").read_text())
        assert manifest["format"] == "embedlab.collection" and manifest["format_version"] == 2
        assert manifest["encoder"] == info["encoder"]
        assert manifest["index"] == {"kind": "exact", "params": {}} and "generation" not in manifest  # SQLite's

    with Collection.open("docs", **backend) as c2:  # encoder rebuilt from the manifest by name
        assert len(c2) == 6 and c2.ids() == ids
        again = c2.search("A kitten is napping on the couch", k=3)
        assert [h.id for h in again] == [h.id for h in hits]
        np.testing.assert_allclose([h.score for h in again], [h.score for h in hits], rtol=1e-6)
        item = c2.get(["pasta"])[0]
        assert isinstance(item, Item) and item.metadata == {"lang": "en", "n": 5} and item.source == DOCS["pasta"]
        np.testing.assert_allclose(item.vector, use_encoder.encode([DOCS["pasta"]])[0], atol=1e-6)
        assert c2.encoder is use_encoder and c2.dim == 512 and c2.metric == "cosine"
        many = c2.search_many(["weather forecast rain", "cooking spaghetti"], k=1)
        assert [m[0].id for m in many] == ["rain", "pasta"]


def test_an_empty_query_text_is_named_as_a_query_not_an_item(use_encoder):
    """`embedlab search notes ""` said "item 0 is an empty string" (the encoder's words for a batch it encodes)."""
    with Collection.create("q", use_encoder) as c:
        c.add(["a"], ["A kitten is napping on the couch"])
        for blank in ("", "  \n\t"):
            with pytest.raises(InputError, match=r"^the query is empty; type some text to search for$"):
                c.search(blank)
        with pytest.raises(InputError, match=r"^query 1 is empty \(2 empty query text\(s\)\); remove it or give it "
                                             r"some text$"):
            c.search_many(["kitten", "", " "])
        assert c.search("kitten", k=1)[0].id == "a"


def test_vectors_collection_add_get_search_delete_compact_reopen(backend):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(300, 16)).astype(np.float32)
    ids = [f"v{i}" for i in range(300)]
    c = Collection.create("vecs", dim=16, auto_compact=0.9, **backend)
    assert c.encoder is None and c.metric == "cosine"
    c.add(ids[:200], vectors=v[:200])
    c.add(ids[200:], vectors=v[200:], metadata=[{"half": 2}] * 100, sources=[f"s{i}" for i in range(100)])
    assert len(c) == 300 and (backend or c.info()["segments"] == 2)
    for qi in (3, 250):
        order, _ = brute(v, v[qi], 10)
        assert [h.id for h in c.search(v[qi], k=10)] == [ids[j] for j in order]
    got = c.get(["v250", "v1"])
    np.testing.assert_allclose(got[0].vector, unit(v[250]), atol=1e-6)
    assert got[0].metadata == {"half": 2} and got[0].source == "s50" and got[1].metadata == {} and got[1].source is None

    gone = [f"v{i}" for i in range(0, 300, 3)]
    assert c.delete(gone + ["never-there"]) == 100 and len(c) == 200
    alive = [i for i in range(300) if i % 3]
    every = {h.id for h in c.search(v[0], k=1000)}
    assert every == {ids[i] for i in alive}
    with pytest.raises(UnknownKeyError, match=r"not in collection 'vecs'.*'v0'"):
        c.get(["v0"])
    if not backend:
        con = sqlite3.connect(c.path / "catalog.sqlite")
        assert con.execute("SELECT COUNT(*) FROM items WHERE id = 'v0'").fetchone()[0] == 0
        con.close()

    r = c.upsert(["v1", "v2", "v5", "new"], vectors=np.stack([v[1], v[0], v[5], v[0]]),
                 metadata=[{}, {}, {"tag": 1}, {}])  # same vector, changed vector, metadata only, new
    assert r == {"added": 1, "updated": 2, "unchanged": 1}
    assert c.get(["v5"])[0].metadata == {"tag": 1} and c.search(v[0], k=3)[0].id in ("v2", "new")
    assert c.delete(["new"]) == 1 and c.upsert(["v2"], vectors=v[2:3])["updated"] == 1

    c.compact()
    info = c.info()
    assert info["count"] == 200
    if not backend:
        assert info["segments"] == 1 and info["deleted_rows"] == 0 and len(seg_files(c)) == 1
    # order of last write (v2 was re-written above); compaction keeps it
    assert c.ids() == [ids[i] for i in alive if i != 2] + ["v2"]
    for qi in (1, 299):
        order, _ = brute(v[alive], v[qi], 5)
        assert [h.id for h in c.search(v[qi], k=5)] == [ids[alive[j]] for j in order]
    c.close()
    with Collection.open("vecs", **backend) as c2:
        assert len(c2) == 200 and c2.get(["v250"])[0].metadata == {"half": 2}
        vec = c2.vectors()
        assert vec.keys == c2.ids() and (backend or isinstance(vec.matrix, np.memmap))
        np.testing.assert_allclose(vec["v4"], unit(v[4]), atol=1e-6)


@pytest.mark.parametrize("metric", ["dot", "l2"])
def test_dot_and_l2_collections_match_brute_force(metric, backend):
    rng = np.random.default_rng(1)
    v = rng.normal(size=(150, 8)).astype(np.float32)
    c = Collection.create(f"m-{metric}", dim=8, metric=metric, **backend)
    c.add([str(i) for i in range(150)], vectors=v)
    q = rng.normal(size=8).astype(np.float32)
    order, s = brute(v, q, 7, metric)
    hits = c.search(q, k=7)
    assert [h.id for h in hits] == [str(j) for j in order]
    np.testing.assert_allclose([h.score for h in hits], s[order], rtol=1e-4, atol=1e-4)


def test_where_filters_have_full_recall(backend):
    rng = np.random.default_rng(2)
    n = 600
    v = rng.normal(size=(n, 12)).astype(np.float32)
    meta = [{"color": ["red", "green", "blue"][i % 3], "big": bool(i % 2), "rank": i % 5} for i in range(n)]
    meta[7]["color"] = None
    c = Collection.create("filt", dim=12, **backend)
    for s in range(0, n, 200):  # three segments
        c.add([f"i{i}" for i in range(s, s + 200)], vectors=v[s:s + 200], metadata=meta[s:s + 200])
    c.delete(["i1", "i4"])
    live = [i for i in range(n) if i not in (1, 4)]
    cases = [
        ({"color": "red"}, lambda m: m["color"] == "red"),
        ({"color": "red", "big": True}, lambda m: m["color"] == "red" and m["big"]),
        ({"rank": {"$in": [1, 3]}}, lambda m: m["rank"] in (1, 3)),
        ({"color": {"$in": ["blue", None]}}, lambda m: m["color"] in ("blue", None)),
        ({"rank": {"$eq": 0}, "big": False}, lambda m: m["rank"] == 0 and not m["big"]),
        ({"rank": {"$gt": 2}}, lambda m: m["rank"] > 2),
        ({"$or": [{"rank": 0}, {"color": "blue"}]}, lambda m: m["rank"] == 0 or m["color"] == "blue"),
    ]
    queries = rng.normal(size=(5, 12)).astype(np.float32)
    for where, pred in cases:
        subset = [i for i in live if pred(meta[i])]
        results = c.search_many(queries, k=10, where=where)
        for q, hits in zip(queries, results, strict=True):
            order, _ = brute(v[subset], q, 10)
            assert [h.id for h in hits] == [f"i{subset[j]}" for j in order], where
            assert all(pred(h.metadata) for h in hits)
    assert c.search(queries[0], where={"color": "purple"}) == []
    with pytest.raises(InputError, match=r"unknown operator '\$like'; supported: \$eq \$ne \$gt"):
        c.search(queries[0], where={"rank": {"$like": 2}})
    with pytest.raises(InputError, match="where must be a non-empty dict"):
        c.search(queries[0], where=[("rank", 1)])


def clustered(n, d, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(40, d))
    return (centers[rng.integers(0, 40, n)] + 0.3 * rng.normal(size=(n, d))).astype(np.float32)


def test_hnsw_collection_recall_cache_and_catch_up():
    v = clustered(3000, 24, 3)
    ids = [f"h{i}" for i in range(3000)]
    c = Collection.create("ann", dim=24, index="hnsw", index_params={"M": 16, "ef_construction": 100, "seed": 1})
    c.add(ids[:2000], vectors=v[:2000], metadata=[{"odd": i % 2} for i in range(2000)])
    q = v[:50] + 0.05
    rec = np.mean([len({h.id for h in hits} & {ids[j] for j in brute(v[:2000], qq, 10)[0]}) / 10
                   for qq, hits in zip(q, c.search_many(q, k=10), strict=True)])
    assert rec >= 0.95
    c.delete(ids[:10])
    c.close()
    caches = list((c.path / "index-cache").iterdir())
    assert len(caches) == 1 and caches[0].name.startswith("ann-e0-g2-")

    c2 = Collection.open("ann")  # loads the cache, then another writer (this one) appends
    c2.add(ids[2000:], vectors=v[2000:], metadata=[{"odd": i % 2} for i in range(2000, 3000)])
    assert len(c2) == 2990
    c3 = Collection.open("ann")  # stale cache (generation 2) caught up from the committed segment
    assert len(c3) == 2990
    hits = c3.search(v[2500], k=5)
    assert hits[0].id == "h2500" and not {h.id for h in c3.search(v[3], k=50)} & set(ids[:10])
    odd = c3.search(v[2501], k=10, where={"odd": 1}, ef=256)
    assert odd[0].id == "h2501" and all(h.metadata["odd"] == 1 for h in odd)
    c2.close()
    c3.close()
    # a damaged cache is only a cache: it is rebuilt from the segments
    for p in (c.path / "index-cache").iterdir():
        (p / "hnsw.faiss").write_bytes(b"garbage")
    with Collection.open("ann") as c4:
        assert len(c4) == 2990 and c4.search(v[2999], k=1)[0].id == "h2999"


def test_upsert_skips_unchanged_content_without_encoding(backend):
    enc = HashingEncoder()
    c = Collection.create("up", enc, **backend)
    texts = ["red apples", "green pears", "yellow bananas"]
    c.add(["a", "b", "c"], texts, metadata=[{"v": 1}] * 3)
    assert enc.encoded == 3
    r = c.upsert(["a", "b", "c", "d"], ["red apples", "green pears!", "yellow bananas", "blue berries"])
    assert r == {"added": 1, "updated": 1, "unchanged": 2} and enc.encoded == 5
    r = c.upsert(["a", "b"], ["red apples", "green pears!"], metadata=[{"v": 2}, {"v": 1}])
    assert r == {"added": 0, "updated": 1, "unchanged": 1} and enc.encoded == 5  # metadata-only change
    assert c.get(["a"])[0].metadata == {"v": 2} and c.get(["b"])[0].source == "green pears!"
    assert len(c) == 4 and c.search("green pears!", k=1)[0].id == "b"
    assert c.search("yellow bananas", k=1)[0].id == "c"
    c.close()
    with pytest.raises(InputError, match="not registered here.*pass the Encoder instance"):
        Collection.open("up", **backend).search("x")
    with Collection.open("up", enc, **backend) as c2:
        assert len(c2) == 4 and c2.upsert(["d"], ["blue berries"]) == {"added": 0, "updated": 0, "unchanged": 1}
        assert enc.encoded == 7  # 5 items + the two queries above: the upsert encoded nothing


def test_auto_compact_after_deletes():
    v = np.random.default_rng(4).normal(size=(100, 4)).astype(np.float32)
    c = Collection.create("auto", dim=4, auto_compact=0.3)
    c.add([str(i) for i in range(50)], vectors=v[:50])
    c.add([str(i) for i in range(50, 100)], vectors=v[50:])
    c.delete([str(i) for i in range(20)])
    assert c.info()["deleted_rows"] == 20 and c.info()["segments"] == 2
    c.delete([str(i) for i in range(20, 40)])  # 40% dead > 30%: compacted
    info = c.info()
    assert info["deleted_rows"] == 0 and info["segments"] == 1 and len(seg_files(c)) == 1 and len(c) == 60
    assert c.search(v[99], k=1)[0].id == "99"


def test_bad_input_writes_nothing(backend):
    c = Collection.create("bad", dim=4, **backend)
    c.add(["x", "y"], vectors=np.eye(4, dtype=np.float32)[:2])
    before = snapshot(c)
    good = np.ones((2, 4), np.float32)
    cases = [
        (dict(ids=[], vectors=np.empty((0, 4))), InputError, "empty list"),
        (dict(ids=["a", "b", "c"], vectors=good), InputError, "got 2 vectors for 3 ids"),
        (dict(ids=["a", "b"], vectors=np.ones((2, 5))), DimensionError, "dimension 5, expected 4"),
        (dict(ids=["a", "b"], vectors=[[1, 2, 3, np.nan], [1, 1, 1, 1]]), NonFiniteError, "NaN or infinity"),
        (dict(ids=["a", "a"], vectors=good), InputError, r"duplicate ids in one call: \['a'\]"),
        (dict(ids=["a", "x"], vectors=good), InputError, r"already in collection 'bad'.*\['x'\].*upsert"),
        (dict(ids=["a", "b"]), InputError, "pass items .* vectors=, or both"),
        (dict(ids=["a", "b"], items=["p", "q"]), InputError, "vectors-only"),
        (dict(ids=["a", "b"], vectors=good, metadata=[{"t": object()}, {}]), InputError, "not JSON-serialisable"),
        (dict(ids=["a", "b"], vectors=good, metadata=[{}]), InputError, "1 metadata dicts for 2 ids"),
        (dict(ids="ab", vectors=good), InputError, "ids must be a list"),
        (dict(ids=["a", ""], vectors=good), InputError, "position 1 is empty"),
    ]
    for kw, err, msg in cases:
        with pytest.raises(err, match=msg):
            c.add(**kw)
        assert snapshot(c) == before, kw
    with pytest.raises(DimensionError, match="dimension 3, expected 4"):
        c.upsert(["x"], vectors=np.ones((1, 3)))
    with pytest.raises(InputError, match="empty list"):
        c.delete([])
    with pytest.raises(DimensionError, match="dimension 2, expected 4"):
        c.search([1.0, 2.0])
    with pytest.raises(InputError, match="k must be a positive integer"):
        c.search(np.ones(4), k=0)
    assert snapshot(c) == before


def test_failing_create_leaves_nothing_and_failing_first_add_leaves_a_valid_collection(tmp_path):
    root = tmp_path / "cols"
    with pytest.raises(InputError, match="unknown index kind 'annoy'"):
        Collection.create("c1", dim=4, index="annoy", root=root)
    with pytest.raises(InputError, match="unknown metric 'manhattan'"):
        Collection.create("c1", dim=4, metric="manhattan", root=root)
    with pytest.raises(InputError, match="bad collection name"):
        Collection.create("../escape", dim=4, root=root)
    assert not root.exists() or list(root.iterdir()) == []
    c = Collection.create("c1", dim=4, root=root)
    with pytest.raises(NonFiniteError):
        c.add(["a"], vectors=[[np.inf, 0, 0, 0]])
    c.close()
    with Collection.open("c1", root=root) as c2:
        assert len(c2) == 0 and c2.search([1, 0, 0, 0]) == [] and c2.ids() == []
    with pytest.raises(InputError, match="already exists"):
        Collection.create("c1", dim=4, root=root)
    assert Collection.names(root) == ["c1"]


def test_open_errors_name_what_to_do(use_encoder):
    Collection.create("alpha", dim=4).close()
    Collection.create("beta", use_encoder).close()
    with pytest.raises(CollectionNotFoundError, match=r"no collection named 'gamma'.*existing: alpha, beta"):
        Collection.open("gamma")
    with pytest.raises(EncoderMismatchError, match="vectors-only"):
        Collection.open("alpha", use_encoder)
    with pytest.raises(EncoderMismatchError, match=r"built with encoder 'use-multilingual'.*opened with 'test-trigram"):
        Collection.open("beta", HashingEncoder())
    Collection.create("delta", HashingEncoder()).close()

    class Retrained(HashingEncoder):  # same name and size, other weights
        def _fingerprint_source(self):
            return "other-weights"

    with pytest.raises(EncoderMismatchError, match="other-weights"):
        Collection.open("delta", Retrained())
    beta = Collection.open("beta")
    doc = json.loads((beta.path / "manifest.json").read_text())
    doc["encoder"]["fingerprint"] = "use-multilingual@other-weights"  # an edited manifest is noticed
    (beta.path / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(CorruptFileError, match="manifest.json was changed after the collection was created"):
        Collection.open("beta", "use-multilingual")
    doc["format_version"] = 99
    (beta.path / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(FormatVersionError, match="format version 99.*upgrade embedlab"):
        Collection.open("beta")
    (beta.path / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptFileError, match="not valid JSON.*drop the collection"):
        Collection.open("beta")
    alpha = Collection.open("alpha")
    alpha.close()
    (alpha.path / "catalog.sqlite").write_bytes(b"this is not a database" * 100)
    for p in alpha.path.glob("catalog.sqlite-*"):
        p.unlink()
    with pytest.raises(CorruptFileError, match="damaged.*drop the collection"):
        Collection.open("alpha")


def test_missing_segment_is_reported():
    c = Collection.create("seg", dim=4)
    c.add(["a"], vectors=[[1, 0, 0, 0]])
    c.close()
    for p in (c.path / "segments").iterdir():
        p.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(CorruptFileError, match="vector segment .* cannot be read"):
        Collection.open("seg")


@pytest.mark.parametrize("readonly", [False, True])
def test_a_deleted_segment_file_is_named(tmp_path, readonly):
    c = Collection.create("seg", dim=4, root=tmp_path)
    for k in range(3):
        c.add([f"a{k}"], vectors=[[1, k, 0, 0]])
    c.close()
    gone = sorted((c.path / "segments").iterdir())[1]
    gone.unlink()
    with pytest.raises(CorruptFileError) as err:
        Collection.open("seg", root=tmp_path, readonly=readonly)
    assert str(err.value) == (f"segment files of {c.path} are missing (the catalogue lists {gone.name}, which is "
                              "not there); restore the collection folder from a backup, or drop the collection and "
                              "add the items again")


def test_readonly_list_drop(backend):
    c = Collection.create("ro", dim=2, **backend)
    c.add(["a"], vectors=[[1, 0]])
    c.close()
    r = Collection.open("ro", readonly=True, **backend)
    with pytest.raises(InputError, match="read-only"):
        r.add(["b"], vectors=[[0, 1]])
    assert r.search([1, 0])[0].id == "a" and "a" in r and "b" not in r
    r.close()
    with pytest.raises(InputError, match="closed"):
        r.count()
    assert Collection.names(**backend) == ["ro"]
    o = Collection.open_or_create("ro", dim=2, **backend)
    assert len(o) == 1
    o.close()
    Collection.drop("ro", **backend)
    assert Collection.names(**backend) == []
    with pytest.raises(CollectionNotFoundError, match="no collection named 'ro'"):
        Collection.drop("ro", **backend)
    with pytest.raises(CollectionNotFoundError, match="no collection named 'ro'"):
        Collection.open("ro", **backend)


def test_small_adds_are_merged_and_other_handles_follow():
    from embedlab.store.local import table as mod

    rng = np.random.default_rng(5)
    v = rng.normal(size=(60, 6)).astype(np.float32)
    c = Collection.create("small", dim=6)
    other = Collection.open("small", readonly=True)  # another handle, as another process would have
    for s in range(0, 60, 3):
        c.add([f"s{i}" for i in range(s, s + 3)], vectors=v[s:s + 3])
        if s == 9:
            c.delete(["s4"])  # a deleted row inside segments that get merged stays deleted
            assert len(other) == 11
    info = c.info()
    assert info["segments"] < mod.MERGE_FAN and len(seg_files(c)) == info["segments"] and info["deleted_rows"] == 1
    for h in (c, other):
        assert len(h) == 59 and h.ids() == [f"s{i}" for i in range(60) if i != 4]
        for qi in (0, 31, 59):
            order, _ = brute(np.delete(v, 4, axis=0), v[qi], 8)
            expect = [f"s{j + (j >= 4)}" for j in order]
            assert [x.id for x in h.search(v[qi], k=8)] == expect
    np.testing.assert_allclose(other.get(["s58"])[0].vector, unit(v[58]), atol=1e-6)


def test_hnsw_small_adds_merge_without_rebuilding():
    v = clustered(400, 8, 6)
    c = Collection.create("hsmall", dim=8, index="hnsw", index_params={"M": 8, "seed": 0})
    for s in range(0, 400, 20):
        c.add([f"x{i}" for i in range(s, s + 20)], vectors=v[s:s + 20])
    assert c.info()["segments"] < 8
    assert all(c.search(v[i], k=1)[0].id == f"x{i}" for i in (0, 199, 399))
    c.close()
    with Collection.open("hsmall") as c2:
        assert len(c2) == 400 and c2.search(v[123], k=1)[0].id == "x123"


@pytest.mark.parametrize("metric", ["cosine", "dot"])
def test_wide_single_query_path_matches_batch_path(metric, backend):
    rng = np.random.default_rng(7)
    v = rng.normal(size=(90, 128)).astype(np.float32)  # dim >= GEMV_MIN_DIM: one query with dead rows: a mat-vec
    c = Collection.create(f"wide-{metric}", dim=128, metric=metric, auto_compact=0.9, **backend)
    c.add([f"w{i}" for i in range(50)], vectors=v[:50])
    c.add([f"w{i}" for i in range(50, 90)], vectors=v[50:])
    c.delete([f"w{i}" for i in range(0, 90, 4)])
    live = [i for i in range(90) if i % 4]
    q = rng.normal(size=128).astype(np.float32)
    order, s = brute(v[live], q, 100, metric)
    one = c.search(q, k=100)  # more than the live rows: padded results are dropped
    assert [h.id for h in one] == [f"w{live[j]}" for j in order] and len(one) == len(live)
    np.testing.assert_allclose([h.score for h in one], s[order], rtol=1e-4, atol=1e-4)
    batch = c.search_many(np.stack([q, q]), k=5)  # FAISS path
    assert [h.id for h in batch[0]] == [h.id for h in one[:5]] == [h.id for h in batch[1]]


def test_two_creators_of_one_new_collection_both_succeed(backend):
    """``open_or_create`` from two threads at once (two `embedlab index` runs starting together): both get the
    one collection, on both backends; on PostgreSQL one used to fail with "already exists"."""
    import threading

    def create(name, start, got, errors):
        start.wait()
        try:
            with Collection.open_or_create(name, dim=4, **backend) as c:
                got.append(c.name)
        except Exception as exc:  # the test reports whatever went wrong
            errors.append(exc)

    for round_ in range(6):
        name = f"race{round_}"
        start, got, errors = threading.Barrier(2), [], []
        threads = [threading.Thread(target=create, args=(name, start, got, errors)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors and got == [name, name], (errors, got)
        assert Collection.names(**backend).count(name) == 1


def test_collection_list_is_a_deprecated_alias_of_names_and_statuses():
    """``Collection.list`` shadowed the builtin inside the class; ``names`` and ``statuses`` replace it, and the
    old name still answers, with a DeprecationWarning naming the new one."""
    Collection.create("one", dim=2)
    with pytest.warns(DeprecationWarning, match="Collection.list is deprecated; use Collection.names"):
        assert Collection.list() == Collection.names() == ["one"]
    with pytest.warns(DeprecationWarning, match="use Collection.statuses"):
        assert Collection.list(status=True) == Collection.statuses()


def test_floats_of_any_size_come_back_as_the_same_floats(backend, tmp_path):
    # PostgreSQL's jsonb keeps digits, not notation: 1e16 (Python writes floats from 1e16 up as "1e+16") came back
    # as the integer 10000000000000000, and 1e300 as a 301-digit integer that no backend accepts, so the export
    # of such a collection could not be imported anywhere
    from embedlab.store.parquet import export_parquet, import_parquet

    metas = [{"x": 1e16, "y": [2e20, -1e22, 1.0, 0.5], "z": {"w": 1e300, "u": 1e-300}},
             {"x": 10 ** 16, "e+": "1e+16 is text"}, {"x": 1.7976931348623157e308}]
    c = Collection.create("floats", dim=2, **backend)
    c.add(["a", "b", "c"], vectors=np.ones((3, 2), np.float32), metadata=metas)
    c.upsert(["c"], vectors=np.ones((1, 2), np.float32), metadata=[{"x": 1.7976931348623157e308, "k": 1}])
    c.update(ids=["b"], metadatas=[{"w": 3e17}])
    want = [metas[0], {"x": 10 ** 16, "e+": "1e+16 is text", "w": 3e17}, {"x": 1.7976931348623157e308, "k": 1}]
    typed = lambda metas: [json.dumps(m, sort_keys=True) for m in metas]  # noqa: E731 - 1e+16 is not 10000000000000000
    assert typed(it.metadata for it in c.get(["a", "b", "c"])) == typed(want)
    assert sorted(typed(h.metadata for h in c.search([1, 0], k=3))) == sorted(typed(want))
    assert c.ids(where={"x": 1e16}) == ["a", "b"] and c.ids(where={"x": {"$gt": 1e308}}) == ["c"]
    export_parquet(c, tmp_path / "f.parquet")
    d = import_parquet(tmp_path / "f.parquet", "floats2", root=tmp_path / "local")
    assert d["count"] == 3
    assert typed(it.metadata for it in Collection.open("floats2", root=tmp_path / "local").get(["a", "b", "c"])) \
        == typed(want)


def test_a_handle_on_a_dropped_collection_never_writes_into_the_one_that_took_its_name(tmp_path):
    # a handle kept open (a server) while the collection was dropped and created again under its name wrote its
    # adds (a segment into the new folder, the commit into the deleted catalogue: acknowledged, then lost), and its
    # filters saved metadata index parts of the old rows into the new folder, named as the new collection's next
    # generation would name them: once that generation came, a filter read the old rows' metadata
    rng = np.random.default_rng(3)
    old = Collection.create("dr", dim=2, root=tmp_path, index="hnsw")
    old.add([f"x{i}" for i in range(50)], vectors=rng.normal(size=(50, 2)).astype(np.float32),
            metadata=[{"g": i % 2} for i in range(50)])
    assert len(old.ids(where={"g": 1})) == 25
    other = Collection.open("dr", root=tmp_path)  # a second handle moves the old catalogue on before the drop
    other.update(ids=["x1"], metadatas=[{"g": 5}])
    other.close()
    Collection.drop("dr", root=tmp_path)
    new = Collection.create("dr", dim=2, root=tmp_path, index="hnsw")
    new.add([f"y{i}" for i in range(50)], vectors=rng.normal(size=(50, 2)).astype(np.float32),
            metadata=[{"g": 0}] * 50)
    message = (f"collection 'dr' was dropped (or its folder replaced) after this handle opened it; nothing was "
               f"written. Open it again (Collection.open or Collection.create) to use what is at {tmp_path / 'dr'} "
               "now")
    for write in (lambda: old.add(["w"], vectors=[[0, 1]], metadata=[{"h": 1}]), lambda: old.delete(["x1"]),
                  old.check):
        with pytest.raises(CollectionNotFoundError) as err:
            write()
        assert str(err.value) == message
    assert old.ids(where={"g": 5}) == ["x1"]  # reads go on in the catalogue it had (its parts kept in memory)
    old.close()  # its ANN cache is not saved into the new folder either
    new.add(["y50"], vectors=[[1, 0]], metadata=[{"g": 0}])
    assert new.ids(where={"g": 0}) == [f"y{i}" for i in range(51)]
    new.close()
    again = Collection.open("dr", root=tmp_path)
    assert again.check()["ok"] and len(again) == 51 and again.search([1, 0], k=1)[0].id == "y50"


def test_reading_a_dropped_collection_that_moved_on_is_not_called_damage(tmp_path):
    # the handle's catalogue lists a segment written (by another handle) after it last read: the folder is gone,
    # so that segment is too; this is a drop, not damage to restore from a backup
    c = Collection.create("dr", dim=2, root=tmp_path)
    c.add(["a"], vectors=[[1, 0]])
    other = Collection.open("dr", root=tmp_path)
    other.add(["b"], vectors=[[0, 1]])
    other.close()
    Collection.drop("dr", root=tmp_path)
    with pytest.raises(CollectionNotFoundError, match="collection 'dr' was dropped"):
        c.ids()
    Collection.create("dr", dim=2, root=tmp_path).close()  # the name taken again: the same answer
    with pytest.raises(CollectionNotFoundError, match="collection 'dr' was dropped"):
        c.search([1, 0])
    c.close()
