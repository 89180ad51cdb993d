"""The Index interface itself: one SearchParams value through every kind (the same answers as the kinds'
keywords, unknown settings named), memory_bytes and training on every kind, what a new coded kind implements,
and the index package's import graph (kernels below indexes, no cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import embedlab.index as index_pkg
from embedlab.errors import InputError
from embedlab.index import ExactIndex, SearchParams, make_index
from embedlab.index.faiss_codes import FaissCodes
from embedlab.index.plan import hnsw_graph_bytes, index_memory_bytes
from embedlab.index.quantize import code_bytes


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(3)
    return rng.standard_normal((3000, 32)).astype(np.float32), rng.standard_normal((12, 32)).astype(np.float32)


def _built(kind, x, **params):
    idx = make_index(kind, x.shape[1], "cosine", **params)
    idx.add(np.arange(len(x)), x)
    idx.remove(np.arange(0, len(x), 7))
    return idx


@pytest.mark.parametrize(("kind", "params", "keyword", "settings"), [
    ("hnsw", {"M": 8, "ef_construction": 40}, {"ef": 12}, SearchParams(ef_search=12)),
    ("hnsw", {"M": 8, "precision": "int8"}, {"ef": 12, "rescore": 2}, SearchParams(ef_search=12, rescore=2)),
    ("ivf", {"nlist": 16}, {"nprobe": 3}, SearchParams(nprobe=3)),
    ("ivf", {"nlist": 16, "m": 8}, {"nprobe": 3, "rescore": 1}, SearchParams(nprobe=3, rescore=1)),
    ("exact", {"precision": "binary"}, {"rescore": 2}, SearchParams(rescore=2)),
])
def test_search_params_answer_as_the_keywords_do(rows, kind, params, keyword, settings):
    x, q = rows
    idx = _built(kind, x, **params)
    for flt in (None, np.arange(1, 3000, 2)):
        want_ids, want_sc = idx.search(q, 10, filter=flt, **keyword)
        got_ids, got_sc = idx.search(q, 10, filter=flt, params=settings)
        np.testing.assert_array_equal(got_ids, want_ids)
        np.testing.assert_array_equal(got_sc, want_sc)
    default_ids, _ = idx.search(q, 10)
    np.testing.assert_array_equal(idx.search(q, 10, params=SearchParams())[0], default_ids)  # None: saved setting


def test_a_setting_a_kind_cannot_use_is_named(rows):
    x, q = rows
    hnsw = _built("hnsw", x, M=8)
    with pytest.raises(InputError, match=r"hnsw index: nprobe; it takes ef_search"):
        hnsw.search(q, 5, params=SearchParams(nprobe=4))
    with pytest.raises(InputError, match=r"hnsw index: nprobe; it takes ef$"):  # keywords keep their wording
        hnsw.search(q, 5, nprobe=4)
    with pytest.raises(InputError, match="rescore applies to compressed codes"):  # float32 codes
        hnsw.search(q, 5, params=SearchParams(rescore=2))
    with pytest.raises(InputError, match="ef_search must be >= 1, got 0"):
        hnsw.search(q, 5, params=SearchParams(ef_search=0))
    with pytest.raises(InputError, match="ef=8 and ef_search=9 .* give one"):
        hnsw.search(q, 5, ef=8, params=SearchParams(ef_search=9))
    ivf = _built("ivf", x, nlist=16)
    with pytest.raises(InputError, match="ivf index: ef_search; it takes nprobe"):
        ivf.search(q, 5, params=SearchParams(ef_search=4))
    with pytest.raises(InputError, match="nprobe=17 exceeds nlist=16"):
        ivf.search(q, 5, params=SearchParams(nprobe=17))
    coded = _built("exact", x, precision="int8")
    with pytest.raises(InputError, match="exact index: ef_search$"):
        coded.search(q, 5, params=SearchParams(ef_search=4))
    exact = _built("exact", x)
    np.testing.assert_array_equal(exact.search(q, 5, params=SearchParams())[0], exact.search(q, 5)[0])
    with pytest.raises(InputError, match="ef_search, rescore do.es. not apply to a float32 exact index"):
        exact.search(q, 5, params=SearchParams(ef_search=4, rescore=2))
    with pytest.raises(TypeError, match="unexpected keyword argument 'ef'"):  # as before SearchParams existed
        exact.search(q, 5, ef=4)


@pytest.mark.parametrize(("kind", "params"), [
    ("exact", {}), ("exact", {"precision": "int8"}), ("hnsw", {"M": 8}), ("hnsw", {"M": 8, "precision": "binary"}),
    ("ivf", {"nlist": 16}),
])
def test_memory_bytes_is_what_plan_measures(rows, kind, params):
    x, _ = rows
    idx = _built(kind, x, **params)
    assert index_memory_bytes(idx) == idx.memory_bytes() > 0
    if kind == "hnsw" and "precision" not in params:  # codes, id maps and the graph (links, offsets, levels)
        n = 3000
        graph = idx.memory_bytes() - n * code_bytes("float32", 32) - 25 * n
        assert 0.9 * hnsw_graph_bytes(8) * n < graph < 1.1 * hnsw_graph_bytes(8) * n


def test_training_is_part_of_the_interface(rows):
    x, _ = rows
    exact = ExactIndex(32)
    exact.train(x)  # nothing to train: a no-op
    assert exact.trained and exact.train_min() == 0 and not exact.has_vector_source
    assert make_index("hnsw", 32).train_min() == 0  # float32 codes need no training
    int8 = make_index("exact", 32, precision="int8")
    assert not int8.trained and int8.train_min() == 1000
    int8.train(x)
    assert int8.trained
    int8.set_vector_source(lambda ids: x[ids])
    assert int8.has_vector_source


def test_what_a_new_coded_kind_implements():
    assert FaissCodes.__abstractmethods__ == {"new_index", "search", "install_calibration"}


def test_index_package_imports_form_no_cycle():
    """Every import inside embedlab.index (module level and inside functions): the kernels import no index, and
    no module reaches back to one that imports it."""
    folder = Path(index_pkg.__file__).parent
    names = {p.stem for p in folder.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        out = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                targets = [node.module.split(".")[0]] if node.module else [
                    a.name if a.name in names else "__init__" for a in node.names]
                out.update(t for t in targets if t != path.stem)
                assert not any(t.startswith("_") and t != "__init__" for t in targets), (path.stem, targets)
        graph[path.stem] = out
    assert graph["kernels"] == set()
    seen: dict[str, int] = {}

    def visit(mod: str, trail: list[str]) -> None:
        if seen.get(mod) == 1:
            pytest.fail(f"import cycle: {' -> '.join(trail + [mod])}")
        if seen.get(mod) == 2:
            return
        seen[mod] = 1
        for dep in graph.get(mod, ()):
            visit(dep, trail + [mod])
        seen[mod] = 2

    for mod in graph:
        visit(mod, [])
