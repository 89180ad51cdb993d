"""Save the README's screenshots of the projector's 3-D and compare views (docs/images/projector-3d.png,
docs/images/projector-compare.png) from headless Chromium (software WebGL).

    nice -n 19 .venv/bin/python scripts/projector_view_screenshots.py

The tour collection embedded twice (use-multilingual and minilm) stands in for a collection before and after
re-embedding.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from headless_chromium import launch
from playwright.sync_api import sync_playwright

import embedlab
from embedlab.cli.tour import tour_documents
from embedlab.server import create_app
from embedlab.server.background import BackgroundServer
from embedlab.store import Collection

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"
DRAWN = "window.projector && projector.state.drawnPoints > 0"
ROW = ("fetch('/api/projector/collection/tour/select', {method: 'POST', headers: {'Content-Type': 'application/json'}, "
       "body: JSON.stringify({regex: '^apple$'})}).then(r => r.json()).then(j => j.rows[0])")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        docs = tour_documents()
        for name, enc in (("tour", "use-multilingual"), ("tour-minilm", "minilm")):
            with Collection.create(name, embedlab.encoder(enc), root=Path(home) / "collections") as col:
                col.add([d["id"] for d in docs], [d["text"] for d in docs],
                        metadata=[{"category": d["category"]} for d in docs])
        with BackgroundServer(create_app(home, vectors_sets={})) as srv, sync_playwright() as p:
            browser = launch(p)
            pg = browser.new_page(viewport={"width": 1200, "height": 720})
            pg.goto(srv.url + "/projector#source=collection:tour&method=pca&color=category&dims=3")
            pg.wait_for_function(DRAWN, timeout=120_000)
            box = pg.locator("#map").bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            pg.mouse.move(cx, cy)
            pg.mouse.down()
            pg.mouse.move(cx + 90, cy + 40, steps=8)  # turn the view a little: depth shows
            pg.mouse.up()
            pg.evaluate(f"projector.showNeighbors({pg.evaluate(ROW)})")
            pg.wait_for_function("document.getElementById('neighbors-title').dataset.id === 'apple'")
            pg.mouse.move(1195, 715)
            pg.screenshot(path=str(OUT / "projector-3d.png"))
            pg.close()
            pg = browser.new_page(viewport={"width": 1200, "height": 720})
            pg.goto(srv.url + "/projector#source=collection:tour&method=pca&color=category&cmp=collection:tour-minilm")
            pg.wait_for_function("projector.compare().active && projector.compare().n > 0", timeout=120_000)
            pg.fill("#where", '{"category": "fruit"}')
            pg.click("#apply-filter")  # the fruit rows selected on the left, the same ids lit on the right
            pg.wait_for_function("projector.compare().panel.selected().length > 0")
            pg.mouse.move(1195, 715)
            pg.screenshot(path=str(OUT / "projector-compare.png"))
            browser.close()
    print("wrote", OUT / "projector-3d.png", OUT / "projector-compare.png")


if __name__ == "__main__":
    main()
