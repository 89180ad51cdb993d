"""What WebGPU and WebGL a headless Chromium offers with given flags, and what the Vulkan drivers offer Dawn: the
check behind "Embedding Atlas does not render here" (its map needs a WebGPU adapter with ``shader-f16``).

    nice -n 19 .venv/bin/python benchmarks/probe_webgpu.py -- --enable-unsafe-webgpu \\
        --use-webgpu-adapter=swiftshader --enable-features=Vulkan
    VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json nice -n 19 .venv/bin/python \
        benchmarks/probe_webgpu.py --gpu -- --enable-unsafe-webgpu --enable-features=Vulkan --use-angle=vulkan
    VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json nice -n 19 .venv/bin/python \\
        benchmarks/probe_webgpu.py --vulkan      # the Vulkan devices (here Mesa's lavapipe) and their features

Prints one JSON object. ``page``: the adapter's info and features, whether a device with ``shader-f16`` can be
made (Atlas asks for one), the WebGL 2 renderer string and the console messages, on a localhost page (WebGPU
needs a secure context). ``vulkan`` (``--vulkan``): each device the Vulkan loader finds, with the features Dawn's
Vulkan backend requires of every adapter (the four ``shader*ArrayDynamicIndexing``) and those it needs for
``shader-f16`` (``shaderFloat16``, ``storageBuffer16BitAccess``, ``uniformAndStorageBuffer16BitAccess``).
"""

from __future__ import annotations

import argparse
import ctypes
import http.server
import json
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))  # headless_chromium
from headless_chromium import CHROMIUM, launch  # noqa: E402

PROBE_JS = """async () => {
  const out = {webgpu: !!navigator.gpu};
  if (navigator.gpu) {
    const a = await navigator.gpu.requestAdapter();
    out.adapter = a ? {vendor: a.info.vendor, architecture: a.info.architecture, device: a.info.device,
                       description: a.info.description, features: [...a.features].sort()} : null;
    if (a) {
      try { await a.requestDevice({requiredFeatures: ['shader-f16']}); out.shader_f16_device = 'made'; }
      catch (e) { out.shader_f16_device = String(e); }
    }
  }
  const gl = document.createElement('canvas').getContext('webgl2');
  const ext = gl && gl.getExtension('WEBGL_debug_renderer_info');
  out.webgl2 = gl ? gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) : null;
  return out;
}"""

# VkPhysicalDeviceFeatures members by position (Vulkan spec order); sTypes of the two extension feature structs
CORE = {"shaderUniformBufferArrayDynamicIndexing": 33, "shaderSampledImageArrayDynamicIndexing": 34,
        "shaderStorageBufferArrayDynamicIndexing": 35, "shaderStorageImageArrayDynamicIndexing": 36}
FLOAT16_INT8, STORAGE_16BIT, FEATURES2 = 1000082000, 1000083000, 1000059000


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = b"<!doctype html><title>probe</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def page_probe(flags: list[str], executable: str, gpu: bool) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = launch(p, *flags, executable=executable, gpu=gpu)
            pg = browser.new_page()
            messages: list[str] = []
            pg.on("console", lambda m: messages.append(m.text))
            pg.goto(f"http://localhost:{server.server_address[1]}/")
            out = pg.evaluate(PROBE_JS)
            browser.close()
    finally:
        server.shutdown()
    return {**out, "console": messages}


def vulkan_probe() -> list[dict[str, Any]]:
    """Each Vulkan device the loader finds (honours VK_ICD_FILENAMES), with the features named in the docstring."""
    vk = ctypes.CDLL("libvulkan.so.1")
    u32, ptr = ctypes.c_uint32, ctypes.c_void_p

    class App(ctypes.Structure):
        _fields_ = [("sType", ctypes.c_int), ("pNext", ptr), ("app", ctypes.c_char_p), ("appv", u32),
                    ("engine", ctypes.c_char_p), ("enginev", u32), ("api", u32)]

    class Create(ctypes.Structure):
        _fields_ = [("sType", ctypes.c_int), ("pNext", ptr), ("flags", u32), ("app", ctypes.POINTER(App)),
                    ("layers", u32), ("layer_names", ptr), ("exts", u32), ("ext_names", ptr)]

    class Props(ctypes.Structure):
        _fields_ = [("api", u32), ("driver", u32), ("vendor", u32), ("device", u32), ("type", ctypes.c_int),
                    ("name", ctypes.c_char * 256), ("rest", ctypes.c_ubyte * 4096)]

    class F16(ctypes.Structure):
        _fields_ = [("sType", ctypes.c_int), ("pNext", ptr), ("shaderFloat16", u32), ("shaderInt8", u32)]

    class S16(ctypes.Structure):
        _fields_ = [("sType", ctypes.c_int), ("pNext", ptr), ("storageBuffer16BitAccess", u32),
                    ("uniformAndStorageBuffer16BitAccess", u32), ("storagePushConstant16", u32),
                    ("storageInputOutput16", u32)]

    class Features2(ctypes.Structure):
        _fields_ = [("sType", ctypes.c_int), ("pNext", ptr), ("core", u32 * 55)]

    app = App(0, None, b"probe", 1, b"probe", 1, (1 << 22) | (3 << 12))  # Vulkan 1.3
    instance = ptr()
    made = vk.vkCreateInstance(ctypes.byref(Create(1, None, 0, ctypes.pointer(app), 0, None, 0, None)), None,
                               ctypes.byref(instance))
    if made != 0:
        raise RuntimeError(f"vkCreateInstance failed: {made}")
    count = u32()
    vk.vkEnumeratePhysicalDevices(instance, ctypes.byref(count), None)
    devices = (ptr * count.value)()
    vk.vkEnumeratePhysicalDevices(instance, ctypes.byref(count), devices)
    out = []
    for dev in devices:
        props = Props()
        vk.vkGetPhysicalDeviceProperties(ptr(dev), ctypes.byref(props))
        s16 = S16(STORAGE_16BIT, None)
        f16 = F16(FLOAT16_INT8, ctypes.cast(ctypes.pointer(s16), ptr))
        f2 = Features2(FEATURES2, ctypes.cast(ctypes.pointer(f16), ptr))
        vk.vkGetPhysicalDeviceFeatures2(ptr(dev), ctypes.byref(f2))
        api = props.api
        out.append({"name": props.name.decode(), "vendor": hex(props.vendor), "type": props.type,
                    "api": f"{api >> 22}.{(api >> 12) & 0x3FF}.{api & 0xFFF}",
                    **{name: bool(f2.core[i]) for name, i in CORE.items()},
                    "shaderFloat16": bool(f16.shaderFloat16),
                    "storageBuffer16BitAccess": bool(s16.storageBuffer16BitAccess),
                    "uniformAndStorageBuffer16BitAccess": bool(s16.uniformAndStorageBuffer16BitAccess)})
    vk.vkDestroyInstance(instance, None)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vulkan", action="store_true", help="list the Vulkan devices instead of opening a page")
    ap.add_argument("--chromium", default=CHROMIUM, help="the browser binary")
    ap.add_argument("--gpu", action="store_true", help="leave out --disable-gpu (needed for --use-angle=vulkan)")
    ap.add_argument("flags", nargs="*", help="Chromium flags (after --)")
    a = ap.parse_args()
    result = {"vulkan": vulkan_probe()} if a.vulkan else {"flags": a.flags, "page": page_probe(a.flags, a.chromium, a.gpu)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
