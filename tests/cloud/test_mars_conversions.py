"""Bitmap conversions are bounded by a queue and by memory: the gate's rules, and a hostile
feed of giant photos against the real local stack (its peak RSS read from ``/proc``)."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cloud.bitmap import BitmapError
from cloud.mars.conversions import Busy, Gate, footprint
from testing.fake_nasa import FakeNasa, Reply, giant_feed, giant_png
from testing.stack_process import StackProcess
from testing.waiting import wait_until

WAIT_S = 30  # for a thread to reach a point: only a broken test waits this long


class Held:
    """Work that blocks until released; records when it started."""

    def __init__(self, name: str, started: list[str]) -> None:
        self.name, self.started = name, started
        self.release = threading.Event()

    def __call__(self) -> str:
        self.started.append(self.name)
        assert self.release.wait(WAIT_S)
        return self.name


def test_the_gate_keeps_to_its_memory_and_its_order():
    gate = Gate(workers=2, queue=8, memory_bytes=100)
    started: list[str] = []
    jobs = {name: Held(name, started) for name in "abcd"}
    futures = {name: gate.submit(need, jobs[name])
               for name, need in zip("abcd", (60, 60, 30, 30), strict=True)}
    wait_until(lambda: started == ["a"], timeout=WAIT_S)
    # b does not fit beside a (120 > 100), and c and d, which would, do not overtake it
    assert gate.stats.most_running == 1
    jobs["a"].release.set()
    wait_until(lambda: started == ["a", "b", "c"], timeout=WAIT_S)  # b and c: 90, two workers
    for name in "bcd":
        jobs[name].release.set()
    assert [futures[n].result(WAIT_S) for n in "abcd"] == list("abcd")
    assert gate.stats.most_bytes <= 100 and gate.stats.most_running == 2


def test_a_full_queue_and_a_too_big_photo_are_refused_at_once():
    gate = Gate(workers=1, queue=1, memory_bytes=100)
    started: list[str] = []
    running, waiting = Held("running", started), Held("waiting", started)
    gate.submit(10, running)
    wait_until(lambda: started == ["running"], timeout=WAIT_S)
    gate.submit(10, waiting)
    with pytest.raises(Busy) as busy:
        gate.submit(10, Held("third", started))
    assert busy.value.retry_after_s > 0 and "1 waiting" in str(busy.value)
    with pytest.raises(BitmapError, match="CONVERT_MEMORY_MB"):
        gate.submit(101, Held("giant", started))
    running.release.set()
    waiting.release.set()


def test_a_request_stops_waiting_but_its_conversion_goes_on():
    gate = Gate(workers=1, queue=4, memory_bytes=100)
    started: list[str] = []
    slow = Held("slow", started)
    done = threading.Event()
    with pytest.raises(Busy, match="did not end within"):
        gate.run(10, lambda: (slow(), done.set()), wait_s=0.05)
    slow.release.set()
    assert done.wait(WAIT_S)  # finished (and, in the store, kept) after the request left


def test_the_estimate_reads_the_header_only_and_ranks_formats():
    rgb, rgba, grey = (giant_png(2000, 1500, mode) for mode in ("RGB", "RGBA", "L"))
    pixels = 2000 * 1500
    assert footprint(grey, 320, 240) < footprint(rgb, 320, 240) < footprint(rgba, 320, 240)
    assert footprint(rgba, 320, 240) >= 11 * pixels  # measured peak: 11.6 bytes a pixel
    assert footprint(rgb, 320, 240) >= 5 * pixels  # 4.0 to 5.2


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.mark.slow  # a stack and six conversions of 4 M pixels
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="reads /proc (Linux)")
def test_giant_photos_from_a_hostile_feed_stay_within_the_memory_budget():
    """Six clients at once, each a screen size never asked for (a conversion each), of photos
    that take 46 MB each to convert: the stack converted them all at once (peak RSS 6x)."""
    size, budget_mb = (2000, 2000), 64  # RGBA: ~46 MB measured, ~62 MB estimated, each
    with FakeNasa() as nasa:
        giant_png(*size, "RGBA")
        nasa.script("perseverance", Reply(body=giant_feed(nasa.url, 6, size, "rgba")))
        env = {"MARS_SITE_BASE": nasa.url, "NASA_API_BASE": nasa.url, "MARS_OFFLINE_SAMPLE": "0",
               "REFRESH_S": "86400", "CONVERT_MEMORY_MB": str(budget_mb)}
        with StackProcess(only="api", env=env) as stack:
            wait_until(lambda: "NASA feeds live" in stack.log(), timeout=60, message=stack.log)
            pid = stack.process.pid if stack.process else 0
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again here
            warm_kb = _memory_kb(pid, "VmRSS")

            def ask(n: int) -> tuple[int, dict]:
                connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
                try:
                    connection.request("GET", f"/mars?width={400 + 16 * n}&height=300&photos=0",
                                       headers={"x-api-key": stack.api_key})
                    response = connection.getresponse()
                    return response.status, json.loads(response.read())
                finally:
                    connection.close()

            with ThreadPoolExecutor(6) as pool:
                answers = list(pool.map(ask, range(6)))
            peak_mb = (_memory_kb(pid, "VmHWM") - warm_kb) / 1024
    assert [status for status, _ in answers] == [200] * 6
    assert all(body["image"] or body["stale"] for _, body in answers)
    assert peak_mb < budget_mb + 100, f"peak RSS {peak_mb:.0f} MB above the warm stack's"
