"""scripts/headless_chromium.py: the one copy of the projector scripts' and benchmarks' Chromium launch (Debian's
binary, the shared flags, extra flags after them, ``gpu=True`` leaving out ``--disable-gpu``), in real Chromium."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from projector_pages import ARGS as TEST_ARGS  # skips this module without Debian's Chromium / Playwright
from projector_pages import CHROMIUM as TEST_CHROMIUM
from projector_pages import sync_api

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "headless_chromium.py"
_spec = importlib.util.spec_from_file_location("headless_chromium", SCRIPT)
assert _spec is not None and _spec.loader is not None
hc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hc)

WEBGL2 = """() => {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return null;
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER);
}"""


def command_line(browser) -> list[str]:
    """The browser's own command line, as chrome://version shows it, split on spaces."""
    pg = browser.new_page()
    pg.goto("chrome://version")
    text = pg.locator("#command_line").inner_text()
    pg.close()
    return text.split()


def test_same_browser_and_flags_as_the_projector_tests():
    assert hc.CHROMIUM == TEST_CHROMIUM
    assert list(hc.ARGS) == TEST_ARGS


def test_launch_passes_the_shared_flags_then_the_extra_ones_and_draws_software_webgl2(playwright):
    browser = hc.launch(playwright, "--disable-webgl", "--disable-3d-apis")
    try:
        flags = command_line(browser)
        shared = [flags.index(a) for a in hc.ARGS]
        extra = [flags.index("--disable-webgl"), flags.index("--disable-3d-apis")]
        assert max(shared) < min(extra)
        assert browser.new_page().evaluate(WEBGL2) is None  # the extra flags took effect
    finally:
        browser.close()
    browser = hc.launch(playwright)
    try:
        assert "--disable-webgl" not in command_line(browser)
        assert "SwiftShader" in browser.new_page().evaluate(WEBGL2)
    finally:
        browser.close()


@pytest.mark.parametrize("gpu", [False, True])
def test_gpu_true_leaves_out_disable_gpu_only(playwright, gpu):
    browser = hc.launch(playwright, gpu=gpu)
    try:
        flags = set(command_line(browser))
    finally:
        browser.close()
    assert ("--disable-gpu" in flags) is not gpu
    assert {a for a in hc.ARGS if a != "--disable-gpu"} <= flags


def test_a_missing_executable_is_refused(playwright, tmp_path):
    missing = tmp_path / "no-chromium"
    with pytest.raises(sync_api.Error, match=re.escape(f"executable doesn't exist at {missing}")):
        hc.launch(playwright, executable=str(missing))
