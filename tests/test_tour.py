"""`embedlab tour`, the README's first command: real outcomes of each of its four parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from embedlab.cli import main

# Optional dependencies the README's first command must not need (pyarrow may pull pandas in when present).
EXTRAS = ("torch", "transformers", "sentence_transformers", "matplotlib", "plotly", "umap", "gensim", "fastapi",
          "uvicorn", "PIL", "librosa", "soundfile", "onnxruntime", "skimage", "kiwipiepy")
_SCRIPT = """
import json, sys
from embedlab.cli import main
try:
    main(["tour", "--json"])
except SystemExit as exc:
    code = exc.code
sys.stderr.write("\\nRESULT " + json.dumps({"code": code, "loaded": [m for m in EXTRAS if m in sys.modules]}))
""".replace("EXTRAS", repr(EXTRAS))


@pytest.fixture(scope="module")
def tour_result(tmp_path_factory):
    """One run of `embedlab tour --json` in a fresh process (shared by the module: it loads two models)."""
    home = tmp_path_factory.mktemp("tour-home")
    env = {**os.environ, "EMBEDLAB_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    status = json.loads(proc.stderr.rsplit("RESULT ", 1)[-1]) if "RESULT " in proc.stderr else {}
    assert status.get("code") == 0, proc.stderr[-3000:]
    return home, json.loads(proc.stdout), status


def test_tour_needs_only_the_core_install(tour_result):
    _, _, status = tour_result
    assert status["loaded"] == []


def test_index_part(tour_result):
    home, r, _ = tour_result
    ix = r["index"]
    assert (ix["documents"], ix["added"], ix["count"], ix["encoder"]) == (20, 20, 20, "use-multilingual")
    assert ix["path"].startswith(str(home))


def _top(r, query, n):
    return [h["id"] for h in next(q for q in r["search"] if q["query"] == query)["hits"][:n]]


def test_korean_queries_find_the_right_english_documents(tour_result):
    _, r, _ = tour_result
    assert set(_top(r, "빠른 운송 수단", 2)) == {"airplane", "high-speed-train"}
    assert set(_top(r, "차량", 2)) == {"car", "suv"}
    assert _top(r, "a sweet tropical fruit", 1) == ["mango"]
    assert _top(r, "an animal that purrs", 1) == ["cat"]
    for q in r["search"]:
        scores = [h["score"] for h in q["hits"]]
        assert scores == sorted(scores, reverse=True) and len(scores) == 3


def test_glove_arithmetic(tour_result):
    _, r, _ = tour_result
    answers = {row["expression"]: row["answers"] for row in r["arithmetic"]["results"]}
    assert answers["king - man + woman"][0]["word"] == "queen"
    assert answers["paris - france + italy"][0]["word"] == "rome"
    assert answers["king - man + woman"][0]["score"] > answers["king - man + woman"][1]["score"]


def test_metrics_agree_on_unit_vectors_and_not_on_raw(tour_result):
    _, r, _ = tour_result
    m = r["metrics"]
    for part in ("words", "sentences"):
        d = m[part]
        assert d["unit_identical"] is True and d["raw_identical"] is False
        assert d["unit"]["cosine"]["ranking"] == d["raw"]["cosine"]["ranking"]  # cosine ignores length
    s = m["sentences"]
    # raw dot product picks the longest sentence, raw Euclidean the shortest; cosine picks the right one
    longest = max(s["norms"], key=s["norms"].get)
    assert s["raw"]["dot"]["ranking"][0] == longest == "long history text"
    assert s["raw"]["l2"]["ranking"][-1] == longest
    assert s["unit"]["cosine"]["ranking"][0] == "bullet train"
    assert m["words"]["raw"]["dot"]["ranking"] != m["words"]["unit"]["dot"]["ranking"]
    assert m["collection_norms"]["min"] == pytest.approx(1.0, abs=1e-3)
    assert m["collection_norms"]["max"] == pytest.approx(1.0, abs=1e-3)


def test_rerun_is_incremental_and_human_output_renders(tour_result, capsys, use_encoder, glove):
    home, _, _ = tour_result
    with pytest.raises(SystemExit) as exc:
        main(["--home", str(home), "tour"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "20 unchanged" in out
    for text in ("1. Index", "2. Search", "빠른 운송 수단", "high-speed-train", "queen", "rome", "4. Cosine",
                 "identical rankings = True"):
        assert text in out
