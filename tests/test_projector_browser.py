"""The projector (/projector) end to end in Debian's headless Chromium (software WebGL 2): what it draws (pixels
read back from screenshots), colour by metadata with its legend, click -> neighbours highlighted, filter and export,
the view in the URL, the canvas fallback without WebGL, and bad inputs shown on the page. Waits on page state,
never on fixed sleeps."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from projector_pages import ARGS, CHROMIUM, open_page, pixels  # noqa: E402
from projector_pages import near as _near  # noqa: E402

pytest.importorskip("PIL.Image")

from embedlab.server import create_app  # noqa: E402
from embedlab.server.background import BackgroundServer  # noqa: E402
from embedlab.store import Collection  # noqa: E402
from embedlab.vectors import Vectors  # noqa: E402

N = 300
CATS = {"blue": (31, 119, 180), "green": (44, 160, 44), "red": (255, 127, 14)}  # the palette's first three


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("projector-home")
    root = home / "collections"
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((3, 16)).astype(np.float32) * 4
    vecs = (centres[np.arange(N) % 3] + rng.standard_normal((N, 16)).astype(np.float32)).astype(np.float32)
    with Collection.create("pts", dim=16, root=root) as col:
        col.add([f"p{i}" for i in range(N)], vectors=vecs, sources=[f"item {i}" for i in range(N)],
                metadata=[{"cat": ["red", "green", "blue"][i % 3], "num": i, "mixed": [1, "one"][i % 2]}
                          for i in range(N)])
    Collection.create("broken", dim=4, root=root).close()
    (root / "broken" / "manifest.json").write_text("garbage", encoding="utf-8")
    tiny = Vectors(["a", "b", "c"], np.eye(3, dtype=np.float32))
    with BackgroundServer(create_app(home, vectors_sets={"tiny": tiny})) as srv:
        yield srv


def _open(browser, url: str):
    return open_page(browser, url, accept_downloads=True)


def _pixels(pg) -> np.ndarray:
    return pixels(pg)


def _isolated(server) -> int:
    """The row farthest from its nearest 2-D neighbour (hovering and clicking it hits no other point)."""
    import httpx

    httpx.get(server.url + "/api/projector/collection/pts/layout")
    xy = np.frombuffer(httpx.get(server.url + "/api/projector/collection/pts/coords").content, "<f4").reshape(-1, 2)
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return int(d.min(axis=1).argmax())


def test_draws_every_point_coloured_by_category_with_a_legend(server, browser):
    pg = _open(browser, server.url + "/projector")
    assert pg.evaluate("projector.state.webgl") is True and pg.evaluate("projector.state.drawnPoints") == N
    assert pg.inner_text("#status") == f"{N} points · PCA · pts"
    meta = pg.evaluate("projector.state.meta")
    assert pg.inner_text("#layout-info") == (f"trustworthiness {meta['trustworthiness']:.3f}, continuity "
                                             f"{meta['continuity']:.3f} (k = 10) · PCA of all {N} rows (exact).")
    assert pg.input_value("#color-by") == "cat"
    legend = pg.evaluate("[...document.querySelectorAll('#legend .entry')].map(e => [e.textContent, e.dataset.color])")
    assert legend == [["blue (100)", "#1f77b4"], ["green (100)", "#2ca02c"], ["red (100)", "#ff7f0e"]]
    px = _pixels(pg)
    for name, rgb in CATS.items():
        assert _near(px, rgb) > 50, f"no {name} points drawn"
    options = pg.evaluate("[...document.getElementById('source').options].map(o => [o.value, o.text, o.disabled])")
    assert options == [["collection:broken", "broken (damaged)", True], ["collection:pts", f"pts ({N} items)", False],
                       ["vectors:tiny", "tiny (word vectors)", False]]
    pg.select_option("#color-by", "num")  # numbers: one colour scale, drawn from dark purple to yellow
    pg.wait_for_function("projector.state.colour && projector.state.colour.type === 'number'")
    assert pg.inner_text("#legend").splitlines() == ["num", f"0 … {N - 1}"]
    pg.select_option("#color-by", "mixed")  # 1 and "one": categories shown as text, said so
    pg.wait_for_function("projector.state.colour && projector.state.colour.field === 'mixed'")
    assert pg.inner_text("#legend").splitlines()[0] == "mixed (mixed types, shown as text)"
    assert pg.errors == []
    pg.close()


def test_click_lists_neighbours_from_the_original_space_and_highlights_them(server, browser):
    import httpx

    pg = _open(browser, server.url + "/projector")
    before = _pixels(pg)
    row = _isolated(server)
    pos = pg.evaluate(f"projector.pointPosition({row})")
    pg.mouse.move(pos["x"], pos["y"])
    pg.wait_for_function("document.getElementById('tooltip').style.display === 'block'")
    assert pg.inner_text("#tooltip").splitlines() == [f"p{row}", f"item {row}"]
    pg.mouse.click(pos["x"], pos["y"])
    pg.wait_for_function(f"document.getElementById('neighbors-title').dataset.id === 'p{row}'")
    listed = [li.get_attribute("data-id") for li in pg.query_selector_all("#neighbors li")]
    api = httpx.post(server.url + "/api/projector/collection/pts/neighbors", json={"row": row, "k": 10}).json()
    assert listed == [h["id"] for h in api["hits"]] and len(listed) == 10
    assert pg.inner_text("#overlap") == f"{api['also_2d']} of 10 are also 2-D neighbours (cosine)"
    rows = [row, *[h["row"] for h in api["hits"]]]
    assert pg.evaluate("projector.plot().get('selectedPoints')") == rows
    assert pg.inner_text("#selection-info") == "11 selected"
    after = _pixels(pg)  # the highlighted points' dark outlines are drawn
    assert _near(after, (13, 13, 13), 20) > _near(before, (13, 13, 13), 20) + 20
    assert "sel=" + "%2C".join(map(str, rows)) in pg.evaluate("location.hash")
    assert pg.errors == []
    pg.close()


def test_filter_by_where_then_export_csv_and_box_selection(server, browser, tmp_path):
    pg = _open(browser, server.url + "/projector")
    pg.fill("#where", '{"cat": "green"}')
    pg.fill("#regex", "^p1")
    pg.click("#apply-filter")
    want = [i for i in range(N) if i % 3 == 1 and str(i).startswith("1")]
    pg.wait_for_function(f"document.getElementById('selection-info').textContent === '{len(want)} selected'")
    assert pg.evaluate("projector.state.filtered") == want
    with pg.expect_download() as dl:
        pg.click("#export-csv")
    path = tmp_path / "sel.csv"
    dl.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [r["id"] for r in rows] == [f"p{i}" for i in want] and {r["cat"] for r in rows} == {"green"}
    pg.click("#clear-filter")
    pg.wait_for_function("document.getElementById('selection-info').textContent === 'nothing selected'")
    pg.select_option("#lasso-type", "rectangle")  # box selection: shift + drag over the whole map
    box = pg.locator("#map").bounding_box()
    pg.keyboard.down("Shift")
    pg.mouse.move(box["x"] + 3, box["y"] + 3)
    pg.mouse.down()
    for f in (0.3, 0.6, 0.99):
        pg.mouse.move(box["x"] + 3 + f * (box["width"] - 6), box["y"] + 3 + f * (box["height"] - 6), steps=4)
    pg.mouse.up()
    pg.keyboard.up("Shift")
    pg.wait_for_function(f"projector.state.selected.length === {N}")
    assert pg.inner_text("#selection-info") == f"{N} selected"
    assert pg.errors == []
    pg.close()


def test_the_url_reopens_the_view(server, browser):
    pg = _open(browser, server.url + "/projector")
    pg.select_option("#color-by", "num")
    pg.wait_for_function("location.hash.includes('color=num')")
    box = pg.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pg.mouse.move(cx, cy)
    pg.mouse.down()
    pg.mouse.move(cx + 80, cy + 40, steps=5)  # pan
    pg.mouse.up()
    pg.mouse.wheel(0, -300)  # zoom in
    pg.wait_for_function("!location.hash.includes('cam=0%2C0%2C1') && projector.plot().get('cameraDistance') < 1")
    pg.evaluate("projector.select([4, 5, 6])")
    pg.wait_for_function("location.hash.includes('sel=4%2C5%2C6')")
    target, distance = pg.evaluate("[projector.plot().get('cameraTarget'), projector.plot().get('cameraDistance')]")
    pg.wait_for_function(f"location.hash.includes('cam={target[0]:.4f}'.replace(/0+$/, ''))")
    link = pg.url
    pg.close()
    pg = _open(browser, link)
    pg.wait_for_function("projector.state.selected.length === 3")
    assert pg.input_value("#color-by") == "num" and pg.evaluate("projector.state.selected") == [4, 5, 6]
    pg.wait_for_function(f"Math.abs(projector.plot().get('cameraDistance') - {distance}) < 1e-3")
    assert pg.evaluate("projector.plot().get('cameraTarget')") == pytest.approx(target, abs=1e-3)
    assert pg.is_hidden("#note") and pg.errors == []
    pg.close()


def test_a_stale_or_malformed_url_is_ignored_with_a_note(server, browser):
    pg = _open(browser, server.url + "/projector#source=collection:gone&method=mds&cam=1,x&sel=a&where={bad")
    note = pg.inner_text("#note")
    assert note == ("Ignored part of the link's view state: unknown layout 'mds'; a malformed camera; a malformed "
                    "selection; a where filter that is not JSON; the source 'collection:gone' is not on this server.")
    assert pg.input_value("#source") == "collection:pts" and pg.evaluate("projector.state.drawnPoints") == N
    assert pg.errors == []
    pg.close()


def test_tsne_on_three_points_shows_the_error_and_a_job_superseded_by_switching_source_is_dropped(server, browser):
    pg = _open(browser, server.url + "/projector")
    pg.select_option("#source", "vectors:tiny")
    pg.wait_for_function("projector.state.drawnPoints === 3 && projector.state.name === 'tiny'")
    pg.select_option("#method", "tsne")
    pg.wait_for_function("document.getElementById('status').className === 'error'", timeout=30_000)
    error = "InputError: t-SNE needs at least 4 points; 'tiny' has 3"
    assert pg.inner_text("#status") == error
    held = []
    pg.route("**/api/jobs/**", lambda route: route.continue_() if held else held.append(route))  # hold one poll
    pg.select_option("#source", "collection:pts")  # t-SNE of pts: a background job, its first poll held
    pg.wait_for_function("document.getElementById('status').textContent.startsWith('t-SNE: ')", timeout=30_000)
    for _ in range(3000):  # the page polls the job every 300 ms: wait for that request to be held
        if held:
            break
        pg.wait_for_timeout(10)
    assert held, "the page never polled the job"
    stale = pg.evaluate("projector.state.stale")
    pg.select_option("#source", "vectors:tiny")  # switching source supersedes the job: its late answer is dropped
    pg.wait_for_function(f"projector.state.name === 'tiny' && document.getElementById('status').textContent === "
                         f"\"{error}\"", timeout=30_000)
    held[0].continue_()
    pg.wait_for_function(f"projector.state.stale > {stale}", timeout=60_000)
    assert pg.inner_text("#status") == error and pg.evaluate("projector.state.name") == "tiny"
    assert pg.errors == []
    pg.close()


def test_without_webgl_the_page_says_so_and_draws_on_a_canvas(server, playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, "--disable-webgl", "--disable-3d-apis"])
    try:
        pg = _open(b, server.url + "/projector")
        assert pg.evaluate("projector.state.webgl") is False
        assert pg.inner_text("#note").startswith("WebGL is unavailable in this browser, so the map is a plain canvas")
        px = _pixels(pg)
        for name, rgb in CATS.items():
            assert _near(px, rgb, 4) > 50, f"no {name} points drawn"
        pos = pg.evaluate(f"projector.pointPosition({_isolated(server)})")
        pg.mouse.click(pos["x"], pos["y"])
        pg.wait_for_function("document.getElementById('neighbors-title').dataset.id !== undefined")
        assert len(pg.query_selector_all("#neighbors li")) == 10
        assert pg.errors == []
    finally:
        b.close()


def test_a_query_is_placed_and_its_neighbours_highlighted(browser, tmp_path):
    keys = ["man", "woman", "king", "queen", "apple", "pear", "car", "bus"]
    rng = np.random.default_rng(1)
    mat = np.vstack([np.eye(4)[[0, 1]], np.eye(4)[[0, 1]] + np.eye(4)[2], np.eye(4)[[3, 3]] + [[0, 0, 0, 0], [0, .2, 0, 0]],
                     rng.standard_normal((2, 4))]).astype(np.float32)
    with BackgroundServer(create_app(tmp_path, vectors_sets={"words": Vectors(keys, mat)})) as srv:
        pg = _open(browser, srv.url + "/projector")
        pg.fill("#query", "king - man + woman")
        pg.click("#query-button")
        pg.wait_for_function("document.getElementById('neighbors-title').textContent === 'Nearest to “king - man + woman”'")
        listed = [li.get_attribute("data-id") for li in pg.query_selector_all("#neighbors li")]
        assert listed[0] == "queen" and "king" not in listed
        assert pg.inner_text("#query-info") == "placed by PCA (exact)"
        assert pg.is_visible("#query-marker")
        marker = pg.locator("#query-marker").bounding_box()
        place = pg.evaluate("projector.state.query.place")
        rows = pg.evaluate("projector.state.query.hits.map(h => h.row)")
        xy = np.array(pg.evaluate("Array.from(projector.state.xy)")).reshape(-1, 2)
        a, b = 0, int(np.argmax(np.abs(xy[:, 0] - xy[0, 0])))  # two rows far apart give the map's scale
        pa, pb = (pg.evaluate(f"projector.pointPosition({r})") for r in (a, b))
        scale = (pb["x"] - pa["x"]) / (xy[b, 0] - xy[a, 0])
        want = (pa["x"] + (place[0] - xy[a, 0]) * scale, pa["y"] - (place[1] - xy[a, 1]) * scale)
        assert marker["x"] + marker["width"] / 2 == pytest.approx(want[0], abs=3)
        assert marker["y"] + marker["height"] / 2 == pytest.approx(want[1], abs=3)
        assert pg.evaluate("projector.plot().get('selectedPoints')") == rows
        assert pg.errors == []
        pg.close()


def test_cluster_by_kmeans_colours_the_map_with_named_clusters(server, browser):
    import httpx

    pg = _open(browser, server.url + "/projector")
    drawn = pg.evaluate("projector.state.drawn")
    pg.select_option("#color-by", "")  # one colour first: no green or orange on the map
    pg.wait_for_function(f"projector.state.colour === null && projector.state.drawn > {drawn}")
    before = _pixels(pg)
    assert _near(before, CATS["green"]) == 0 and _near(before, CATS["red"]) == 0
    pg.fill("#cluster-k", "3")
    pg.click("#cluster-button")
    pg.wait_for_function("projector.state.colour && projector.state.colour.field === 'cluster'", timeout=60_000)
    api = httpx.get(server.url + "/api/projector/collection/pts/clusters?algorithm=kmeans&n_clusters=3&stop_words=",
                    timeout=60).json()
    legend = pg.evaluate("[...document.querySelectorAll('#legend .entry')].map(e => e.textContent)")
    assert legend == [f"{c} ({n})" for c, n in zip(api["categories"], api["counts"], strict=True)]
    assert pg.inner_text("#legend").splitlines()[0] == "clusters (k-means, named by c-TF-IDF)"
    assert pg.inner_text("#status") == "3 clusters (k-means) · pts"
    px = _pixels(pg)
    for rgb in CATS.values():  # three clusters: the palette's first three colours drawn
        assert _near(px, rgb) > 50
    assert pg.input_value("#color-by") != "" and "color=" not in pg.evaluate("location.hash")
    assert pg.errors == []
    pg.close()


def test_the_url_reopens_a_clustering_and_refuses_a_malformed_one(server, browser):
    pg = _open(browser, server.url + "/projector#source=collection:pts&cluster=kmeans:2&stop=item")
    pg.wait_for_function("projector.state.colour && projector.state.colour.field === 'cluster'", timeout=60_000)
    assert len(pg.query_selector_all("#legend .entry")) == 2 and pg.input_value("#stop-words") == "item"
    pg.wait_for_function("location.hash.includes('cluster=kmeans%3A2') && location.hash.includes('stop=item')")
    assert pg.is_hidden("#note") and pg.errors == []
    pg.close()
    pg = _open(browser, server.url + "/projector#source=collection:pts&cluster=kmeans:0")
    assert pg.inner_text("#note") == "Ignored part of the link's view state: unknown clustering 'kmeans:0'."
    assert pg.evaluate("projector.state.colour.field") == "cat" and pg.errors == []
    pg.close()


def test_the_servers_spatial_index_is_drawn_with_and_a_box_selects_exactly_the_points_inside(server, browser):
    import httpx

    from embedlab.server.spatial_index import index_size

    pg = _open(browser, server.url + "/projector")
    assert pg.evaluate("projector.state.spatialIndex.byteLength") == index_size(N)
    served = httpx.get(server.url + "/api/projector/collection/pts/spatial-index").content
    assert bytes(pg.evaluate("[...new Uint8Array(projector.state.spatialIndex)]")) == served
    assert pg.evaluate("projector.plot().get('spatialIndex') === projector.state.spatialIndex")  # used, not rebuilt
    xs = np.array(pg.evaluate(f"[...Array({N}).keys()].map(i => projector.pointPosition(i).x)"))
    box = pg.locator("#map").bounding_box()
    order = np.sort(xs)
    gaps = [(order[i + 1] - order[i], (order[i] + order[i + 1]) / 2) for i in range(N // 4, 3 * N // 4)]
    width, cut = max(gaps)  # the widest gap between points in the middle half: no point on the box's edge
    assert width > 2
    want = np.flatnonzero(xs < cut).tolist()
    pg.select_option("#lasso-type", "rectangle")  # box selection through regl-scatterplot's index queries
    pg.keyboard.down("Shift")
    pg.mouse.move(box["x"] + 2, box["y"] + 2)
    pg.mouse.down()
    for f in (0.3, 0.6, 1.0):
        pg.mouse.move(box["x"] + 2 + f * (cut - box["x"] - 2), box["y"] + 2 + f * (box["height"] - 4), steps=4)
    pg.mouse.up()
    pg.keyboard.up("Shift")
    pg.wait_for_function("projector.state.selected.length > 0")
    assert sorted(pg.evaluate("projector.state.selected")) == want and 0 < len(want) < N
    assert pg.errors == []
    pg.close()
