"""The web explorer end to end in Debian's headless Chromium (Playwright, no downloaded browser): load the page,
colour by a metadata field, hover labels, a Korean search, clicking a point lists its neighbours, an analogy;
saves the screenshot docs/explorer.png that the README shows."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk (scripts/install-system.sh)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

from embedlab.cli.tour import tour_documents  # noqa: E402
from embedlab.server import create_app  # noqa: E402
from embedlab.server.background import BackgroundServer  # noqa: E402
from embedlab.store import Collection  # noqa: E402

SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "explorer.png"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, use_encoder):
    home = tmp_path_factory.mktemp("browser-home")
    docs = tour_documents()
    col = Collection.create("tour", use_encoder, root=home / "collections")
    col.add([d["id"] for d in docs], [d["text"] for d in docs], metadata=[{"category": d["category"]} for d in docs])
    col.close()
    from embedlab.io.glove import load_glove

    with BackgroundServer(create_app(home, vectors_sets={"glove-50": lambda: load_glove(limit=50_000)})) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, url: str):
    pg = browser.new_page(viewport={"width": 1000, "height": 650})
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(url)
    return pg


@pytest.fixture(scope="module")
def page(server, browser):
    pg = _open(browser, server.url + "/")
    pg.wait_for_function("window.explorer && window.explorer.state.data !== null", timeout=20_000)
    yield pg
    pg.close()


def _ids(page, selector: str) -> list[str]:
    return [li.get_attribute("data-id") for li in page.query_selector_all(selector)]


def test_page_loads_the_collection_coloured_by_category(page):
    assert page.input_value("#source") == "collection:tour"
    assert page.inner_text("#status").startswith("20 points · PCA · tour")
    assert page.input_value("#color-by") == "category"
    names = page.evaluate("document.getElementById('plot').data.map(t => t.name)")
    assert set(names) >= {"fruit", "animal", "vehicle"}
    assert page.evaluate("document.querySelectorAll('#plot .scatterlayer path.point').length") >= 20
    assert page.errors == []


def test_hover_shows_the_label(page):
    pos = page.evaluate("explorer.pointPosition('banana')")
    page.mouse.move(pos["x"], pos["y"])
    page.wait_for_selector(".hoverlayer .hovertext")
    assert "A banana is a long, curved yellow fruit" in page.text_content(".hoverlayer")


def test_korean_search_highlights_and_lists_vehicles(page, server):
    page.fill("#search-input", "빠른 운송 수단")  # "fast means of transport"
    page.click("#search-button")
    page.wait_for_selector("#results li")
    listed = _ids(page, "#results li")
    vehicles = {d["id"] for d in tour_documents() if d["category"] == "vehicle"}
    assert len(listed) == 10 and set(listed[:3]) <= vehicles
    highlighted = page.evaluate("document.getElementById('plot').data.find(t => t.name === 'search hits').customdata")
    assert list(highlighted) == listed
    assert "10 results for “빠른 운송 수단”" in page.inner_text("#status")


def test_clicking_a_point_lists_its_neighbours(page, server):
    import httpx

    pos = page.evaluate("explorer.pointPosition('apple')")
    page.mouse.click(pos["x"], pos["y"])
    page.wait_for_function("document.getElementById('neighbors-title').dataset.id === 'apple'")
    listed = _ids(page, "#neighbors li")
    api = httpx.post(server.url + "/api/collections/tour/search", json={"id": "apple", "k": 8}).json()["hits"]
    assert listed == [h["id"] for h in api] and "apple" not in listed
    fruits = {d["id"] for d in tour_documents() if d["category"] == "fruit"}
    assert set(listed[:4]) <= fruits
    assert page.inner_text("#neighbors-title") == "Neighbours of apple"
    page.click("#neighbors li >> nth=0")  # a listed neighbour is itself clickable
    page.wait_for_function(f"document.getElementById('neighbors-title').dataset.id === '{listed[0]}'")


def test_analogy_box_and_screenshot(page):
    page.fill("#analogy-input", "king - man + woman")
    page.click("#analogy-button")
    page.wait_for_selector("#analogy-results li")
    assert _ids(page, "#analogy-results li")[0] == "queen"
    assert "glove-50" in page.inner_text("#analogy-title")
    # the README's picture: a Korean search and apple's neighbours on the tour collection
    page.fill("#search-input", "빠른 운송 수단")
    page.click("#search-button")  # the list still shows the earlier search: wait for this one's own answer
    page.wait_for_function("document.getElementById('status').textContent.startsWith('10 results for')")
    pos = page.evaluate("explorer.pointPosition('apple')")
    page.mouse.click(pos["x"], pos["y"])
    page.wait_for_function("document.getElementById('neighbors-title').dataset.id === 'apple'")
    page.mouse.move(5, 640)  # no hover box over the plot
    shot = Path(os.environ.get("PYTEST_TMPDIR", "/tmp")) / f"explorer-{os.getpid()}.png"
    page.screenshot(path=str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1000, 650)
    if not SCREENSHOT.exists() or os.environ.get("EMBEDLAB_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    shot.unlink()


def test_a_late_answer_for_the_old_source_is_dropped(browser, server):
    """A search sent on the collection whose answer lands after the user switched to a vectors set must not
    overwrite the new plot, list or status (the explorer drops it and counts it in ``state.stale``)."""
    pg = _open(browser, server.url + "/")
    pg.wait_for_function("explorer.state.data && explorer.state.data.kind === 'collection'", timeout=20_000)
    held = []
    pg.route("**/api/collections/tour/search", lambda route: held.append(route))  # hold the search until we let it go
    pg.fill("#search-input", "빠른 운송 수단")
    pg.click("#search-button")
    for _ in range(500):
        if held:
            break
        pg.wait_for_timeout(10)
    assert held, "the search request never left the page"
    pg.select_option("#source", "vectors:glove-50")
    pg.wait_for_function("explorer.state.data && explorer.state.data.kind === 'vectors'", timeout=20_000)
    shown = pg.inner_text("#status")
    held[0].continue_()
    pg.wait_for_function("explorer.state.stale === 1")
    assert pg.inner_text("#status") == shown == "1500 points (most frequent words of 50000) · PCA · glove-50"
    assert _ids(pg, "#results li") == [] and pg.evaluate("explorer.state.hits") == []
    assert pg.errors == []
    pg.close()


def test_switching_to_a_vectors_set(page):
    page.select_option("#source", "vectors:glove-50")
    page.wait_for_function("explorer.state.data && explorer.state.data.kind === 'vectors'")
    assert page.inner_text("#status") == "1500 points (most frequent words of 50000) · PCA · glove-50"
    page.fill("#search-input", "france")
    page.click("#search-button")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('10 results for “france”')")
    listed = _ids(page, "#results li")
    assert "france" not in listed and {"french", "belgium"} & set(listed)
    page.fill("#search-input", "고양이")  # not an English word: a clear error, not a blank page
    page.click("#search-button")
    page.wait_for_function("document.getElementById('status').className === 'error'")
    assert "UnknownKeyError" in page.inner_text("#status")
    assert page.errors == []


def test_api_docs_render_offline(page, server):
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock", timeout=15_000)  # Swagger UI drew the operations from /openapi.json
    text = page.inner_text("body")
    assert "/v1/embeddings" in text and "/api/collections/{name}/search" in text


def test_private_reads_ask_for_the_key_and_numeric_colour_scale(browser, tmp_path):
    import numpy as np

    col = Collection.create("numbers", dim=8, root=tmp_path / "collections")
    rng = np.random.default_rng(0)
    col.add([f"p{i}" for i in range(40)], vectors=rng.standard_normal((40, 8)).astype(np.float32),
            metadata=[{"n": i, "parity": ["even", "odd"][i % 2]} for i in range(40)])
    col.close()
    with BackgroundServer(create_app(tmp_path, api_key="pw", public_reads=False, vectors_sets={})) as srv:
        pg = _open(browser, srv.url + "/")
        pg.wait_for_function("document.getElementById('status').className === 'error'")
        assert "AuthError" in pg.inner_text("#status")
        pg.fill("#api-key", "pw")
        pg.dispatch_event("#api-key", "change")
        pg.wait_for_function("explorer.state.data && explorer.state.data.name === 'numbers'")
        assert pg.input_value("#color-by") == "n"  # 40 distinct numbers: one trace with a colour scale
        traces = pg.evaluate("document.getElementById('plot').data.map(t => [t.name, t.x.length])")
        assert traces[0] == ["n", 40]
        pg.select_option("#color-by", "parity")
        names = pg.evaluate("document.getElementById('plot').data.map(t => t.name)")
        assert names[:2] == ["even", "odd"]
        assert pg.errors == []
        pg.close()


def test_tsne_runs_as_a_job_the_page_polls(browser, server):
    """t-SNE answers 202 with a background job: the page shows its stage and progress while polling
    /api/jobs/{id}, then draws the result."""
    pg = _open(browser, server.url + "/")
    pg.wait_for_function("explorer.state.data && explorer.state.data.kind === 'collection'", timeout=20_000)
    pg.evaluate("""() => { window.statusLog = [];
        new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach((n) => statusLog.push(n.textContent))))
          .observe(document.getElementById('status'), { childList: true }); }""")
    pg.select_option("#method", "tsne")
    pg.wait_for_function("explorer.state.data && explorer.state.data.method === 'tsne'", timeout=60_000)
    assert pg.inner_text("#status") == "20 points · t-SNE · tour"
    job = pg.evaluate("explorer.state.job")
    assert job["status"] == "done" and job["progress"] == 1
    log = pg.evaluate("statusLog")
    assert any(s.startswith("t-SNE: waiting to project collection 'tour' with t-SNE · 0%") or
               s.startswith("t-SNE: fitting t-SNE on 20 points") or s.startswith("t-SNE: reading") for s in log), log
    assert pg.evaluate("document.querySelectorAll('#plot .scatterlayer path.point').length") >= 20
    pg.select_option("#method", "tsne")  # cached now: answered at once, no second job
    assert pg.errors == []
    pg.close()


def test_a_job_answer_for_an_old_method_is_dropped(browser, tmp_path):
    """The user picks t-SNE, then PCA while the t-SNE job is still being polled: the late job answer must not
    replace the PCA plot (polling stops and the answer is dropped, counted in state.stale)."""
    import numpy as np

    with Collection.create("small", dim=8, root=tmp_path / "collections") as col:
        col.add([f"p{i}" for i in range(30)],
                vectors=np.random.default_rng(1).standard_normal((30, 8)).astype(np.float32))
    with BackgroundServer(create_app(tmp_path, vectors_sets={})) as srv:
        pg = _open(browser, srv.url + "/")
        pg.wait_for_function("explorer.state.data && explorer.state.data.name === 'small'", timeout=20_000)
        held = []
        pg.route("**/api/jobs/**", lambda route: held.append(route))  # hold the page's first poll of the job
        pg.select_option("#method", "tsne")
        pg.wait_for_function("document.getElementById('status').textContent.startsWith('t-SNE: ')", timeout=20_000)
        for _ in range(1000):
            if held:
                break
            pg.wait_for_timeout(10)
        assert held, "the page never polled the job"
        pg.select_option("#method", "pca")
        pg.wait_for_function("explorer.state.data && explorer.state.data.method === 'pca'", timeout=20_000)
        shown = pg.inner_text("#status")
        assert shown == "30 points · PCA · small"
        stale = pg.evaluate("explorer.state.stale")
        held[0].continue_()
        pg.wait_for_function(f"explorer.state.stale === {stale + 1}", timeout=20_000)
        assert pg.inner_text("#status") == shown and pg.evaluate("explorer.state.data.method") == "pca"
        assert pg.errors == []
        pg.close()


def test_a_damaged_collection_is_listed_but_not_selectable(browser, tmp_path):
    import numpy as np

    root = tmp_path / "collections"
    Collection.create("broken", dim=4, root=root).close()
    (root / "broken" / "manifest.json").write_text("garbage", encoding="utf-8")
    with Collection.create("fine", dim=4, root=root) as col:
        col.add([f"p{i}" for i in range(6)],
                vectors=np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32))
    with BackgroundServer(create_app(tmp_path, vectors_sets={})) as srv:
        pg = _open(browser, srv.url + "/")
        pg.wait_for_function("explorer.state.data && explorer.state.data.name === 'fine'", timeout=20_000)
        options = pg.evaluate("[...document.getElementById('source').options].map(o => [o.value, o.text, o.disabled])")
        assert options == [["collection:broken", "broken (damaged)", True],
                           ["collection:fine", "fine (6 items)", False]]
        title = pg.evaluate("document.getElementById('source').options[0].title")
        assert title.startswith("CorruptFileError: <collection 'broken'>") and str(tmp_path) not in title
        assert pg.inner_text("#status") == "6 points · PCA · fine"
        assert pg.errors == []
        pg.close()


def test_the_explorer_opens_the_last_chosen_or_the_tour_collection(browser, tmp_path):
    """Not the alphabetically first: ``?source=`` first, then the source last chosen in this browser, then the
    tour's collection."""
    import numpy as np

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
            pg.wait_for_function("explorer.state.data && explorer.state.data.name === 'tour'", timeout=20_000)
            pg.select_option("#source", "collection:alpha")
            pg.wait_for_function("explorer.state.data && explorer.state.data.name === 'alpha'", timeout=20_000)
            pg.close()
            pg = context.new_page()  # a later visit opens what was chosen last
            pg.goto(srv.url + "/")
            pg.wait_for_function("explorer.state.data && explorer.state.data.name === 'alpha'", timeout=20_000)
            assert pg.input_value("#source") == "collection:alpha"
            pg.close()
            pg = context.new_page()
            pg.goto(srv.url + "/?source=collection:tour")
            pg.wait_for_function("explorer.state.data && explorer.state.data.name === 'tour'", timeout=20_000)
            pg.close()
        finally:
            context.close()
