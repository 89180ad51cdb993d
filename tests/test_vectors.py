"""Vectors: lookups, most_similar (3CosAdd / 3CosMul) against gensim, arithmetic, the expression parser."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.arithmetic import format_expression, parse_expression
from embedlab.errors import DimensionError, InputError, NonFiniteError, UnknownKeyError


@pytest.fixture
def small():
    rng = np.random.default_rng(7)
    keys = [f"w{i}" for i in range(200)]
    return Vectors(keys, rng.standard_normal((200, 16)).astype(np.float32))


@pytest.fixture(scope="module")
def gensim_kv():
    gm = pytest.importorskip("gensim.models")
    rng = np.random.default_rng(7)
    kv = gm.KeyedVectors(16)
    kv.add_vectors([f"w{i}" for i in range(200)], rng.standard_normal((200, 16)).astype(np.float32))
    return kv


# ---------------------------------------------------------------- basics
def test_basics_and_exact_cosine():
    v = Vectors(["a", "b", "c"], [[1, 0], [1, 1], [0, 0]])
    assert v.dim == 2 and len(v) == 3 and "b" in v and "z" not in v
    assert v.matrix.dtype == np.float32
    assert v.index("c") == 2 and v["b"].tolist() == [1.0, 1.0]
    assert v.similarity("a", "b") == pytest.approx(1 / np.sqrt(2), abs=1e-7)
    assert v.similarity("a", "c") == 0.0  # zero vector: no direction
    assert v.similarity("a", np.array([0.0, 2.0])) == pytest.approx(0.0, abs=1e-7)
    np.testing.assert_allclose(v.unit_matrix()[1], [2**-0.5, 2**-0.5], rtol=1e-6)
    assert v.unit_matrix() is v.unit_matrix()  # cached once


def test_bad_input_messages():
    with pytest.raises(InputError, match="2 keys for 3 vectors"):
        Vectors(["a", "b"], np.zeros((3, 4)))
    with pytest.raises(InputError, match="'a' appears more than once"):
        Vectors(["a", "b", "a"], np.zeros((3, 4)))
    with pytest.raises(NonFiniteError, match="NaN or infinity in 1 row"):
        Vectors(["a", "b"], [[1.0, np.nan], [1.0, 2.0]])
    with pytest.raises(NonFiniteError, match="NaN or infinity"):
        Vectors(["a"], [[np.inf, 0.0]])
    v = Vectors(["a", "b"], np.eye(2))
    with pytest.raises(DimensionError, match="dimension 3, expected 2"):
        v.most_similar(positive=[np.ones(3)])
    with pytest.raises(DimensionError, match="dimension 3, expected 2"):
        v.similarity("a", np.ones(3))
    with pytest.raises(InputError, match="unknown method 'cos'"):
        v.most_similar("a", method="cos")


def test_unknown_key_names_key_and_suggests(small):
    with pytest.raises(UnknownKeyError, match=r"'w1000' is not in the vocabulary \(200 keys\); did you mean"):
        small.most_similar(positive=["w1000"])
    with pytest.raises(UnknownKeyError, match="'W5' is not in the vocabulary.*did you mean 'w5'"):
        small.most_similar(positive=["w1"], negative=["W5"])
    assert isinstance(UnknownKeyError("x"), KeyError)


def test_normalized_subset_vector(small):
    n = small.normalized()
    np.testing.assert_allclose(np.linalg.norm(n.matrix, axis=1), 1.0, rtol=1e-6)
    assert n.keys == small.keys
    s = small.subset(["w5", "w2"])
    assert s.keys == ["w5", "w2"] and np.array_equal(s.matrix, small.matrix[[5, 2]])
    with pytest.raises(UnknownKeyError, match="'nope'"):
        small.subset(["w1", "nope"])
    np.testing.assert_array_equal(small.vector("w3"), small.matrix[3])
    np.testing.assert_allclose(small.vector("w1 - w2 + w3"), small.matrix[1] - small.matrix[2] + small.matrix[3],
                               rtol=1e-6)


# ---------------------------------------------------------------- gensim equivalence
@pytest.mark.parametrize("pos,neg", [(["w1"], []), (["w1", "w2"], ["w3"]), (["w10", "w20", "w30"], ["w4", "w5"])])
def test_most_similar_matches_gensim(small, gensim_kv, pos, neg):
    ours = small.most_similar(positive=pos, negative=neg, topn=10)
    ref = gensim_kv.most_similar(positive=pos, negative=neg, topn=10)
    assert [k for k, _ in ours] == [k for k, _ in ref]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in ref], atol=1e-6)
    assert not set(pos + neg) & {k for k, _ in ours}  # query words never answer


@pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")  # gensim's own init_sims()
def test_most_similar_cosmul_matches_gensim(small, gensim_kv):
    ours = small.most_similar(positive=["w1", "w2"], negative=["w3"], topn=10, method="3cosmul")
    ref = gensim_kv.most_similar_cosmul(positive=["w1", "w2"], negative=["w3"], topn=10)
    assert [k for k, _ in ours] == [k for k, _ in ref]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in ref], rtol=1e-5)


def test_restrict_vocab_and_exclude_and_raw_vectors(small, gensim_kv):
    ours = small.most_similar("w150", topn=5, restrict_vocab=50)
    ref = gensim_kv.most_similar("w150", topn=5, restrict_vocab=50)
    assert [k for k, _ in ours] == [k for k, _ in ref]
    assert all(small.index(k) < 50 for k, _ in ours)
    best = small.most_similar("w1", topn=1)[0][0]
    assert best not in [k for k, _ in small.most_similar("w1", topn=5, exclude=[best])]
    raw = small.most_similar(positive=[small.matrix[1]], topn=1)  # a raw vector finds its own key
    assert raw[0][0] == "w1" and raw[0][1] == pytest.approx(1.0, abs=1e-6)
    assert small.most_similar("w1", topn=0) == []
    assert small.most_similar("w1", topn=None).shape == (200,)


# ---------------------------------------------------------------- GloVe
def test_glove_arithmetic(glove):
    assert len(glove) == 400_000 and glove.dim == 50
    assert glove.arithmetic("king - man + woman", k=1)[0][0] == "queen"
    assert glove.arithmetic("paris - france + italy", k=1)[0][0] == "rome"
    assert glove.analogy("man", "king", "woman")[0][0] == "queen"
    assert glove.analogy("man", "king", "woman", method="3cosmul")[0][0] == "queen"
    top = glove.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0]
    assert top[1] == pytest.approx(0.8523603, abs=1e-5)  # gensim's value for the same query
    assert glove.similarity("cat", "dog") > glove.similarity("cat", "democracy")


def test_glove_loads_memory_mapped_and_cached():
    from embedlab.io import glove as gmod

    gmod._CACHE.clear()
    g = gmod.load_glove(limit=1000)
    assert isinstance(g.matrix, np.memmap) and len(g) == 1000 and g.keys[:3] == ["the", ",", "."]
    import embedlab

    assert embedlab.glove(limit=1000) is g  # cached per process


# ---------------------------------------------------------------- expression parser
@pytest.mark.parametrize(
    "expr,pos,neg",
    [
        ("king - man + woman", ["king", "woman"], ["man"]),
        ("king-man+woman", ["king", "woman"], ["man"]),
        ("  king   -man+  woman ", ["king", "woman"], ["man"]),
        ('"new york" - usa + uk', ["new york", "uk"], ["usa"]),
        ('"e-mail" + letter', ["e-mail", "letter"], []),
        ("'s + of", ["'s", "of"], []),
        ("-a + b", ["b"], ["a"]),
        ("paris", ["paris"], []),
    ],
)
def test_parse_expression(expr, pos, neg):
    assert parse_expression(expr) == (pos, neg)


@pytest.mark.parametrize(
    "expr,msg",
    [
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("king man", "missing operator before 'man'"),
        ("king - - man", "two operators in a row"),
        ("king -", "ends with an operator"),
        ("- king", "has no positive term"),
        ('"new york - usa', "unclosed quote"),
        ('"" + a', "empty quoted key"),
    ],
)
def test_parse_expression_errors(expr, msg):
    with pytest.raises(InputError, match=msg):
        parse_expression(expr)


def test_format_expression_round_trips():
    for expr in ["king - man + woman", '"new york" - usa + uk']:
        assert parse_expression(format_expression(*parse_expression(expr))) == parse_expression(expr)


def test_hyphenated_keys_stay_whole_with_a_vocabulary(glove):
    vocab = {"e-mail": 0, "x": 1}
    assert parse_expression("e-mail+letter-x", vocab=vocab) == (["e-mail", "letter"], ["x"])
    assert parse_expression("e-mail+letter-x") == (["e", "letter"], ["mail", "x"])  # no vocabulary: operators
    assert parse_expression("king-man+woman", vocab=glove.key_to_index) == (["king", "woman"], ["man"])
    top = glove.arithmetic("e-mail - mail + phone", k=5)
    assert "e-mail" not in [k for k, _ in top] and len(top) == 5
    np.testing.assert_allclose(glove.vector("e-mail - mail"), glove["e-mail"] - glove["mail"], rtol=1e-6)


def test_restrict_vocab_and_missing_files_are_embedlab_errors(tmp_path):
    from embedlab.errors import InputError
    from embedlab.io import load_vectors
    from embedlab.vectors import Vectors

    v = Vectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    for bad in (0, -1, True, 1.5):
        with pytest.raises(InputError, match="restrict_vocab must be a positive integer"):
            v.most_similar("a", restrict_vocab=bad)
    assert [k for k, _ in v.most_similar("a", topn=5, restrict_vocab=2)] == ["b"]
    with pytest.raises(InputError, match="no vectors file at .*nope.vec; check the path"):
        load_vectors(tmp_path / "nope.vec")
    np.testing.assert_array_equal(v.vector([0.0, 1.0, 0.0]), [0, 1, 0])  # a list of numbers is a raw vector


def test_arithmetic_and_analogy_take_k_and_warn_on_topn(glove):
    """``k`` is the number of results everywhere new; ``topn`` stays only on gensim's own names (most_similar …)
    and still works on arithmetic/analogy with a DeprecationWarning."""
    assert glove.arithmetic("king - man + woman", k=3) == glove.arithmetic("king - man + woman", 3)
    with pytest.warns(DeprecationWarning, match=r"Vectors.arithmetic\(topn=...\) is deprecated; use k="):
        assert glove.arithmetic("king - man + woman", topn=1)[0][0] == "queen"
    with pytest.warns(DeprecationWarning, match=r"Vectors.analogy\(topn=...\) is deprecated"):
        assert glove.analogy("man", "king", "woman", topn=1) == glove.analogy("man", "king", "woman", k=1)
    for bad in (0, True, 2.0, "3"):
        with pytest.raises(InputError, match="k must be a positive integer"):
            glove.arithmetic("king - man + woman", k=bad)
