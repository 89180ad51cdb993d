"""Save the README's projector screenshots (docs/images/projector-*.png) from headless Chromium.

    nice -n 19 .venv/bin/python scripts/projector_screenshots.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from headless_chromium import launch
from playwright.sync_api import sync_playwright

import embedlab
from embedlab.cli.tour import tour_documents
from embedlab.io.glove import load_glove
from embedlab.server import create_app
from embedlab.server.background import BackgroundServer
from embedlab.store import Collection

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"
DRAWN = "window.projector && projector.state.drawnPoints > 0"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        docs = tour_documents()
        with Collection.create("tour", embedlab.encoder("use-multilingual"), root=Path(home) / "collections") as col:
            col.add([d["id"] for d in docs], [d["text"] for d in docs],
                    metadata=[{"category": d["category"]} for d in docs])
        app = create_app(home, vectors_sets={"glove-50": lambda: load_glove(limit=50_000)})
        with BackgroundServer(app) as srv, sync_playwright() as p:
            browser = launch(p)
            pg = browser.new_page(viewport={"width": 1200, "height": 720})
            pg.goto(srv.url + "/projector#source=collection:tour&method=pca&color=category")
            pg.wait_for_function(DRAWN, timeout=120_000)
            row = pg.evaluate("fetch('/api/projector/collection/tour/select', {method: 'POST', headers: "
                              "{'Content-Type': 'application/json'}, body: JSON.stringify({regex: '^apple$'})})"
                              ".then(r => r.json()).then(j => j.rows[0])")
            pg.fill("#cluster-k", "3")
            pg.click("#cluster-button")  # coloured by k-means clusters named by c-TF-IDF
            pg.wait_for_function("projector.state.colour && projector.state.colour.field === 'cluster'",
                                 timeout=120_000)
            pg.evaluate(f"projector.showNeighbors({row})")
            pg.wait_for_function("document.getElementById('neighbors-title').dataset.id === 'apple'")
            pg.mouse.move(1195, 715)
            pg.screenshot(path=str(OUT / "projector-tour.png"))
            pg.close()
            pg = browser.new_page(viewport={"width": 1200, "height": 720})
            pg.goto(srv.url + "/projector#source=vectors:glove-50&method=pca")
            pg.wait_for_function(DRAWN + " && projector.state.name === 'glove-50'", timeout=300_000)
            row = pg.evaluate("fetch('/api/projector/vectors/glove-50/select', {method: 'POST', headers: "
                              "{'Content-Type': 'application/json'}, body: JSON.stringify({regex: '^king$'})})"
                              ".then(r => r.json()).then(j => j.rows[0])")
            pg.evaluate(f"projector.showNeighbors({row})")
            pg.wait_for_function("document.getElementById('neighbors-title').dataset.id === 'king'")
            pg.mouse.move(1195, 715)
            pg.screenshot(path=str(OUT / "projector-glove.png"))
            browser.close()
            browser = launch(p, "--disable-webgl", "--disable-3d-apis")
            pg = browser.new_page(viewport={"width": 1200, "height": 720})
            pg.goto(srv.url + "/projector#source=collection:tour&method=pca&color=category")
            pg.wait_for_function(DRAWN, timeout=120_000)
            pg.screenshot(path=str(OUT / "projector-no-webgl.png"))
            browser.close()
    print("wrote", *sorted(p.name for p in OUT.glob("projector-*.png")))


if __name__ == "__main__":
    main()
