"""PyPortal app benchmark: bytes and requests per refresh, render time, allocations, heap.

Runs the device app on CPython against a local Mars API (the same one its tests use) and
prints one JSON object. Targets: an unchanged photo costs no bitmap download; a refresh is at
most 2 requests; after the first refresh the app allocates (almost) nothing that stays.

``circuitpython_core``: per firmware release of CircuitPython's core kit, per screen and size,
the heap of a full refresh on the board's own core (``testing/circuitpython/memory.py``):
``peak_bytes`` (most heap live at any display or socket call) and ``min_heap_bytes`` (the
smallest fixed heap in which it succeeds, and in every heap up to 8 KB larger), both beyond
what the harness holds (its stand-ins, and the frozen libraries' bytecode, in flash on the
board: ``circuitpython_core_baseline``). Budget: 96 KB at 320x240, 128 KB at 480x320.

``micropython``: the pure modules' heap in the pinned MicroPython VM (``gc.mem_alloc()``),
from ``testing/micropython/heap.py``.
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
import time
import tracemalloc
import types
from pathlib import Path
from tempfile import TemporaryDirectory

from testing.fake_mars_api import API_KEY, MarsServer
from tools.pyportal_sim.display import HeadlessDisplay
from tools.pyportal_sim.runner import DEVICE_DIR

ROOT = Path(__file__).resolve().parents[1]
def device_modules(display):
    board = types.ModuleType("board")
    board.DISPLAY = display
    sys.modules["board"] = board
    sys.path.append(str(DEVICE_DIR))
    return {n: importlib.import_module(n) for n in ("app", "hardware", "screen", "settings")}


def measure(app, step):
    """Requests and bytes that ``step()`` costs, and its wall time in ms."""
    r0, b0 = (app.net.requests, app.net.bytes) if app.net else (0, 0)
    start = time.perf_counter()
    step()
    ms = (time.perf_counter() - start) * 1000
    return {"requests": app.net.requests - r0, "bytes": app.net.bytes - b0, "ms": round(ms, 1)}


def device_allocations(snapshot_before, snapshot_after):
    """Blocks and bytes still allocated by device code that were not before."""
    only = [tracemalloc.Filter(True, str(DEVICE_DIR) + "/*")]
    diff = snapshot_after.filter_traces(only).compare_to(snapshot_before.filter_traces(only),
                                                         "filename")
    return (sum(max(0, d.count_diff) for d in diff), sum(max(0, d.size_diff) for d in diff))


def main() -> dict:
    display = HeadlessDisplay(320, 240)
    mods = device_modules(display)
    with MarsServer() as server, TemporaryDirectory() as drive:
        values = {"CIRCUITPY_WIFI_SSID": "bench", "MARS_API_URL": server.url,
                  "MARS_API_KEY": API_KEY}
        hw = mods["hardware"].Hardware(log=lambda line: None)
        hw.storage = drive
        screen = mods["screen"].Screen(hw.width, hw.height)
        display.root_group = screen
        cfg = mods["settings"].load(getenv=lambda k, d=None: values.get(k, d))
        app = mods["app"].App(hw, screen, cfg, log=lambda line: None)

        first = measure(app, app.refresh)
        unchanged = measure(app, app.refresh)
        server.image_id = "photo-2"
        new_photo = measure(app, app.refresh)

        renders = []
        for _ in range(5):
            start = time.perf_counter()
            display.render()
            renders.append((time.perf_counter() - start) * 1000)

        # allocations of steady-state refreshes (unchanged photo), after warm-up
        for _ in range(3):
            app.refresh()
        gc.collect()
        tracemalloc.start(10)
        gc.collect()
        before = tracemalloc.take_snapshot()
        refreshes = 10
        peaks = []
        for _ in range(refreshes):
            current = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            app.refresh()
            peaks.append(tracemalloc.get_traced_memory()[1] - current)
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        blocks, size = device_allocations(before, after)

    return {
        "bench": "pyportal",
        "screen": "320x240",
        "first_refresh": first,
        "refresh_unchanged_photo": unchanged,
        "refresh_new_photo": new_photo,
        "bitmap_downloaded_when_unchanged": unchanged["requests"] > 1,
        "max_requests_per_refresh": max(first["requests"], unchanged["requests"],
                                        new_photo["requests"]),
        "render_full_screen_ms": round(sorted(renders)[len(renders) // 2], 1),
        "steady_state": {"refreshes": refreshes,
                         "device_blocks_kept_per_refresh": round(blocks / refreshes, 2),
                         "device_bytes_kept_per_refresh": round(size / refreshes, 1),
                         # everything a refresh allocates at once on the host (JSON, HTTP)
                         "peak_bytes_per_refresh": max(peaks)},
    }


def power_on_to_first_photo() -> dict:
    """Simulated seconds from power-on to the first photo, on the modelled ESP32 (a child
    simulator: one display per process), for a good and a weak link."""
    import re
    import subprocess

    out = {}
    with MarsServer() as server, TemporaryDirectory() as tmp:
        for name, extra in (("good_link", []), ("slow_link", ["--slow-link"])):
            done = subprocess.run(
                [sys.executable, "-m", "tools.pyportal_sim", "--api", server.url, "--api-key",
                 API_KEY, "--out", f"{tmp}/{name}.png", "--drive", f"{tmp}/{name}", "--once",
                 *extra], capture_output=True, text=True, timeout=120, cwd=ROOT)
            first = re.search(r"simulator: first refresh done ([\d.]+) s after", done.stdout)
            m = re.search(r"simulator: [\d.]+ s simulated, watchdog longest gap ([\d.]+) s",
                          done.stdout)
            out[name] = {"seconds": float(first.group(1)), "watchdog_longest_gap_s":
                         float(m.group(1)), "photo": "photo: sd/" in done.stdout}
    return out


def drawn_font_bytes() -> int:
    """Heap the drawn glyphs add on the board: one 6x12 1-bit Bitmap each (32-bit words per
    row, as displayio stores them) plus its Glyph; computed, a CPython heap says nothing."""
    from font import DRAWN

    per_glyph = 12 * 4 + 32 + 48  # pixel rows + Bitmap object + Glyph namedtuple (estimate)
    return per_glyph * len(DRAWN)


def micropython_heap() -> dict:
    """The app's heap in the pinned MicroPython VM: what importing its modules keeps (bytecode
    included) and the peak while a full payload is parsed and formatted. The board adds
    displayio, the ESP32 driver and the network buffers to these."""
    from testing.fake_mars_api import load_payload
    from testing.micropython import vm
    from testing.pyportal_cases import PURE

    board = [name for name in vm.device_modules() if name not in PURE]
    return vm.heap_report(list(PURE), board, load_payload("full"))


def views() -> dict:
    """Bytes and requests per refresh of each view (``VIEW``), at both screen sizes, against
    the test API serving a 30-sol history and three photos; the gallery's first round and a
    second one, with an SD card (kept) and on the flash (two files alternate)."""
    import displayio

    out: dict = {}
    for width, height in ((320, 240), (480, 320)):
        displayio.release_displays()
        display = HeadlessDisplay(width, height)
        board = sys.modules["board"]
        board.DISPLAY = display
        mods = {n: importlib.import_module(n) for n in ("app", "hardware", "screen",
                                                        "settings")}
        size: dict = {}
        for view, storage in (("photo", "SD card"), ("weather", "SD card"),
                              ("gallery", "SD card"), ("gallery", "flash")):
            with MarsServer(payload="history") as server, TemporaryDirectory() as drive:
                values = {"CIRCUITPY_WIFI_SSID": "bench", "MARS_API_URL": server.url,
                          "MARS_API_KEY": API_KEY, "VIEW": view}
                hw = mods["hardware"].Hardware(log=lambda line: None)
                hw.storage, hw.storage_note = drive, storage
                cfg = mods["settings"].load(getenv=lambda k, d=None, v=values: v.get(k, d))
                root = mods["screen"].Screen(hw.width, hw.height, cfg.view)
                display.root_group = root
                app = mods["app"].App(hw, root, cfg, log=lambda line: None)
                entry = {"first_refresh": measure(app, app.refresh),
                         "unchanged_refresh": measure(app, app.refresh)}
                # what steady refreshes leave allocated (device code only), after 10 and 40:
                # one traced refresh first, so state a refresh replaces is traced both sides;
                # growth from 10 to 40 would be a leak, the rest is CPython allocator noise
                gc.collect()
                tracemalloc.start(10)
                app.refresh()
                gc.collect()
                before = tracemalloc.take_snapshot()
                kept = []
                for count in (10, 30):
                    for _ in range(count):
                        app.refresh()
                    gc.collect()
                    kept.append(device_allocations(before, tracemalloc.take_snapshot())[1])
                tracemalloc.stop()
                entry["device_bytes_kept_after_10_and_40_refreshes"] = kept
                if view == "gallery":
                    def round_of_three(a=app):
                        for _ in range(3):
                            a.advance()
                    entry["first_round_of_3"] = measure(app, round_of_three)
                    entry["second_round_of_3"] = measure(app, round_of_three)
                else:
                    chart = getattr(root.view, "canvas", None)
                    if chart is not None:  # 2 bits a pixel in 32-bit words a row, as stored
                        spark = root.view.spark_canvas
                        size["weather_chart_bitmap_bytes"] = (
                            (chart.width * 2 + 31) // 32 * 4 * chart.height
                            + (spark.width + 31) // 32 * 4 * spark.height)
                size[view if view != "gallery" else f"gallery_{storage.split()[0].lower()}"] \
                    = entry
        out[f"{width}x{height}"] = size
    return out


def circuitpython_core() -> tuple[dict | str, dict]:
    """The heap of a full refresh on CircuitPython's core, per release, screen and size
    (module docstring), and what the harness held beyond the app per release."""
    from testing.circuitpython import core, memory

    if core.kit() is None:
        return core.missing_reason(), {}
    table: dict = {}
    held: dict = {}
    with TemporaryDirectory() as tmp:
        answers = core.Answers(Path(tmp) / "answers")
        for tag in core.tags():
            board = core.Board.make(tag, Path(tmp) / tag, answers)
            table[tag] = {}
            for view in memory.VIEWS:
                for w, h in core.SIZES:
                    found = memory.measure(board, view, (w, h))
                    held[tag] = {"frozen_libraries_bytes": found.pop("frozen_bytes")}
                    table[tag][f"{view}_{w}x{h}"] = found
    return table, held


if __name__ == "__main__":
    result = main()
    result["power_on_to_first_photo_simulated"] = power_on_to_first_photo()
    result["font_heap_bytes_computed"] = drawn_font_bytes()
    result["requests_per_refresh_unchanged"] = result["refresh_unchanged_photo"]["requests"]
    result["bytes_per_refresh_unchanged"] = result["refresh_unchanged_photo"]["bytes"]
    result["micropython"] = micropython_heap()
    result["views"] = views()
    result["circuitpython_core"], result["circuitpython_core_baseline"] = circuitpython_core()
    print(json.dumps(result))
