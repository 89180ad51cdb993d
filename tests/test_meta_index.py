"""The local backend's metadata index (store/local/metaindex.py, metapart.py): every filter answered from it equals
the reference evaluator (``filters.matches``) while rows are added, deleted, upserted and edited; its files are
derived data, so a missing, truncated, damaged or stale one is rebuilt and never gives a wrong answer; ``check``
reports a damaged one and (writable) rebuilds it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from embedlab.store import Collection
from embedlab.store.filters import matches, parse
from embedlab.store.local.metaindex import META_DIR, PART_NAME
from embedlab.store.local.metapart import FORMAT_VERSION, MAX_KEYS

pytestmark = pytest.mark.filterwarnings("ignore::embedlab.errors.FilterWarning")  # filters that match nothing

KEYS = ["a", "b", "n", "l"]
BIG = 2 ** 53


def _value(rng):
    pool = [None, True, False, 0, 1, 1.0, -1, 2.5, -2.5, BIG, BIG + 1, float(BIG), 2 ** 62, 2 ** 63 - 1,
            -(2 ** 63), 1e300, -0.0, "a", "b", "1", "", "é", "z" * 3, ["a", 1], [1], [], {"x": 1}]
    v = pool[rng.integers(len(pool))]
    return [pool[rng.integers(len(pool))] for _ in range(rng.integers(0, 3))] if rng.random() < 0.1 else v


def _meta(rng):
    return {k: _value(rng) for k in KEYS if rng.random() < 0.7}


def _filter(rng, depth=0):
    if depth < 2 and rng.random() < 0.3:
        op = ["$and", "$or"][rng.integers(2)]
        return {op: [_filter(rng, depth + 1) for _ in range(rng.integers(1, 4))]}
    key = (KEYS + ["absent"])[rng.integers(len(KEYS) + 1)]
    op = ["eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$contains", "$exists", "range"][
        rng.integers(11)]
    scal = [0, 1, 1.0, 0.5, -1, 2.5, BIG, BIG + 1, float(BIG), 2 ** 62, 2 ** 63 - 1, 1e300, -1e300, "a", "b", "",
            "é", "1"]
    if op == "eq":
        v = _value(rng)
        return {key: {"$eq": v} if isinstance(v, dict) else v}
    if op == "range":  # a lower and an upper bound of one key: evaluated as one slice
        lo, hi = sorted([scal[rng.integers(13)], scal[rng.integers(13)]]) if rng.random() < 0.7 else ("a", "é")
        return {key: {["$gt", "$gte"][rng.integers(2)]: lo, ["$lt", "$lte"][rng.integers(2)]: hi}}
    if op in ("$gt", "$gte", "$lt", "$lte"):
        return {key: {op: scal[rng.integers(len(scal))]}}
    if op in ("$in", "$nin"):
        return {key: {op: [_value(rng) for _ in range(rng.integers(1, 5))]}}
    if op == "$contains":
        return {key: {op: [None, True, 1, 1.0, "a", 2.5][rng.integers(6)]}}
    if op == "$exists":
        return {key: {op: bool(rng.integers(2))}}
    v = _value(rng)
    return {key: {op: v}}


def _check(c, live, rng, n):
    for _ in range(n):
        where = _filter(rng)
        flt = parse(where)
        want = [i for i, m in live.items() if matches(flt, m)]
        assert c.ids(where=where) == want, where


def _parts(root, name="m"):
    folder = os.path.join(root, name, META_DIR)
    return sorted(p for p in os.listdir(folder) if PART_NAME.fullmatch(p)) if os.path.isdir(folder) else []


def test_agrees_with_the_reference_while_rows_are_added_deleted_upserted_and_edited(tmp_path):
    rng = np.random.default_rng(25)
    c = Collection.create("m", dim=2, root=tmp_path)
    live: dict[str, dict] = {}
    vecs: dict[str, np.ndarray] = {}
    counter = 0
    for step in range(12):
        ids = [f"r{counter + i:04d}" for i in range(int(rng.integers(1, 40)))]
        counter += len(ids)
        metas = [_meta(rng) for _ in ids]
        new = rng.normal(size=(len(ids), 2)).astype(np.float32)
        c.add(ids, vectors=new, metadata=metas)
        live.update(zip(ids, metas, strict=True))
        vecs.update(zip(ids, new, strict=True))
        if step % 3 == 1:  # deleted rows leave the answers
            gone = sorted(live)[:: 7]
            c.delete(gone)
            for i in gone:
                del live[i]
        if step % 4 == 2:  # upserts: new vectors (a new row) and the same vectors with new metadata (an edit)
            some = sorted(live)[1::5]
            metas = [_meta(rng) for _ in some]
            new = rng.normal(size=(len(some), 2)).astype(np.float32)
            c.upsert(some, vectors=new, metadata=metas)
            live.update(zip(some, metas, strict=True))
            vecs.update(zip(some, new, strict=True))
            some = sorted(live)[2::6]
            metas = [_meta(rng) for _ in some]
            assert c.upsert(some, vectors=np.stack([vecs[i] for i in some]), metadata=metas)["added"] == 0
            live.update(zip(some, metas, strict=True))
        order = {i: k for k, i in enumerate(c.ids())}  # write order: what ids(where=) lists
        live = dict(sorted(live.items(), key=lambda kv: order[kv[0]]))
        _check(c, live, rng, 60)
    assert _parts(tmp_path)  # the index was saved
    c.close()
    c = Collection.open("m", root=tmp_path)  # reopened: the saved parts answer
    _check(c, live, rng, 200)
    c.close()


def test_rows_added_after_the_index_was_built_get_a_part_of_their_own(tmp_path):
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add([f"a{i}" for i in range(64)], vectors=np.ones((64, 2), np.float32), metadata=[{"t": i % 4} for i in range(64)])
    assert c.ids(where={"t": 1}) == [f"a{i}" for i in range(1, 64, 4)]
    first = _parts(tmp_path)
    assert [PART_NAME.fullmatch(p).group(3, 4) for p in first] == [("0", "64")]
    c.add(["b0", "b1"], vectors=np.ones((2, 2), np.float32), metadata=[{"t": 1}, {"t": 2}])
    assert c.ids(where={"t": 1}) == [f"a{i}" for i in range(1, 64, 4)] + ["b0"]
    assert [PART_NAME.fullmatch(p).group(3, 4) for p in _parts(tmp_path)] == [("0", "64"), ("64", "66")]
    assert _parts(tmp_path)[0] == first[0]  # the old rows' part was kept, not rebuilt
    c.close()


def test_mixed_types_compare_as_the_reference_does(tmp_path):
    metas = [{"v": 1}, {"v": 1.0}, {"v": True}, {"v": "1"}, {"v": BIG + 1}, {"v": float(BIG)}, {"v": BIG},
             {"v": None}, {}, {"v": [1, "1"]}, {"v": {"k": 1}}, {"v": -0.0}, {"v": 0}, {"v": False}, {"v": 2.5},
             {"v": "b"}, {"v": 2 ** 63 - 1}, {"v": -(2 ** 63)}]
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add([f"m{i}" for i in range(len(metas))], vectors=np.ones((len(metas), 2), np.float32), metadata=metas)
    ids = lambda where: c.ids(where=where)  # noqa: E731
    assert ids({"v": 1}) == ["m0", "m1"]  # 1 == 1.0; True and "1" are other types
    assert ids({"v": 1.0}) == ["m0", "m1"]
    assert ids({"v": True}) == ["m2"] and ids({"v": False}) == ["m13"]
    assert ids({"v": "1"}) == ["m3"]
    assert ids({"v": BIG + 1}) == ["m4"]  # 2**53 + 1 is no float: only the integer
    assert ids({"v": float(BIG)}) == ["m5", "m6"] and ids({"v": BIG}) == ["m5", "m6"]
    assert ids({"v": 0}) == ["m11", "m12"]  # -0.0 == 0
    assert ids({"v": {"$gt": BIG}}) == ["m4", "m16"]
    assert ids({"v": {"$gte": BIG + 1}}) == ["m4", "m16"]
    assert ids({"v": {"$lt": BIG + 1, "$gt": 2}}) == ["m5", "m6", "m14"]
    assert ids({"v": {"$lte": -(2 ** 63)}}) == ["m17"]
    assert ids({"v": {"$gt": 1e300}}) == [] and ids({"v": {"$lt": -1e300}}) == []
    assert ids({"v": {"$gt": 0.5, "$lt": 1.5}}) == ["m0", "m1"]
    assert ids({"v": {"$gte": "1", "$lte": "b"}}) == ["m3", "m15"]  # strings with strings only
    assert ids({"v": {"$in": [1, "b", None]}}) == ["m0", "m1", "m7", "m8", "m15"]
    assert ids({"v": {"$nin": [1, "b", None]}}) == [f"m{i}" for i in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 16, 17)]
    assert ids({"v": [1, "1"]}) == ["m9"] and ids({"v": {"$eq": {"k": 1}}}) == ["m10"]
    assert ids({"v": {"$contains": "1"}}) == ["m9"] and ids({"v": {"$contains": 1.0}}) == ["m9"]
    assert ids({"v": {"$ne": 1}}) == [f"m{i}" for i in range(len(metas)) if i not in (0, 1)]


def test_keys_no_row_has(tmp_path):
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add(["x", "y"], vectors=np.ones((2, 2), np.float32), metadata=[{"a": 1}, {}])
    for where, want in [({"nope": 1}, []), ({"nope": None}, ["x", "y"]), ({"nope": {"$ne": 1}}, ["x", "y"]),
                        ({"nope": {"$exists": True}}, []), ({"nope": {"$exists": False}}, ["x", "y"]),
                        ({"nope": {"$gt": 0}}, []), ({"nope": {"$in": [1, "a"]}}, []),
                        ({"nope": {"$nin": [1, "a"]}}, ["x", "y"]), ({"nope": {"$contains": 1}}, []),
                        ({"$or": [{"nope": 1}, {"a": 1}]}, ["x"]), ({"a": 1, "nope": {"$ne": 2}}, ["x"])]:
        assert c.ids(where=where) == want, where
    assert c.search([1.0, 0.0], k=5, where={"nope": 1}) == []


def test_in_with_ten_thousand_values(tmp_path):
    rng = np.random.default_rng(3)
    n = 3000
    metas = [{"t": int(i), "s": f"s{i}"} if i % 3 else {"t": float(i) + 0.5, "s": i} for i in range(n)]
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add([f"i{i}" for i in range(n)], vectors=np.ones((n, 2), np.float32), metadata=metas)
    nums = [int(x) for x in rng.choice(20_000, 10_000, replace=False)]
    vals = [x if x % 2 else float(x) for x in nums[:5000]] + [f"s{x}" for x in nums[5000:]]
    valset = set(vals)  # a set compares as $eq does here: numbers as numbers (5 == 5.0), strings apart
    for key in ("t", "s"):
        for op in ("$in", "$nin"):
            where = {key: {op: vals}}
            want = [f"i{i}" for i in range(n) if (metas[i][key] in valset) == (op == "$in")]
            assert 0 < len(want) < n
            assert c.ids(where=where) == want
            flt = parse(where)
            assert [f"i{i}" for i in range(0, n, 60) if matches(flt, metas[i])] == [w for w in want
                                                                                   if int(w[1:]) % 60 == 0]
    where = {"$or": [{"t": x} for x in vals[:300]] + [{"s": x} for x in vals[-300:]]}
    flt = parse(where)
    assert c.ids(where=where) == [f"i{i}" for i in range(n) if matches(flt, metas[i])]


def _damage(path, how):
    data = bytearray(open(path, "rb").read())
    if how == "truncate":
        data = data[: len(data) // 2]
    elif how == "flip":
        data[len(data) - 9] ^= 0x40
    elif how == "garbage":
        data = bytearray(b"not a part at all" * 4)
    open(path, "wb").write(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "flip", "garbage", "delete", "empty"])
def test_a_damaged_or_missing_part_file_is_rebuilt_never_used(tmp_path, how):
    metas = [{"t": i % 5, "s": f"x{i % 3}"} for i in range(50)]
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add([f"i{i}" for i in range(50)], vectors=np.ones((50, 2), np.float32), metadata=metas)
    want = [f"i{i}" for i in range(50) if i % 5 == 2]
    assert c.ids(where={"t": 2}) == want
    c.close()
    (name,) = _parts(tmp_path)
    path = tmp_path / "m" / META_DIR / name
    if how == "delete":
        path.unlink()
    elif how == "empty":
        path.write_bytes(b"")
    else:
        _damage(path, how)
    c = Collection.open("m", root=tmp_path)
    assert c.ids(where={"t": 2}) == want  # rebuilt from the catalogue
    assert len(_parts(tmp_path)) == 1 and _parts(tmp_path) != [name]  # the bad file replaced
    assert c.check()["ok"]
    c.close()


@pytest.mark.parametrize("how", ["truncate", "flip"])
def test_check_reports_a_damaged_part_and_repair_rebuilds_it(tmp_path, how):
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add([f"i{i}" for i in range(20)], vectors=np.ones((20, 2), np.float32), metadata=[{"t": i % 2} for i in range(20)])
    assert c.ids(where={"t": 1}) == [f"i{i}" for i in range(1, 20, 2)]
    assert c.check(deep=False)["ok"]
    (name,) = _parts(tmp_path)
    _damage(tmp_path / "m" / META_DIR / name, how)
    ro = Collection.open("m", root=tmp_path, readonly=True)
    report = ro.check()
    assert not report["ok"] and len(report["problems"]) == 1
    assert report["problems"][0].startswith(f"metadata index: {tmp_path / 'm' / META_DIR / name}")
    assert ro.ids(where={"t": 1}) == [f"i{i}" for i in range(1, 20, 2)]  # read-only: rebuilt in memory
    assert _parts(tmp_path) == [name]  # ... and the file left alone
    ro.close()
    report = c.check()
    assert not report["ok"] and report["problems"][0].endswith("; rebuilt")
    assert c.check() == {"ok": True, "problems": [], "segments": 1, "items": 20, "deep": True}
    assert _parts(tmp_path) != [name] and len(_parts(tmp_path)) == 1
    assert c.ids(where={"t": 1}) == [f"i{i}" for i in range(1, 20, 2)]
    c.close()


def test_stale_parts_are_never_used(tmp_path):
    c = Collection.create("m", dim=2, root=tmp_path)
    vecs = np.eye(2, dtype=np.float32)[np.arange(30) % 2]
    c.add([f"i{i}" for i in range(30)], vectors=vecs, metadata=[{"t": i % 3} for i in range(30)])
    assert c.ids(where={"t": 0}) == [f"i{i}" for i in range(0, 30, 3)]
    (old,) = _parts(tmp_path)
    saved = (tmp_path / "m" / META_DIR / old).read_bytes()
    # an in-place metadata edit (upsert with the same vector): the part built before it is stale
    c.upsert(["i0"], vectors=vecs[:1], metadata=[{"t": 1}])
    assert c.ids(where={"t": 0}) == [f"i{i}" for i in range(3, 30, 3)]
    c.close()
    (tmp_path / "m" / META_DIR / old).write_bytes(saved)  # the stale file comes back (e.g. from a backup)
    c = Collection.open("m", root=tmp_path)
    assert c.ids(where={"t": 0}) == [f"i{i}" for i in range(3, 30, 3)]
    assert old not in _parts(tmp_path)  # older than the edit: deleted, not read
    # a file renamed to claim a newer generation: its header disagrees, so it is rejected
    (cur,) = _parts(tmp_path)
    e, g, lo, hi = PART_NAME.fullmatch(cur).groups()
    c.close()
    forged = f"part-e{e}-g{int(g) + 1}-l{lo}-h{hi}-00000000.mix"
    (tmp_path / "m" / META_DIR / forged).write_bytes(saved)  # sound bytes, but of the old generation
    c = Collection.open("m", root=tmp_path)
    c.add(["j"], vectors=vecs[:1], metadata=[{"t": 0}])  # the collection moves on to that generation
    assert c.ids(where={"t": 0}) == [f"i{i}" for i in range(3, 30, 3)] + ["j"]
    assert forged not in _parts(tmp_path)
    # a compaction renumbers the labels (a new epoch): parts of the old epoch go
    c.delete([f"i{i}" for i in range(0, 30, 2)])
    c.compact()
    assert c.ids(where={"t": 0}) == [f"i{i}" for i in range(3, 30, 6)] + ["j"]
    assert all(PART_NAME.fullmatch(p).group(1) != e for p in _parts(tmp_path))
    c.close()


def test_read_only_collections_and_the_switch(tmp_path, monkeypatch):
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add(["a", "b"], vectors=np.ones((2, 2), np.float32), metadata=[{"t": 1}, {"t": 2}])
    c.close()
    ro = Collection.open("m", root=tmp_path, readonly=True)
    assert ro.ids(where={"t": 2}) == ["b"]
    assert _parts(tmp_path) == []  # built in memory, nothing written
    ro.close()
    monkeypatch.setenv("EMBEDLAB_META_INDEX", "0")
    c = Collection.open("m", root=tmp_path)
    assert c.ids(where={"t": 2}) == ["b"] and c.search([1.0, 1.0], k=3, where={"t": 1})[0].id == "a"
    assert _parts(tmp_path) == []  # switched off: SQLite answered
    c.close()


def test_more_keys_than_the_index_holds_fall_back_to_the_catalogue(tmp_path):
    meta = {f"k{i}": i for i in range(MAX_KEYS + 1)}
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add(["a", "b"], vectors=np.ones((2, 2), np.float32), metadata=[meta, {"k1": 2}])
    assert c.ids(where={"k1": 1}) == ["a"] and c.ids(where={"k4096": {"$exists": False}}) == ["b"]
    c.add(["c"], vectors=np.ones((1, 2), np.float32), metadata=[{"k1": 1}])
    assert c.ids(where={"k1": 1}) == ["a", "c"]
    assert _parts(tmp_path) == []
    c.delete(["a"])
    c.compact()  # a new epoch without the wide row: indexed again
    assert c.ids(where={"k1": 1}) == ["c"] and len(_parts(tmp_path)) == 1
    c.close()


def test_a_write_transaction_filters_what_it_sees(tmp_path):
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add([f"i{i}" for i in range(10)], vectors=np.ones((10, 2), np.float32), metadata=[{"t": i % 2} for i in range(10)])
    assert c.ids(where={"t": 0}) == ["i0", "i2", "i4", "i6", "i8"]
    assert c.delete(where={"t": 0}) == 5
    assert c.ids(where={"t": {"$exists": True}}) == ["i1", "i3", "i5", "i7", "i9"]
    assert json.loads(json.dumps(c.check()))["ok"]
    c.close()


def test_the_cli_check_names_a_damaged_part_as_derived_data(tmp_path, capsys):
    from embedlab import config
    from embedlab.cli import main

    c = Collection.create("m", dim=2)  # in the embedlab home, where the CLI looks
    c.add(["a", "b"], vectors=np.ones((2, 2), np.float32), metadata=[{"t": 1}, {"t": 2}])
    assert c.ids(where={"t": 1}) == ["a"]
    c.close()
    folder = config.collections_dir() / "m" / META_DIR
    (name,) = sorted(p.name for p in folder.iterdir() if PART_NAME.fullmatch(p.name))
    _damage(folder / name, "flip")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["check", "m"])
    out = " ".join(capsys.readouterr().out.split())
    assert exc.value.code == 1 and "1 problem(s) in m:" in out and "does not match its CRC32" in out
    assert "the metadata index is derived data: filters stay exact" in out
    assert "restore the collection folder from a backup" not in out


def test_part_files_survive_seeded_mutations(tmp_path):
    from embedlab.errors import CorruptFileError
    from embedlab.store.local.metapart import build_arrays, encode_part, load_part

    rows = [(i, {"t": i % 3, "s": f"v{i % 4}", "l": [i, "x"], "f": i / 2}) for i in range(40)]
    keys, arrays = build_arrays(rows)
    good = encode_part({"lo": 0, "hi": 40, "epoch": 0, "gen": 1}, keys, arrays)
    path = tmp_path / "p.mix"
    path.write_bytes(good)
    part = load_part(path)
    assert (part.lo, part.hi, sorted(part.keys)) == (0, 40, ["f", "l", "s", "t"])
    assert all(np.array_equal(part.arrays[k], v) for k, v in arrays.items())
    rng = np.random.default_rng(25)
    for trial in range(300):
        data = bytearray(good)
        how = trial % 4
        if how == 0:
            data = data[: int(rng.integers(0, len(data)))]
        elif how == 1:  # every byte counts: the prefix's (reserved ones too) and the checksummed rest
            data[trial % 32 if trial % 8 == 1 else int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(8))
        elif how == 2:  # a lying prefix: header length or file size
            at = [8, 16][int(rng.integers(2))]
            data[at:at + 8] = int(rng.choice([0, 1, 31, 2 ** 40, len(data) + 8])).to_bytes(8, "little")
        else:
            data[int(rng.integers(32, len(data))):] = b""
            data += bytes(rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8))
        path.write_bytes(bytes(data))
        with pytest.raises(CorruptFileError, match="p.mix"):
            load_part(path)
    # a header that lies about its arrays, under a valid checksum: refused, not read past the file
    import zlib

    for lie in ([["0.has", "i", 0, 10 ** 9]], [["0.has", "i", -8, 1]], [["0.has", "q", 0, 1]], [["0.has", "i", 0, -1]]):
        head = json.dumps({"lo": 0, "hi": 1, "epoch": 0, "gen": 0, "format": FORMAT_VERSION, "keys": ["t"], "arrays": lie}).encode()
        head += b" " * (-(len(head) + 32) % 8)
        body = head + b"\0" * 8
        path.write_bytes(b"EMBLMIX1" + len(head).to_bytes(8, "little") + (32 + len(body)).to_bytes(8, "little")
                         + zlib.crc32(body).to_bytes(4, "little") + b"\0" * 4 + body)
        with pytest.raises(CorruptFileError, match="damaged header"):
            load_part(path)


def test_once_used_the_index_is_kept_current_by_each_commit(tmp_path):
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add(["a0", "a1"], vectors=np.ones((2, 2), np.float32), metadata=[{"t": 0}, {"t": 1}])
    c.add(["b0"], vectors=np.ones((1, 2), np.float32), metadata=[{"t": 0}])
    assert _parts(tmp_path) == []  # never filtered: nothing built, no cost on the writes
    assert c.ids(where={"t": 0}) == ["a0", "b0"]
    c.add(["c0", "c1"], vectors=np.ones((2, 2), np.float32), metadata=[{"t": 0}, {"t": 1}])
    # the commit extended it by a part of the new rows, before any filter asked
    assert [PART_NAME.fullmatch(p).group(3, 4) for p in _parts(tmp_path)] == [("0", "3"), ("3", "5")]
    c.add(["d0", "d1", "d2"], vectors=np.ones((3, 2), np.float32), metadata=[{"t": 0}] * 3)
    assert [PART_NAME.fullmatch(p).group(3, 4) for p in _parts(tmp_path)] == [("0", "8")]  # 2 <= 3: merged
    c.delete(["a0"])
    assert c.ids(where={"t": 0}) == ["b0", "c0", "d0", "d1", "d2"]
    c.close()


def test_a_part_write_cut_short_leaves_only_a_temp_file_that_the_next_open_removes(tmp_path):
    c = Collection.create("m", dim=2, root=tmp_path)
    c.add(["a"], vectors=np.ones((1, 2), np.float32), metadata=[{"t": 1}])
    assert c.ids(where={"t": 1}) == ["a"]
    c.close()
    folder = tmp_path / "m" / META_DIR
    (name,) = _parts(tmp_path)
    tmp = folder / f".{name}.tmp-0badc0de"  # what a SIGKILL inside persist.atomic_file leaves
    tmp.write_bytes((folder / name).read_bytes()[:20])
    c = Collection.open("m", root=tmp_path)
    assert not tmp.exists() and _parts(tmp_path) == [name]
    assert c.ids(where={"t": 1}) == ["a"]
    c.close()


def test_a_part_of_an_older_format_is_stale_never_used_and_not_damage(tmp_path):
    # format 2 keys lists and objects by filters.value_key ([1] == [1.0]); a format-1 part (canonical text) would
    # answer {"l": [1]} without the [1.0] row, so it is replaced like a stale part, and `check` does not call it
    # damage (a newer embedlab over an older collection: nothing to restore)
    import zlib

    from embedlab.store.local.metapart import load_part

    c = Collection.create("m", dim=2, root=tmp_path)
    c.add(["a", "b", "c"], vectors=np.ones((3, 2), np.float32), metadata=[{"l": [1.0]}, {"l": [1]}, {"l": [2]}])
    assert c.ids(where={"l": [1]}) == ["a", "b"]
    c.close()
    (old,) = _parts(tmp_path)
    path = tmp_path / "m" / META_DIR / old
    data = bytearray(path.read_bytes())
    at = data.index(b'"format":%d' % FORMAT_VERSION)
    data[at:at + 10] = b'"format":1'
    data[24:28] = zlib.crc32(bytes(data[32:])).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    c = Collection.open("m", root=tmp_path, readonly=True)
    assert c.check() == {"ok": True, "problems": [], "segments": 1, "items": 3, "deep": True}
    assert c.ids(where={"l": [1.0]}) == ["a", "b"] and _parts(tmp_path) == [old]  # read-only: rebuilt in memory
    c.close()
    c = Collection.open("m", root=tmp_path)
    assert c.ids(where={"l": {"$in": [[1], [2.0]]}}) == ["a", "b", "c"]
    (new,) = _parts(tmp_path)
    assert new != old and load_part(tmp_path / "m" / META_DIR / new).gen == 1
    assert c.check()["ok"]
    c.close()
