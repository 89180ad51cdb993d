"""sentence-transformers, Chroma and gensim habits: their names and keywords work here, with their semantics.

Each alias is compared with the native call it stands for (exact where exact), and with the real library where it
is installed and cheap (sentence-transformers on ``minilm``, loaded once per session by the registry).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import embedlab
from embedlab.encoders import Encoded, Encoder, spec
from embedlab.errors import DimensionError, InputError, LanguageWarning, MissingDependencyError
from embedlab.io import load_glove
from embedlab.metrics import cosine
from embedlab.store import Collection
from embedlab.train import FastText, Word2Vec

# ---------------------------------------------------------------------------------------------- encoders


class _Letters(Encoder):
    """A tiny real encoder: letter counts a..z (deterministic, no model), in a metric chosen per instance."""

    name = "test-letters"
    dim = 26
    modalities = ("text",)

    def __init__(self, metric: str = "cosine", languages: tuple[str, ...] | None = None) -> None:
        self.metric, self.languages = metric, languages

    def _encode_batch(self, items):
        out = np.zeros((len(items), 26), dtype=np.float32)
        for i, text in enumerate(items):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        return Encoded(out, 0)


@pytest.fixture(scope="session")
def glove50():
    """The glove-50 word-average encoder (English-only; its own ``encode`` override), built once per session."""
    return embedlab.encoder("glove-50")


@pytest.fixture(scope="session")
def minilm():
    """all-MiniLM-L6-v2 through sentence-transformers, built once per session (the registry shares it)."""
    pytest.importorskip("sentence_transformers")
    return embedlab.encoder("minilm")


def test_sentence_transformers_model_ids_name_minilm():
    assert spec("all-MiniLM-L6-v2").name == "minilm"
    assert spec("minilm").model_ids == ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")
    assert spec("minilm").aliases == ("sbert",)  # listed separately from the short aliases
    assert spec("sentence-transformers/all-MiniLM-L6-v2").name == "minilm"
    with pytest.raises(InputError, match="unknown encoder 'all-MiniLM-L12-v2'"):
        spec("all-MiniLM-L12-v2")


def test_encoders_listing_shows_model_ids(capsys):
    import json

    from embedlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["encoders", "--json", "--all"])
    assert exc.value.code == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["minilm"]["model_ids"] == ["all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"]
    assert rows["minilm"]["aliases"] == ["sbert"] and rows["use-multilingual"]["model_ids"] == []


def test_model_ids_build_the_same_shared_encoder(minilm):
    assert embedlab.encoder("all-MiniLM-L6-v2") is minilm
    assert embedlab.encoder("sentence-transformers/all-MiniLM-L6-v2") is minilm
    with Collection.create("st", "sentence-transformers/all-MiniLM-L6-v2") as col:
        assert col.info()["encoder"]["name"] == "minilm"


def test_encode_matches_sentence_transformers_on_minilm(minilm):
    torch = pytest.importorskip("torch")
    model = minilm.model
    texts = ["A man is eating food.", "A cheetah chases its prey."]
    one = minilm.encode("A man is eating food.", normalize_embeddings=True)
    theirs = model.encode("A man is eating food.", normalize_embeddings=True)
    assert one.shape == theirs.shape == (384,) and one.dtype == np.float32
    np.testing.assert_allclose(one, theirs, atol=1e-6)
    t = minilm.encode(texts, convert_to_tensor=True)
    theirs_t = model.encode(texts, convert_to_tensor=True)
    assert isinstance(t, torch.Tensor) and t.shape == theirs_t.shape == (2, 384) and t.dtype == torch.float32
    np.testing.assert_allclose(t.numpy(), theirs_t.numpy(), atol=1e-6)
    rows = minilm.encode(texts, convert_to_numpy=False)
    assert [tuple(r.shape) for r in rows] == [(384,), (384,)]
    sim = minilm.similarity(minilm.encode(texts, normalize_embeddings=True), one)
    np.testing.assert_allclose(sim, model.similarity(model.encode(texts), theirs).numpy(), atol=1e-6)
    assert sim.shape == (2, 1)
    assert minilm.max_seq_length == model.max_seq_length == minilm.max_length == 256
    assert minilm.get_sentence_embedding_dimension() == minilm.get_embedding_dimension() == 384
    assert model.get_embedding_dimension() == 384


def test_st_keywords_equal_the_native_call(glove50):
    texts = ["the king and the queen", "a small river"]
    native = glove50.encode(texts)  # unit rows
    raw = glove50.encode(texts, normalize=False)
    np.testing.assert_array_equal(glove50.encode(texts, normalize_embeddings=True), native)
    np.testing.assert_array_equal(glove50.encode(texts, normalize_embeddings=False), raw)
    # a sentence-transformers call normalises only when asked, as sentence-transformers does
    np.testing.assert_array_equal(glove50.encode(texts, show_progress_bar=False), raw)
    np.testing.assert_array_equal(glove50.encode(texts, convert_to_numpy=True), raw)
    np.testing.assert_array_equal(glove50.encode(texts, normalize=True, show_progress_bar=False), native)
    single = glove50.encode("the king and the queen", normalize_embeddings=True)
    assert single.shape == (50,)
    np.testing.assert_array_equal(single, native[0])
    assert glove50.encode("the king and the queen").shape == (1, 50)  # embedlab's own contract is unchanged


@pytest.mark.parametrize("name", ["glove-50", "minilm-onnx", "use-multilingual", "glove-50+minilm-onnx"])
def test_one_string_gives_one_row_everywhere_and_st_calls_a_vector(name):
    """The rule for every encoder: ``encode("one")`` is ``(1, dim)`` (an Encoder always returns ``(n, dim)``, so
    code that indexes rows works for any input); a call with sentence-transformers' keywords returns what
    ``SentenceTransformer.encode`` would, ``(dim,)`` for one string."""
    enc = embedlab.encoder(name)
    one = enc.encode("a fast train")
    assert one.shape == (1, enc.dim) and one.dtype == np.float32
    assert np.array_equal(one, enc.encode(["a fast train"]))
    st = enc.encode("a fast train", normalize_embeddings=True)
    assert st.shape == (enc.dim,) and np.allclose(st, one[0], atol=1e-6)
    assert enc.encode(["a fast train"], normalize_embeddings=True).shape == (1, enc.dim)


def test_st_keywords_reach_every_kind_of_encode(glove50, use_encoder):
    base = _Letters()  # Encoder.encode itself
    np.testing.assert_array_equal(base.encode("abc", normalize_embeddings=True), base.encode(["abc"])[0])
    np.testing.assert_array_equal(use_encoder.encode("hello world", normalize_embeddings=True),
                                  use_encoder.encode(["hello world"])[0])
    assert glove50.encode(["river"], show_progress_bar=False).shape == (1, 50)


def test_convert_to_tensor_and_numpy_false(glove50):
    torch = pytest.importorskip("torch")
    texts = ["the king", "a river"]
    raw = glove50.encode(texts, normalize=False)
    t = glove50.encode(texts, convert_to_tensor=True)
    assert isinstance(t, torch.Tensor) and tuple(t.shape) == (2, 50) and t.dtype == torch.float32
    np.testing.assert_array_equal(t.numpy(), raw)
    one = glove50.encode("the king", convert_to_tensor=True, normalize_embeddings=True)
    assert tuple(one.shape) == (50,)
    np.testing.assert_array_equal(one.numpy(), glove50.encode(["the king"])[0])
    rows = glove50.encode(texts, convert_to_numpy=False)
    assert isinstance(rows, list) and len(rows) == 2 and all(isinstance(r, torch.Tensor) for r in rows)
    np.testing.assert_array_equal(np.stack([r.numpy() for r in rows]), raw)
    # convert_to_tensor wins over convert_to_numpy, as in sentence-transformers
    assert isinstance(glove50.encode(texts, convert_to_tensor=True, convert_to_numpy=True), torch.Tensor)


def test_tensor_without_torch_names_the_text_extra(glove50, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError, as when not installed
    with pytest.raises(MissingDependencyError, match=r"embedlab\[text\]"):
        glove50.encode(["the king"], convert_to_tensor=True)
    with pytest.raises(MissingDependencyError, match="torch"):
        glove50.encode(["the king"], convert_to_numpy=False)
    with pytest.raises(MissingDependencyError, match="torch"):
        glove50.encode_query("the king", convert_to_tensor=True)
    assert glove50.encode("the king", normalize_embeddings=True).shape == (50,)  # numpy needs no torch


def test_encode_keyword_errors_name_the_accepted_ones(glove50):
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'device'.*batch_size, progress, normalize.*"
                                        r"normalize_embeddings, show_progress_bar, convert_to_numpy, convert_to_tensor"):
        glove50.encode(["the king"], device="cpu")
    with pytest.raises(TypeError, match="both normalize= and sentence-transformers' normalize_embeddings="):
        glove50.encode(["the king"], normalize=True, normalize_embeddings=True)
    with pytest.raises(TypeError, match="both normalize= and"):
        glove50.encode(["the king"], 8, False, True, normalize_embeddings=True)  # normalize given by position
    with pytest.raises(TypeError, match="both progress= and sentence-transformers' show_progress_bar="):
        glove50.encode(["the king"], progress=False, show_progress_bar=False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'prompt'"):
        _Letters().encode(["abc"], prompt="query: ")


def test_encoder_warnings_point_at_the_caller_through_the_keywords(glove50):
    from embedlab.encoders import TruncationWarning

    class _Short(_Letters):
        name, max_length = "test-short", 2

        def _encode_batch(self, items):
            return Encoded(super()._encode_batch(items).vectors, sum(len(t) > 2 for t in items))

    with pytest.warns(TruncationWarning) as record:
        _Short().encode(["abcdef"], normalize_embeddings=True)
    assert record[0].filename == __file__
    with pytest.warns(UserWarning, match="no known word") as record:  # OOVWarning of glove-50's own encode
        glove50.encode(["qqqzzzxx"], show_progress_bar=False)
    assert record[0].filename == __file__


def test_encode_query_and_document_are_the_role_methods():
    enc = _Letters()
    np.testing.assert_array_equal(enc.encode_query("abc"), enc.encode_queries(["abc"], normalize=False)[0])
    np.testing.assert_array_equal(enc.encode_document(["abc", "bb"], normalize_embeddings=True),
                                  enc.encode_documents(["abc", "bb"]))
    assert enc.encode_query(["ab", "c"]).shape == (2, 26)


def test_similarity_is_the_metric_matrix():
    a, b = ["abc", "aab"], ["abc", "xyz", "cab"]
    enc = _Letters("cosine")
    va, vb = enc.encode(a, normalize=False), enc.encode(b, normalize=False)
    np.testing.assert_allclose(enc.similarity(va, vb), cosine(va, vb), atol=1e-7)
    assert enc.similarity(va[0], vb).shape == (1, 3)  # a 1-D vector is one row
    assert enc.similarity(va, vb).dtype == np.float32
    dot = _Letters("dot")
    assert dot.similarity(va, vb).tolist() == (va @ vb.T).tolist()
    l2 = _Letters("l2")
    np.testing.assert_allclose(l2.similarity(va, vb), -np.linalg.norm(va[:, None] - vb[None], axis=2), atol=1e-6)
    assert l2.similarity([0, 0, 0], [[3, 4, 0]]).tolist() == [[-5.0]]
    assert [e.similarity_fn_name for e in (enc, dot, l2)] == ["cosine", "dot", "euclidean"]


def test_similarity_refuses_other_shapes():
    enc = _Letters()
    with pytest.raises(DimensionError, match="26-d and 3-d"):
        enc.similarity(np.ones((2, 26)), np.ones((2, 3)))
    with pytest.raises(DimensionError, match=r"b has shape \(1, 2, 26\)"):
        enc.similarity(np.ones(26), np.ones((1, 2, 26)))


def test_st_dimension_names_are_readonly():
    enc = _Letters()
    assert enc.max_seq_length is None and enc.get_sentence_embedding_dimension() == 26
    with pytest.raises(AttributeError):
        enc.max_seq_length = 10


# ---------------------------------------------------------------------------------------------- languages


def _language_warnings(record):
    return [w for w in record if issubclass(w.category, LanguageWarning)]


def test_english_encoder_warns_once_per_call_about_korean(glove50):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        glove50.encode(["고속철도는 빠르다", "the king", "서울역"])
    got = _language_warnings(record)
    assert len(got) == 1
    w = got[0].message
    assert (w.encoder, w.count, w.total, w.languages) == ("glove-50", 2, 3, ("en",))
    assert "'use-multilingual'" in str(w) and "Korean" in str(w) and "reads only en" in str(w)
    assert got[0].filename == __file__  # points at the caller, not inside embedlab


def test_language_warning_names_each_script():
    enc = _Letters(languages=("en",))
    for text, script in (("ひらがな abc", "Japanese"), ("中文 abc", "Chinese"), ("한국어 abc", "Korean")):
        with pytest.warns(LanguageWarning, match=f"hold {script} characters"):
            enc.encode([text])
    ko = _Letters(languages=("ko",))  # Korean is also written with Chinese characters (hanja)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LanguageWarning)
        ko.encode(["한국어 漢字 abc"])
    with pytest.warns(LanguageWarning, match="reads only ko: 1 of 1 text.* Japanese"):
        ko.encode(["ひらがな"])


def test_unread_scripts_counts_texts_not_characters():
    from embedlab.encoders.languages import unread_scripts

    items = ["한국어와 漢字", "abc", "カタカナ", None, "中文"]
    assert unread_scripts(("en",), items) == (3, ["Korean", "Japanese", "Chinese"])
    assert unread_scripts(("en", "ja"), items) == (1, ["Korean"])  # Japanese reads kana and Chinese characters
    assert unread_scripts(None, items) == (0, [])
    assert unread_scripts(("en",), ["plain", "ascii"]) == (0, [])


def test_no_language_warning_for_english_or_undeclared(glove50, use_encoder):
    with warnings.catch_warnings():
        warnings.simplefilter("error", LanguageWarning)
        glove50.encode(["the king", "café au lait"])
        use_encoder.encode(["고속철도는 빠르다"])  # multilingual: declares no limit
        _Letters().encode(["한국어 abc"])  # languages None: never checked


def test_packaged_english_encoders_declare_english(glove50, minilm, use_encoder):
    from embedlab.server.state import GuardedEncoder

    assert glove50.languages == ("en",) and minilm.languages == ("en",)
    assert use_encoder.languages is None
    assert glove50.info()["languages"] == ["en"] and use_encoder.info()["languages"] is None
    assert GuardedEncoder(minilm).languages == ("en",)  # the server's shared wrapper says the same
    with pytest.warns(LanguageWarning, match="minilm reads only en: 1 of 1"):
        minilm.encode(["한국어 문장입니다"])


@pytest.mark.filterwarnings("ignore::embedlab.encoders.word_average.OOVWarning")  # Korean has no GloVe word
def test_collection_reindexed_onto_english_encoder_warns(use_encoder, glove50):
    from embedlab.reembed import reembed

    with Collection.create("ko", use_encoder) as col:
        col.add(["a", "b"], ["고속철도는 도시 사이를 달린다", "the king"])
    with pytest.warns(LanguageWarning, match="glove-50 reads only en: 1 of 2"):
        reembed("ko", glove50)
    with Collection.create("en-ko", glove50) as col, pytest.warns(LanguageWarning, match="1 of 1"):
        col.add(["k"], ["서울역"])


# ---------------------------------------------------------------------------------------------- gensim


def test_word2vec_vector_size_is_dim(tmp_path):
    corpus = tmp_path / "c.txt"
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    corpus.write_text("\n".join(" ".join(rng.choice(words, 12)) for _ in range(200)) + "\n")
    a = Word2Vec(vector_size=8, min_count=1, epochs=1, workers=1, seed=3, progress=False)
    b = Word2Vec(dim=8, min_count=1, epochs=1, workers=1, seed=3, progress=False)
    assert a.get_params() == b.get_params() and a.dim == 8 and "vector_size" not in a.get_params()
    assert repr(a) == repr(b)
    np.testing.assert_array_equal(a.fit(corpus).wv.matrix, b.fit(corpus).wv.matrix)
    assert a.set_params(vector_size=16).dim == 16
    assert FastText(vector_size=12).dim == 12


def test_vector_size_is_gensims_name():
    import inspect

    gensim_models = pytest.importorskip("gensim.models")
    for theirs, ours in ((gensim_models.Word2Vec, Word2Vec), (gensim_models.FastText, FastText)):
        assert inspect.signature(theirs).parameters["vector_size"].default == 100 == ours().dim
        assert ours(vector_size=7).dim == theirs(vector_size=7).vector_size == 7


def test_word2vec_alias_errors():
    with pytest.raises(TypeError, match="got both dim= and vector_size="):
        Word2Vec(dim=8, vector_size=16)
    with pytest.raises(TypeError, match="got both dim= and vector_size="):
        Word2Vec().set_params(dim=8, vector_size=16)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'size'; its parameters are dim, window.*"
                                        r"vector_size \(= dim\)"):
        Word2Vec(size=8)


def test_word2vec_takes_gensims_positional_sentences_and_sg(tmp_path):
    """gensim's ``Word2Vec(sentences, vector_size=, sg=)`` trains at once; the same as ``fit`` with our names."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    sentences = [list(rng.choice(words, 12)) for _ in range(200)]
    common = dict(min_count=1, epochs=1, workers=1, seed=3, progress=False)
    for sg, arch in ((1, "skipgram"), (0, "cbow")):
        theirs = Word2Vec(sentences, vector_size=8, sg=sg, **common)
        ours = Word2Vec(dim=8, arch=arch, hs=False, **common).fit(sentences)
        assert theirs.arch == arch and theirs.hs is False and theirs.get_params() == ours.get_params()
        np.testing.assert_array_equal(theirs.wv.matrix, ours.wv.matrix)
    path = tmp_path / "c.txt"
    path.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    by_file = Word2Vec(corpus_file=str(path), vector_size=8, sg=1, **common)
    by_keyword = Word2Vec(sentences=sentences, vector_size=8, sg=1, **common)
    np.testing.assert_array_equal(by_file.wv.matrix, by_keyword.wv.matrix)
    assert Word2Vec(sentences=None, vector_size=8).is_fitted is False  # gensim: no corpus, no training yet
    assert Word2Vec(8).dim == 8  # an integer first is still dim
    small = Word2Vec([["a", "b"]], vector_size=8, min_count=1, epochs=1, progress=False)
    assert small.wv.keys == ["a", "b"] and small.wv.dim == 8


def test_word2vec_gensim_call_errors():
    gensim_models = pytest.importorskip("gensim.models")
    with pytest.raises(RuntimeError, match="you must first build vocabulary"):  # gensim: min_count=5 leaves nothing
        gensim_models.Word2Vec([["a", "b"]], vector_size=8)
    with pytest.raises(InputError, match="min_count=5 removes every word"):  # ours says why
        Word2Vec([["a", "b"]], vector_size=8, progress=False)
    with pytest.raises(InputError, match=r"sg must be 1 \(Skip-gram\) or 0 \(CBOW\), got 2"):
        Word2Vec(sg=2)
    with pytest.raises(InputError, match="sg must be 1"):
        Word2Vec(sg=True)
    with pytest.raises(TypeError, match="got both arch= and sg="):
        Word2Vec(sg=1, arch="cbow")
    with pytest.raises(TypeError, match="more than one corpus"):
        Word2Vec([["a", "b"]], corpus_file="c.txt")
    with pytest.raises(InputError, match=r"hs must be True or False, got 0 \(int\)"):  # gensim's 0 / 1: refused
        Word2Vec([["a", "b"]], min_count=1, hs=0)


def test_fasttext_takes_gensims_call_too(tmp_path):
    """gensim's ``FastText(sentences, vector_size=, sg=1)`` trains at once (it said "got multiple values for
    argument 'dim'"); the same vectors as ``fit`` with our names."""
    from embedlab.train import FastText

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    sentences = [list(rng.choice(words, 12)) for _ in range(100)]
    common = dict(min_count=1, epochs=1, workers=1, seed=3, buckets=500, progress=False)
    ours = FastText(dim=8, **common).fit(sentences)
    for theirs in (FastText(sentences, vector_size=8, **common), FastText(sentences=sentences, vector_size=8, sg=1,
                                                                          **common)):
        assert theirs.get_params() == ours.get_params()
        np.testing.assert_array_equal(theirs.wv.matrix, ours.wv.matrix)
    path = tmp_path / "c.txt"
    path.write_text("\n".join(" ".join(s) for s in sentences) + "\n", encoding="utf-8")
    np.testing.assert_array_equal(FastText(corpus_file=str(path), vector_size=8, **common).wv.matrix, ours.wv.matrix)
    assert FastText(8).dim == 8 and FastText(sentences=None).is_fitted is False
    with pytest.raises(InputError, match=r"^FastText trains Skip-gram only: sg must be 1 \(or left out\), got 0$"):
        FastText(sentences, sg=0)
    with pytest.raises(TypeError, match="^FastText got more than one corpus"):
        FastText(sentences, corpus_file=str(path))


def test_word2vec_alias_survives_clone():
    sklearn_base = pytest.importorskip("sklearn.base")
    assert sklearn_base.clone(Word2Vec(vector_size=8)).dim == 8


def test_load_vectors_takes_the_cli_names():
    glove = load_glove()
    for name in ("glove-6b-50d", "glove", "glove-wiki-gigaword-50"):
        v = embedlab.load_vectors(name)
        assert v.keys == glove.keys and v.dim == 50
        np.testing.assert_array_equal(v.matrix, glove.matrix)
    small = embedlab.load_vectors("glove-6b-50d", limit=5)
    assert small.keys == glove.keys[:5]


def test_load_vectors_wefe_name():
    pytest.importorskip("wefe")
    pytest.importorskip("gensim")
    from embedlab.io.wefe import load_wefe_googlenews

    v, ref = embedlab.load_vectors("wefe-googlenews"), load_wefe_googlenews()
    assert v.keys == ref.keys
    np.testing.assert_array_equal(v.matrix, ref.matrix)


def test_cli_takes_every_vectors_name(capsys):
    import json

    from embedlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["similar", "king", "queen", "--vectors", "glove-wiki-gigaword-50", "--json"])
    assert exc.value.code == 0
    out = json.loads(capsys.readouterr().out)
    glove = load_glove()
    assert out["cosine"] == pytest.approx(float(cosine(glove["king"], glove["queen"])), abs=1e-6)
    with pytest.raises(SystemExit) as exc:
        main(["similar", "king", "queen", "--vectors", "glove-6b-51d"])
    assert exc.value.code == 2
    assert "one of glove-6b-50d, glove, glove-wiki-gigaword-50, wefe-googlenews" in capsys.readouterr().err


def test_load_vectors_name_errors_and_files_first(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="takes only mmap and limit; got format="):
        embedlab.load_vectors("glove", format="word2vec")
    with pytest.raises(InputError, match="takes only mmap and limit; got binary="):
        embedlab.load_vectors("glove-6b-50d", binary=True)
    with pytest.raises(InputError, match="takes only mmap; got limit="):
        embedlab.load_vectors("wefe-googlenews", limit=3)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "glove").write_text("2 3\nhello 1 2 3\nworld 4 5 6\n")  # a file of that name wins
    assert embedlab.load_vectors("glove", format="word2vec").keys == ["hello", "world"]


# ---------------------------------------------------------------------------------------------- Chroma


def _three(metric="cosine", **backend):
    col = Collection.create("c3", dim=3, metric=metric, **backend)
    col.add(ids=["x", "y", "z"], embeddings=[[1, 0, 0], [0, 3, 4], [1, 1, 0]],
            metadatas=[{"k": 1}, {"k": 2}, {}], contents=["ex", "why", None])
    return col


def test_query_returns_chroma_lists_and_distances(backend):
    with _three(**backend) as col:
        r = col.query(query_embeddings=[[1, 0, 0], [0, 1, 0]], n_results=2)
        hits = col.search_many(np.array([[1, 0, 0], [0, 1, 0]], np.float32), k=2)
        assert r["ids"] == [[h.id for h in row] for row in hits] == [["x", "z"], ["z", "y"]]
        np.testing.assert_allclose(r["distances"], [[0.0, 1 - 2 ** -0.5], [1 - 2 ** -0.5, 0.4]], atol=1e-6)
        assert r["documents"] == [["ex", None], [None, "why"]]
        assert r["metadatas"] == [[{"k": 1}, None], [None, {"k": 2}]]
        assert (r["embeddings"], r["uris"], r["data"]) == (None, None, None)
        assert r["included"] == ["metadatas", "documents", "distances"]
        one = col.query(query_embeddings=[0, 3, 4], n_results=5, where={"k": {"$gte": 2}})
        assert one["ids"] == [["y"]]


def test_query_distances_follow_the_space():
    with Collection.create("l2", dim=3, metric="l2") as col:
        col.add(["o", "p"], vectors=[[0, 0, 0], [3, 4, 0]])
        assert col.query(query_embeddings=[[0, 0, 0]], n_results=2)["distances"] == [[0.0, 25.0]]  # squared L2
    with Collection.create("ip", dim=2, metric="dot") as col:
        col.add(["o", "p"], vectors=[[1, 0], [2, 1]])
        assert col.query(query_embeddings=[[1, 1]], n_results=2)["distances"] == [[-2.0, 0.0]]  # 1 - dot


def test_query_texts_and_include(glove50):
    with Collection.create("g", glove50) as col:
        col.add(ids=["a", "b"], documents=["the king and the queen", "a small river"])
        r = col.query(query_texts="a royal king", n_results=1, include=["documents", "embeddings"])
        assert r["ids"] == [[col.search("a royal king", k=1)[0].id]] == [["a"]]
        assert r["documents"] == [["the king and the queen"]] and r["distances"] is None and r["metadatas"] is None
        np.testing.assert_array_equal(r["embeddings"][0][0], col.get(["a"])[0].vector)
        many = col.query(query_texts=["a royal king", "water and rivers"], n_results=1)
        assert many["ids"] == [["a"], ["b"]]


def test_query_errors():
    with _three() as col:
        with pytest.raises(InputError, match="query_texts or query_embeddings"):
            col.query()
        with pytest.raises(InputError, match="query_texts or query_embeddings"):
            col.query(query_texts=["a"], query_embeddings=[[1, 0, 0]])
        with pytest.raises(InputError, match="n_results must be a positive integer, got 0"):
            col.query(query_embeddings=[[1, 0, 0]], n_results=0)
        with pytest.raises(InputError, match="include='uri' is not one of documents, metadatas, embeddings"):
            col.query(query_embeddings=[[1, 0, 0]], include=["uri"])
        with pytest.raises(DimensionError):
            col.query(query_embeddings=[[1, 0]])
        with pytest.raises(TypeError, match="where_document"):
            col.query(query_embeddings=[[1, 0, 0]], where_document={"$contains": "x"})


def test_add_with_chroma_names_equals_native(glove50):
    texts, metas = ["the king", "a river", "a queen"], [{"n": 1}, {"n": 2}, {"n": 3}]
    with Collection.create("native", glove50) as a, Collection.create("chroma", glove50) as b:
        a.add(["1", "2", "3"], texts, metadata=metas)
        b.add(ids=["1", "2", "3"], documents=texts, metadatas=metas)
        for x, y in zip(a.get(["1", "2", "3"]), b.get(["1", "2", "3"]), strict=True):
            assert (x.id, x.metadata, x.content, x.source) == (y.id, y.metadata, y.content, y.source)
            np.testing.assert_array_equal(x.vector, y.vector)
        b.upsert(ids=["1"], documents=["the queen"], metadatas=[{"n": 9}])
        assert b.get(["1"])["documents"] == ["the queen"] and b.get(["1"])["metadatas"] == [{"n": 9}]


def test_add_documents_with_embeddings_keeps_both(glove50):
    given = np.zeros((1, 50), np.float32)
    given[0, :2] = [3.0, 4.0]
    with Collection.create("v", glove50) as col:
        col.add(ids=["a"], documents=["the king"], embeddings=given)  # Chroma: the vectors given, not encoded
        col.add(ids=["b"], documents=["a river"])
        res = col.get(include=["embeddings", "documents"])
        np.testing.assert_allclose(res["embeddings"][0, :3], [0.6, 0.8, 0.0], atol=1e-7)
        np.testing.assert_allclose(res["embeddings"][1], glove50.encode(["a river"])[0], atol=1e-6)
        assert res["documents"] == ["the king", "a river"]


def test_add_refuses_one_argument_under_both_names(glove50):
    with Collection.create("both", glove50) as col:
        with pytest.raises(TypeError, match="both items= and Chroma's documents="):
            col.add(["a"], ["x"], documents=["x"])
        with pytest.raises(TypeError, match="both vectors= and Chroma's embeddings="):
            col.add(["a"], vectors=[[0.0] * 50], embeddings=[[0.0] * 50])
        with pytest.raises(TypeError, match="both metadata= and Chroma's metadatas="):
            col.upsert(["a"], ["x"], metadata=[{}], metadatas=[{}])
        assert col.count() == 0


def test_get_with_chroma_keywords(backend):
    with _three(**backend) as col:
        assert col.get()["ids"] == ["x", "y", "z"]
        g = col.get(where={"k": 2})
        assert (g["ids"], g["documents"], g["metadatas"], g["embeddings"]) == (["y"], ["why"], [{"k": 2}], None)
        assert col.get(limit=2)["ids"] == ["x", "y"] and col.get(offset=1)["ids"] == ["y", "z"]
        assert col.get(limit=1, offset=2)["ids"] == ["z"] and col.get(offset=5)["ids"] == []
        assert col.get(["z", "y", "x"], where={"k": {"$in": [1, 2]}})["ids"] == ["y", "x"]  # ids' order kept
        assert col.get(["z", "x"], limit=1)["ids"] == ["z"]
        with pytest.warns(UserWarning):  # FilterWarning: no item has the key
            assert col.get(where={"nope": 1}) == []
        e = col.get(["y"], include=["embeddings"])
        np.testing.assert_allclose(e["embeddings"], [[0.0, 0.6, 0.8]], atol=1e-7)
        assert e["documents"] is None and e["included"] == ["embeddings"]


def test_get_result_is_still_the_item_list():
    with _three() as col:
        res = col.get(["y", "x"])
        assert isinstance(res, list) and [it.id for it in res] == ["y", "x"] and res[0].metadata == {"k": 2}
        assert res[1:][0].id == "x"
        assert set(res.to_dict()) == {"ids", "embeddings", "documents", "uris", "data", "metadatas", "included"}
        assert col.get(["x", "nope"], missing="skip")["ids"] == ["x"]
        with pytest.raises(KeyError, match="'distances': a get result has ids"):
            res["distances"]


def test_get_errors():
    with _three() as col:
        with pytest.raises(InputError, match="limit must be a positive integer, got 0"):
            col.get(limit=0)
        with pytest.raises(InputError, match="offset must be an integer >= 0, got -1"):
            col.get(offset=-1)
        with pytest.raises(InputError, match="include='distances' is not one of"):
            col.get(include=["distances"])
        with pytest.raises(InputError, match=r"include must be a list of names, e.g. \['documents'\]"):
            col.get(include="documents")
        with pytest.raises(embedlab.errors.UnknownKeyError, match="nope"):
            col.get(["nope"], limit=1)  # missing ids still raise unless missing="skip"


def test_peek():
    with _three() as col:
        p = col.peek(limit=2)
        assert p["ids"] == col.get(limit=2)["ids"] == ["x", "y"]
        np.testing.assert_allclose(p["embeddings"], [[1, 0, 0], [0, 0.6, 0.8]], atol=1e-7)
        assert p["documents"] == ["ex", "why"] and col.peek()["ids"] == ["x", "y", "z"]
    with Collection.create("empty", dim=2) as col:
        assert col.peek() == [] and col.peek()["embeddings"].shape == (0, 2)


def test_get_or_create():
    with Collection.get_or_create("goc", dim=2) as col:
        col.add(["a"], vectors=[[1.0, 0.0]])
    with Collection.get_or_create("goc", dim=2) as col:
        assert col.count() == 1 and col.metric == "cosine"
    for space, metric in (("cosine", "cosine"), ("ip", "dot"), ("l2", "l2")):
        with Collection.get_or_create(f"s-{space}", dim=2, metadata={"hnsw:space": space}) as col:
            assert col.metric == metric


def test_get_or_create_refuses_another_space_on_an_existing_collection():
    """As Chroma, the distance function of an existing collection does not change (nor is it silently kept)."""
    with Collection.get_or_create("sp", dim=2, metadata={"hnsw:space": "ip"}) as col:
        col.add(["a"], vectors=[[1.0, 0.0]])
    with pytest.raises(InputError, match=r"^collection 'sp' exists with hnsw:space 'ip' \(metric dot\), not 'l2': "
                                         r"get_or_create cannot change the distance function of an existing "
                                         r"collection \(nor can Chroma\); leave hnsw:space out, or drop"):
        Collection.get_or_create("sp", dim=2, metadata={"hnsw:space": "l2"})
    with Collection.get_or_create("sp", dim=2, metadata={"hnsw:space": "ip"}) as col:  # the same space: opened
        assert col.count() == 1 and col.metric == "dot"
        col.modify(metadata={"hnsw:space": "ip"})  # no change: accepted
        col.modify(name="sp")
        with pytest.raises(InputError, match=r"exists with hnsw:space 'ip' \(metric dot\), not 'cosine': modify "
                                             r"cannot change"):
            col.modify(metadata={"hnsw:space": "cosine"})
        with pytest.raises(InputError, match="collections are not renamed in place: export 'sp' and import it "
                                             "under 'other'"):
            col.modify(name="other")
        with pytest.raises(InputError, match="collection metadata 'owner' is not kept"):
            col.modify(metadata={"owner": "me"})


def test_update_changes_only_what_is_given(glove50):
    with Collection.create("up", glove50) as col:
        col.add(ids=["a", "b"], documents=["the king", "the river"], metadatas=[{"k": 1, "x": "keep"}, {"k": 2}])
        before = {it.id: it for it in col.get(["a", "b"])}
        col.update(ids=["a"], metadatas=[{"k": 10, "x": None, "new": True}])  # merged; None removes a key
        a = col.get(["a"])[0]
        assert a.metadata == {"k": 10, "new": True} and a.content == "the king"
        assert np.array_equal(a.vector, before["a"].vector)  # not re-encoded
        col.update(ids=["b"], documents=["the queen"])
        b = col.get(["b"])[0]
        assert b.content == "the queen" and b.metadata == {"k": 2}
        np.testing.assert_allclose(b.vector, glove50.encode(["the queen"])[0], atol=1e-6)
        col.update(ids=["a"], embeddings=[before["b"].vector])
        a = col.get(["a"])[0]
        assert np.array_equal(a.vector, before["b"].vector) and a.content == "the king" and a.metadata["k"] == 10
        assert col.count() == 2
        from embedlab.errors import UnknownKeyError

        with pytest.raises(UnknownKeyError, match=r"1 id\(s\) not in collection 'up': \['zz'\]"):
            col.update(ids=["a", "zz"], metadatas=[{"k": 0}, {"k": 0}])
        assert col.get(["a"])[0].metadata["k"] == 10  # nothing was written
        with pytest.raises(InputError, match="update takes embeddings, metadatas or documents"):
            col.update(ids=["a"])
        with pytest.raises(InputError, match="2 metadatas for 1 ids; pass one per id"):
            col.update(ids=["a"], metadatas=[{}, {}])


def test_get_or_create_errors():
    with pytest.raises(InputError, match="hnsw:space must be one of cosine, ip, l2, got 'manhattan'"):
        Collection.get_or_create("bad", dim=2, metadata={"hnsw:space": "manhattan"})
    with pytest.raises(InputError, match="collection metadata 'owner' is not kept"):
        Collection.get_or_create("bad", dim=2, metadata={"owner": "me"})
    with pytest.raises(TypeError, match="both metric= and metadata"):
        Collection.get_or_create("bad", dim=2, metric="l2", metadata={"hnsw:space": "l2"})
    assert Collection.names() == []
