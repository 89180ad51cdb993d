"""The projector's other views in Debian's headless Chromium (software WebGL 2): the typed query carried by the URL,
the 3-D view (three.js Points: pixels read back, picking, the camera in the URL), and two sources side by side with
linked selection. Waits on page state, never on fixed sleeps."""

from __future__ import annotations

import numpy as np
import pytest
from projector_pages import ARGS, CHROMIUM  # noqa: E402
from projector_pages import near as _near  # noqa: E402
from projector_pages import open_page as _open  # noqa: E402
from projector_pages import pixels as _pixels  # noqa: E402

pytest.importorskip("PIL.Image")

from embedlab.server import create_app  # noqa: E402
from embedlab.server.background import BackgroundServer  # noqa: E402
from embedlab.store import Collection  # noqa: E402
from embedlab.vectors import Vectors  # noqa: E402

N = 300
CATS = {"blue": (31, 119, 180), "green": (44, 160, 44), "red": (255, 127, 14)}  # the palette's first three
RING = (13, 13, 13)
KEYS = ["man", "woman", "king", "queen", "apple", "pear", "car", "bus"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("projector-views")
    root = home / "collections"
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((3, 16)).astype(np.float32) * 4
    vecs = (centres[np.arange(N) % 3] + rng.standard_normal((N, 16)).astype(np.float32)).astype(np.float32)
    with Collection.create("pts", dim=16, root=root) as col:
        col.add([f"p{i}" for i in range(N)], vectors=vecs, sources=[f"item {i}" for i in range(N)],
                metadata=[{"cat": ["red", "green", "blue"][i % 3]} for i in range(N)])
    # "after": the same space re-embedded (rotated, noisier), without p0..p9 and with five new rows q0..q4
    rot = np.linalg.qr(rng.standard_normal((16, 16)))[0].astype(np.float32)
    after = np.vstack([vecs[10:] @ rot + rng.standard_normal((N - 10, 16)).astype(np.float32),
                       rng.standard_normal((5, 16)).astype(np.float32) * 4])
    with Collection.create("after", dim=16, root=root) as col:
        col.add([f"p{i}" for i in range(10, N)] + [f"q{i}" for i in range(5)], vectors=after,
                metadata=[{"cat": ["red", "green", "blue"][i % 3]} for i in range(10, N)] + [{"cat": "new"}] * 5)
    mat = np.vstack([np.eye(4)[[0, 1]], np.eye(4)[[0, 1]] + np.eye(4)[2],
                     np.eye(4)[[3, 3]] + [[0, 0, 0, 0], [0, .2, 0, 0]],
                     rng.standard_normal((2, 4))]).astype(np.float32)
    with BackgroundServer(create_app(home, vectors_sets={"words": Vectors(KEYS, mat)})) as srv:
        yield srv


def _listed(pg) -> list[str]:
    return [li.get_attribute("data-id") for li in pg.query_selector_all("#neighbors li")]


def _screen(pg, n: int) -> np.ndarray:
    return np.array(pg.evaluate(f"[...Array({n}).keys()].map(i => projector.pointPosition(i))"
                                ".map(p => [p.x, p.y])"))


def _isolated(pos: np.ndarray, box: dict) -> int:
    """The row on screen farthest from any other row (and inside the map): clicking it hits only that row."""
    d = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    gap = d.min(axis=1)
    inside = ((pos[:, 0] > box["x"] + 10) & (pos[:, 0] < box["x"] + box["width"] - 10)
              & (pos[:, 1] > box["y"] + 10) & (pos[:, 1] < box["y"] + box["height"] - 10))
    gap[~inside] = -1
    return int(gap.argmax())


# ------------------------------------------------------------------ the query in the URL

def test_the_url_reopens_a_typed_query_with_its_placement_and_neighbours(server, browser):
    pg = _open(browser, server.url + "/projector#source=vectors:words")
    pg.fill("#query", "king - man + woman")
    pg.click("#query-button")
    pg.wait_for_function("location.hash.includes('q=king+-+man+%2B+woman')")
    listed, rows = _listed(pg), pg.evaluate("projector.state.query.hits.map(h => h.row)")
    marker = pg.locator("#query-marker").bounding_box()
    assert listed[0] == "queen" and pg.is_visible("#query-marker")
    link = pg.url
    pg.close()
    pg = _open(browser, link)
    pg.wait_for_function("document.getElementById('neighbors-title').textContent === "
                         "'Nearest to “king - man + woman”'")
    assert pg.input_value("#query") == "king - man + woman" and _listed(pg) == listed
    assert pg.inner_text("#query-info") == "placed by PCA (exact)"
    assert pg.evaluate("projector.plot().get('selectedPoints')") == rows
    again = pg.locator("#query-marker").bounding_box()
    assert (again["x"], again["y"]) == pytest.approx((marker["x"], marker["y"]), abs=1)
    assert pg.is_hidden("#note") and pg.errors == []
    pg.close()


def test_a_malformed_query_or_dimension_in_the_url_is_ignored_with_a_note(server, browser):
    pg = _open(browser, server.url + "/projector#source=vectors:words&q=&dims=4&cam=1,2,3,4,5,6")
    assert pg.inner_text("#note") == ("Ignored part of the link's view state: an empty or overlong query; a view of 4 "
                                      "dimensions (2 or 3); a malformed camera.")
    assert pg.input_value("#dims") == "2" and pg.evaluate("projector.state.query") is None
    assert pg.evaluate("projector.state.drawnPoints") == len(KEYS) and pg.errors == []
    pg.close()
    pg = _open(browser, server.url + "/projector#source=vectors:words&q=nosuchword")  # a stale query: its error shown
    pg.wait_for_function("document.getElementById('status').className === 'error'")
    assert "nosuchword" in pg.inner_text("#status") and pg.evaluate("projector.state.drawnPoints") == len(KEYS)
    assert pg.errors == []
    pg.close()


# ------------------------------------------------------------------ 3-D

def test_the_3d_view_draws_every_point_in_its_colours_and_picks_a_click(server, browser):
    import httpx

    pg = _open(browser, server.url + "/projector#source=collection:pts")
    drawn = pg.evaluate("projector.state.drawn")
    pg.select_option("#dims", "3")
    pg.wait_for_function(f"projector.state.dims === 3 && projector.state.drawn > {drawn}")
    pg.wait_for_function("document.getElementById('status').textContent === '300 points · PCA 3-D · pts'")
    assert pg.evaluate("projector.state.xyz.length") == 3 * N
    assert pg.is_hidden("#map canvas:not(.view3d)") and pg.is_visible("#map canvas.view3d")
    px = _pixels(pg)
    for name, rgb in CATS.items():
        assert _near(px, rgb) > 50, f"no {name} points drawn in 3-D"
    assert _near(px, (255, 255, 255), 2) > len(px) // 2  # a white background, not a blank or black canvas
    box = pg.locator("#map").bounding_box()
    pos = _screen(pg, N)
    row = _isolated(pos, box)
    pg.mouse.move(*pos[row])
    pg.wait_for_function("document.getElementById('tooltip').style.display === 'block'")
    assert pg.inner_text("#tooltip").splitlines() == [f"p{row}", f"item {row}"]
    before = _pixels(pg)
    pg.mouse.click(*pos[row])
    pg.wait_for_function(f"document.getElementById('neighbors-title').dataset.id === 'p{row}'")
    api = httpx.post(server.url + "/api/projector/collection/pts/neighbors",
                     json={"row": row, "k": 10, "dims": 3}).json()
    assert _listed(pg) == [h["id"] for h in api["hits"]]
    assert pg.inner_text("#overlap") == f"{api['also_2d']} of 10 are also 3-D neighbours (cosine)"
    assert pg.evaluate("projector.view3d().rows") == [row, *[h["row"] for h in api["hits"]]]
    assert _near(_pixels(pg), RING, 20) > _near(before, RING, 20) + 20  # the rings of the 11 highlighted rows
    assert pg.errors == []
    pg.close()


def test_the_3d_camera_and_view_round_trip_through_the_url(server, browser):
    pg = _open(browser, server.url + "/projector#source=collection:pts&dims=3")
    assert pg.input_value("#dims") == "3" and pg.evaluate("projector.state.dims") == 3
    box = pg.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    start = pg.evaluate("projector.view3d().getCamera()")
    pg.mouse.move(cx, cy)
    pg.mouse.down()
    pg.mouse.move(cx + 120, cy + 50, steps=6)  # orbit
    pg.mouse.up()
    pg.mouse.wheel(0, -200)  # zoom in
    pg.wait_for_function(f"projector.view3d().getCamera()[2] !== {start[2]}")
    pg.evaluate("projector.select([4, 5, 6])")
    cam = pg.evaluate("projector.view3d().getCamera()")
    want = "%2C".join(f"{c:.4f}".rstrip("0").rstrip(".") for c in cam)
    pg.wait_for_function(f"location.hash.includes('cam={want}')")
    assert "dims=3" in pg.evaluate("location.hash") and "sel=4%2C5%2C6" in pg.evaluate("location.hash")
    link = pg.url
    pg.close()
    pg = _open(browser, link)
    pg.wait_for_function("projector.state.selected.length === 3")
    assert pg.evaluate("projector.view3d().getCamera()") == pytest.approx(cam, abs=1e-3)
    assert pg.evaluate("projector.view3d().rows") == [4, 5, 6]
    assert pg.is_hidden("#note") and pg.errors == []
    pg.close()


def test_a_query_lands_in_the_3d_view(server, browser):
    pg = _open(browser, server.url + "/projector#source=vectors:words&dims=3")
    pg.fill("#query", "king - man + woman")
    pg.click("#query-button")
    pg.wait_for_function("document.getElementById('query-marker').style.display === 'block'")
    place = pg.evaluate("projector.state.query.place")
    assert len(place) == 3 and _listed(pg)[0] == "queen"
    want = pg.evaluate(f"projector.view3d().screenOf(null, {place})")
    box = pg.locator("#map").bounding_box()
    marker = pg.locator("#query-marker").bounding_box()
    assert marker["x"] + marker["width"] / 2 == pytest.approx(box["x"] + 1 + want["x"], abs=3)
    assert marker["y"] + marker["height"] / 2 == pytest.approx(box["y"] + 1 + want["y"], abs=3)
    assert pg.errors == []
    pg.close()


def test_without_webgl_a_3d_link_falls_back_to_the_2d_canvas(server, playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, "--disable-webgl", "--disable-3d-apis"])
    try:
        pg = _open(b, server.url + "/projector#source=collection:pts&dims=3")
        assert pg.evaluate("projector.state.webgl") is False and pg.evaluate("projector.state.dims") == 2
        assert pg.inner_text("#note").startswith("WebGL is unavailable in this browser")
        assert pg.inner_text("#note").endswith("Ignored part of the link's view state: the 3-D view needs WebGL.")
        assert pg.is_disabled("#dims")
        px = _pixels(pg)
        for name, rgb in CATS.items():
            assert _near(px, rgb, 4) > 50, f"no {name} points drawn"
        assert pg.errors == []
    finally:
        b.close()


# ------------------------------------------------------------------ two spaces side by side

def _box(pg, box: dict, x0: float, x1: float) -> None:
    """Shift + drag a box selection over the horizontal fraction x0..x1 of `box` (full height)."""
    pg.keyboard.down("Shift")
    pg.mouse.move(box["x"] + x0 * box["width"], box["y"] + 3)
    pg.mouse.down()
    for f in (0.3, 0.6, 1.0):
        pg.mouse.move(box["x"] + (x0 + f * (x1 - x0)) * box["width"], box["y"] + 3 + f * (box["height"] - 6), steps=4)
    pg.mouse.up()
    pg.keyboard.up("Shift")


def test_two_sources_side_by_side_with_selection_linked_by_id(server, browser):
    import httpx

    ids = {name: httpx.get(f"{server.url}/api/projector/collection/{name}/ids").json()["ids"] for name in ("pts", "after")}
    assert ids["after"][:2] == ["p10", "p11"] and len(ids["after"]) == N - 5
    row_of = {name: {k: i for i, k in enumerate(v)} for name, v in ids.items()}
    pg = _open(browser, server.url + "/projector#source=collection:pts")
    pg.select_option("#lasso-type", "rectangle")
    pg.select_option("#compare", "collection:after")
    pg.wait_for_function("projector.compare().active && projector.compare().n > 0")
    title = pg.inner_text("#map2 .panel-title")
    assert title.startswith(f"after · {N - 5} points, {N - 10} ids shared · trustworthiness 0.")
    assert "cmp=collection%3Aafter" in pg.evaluate("location.hash") and pg.is_disabled("#dims")
    before = _pixels(pg, "#map2")
    for name, rgb in CATS.items():  # coloured by the same field ("cat") as the main map
        assert _near(before, rgb) > 30, f"no {name} points drawn in the second panel"
    _box(pg, pg.locator("#map").bounding_box(), 0.01, 0.5)  # select in the main map: the left half
    pg.wait_for_function("projector.state.selected.length > 0")
    main = pg.evaluate("projector.state.selected")
    want = [row_of["after"][ids["pts"][r]] for r in main if ids["pts"][r] in row_of["after"]]
    assert 0 < len(want) < N - 5
    pg.wait_for_function(f"projector.compare().panel.selected().length === {len(want)}")
    assert pg.evaluate("projector.compare().panel.selected()") == want
    assert _near(_pixels(pg, "#map2"), RING, 20) > _near(before, RING, 20) + 20  # highlighted in the second panel
    assert pg.inner_text("#map2 .panel-title").endswith(f" · {len(want)} of {len(main)} selected ids here")
    box2 = pg.locator("#map2").bounding_box()
    _box(pg, box2, 0.5, 0.99)  # select in the second panel: its right half selects the same ids in the main map
    # the main map's selection replaced, and the panel's own selection narrowed to the ids both sources hold: the box
    # selects every row in it first, and the link back from the main map (its select event, published
    # asynchronously) leaves only the shared ones — wait for that, not just for the main map
    pg.wait_for_function("projector.compare().rows.length > 50 && projector.state.selected.length > 50 && "
                         "!projector.state.selected.some(r => r < 10) && projector.compare().panel.selected()"
                         ".every(r => projector.compare().mainRowOf.has(projector.compare().ids[r]))")
    inside = pg.evaluate("projector.compare().panel.selected()")
    xs = [pg.evaluate(f"projector.compare().pointPosition({i}).x") for i in inside]
    assert min(xs) > box2["x"] + box2["width"] / 2  # the box's rows (those whose ids the main map has too)
    mapped = [row_of["pts"][ids["after"][i]] for i in inside]
    assert pg.evaluate("projector.state.selected") == mapped
    assert pg.evaluate("projector.plot().get('selectedPoints')") == mapped
    link = pg.url
    pg.close()
    pg = _open(browser, link)  # the link reopens both sources and the linked selection
    pg.wait_for_function(f"projector.compare().active && projector.compare().panel.selected().length === {len(inside)}")
    assert pg.input_value("#compare") == "collection:after"
    assert pg.evaluate("projector.state.selected") == mapped and pg.errors == []
    assert pg.evaluate("projector.compare().panel.selected()") == inside
    pg.select_option("#compare", "")  # closed: the panel hidden, the link without it
    pg.wait_for_function("!location.hash.includes('cmp=')")
    assert pg.is_hidden("#map2") and not pg.is_disabled("#dims") and pg.errors == []
    pg.close()


def test_compare_is_2d_and_a_stale_compare_source_in_the_url_is_ignored(server, browser):
    pg = _open(browser, server.url + "/projector#source=collection:pts&dims=3")
    pg.select_option("#compare", "collection:after")  # from 3-D: the main map is laid out in 2-D again
    pg.wait_for_function("projector.compare().active && projector.compare().n > 0 && projector.state.dims === 2")
    assert pg.input_value("#dims") == "2" and pg.is_disabled("#dims") and "dims=3" not in pg.evaluate("location.hash")
    assert pg.errors == []
    pg.close()
    pg = _open(browser, server.url + "/projector#source=collection:pts&cmp=collection:gone")
    assert pg.inner_text("#note") == ("Ignored part of the link's view state: the compare source 'collection:gone' "
                                      "is not on this server.")
    assert pg.is_hidden("#map2") and pg.evaluate("projector.compare().active") is False and pg.errors == []
    pg.close()
