"""PyPortal app benchmark: bytes and requests per refresh, render time, allocations, heap.

Runs the device app on CPython against a local Mars API (the same one its tests use) and
prints one JSON object. Targets: an unchanged photo costs no bitmap download; a refresh is at
most 2 requests; after the first refresh the app allocates (almost) nothing that stays; with
``DEPTH = 4`` the first photo arrives at least 25 % sooner on the slow link than with 8.

``power_on_to_first_photo_simulated``: simulated seconds from power-on until the first
refresh (its photo shown) has finished, on the simulator's modelled ESP32, per depth, link
and screen: against the local stack's real API and converter on the LAN (``http://`` to an
address in numbers: no DNS, no TLS, as ``make run ARGS=--lan``), and against the test API as
on the internet (``https://`` to a name: a DNS lookup, and a TLS handshake for each request,
the photo's included); ``depth_4_sooner`` is ``1 - t4 / t8`` on each.

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
        hw.storage, hw.storage_note = drive, "SD card"
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


LINKS = (("good_link", []), ("slow_link", ["--slow-link"]))
SIM_SIZES = ("320x240", "480x320")


def first_photo_run(tmp: str, name: str, args: list[str]) -> dict:
    """One simulated board from power-on to its first refresh (a child simulator: one display
    per process): seconds, the photo's download alone, bytes of the refresh, the watchdog's
    longest gap."""
    import re
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "tools.pyportal_sim", "--out", f"{tmp}/{name}.png", "--drive",
         f"{tmp}/{name}", "--once", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    first = re.search(r"simulator: first refresh done ([\d.]+) s after", done.stdout)
    gap = re.search(r"simulator: [\d.]+ s simulated, watchdog longest gap ([\d.]+) s",
                    done.stdout)
    fetched = re.search(r"fetch: ok (\d+) B", done.stdout)
    photo = re.search(r"photo: sd/\S+ (\d+) ms", done.stdout)
    if first is None or gap is None or fetched is None or photo is None:
        raise RuntimeError(f"simulator run {name} did not finish:\n{done.stdout}{done.stderr}")
    return {"seconds": float(first.group(1)), "photo_download_s": int(photo.group(1)) / 1000,
            "bytes": int(fetched.group(1)), "watchdog_longest_gap_s": float(gap.group(1))}


def _depths_and_links(tmp: str, place: str, size: str, where: list[str]) -> dict:
    runs: dict = {}
    for depth in (8, 4):
        for link, extra in LINKS:
            runs.setdefault(f"depth_{depth}", {})[link] = first_photo_run(
                tmp, f"{place}-{size}-{depth}-{link}",
                [*where, "--size", size, "--depth", str(depth), *extra])
    runs["depth_4_sooner"] = {link: round(1 - runs["depth_4"][link]["seconds"]
                                          / runs["depth_8"][link]["seconds"], 3)
                              for link, _ in LINKS}
    return runs


def power_on_to_first_photo() -> dict:
    """Simulated seconds from power-on to the first photo (module docstring), per API place,
    screen, depth and link; and how much sooner depth 4 is than 8 on each."""
    from testing.stack_process import StackProcess

    out: dict = {"local_stack_lan_http": {}, "internet_https": {}}
    with TemporaryDirectory() as tmp:
        # the real API (its handlers and converter) as `make run ARGS=--lan` serves a board
        with StackProcess(only="api") as stack:
            where = ["--api", stack.base_url, "--api-key", stack.api_key]
            for size in SIM_SIZES:
                out["local_stack_lan_http"][size] = _depths_and_links(
                    tmp, "stack", size, where)
        # a name and TLS, as the cloud: the test API behind the modelled handshake
        with MarsServer() as server:
            server.public_url = "https://mars.test"
            where = ["--api", server.public_url, "--api-key", API_KEY, "--resolve",
                     f"mars.test=127.0.0.1:{server.port}"]
            out["internet_https"][SIM_SIZES[0]] = _depths_and_links(
                tmp, "internet", SIM_SIZES[0], where)
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
    the test API serving a 30-sol history and three photos, at the depth the app chooses (the
    Photo view: 8 with an SD card, 4 on the flash; the Gallery: 4); the gallery's first round
    and a second one, with an SD card (kept) and on the flash (two files alternate)."""
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
        for view, storage in (("photo", "SD card"), ("photo", "flash"),
                              ("weather", "SD card"), ("gallery", "SD card"),
                              ("gallery", "flash")):
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
                entry["depth"] = app.depth
                place = "" if view == "weather" else "_" + storage.split()[0].lower()
                size[view + place] = entry
        out[f"{width}x{height}"] = size
    return out


def circuitpython_core() -> tuple[dict | str, dict, dict]:
    """The heap of a full refresh on CircuitPython's core, per release, screen and size
    (module docstring), what the harness held beyond the app per release, and the Photo
    view's at ``DEPTH`` 4 and 8 (the photo's palette: 16 or 256 colours)."""
    from testing.circuitpython import core, memory

    if core.kit() is None:
        return core.missing_reason(), {}, {}
    table: dict = {}
    held: dict = {}
    depths: dict = {}
    with TemporaryDirectory() as tmp:
        answers = core.Answers(Path(tmp) / "answers")
        for tag in core.tags():
            board = core.Board.make(tag, Path(tmp) / tag, answers)
            table[tag] = {}
            depths[tag] = {}
            for view in memory.VIEWS:
                for w, h in core.SIZES:
                    found = memory.measure(board, view, (w, h))
                    held[tag] = {"frozen_libraries_bytes": found.pop("frozen_bytes")}
                    table[tag][f"{view}_{w}x{h}"] = found
            for w, h in core.SIZES:
                for depth in (4, 8):
                    found = memory.measure(board, "photo", (w, h), {"DEPTH": str(depth)})
                    found.pop("frozen_bytes")
                    depths[tag][f"photo_{w}x{h}_depth_{depth}"] = found
    return table, held, depths


if __name__ == "__main__":
    result = main()
    result["power_on_to_first_photo_simulated"] = power_on_to_first_photo()
    result["font_heap_bytes_computed"] = drawn_font_bytes()
    result["requests_per_refresh_unchanged"] = result["refresh_unchanged_photo"]["requests"]
    result["bytes_per_refresh_unchanged"] = result["refresh_unchanged_photo"]["bytes"]
    result["micropython"] = micropython_heap()
    result["views"] = views()
    (result["circuitpython_core"], result["circuitpython_core_baseline"],
     result["circuitpython_core_photo_by_depth"]) = circuitpython_core()
    print(json.dumps(result))
