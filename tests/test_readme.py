"""The README's Python tour runs as written and prints what it claims."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), flags=re.S)
    assert blocks, "the README has no python example"
    return blocks[0]


@pytest.mark.slow
def test_readme_python_tour_runs(tmp_path, monkeypatch, use_encoder):
    monkeypatch.chdir(tmp_path)
    words = "the quick brown fox jumps over the lazy dog while a cat sleeps on the warm mat".split()
    (tmp_path / "corpus.txt").write_text("\n".join(" ".join(words[i:] + words[:i]) for i in range(len(words))) * 20)
    code = _python_block()
    ns: dict = {}
    exec(compile(code, str(README), "exec"), ns)
    assert ns["glove"].arithmetic("king - man + woman", topn=1)[0][0] == "queen"
    assert ns["docs"].search("빠른 운송 수단", k=1)[0].id == "t1"
    hits = ns["embedlab"].hybrid_search(ns["docs"], "KTX 고속열차", k=2)
    assert {h.id for h in hits} == {"t1", "c1"}
    assert (tmp_path / "w2v.txt").read_text().split("\n", 1)[0] == f"{len(ns['model'].wv)} 100"
    # the commented results in the README are the real ones
    assert "# [('queen', 0.852)]" in code and "# [('rome', 0.847)]" in code
    assert round(ns["glove"].arithmetic("king - man + woman", topn=1)[0][1], 3) == 0.852
    rome = ns["glove"].most_similar(positive=["paris", "italy"], negative=["france"], topn=1)[0]
    assert rome[0] == "rome" and round(rome[1], 3) == 0.847
