"""What the projector's Playwright tests share: Debian's Chromium (a module importing this is skipped without it),
its launch flags, opening a page and waiting for its first drawn frame, and the map's
pixels (the ``playwright`` and ``browser`` fixtures are in conftest.py). Waits on page state, never on fixed sleeps."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk (scripts/install-system.sh)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
DRAWN = "window.projector && projector.state.drawnPoints > 0"


def open_page(browser, url: str, drawn: str = DRAWN, accept_downloads: bool = False):
    """A 1000 x 650 page at ``url``, its script errors collected in ``page.errors``; waits for ``drawn`` (a JS
    condition; "" waits for nothing)."""
    pg = browser.new_page(viewport={"width": 1000, "height": 650}, accept_downloads=accept_downloads)
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(url)
    if drawn:
        pg.wait_for_function(drawn, timeout=30_000)
    return pg


def pixels(pg, selector: str = "#map") -> np.ndarray:
    """The element's screenshot as ``(n, 3)`` uint8 RGB rows, the mouse moved off it first (no tooltip)."""
    from PIL import Image

    pg.mouse.move(995, 645)
    return np.asarray(Image.open(io.BytesIO(pg.locator(selector).screenshot())).convert("RGB")).reshape(-1, 3)


def near(px: np.ndarray, rgb: tuple[int, int, int], tol: int = 12) -> int:
    """How many of the ``(n, 3)`` pixels ``px`` are within ``tol`` of ``rgb`` in every channel."""
    return int((np.abs(px.astype(int) - np.array(rgb)).max(axis=1) <= tol).sum())
