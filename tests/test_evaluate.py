"""Shared evaluation: analogy accuracy and word-pair correlation equal gensim's on the same vectors."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.errors import CorruptFileError, InputError
from embedlab.evaluate import evaluate_analogies, evaluate_word_pairs, test_file
from embedlab.evaluate.analogy import read_analogies, top_k_rows


@pytest.fixture(scope="module")
def glove_kv(glove):
    """gensim KeyedVectors built from the very same GloVe matrix (first 30k rows are all evaluation needs)."""
    km = pytest.importorskip("gensim.models")
    kv = km.KeyedVectors(glove.dim)
    kv.add_vectors(glove.keys[:30000], np.asarray(glove.matrix[:30000]))
    return kv


@pytest.fixture(scope="module")
def sampled_questions(tmp_path_factory):
    """Every 40th Google question of each section (495 questions): gensim answers them in seconds."""
    out = tmp_path_factory.mktemp("q") / "sample.txt"
    lines = []
    for name, questions in read_analogies(test_file("questions-words")):
        lines.append(f": {name}")
        lines += [" ".join(q) for q in questions[::40]]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _compare(ours, gensim_score, gensim_sections):
    assert ours.accuracy == pytest.approx(gensim_score, abs=1e-12)
    total = gensim_sections[-1]
    assert ours.correct == len(total["correct"])
    assert ours.evaluated == len(total["correct"]) + len(total["incorrect"])
    assert list(ours.sections) == [s["section"] for s in gensim_sections[:-1]]  # file order
    for s in gensim_sections[:-1]:
        mine = ours.sections[s["section"]]
        assert (mine.correct, mine.evaluated) == (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])), s["section"]


def test_analogies_equal_gensim_on_sample(glove, glove_kv, sampled_questions):
    ours = evaluate_analogies(glove, sampled_questions, restrict_vocab=30000)
    score, sections = glove_kv.evaluate_word_analogies(str(sampled_questions), restrict_vocab=30000)
    _compare(ours, score, sections)
    assert ours.total_questions == sum(len(q) for _, q in read_analogies(sampled_questions))


def test_google_analogies_glove_numbers(glove):
    # gensim needs minutes for the full set, so the suite compares answers on a sample (above); these totals equal
    # what gensim 4.4's evaluate_word_analogies reports for GloVe 6B-50d on all 19,544 questions.
    r = evaluate_analogies(glove)  # restrict_vocab=30000, 3CosAdd
    assert r.total_questions == 19544 and r.evaluated == 14877 and r.correct == 7393
    assert r.coverage == pytest.approx(14877 / 19544)
    assert r.accuracy == pytest.approx(0.49694, abs=1e-5)
    assert len(r.sections) == 14 and next(iter(r.sections)) == "capital-common-countries"
    assert (r.semantic.correct, r.semantic.evaluated) == (3053, 6002)
    assert (r.syntactic.correct, r.syntactic.evaluated) == (4340, 8875)
    assert r.sections["gram6-nationality-adjective"].accuracy > 0.9
    d = r.to_dict()
    assert d["sections"]["family"]["evaluated"] == 342 and "accuracy" in d["semantic"]


def test_cosmul_analogies(glove, sampled_questions):
    add = evaluate_analogies(glove, sampled_questions, method="3cosadd")
    mul = evaluate_analogies(glove, sampled_questions, method="3cosmul")
    assert mul.evaluated == add.evaluated
    assert 0.3 < mul.accuracy < 0.7 and mul.accuracy != add.accuracy


def test_word_pairs_equal_gensim(glove, glove_kv):
    for name in ("wordsim353", "simlex999"):
        ours = evaluate_word_pairs(glove, name, restrict_vocab=30000)
        pearson, spearman, oov = glove_kv.evaluate_word_pairs(str(test_file(name)), restrict_vocab=30000)
        assert ours.spearman == pytest.approx(spearman.statistic, abs=1e-6)
        assert ours.pearson == pytest.approx(pearson.statistic, abs=1e-6)
        assert 100 * ours.oov_ratio == pytest.approx(oov, abs=1e-9)  # gensim reports percent
    r = evaluate_word_pairs(glove)  # WordSim-353 on all 400k words
    assert r.pairs == 353 and r.evaluated == 353 and r.oov_ratio == 0.0
    assert r.spearman == pytest.approx(0.50332, abs=1e-4)


def test_case_insensitive_uses_most_frequent_variant(tmp_path):
    rng = np.random.default_rng(0)
    m = rng.standard_normal((6, 8)).astype(np.float32)
    v = Vectors(["a", "b", "c", "d", "A", "B"], m)
    q = tmp_path / "q.txt"
    q.write_text(": s\nA B C D\nx y z w\n", encoding="utf-8")
    r = evaluate_analogies(v, q, restrict_vocab=None)
    assert r.total_questions == 2 and r.evaluated == 1 and r.coverage == 0.5
    assert evaluate_analogies(v, q, restrict_vocab=None, case_insensitive=False).evaluated == 0
    assert r.semantic is None  # not the Google file's semantic/syntactic layout


def test_bad_inputs(glove, tmp_path):
    q = tmp_path / "q.txt"
    q.write_text("a b c d\n", encoding="utf-8")
    with pytest.raises(CorruptFileError, match="line 1 comes before any ': section' header"):
        evaluate_analogies(glove, q)
    with pytest.raises(InputError, match="unknown benchmark 'nope'"):
        test_file("nope")
    with pytest.raises(InputError, match="unknown method"):
        evaluate_analogies(glove, method="cos")
    p = tmp_path / "pairs.tsv"
    p.write_text("qqqzx\tzzzqx\t3.0\n", encoding="utf-8")
    with pytest.raises(InputError, match="no pair of .* has both words in the vocabulary"):
        evaluate_word_pairs(glove, p)


def test_datasets_found_without_importing_gensim():
    import subprocess
    import sys

    code = ("import sys; from embedlab.evaluate import test_file; p = test_file('questions-words.txt'); "
            "assert p.is_file() and 'gensim' in p.parts; assert 'gensim' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "ok", out.stderr


def test_top_k_rows_matches_full_sort():
    rng = np.random.default_rng(1)
    s = rng.standard_normal((50, 5000)).astype(np.float32)
    s[:, :3] = -np.inf
    np.testing.assert_array_equal(top_k_rows(s, 5), np.argsort(-s, axis=1, kind="stable")[:, :5])
    small = rng.standard_normal((4, 30)).astype(np.float32)
    np.testing.assert_array_equal(top_k_rows(small, 5), np.argsort(-small, axis=1)[:, :5])
