"""The projector's 3-D view (three.js Points) in headless Chromium (software WebGL 2, SwiftShader; no GPU): time
from navigation to the first drawn 3-D frame, frames per second while orbiting, and one hover pick (the Raycaster
over every point), at 10k / 100k / 1M points; beside the 2-D map's first frame on the same data and machine.

    nice -n 19 .venv/bin/python benchmarks/bench_projector_3d.py [--sizes 10000,100000,1000000] [--repeats 3]

Data as bench_projector.py (clustered random 32-d vectors); the 2-D and 3-D PCA layouts are computed once per size
before the page timings, so the timings are the page's (coordinates fetched, buffers built, drawn).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from _common import print_settings
from bench_projector import make_vectors
from headless_chromium import launch

ORBIT_JS = """(ms) => new Promise((done) => {
  const v = projector.view3d(), start = projector.state.drawn, c = v.getCamera(), r = Math.hypot(c[0], c[1], c[2]);
  let t0 = null;
  function step(t) {
    if (t0 === null) t0 = t;
    const k = (t - t0) / 400;
    v.setCamera([r * Math.sin(k), 0.3 * r, r * Math.cos(k), 0, 0, 0]);  // an orbit, every frame
    if (t - t0 < ms) requestAnimationFrame(step);
    else done((projector.state.drawn - start) / ((t - t0) / 1000));
  }
  requestAnimationFrame(step);
})"""
PICK_JS = """() => { const v = projector.view3d(), r = v.canvas.getBoundingClientRect(), t = performance.now();
  v.pick(r.width / 2, r.height / 2); return performance.now() - t; }"""


def opened(browser, url: str) -> tuple[float, object]:
    pg = browser.new_page(viewport={"width": 1200, "height": 800})
    t = time.perf_counter()
    pg.goto(url)
    pg.wait_for_function("window.projector && projector.state.drawnPoints > 0", timeout=300_000)
    return time.perf_counter() - t, pg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    print_settings("projector 3-D view: first frame, orbit, hover pick (headless Chromium, software WebGL)")
    import httpx
    from playwright.sync_api import sync_playwright

    from embedlab.server import create_app
    from embedlab.server.background import BackgroundServer

    print("| points | first frame 2-D (s) | first frame 3-D (s) | orbit 3-D (fps) | hover pick 3-D (ms) |")
    print("|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in a.sizes.split(",")):
        with tempfile.TemporaryDirectory() as home, \
                BackgroundServer(create_app(home, vectors_sets={"pts": make_vectors(n)})) as srv, \
                sync_playwright() as p:
            for dims in (2, 3):  # computed before the timings (a background job above 20,000 rows)
                while httpx.get(f"{srv.url}/api/projector/vectors/pts/layout?dims={dims}", timeout=600).status_code == 202:
                    time.sleep(0.5)
            browser = launch(p)
            rows: dict[str, list[float]] = {"2d": [], "3d": [], "fps": [], "pick": []}
            for _ in range(a.repeats):  # 2-D and 3-D interleaved
                s2, pg = opened(browser, srv.url + "/projector#source=vectors:pts&method=pca")
                pg.close()
                s3, pg = opened(browser, srv.url + "/projector#source=vectors:pts&method=pca&dims=3")
                rows["2d"].append(s2)
                rows["3d"].append(s3)
                rows["fps"].append(pg.evaluate(ORBIT_JS, 3000))
                rows["pick"].append(pg.evaluate(PICK_JS))
                pg.close()
            browser.close()
        med = {k: statistics.median(v) for k, v in rows.items()}
        print(f"| {n:,} | {med['2d']:.2f} | {med['3d']:.2f} | {med['fps']:.1f} | {med['pick']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
