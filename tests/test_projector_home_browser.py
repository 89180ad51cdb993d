"""The page at ``/`` (the projector) in Debian's headless Chromium, on the tour collection and GloVe: what the old
plotly explorer did, checked on the projector: the tour collection opens coloured by category, hover labels, a
Korean query lists and highlights vehicles, clicking a point (and a listed neighbour) lists its neighbours, word
analogies beside a collection, late answers dropped, a vectors set, the API key, t-SNE as a polled job, a damaged
collection listed, and the source last chosen in this browser. Waits on page state, never on fixed sleeps."""

from __future__ import annotations

import numpy as np
import pytest
from projector_pages import DRAWN  # noqa: E402
from projector_pages import open_page as _open  # noqa: E402

from embedlab.cli.tour import tour_documents  # noqa: E402
from embedlab.server import create_app  # noqa: E402
from embedlab.server.background import BackgroundServer  # noqa: E402
from embedlab.store import Collection  # noqa: E402

GLOVE_ROWS = 5_000  # the most frequent words: enough for the analogies and france's neighbours, quick to lay out


@pytest.fixture(scope="module")
def server(tmp_path_factory, use_encoder):
    home = tmp_path_factory.mktemp("browser-home")
    docs = tour_documents()
    col = Collection.create("tour", use_encoder, root=home / "collections")
    col.add([d["id"] for d in docs], [d["text"] for d in docs], metadata=[{"category": d["category"]} for d in docs])
    col.close()
    from embedlab.io.glove import load_glove

    with BackgroundServer(create_app(home, vectors_sets={"glove-50": lambda: load_glove(limit=GLOVE_ROWS)})) as srv:
        yield srv


def _ids(page, selector: str) -> list[str]:
    return [li.get_attribute("data-id") for li in page.query_selector_all(selector)]


def _row(server, key: str, kind: str = "collection", name: str = "tour") -> int:
    import httpx

    rows = httpx.post(f"{server.url}/api/projector/{kind}/{name}/select", json={"regex": f"^{key}$"}).json()["rows"]
    assert len(rows) == 1
    return rows[0]


def _isolated(server) -> int:
    """The tour row farthest from its nearest 2-D neighbour (clicking it hits no other point)."""
    import httpx

    xy = np.frombuffer(httpx.get(server.url + "/api/projector/collection/tour/coords").content, "<f4").reshape(-1, 2)
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return int(d.min(axis=1).argmax())


def _wait_status(pg, start: str) -> None:
    try:
        pg.wait_for_function(f"document.getElementById('status').textContent.startsWith({start!r})", timeout=90_000)
    except Exception:
        raise AssertionError(pg.inner_text("#status")) from None


@pytest.fixture(scope="module")
def page(server, browser):
    pg = _open(browser, server.url + "/")
    yield pg
    pg.close()


def test_slash_opens_the_tour_collection_coloured_by_category(page):
    assert page.url.split("#")[0].endswith("/projector")
    assert page.input_value("#source") == "collection:tour"
    assert page.inner_text("#status") == "20 points · PCA · tour"
    assert page.evaluate("projector.state.drawnPoints") == 20
    assert page.input_value("#color-by") == "category"
    legend = page.evaluate("[...document.querySelectorAll('#legend .entry')].map(e => e.textContent)")
    assert {e.split(" (")[0] for e in legend} >= {"fruit", "animal", "vehicle"}
    assert sum(int(e.split(" (")[1].rstrip(")")) for e in legend) == 20
    assert page.errors == []


def test_hover_shows_the_label(page, server):
    row = _row(server, "banana")
    pos = page.evaluate(f"projector.pointPosition({row})")
    page.mouse.move(pos["x"], pos["y"])
    page.wait_for_function("document.getElementById('tooltip').style.display === 'block'")
    assert page.inner_text("#tooltip").splitlines()[0] == "banana"
    assert "A banana is a long, curved yellow fruit" in page.inner_text("#tooltip")
    page.mouse.move(995, 645)


def test_korean_query_lists_and_highlights_vehicles(page, server):
    import httpx

    page.fill("#query", "빠른 운송 수단")  # "fast means of transport"
    page.click("#query-button")
    page.wait_for_function("document.getElementById('neighbors-title').textContent === 'Nearest to “빠른 운송 수단”'")
    listed = _ids(page, "#neighbors li")
    vehicles = {d["id"] for d in tour_documents() if d["category"] == "vehicle"}
    api = httpx.post(server.url + "/api/collections/tour/search", json={"query": "빠른 운송 수단", "k": 10}).json()
    assert listed == [h["id"] for h in api["hits"]] and len(listed) == 10 and set(listed[:3]) <= vehicles
    assert page.evaluate("projector.plot().get('selectedPoints')") == [_row(server, i) for i in listed]
    assert page.inner_text("#status").startswith("“빠른 운송 수단” → ")


def test_clicking_a_point_and_then_a_listed_neighbour(page, server):
    import httpx

    row = _isolated(server)
    key = httpx.get(f"{server.url}/api/projector/collection/tour/point/{row}").json()["id"]
    pos = page.evaluate(f"projector.pointPosition({row})")
    page.mouse.click(pos["x"], pos["y"])
    page.wait_for_function(f"document.getElementById('neighbors-title').dataset.id === {key!r}")
    listed = _ids(page, "#neighbors li")
    api = httpx.post(server.url + "/api/collections/tour/search", json={"id": key, "k": 10}).json()["hits"]
    assert listed == [h["id"] for h in api] and key not in listed
    category = next(d["category"] for d in tour_documents() if d["id"] == key)
    assert {next(d["category"] for d in tour_documents() if d["id"] == i) for i in listed[:3]} == {category}
    assert page.inner_text("#neighbors-title") == f"Neighbours of {key}"
    page.click("#neighbors li >> nth=0")  # a listed neighbour is itself clickable
    page.wait_for_function(f"document.getElementById('neighbors-title').dataset.id === {listed[0]!r}")


def test_analogy_beside_the_collection(page):
    assert page.inner_text("#analogy-title") == "Analogy (on glove-50)"
    page.fill("#analogy-input", "king - man + woman")
    page.click("#analogy-button")
    page.wait_for_selector("#analogy-results li")
    assert _ids(page, "#analogy-results li")[0] == "queen" and len(_ids(page, "#analogy-results li")) == 8
    assert page.inner_text("#status") == "king - man + woman → queen"
    assert page.input_value("#source") == "collection:tour"  # the map stays on the collection
    page.fill("#analogy-input", "king - 고양이")
    page.click("#analogy-button")
    page.wait_for_function("document.getElementById('status').className === 'error'")
    assert page.inner_text("#status").startswith("UnknownKeyError: ") and _ids(page, "#analogy-results li") == []
    assert page.errors == []


def test_a_late_answer_for_the_old_source_is_dropped(browser, server):
    """A query sent on the collection whose answer lands after the user switched to a vectors set must not
    overwrite the new map, list or status (the page drops it and counts it in ``state.stale``)."""
    pg = _open(browser, server.url + "/")
    held = []
    pg.route("**/api/projector/collection/tour/query", lambda route: held.append(route))  # hold the query
    pg.fill("#query", "빠른 운송 수단")
    pg.click("#query-button")
    for _ in range(500):
        if held:
            break
        pg.wait_for_timeout(10)
    assert held, "the query never left the page"
    pg.select_option("#source", "vectors:glove-50")
    pg.wait_for_function("projector.state.name === 'glove-50' && projector.state.drawnPoints > 0", timeout=60_000)
    _wait_status(pg, f"{GLOVE_ROWS} points")
    shown = pg.inner_text("#status")
    stale = pg.evaluate("projector.state.stale")
    held[0].continue_()
    pg.wait_for_function(f"projector.state.stale === {stale + 1}", timeout=30_000)
    assert pg.inner_text("#status") == shown == f"{GLOVE_ROWS} points · PCA · glove-50"
    assert _ids(pg, "#neighbors li") == [] and pg.evaluate("projector.state.selected") == []
    assert pg.errors == []
    pg.close()


def test_a_vectors_set_its_query_and_an_unknown_word(page):
    page.select_option("#source", "vectors:glove-50")
    page.wait_for_function("projector.state.name === 'glove-50' && projector.state.drawnPoints > 0", timeout=60_000)
    _wait_status(page, f"{GLOVE_ROWS} points")
    assert page.inner_text("#status") == f"{GLOVE_ROWS} points · PCA · glove-50"
    assert page.evaluate("projector.state.drawnPoints") == GLOVE_ROWS
    assert page.inner_text("#analogy-title") == "Analogy (on glove-50)"
    page.fill("#query", "france")
    page.click("#query-button")
    page.wait_for_function("document.getElementById('neighbors-title').textContent === 'Nearest to “france”'")
    listed = _ids(page, "#neighbors li")
    assert len(listed) == 10 and "france" not in listed and {"french", "belgium"} & set(listed)
    page.fill("#query", "고양이")  # not an English word: a clear error, not a blank page
    page.click("#query-button")
    page.wait_for_function("document.getElementById('status').className === 'error'")
    assert "UnknownKeyError" in page.inner_text("#status")
    assert page.evaluate("projector.state.drawnPoints") == GLOVE_ROWS
    assert page.errors == []


def test_api_docs_render_offline(page, server):
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock", timeout=15_000)  # Swagger UI drew the operations from /openapi.json
    text = page.inner_text("body")
    assert "/v1/embeddings" in text and "/api/collections/{name}/search" in text


def test_private_reads_ask_for_the_key_and_numeric_colour_scale(browser, tmp_path):
    col = Collection.create("numbers", dim=8, root=tmp_path / "collections")
    rng = np.random.default_rng(0)
    col.add([f"p{i}" for i in range(40)], vectors=rng.standard_normal((40, 8)).astype(np.float32),
            metadata=[{"n": i, "parity": ["even", "odd"][i % 2]} for i in range(40)])
    col.close()
    with BackgroundServer(create_app(tmp_path, api_key="pw", public_reads=False, vectors_sets={})) as srv:
        pg = _open(browser, srv.url + "/", drawn="")
        pg.wait_for_function("document.getElementById('status').className === 'error'")
        assert "AuthError" in pg.inner_text("#status")
        pg.fill("#api-key", "pw")
        pg.dispatch_event("#api-key", "change")
        pg.wait_for_function("projector.state.name === 'numbers' && projector.state.drawnPoints === 40")
        assert pg.input_value("#color-by") == "n"  # 40 distinct numbers: a colour scale
        pg.wait_for_function("projector.state.colour && projector.state.colour.type === 'number'")
        assert pg.inner_text("#legend").splitlines() == ["n", "0 … 39"]
        assert pg.inner_text("#analogy-title") == "Analogy (no vectors set on this server)"
        pg.select_option("#color-by", "parity")
        pg.wait_for_function("projector.state.colour && projector.state.colour.field === 'parity'")
        legend = pg.evaluate("[...document.querySelectorAll('#legend .entry')].map(e => e.textContent)")
        assert legend == ["even (20)", "odd (20)"]
        assert pg.errors == []
        pg.close()


def test_tsne_runs_as_a_job_the_page_polls(browser, server):
    """t-SNE answers 202 with a background job: the page shows its stage and progress while polling
    /api/jobs/{id}, then draws the result."""
    pg = _open(browser, server.url + "/#source=collection:tour")
    pg.evaluate("""() => { window.statusLog = [];
        new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach((n) => statusLog.push(n.textContent))))
          .observe(document.getElementById('status'), { childList: true }); }""")
    pg.select_option("#method", "tsne")
    pg.wait_for_function("projector.state.meta && projector.state.meta.method === 'tsne' && "
                         "document.getElementById('status').textContent === '20 points · t-SNE · tour'", timeout=90_000)
    job = pg.evaluate("projector.state.job")
    assert job["status"] == "done" and job["progress"] == 1
    log = pg.evaluate("statusLog")
    assert any(s.startswith("t-SNE: ") for s in log), log
    assert pg.evaluate("projector.state.drawnPoints") == 20
    assert pg.errors == []
    pg.close()


def test_a_job_answer_for_an_old_method_is_dropped(browser, tmp_path):
    """The user picks t-SNE, then PCA while the t-SNE job is still being polled: the late job answer must not
    replace the PCA map (polling stops and the answer is dropped, counted in state.stale)."""
    with Collection.create("small", dim=8, root=tmp_path / "collections") as col:
        col.add([f"p{i}" for i in range(30)],
                vectors=np.random.default_rng(1).standard_normal((30, 8)).astype(np.float32))
    with BackgroundServer(create_app(tmp_path, vectors_sets={})) as srv:
        pg = _open(browser, srv.url + "/")
        held = []
        pg.route("**/api/jobs/**", lambda route: held.append(route))  # hold the page's first poll of the job
        pg.select_option("#method", "tsne")
        _wait_status(pg, "t-SNE: ")
        for _ in range(1000):
            if held:
                break
            pg.wait_for_timeout(10)
        assert held, "the page never polled the job"
        pg.select_option("#method", "pca")
        pg.wait_for_function("document.getElementById('status').textContent === '30 points · PCA · small'")
        stale = pg.evaluate("projector.state.stale")
        held[0].continue_()
        pg.wait_for_function(f"projector.state.stale === {stale + 1}", timeout=30_000)
        assert pg.inner_text("#status") == "30 points · PCA · small" and pg.evaluate("projector.state.method") == "pca"
        assert pg.errors == []
        pg.close()


def test_a_damaged_collection_is_listed_but_not_selectable(browser, tmp_path):
    root = tmp_path / "collections"
    Collection.create("broken", dim=4, root=root).close()
    (root / "broken" / "manifest.json").write_text("garbage", encoding="utf-8")
    with Collection.create("fine", dim=4, root=root) as col:
        col.add([f"p{i}" for i in range(6)],
                vectors=np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32))
    with BackgroundServer(create_app(tmp_path, vectors_sets={})) as srv:
        pg = _open(browser, srv.url + "/")
        options = pg.evaluate("[...document.getElementById('source').options].map(o => [o.value, o.text, o.disabled])")
        assert options == [["collection:broken", "broken (damaged)", True],
                           ["collection:fine", "fine (6 items)", False]]
        title = pg.evaluate("document.getElementById('source').options[0].title")
        assert title.startswith("CorruptFileError: <collection 'broken'>") and str(tmp_path) not in title
        assert pg.inner_text("#status") == "6 points · PCA · fine"
        assert pg.errors == []
        pg.close()


def test_the_page_opens_the_last_chosen_or_the_tour_collection(browser, tmp_path):
    """Not the alphabetically first: the link's source first (also an old ``/?source=`` link), then the source
    last chosen in this browser, then the tour's collection."""
    root = tmp_path / "collections"
    rng = np.random.default_rng(0)
    for name in ("alpha", "tour"):
        with Collection.create(name, dim=4, root=root) as col:
            col.add([f"{name}{i}" for i in range(5)], vectors=rng.standard_normal((5, 4)).astype(np.float32))
    with BackgroundServer(create_app(tmp_path, vectors_sets={})) as srv:
        context = browser.new_context(viewport={"width": 1000, "height": 650})  # one browser profile
        try:
            pg = context.new_page()
            pg.goto(srv.url + "/")
            pg.wait_for_function(f"{DRAWN} && projector.state.name === 'tour'", timeout=30_000)
            pg.select_option("#source", "collection:alpha")
            pg.wait_for_function("projector.state.name === 'alpha' && projector.state.drawnPoints === 5")
            pg.close()
            pg = context.new_page()  # a later visit opens what was chosen last
            pg.goto(srv.url + "/")
            pg.wait_for_function(f"{DRAWN} && projector.state.name === 'alpha'", timeout=30_000)
            assert pg.input_value("#source") == "collection:alpha"
            pg.close()
            pg = context.new_page()
            pg.goto(srv.url + "/?source=collection:tour")  # an old explorer link: the link wins
            pg.wait_for_function(f"{DRAWN} && projector.state.name === 'tour'", timeout=30_000)
            assert pg.evaluate("location.hash").startswith("#source=collection%3Atour")
            assert pg.is_hidden("#note")
            pg.close()
        finally:
            context.close()
