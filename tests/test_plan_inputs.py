"""`embedlab plan` refuses what building the index refuses (with the index's own message, exit 2), leaves out only
the impossible pairs of its default table, caps the HNSW walk at the rows there are, and `embedlab reindex
--encoder` refuses index options it would otherwise ignore."""

from __future__ import annotations

import json

import pytest
from test_plan import FAKE, fake_constants, run_cli  # noqa: F401  (fake_constants: a fixture)

from embedlab.errors import InputError
from embedlab.index import make_index
from embedlab.index.plan import check_plan, estimate, plan

BAD = [  # CLI arguments after `plan`, and the message the index (or its training) gives
    (["-n", "1000", "-d", "384", "--index", "exact", "--precision", "int8", "--rescore", "0"],
     "rescore must be an integer >= 1"),
    (["-n", "1000", "-d", "384", "--rescore", "-1"], "rescore must be an integer >= 1"),
    (["-n", "1000", "-d", "384", "--precision", "float32", "--rescore", "4"], "rescore applies to compressed codes"),
    (["-n", "1000", "-d", "384", "--metric", "hamming"], "unknown metric 'hamming'"),
    (["-n", "1000", "-d", "384", "--M", "0"], "M must be >= 1, got 0"),
    (["-n", "1000", "-d", "384", "--index", "hnsw", "--ef-search", "0"], "ef_search must be >= 1, got 0"),
    (["-n", "100000", "-d", "384", "--nprobe", "0"], "nprobe must be an integer >= 1, got 0"),
    (["-n", "100000", "-d", "384", "--nlist", "0"], "nlist must be an integer >= 1, got 0"),
    (["-n", "100000", "-d", "384", "--pq", "7"], "m=7 must divide the dimension 384"),
    (["-n", "100000", "-d", "384", "--nprobe", "2000", "--nlist", "10"], "--nprobe 2000 exceeds --nlist 10"),
    (["-n", "1000", "-d", "384", "--nlist", "5000"],
     "an IVF index with nlist=5000 needs at least 5000 training vectors .* got 1000"),
    (["-n", "1000", "-d", "384", "--index", "ivf"], "an IVF index with nlist=1024 needs at least 1024 training"),
    (["-n", "100000", "-d", "384", "--pq", "16", "--nlist", "64", "-n", "200"],
     "needs at least 256 training vectors \\(one per list and 2\\^nbits = 256 for the PQ codebooks"),
    (["-n", "1000", "-d", "384", "--precision", "binary", "--metric", "l2"], "binary precision .* not l2"),
    (["-n", "100000", "-d", "384", "--index", "ivf", "--precision", "binary"],
     "an IVF index holds float32, float16, int8 or PQ codes, not binary"),
    (["-n", "100000", "-d", "384", "--index", "ivf", "--pq", "16", "--precision", "int8"],
     "m=16 stores product-quantised codes"),
    (["-n", "1000", "-d", "384", "--index", "exact", "--M", "16"], "M does not apply to exact indexes"),
    (["-n", "1000", "-d", "384", "--index", "annoy"], "unknown index kind 'annoy'"),
    (["-n", "1000", "-d", "384", "--precision", "int4"], "unknown precision 'int4'"),
    (["-n", "0", "-d", "384"], "count must be a positive integer, got 0"),
    (["-n", "10", "-d", "0"], "dim must be a positive integer, got 0"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_plan_refuses_what_the_index_refuses(capsys, fake_constants, args, message):  # noqa: F811
    code, out, err = run_cli(capsys, "plan", *args)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    import re

    assert re.search(message, err), err


@pytest.mark.parametrize("args,message", BAD[:2] + BAD[3:5] + BAD[8:9] + BAD[13:15])
def test_plan_messages_are_the_index_layers_own(args, message):
    """The same settings given to make_index raise the same message (the plan validates through the index)."""
    opts = dict(zip(args[::2], args[1::2], strict=True))
    kind = opts.get("--index", "ivf" if "--pq" in opts else "hnsw" if "--M" in opts else "exact")
    params = {"rescore": int(opts["--rescore"])} if "--rescore" in opts else {}
    if "--M" in opts:
        params["M"] = int(opts["--M"])
    if "--pq" in opts:
        params["m"] = int(opts["--pq"])
    if opts.get("--precision", "float32") != "float32":
        params["precision"] = opts["--precision"]
    elif "--rescore" in opts:
        params["precision"] = "int8"
    with pytest.raises(InputError, match=message):
        make_index(kind, int(opts["-d"]), opts.get("--metric", "cosine"), **params)


def test_bad_settings_are_refused_before_the_machine_is_measured(capsys, monkeypatch):
    from embedlab.index import plan as plan_mod

    monkeypatch.setattr(plan_mod, "constants", lambda *a, **k: pytest.fail("measured the machine for bad input"))
    code, out, err = run_cli(capsys, "plan", "-n", "1000", "-d", "384", "--M", "0")
    assert code == 2 and "M must be >= 1" in err


def test_the_default_table_leaves_out_only_impossible_pairs(capsys, fake_constants):  # noqa: F811
    code, out, err = run_cli(capsys, "plan", "-n", "1000", "-d", "384", "--json")
    assert code == 0, err
    got = {(e["kind"], e["precision"]) for e in json.loads(out)["estimates"]}
    # 1,000 rows cannot train the default 1,024 lists: IVF is left out of the default table
    assert got == {(k, p) for k in ("exact", "hnsw") for p in ("float32", "float16", "int8", "binary")}
    code, out, err = run_cli(capsys, "plan", "-n", "100000", "-d", "384", "--metric", "l2", "--json")
    got = {(e["kind"], e["precision"]) for e in json.loads(out)["estimates"]}
    assert code == 0 and got == {(k, p) for k in ("exact", "hnsw", "ivf") for p in ("float32", "float16", "int8")}
    code, out, err = run_cli(capsys, "plan", "-n", "100000", "-d", "384", "--precision", "binary", "--json")
    got = {(e["kind"], e["precision"]) for e in json.loads(out)["estimates"]}
    assert code == 0 and got == {("exact", "binary"), ("hnsw", "binary")}
    code, out, err = run_cli(capsys, "plan", "-n", "100000", "-d", "384", "--index", "ivf", "--json")
    got = {(e["kind"], e["precision"]) for e in json.loads(out)["estimates"]}
    assert code == 0 and got == {("ivf", p) for p in ("float32", "float16", "int8")}
    # a PQ size: IVF-PQ (float32 rows, rescored) only, exact and HNSW unchanged
    code, out, err = run_cli(capsys, "plan", "-n", "100000", "-d", "384", "--index", "ivf", "--pq", "16", "--json")
    rows = json.loads(out)["estimates"]
    assert code == 0 and [(e["kind"], e["precision"], e["params"]["m"], e["params"]["rescore"]) for e in rows] == [
        ("ivf", "float32", 16, 4)]


def test_rescore_is_shown_as_given():
    rows = plan(100_000, 384, ("hnsw",), ("int8",), consts=FAKE, rescore=2)
    assert [e.params["rescore"] for e in rows] == [2]
    rows = plan(100_000, 384, ("exact",), consts=FAKE, rescore=8)  # float32 rows of a default list: no rescore
    assert [(e.precision, e.params.get("rescore")) for e in rows] == [
        ("float32", None), ("float16", 8), ("int8", 8), ("binary", 8)]
    with pytest.raises(InputError, match="rescore must be an integer >= 1"):
        estimate(1000, 64, "exact", "int8", rescore=0, consts=FAKE)
    with pytest.raises(InputError, match="nprobe=64 exceeds nlist=8"):
        check_plan(1000, 64, ("ivf",), nlist=8, nprobe=64)


def test_hnsw_walk_is_capped_at_the_rows_there_are():
    """A query evaluates at most n distances and an insertion at most the rows present ((n - 1) / 2 on average):
    at 1,000 rows M 16, ef 64 would be 1.5 · 64 · 16 = 1,536 distances, capped at 1,000; an insertion at efC 2,000
    would be 2,000 · (1 + 0.05 · ln 1000) = 2,691, capped at 499.5."""
    c, n, d = FAKE, 1000, 128
    h = estimate(n, d, "hnsw", "float32", "dot", consts=c, M=16, ef_construction=2000, ef_search=64)
    dist = d * c.f32_dim_s
    assert h.query_s == pytest.approx(c.call_s + n * (dist + c.hnsw_node_s), rel=1e-12)
    assert h.build_s == pytest.approx(n * (n - 1) / 2 * (dist + c.hnsw_build_node_s) + h.resident_bytes
                                      * c.write_byte_s, rel=1e-12)
    # it grows with n until the walk's own length, then stays
    small = estimate(200, d, "hnsw", "float32", "dot", consts=c, M=16, ef_search=64).query_s
    big = estimate(10_000_000, d, "hnsw", "float32", "dot", consts=c, M=16, ef_search=64).query_s
    mid = estimate(100_000, d, "hnsw", "float32", "dot", consts=c, M=16, ef_search=64).query_s
    assert small < h.query_s < mid == pytest.approx(big, rel=1e-12)


def test_reindex_with_encoder_refuses_index_options(capsys, tmp_path):
    code, out, err = run_cli(capsys, "reindex", "docs", "--encoder", tmp_path / "enc", "--index", "hnsw",
                             "--precision", "int8")
    assert code == 2
    assert "--index, --precision cannot be combined with --encoder" in err
    assert "embedlab reindex docs --index hnsw --precision int8" in err
    code, out, err = run_cli(capsys, "reindex", "docs", "-e", "minilm", "--M", "8", "--rescore", "2")
    assert code == 2 and "--rescore, --M cannot be combined with --encoder" in err
