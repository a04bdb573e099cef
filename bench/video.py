"""Benchmark of watching and driving the robot through the local stack. Prints one JSON object.

It starts the real local stack (broker, API, web page and relay, simulated robot with the
640x480 at 15 fps test pattern) and headless chromium, then measures:

* ``first_frame_ms``: from opening the page (already signed in) to the first decoded video
  frame, over several page loads (median and max);
* ``key_to_motor_ms``: from a key press in the page to the robot's motor-change telemetry
  arriving over MQTT (p50, p90), and the same from key release to the stop;
* ``agent_cpu_percent``: CPU use of the agent process (one core = 100) while one viewer
  watches, read from ``/proc``; ``frames_per_s`` is what the browser decoded meanwhile;
* ``agent_cpu_by_viewers``: the agent's CPU seconds per second with 1, 2 and 4 viewers
  (separate pages) watching 640x480 at 15 fps, and the frames per second each decoded. With
  the shared encoder it must stay nearly flat: frames are encoded once, only packetised and
  encrypted per viewer.

Run: ``.venv/bin/python bench/video.py`` (needs /usr/bin/chromium).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from testing.browser import CHROMIUM, CHROMIUM_ARGS, Telemetry
from testing.stack_process import StackProcess

PAGE_LOADS = 5
PRESSES = 20
CPU_WINDOW_S = 10.0
VIEWERS = (1, 2, 4)
VIEWER_WINDOW_S = 8.0
TARGETS = {"first_frame_ms": 2000, "key_to_motor_p50_ms": 100}

FIRST_FRAME = """() => new Promise((resolve) => {
  const check = () => { const v = document.getElementById('video');
    if (v.readyState >= 2 && v.videoWidth > 0) resolve(performance.now());
    else setTimeout(check, 5); };
  check(); })"""
FRAMES = "() => document.getElementById('video').getVideoPlaybackQuality().totalVideoFrames"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def viewers_cpu(browser, stack, first_page, pid: int) -> dict:
    """The agent's CPU s/s and each page's decoded frames/s with 1, 2, 4 pages watching."""
    pages = [first_page]
    results = {}
    for count in VIEWERS:
        while len(pages) < count:
            page = browser.new_context().new_page()
            page.goto(stack.base_url + "/")
            page.fill("#token", stack.token)
            page.click("#token-form button[type=submit]")
            page.evaluate(FIRST_FRAME)
            pages.append(page)
        time.sleep(1.0)  # the newest viewer's start-up is not steady state
        frames0 = [p.evaluate(FRAMES) for p in pages]
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(VIEWER_WINDOW_S)
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        frames1 = [p.evaluate(FRAMES) for p in pages]
        results[str(count)] = {
            "cpu_s_per_s": round((cpu1 - cpu0) / (t1 - t0), 3),
            "frames_per_s": [round((b - a) / (t1 - t0), 1) for a, b in zip(frames0, frames1,
                                                                            strict=True)]}
    for page in pages[1:]:
        page.context.close()
    return results


def run() -> dict:
    from playwright.sync_api import sync_playwright

    with StackProcess(only="broker,api,web,robot", ready_timeout=60) as stack, \
            sync_playwright() as p:
        telemetry = Telemetry(stack.mqtt_url_as("observer"))
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context()
        page = context.new_page()
        page.goto(stack.base_url + "/")
        page.fill("#token", stack.token)
        page.click("#token-form button[type=submit]")
        page.wait_for_function("() => document.getElementById('status').dataset.online "
                               "=== 'true'")

        # first frame: reload the signed-in page; performance.now() counts from navigation
        first_frames = []
        for _ in range(PAGE_LOADS):
            page.reload()
            first_frames.append(page.evaluate(FIRST_FRAME))

        # CPU of the agent while one viewer watches
        pid = stack.health()["components"]["robot"]["pid"]
        frames0, cpu0, t0 = page.evaluate(FRAMES), cpu_seconds(pid), time.monotonic()
        time.sleep(CPU_WINDOW_S)
        frames1, cpu1, t1 = page.evaluate(FRAMES), cpu_seconds(pid), time.monotonic()

        by_viewers = viewers_cpu(browser, stack, page, pid)

        # key press -> motor change, key release -> stop
        press_ms, release_ms = [], []
        for _ in range(PRESSES):
            start = time.monotonic()
            page.keyboard.down("ArrowUp")
            at, _ = telemetry.wait_for(lambda e: e["left"] > 0 and e["right"] > 0, start)
            press_ms.append((at - start) * 1000)
            time.sleep(0.2)
            start = time.monotonic()
            page.keyboard.up("ArrowUp")
            at, _ = telemetry.wait_for(lambda e: e["left"] == 0 and e["right"] == 0, start)
            release_ms.append((at - start) * 1000)
            time.sleep(0.2)
        browser.close()
        telemetry.close()

    first = {"median": round(statistics.median(first_frames)), "max": round(max(first_frames)),
             "samples": len(first_frames)}
    keys = {"p50": round(percentile(press_ms, 0.5), 1), "p90": round(percentile(press_ms, 0.9), 1),
            "release_p50": round(percentile(release_ms, 0.5), 1),
            "release_max": round(max(release_ms), 1), "samples": len(press_ms)}
    return {
        "first_frame_ms": first,
        "key_to_motor_ms": keys,
        "agent_cpu_percent": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
        "agent_cpu_by_viewers": by_viewers,
        "stream": {"width": 640, "height": 480, "fps": 15, "viewers": 1,
                   "frames_per_s": round((frames1 - frames0) / (t1 - t0), 1)},
        "machine": {"cpus": os.cpu_count()},
        "targets": {
            "first_frame_ms<=2000": first["max"] <= TARGETS["first_frame_ms"],
            "key_to_motor_p50_ms<=100": keys["p50"] <= TARGETS["key_to_motor_p50_ms"],
        },
    }


if __name__ == "__main__":
    if not CHROMIUM.exists():
        print(json.dumps({"skipped": f"{CHROMIUM} is absent (apt-get install chromium)"}))
        sys.exit(0)
    print(json.dumps(run()))
