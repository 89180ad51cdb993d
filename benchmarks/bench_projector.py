"""The projector in headless Chromium (software WebGL 2, SwiftShader; no GPU): time from navigation to the first
drawn frame, frames per second while the camera pans (``pan_fps``: frames presented, and of those drawn in full;
beside the same page with regl-scatterplot's own frame path), browser memory, at 10k / 100k / 1M points; and the
cached reopen (a new server process state reading the layout from disk, then the page's first frame).

    nice -n 19 .venv/bin/python benchmarks/bench_projector.py [--sizes 10000,100000,1000000] [--repeats 3] [--atlas]

The points are clustered random vectors (32-d: the browser's cost depends on the point count, not the width); the
layout is PCA, computed once per size before the page timings (the server's projection time is printed too, and
the time to build the drawn points' KDBush spatial index on the server, which the layout request includes).

Each repeat opens the page twice, interleaved, in alternating order: with the server's spatial index (as shipped) and without it (the
``/spatial-index`` request aborted by the browser, so regl-scatterplot builds its own index, as before issue 22's
speed work). ``--atlas`` also opens Embedding Atlas (``embedding-atlas``, not a dependency: ``--atlas-path`` holds
it) on a Parquet file of the same layout's coordinates (``--x/--y``, no projection) in the same browser, interleaved
with ours; its first frame is the first screenshot of its map canvas with points drawn, or the message it shows
instead (it needs WebGPU with shader-f16: SwiftShader's adapter lacks it, and Mesa 22.3's lavapipe, which has it,
is refused by Dawn; ``probe_webgpu.py`` and benchmarks/results/atlas-lavapipe.md).
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))  # headless_chromium
import numpy as np  # noqa: E402
from _common import print_settings  # noqa: E402
from headless_chromium import launch  # noqa: E402


def make_vectors(n: int, dim: int = 32, seed: int = 0):
    from embedlab.vectors import Vectors

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim)).astype(np.float32) * 3
    mat = centres[rng.integers(0, 20, n)] + rng.standard_normal((n, dim)).astype(np.float32)
    return Vectors([f"k{i}" for i in range(n)], mat.astype(np.float32))


def first_frame(browser, url: str, server_index: bool = True) -> tuple[float, dict]:
    pg = browser.new_page(viewport={"width": 1200, "height": 800})
    if not server_index:  # the page then draws without it: regl-scatterplot builds its own index
        pg.route("**/spatial-index*", lambda route: route.abort())
    t = time.perf_counter()
    pg.goto(url)
    pg.wait_for_function("window.projector && projector.state.drawnPoints > 0", timeout=300_000)
    seconds = time.perf_counter() - t
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    info = {"page": pg, "js_heap_mb": metrics.get("JSHeapUsedSize", 0) / 2**20,
            "marks": pg.evaluate("projector.state.marks"),
            "server_index": pg.evaluate("projector.state.spatialIndex !== null")}
    assert info["server_index"] == server_index
    return seconds, info


ATLAS_BLANK = "WebGPU is unavailable"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_atlas(parquet: Path, atlas_path: str) -> tuple[subprocess.Popen, str]:
    """Embedding Atlas's CLI serving ``parquet`` with its x / y columns as the map (no projection, no browser)."""
    import httpx

    port = free_port()
    env = dict(os.environ, PYTHONPATH=atlas_path, BROWSER="true")
    proc = subprocess.Popen([sys.executable, "-m", "embedding_atlas.cli", str(parquet), "--x", "x", "--y", "y",
                             "--text", "id", "--disable-projection", "--port", str(port), "--no-auto-port"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://localhost:{port}/"
    deadline = time.perf_counter() + 300
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"embedding-atlas exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=2)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("embedding-atlas did not start in 300 s")


def atlas_first_frame(browser, url: str, timeout: float = 180) -> tuple[float, str]:
    """Seconds from navigation to Embedding Atlas's map showing points (its map canvas sized to the view and a
    screenshot of it with more than 1,000 non-background pixels), or to the message it shows instead; and what
    happened ("drawn" or the message)."""
    from PIL import Image

    pg = browser.new_page(viewport={"width": 1200, "height": 800})
    try:
        t = time.perf_counter()
        pg.goto(url)
        while time.perf_counter() - t < timeout:
            text = pg.evaluate("document.body ? document.body.innerText : ''")
            if ATLAS_BLANK in text:
                line = next(ln for ln in text.splitlines() if ATLAS_BLANK in ln)
                return time.perf_counter() - t, f"blank map: {line.strip()}"
            # its map canvas is a 300 x 150 placeholder until its WebGPU renderer sizes it to the view (> 400 px)
            canvas = pg.locator("canvas").first
            if pg.locator("canvas").count() and (canvas.bounding_box() or {}).get("width", 0) > 400:
                shot = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
                px = np.asarray(shot).reshape(-1, 3).astype(int)
                background = np.median(px, axis=0)
                if int((np.abs(px - background).max(axis=1) > 40).sum()) > 1000:
                    return time.perf_counter() - t, "drawn"
        return time.perf_counter() - t, f"nothing drawn in {timeout:.0f} s"
    finally:
        pg.close()


# a pan: the camera target moved on every animation frame for `ms` ms, along x0 + ax * sin(2 pi t / period),
# y0 + ay * cos(2 pi t / period) (layout units; the view is 2 * cameraDistance units tall), or a zoom (az: the
# distance d0 * (1 + az * sin(2 pi t / period))); counts from the page:
# presented = frames put on the map's canvas (each of the plot's renders), full = of those, frames drawn in full
# (projector-frames.js: the others are the last full frame moved by the pan)
PAN_JS = """([ms, ax, ay, period, az]) => new Promise((done) => {
  const plot = projector.plot(), [x0, y0] = plot.get("cameraTarget"), d0 = plot.get("cameraDistance");
  const start = { ...projector.frames() };
  let t0 = null;
  function step(t) {
    if (t0 === null) t0 = t;
    const k = 2 * Math.PI * (t - t0) / period;
    const cam = { cameraTarget: [x0 + ax * Math.sin(k), y0 + ay * Math.cos(k)] };  // a pan, every frame
    if (az) cam.cameraDistance = d0 * (1 + az * Math.sin(k));  // or a zoom
    plot.set(cam);
    if (t - t0 < ms) { requestAnimationFrame(step); return; }
    if (az) plot.set({ cameraDistance: d0 });
    const s = (t - t0) / 1000, end = projector.frames();
    done({ presented: (end.presented - start.presented) / s, full: (end.full - start.full) / s });
  }
  requestAnimationFrame(step);
})"""
PANS = {"circle": (0.3, 0.3, 2513.3, 0.0),  # as in runs A-D: radius 0.3 (108 px at 100k), once round in 2.5 s
        "sweep": (1.0, 0.0, 2000.0, 0.0),  # side to side, +-1 unit (+-360 px at 100k, 720 px/s on average), 2 s
        "zoom": (0.0, 0.0, 2000.0, 0.2)}  # the distance +-20 %, 2 s period: every frame drawn in full


def pan_fps(pg, ms: int = 3000) -> dict[str, float]:
    """Frames per second while the camera moves continuously (on every animation frame), for each motion in PANS
    (two pans and a zoom): ``{motion}_fps``, frames presented on the map's canvas per second (what the user sees),
    and ``{motion}_full``, of those, frames drawn in full per second (the rest are the last full frame moved)."""
    out = {}
    for name, (ax, ay, period, az) in PANS.items():
        r = pg.evaluate(PAN_JS, [ms, ax, ay, period, az])
        out[f"{name}_fps"], out[f"{name}_full"] = float(r["presented"]), float(r["full"])
    return out


# the page without projector-frames.js's frame path: every frame drawn in full by regl-scatterplot's own renderer
LIBRARY_FRAMES = (Path(__file__).resolve().parents[1] / "scripts" / "library_frames.js").read_text(encoding="utf-8")


def pan_fps_library(browser, url: str) -> dict[str, float]:
    """``pan_fps`` on a new page at ``url`` served regl-scatterplot's own frame path (LIBRARY_FRAMES)."""
    pg = browser.new_page(viewport={"width": 1200, "height": 800})
    pg.route("**/static/projector-frames.js",
             lambda route: route.fulfill(body=LIBRARY_FRAMES, content_type="text/javascript"))
    pg.goto(url)
    pg.wait_for_function("window.projector && projector.state.drawnPoints > 0", timeout=300_000)
    try:
        return {f"library_{k}": v for k, v in pan_fps(pg).items()}
    finally:
        pg.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--atlas", action="store_true", help="also time Embedding Atlas on the same coordinates")
    parser.add_argument("--atlas-path", default="/tmp/peers/atlas:/tmp/peers",
                        help="PYTHONPATH holding embedding_atlas and its dependencies")
    args = parser.parse_args()
    settings = print_settings("projector: first frame, panning, memory, cached reopen (headless Chromium, software WebGL)")
    import httpx
    from playwright.sync_api import sync_playwright

    from embedlab.server import create_app
    from embedlab.server.background import BackgroundServer
    from embedlab.server.spatial_index import kdbush, normalized

    rows = []
    with sync_playwright() as p:
        browser = launch(p)
        for n in [int(s) for s in args.sizes.split(",")]:
            vec = make_vectors(n)
            with tempfile.TemporaryDirectory() as home:
                name = f"pts{n}"
                with BackgroundServer(create_app(Path(home), vectors_sets={name: vec})) as srv:
                    t = time.perf_counter()
                    r = httpx.get(f"{srv.url}/api/projector/vectors/{name}/layout?method=pca", timeout=600)
                    while r.status_code == 202 and r.json()["status"] in ("queued", "running"):  # a job: poll
                        time.sleep(0.2)
                        r = httpx.get(f"{srv.url}/api/jobs/{r.json()['id']}", timeout=60)
                    project_s = time.perf_counter() - t
                    coords = np.frombuffer(httpx.get(f"{srv.url}/api/projector/vectors/{name}/coords",
                                                     timeout=60).content, "<f4").reshape(n, 2)
                    t = time.perf_counter()
                    kdbush(normalized(coords))
                    index_s = time.perf_counter() - t
                    atlas, atlas_url = None, ""
                    if args.atlas:
                        import pyarrow as pa
                        import pyarrow.parquet as pq

                        parquet = Path(home) / f"{name}.parquet"
                        pq.write_table(pa.table({"id": [f"k{i}" for i in range(n)], "x": coords[:, 0],
                                                 "y": coords[:, 1]}), parquet)
                        atlas, atlas_url = start_atlas(parquet, args.atlas_path)
                    url = f"{srv.url}/projector#source=vectors:{name}&method=pca"
                    frames, frames_before, fps, heap, atlas_s, atlas_what = [], [], [], [], [], []
                    try:
                        for rep in range(args.repeats):  # interleaved, order alternating: ours with / without
                            for with_index in ((True, False) if rep % 2 == 0 else (False, True)):  # the index
                                s, info = first_frame(browser, url, server_index=with_index)
                                if with_index:
                                    frames.append(s)
                                    heap.append(info["js_heap_mb"])
                                    ours = pan_fps(info["page"])
                                    fps.append({**ours, **pan_fps_library(browser, url)} if rep % 2 == 0 else
                                               {**pan_fps_library(browser, url), **ours})
                                else:
                                    frames_before.append(s)
                                info["page"].close()
                            if atlas is not None:
                                s, what = atlas_first_frame(browser, atlas_url)
                                atlas_s.append(s)
                                atlas_what.append(what)
                    finally:
                        if atlas is not None:
                            atlas.terminate()
                            atlas.wait()
                # a new server over the same home: the layout comes from disk
                reopen = []
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    with BackgroundServer(create_app(Path(home), vectors_sets={name: vec})) as srv:
                        url = f"{srv.url}/projector#source=vectors:{name}&method=pca"
                        s, info = first_frame(browser, url)
                        info["page"].close()
                    reopen.append(time.perf_counter() - t)
            row = {"n": n, "server_pca_s": project_s, "index_s": index_s, "first_frame_s": statistics.median(frames),
                   "first_frame_before_s": statistics.median(frames_before),
                   **{k: statistics.median(f[k] for f in fps) for k in fps[0]}, "js_heap_mb": statistics.median(heap),
                   "cached_reopen_s": statistics.median(reopen),
                   "atlas_s": statistics.median(atlas_s) if atlas_s else None,
                   "atlas_what": "; ".join(sorted(set(atlas_what))) if atlas_what else "not run",
                   "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}
            rows.append(row)
            atlas_txt = f"{row['atlas_s']:5.2f} s ({row['atlas_what']})" if atlas_s else "not run"
            print(f"n={n:>9,}  server PCA layout (+ table, trustworthiness, index) {project_s:6.2f} s  "
                  f"(index {index_s:.2f} s)  first frame {row['first_frame_s']:5.2f} s (without the server's index "
                  f"{row['first_frame_before_s']:5.2f} s)  pan: circle {row['circle_fps']:5.1f} fps "
                  f"({row['circle_full']:4.1f} full/s; library's frames {row['library_circle_fps']:4.1f}), sweep "
                  f"{row['sweep_fps']:5.1f} fps ({row['sweep_full']:4.1f} full/s; library's frames "
                  f"{row['library_sweep_fps']:4.1f}), zoom {row['zoom_fps']:5.1f} fps (library's frames "
                  f"{row['library_zoom_fps']:4.1f})  JS heap "
                  f"{row['js_heap_mb']:6.1f} MiB  cached reopen (new server + page) {row['cached_reopen_s']:5.2f} s  "
                  f"Embedding Atlas {atlas_txt}  load {row['load']}", flush=True)
        browser.close()
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"(at the start: {settings['loadavg']})")
    print("\n| points | server PCA layout (+ table, trustworthiness, spatial index) | of which the index | first frame "
          "| first frame without the server's index | panning, circle: frames presented/s (of which full/s) "
          "| the same, library's frame path | panning, sweep: frames presented/s (of which full/s) "
          "| the same, library's frame path | zoom: frames/s (all full) | the same, library's frame path | JS heap "
          "| cached reopen | Embedding Atlas first frame | load after the size |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        atlas_cell = f"{r['atlas_s']:.2f} s: {r['atlas_what']}" if r["atlas_s"] is not None else "not run"
        print(f"| {r['n']:,} | {r['server_pca_s']:.2f} s | {r['index_s']:.2f} s | {r['first_frame_s']:.2f} s | "
              f"{r['first_frame_before_s']:.2f} s | {r['circle_fps']:.1f} fps ({r['circle_full']:.1f}) | "
              f"{r['library_circle_fps']:.1f} fps | {r['sweep_fps']:.1f} fps ({r['sweep_full']:.1f}) | "
              f"{r['library_sweep_fps']:.1f} fps | {r['zoom_fps']:.1f} fps | {r['library_zoom_fps']:.1f} fps | "
              f"{r['js_heap_mb']:.0f} MiB | "
              f"{r['cached_reopen_s']:.2f} s | {atlas_cell} | {r['load']} |")


if __name__ == "__main__":
    main()
