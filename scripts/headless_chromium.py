"""Headless Chromium as the projector's scripts and benchmarks launch it: Debian's binary and its flags.

    from headless_chromium import launch          # scripts/ is on sys.path for scripts; benchmarks insert it
    browser = launch(p)                           # p = sync_playwright(): software WebGL 2 (SwiftShader), no GPU
    browser = launch(p, "--disable-webgl", "--disable-3d-apis")   # more flags after the shared ones

``tests/projector_pages.py`` keeps the tests' own copy of these flags (scripts and benchmarks cannot import tests).
"""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/install-system.sh); Playwright's own browsers are not used
ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage")


def launch(playwright: Any, *extra: str, executable: str = CHROMIUM, gpu: bool = False) -> Any:
    """Debian's Chromium, headless, with ``ARGS`` and then ``extra`` (a later flag overrides an earlier one).

    Parameters
    ----------
    playwright : playwright.sync_api.Playwright
        The object ``sync_playwright()`` gives.
    *extra : str
        More command-line flags.
    executable : str
        The browser binary (another Chromium build or install folder).
    gpu : bool
        Leave out ``--disable-gpu``, so that flags choosing ANGLE's or Dawn's backend (``--use-angle=vulkan``)
        take effect; WebGL and WebGPU are software (SwiftShader) either way unless such flags say otherwise.

    Returns
    -------
    playwright.sync_api.Browser
        The launched browser; close it when done.
    """
    flags = [a for a in ARGS if not (gpu and a == "--disable-gpu")]
    return playwright.chromium.launch(executable_path=executable, args=[*flags, *extra])
