"""Vectors speaks gensim's KeyedVectors: every alias and method is checked against gensim 4.4 itself on the same
vectors (a seeded random table, and a GloVe subset), for the same keys and the same scores."""

from __future__ import annotations

import numpy as np
import pytest

from embedlab import Vectors
from embedlab.errors import DimensionError, InputError, NonFiniteError, UnknownKeyError
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


# ---------------------------------------------------------------- self-comparisons, edits, attributes, vocab files
def _fresh(n=40, d=12, seed=3):
    """(ours, gensim's) over a new seeded table, for tests that change it."""
    m = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    keys = [f"k{i}" for i in range(n)]
    kv = gm.KeyedVectors(d)
    kv.add_vectors(keys, m)
    return Vectors(keys, m), kv


def test_a_key_and_itself_are_exactly_similar():
    m = np.random.default_rng(0).standard_normal((500, 50)).astype(np.float32)
    m[7] = 0.0
    v = Vectors([f"k{i}" for i in range(500)], m)
    live = [k for k in v.keys if k != "k7"]
    assert all(v.similarity(k, k) == 1.0 and v.distance(k, k) == 0.0 for k in live)  # not 1 - 6e-8
    d = v.distances("k3")
    assert d[3] == 0.0 and d.min() >= 0.0 and d.max() <= 2.0
    assert v.distances("k3", ["k3", "k4"])[0] == 0.0
    assert v.similarity("k3", np.asarray(v.matrix[3])) == 1.0  # the key's own vector, given raw
    assert (v.similarities("k5", ["k5", "k6"])[0], v.n_similarity(["k1", "k2"], ["k2", "k1"])) == (1.0, 1.0)
    assert Vectors.cosine_similarities(v.matrix[9], v.matrix[8:10])[1] == 1.0
    assert v.similar_by_vector(v.matrix[11], topn=1)[0] == ("k11", 1.0)
    assert v.similarity("k7", "k7") == 0.0 and v.distance("k7", "k7") == 1.0  # a zero vector has no direction


def test_add_vectors_and_setitem_match_gensim():
    v, kv = _fresh()
    rng = np.random.default_rng(5)
    new = rng.standard_normal((3, 12))  # float64, as gensim users pass them
    for t in (v, kv):
        t.add_vectors(["k1", "n1", "n2"], new, replace=False)  # k1 exists: kept
    np.testing.assert_array_equal(v.vectors, kv.vectors)
    assert v.index_to_key == kv.index_to_key and v.key_to_index == kv.key_to_index
    assert v.vectors.dtype == np.float32
    for t in (v, kv):
        t.add_vectors(["k2", "n3"], new[:2], replace=True)
        t["n1"] = new[2]
        t[["k0", "n4"]] = new[:2]
    np.testing.assert_array_equal(v.vectors, kv.vectors)
    assert v.index_to_key == kv.index_to_key
    assert v.similarity("k0", "k2") == v.similarity("n3", "n4") == 1.0  # replaced and added by the same vectors
    assert [k for k, _ in v.most_similar("n2", topn=3)] == [k for k, _ in kv.most_similar("n2", topn=3)]
    with pytest.warns(UserWarning):  # gensim warns that growing one by one copies the matrix
        assert v.add_vector("n5", new[0]) == kv.add_vector("n5", new[0]) == len(kv) - 1
    assert v.add_vector("k3", new[1]) == 3 and not np.allclose(v["k3"], new[1])  # present: kept, its row returned
    with pytest.raises(InputError, match="given twice"):
        v.add_vectors(["x", "x"], new[:2])
    with pytest.raises(InputError, match="2 keys but 3 vectors"):
        v.add_vectors(["x", "y"], new)
    with pytest.raises(DimensionError):
        v["x"] = np.ones(5)
    with pytest.raises(NonFiniteError):
        v["x"] = np.full(12, np.nan)


def test_edits_leave_memory_maps_and_normalized_twins_alone(tmp_path):
    v, _ = _fresh()
    v.save(tmp_path / "v.npy")
    mm = Vectors.load(tmp_path / "v.npy", mmap=True)
    twin = mm.normalized()
    before = np.array(twin.matrix)
    mm["k1"] = np.ones(12)
    mm["brand-new"] = np.ones(12)
    np.testing.assert_array_equal(Vectors.load(tmp_path / "v.npy").matrix, v.matrix)  # the file is untouched
    np.testing.assert_array_equal(twin.matrix, before)
    assert len(twin) == len(v) and "brand-new" not in twin and "brand-new" in mm
    assert mm.similarity("k1", "brand-new") == 1.0  # the unit cache was recomputed
    twin["k2"] = np.ones(12)  # writing into a twin copies its matrix: the source's cache stays right
    np.testing.assert_allclose(mm.unit_matrix()[2], v.unit_matrix()[2])


def test_vecattrs_and_vectors_for_all_match_gensim():
    v, kv = _fresh()
    for t in (v, kv):
        t.set_vecattr("k3", "count", 7)
    for key in ("k3", "k5"):
        assert v.get_vecattr(key, "count") == kv.get_vecattr(key, "count")
    v.set_vecattr("k4", "tag", "noun")  # (gensim's vectors_for_all below fails on a str attribute with 0s)
    assert v.get_vecattr("k4", "tag") == "noun" and v.get_vecattr(5, "count") == 0 and v.get_vecattr(5, "tag") == 0
    with pytest.raises(KeyError, match="no attribute 'nope'.*'count', 'tag'"):
        v.get_vecattr("k3", "nope")
    with pytest.raises(InputError, match="int64 values"):
        v.set_vecattr("k3", "count", 1.5)
    v.add_vectors(["n1"], np.ones((1, 12)), extras={"count": [99]})
    assert v.get_vecattr("n1", "count") == 99 and v.get_vecattr("k4", "tag") == "noun"
    words = ["k9", "nope", "k2", "k9", "k4"]
    for copy in (False, True):
        ours, ref = v.vectors_for_all(words, copy_vecattrs=copy), kv.vectors_for_all(words, copy_vecattrs=copy)
        assert ours.index_to_key == ref.index_to_key == ["k9", "k2", "k4"]
        np.testing.assert_array_equal(ours.vectors, ref.vectors)
        assert ([ours.get_vecattr(k, "count") for k in ours.index_to_key]
                == [ref.get_vecattr(k, "count") for k in ref.index_to_key])
    assert v.subset(["k4", "k3"]).get_vecattr("k3", "count") == 7  # subset keeps attributes


def test_relative_cosine_similarity_and_sorting_match_gensim():
    v, kv = _fresh()
    for a, b, n in (("k1", "k2", 10), ("k5", "k30", 3)):
        assert v.relative_cosine_similarity(a, b, n) == pytest.approx(kv.relative_cosine_similarity(a, b, n), abs=1e-6)
    with pytest.raises(InputError, match="neighbours"):
        v.relative_cosine_similarity("k1", "k2", 0)
    counts = np.random.default_rng(1).integers(0, 5, len(v))  # ties: gensim's order puts the later row first
    keys = list(v.keys)
    for t in (v, kv):
        for k, c in zip(keys, counts.tolist(), strict=True):
            t.set_vecattr(k, "count", c)
        t.sort_by_descending_frequency()
    assert v.index_to_key == kv.index_to_key
    np.testing.assert_array_equal(v.vectors, kv.vectors)
    kv.fill_norms(force=True)  # gensim keeps the norms of the old row order after sorting; ours are recomputed
    assert [k for k, _ in v.most_similar("k1", topn=5)] == [k for k, _ in kv.most_similar("k1", topn=5)]


def test_vocabulary_files_and_headerless_text_with_gensim(tmp_path):
    v, kv = _fresh()
    for t in (v, kv):
        for i, k in enumerate(kv.index_to_key):
            t.set_vecattr(k, "count", (i * 37) % 11)  # not in row order: gensim writes most frequent first
    v.save_word2vec_format(tmp_path / "ours.txt", fvocab=tmp_path / "ours.vocab")
    kv.save_word2vec_format(str(tmp_path / "theirs.txt"), fvocab=str(tmp_path / "theirs.vocab"))
    assert (tmp_path / "ours.vocab").read_text() == (tmp_path / "theirs.vocab").read_text()
    ours = Vectors.load_word2vec_format(tmp_path / "theirs.txt", fvocab=tmp_path / "theirs.vocab")
    ref = gm.KeyedVectors.load_word2vec_format(str(tmp_path / "ours.txt"), fvocab=str(tmp_path / "ours.vocab"))
    assert ours.index_to_key == ref.index_to_key
    assert ([ours.get_vecattr(k, "count") for k in ours.index_to_key]
            == [ref.get_vecattr(k, "count") for k in ref.index_to_key])
    plain = Vectors.load_word2vec_format(tmp_path / "ours.txt")  # no vocabulary: gensim's made-up counts
    assert [plain.get_vecattr(k, "count") for k in plain.keys[:3]] == [len(v), len(v) - 1, len(v) - 2]
    (tmp_path / "short.vocab").write_text("k1 5\n\n")
    with pytest.warns(UserWarning, match=f"lacks {len(v) - 1} of the {len(v)} keys"):
        partial = Vectors.load_word2vec_format(tmp_path / "ours.txt", fvocab=tmp_path / "short.vocab")
    assert partial.get_vecattr("k1", "count") == 5 and partial.get_vecattr("k2", "count") == 0
    # GloVe-style text without a header line, whose first key could pass for one ("5 0.25" for dim 1)
    one = Vectors(["5", "b"], np.array([[0.25], [0.5]], np.float32))
    one.save_word2vec_format(tmp_path / "nohead.txt", write_header=False, prefix="")
    back = Vectors.load_word2vec_format(tmp_path / "nohead.txt", no_header=True)
    ref = gm.KeyedVectors.load_word2vec_format(str(tmp_path / "nohead.txt"), no_header=True)
    assert back.index_to_key == ref.index_to_key == ["5", "b"]
    v.save_word2vec_format(tmp_path / "parts.txt", total_vec=len(v) + 1, prefix="*")
    Vectors(["z"], np.ones((1, 12), np.float32)).save_word2vec_format(tmp_path / "parts.txt", write_header=False,
                                                                      append=True)
    both = gm.KeyedVectors.load_word2vec_format(str(tmp_path / "parts.txt"))
    assert len(both) == len(v) + 1 and both.index_to_key[-1] == "z" and both.index_to_key[0].startswith("*")
    with pytest.raises(InputError, match="pass binary=True by name"):
        Vectors.load_word2vec_format(tmp_path / "ours.txt", True)  # gensim's order: fname, fvocab, binary
    with pytest.raises(InputError, match="no 'rank' attribute"):
        v.save_word2vec_format(tmp_path / "x.txt", fvocab=tmp_path / "x.vocab", sort_attr="rank")
    v.set_vecattr("k1", "tag", "noun")
    with pytest.raises(InputError, match="sort_attr 'tag' holds object values"):
        v.save_word2vec_format(tmp_path / "x.txt", sort_attr="tag")
    with pytest.warns(UserWarning, match="float32; datatype=float16 is ignored"):
        assert Vectors.load_word2vec_format(tmp_path / "ours.txt", datatype=np.float16).vectors.dtype == np.float32


def test_damaged_files_raise_what_gensim_raises(tmp_path):
    """CorruptFileError is a ValueError; a truncated file also an EOFError and an undecodable key a
    UnicodeDecodeError, as gensim raises for the same damage, so gensim code that catches those keeps working."""
    import pickle

    from embedlab.errors import CorruptFileError
    from embedlab.formats.word2vec import TruncatedFileError, UndecodableFileError

    v, _ = _fresh(n=5, d=3)
    v.save_word2vec_format(tmp_path / "ok.txt")
    v.save_word2vec_format(tmp_path / "ok.bin", binary=True)
    text = (tmp_path / "ok.txt").read_bytes()
    cases = {
        "header.txt": b"five 3\nk0 1 2 3\n",  # gensim: ValueError (int("five"))
        "row.txt": text.replace(b"k1 ", b"k1 x ", 1),  # ValueError (a value that is no number)
        "short.txt": text.rsplit(b"\n", 3)[0] + b"\n",  # EOFError (fewer rows than the header says)
        "short.bin": (tmp_path / "ok.bin").read_bytes()[:-20],  # EOFError
        "key.txt": text.replace(b"k2", b"k\xe3\x81", 1),  # UnicodeDecodeError
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        binary = name.endswith(".bin")
        with pytest.raises(Exception) as theirs:
            gm.KeyedVectors.load_word2vec_format(str(tmp_path / name), binary=binary)
        with pytest.raises(CorruptFileError) as ours:
            Vectors.load_word2vec_format(tmp_path / name, binary=binary)
        assert isinstance(ours.value, type(theirs.value)), (name, theirs.value, ours.value)
        assert isinstance(ours.value, ValueError) and str(tmp_path / name) in str(ours.value)
    with pytest.raises(TruncatedFileError):
        Vectors.load_word2vec_format(tmp_path / "short.txt")
    with pytest.raises(UnicodeDecodeError) as err:
        Vectors.load_word2vec_format(tmp_path / "key.txt")
    assert isinstance(err.value, UndecodableFileError) and err.value.reason == "unexpected end of data"
    assert "key.txt: line 4" in str(err.value) and err.value.object[err.value.start:err.value.end] == b"\xe3\x81"
    again = pickle.loads(pickle.dumps(err.value))  # crosses process boundaries (joblib, the server's jobs)
    assert type(again) is UndecodableFileError and str(again) == str(err.value) and again.start == err.value.start
    (tmp_path / "bad.vocab").write_bytes(b"k1 5\nk2 five\n")
    with pytest.raises(CorruptFileError, match="line 2"):
        Vectors.load_word2vec_format(tmp_path / "ok.txt", fvocab=tmp_path / "bad.vocab")
    with pytest.raises(FileNotFoundError):
        Vectors.load_word2vec_format(tmp_path / "ok.txt", fvocab=tmp_path / "missing.vocab")
