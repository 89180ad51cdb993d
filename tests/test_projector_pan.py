"""Panning the projector's 2-D map in Debian's headless Chromium (software WebGL): while the camera only pans, a
frame is the last full frame moved by the pan (static/projector-frames.js), and that picture must be the true one —
the same pixels as a frame drawn in full at the same camera — and never blank; a zoom, or a pan past the margin
drawn around the view, draws in full. Pixels are read from the map's canvas at the frame's own ``draw`` event; waits
on page state, never on fixed sleeps."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from projector_pages import open_page

pytest.importorskip("PIL.Image")

from embedlab.server import create_app  # noqa: E402
from embedlab.server.background import BackgroundServer  # noqa: E402
from embedlab.vectors import Vectors  # noqa: E402

SIZES = {"small": 2_000, "large": 100_000}  # alpha-blended points; performance mode (from 100,000)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import time

    import httpx

    rng = np.random.default_rng(5)
    sets = {}
    for name, n in SIZES.items():
        centres = rng.standard_normal((12, 8)).astype(np.float32) * 3
        mat = centres[rng.integers(0, 12, n)] + rng.standard_normal((n, 8)).astype(np.float32)
        sets[name] = Vectors([f"k{i}" for i in range(n)], mat.astype(np.float32))
    with BackgroundServer(create_app(tmp_path_factory.mktemp("pan-home"), vectors_sets=sets)) as srv:
        for name in SIZES:  # the layouts first (a background job at 100,000), so pages open drawn
            r = httpx.get(f"{srv.url}/api/projector/vectors/{name}/layout?method=pca", timeout=600)
            while r.status_code == 202 and r.json()["status"] in ("queued", "running"):
                time.sleep(0.2)
                r = httpx.get(f"{srv.url}/api/jobs/{r.json()['id']}", timeout=60)
        yield srv


# the map canvas as a PNG data URL, with the frame counts, at the next presented frame after moving the camera
# by (dx, dy) device pixels of points' motion on screen (y down) and multiplying its distance by `zoom`
MOVE = """([dx, dy, zoom]) => new Promise((done) => {
  const plot = projector.plot(), canvas = plot.get("canvas"), d = plot.get("cameraDistance");
  const [tx, ty] = plot.get("cameraTarget"), perUnit = canvas.height / 2 / d;
  const handle = plot.subscribe("draw", () => {
    plot.unsubscribe(handle);
    done({ png: canvas.toDataURL(), stats: { ...projector.frames() } });
  });
  plot.set({ cameraTarget: [tx - dx / perUnit, ty + dy / perUnit], cameraDistance: d * zoom });
})"""
NOW = "() => ({ png: projector.plot().get('canvas').toDataURL(), stats: { ...projector.frames() } })"


def _rgba(png: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1]))).convert("RGBA")).astype(int)


def _settle(pg, full_before: int) -> dict:
    """Waits for the full frame drawn once the camera stops (``full`` past ``full_before``); the canvas then."""
    pg.wait_for_function(f"projector.frames().full > {full_before} && !projector.frames().waiting")
    return pg.evaluate(NOW)


@pytest.fixture()
def page(server, browser, request):
    """The map of ``request.param`` (a name in SIZES), drawn in full and settled (no moved frame on it)."""
    pg = open_page(browser, f"{server.url}/projector#source=vectors:{request.param}&method=pca")
    pg.wait_for_function("projector.frames().full > 0 && !projector.frames().waiting", polling="raf")
    yield pg
    assert pg.errors == []
    pg.close()


def _drawn(img: np.ndarray) -> np.ndarray:
    return img[..., 3] > 0


def _unmatched(a: np.ndarray, b: np.ndarray, reach: int) -> int:
    """Drawn pixels of ``a`` with no drawn pixel of ``b`` within ``reach`` pixels of them (either axis)."""
    near = np.zeros(a.shape[:2], bool)
    for sy in range(-reach, reach + 1):
        for sx in range(-reach, reach + 1):
            near |= np.roll(np.roll(_drawn(b), sy, axis=0), sx, axis=1)
    return int((_drawn(a) & ~near).sum())


@pytest.mark.parametrize("page", list(SIZES), indirect=True)
def test_a_panned_frame_is_the_last_full_frame_moved_and_equals_a_fresh_full_frame(page):
    pg = page
    before = pg.evaluate(NOW)
    moved = pg.evaluate(MOVE, [37, -23, 1])  # whole pixels: the moved picture is exact
    assert moved["stats"]["moved"] == before["stats"]["moved"] + 1
    assert moved["stats"]["full"] == before["stats"]["full"]
    fresh = _settle(pg, moved["stats"]["full"])  # the same camera, drawn in full once it stopped
    assert fresh["stats"]["full"] == moved["stats"]["full"] + 1 and fresh["stats"]["moved"] == moved["stats"]["moved"]
    a, b = _rgba(moved["png"]), _rgba(fresh["png"])
    assert _drawn(b).sum() > 1000
    differ = np.abs(a - b).max(axis=2) > 8
    assert differ.sum() <= 0.001 * differ.size, int(differ.sum())
    # and it is the full frame before the pan, moved: 37 px right, 23 px up
    old = _rgba(before["png"])
    assert np.array_equal(a[40:-40, 40:-40], old[63:-17, 3:-77])

    # a pan by a fraction of a pixel: the moved frame is the one at the camera rounded to whole pixels, so every
    # point is drawn within a pixel of where the full frame has it (only the anti-aliased edges' shades differ)
    moved = pg.evaluate(MOVE, [12.4, 7.6, 1])
    assert moved["stats"]["moved"] == fresh["stats"]["moved"] + 1
    fresh = _settle(pg, moved["stats"]["full"])
    a, b = _rgba(moved["png"]), _rgba(fresh["png"])
    assert _unmatched(a, b, 1) == 0 and _unmatched(b, a, 1) == 0
    assert _unmatched(a, b, 0) > 0  # (not the same picture: the pan did move the points by a fraction)


# while the camera pans on every animation frame, the map is drawn again with other points (mirrored left to right;
# no spatial index given, so the library builds its own, asynchronously); 5 frames after the draw resolved the canvas
# is captured and the panning stops
REDRAW_WHILE_PANNING = """() => new Promise((done) => {
  const map = projector.map(), plot = map.plot, xy = Float32Array.from(projector.state.xy);
  for (let i = 0; i < xy.length; i += 2) xy[i] = -xy[i];
  let panning = true;
  const step = () => {
    if (!panning) return;
    const [tx, ty] = plot.get("cameraTarget");
    plot.set({ cameraTarget: [tx + 0.002, ty] });
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
  map.draw(xy, null, null, null).then(() => {
    let frames = 0;
    const handle = plot.subscribe("draw", () => {
      if (++frames < 5) return;
      plot.unsubscribe(handle); panning = false;
      done({ png: plot.get("canvas").toDataURL(), stats: { ...projector.frames() } });
    });
  });
})"""


@pytest.mark.parametrize("page", ["small"], indirect=True)
def test_points_drawn_again_while_the_camera_pans_are_shown_never_the_old_picture_moved(page):
    pg = page
    before = pg.evaluate(NOW)
    during = pg.evaluate(REDRAW_WHILE_PANNING)
    assert during["stats"]["moved"] > before["stats"]["moved"]  # the pan did show moved frames
    fresh = _settle(pg, during["stats"]["full"])  # the same camera and points, drawn in full
    a, b, old = _rgba(during["png"]), _rgba(fresh["png"]), _rgba(before["png"])
    assert _unmatched(old, b, 1) > 100  # the mirrored points are another picture
    assert _unmatched(a, b, 1) == 0 and _unmatched(b, a, 1) == 0


@pytest.mark.parametrize("page", ["large"], indirect=True)
def test_a_zoom_or_a_pan_past_the_margin_draws_in_full(page):
    pg = page
    before = pg.evaluate(NOW)["stats"]
    zoomed = pg.evaluate(MOVE, [5, 5, 0.8])["stats"]
    assert zoomed["full"] == before["full"] + 1 and zoomed["moved"] == before["moved"]
    width = pg.evaluate("projector.plot().get('canvas').width")
    far = pg.evaluate(MOVE, [width * 0.3, 0, 1])["stats"]  # past the margin (a quarter of the larger side)
    assert far["full"] == zoomed["full"] + 1 and far["moved"] == zoomed["moved"]


# a continuous pan: on each presented frame, the number of drawn (non-transparent) canvas pixels; the camera moves
# `step` device px a frame along a circle of radius `radius` px for `frames` frames
SWEEP = """([frames, step, radius]) => new Promise((done) => {
  const plot = projector.plot(), canvas = plot.get("canvas"), d = plot.get("cameraDistance");
  const [tx, ty] = plot.get("cameraTarget"), perUnit = canvas.height / 2 / d, counts = [];
  const start = { ...projector.frames() };
  let i = 0;
  const handle = plot.subscribe("draw", () => {
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let k = 3; k < px.length; k += 4) if (px[k] > 0) n++;
    counts.push(n);
    if (++i >= frames) { plot.unsubscribe(handle); done({ counts, start, end: { ...projector.frames() } }); return; }
    requestAnimationFrame(() => {
      const a = i * step / radius;
      plot.set({ cameraTarget: [tx + radius * (1 - Math.cos(a)) / perUnit, ty + radius * Math.sin(a) / perUnit] });
    });
  });
  plot.set({ cameraTarget: [tx, ty + 1 / perUnit] });
})"""


@pytest.mark.parametrize("page", list(SIZES), indirect=True)
def test_the_canvas_is_never_blank_while_it_pans_past_the_margin(page):
    pg = page
    full = pg.evaluate(NOW)
    drawn = int(_drawn(_rgba(full["png"])).sum())
    out = pg.evaluate(SWEEP, [60, 12, 200])  # 720 px along a circle 400 px across: past the margin and back
    counts, start, end = out["counts"], out["start"], out["end"]
    assert len(counts) == 60 and end["presented"] - start["presented"] == 60
    assert end["moved"] - start["moved"] >= 30  # most frames moved (a few may be full: the camera stopped), ...
    assert end["full"] - start["full"] >= 2  # ... some drawn in full where the pan passed the margin
    assert min(counts) > 0.3 * drawn, (min(counts), drawn)


@pytest.mark.parametrize("page", ["large"], indirect=True)
def test_a_mouse_drag_pans_with_moved_frames_and_the_link_and_hover_follow(page):
    pg = page
    start = pg.evaluate("({ ...projector.frames() })")
    target = pg.evaluate("projector.plot().get('cameraTarget')")
    box = pg.locator("#map").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pg.mouse.move(x, y)
    pg.mouse.down()
    for k in range(1, 9):  # 80 px right, 40 px down, one animation frame apart (waits on the page's frames)
        pg.mouse.move(x + 10 * k, y + 5 * k)
        pg.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    pg.mouse.up()
    pg.wait_for_function(f"projector.frames().full > {start['full']} && !projector.frames().waiting")
    end = pg.evaluate("({ ...projector.frames() })")
    assert end["moved"] > start["moved"]  # the drag's frames were the last full frame moved
    per_unit = pg.evaluate("projector.plot().get('canvas').height / 2 / projector.plot().get('cameraDistance')")
    moved = pg.evaluate("projector.plot().get('cameraTarget')")
    assert (target[0] - moved[0]) * per_unit == pytest.approx(80, abs=1)  # the map follows the mouse
    assert (moved[1] - target[1]) * per_unit == pytest.approx(40, abs=1)
    pg.wait_for_function("""(() => {  // the link carries the panned camera
      const cam = new URLSearchParams(location.hash.slice(1)).get('cam'), t = projector.plot().get('cameraTarget');
      return cam !== null && Math.abs(+cam.split(',')[0] - t[0]) < 1e-3 && Math.abs(+cam.split(',')[1] - t[1]) < 1e-3;
    })()""")
    # hover after the pan: a point's tooltip where the map now draws it
    row = pg.evaluate("""(() => { const p = projector.plot(), c = p.get('canvas');
      for (let i = 0; i < 100000; i += 997) { const s = p.getScreenPosition(i);
        if (s && s[0] > 50 && s[1] > 50 && s[0] < c.width - 50 && s[1] < c.height - 50) return i; } return -1; })()""")
    assert row >= 0
    pos = pg.evaluate(f"projector.pointPosition({row})")
    pg.mouse.move(pos["x"], pos["y"])
    pg.wait_for_function("document.getElementById('tooltip').style.display === 'block'")
    shown = pg.evaluate("projector.pointPosition(+document.getElementById('tooltip').dataset.row)")
    assert abs(shown["x"] - pos["x"]) <= 4 and abs(shown["y"] - pos["y"]) <= 4  # that point, or one on it


# projector-frames.js replaced by a class that leaves regl-scatterplot's own renderer in place (the frame path
# before MapFrames), the same file benchmarks/bench_projector.py serves
LIBRARY_FRAMES = (Path(__file__).resolve().parents[1] / "scripts" / "library_frames.js").read_text(encoding="utf-8")


@pytest.mark.parametrize("page", list(SIZES), indirect=True)
def test_a_full_frame_has_the_same_pixels_as_the_librarys_own_frame_path(page, server, browser):
    """The same pixels; with alpha-blended points (under 100,000) a few overlaps differ by a few levels in 255
    (blended in 8 bits here, in floats there)."""
    ours = _rgba(page.evaluate(NOW)["png"])
    pg = browser.new_page(viewport={"width": 1000, "height": 650})
    try:
        pg.route("**/static/projector-frames.js",
                 lambda route: route.fulfill(body=LIBRARY_FRAMES, content_type="text/javascript"))
        pg.goto(page.url)
        pg.wait_for_function("window.projector && projector.state.drawnPoints > 0 && projector.frames().full > 0")
        theirs = _rgba(pg.evaluate(NOW)["png"])
    finally:
        pg.close()
    assert _drawn(ours).sum() > 1000
    differ = np.abs(ours - theirs).max(axis=2)
    if page.evaluate("projector.state.n") >= 100_000:  # performance mode: no blending
        assert int((differ > 2).sum()) == 0, (int((differ > 2).sum()), int(differ.max()))
    else:
        assert int((differ > 2).sum()) <= 1e-4 * differ.size and int(differ.max()) <= 8, (int((differ > 2).sum()),
                                                                                          int(differ.max()))
