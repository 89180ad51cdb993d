"""LlamaIndex on embedlab: its own VectorStoreIndex end to end (ingest through its splitter, retrieve, query engine,
delete a document, reopen) on both backends, with a collection that embeds by itself and with a vectors-only one;
every MetadataFilters operator and condition either mapped (and agreeing with LlamaIndex's own SimpleVectorStore)
or refused by name; and the rest of the store's interface."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("llama_index.core")

from llama_index.core import Document, StorageContext, VectorStoreIndex  # noqa: E402
from llama_index.core.llms.mock import MockLLM  # noqa: E402
from llama_index.core.node_parser import SentenceSplitter  # noqa: E402
from llama_index.core.schema import TextNode  # noqa: E402
from llama_index.core.vector_stores import SimpleVectorStore  # noqa: E402
from llama_index.core.vector_stores.types import (  # noqa: E402
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from embedlab import Collection  # noqa: E402
from embedlab.errors import InputError  # noqa: E402
from embedlab.integrations.llamaindex import EmbedlabEmbedding, EmbedlabVectorStore, to_where  # noqa: E402
from embedlab.store import filters as reference  # noqa: E402

RAIL = ("The high-speed train crosses the whole country in a few hours. Its carriages are quiet and the seats are "
        "wide. Stations sit in the middle of every large city, so the trip from centre to centre is short. ") * 3
ROAD = "A car has four wheels and an engine. Drivers stop at red lights and park beside the road. " * 3
SEA = "Container ships carry goods across the ocean. Ports load and unload them with large cranes. " * 3


def _docs() -> list[Document]:
    return [Document(text=RAIL, doc_id="rail", metadata={"kind": "rail", "year": 2021}),
            Document(text=ROAD, doc_id="road", metadata={"kind": "road", "year": 2015}),
            Document(text=SEA, doc_id="sea", metadata={"kind": "sea", "year": 2019})]


def _f(key, value, op=FilterOperator.EQ) -> MetadataFilter:
    return MetadataFilter(key=key, value=value, operator=op)


@pytest.fixture
def embed(use_encoder):
    return EmbedlabEmbedding(use_encoder)


# --------------------------------------------------------------------------- end to end with VectorStoreIndex
@pytest.mark.parametrize("kind", ["own-encoder", "vectors-only"])
def test_vector_store_index_end_to_end(backend, embed, use_encoder, kind):
    coll = (Collection.create("li-e2e", use_encoder, **backend) if kind == "own-encoder"
            else Collection.create("li-e2e", dim=use_encoder.dim, **backend))
    store = EmbedlabVectorStore(coll)
    splitter = SentenceSplitter(chunk_size=40, chunk_overlap=0)  # LlamaIndex's tokenizer, offline: several nodes
    index = VectorStoreIndex.from_documents(_docs(), embed_model=embed, transformations=[splitter],
                                            storage_context=StorageContext.from_defaults(vector_store=store))
    nodes = store.get_nodes()
    assert len(nodes) == coll.count() > 3 and {n.ref_doc_id for n in nodes} == {"rail", "road", "sea"}
    assert all(n.metadata["kind"] == n.ref_doc_id and n.embedding is not None for n in nodes)
    assert {n.node_id for n in nodes} == set(coll.ids())
    # a Korean query finds the English text; scores are the collection's cosines, best first
    hits = index.as_retriever(similarity_top_k=3).retrieve("빠른 고속 열차 여행")
    assert hits[0].node.ref_doc_id == "rail" and hits[0].score >= hits[1].score >= hits[2].score
    assert hits[0].node.get_content() in RAIL
    # filters, through LlamaIndex's retriever
    flt = MetadataFilters(filters=[_f("year", 2019, FilterOperator.GTE), _f("kind", "rail", FilterOperator.NE)])
    got = index.as_retriever(similarity_top_k=50, filters=flt).retrieve("train")
    assert got and {h.node.ref_doc_id for h in got} == {"sea"}
    only = index.as_retriever(similarity_top_k=50, doc_ids=["sea", "road"]).retrieve("train")
    assert {h.node.ref_doc_id for h in only} == {"sea", "road"}
    # a query engine over a mock LLM: the answer's sources are the retrieved nodes
    answer = index.as_query_engine(llm=MockLLM(), similarity_top_k=1).query("how do ships carry goods?")
    assert answer.source_nodes[0].node.ref_doc_id == "sea"
    # delete a whole document: its nodes go, the others stay
    before = coll.count()
    n_road = len([n for n in nodes if n.ref_doc_id == "road"])
    index.delete_ref_doc("road")
    assert coll.count() == before - n_road
    assert "road" not in {h.node.ref_doc_id for h in index.as_retriever(similarity_top_k=50).retrieve("a car")}
    # insert one more, async retrieval, then reopen from the stored collection alone
    index.insert(Document(text="Bicycles have two wheels and no engine.", doc_id="bike", metadata={"kind": "road"}))
    ahits = asyncio.run(index.as_retriever(similarity_top_k=1).aretrieve("자전거"))
    assert ahits[0].node.ref_doc_id == "bike"
    name = coll.name
    coll.close()
    reopened = Collection.open(name, **backend)
    again = VectorStoreIndex.from_vector_store(EmbedlabVectorStore(reopened), embed_model=embed)
    top = again.as_retriever(similarity_top_k=1).retrieve("cranes in a port")[0]
    assert top.node.ref_doc_id == "sea" and top.node.metadata == {"kind": "sea", "year": 2019}
    reopened.close()


def test_a_collection_filled_by_embedlab_reads_as_text_nodes(backend, embed, use_encoder):
    coll = Collection.create("li-plain", use_encoder, **backend)
    coll.add(["t1", "c1"], ["A high-speed train crosses the country in hours.", "A car has four wheels."],
             metadata=[{"kind": "rail"}, {"kind": "road"}])
    index = VectorStoreIndex.from_vector_store(EmbedlabVectorStore(coll), embed_model=embed)
    hit = index.as_retriever(similarity_top_k=1).retrieve("빠른 운송 수단")[0]
    assert isinstance(hit.node, TextNode) and hit.node.node_id == "t1" and hit.node.metadata == {"kind": "rail"}
    assert hit.node.get_content() == "A high-speed train crosses the country in hours."
    coll.close()


# --------------------------------------------------------------------------- filters
def test_every_llamaindex_operator_is_mapped_or_refused_by_name():
    mapped = {FilterOperator.EQ: {"k": {"$eq": 1}}, FilterOperator.NE: {"k": {"$ne": 1}},
              FilterOperator.GT: {"k": {"$gt": 1}}, FilterOperator.GTE: {"k": {"$gte": 1}},
              FilterOperator.LT: {"k": {"$lt": 1}}, FilterOperator.LTE: {"k": {"$lte": 1}},
              FilterOperator.CONTAINS: {"k": {"$contains": 1}}}
    lists = {FilterOperator.IN: {"k": {"$in": [1, 2]}}, FilterOperator.NIN: {"k": {"$nin": [1, 2]}},
             FilterOperator.ANY: {"$or": [{"k": {"$contains": 1}}, {"k": {"$contains": 2}}]},
             FilterOperator.ALL: {"$and": [{"k": {"$contains": 1}}, {"k": {"$contains": 2}}]}}
    refused = {FilterOperator.TEXT_MATCH, FilterOperator.TEXT_MATCH_INSENSITIVE}
    for op in FilterOperator:  # an operator LlamaIndex adds later fails here until it is mapped or refused
        flt = MetadataFilters(filters=[_f("k", [1, 2] if op in lists else 1, op)])
        if op in refused:
            with pytest.raises(InputError, match=f"the LlamaIndex filter operator '{op.value}' "
                                                 f"\\(FilterOperator.{op.name}, a substring match on 'k'\\)"):
                to_where(flt)
        elif op == FilterOperator.IS_EMPTY:
            assert to_where(MetadataFilters(filters=[_f("k", None, op)])) == {
                "$or": [{"k": {"$eq": None}}, {"k": {"$eq": ""}}, {"k": {"$eq": []}}]}
        else:
            assert to_where(flt) == {**mapped, **lists}[op], op
            reference.parse(to_where(flt))  # valid embedlab filters
    a, b = _f("x", 1), _f("y", ["z"], FilterOperator.NIN)
    assert to_where(MetadataFilters(filters=[a, b], condition=FilterCondition.OR)) == {
        "$or": [{"x": {"$eq": 1}}, {"y": {"$nin": ["z"]}}]}
    assert to_where(MetadataFilters(filters=[a, b], condition=FilterCondition.NOT)) == {
        "$and": [{"x": {"$ne": 1}}, {"y": {"$in": ["z"]}}]}
    nested = MetadataFilters(filters=[a, MetadataFilters(filters=[b], condition=FilterCondition.NOT)])
    assert to_where(nested) == {"$and": [{"x": {"$eq": 1}}, {"y": {"$in": ["z"]}}]}
    assert to_where(None) is None and to_where(MetadataFilters(filters=[])) is None
    with pytest.raises(InputError, match=r"cannot negate '\$gt' on 'x' exactly"):
        to_where(MetadataFilters(filters=[_f("x", 1, FilterOperator.GT)], condition=FilterCondition.NOT))
    with pytest.raises(InputError, match=r"cannot negate '\$contains' on 'x' exactly"):
        to_where(MetadataFilters(filters=[_f("x", 1, FilterOperator.CONTAINS)], condition=FilterCondition.NOT))
    with pytest.raises(InputError, match="'in' on 'x' needs a non-empty list of values"):
        to_where(MetadataFilters(filters=[_f("x", [], FilterOperator.IN)]))


def _corpus(n=240, dim=12, seed=3):
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    nodes = []
    for i in range(n):
        meta = {"lang": ["en", "ko", "fr"][i % 3], "year": 2000 + int(rng.integers(0, 25)),
                "tags": [t for t in ("rail", "road", "sea") if rng.random() < 0.4], "note": ["", "x"][i % 2]}
        if i % 9 == 0:
            del meta["year"]
        nodes.append(TextNode(id_=f"n{i}", text=f"text {i}", metadata=meta, embedding=vecs[i].tolist()))
    return nodes, rng.standard_normal(dim).astype(np.float32)


AGREEING = [  # LlamaIndex's own SimpleVectorStore gives the same answers to these
    [_f("lang", "ko")], [_f("lang", "ko", FilterOperator.NE)], [_f("year", 2012, FilterOperator.GT)],
    [_f("year", 2012, FilterOperator.GTE)], [_f("year", 2006, FilterOperator.LT)],
    [_f("year", 2006, FilterOperator.LTE)], [_f("lang", ["en", "fr"], FilterOperator.IN)],
    [_f("year", [2001, 2002, 2020], FilterOperator.NIN)], [_f("tags", "sea", FilterOperator.CONTAINS)],
    [_f("tags", ["sea", "road"], FilterOperator.ANY)], [_f("tags", ["sea", "road"], FilterOperator.ALL)],
    [_f("tags", None, FilterOperator.IS_EMPTY)], [_f("year", None, FilterOperator.IS_EMPTY)],
    [_f("note", None, FilterOperator.IS_EMPTY)],
]


@pytest.mark.parametrize("condition", [FilterCondition.AND, FilterCondition.OR, FilterCondition.NOT])
def test_filters_agree_with_llamaindexs_own_store(backend, condition):
    nodes, q = _corpus()
    ours = EmbedlabVectorStore(Collection.create("li-agree", dim=len(q), **backend))
    ours.add(nodes)
    simple = SimpleVectorStore()
    simple.add(nodes)
    pairs = [AGREEING[i] + AGREEING[(i + 5) % len(AGREEING)] for i in range(len(AGREEING))]
    negatable = {FilterOperator.EQ, FilterOperator.NE, FilterOperator.IN, FilterOperator.NIN, FilterOperator.IS_EMPTY}
    checked = 0
    for fs in AGREEING + pairs:
        if condition == FilterCondition.NOT and not all(f.operator in negatable for f in fs):
            with pytest.raises(InputError, match="cannot negate"):
                ours.query(VectorStoreQuery(query_embedding=q.tolist(), similarity_top_k=5,
                                            filters=MetadataFilters(filters=fs, condition=condition)))
            continue
        query = VectorStoreQuery(query_embedding=q.tolist(), similarity_top_k=len(nodes),
                                 filters=MetadataFilters(filters=fs, condition=condition))
        want = simple.query(query)
        got = ours.query(query)
        assert got.ids == want.ids, fs  # the same nodes in the same order (cosine, exact index)
        np.testing.assert_allclose(got.similarities, want.similarities, atol=1e-5)
        checked += 1
    assert checked == (10 if condition == FilterCondition.NOT else 2 * len(AGREEING))
    ours.client.close()


def test_unhonourable_filters_and_modes_are_refused(backend, embed, use_encoder):
    coll = Collection.create("li-refuse", use_encoder, **backend)
    store = EmbedlabVectorStore(coll)
    index = VectorStoreIndex.from_documents(_docs(), embed_model=embed,
                                            storage_context=StorageContext.from_defaults(vector_store=store))
    for op in (FilterOperator.TEXT_MATCH, FilterOperator.TEXT_MATCH_INSENSITIVE):
        retriever = index.as_retriever(filters=MetadataFilters(filters=[_f("kind", "ra", op)]))
        with pytest.raises(InputError, match=f"FilterOperator.{op.name}"):
            retriever.retrieve("train")
        with pytest.raises(InputError, match=f"FilterOperator.{op.name}"):
            store.get_nodes(filters=MetadataFilters(filters=[_f("kind", "ra", op)]))
        with pytest.raises(InputError, match=f"FilterOperator.{op.name}"):
            store.delete_nodes(filters=MetadataFilters(filters=[_f("kind", "ra", op)]))
    not_gt = MetadataFilters(filters=[_f("year", 2018, FilterOperator.GT)], condition=FilterCondition.NOT)
    with pytest.raises(InputError, match=r"cannot negate '\$gt' on 'year' exactly"):
        index.as_retriever(filters=not_gt).retrieve("train")
    with pytest.raises(InputError, match="query mode 'hybrid' is not supported"):
        index.as_retriever(vector_store_query_mode="hybrid").retrieve("train")
    with pytest.raises(InputError, match=r"unknown query keyword\(s\) \['alpha_weight'\]"):
        index.as_retriever(vector_store_kwargs={"alpha_weight": 0.5}).retrieve("train")
    with pytest.raises(InputError, match=r"unknown query keyword\(s\)"):
        asyncio.run(index.as_retriever(vector_store_kwargs={"x": 1}).aretrieve("train"))
    assert coll.count() == 3  # nothing was deleted by the refused delete
    coll.close()


# --------------------------------------------------------------------------- the rest of the store
def test_nodes_get_delete_clear_mmr_and_restrictions(backend, embed, use_encoder):
    coll = Collection.create("li-nodes", use_encoder, **backend)
    store = EmbedlabVectorStore(coll)
    texts = {"a": "The express train is very fast.", "b": "The high-speed train is very fast.",
             "c": "A car has four wheels.", "d": "Ships cross the sea."}
    nodes = [TextNode(id_=k, text=t, metadata={"n": i}) for i, (k, t) in enumerate(texts.items())]
    assert store.add(nodes) == ["a", "b", "c", "d"]  # no embeddings: the collection's encoder embeds them
    q = embed.get_query_embedding("a fast train")
    plain = store.query(VectorStoreQuery(query_embedding=q, similarity_top_k=2))
    assert set(plain.ids) == {"a", "b"}
    by_text = store.query(VectorStoreQuery(query_str="a fast train", similarity_top_k=2))  # no vector: the encoder's
    assert by_text.ids == plain.ids
    mmr = store.query(VectorStoreQuery(query_embedding=q, similarity_top_k=2, mode=VectorStoreQueryMode.MMR,
                                       mmr_threshold=0.2))
    assert mmr.ids[0] in ("a", "b") and mmr.ids[1] in ("c", "d")  # diversity over the near-duplicate
    only = store.query(VectorStoreQuery(query_embedding=q, similarity_top_k=2, node_ids=["c", "d", "zz"]))
    assert set(only.ids) == {"c", "d"} and only.similarities[0] >= only.similarities[1]
    exact = store.query(VectorStoreQuery(query_embedding=q, similarity_top_k=4))
    by_id = dict(zip(exact.ids, exact.similarities, strict=True))
    np.testing.assert_allclose(only.similarities, [by_id[i] for i in only.ids], atol=1e-5)
    assert [n.node_id for n in store.get_nodes(["d", "nope", "a"])] == ["d", "a"]
    assert [n.node_id for n in store.get_nodes(filters=MetadataFilters(filters=[_f("n", 2, FilterOperator.GTE)]))] \
        == ["c", "d"]
    assert [n.node_id for n in store.get_nodes(["a", "c"], MetadataFilters(filters=[_f("n", 1, FilterOperator.GT)]))] \
        == ["c"]
    with pytest.raises(InputError, match="some nodes carry embeddings and some do not"):
        store.add([TextNode(id_="x", text="x", embedding=[0.0] * use_encoder.dim), TextNode(id_="y", text="y")])
    store.delete_nodes(["a", "b"], MetadataFilters(filters=[_f("n", 0)]))  # only the listed nodes that match
    assert sorted(coll.ids()) == ["b", "c", "d"]
    store.delete_nodes(filters=MetadataFilters(filters=[_f("n", 3)]))
    assert sorted(coll.ids()) == ["b", "c"]
    store.clear()
    assert coll.count() == 0 and store.get_nodes() == []
    coll.close()


def test_vectors_only_store_needs_vectors(backend):
    coll = Collection.create("li-vo", dim=3, **backend)
    store = EmbedlabVectorStore(coll)
    with pytest.raises(InputError, match="is vectors-only"):
        store.add([TextNode(id_="a", text="no vector")])
    store.add([TextNode(id_="a", text="x", embedding=[1.0, 0.0, 0.0])])
    with pytest.raises(InputError, match="is vectors-only: pass query_embedding"):
        store.query(VectorStoreQuery(query_str="x"))
    assert store.query(VectorStoreQuery(query_embedding=[1.0, 0.0, 0.0])).ids == ["a"]
    coll.close()


def test_embedding_model(embed, use_encoder):
    texts = ["A train.", "기차가 빠르다."]
    np.testing.assert_allclose(embed.get_text_embedding_batch(texts), use_encoder.encode_documents(texts), atol=1e-6)
    np.testing.assert_allclose(embed.get_query_embedding("train"), use_encoder.encode_queries(["train"])[0],
                               atol=1e-6)
    np.testing.assert_allclose(asyncio.run(embed.aget_query_embedding("train")), embed.get_query_embedding("train"),
                               atol=1e-6)
    assert embed.model_name == "use-multilingual" and EmbedlabEmbedding.class_name() == "EmbedlabEmbedding"
