"""WEAT, direct bias and hard debias: exact math on small data, WEFE agreement on GloVe, error messages."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from embedlab.analysis import bias
from embedlab.errors import InputError
from embedlab.vectors import Vectors


def _toy() -> Vectors:
    rng = np.random.default_rng(0)
    words = [f"x{i}" for i in range(4)] + [f"y{i}" for i in range(4)] + [f"a{i}" for i in range(3)] + [f"b{i}" for i in range(3)]
    return Vectors(words, rng.normal(size=(len(words), 6)).astype(np.float32))


def test_weat_matches_the_definition_and_exact_p_value():
    v = _toy()
    X, Y, A, B = ([f"{p}{i}" for i in range(n)] for p, n in (("x", 4), ("y", 4), ("a", 3), ("b", 3)))
    r = bias.weat(v, [X, Y], [A, B])
    unit = {w: v[w] / np.linalg.norm(v[w]) for w in v.keys}
    s = {w: np.mean([unit[w] @ unit[a] for a in A]) - np.mean([unit[w] @ unit[b] for b in B]) for w in X + Y}
    sx, sy = np.array([s[w] for w in X]), np.array([s[w] for w in Y])
    allw = np.concatenate([sx, sy])
    assert r.effect_size == pytest.approx((sx.mean() - sy.mean()) / allw.std(), abs=1e-6)  # float32 inputs
    assert r.statistic == pytest.approx(sx.sum() - sy.sum(), abs=1e-6)
    # C(8, 4) = 70 partitions are enumerated: the p-value is exact
    stats = [sum(allw[list(c)]) - (allw.sum() - sum(allw[list(c)])) for c in itertools.combinations(range(8), 4)]
    assert r.exact_p and r.permutations == 70
    assert r.p_value == pytest.approx(np.mean(np.array(stats) >= r.statistic - 1e-6))  # the identity partition counts


def test_weat_sampled_p_value_is_seeded():
    v = _toy()
    X, Y, A, B = ([f"{p}{i}" for i in range(n)] for p, n in (("x", 4), ("y", 4), ("a", 3), ("b", 3)))
    r1 = bias.weat(v, [X, Y], [A, B], permutations=20, seed=3)
    r2 = bias.weat(v, [X, Y], [A, B], permutations=20, seed=3)
    assert not r1.exact_p and r1.permutations == 20 and r1.p_value == r2.p_value
    assert 1 / 21 <= r1.p_value <= 1.0


def test_oov_words_are_reported_and_limited():
    v = _toy()
    r = bias.weat(v, [["x0", "x1", "x2", "x3", "nope"], ["y0", "y1", "y2", "y3"]], [["a0", "a1"], ["b0", "b1"]])
    assert r.missing["X"] == ["nope"] and r.as_dict()["missing_count"] == 1
    with pytest.raises(InputError, match=r"word set X lost 2 of 3 words.*max_oov=20%"):
        bias.weat(v, [["x0", "zz1", "zz2"], ["y0"]], [["a0"], ["b0"]])
    with pytest.raises(InputError, match="word set Y is empty"):
        bias.weat(v, [["x0"], []], [["a0"], ["b0"]])
    with pytest.raises(InputError, match="exactly two target sets"):
        bias.weat(v, [["x0"]], [["a0"], ["b0"]])


@pytest.fixture(scope="module")
def glove_small(glove):
    """GloVe restricted to the 50k most frequent words plus every word the bias lists need."""
    lists = bias.load_word_lists()
    extra = set(lists["gender_specific"]) | set(lists["professions"])
    for pair in lists["definitional_pairs"] + lists["equalize_pairs"]:
        extra.update(pair)
    for t in lists["weat"].values():
        for s in t["targets"] + t["attributes"]:
            extra.update(s)
    keys = glove.keys[:50_000] + sorted(w for w in extra if w in glove and glove.index(w) >= 50_000)
    return Vectors(keys, glove.matrix[[glove.index(k) for k in keys]])


def test_weat_effect_sizes_agree_with_wefe(glove_small):
    pytest.importorskip("wefe")
    from gensim.models import KeyedVectors
    from wefe.metrics import WEAT
    from wefe.query import Query
    from wefe.word_embedding_model import WordEmbeddingModel

    kv = KeyedVectors(vector_size=glove_small.dim)
    kv.add_vectors(glove_small.keys, np.asarray(glove_small.matrix))
    model = WordEmbeddingModel(kv, "glove-50k")
    lists = bias.load_word_lists()
    for name, t in lists["weat"].items():
        ours = bias.weat(glove_small, t["targets"], t["attributes"], permutations=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = WEAT().run_query(Query(t["targets"], t["attributes"]), model, return_effect_size=True)
        assert ours.effect_size == pytest.approx(theirs["effect_size"], abs=1e-3), name


def test_hard_debias_neutralises_and_equalises(glove_small):
    hd = bias.HardDebias().fit(glove_small)
    g = hd.direction_
    assert np.linalg.norm(g) == pytest.approx(1.0, abs=1e-5)
    assert 0.3 < hd.explained_variance_ratio_ < 1.0
    before = bias.projections(glove_small, g, ["nurse", "homemaker", "engineer"])
    assert before["nurse"] > 0.1 and before["homemaker"] > 0.1 and before["engineer"] < -0.1  # + = "woman" side
    after = hd.transform(glove_small)
    np.testing.assert_allclose(np.linalg.norm(after.matrix, axis=1), 1.0, atol=1e-5)
    for w, p in bias.projections(after, g, ["doctor", "nurse", "engineer", "homemaker"]).items():
        assert abs(p) < 1e-5, w
    assert bias.direct_bias(after, g, ["doctor", "nurse", "engineer"]) < 1e-5
    # equalised pairs: mirror images along g, equally close to every neutral word
    q, k, d = after["queen"], after["king"], after["doctor"]
    assert q @ g == pytest.approx(-(k @ g), abs=1e-5)
    assert q @ d == pytest.approx(k @ d, abs=1e-5)
    # gender-specific words that are not in an equalise pair keep their direction
    w0 = glove_small["womb"] / np.linalg.norm(glove_small["womb"])
    assert after["womb"] @ w0 == pytest.approx(1.0, abs=1e-5)


def test_hard_debias_errors(glove_small):
    with pytest.raises(InputError, match="not fitted"):
        bias.HardDebias().transform(glove_small)
    with pytest.raises(InputError, match="only 0 definitional pair"):
        bias.HardDebias(definitional_pairs=[["qqq1", "qqq2"]]).fit(glove_small)
    with pytest.raises(InputError, match="two words each"):
        bias.HardDebias(definitional_pairs=[["a", "b", "c"]]).fit(glove_small)


def test_bias_report_before_and_after(glove_small):
    rep = bias.bias_report(glove_small, permutations=200, analogy_restrict=30_000)
    assert set(rep) >= {"before", "after", "direction"}
    for side in ("before", "after"):
        assert set(rep[side]) >= {"weat_effect_size", "weat", "direct_bias", "projections", "analogy_accuracy"}
    assert rep["before"]["weat_effect_size"] > 1.0  # career/family vs male/female names: strongly biased
    assert rep["after"]["direct_bias"] < 1e-5 < rep["before"]["direct_bias"]
    assert abs(rep["after"]["weat"]["science_arts"]["effect_size"]) < abs(rep["before"]["weat"]["science_arts"]["effect_size"])
    with pytest.raises(InputError, match="unknown WEAT test"):
        bias.bias_report(glove_small, tests=["nope"])


def test_cli_bias_json_shape(capsys):
    import json

    from embedlab.cli import main

    with pytest.raises(SystemExit) as e:
        main(["bias", "--json", "--permutations", "200", "--test", "science_arts"])
    assert e.value.code == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["vectors"] == "glove-6b-50d" and rep["weat_test"] == "science_arts"
    for side in ("before", "after"):
        assert {"weat_effect_size", "analogy_accuracy", "direct_bias", "projections"} <= set(rep[side])
    assert set(rep["before"]["projections"]) >= {"doctor", "nurse", "engineer", "homemaker"}
    assert 0.3 < rep["before"]["analogy_accuracy"] < 0.9
    assert abs(rep["after"]["analogy_accuracy"] - rep["before"]["analogy_accuracy"]) < 0.05
    with pytest.raises(SystemExit) as e:
        main(["bias", "--test", "nope"])
    assert e.value.code == 2


def _gendered() -> Vectors:
    """Six curated definitional words, two gender-specific words outside every pair and two neutral ones."""
    rng = np.random.default_rng(5)
    words = ["woman", "man", "girl", "boy", "she", "he", "ballerina", "beard", "nurse", "doctor"]
    return Vectors(words, rng.normal(size=(len(words), 8)).astype(np.float32))


@pytest.mark.parametrize("kwargs, message", [
    (dict(permutations=0), "permutations must be a positive integer, got 0"),
    (dict(permutations=True), r"permutations must be a positive integer, got True \(bool\)"),
    (dict(seed=-2), "seed must be a non-negative integer, got -2"),
    (dict(max_oov=1.5), r"max_oov must be a number in \[0, 1\], got 1.5"),
    (dict(max_oov=float("nan")), r"max_oov must be a number in \[0, 1\], got nan"),
    (dict(lowercase_fallback="no"), r"lowercase_fallback must be True or False, got 'no' \(str\)"),
    (dict(targets="xy"), "exactly two target sets"),
    (dict(targets=["x0 x1 x2", ["y0"]]), "word set X must be a list of strings, got str 'x0 x1 x2'"),
    (dict(attributes=[["a0", 7], ["b0"]]), "word set A must be a list of strings; it holds int 7"),
])
def test_weat_checks_its_parameters(kwargs, message):
    args = dict(vectors=_toy(), targets=[["x0", "x1"], ["y0", "y1"]], attributes=[["a0"], ["b0"]]) | kwargs
    with pytest.raises(InputError, match=message):
        bias.weat(**args)


def test_direction_measures_check_the_direction_and_c():
    from embedlab.errors import DimensionError, NonFiniteError

    v = _toy()
    g = np.zeros(6, dtype=np.float32)
    g[0] = 2.0
    unit = v.matrix / np.linalg.norm(v.matrix, axis=1, keepdims=True)
    assert bias.direct_bias(v, g, ["x0", "y0"], c=2) == pytest.approx(np.mean(unit[[0, 4], 0] ** 2), rel=1e-5)
    flat = Vectors(["p", "q"], np.array([[0, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]], dtype=np.float32))
    assert bias.direct_bias(flat, g, ["p", "q"], c=0) == 0.5  # c = 0 counts words with any component: q only
    with pytest.raises(InputError, match="c must be a non-negative number, got -1.0; the strictness exponent"):
        bias.direct_bias(v, g, ["x0"], c=-1)
    with pytest.raises(InputError, match="the bias direction is a zero vector"):
        bias.projections(v, np.zeros(6), ["x0"])
    with pytest.raises(DimensionError, match=r"one vector of dimension 6, got shape \(5,\)"):
        bias.projections(v, np.ones(5), ["x0"])
    with pytest.raises(NonFiniteError, match="the bias direction contain NaN"):
        bias.projections(v, np.full(6, np.nan), ["x0"])
    with pytest.raises(InputError, match="words must be a list of strings, got str"):
        bias.projections(v, g, "x0")
    with pytest.raises(InputError, match="need a Vectors table"):
        bias.projections(v.matrix, g, ["x0"])


def test_hard_debias_takes_explicit_empty_lists_as_given():
    v = _gendered()
    pairs = [["woman", "man"], ["girl", "boy"], ["she", "he"]]
    plain = bias.HardDebias(definitional_pairs=pairs).fit(v)
    after = plain.transform(v)
    assert ("woman", "man") in plain.equalized_
    g = plain.direction_
    np.testing.assert_allclose(after["beard"], v["beard"] / np.linalg.norm(v["beard"]), atol=1e-6)  # kept
    assert abs(float(after["beard"] @ g)) > 0.01
    # [] means none: nothing equalised, no word spared from neutralising (it used to mean "the curated list")
    bare = bias.HardDebias(definitional_pairs=pairs, equalize_pairs=[], gender_specific=[]).fit(v)
    out = bare.transform(v)
    assert bare.equalized_ == []
    for w in v.keys:
        assert abs(float(out[w] @ g)) < 1e-5, w
    with pytest.raises(InputError, match="only 0 definitional pair"):
        bias.HardDebias(definitional_pairs=[]).fit(v)
    with pytest.raises(InputError, match="each of the definitional pairs must be a list of strings, got str 'ab'"):
        bias.HardDebias(definitional_pairs=["ab", "cd"]).fit(v)
    with pytest.raises(InputError, match="gender_specific must be a list of strings, got str"):
        bias.HardDebias(definitional_pairs=pairs, gender_specific="beard").fit(v)
    with pytest.raises(InputError, match="lowercase_fallback must be True or False"):
        bias.HardDebias(lowercase_fallback=1).fit(v)


@pytest.mark.parametrize("kwargs, message", [
    (dict(tests="career_family"), "tests must be a list of strings, got str"),
    (dict(tests=[]), "tests is empty"),
    (dict(words="nurse"), "words must be a list of strings, got str"),
    (dict(permutations=0), "permutations must be a positive integer, got 0"),
    (dict(seed=1.0), r"seed must be a non-negative integer, got 1.0 \(float\)"),
    (dict(analogy_restrict=0), "analogy_restrict must be a positive integer, got 0"),
])
def test_bias_report_checks_everything_before_debiasing(kwargs, message, monkeypatch):
    monkeypatch.setattr(bias.HardDebias, "fit", lambda *a: pytest.fail("debiased before checking"))
    with pytest.raises(InputError, match=message):
        bias.bias_report(_gendered(), **kwargs)


def test_cli_bias_refuses_bad_settings_before_loading_vectors(capsys, monkeypatch):
    from embedlab.cli import main
    from embedlab.io import glove

    monkeypatch.setattr(glove, "load_glove", lambda *a, **k: pytest.fail("vectors loaded before checking"))
    for args, message in ((["--permutations", "0"], "permutations must be a positive integer, got 0"),
                          (["--seed", "-1"], "seed must be a non-negative integer, got -1"),
                          (["--test", "nope"], "unknown WEAT test(s) ['nope']")):
        with pytest.raises(SystemExit) as e:
            main(["bias", *args])
        err = " ".join(capsys.readouterr().err.split())
        assert e.value.code == 2 and message in err and "Traceback" not in err
