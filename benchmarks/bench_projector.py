"""The projector in headless Chromium (software WebGL 2, SwiftShader; no GPU): time from navigation to the first
drawn frame, frames per second while panning with the mouse, browser memory, at 10k / 100k / 1M points; and the
cached reopen (a new server process state reading the layout from disk, then the page's first frame).

    nice -n 19 .venv/bin/python benchmarks/bench_projector.py [--sizes 10000,100000,1000000] [--repeats 3]

The points are clustered random vectors (32-d: the browser's cost depends on the point count, not the width); the
layout is PCA, computed once per size before the page timings (the server's projection time is printed too).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import print_settings

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def make_vectors(n: int, dim: int = 32, seed: int = 0):
    from embedlab.vectors import Vectors

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim)).astype(np.float32) * 3
    mat = centres[rng.integers(0, 20, n)] + rng.standard_normal((n, dim)).astype(np.float32)
    return Vectors([f"k{i}" for i in range(n)], mat.astype(np.float32))


def first_frame(browser, url: str) -> tuple[float, dict]:
    pg = browser.new_page(viewport={"width": 1200, "height": 800})
    t = time.perf_counter()
    pg.goto(url)
    pg.wait_for_function("window.projector && projector.state.drawnPoints > 0", timeout=300_000)
    seconds = time.perf_counter() - t
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    info = {"page": pg, "js_heap_mb": metrics.get("JSHeapUsedSize", 0) / 2**20,
            "marks": pg.evaluate("projector.state.marks")}
    return seconds, info


PAN_JS = """(ms) => new Promise((done) => {
  const plot = projector.plot(), start = projector.state.drawn, [x0, y0] = plot.get("cameraTarget");
  let t0 = null;
  function step(t) {
    if (t0 === null) t0 = t;
    const k = (t - t0) / 400;
    plot.set({ cameraTarget: [x0 + 0.3 * Math.sin(k), y0 + 0.3 * Math.cos(k)] });  // a pan, every frame
    if (t - t0 < ms) requestAnimationFrame(step);
    else done((projector.state.drawn - start) / ((t - t0) / 1000));
  }
  requestAnimationFrame(step);
})"""


def pan_fps(pg, ms: int = 3000) -> float:
    """Frames drawn per second while the camera pans continuously (moved on every animation frame)."""
    return float(pg.evaluate(PAN_JS, ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = print_settings("projector: first frame, panning, memory, cached reopen (headless Chromium, software WebGL)")
    from playwright.sync_api import sync_playwright

    from embedlab.server import create_app
    from embedlab.server.background import BackgroundServer

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for n in [int(s) for s in args.sizes.split(",")]:
            vec = make_vectors(n)
            with tempfile.TemporaryDirectory() as home:
                name = f"pts{n}"
                with BackgroundServer(create_app(Path(home), vectors_sets={name: vec})) as srv:
                    import httpx

                    t = time.perf_counter()
                    r = httpx.get(f"{srv.url}/api/projector/vectors/{name}/layout?method=pca", timeout=600)
                    while r.status_code == 202 and r.json()["status"] in ("queued", "running"):  # a job: poll
                        time.sleep(0.2)
                        r = httpx.get(f"{srv.url}/api/jobs/{r.json()['id']}", timeout=60)
                    project_s = time.perf_counter() - t
                    url = f"{srv.url}/projector#source=vectors:{name}&method=pca"
                    frames, fps, heap = [], [], []
                    for _ in range(args.repeats):
                        s, info = first_frame(browser, url)
                        frames.append(s)
                        heap.append(info["js_heap_mb"])
                        fps.append(pan_fps(info["page"]))
                        info["page"].close()
                # a new server over the same home: the layout comes from disk
                reopen = []
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    with BackgroundServer(create_app(Path(home), vectors_sets={name: vec})) as srv:
                        url = f"{srv.url}/projector#source=vectors:{name}&method=pca"
                        s, info = first_frame(browser, url)
                        info["page"].close()
                    reopen.append(time.perf_counter() - t)
            row = {"n": n, "server_pca_s": project_s, "first_frame_s": statistics.median(frames),
                   "pan_fps": statistics.median(fps), "js_heap_mb": statistics.median(heap),
                   "cached_reopen_s": statistics.median(reopen)}
            rows.append(row)
            print(f"n={n:>9,}  server PCA layout (+ table, trustworthiness) {project_s:6.2f} s  first frame {row['first_frame_s']:5.2f} s  "
                  f"pan {row['pan_fps']:5.1f} fps  JS heap {row['js_heap_mb']:6.1f} MiB  "
                  f"cached reopen (new server + page) {row['cached_reopen_s']:5.2f} s", flush=True)
        browser.close()
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())} "
          f"(at the start: {settings['loadavg']})")
    print("\n| points | server PCA layout (+ table, trustworthiness) | first frame | panning | JS heap | cached reopen |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']:,} | {r['server_pca_s']:.2f} s | {r['first_frame_s']:.2f} s | {r['pan_fps']:.1f} fps | "
              f"{r['js_heap_mb']:.0f} MiB | {r['cached_reopen_s']:.2f} s |")


if __name__ == "__main__":
    main()
