"""LangChain on embedlab: langchain-tests' standard suites (EmbeddingsUnitTests, EmbeddingsIntegrationTests,
VectorStoreIntegrationTests, sync and async) on both backends, with a vectors-only collection behind LangChain's
own fake embeddings and with a collection that embeds by itself; then what those suites leave out: filter recall
through the LangChain interface, filters and keywords that are refused (never ignored), MMR, retrievers, the
self-query translator, and LangChain's OpenAIEmbeddings against `embedlab serve` at its default batch size."""

from __future__ import annotations

import asyncio
import inspect

import httpx
import numpy as np
import pytest

pytest.importorskip("langchain_core")
pytest.importorskip("langchain_tests")
pytest_asyncio = pytest.importorskip("pytest_asyncio")

from langchain_core.documents import Document  # noqa: E402
from langchain_core.embeddings import Embeddings  # noqa: E402
from langchain_core.structured_query import (  # noqa: E402
    Comparator,
    Comparison,
    Operation,
    Operator,
    StructuredQuery,
)
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, VectorStoreIntegrationTests  # noqa: E402
from langchain_tests.unit_tests import EmbeddingsUnitTests  # noqa: E402

from embedlab import Collection  # noqa: E402
from embedlab.encoders import Encoder  # noqa: E402
from embedlab.errors import EncoderMismatchError, InputError  # noqa: E402
from embedlab.integrations.langchain import (  # noqa: E402
    EmbedlabEmbeddings,
    EmbedlabTranslator,
    EmbedlabVectorStore,
)
from embedlab.store import filters as reference  # noqa: E402

_SHARED: dict = {}  # the session's encoder, for the suites' class-level properties


@pytest.fixture(autouse=True)
def _encoder(use_encoder):
    _SHARED["use"] = use_encoder


def _async_marked(cls: type) -> type:
    """Mark the suite's coroutine tests for pytest-asyncio (langchain's own packages run it in auto mode)."""
    for name in dir(cls):
        fn = getattr(cls, name)
        if name.startswith("test_") and inspect.iscoroutinefunction(fn):
            if not any(m.name == "asyncio" for m in getattr(fn, "pytestmark", [])):
                pytest.mark.asyncio(fn)
    return cls


# --------------------------------------------------------------------------- the standard suites
class TestEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[EmbedlabEmbeddings]:
        return EmbedlabEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"encoder": _SHARED["use"]}


@_async_marked
class TestEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[EmbedlabEmbeddings]:
        return EmbedlabEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"encoder": _SHARED["use"]}


@_async_marked
class TestVectorStoreVectorsOnly(VectorStoreIntegrationTests):
    """A vectors-only collection storing what LangChain's DeterministicFakeEmbedding computes."""

    @pytest.fixture
    def vectorstore(self, backend):
        coll = Collection.create("lc-standard", dim=6, **backend)
        yield EmbedlabVectorStore(coll, embedding=self.get_embeddings())
        coll.close()


@_async_marked
class TestVectorStoreOwnEncoder(VectorStoreIntegrationTests):
    """A collection bound to embedlab's default encoder, which embeds documents and queries itself."""

    @staticmethod
    def get_embeddings() -> Embeddings:
        return EmbedlabEmbeddings(_SHARED["use"])

    @pytest.fixture
    def vectorstore(self, backend, use_encoder):
        coll = Collection.create("lc-standard-enc", use_encoder, **backend)
        yield EmbedlabVectorStore(coll)
        coll.close()


# --------------------------------------------------------------------------- filters
class KeyedEmbeddings(Embeddings):
    """Fixed random unit vectors by text (seeded), so the reference ranking is exact."""

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.table[t].tolist() for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.table[text].tolist()


class TinyEncoder(Encoder):
    """Another text encoder (counts of a few letters), to be refused by a collection built with a different one."""

    name, dim = "tiny-letters", 4

    def _encode_batch(self, items):
        return np.array([[t.count(c) + 1.0 for c in "aeio"] for t in items], np.float32)


def _corpus(n: int = 400, dim: int = 16, seed: int = 7):
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((n + 5, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = [f"doc {i}" for i in range(n)] + [f"query {j}" for j in range(5)]
    metas = []
    for i in range(n):
        m = {"lang": ["en", "ko", "fr"][i % 3], "year": 2000 + int(rng.integers(0, 25)),
             "tags": [t for t in ("rail", "road", "sea") if rng.random() < 0.4]}
        if i % 7 == 0:
            m["draft"] = True
        if i % 11 == 0:
            del m["year"]
        metas.append(m)
    return texts, vecs, metas


FILTERS = [
    {"lang": "ko"},
    {"year": {"$gte": 2020}},
    {"$and": [{"lang": {"$in": ["en", "fr"]}}, {"year": {"$lt": 2005}}]},
    {"$or": [{"tags": {"$contains": "sea"}}, {"draft": True}]},
    {"year": {"$exists": False}},
    {"lang": {"$ne": "en"}, "tags": {"$contains": "rail"}},
    {"year": {"$nin": [2001, 2002, 2003]}, "lang": "fr"},
]


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_filter_recall_through_langchain(backend, index):
    """Filtered searches through the LangChain interface return the k best items among those that match (the
    exact index: exactly them; HNSW: recall@10 >= 0.9 over every filter), sync and async."""
    texts, vecs, metas = _corpus()
    n = len(metas)
    emb = KeyedEmbeddings(dict(zip(texts, vecs, strict=True)))
    coll = Collection.create("lc-filters", dim=vecs.shape[1], index=index, **backend)
    store = EmbedlabVectorStore(coll, embedding=emb)
    store.add_texts(texts[:n], metas, ids=[f"d{i}" for i in range(n)])
    recalls = []
    for where in FILTERS:
        flt = reference.parse(where)
        keep = [i for i in range(n) if reference.matches(flt, metas[i])]
        assert 10 < len(keep) < n  # every filter both keeps and drops
        for j in range(3):
            q = vecs[n + j]
            want = [f"d{i}" for i in sorted(keep, key=lambda i: -float(vecs[i] @ q))[:10]]
            got = store.similarity_search_with_score(f"query {j}", k=10, filter=where)
            ids = [d.id for d, _ in got]
            assert all(reference.matches(flt, d.metadata) for d, _ in got)
            if index == "exact":
                assert ids == want, where
                np.testing.assert_allclose([s for _, s in got], [float(vecs[int(i[1:])] @ q) for i in want],
                                           atol=1e-5)
            recalls.append(len(set(ids) & set(want)) / 10)
    assert np.mean(recalls) >= (1.0 if index == "exact" else 0.9), np.mean(recalls)
    docs = asyncio.run(store.asimilarity_search("query 0", k=10, filter=FILTERS[2]))
    assert [d.id for d in docs] == [d.id for d in store.similarity_search("query 0", k=10, filter=FILTERS[2])]
    coll.close()


def test_filters_and_keywords_that_cannot_be_honoured_are_refused(backend):
    coll = Collection.create("lc-refuse", dim=6, **backend)
    store = EmbedlabVectorStore(coll, embedding=KeyedEmbeddings({"a": np.ones(6, np.float32)}))
    store.add_texts(["a"], [{"lang": "en"}], ids=["1"])
    with pytest.raises(InputError, match=r"unknown operator '\$like'"):
        store.similarity_search("a", k=1, filter={"lang": {"$like": "e%"}})
    with pytest.raises(InputError, match="a callable filter cannot run inside the collection's search"):
        store.similarity_search("a", k=1, filter=lambda doc: True)
    with pytest.raises(InputError, match=r"unknown search keyword\(s\) \['where'\]"):
        store.similarity_search("a", k=1, where={"lang": "en"})
    with pytest.raises(InputError, match=r"unknown operator '\$between'"):
        store.delete(filter={"lang": {"$between": ["a", "z"]}})
    with pytest.raises(InputError, match=r"unknown operator '\$regex'"):
        store.as_retriever(search_kwargs={"filter": {"lang": {"$regex": "^e"}}}).invoke("a")
    with pytest.raises(InputError, match=r"unknown operator '\$like'"):
        asyncio.run(store.asimilarity_search("a", k=1, filter={"lang": {"$like": "e%"}}))
    assert [d.id for d in store.similarity_search("a", k=1, filter={"lang": "en"})] == ["1"]  # nothing was hurt
    coll.close()


def test_the_self_query_translator():
    tr = EmbedlabTranslator()

    def where(flt):
        return tr.visit_structured_query(StructuredQuery(query="q", filter=flt, limit=None))[1]["filter"]

    eq = Comparison(comparator=Comparator.EQ, attribute="lang", value="ko")
    gte = Comparison(comparator=Comparator.GTE, attribute="year", value=2020)
    inn = Comparison(comparator=Comparator.IN, attribute="lang", value=["en", "fr"])
    assert where(eq) == {"lang": {"$eq": "ko"}}
    assert where(Operation(operator=Operator.AND, arguments=[eq, gte])) == {
        "$and": [{"lang": {"$eq": "ko"}}, {"year": {"$gte": 2020}}]}
    assert where(Operation(operator=Operator.NOT, arguments=[Operation(operator=Operator.OR, arguments=[eq, inn])])) \
        == {"$and": [{"lang": {"$ne": "ko"}}, {"lang": {"$nin": ["en", "fr"]}}]}
    assert tr.visit_structured_query(StructuredQuery(query="q", filter=None, limit=None)) == ("q", {})
    for comparator in (Comparator.CONTAIN, Comparator.LIKE):
        with pytest.raises(InputError, match=f"the LangChain comparator '{comparator.value}'"):
            where(Comparison(comparator=comparator, attribute="title", value="train"))
    with pytest.raises(InputError, match=r"cannot negate '\$gte' on 'year' exactly"):
        where(Operation(operator=Operator.NOT, arguments=[gte]))


def test_translated_not_filters_search_exactly(backend):
    texts, vecs, metas = _corpus(n=120)
    store = EmbedlabVectorStore(Collection.create("lc-not", dim=vecs.shape[1], **backend),
                                embedding=KeyedEmbeddings(dict(zip(texts, vecs, strict=True))))
    store.add_texts(texts[:120], metas)
    eq = Comparison(comparator=Comparator.EQ, attribute="lang", value="ko")
    query, kw = EmbedlabTranslator().visit_structured_query(
        StructuredQuery(query="query 1", filter=Operation(operator=Operator.NOT, arguments=[eq]), limit=None))
    docs = store.similarity_search(query, k=200, **kw)
    assert len(docs) == sum(m["lang"] != "ko" for m in metas) and all(d.metadata["lang"] != "ko" for d in docs)
    store.collection.close()


# --------------------------------------------------------------------------- the rest of the interface
def test_own_encoder_store_from_texts_search_retriever_mmr(backend, use_encoder):
    texts = ["A high-speed train crosses the country in hours.", "The express train is very fast.",
             "A car has four wheels.", "Ships carry containers across the sea."]
    metas = [{"kind": "rail"}, {"kind": "rail"}, {"kind": "road"}, {"kind": "sea"}]
    store = EmbedlabVectorStore.from_texts(texts, EmbedlabEmbeddings(use_encoder), metas, ids=["t1", "t2", "c", "s"],
                                           collection_name="lc-own", **backend)
    coll = store.collection
    assert coll.count() == 4 and coll.contents(["c"]) == ["A car has four wheels."]  # usable as a plain collection
    assert store.similarity_search("빠른 운송 수단", k=1)[0].id in ("t1", "t2")  # a Korean query, English texts
    assert [d.id for d in store.similarity_search("빠른 운송 수단", k=3, filter={"kind": {"$ne": "rail"}})] \
        in (["c", "s"], ["s", "c"])
    rel = store.similarity_search_with_relevance_scores("a fast train", k=4)
    assert all(0.0 <= r <= 1.0 for _, r in rel) and rel[0][1] == max(r for _, r in rel)
    retriever = store.as_retriever(search_kwargs={"k": 1, "filter": {"kind": "sea"}})
    assert [d.id for d in retriever.invoke("fast train")] == ["s"]
    assert [d.id for d in asyncio.run(retriever.ainvoke("fast train"))] == ["s"]
    # MMR: the second rail text is a near-duplicate of the first; diversity picks another kind instead
    near = [d.id for d in store.similarity_search("a fast train", k=2)]
    mmr = [d.id for d in store.max_marginal_relevance_search("a fast train", k=2, fetch_k=4, lambda_mult=0.2)]
    assert set(near) == {"t1", "t2"} and mmr[0] in ("t1", "t2") and mmr[1] in ("c", "s")
    mmr_ret = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 4, "lambda_mult": 0.2})
    assert [d.id for d in mmr_ret.invoke("a fast train")] == mmr
    assert [d.id for d in store.max_marginal_relevance_search("a fast train", k=2, filter={"kind": "rail"})] \
        in (["t1", "t2"], ["t2", "t1"])
    assert store.get_by_ids(["s", "nope", "s", "c"]) == [
        Document(id="s", page_content=texts[3], metadata={"kind": "sea"}),
        Document(id="c", page_content=texts[2], metadata={"kind": "road"})]
    # reopened by name: the same collection, and from_texts adds to it
    again = EmbedlabVectorStore.from_texts(["Bicycles have two wheels."], EmbedlabEmbeddings(use_encoder),
                                           collection_name="lc-own", **backend)
    assert again.collection.count() == 5
    again.collection.close()
    assert store.delete(filter={"kind": "rail"}) and coll.count() == 3
    assert store.delete() and coll.count() == 0  # no ids, no filter: everything (LangChain's convention)
    coll.close()


def test_store_refuses_mismatched_embeddings(backend, use_encoder):
    vec_only = Collection.create("lc-vo", dim=4, **backend)
    with pytest.raises(InputError, match="is vectors-only: pass the embedding model"):
        EmbedlabVectorStore(vec_only)
    own = Collection.create("lc-enc", use_encoder, **backend)
    with pytest.raises(InputError, match="embeds with its own encoder"):
        EmbedlabVectorStore(own, embedding=KeyedEmbeddings({}))
    store = EmbedlabVectorStore(own, embedding=EmbedlabEmbeddings(use_encoder))  # the same model: accepted
    assert store.embeddings.embed_query("x") == EmbedlabEmbeddings(use_encoder).embed_query("x")
    wrong_width = EmbedlabVectorStore(vec_only, embedding=KeyedEmbeddings({"a": np.ones(6, np.float32)}))
    with pytest.raises(InputError, match="6"):
        wrong_width.add_texts(["a"])
    with pytest.raises(InputError, match="got 2 ids for 1 texts"):
        store.add_texts(["a"], ids=["1", "2"])
    with pytest.raises(InputError, match="not JSON-serialisable"):
        store.add_texts(["a"], [{"when": object()}])
    with pytest.raises(InputError, match=r"unknown keyword\(s\) \['upsert'\]"):
        store.add_texts(["a"], upsert=True)
    with pytest.raises(InputError, match="embeds with its own encoder"):
        EmbedlabVectorStore.from_texts(["x"], KeyedEmbeddings({"x": np.ones(4, np.float32)}),
                                       collection_name="lc-enc", **backend)
    with pytest.raises(EncoderMismatchError):
        EmbedlabVectorStore.from_texts(["x"], EmbedlabEmbeddings(TinyEncoder()), collection_name="lc-enc", **backend)
    assert own.count() == 0 and vec_only.count() == 0  # refused writes wrote nothing
    own.close()
    vec_only.close()


class FirstWord(Embeddings):
    """An embedding model that reads only the first word (as models that truncate long texts do)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        word = text.split()[0]
        return [float(len(word)), float(ord(word[0])), 1.0]


@pytest.mark.parametrize("vectors", ["vectors-only", "own-encoder"])
def test_an_edited_text_is_rewritten_even_when_its_vector_is_not(backend, vectors, use_encoder, tmp_path):
    if vectors == "vectors-only":
        coll = Collection.create("lc-edit", dim=3, **backend)
        store = EmbedlabVectorStore(coll, embedding=FirstWord())
    else:
        coll = Collection.create("lc-edit", use_encoder, **backend)
        store = EmbedlabVectorStore(coll)
    store.add_texts(["Trains run on rails.", "Cars run on roads."], [{"source": "a.txt"}, {}], ids=["1", "2"])
    before = coll.get(["1"])[0].vector
    store.add_texts(["Trains are fast."], [{"source": "a.txt", "v": 2}], ids=["1"])
    assert store.get_by_ids(["1"]) == [Document(id="1", page_content="Trains are fast.",
                                                metadata={"source": "a.txt", "v": 2})]
    if vectors == "vectors-only":
        np.testing.assert_array_equal(coll.get(["1"])[0].vector, before)  # the same vector, the new text
    assert coll.sources() == {"2": None, "1": "a.txt"}  # LangChain loaders' "source": the item's source
    path = tmp_path / "a-file.txt"  # a text that names a file is stored (and hashed) as that text
    path.write_text("file bytes")
    store.add_texts([str(path)], ids=["3"])
    assert store.get_by_ids(["3"])[0].page_content == str(path)
    coll.close()


# --------------------------------------------------------------------------- LangChain's OpenAI client on `serve`
@pytest.fixture(scope="module")
def openai_server(tmp_path_factory, use_encoder):
    pytest.importorskip("uvicorn")
    from embedlab.server import create_app
    from embedlab.server.background import BackgroundServer

    with BackgroundServer(create_app(tmp_path_factory.mktemp("lc-serve"), vectors_sets={})) as srv:
        yield srv


def _openai_embeddings(url: str, **kw):
    lc_openai = pytest.importorskip("langchain_openai")
    # check_embedding_ctx_length=False: send texts, not tiktoken ids (tiktoken would download its tables)
    return lc_openai.OpenAIEmbeddings(model="use-multilingual", base_url=url + "/v1", api_key="not-needed",
                                      check_embedding_ctx_length=False, max_retries=0, **kw)


@_async_marked
class TestOpenAIEmbeddingsOnServe(EmbeddingsIntegrationTests):
    """LangChain's OpenAIEmbeddings pointed at `embedlab serve` passes the same standard suite."""

    @property
    def embeddings_class(self) -> type[Embeddings]:
        return type(_openai_embeddings("http://127.0.0.1:9"))

    @pytest_asyncio.fixture
    async def model(self, openai_server):
        async with httpx.AsyncClient() as client:  # closed in the test's own event loop
            yield _openai_embeddings(openai_server.url, http_async_client=client)


def test_langchains_default_batches_are_accepted(openai_server, use_encoder):
    emb = _openai_embeddings(openai_server.url)
    assert emb.chunk_size == 1000  # LangChain's default: up to 1,000 texts per request
    texts = [f"note {i}: the train leaves at {i % 24} o'clock" for i in range(1500)]
    vecs = np.array(emb.embed_documents(texts), np.float32)  # two requests: 1,000 + 500
    np.testing.assert_allclose(vecs[[0, 999, 1000, 1499]], use_encoder.encode([texts[i] for i in (0, 999, 1000, 1499)]),
                               atol=1e-5)
    big = _openai_embeddings(openai_server.url, chunk_size=2048)  # OpenAI's own limit, in one request
    assert len(big.embed_documents(texts + texts[:548])) == 2048
