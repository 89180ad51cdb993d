"""Vectors speaks gensim's KeyedVectors: every alias and method is checked against gensim 4.4 itself on the same
vectors (a seeded random table, and a GloVe subset), for the same keys and the same scores."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.errors import InputError, UnknownKeyError
from embedlab.evaluate import test_file
from embedlab.evaluate.analogy import read_analogies

gm = pytest.importorskip("gensim.models")
pytestmark = pytest.mark.filterwarnings("ignore:Call to deprecated:DeprecationWarning")  # gensim's init_sims()

KEYS = [f"w{i}" for i in range(300)]


@pytest.fixture(scope="module")
def pair():
    """(ours, gensim's) over one seeded random table; row 7 repeats row 3's direction (a tie gensim must share)."""
    rng = np.random.default_rng(14)
    m = rng.standard_normal((300, 24)).astype(np.float32)
    m[7] = 2.0 * m[3]
    kv = gm.KeyedVectors(24)
    kv.add_vectors(KEYS, m)
    return Vectors(KEYS, m), kv


def _same_ranking(ours, ref, atol=1e-6):
    assert [k for k, _ in ours] == [k for k, _ in ref]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in ref], atol=atol)


def test_attribute_aliases(pair):
    v, kv = pair
    assert v.index_to_key == kv.index_to_key and v.index_to_key is v.keys
    assert v.key_to_index == kv.key_to_index
    assert v.vectors is v.matrix and v.vector_size == kv.vector_size == 24
    np.testing.assert_array_equal(v.vectors, kv.vectors)
    np.testing.assert_allclose(v.get_normed_vectors(), kv.get_normed_vectors(), atol=1e-6)


def test_lookups(pair):
    v, kv = pair
    np.testing.assert_array_equal(v.get_vector("w5"), kv.get_vector("w5"))
    np.testing.assert_allclose(v.get_vector("w5", norm=True), kv.get_vector("w5", norm=True), atol=1e-6)
    assert not v.get_vector("w5").flags.writeable  # as gensim: a lookup cannot corrupt the table
    np.testing.assert_array_equal(v[["w1", "w2"]], kv[["w1", "w2"]])  # a list of keys gives rows
    for key in ("w9", 9, "nope", 300, -1):
        assert v.has_index_for(key) == kv.has_index_for(key), key
        assert (key in v) == (key in kv), key
    assert v.get_index("w9") == kv.get_index("w9") == 9 and v.get_index(4) == kv.get_index(4) == 4
    assert v.get_index("nope", default=-1) == -1
    with pytest.raises(KeyError, match="'nope' is not in the vocabulary"):  # UnknownKeyError is a KeyError
        v.get_vector("nope")


@pytest.mark.parametrize("pos,neg", [(["w1"], []), (["w1", "w2"], ["w3"]), ([("w1", 2.0), "w2"], [("w3", -0.5)]),
                                     ([3], [])])
def test_most_similar_with_weights_and_rows(pair, pos, neg):
    v, kv = pair
    _same_ranking(v.most_similar(positive=pos, negative=neg, topn=15), kv.most_similar(positive=pos, negative=neg,
                                                                                      topn=15))


def test_most_similar_with_a_matrix_of_vectors(pair):
    v, kv = pair
    q = np.asarray(v.matrix[[10, 20]])
    _same_ranking(v.most_similar(positive=q, topn=10), kv.most_similar(positive=q, topn=10))


def test_most_similar_cosmul(pair):
    v, kv = pair
    for pos, neg in ((["w1", "w2"], ["w3"]), ("w4", "w5"), (["w6"], [])):
        _same_ranking(v.most_similar_cosmul(pos, neg, topn=10), kv.most_similar_cosmul(pos, neg, topn=10), atol=1e-5)
    np.testing.assert_allclose(v.most_similar_cosmul(["w1"], ["w2"], topn=None),
                               kv.most_similar_cosmul(["w1"], ["w2"], topn=None), rtol=1e-5)
    with pytest.raises(InputError, match="3cosmul takes no weights"):
        v.most_similar_cosmul([("w1", 2.0)])


def test_similar_by_word_key_and_vector(pair):
    v, kv = pair
    _same_ranking(v.similar_by_word("w11", topn=7), kv.similar_by_word("w11", topn=7))
    _same_ranking(v.similar_by_key("w11", topn=7, restrict_vocab=100), kv.similar_by_key("w11", topn=7,
                                                                                         restrict_vocab=100))
    vec = np.asarray(v.matrix[11]) + 0.1
    _same_ranking(v.similar_by_vector(vec, topn=7), kv.similar_by_vector(vec, topn=7))


def test_distances_rank_closer_than(pair):
    v, kv = pair
    assert v.similarity("w1", "w2") == pytest.approx(float(kv.similarity("w1", "w2")), abs=1e-6)
    assert v.distance("w1", "w2") == pytest.approx(float(kv.distance("w1", "w2")), abs=1e-6)
    np.testing.assert_allclose(v.distances("w1"), kv.distances("w1"), atol=1e-6)
    np.testing.assert_allclose(v.distances("w1", ["w2", "w9"]), kv.distances("w1", ["w2", "w9"]), atol=1e-6)
    np.testing.assert_allclose(v.distances(v.matrix[4]), kv.distances(kv.vectors[4]), atol=1e-6)
    for a, b in (("w1", "w2"), ("w3", "w7"), ("w7", "w3"), ("w0", "w299"), ("w12", "w40")):
        assert v.closer_than(a, b) == kv.closer_than(a, b), (a, b)
        assert v.rank(a, b) == kv.rank(a, b), (a, b)
    assert v.rank("w3", "w7") == 1  # same direction: nothing is closer
    np.testing.assert_allclose(Vectors.cosine_similarities(v.matrix[0], v.matrix[:5]),
                               gm.KeyedVectors.cosine_similarities(kv.vectors[0], kv.vectors[:5]), atol=1e-6)


def test_doesnt_match_n_similarity_centrality(pair):
    v, kv = pair
    words = ["w1", "w2", "w3", "w4", "w50"]
    assert v.doesnt_match(words) == kv.doesnt_match(words)
    ours, ref = v.rank_by_centrality(words), kv.rank_by_centrality(words)
    assert [w for _, w in ours] == [w for _, w in ref]
    np.testing.assert_allclose([s for s, _ in ours], [s for s, _ in ref], atol=1e-6)
    with pytest.warns(UserWarning, match="'nope'"):
        assert v.doesnt_match(words + ["nope"]) == kv.doesnt_match(words)
    assert v.n_similarity(["w1", "w2"], ["w3", "w4"]) == pytest.approx(
        float(kv.n_similarity(["w1", "w2"], ["w3", "w4"])), abs=1e-6)
    assert v.most_similar_to_given("w1", ["w2", "w3", "w4"]) == kv.most_similar_to_given("w1", ["w2", "w3", "w4"])
    np.testing.assert_allclose(v.get_mean_vector(["w1", "w2"], weights=[1.0, -2.0]),
                               kv.get_mean_vector(["w1", "w2"], weights=[1.0, -2.0]), atol=1e-6)


def test_deliberate_differences_are_errors(pair):
    v, _ = pair
    with pytest.raises(UnknownKeyError, match="'nope'"):
        v.n_similarity(["w1", "nope"], ["w2"])  # gensim silently drops the unknown key
    with pytest.raises(InputError, match="non-empty"):
        v.n_similarity([], ["w2"])
    with pytest.raises(InputError, match="empty list"):
        v.doesnt_match([])


def test_word2vec_format_round_trip(pair, tmp_path):
    v, kv = pair
    v.save_word2vec_format(tmp_path / "ours.bin", binary=True)
    kv.save_word2vec_format(str(tmp_path / "theirs.txt"), binary=False)
    back = gm.KeyedVectors.load_word2vec_format(str(tmp_path / "ours.bin"), binary=True)
    np.testing.assert_array_equal(back.vectors, v.matrix)
    ours = Vectors.load_word2vec_format(tmp_path / "theirs.txt", limit=10)
    assert ours.index_to_key == KEYS[:10]
    np.testing.assert_allclose(ours.vectors, kv.vectors[:10], atol=1e-6)


# ---------------------------------------------------------------- evaluation shapes, on a GloVe subset
@pytest.fixture(scope="module")
def glove_pair(glove):
    """The first 20k GloVe words, in ours and in gensim's KeyedVectors."""
    small = glove.subset(glove.keys[:20000])
    kv = gm.KeyedVectors(small.dim)
    kv.add_vectors(small.keys, small.matrix)
    return small, kv


@pytest.fixture(scope="module")
def questions(tmp_path_factory):
    """Every 25th Google question, plus a section with one word GloVe lacks (for dummy4unknown)."""
    out = tmp_path_factory.mktemp("q") / "sample.txt"
    lines = []
    for name, qs in read_analogies(test_file("questions-words")):
        lines.append(f": {name}")
        lines += [" ".join(q) for q in qs[::25]]
    lines += [": made-up", "king queen man zzzunknownzzz", "paris france rome italy"]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@pytest.mark.parametrize("kwargs", [{}, {"restrict_vocab": 5000}, {"dummy4unknown": True},
                                    {"case_insensitive": False, "restrict_vocab": 10000}])
def test_evaluate_word_analogies_equals_gensim(glove_pair, questions, kwargs):
    v, kv = glove_pair
    score, sections = v.evaluate_word_analogies(questions, **kwargs)
    ref_score, ref_sections = kv.evaluate_word_analogies(str(questions), **kwargs)
    assert score == pytest.approx(ref_score, abs=1e-12)
    assert sections == ref_sections  # names, order, and the very tuples in each list
    assert sections[-1]["section"] == "Total accuracy" and isinstance(sections[-1]["correct"][0], tuple)


def test_evaluate_word_analogies_cosmul_and_names(glove_pair, questions):
    v, _ = glove_pair
    from embedlab.evaluate import evaluate_analogies

    score, sections = v.evaluate_word_analogies(questions, similarity_function="most_similar_cosmul")
    report = evaluate_analogies(v, questions, restrict_vocab=300000, method="3cosmul")
    assert score == pytest.approx(report.accuracy) and len(sections[-1]["correct"]) == report.correct
    assert v.evaluate_word_analogies("questions-words", restrict_vocab=2000)[1][0]["section"] == "capital-common-countries"
    with pytest.raises(InputError, match="unknown similarity_function"):
        v.evaluate_word_analogies(questions, similarity_function="cosine")


@pytest.mark.parametrize("name", ["wordsim353", "simlex999"])
@pytest.mark.parametrize("kwargs", [{}, {"dummy4unknown": True, "restrict_vocab": 3000}, {"case_insensitive": False}])
def test_evaluate_word_pairs_equals_gensim(glove_pair, name, kwargs):
    v, kv = glove_pair
    pearson, spearman, oov = v.evaluate_word_pairs(test_file(name), **kwargs)
    ref_p, ref_s, ref_oov = kv.evaluate_word_pairs(str(test_file(name)), **kwargs)
    assert pearson[0] == pytest.approx(ref_p[0], abs=1e-6) and spearman[0] == pytest.approx(ref_s[0], abs=1e-6)
    assert pearson[1] == pytest.approx(ref_p[1], rel=1e-3, abs=1e-12)
    assert spearman.statistic == pytest.approx(ref_s.statistic, abs=1e-6)  # scipy's result objects, as gensim
    assert oov == pytest.approx(ref_oov, abs=1e-9)
    assert v.evaluate_word_pairs(name, **kwargs)[2] == pytest.approx(oov)  # a benchmark name works too
