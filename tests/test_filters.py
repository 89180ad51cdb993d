"""Metadata filters: one parser, JSON-typed semantics, and every backend (SQLite, PostgreSQL jsonb) agreeing with
the reference evaluator (``filters.matches``) on hundreds of seeded random filters."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab.errors import InputError
from embedlab.store import Collection
from embedlab.store.filters import matches, parse

KEYS = ["tag", "n", "flag", "tags", "obj", 'we"ird.key', "한글", ""]


def _values(rng):
    return [None, True, False, 0, 1, 1.0, 2.5, -3, "a", "b", "1", "true", "", ["a", "b"], ["a"], [1, 2], [],
            {"x": 1}, {"x": 1, "y": [2]}, '["a","b"]', "null", 2 ** 62]


def _random_meta(rng, vals):
    meta = {}
    for k in KEYS:
        if rng.random() < 0.7:
            meta[k] = vals[rng.integers(len(vals))]
    return meta


def _random_filter(rng, vals, depth=0):
    if depth < 2 and rng.random() < 0.25:
        op = "$and" if rng.random() < 0.5 else "$or"
        return {op: [_random_filter(rng, vals, depth + 1) for _ in range(rng.integers(1, 4))]}
    key = KEYS[rng.integers(len(KEYS))]
    scalars = [v for v in vals if not isinstance(v, (list, dict))]
    op = ["eq", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$contains", "$exists"][rng.integers(11)]
    if op == "eq":
        return {key: vals[rng.integers(len(vals))]}
    if op in ("$gt", "$gte", "$lt", "$lte"):
        v = [0, 1, 2.5, -3, "a", "b", "", "1", 2 ** 62][rng.integers(9)]
    elif op in ("$in", "$nin"):
        v = [vals[i] for i in rng.integers(0, len(vals), rng.integers(1, 4))]
    elif op == "$contains":
        v = scalars[rng.integers(len(scalars))]
    elif op == "$exists":
        v = bool(rng.integers(2))
    else:
        v = vals[rng.integers(len(vals))]
    return {key: {op: v}}


def test_every_backend_agrees_with_the_reference_semantics(backend):
    rng = np.random.default_rng(11)
    vals = _values(rng)
    metas = [_random_meta(rng, vals) for _ in range(300)] + [{}]
    c = Collection.create("fz", dim=2, **backend)
    c.add([str(i) for i in range(len(metas))], vectors=np.ones((len(metas), 2), np.float32), metadata=metas)
    checked = nonempty = 0
    for _ in range(600):
        where = _random_filter(rng, vals)
        flt = parse(where)
        want = [str(i) for i, m in enumerate(metas) if matches(flt, m)]
        assert c.ids(where=where) == want, where
        checked += 1
        nonempty += bool(want) and len(want) < len(metas)
    assert checked == 600 and nonempty > 200  # the filters really select, not all-or-nothing


def test_json_types_are_distinct(backend):
    metas = [{"tags": ["a", "b"]}, {"tags": '["a","b"]'}, {"tags": "a"}, {"v": 1}, {"v": True}, {"v": 1.0},
             {"v": "1"}, {"v": None}, {}, {"v": [1]}, {"v": {"k": 1}}]
    c = Collection.create("types", dim=2, **backend)
    c.add([f"m{i}" for i in range(len(metas))], vectors=np.ones((len(metas), 2), np.float32), metadata=metas)
    ids = lambda where: c.ids(where=where)  # noqa: E731
    assert ids({"tags": '["a","b"]'}) == ["m1"]  # a string never equals a list ...
    assert ids({"tags": ["a", "b"]}) == ["m0"]  # ... and a list only the same list
    assert ids({"tags": {"$contains": "a"}}) == ["m0"]  # list membership, not substring, not the string "a"
    assert ids({"v": 1}) == ["m3", "m5"]  # numbers compare as numbers; True is not 1; "1" is not 1
    assert ids({"v": True}) == ["m4"]
    assert ids({"v": "1"}) == ["m6"]
    assert ids({"v": None}) == ["m0", "m1", "m2", "m7", "m8"]  # null matches null and a missing key
    assert ids({"v": {"$exists": True}}) == ["m3", "m4", "m5", "m6", "m7", "m9", "m10"]
    assert ids({"v": {"$eq": {"k": 1}}}) == ["m10"] and ids({"v": [1]}) == ["m9"]
    assert ids({"v": {"$gt": 0}}) == ["m3", "m5"]  # a boolean is not ordered with numbers
    assert ids({"v": {"$gte": "0"}}) == ["m6"]  # strings with strings only
    assert ids({"v": {"$ne": 1}}) == ["m0", "m1", "m2", "m4", "m6", "m7", "m8", "m9", "m10"]
    assert ids({"v": {"$nin": [1, None]}}) == ["m4", "m6", "m9", "m10"]
    assert ids({"$or": [{"v": True}, {"tags": "a"}], "v": {"$exists": True}}) == ["m4"]


@pytest.mark.parametrize("meta_index", ["1", "0"])
def test_lists_and_objects_compare_numbers_as_numbers_at_every_depth(backend, meta_index, monkeypatch):
    # [1] and [1.0] (and 1e16 and 10**16 inside an object) are equal JSON values, as 1 and 1.0 are: the local
    # backend compared their canonical texts (unequal), PostgreSQL's $eq compared jsonb texts (1e16 equal, 1.0 not)
    # and its $in compared jsonb values (all equal), so each answer depended on the backend and the operator
    monkeypatch.setenv("EMBEDLAB_META_INDEX", meta_index)  # the local metadata index, or SQLite's evaluation
    metas = [{"l": [1]}, {"l": [1.0]}, {"l": {"x": 1}}, {"l": {"x": 1.0}}, {"l": [True]}, {"l": [[1.5, 2]]},
             {"l": {"x": [1, {"y": 2.0}]}}, {"l": [-0.0]}, {"l": [0]}, {"l": {"e": 1e16}}, {"l": {"e": 10 ** 16}},
             {"l": [2 ** 53 + 1]}, {"l": [float(2 ** 53)]}, {"l": [2.0 ** 63]}, {"l": ["1"]}, {"l": 1},
             {"f": 2.0 ** 60}, {"f": 2 ** 60 + 14}]
    c = Collection.create("nums", dim=2, **backend)
    c.add([f"m{i}" for i in range(len(metas))], vectors=np.ones((len(metas), 2), np.float32), metadata=metas)
    cases = [
        ({"l": [1]}, ["m0", "m1"]), ({"l": [1.0]}, ["m0", "m1"]), ({"l": {"$eq": {"x": 1}}}, ["m2", "m3"]),
        ({"l": {"$in": [[1.0], {"x": 1.0}]}}, ["m0", "m1", "m2", "m3"]), ({"l": [[1.5, 2.0]]}, ["m5"]),
        ({"l": {"$eq": {"x": [1.0, {"y": 2}]}}}, ["m6"]), ({"l": [0]}, ["m7", "m8"]), ({"l": [-0.0]}, ["m7", "m8"]),
        ({"l": {"$eq": {"e": 10 ** 16}}}, ["m9", "m10"]), ({"l": {"$in": [{"e": 1e16}]}}, ["m9", "m10"]),
        ({"l": [2 ** 53 + 1]}, ["m11"]), ({"l": [2 ** 53]}, ["m12"]), ({"l": [2.0 ** 63]}, ["m13"]),
        ({"l": [True]}, ["m4"]), ({"l": ["1"]}, ["m14"]), ({"l": {"$in": [[1], 1]}}, ["m0", "m1", "m15"]),
        ({"l": {"$nin": [[1], {"x": 1}]}}, [f"m{i}" for i in range(4, len(metas))]),
        # Python writes 2.0 ** 60 as 1.152921504606847e+18, digits of another number than the float's own:
        # compared exactly, 2 ** 60 + 14 lies above it
        ({"f": {"$gt": 2.0 ** 60}}, ["m17"]), ({"f": {"$lt": 2 ** 60 + 14}}, ["m16"]), ({"f": 2 ** 60}, ["m16"]),
        ({"f": {"$in": [2 ** 60 + 14, 1.152921504606847e18]}}, ["m16", "m17"]),  # that float is 2.0 ** 60
    ]
    for where, want in cases:
        assert [str(i) for i, m in enumerate(metas) if matches(parse(where), m)] == [w[1:] for w in want], where
        assert c.ids(where=where) == want, where


def test_keys_may_hold_any_character_and_values_any_unicode(backend):
    metas = [{'a "quoted" key': 1, "dot.ted": "x", "$dollar": 2, "": "empty", "키": "값"}]
    c = Collection.create("keys", dim=2, **backend)
    c.add(["k"], vectors=[[1, 0]], metadata=metas)
    for where in ({'a "quoted" key': 1}, {"dot.ted": "x"}, {"": "empty"}, {"키": "값"},
                  {"$and": [{"$dollar": 2}]}):
        if "$dollar" in str(where):
            with pytest.raises(InputError, match="unknown operator '\\$dollar'"):
                c.ids(where=where)
        else:
            assert c.ids(where=where) == ["k"], where


def _nested_or(depth):
    where = {"a": 1}
    for _ in range(depth):
        where = {"$or": [where]}
    return where


def _nested_list(depth):
    v = 1
    for _ in range(depth):
        v = [v]
    return v


def test_bad_filters_and_metadata_are_refused_up_front(backend):
    c = Collection.create("badf", dim=2, **backend)
    cases = [
        ([("a", 1)], "where must be a non-empty dict"),
        ({}, "where must be a non-empty dict"),
        ({"n": {"$gt": [1]}}, "compares with a number or a string, got a list"),
        ({"n": {"$gt": True}}, "compares with a number or a string, got a boolean"),
        ({"n": {"$in": []}}, "non-empty list"),
        ({"n": {"$exists": 1}}, "must be true or false"),
        ({"n": {"$contains": ["a"]}}, "takes one element value"),
        ({"n": 2 ** 64}, "does not fit in 64 bits"),
        ({"n": float("nan")}, "not a finite number"),
        ({"n": {"$eq": 1, "plain": 2}}, "mixes operators and plain keys"),
        ({"$or": []}, "non-empty list of filters"),
        ({"$nor": [{"a": 1}]}, "unknown operator '\\$nor'"),
        ({1: "a"}, "keys must be strings"),
        ({"n": "\ud800"}, "not valid Unicode"),
        ({"n": "a\0b"}, "NUL character"),
        ({"nul\0key": 1}, "NUL character"),
        ({"n": object()}, "not a JSON value"),
        (_nested_or(40), "more than 32 levels"),
        ({"n": _nested_list(40)}, "nested more than 32 levels"),
    ]
    for where, msg in cases:
        with pytest.raises(InputError, match=msg):
            c.ids(where=where)
        with pytest.raises(InputError, match=msg):
            c.search([1, 0], where=where)
    for meta, msg in (({"big": 2 ** 63}, "does not fit in 64 bits"), ({"s": "\udc80"}, "not valid Unicode"),
                      ({"f": float("inf")}, "not a finite number"), ({"k\0": 1}, "NUL character"),
                      ({"deep": _nested_list(2000)}, "nested more than 32 levels")):
        with pytest.raises(InputError, match=msg):
            c.add(["x"], vectors=[[1, 0]], metadata=[meta])
    assert len(c) == 0
    c.add(["edge"], vectors=[[1, 0]], metadata=[{"n": 2 ** 63 - 1, "m": -(2 ** 63)}])
    assert c.ids(where={"n": 2 ** 63 - 1, "m": {"$lte": -(2 ** 63)}}) == ["edge"]


def test_delete_where_and_ids_where(backend):
    c = Collection.create("delw", dim=2, **backend)
    c.add([f"d{i}" for i in range(6)], vectors=np.ones((6, 2), np.float32),
          metadata=[{"year": 2018 + i, "tags": ["x"] if i % 2 else []} for i in range(6)])
    assert c.ids(where={"year": {"$gte": 2021}}) == ["d3", "d4", "d5"]
    assert c.delete(where={"tags": {"$contains": "x"}}) == 3
    assert c.ids() == ["d0", "d2", "d4"]
    with pytest.raises(InputError, match="exactly one"):
        c.delete(["d0"], where={"year": 2018})


@pytest.mark.parametrize("size", [1_000, 10_000])
def test_filters_of_any_size_are_answered_the_same_on_every_backend(backend, size):
    """A ``$in`` of 1,000 or 10,000 values, and an ``$or`` of as many clauses, are answered (SQLite once said
    "damaged, drop the collection" past ~1,000: its expression-depth limit), with the reference's answer, and so
    are their negations and a search restricted by them."""
    rng = np.random.default_rng(size)
    tags = [f"t{i}" for i in range(3 * size)]
    n = 2_000
    metas = [{"t": tags[int(rng.integers(len(tags)))], "n": int(rng.integers(100)), "x": float(i)} for i in range(n)]
    c = Collection.create("big", dim=2, **backend)
    vecs = rng.normal(size=(n, 2)).astype(np.float32)
    c.add([str(i) for i in range(n)], vectors=vecs, metadata=metas)
    wanted = [tags[int(i)] for i in rng.choice(len(tags), size, replace=False)]
    mixed = wanted[: size // 2] + list(range(size // 2))  # strings and numbers in one list
    chosen, low = set(wanted), set(range(size // 2))
    sel = [str(i) for i, m in enumerate(metas) if m["t"] in chosen]  # the reference, with sets (matches() would
    rest = [str(i) for i, m in enumerate(metas) if m["t"] not in chosen]  # take minutes on 10,000-value lists)
    for where, want in (({"t": {"$in": wanted}}, sel), ({"t": {"$nin": wanted}}, rest),
                        ({"n": {"$in": mixed}}, [str(i) for i, m in enumerate(metas) if m["n"] in low]),
                        ({"$or": [{"t": t} for t in wanted]}, sel),
                        ({"$or": [{"t": t} for t in wanted] + [{"n": {"$gt": 97}}]},
                         [str(i) for i, m in enumerate(metas) if m["t"] in chosen or m["n"] > 97]),
                        ({"$and": [{"t": {"$ne": t}} for t in wanted]}, rest)):
        assert c.ids(where=where) == want, list(where)
    assert sel and rest
    hits = c.search(vecs[0], k=5, where={"t": {"$in": wanted}})
    assert all(metas[int(h.id)]["t"] in set(wanted) for h in hits)


def test_a_filter_too_large_for_one_statement_is_still_answered():
    """A ``$or`` of 17,000 compound clauses (34,000 bound values; SQLite took minutes to prepare and run it) is
    evaluated in Python over the rows by the local backend: the same answer, in about a second, never "damaged"."""
    metas = [{"t": f"t{i % 50}", "n": i % 7} for i in range(60)]
    c = Collection.create("huge", dim=2)
    c.add([str(i) for i in range(60)], vectors=np.ones((60, 2), np.float32), metadata=metas)
    where = {"$or": [{"t": f"t{i}", "n": {"$gte": i % 7}} for i in range(17_000)]}  # 34,000 bound values
    flt = parse(where)
    assert c.ids(where=where) == [str(i) for i, m in enumerate(metas) if matches(flt, m)]
