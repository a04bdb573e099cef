"""Benchmark of ``GET /mars`` through the real local stack. Prints one JSON object.

It starts a fake NASA server on loopback (the test fixtures, scikit-image photographs) and the
local stack's ``api`` component pointed at it, then measures:

* ``warm``: p50 / p99 latency of 500 sequential ``GET /mars`` on one keep-alive connection, with
  the cache warm (metadata and bitmap already there);
* ``cold``: p50 of the first ``GET /mars`` on a fresh stack with an empty data directory (feeds
  fetched, photo downloaded and converted), over several fresh stacks;
* ``slow_upstream``: 500 ``GET /mars`` at concurrency 20 once the cache has expired and every
  NASA feed and photo takes a minute to answer: latency p50 / p99 / max, upstream fetches
  started and the most in flight for one source (the answer comes from the cache; one
  refresh per source runs in the background);
* ``warm_bare``: the same with ``history=0&photos=0`` (the payload before they existed), to
  tell their cost from the machine's; ``warm_history``: with ``history=120`` (the most a
  device may ask for);
* ``rems_feed``: parsing a synthetic whole-mission REMS feed (5,000 sols, the recorded shape,
  ~2.3 MB): JSON decode + newest report + 120-sol history, p50 of 10 runs, and the peak memory
  of one parse (tracemalloc);
* ``hostile_images``: a feed of six photos just under the decoder's 40 M pixel limit (RGB PNGs
  of a few hundred KB) and six clients asking ``GET /mars`` at once, each request a screen size
  never asked before (so each needs its own conversion): the stack's peak RSS above its warm RSS
  (``/proc``, Linux), answer times, answers with and without an image, conversions refused.
  Run twice in one go: the conversion gate wide open (as before it existed) and at its
  defaults (``CONVERT_*`` in ``cloud/config.py``);
* ``bitmap``: ``bench/bitmap.py``'s ``run()`` (conversion time, SSIM, bytes), when present.

Run: ``.venv/bin/python bench/mars_api.py``.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
import tracemalloc
from pathlib import Path

from bench import bitmap
from cloud.mars import history, weather
from testing.fake_nasa import FakeNasa
from testing.rems_mission import mission_bytes
from testing.stack_process import StackProcess

WARM_REQUESTS = 500
COLD_STACKS = 5
PATH = "/mars?width=320&height=240&depth=8"  # history=30 and photos=6 by default
PATH_HISTORY = PATH + "&history=120"
PATH_BARE = PATH + "&history=0&photos=0"  # the payload as before history and photos
FEED_SOLS = 5000
FEED_RUNS = 10


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _get(connection: http.client.HTTPConnection, api_key: str,
         path: str = PATH) -> tuple[float, int]:
    started = time.perf_counter()
    connection.request("GET", path, headers={"x-api-key": api_key})
    response = connection.getresponse()
    response.read()
    return (time.perf_counter() - started) * 1000, response.status


def _stack(nasa: FakeNasa) -> StackProcess:
    env = {"MARS_SITE_BASE": nasa.url, "NASA_API_BASE": nasa.url, "MARS_OFFLINE_SAMPLE": "0",
           "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING"}
    return StackProcess(only="api", env=env)


def measure() -> dict:
    result: dict = {}
    with FakeNasa() as nasa:
        cold: list[float] = []
        for _ in range(COLD_STACKS):
            with _stack(nasa) as stack:
                connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
                ms, status = _get(connection, stack.api_key)
                if status != 200:
                    raise RuntimeError(f"cold GET /mars answered {status}:\n{stack.log()}")
                cold.append(ms)
                connection.close()
        result["cold"] = {"p50_ms": round(statistics.median(cold), 1),
                          "max_ms": round(max(cold), 1), "stacks": COLD_STACKS}
        with _stack(nasa) as stack:
            connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
            for _ in range(5):  # warm the cache, the bitmap and the connection
                _get(connection, stack.api_key)
            before = sum(nasa.counts.values())
            warm = []
            for _ in range(WARM_REQUESTS):
                ms, status = _get(connection, stack.api_key)
                if status != 200:
                    raise RuntimeError(f"warm GET /mars answered {status}")
                warm.append(ms)
            result["warm"] = {"p50_ms": round(_percentile(warm, 50), 2),
                              "p99_ms": round(_percentile(warm, 99), 2),
                              "requests": WARM_REQUESTS,
                              "upstream_requests": sum(nasa.counts.values()) - before,
                              "target_p50_ms": 2.0}
            for name, path in (("warm_bare", PATH_BARE), ("warm_history", PATH_HISTORY)):
                before = sum(nasa.counts.values())
                times = [_get(connection, stack.api_key, path)[0] for _ in range(WARM_REQUESTS)]
                result[name] = {"p50_ms": round(_percentile(times, 50), 2),
                                "p99_ms": round(_percentile(times, 99), 2),
                                "requests": WARM_REQUESTS, "path": path,
                                "upstream_requests": sum(nasa.counts.values()) - before}
            connection.close()
    return result


def _parse_feed(raw: bytes) -> tuple:
    doc = json.loads(raw)
    return weather.parse_rems(doc), history.rems_series(doc)


def rems_feed() -> dict:
    """Parse time and peak memory of a whole-mission REMS feed, as a refresh does it."""
    raw = mission_bytes(FEED_SOLS)
    times = []
    for _ in range(FEED_RUNS):
        started = time.perf_counter()
        _parse_feed(raw)
        times.append((time.perf_counter() - started) * 1000)
    tracemalloc.start()
    try:
        _parse_feed(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {"sols": FEED_SOLS, "bytes": len(raw),
            "parse_p50_ms": round(statistics.median(times), 1),
            "parse_max_ms": round(max(times), 1), "peak_mb": round(peak / 2**20, 1),
            "lambda_memory_mb": 1024, "lambda_timeout_s": 20}


SLOW_REQUESTS, SLOW_CONCURRENCY, SLOW_TTL_S = 500, 20, 2


def slow_upstream() -> dict:
    from concurrent.futures import ThreadPoolExecutor

    from testing.fake_nasa import DEFAULTS, Reply

    with FakeNasa() as nasa:
        stack = _stack(nasa)
        stack.extra_env.update({"IMAGE_TTL_S": str(SLOW_TTL_S), "WEATHER_TTL_S": str(SLOW_TTL_S),
                                "REFRESH_S": "86400"})
        with stack:
            connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
            _get(connection, stack.api_key)
            connection.close()
            warmed = time.monotonic()
            for route, fixture in DEFAULTS.items():
                nasa.script(route, Reply(fixture=fixture, delay_s=60))
            nasa.script("image", Reply(body=b"", delay_s=60))
            nasa.reset_counts()
            time.sleep(max(0.0, SLOW_TTL_S + 0.2 - (time.monotonic() - warmed)))

            def worker(count: int) -> list[float]:
                conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
                try:
                    return [_get(conn, stack.api_key)[0] for _ in range(count)]
                finally:
                    conn.close()

            with ThreadPoolExecutor(SLOW_CONCURRENCY) as pool:
                times = [ms for batch in pool.map(worker, [SLOW_REQUESTS // SLOW_CONCURRENCY]
                                                  * SLOW_CONCURRENCY) for ms in batch]
            return {"requests": len(times), "concurrency": SLOW_CONCURRENCY,
                    "upstream_delay_s": 60, "p50_ms": round(_percentile(times, 50), 1),
                    "p99_ms": round(_percentile(times, 99), 1), "max_ms": round(max(times), 1),
                    "upstream_fetches": sum(nasa.counts.values()),
                    "most_in_flight_per_source": max(nasa.most_in_flight.values(), default=0),
                    "target_max_ms": 1000}


HOSTILE_CLIENTS, HOSTILE_REQUESTS, HOSTILE_SIZE = 6, 6, (6300, 6300)  # 39.7 M pixels each
# open: as many conversions at once as clients ask for, whatever their memory (as before)
GATE_OPEN = {"CONVERT_WORKERS": str(HOSTILE_CLIENTS), "CONVERT_QUEUE": "10000",
             "CONVERT_MEMORY_MB": "1000000"}


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def _hostile_run(nasa: FakeNasa, gate_env: dict[str, str]) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    stack = _stack(nasa)
    stack.extra_env.update({"REFRESH_S": "86400", **gate_env})
    with stack:
        pid = stack.process.pid if stack.process else 0
        connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=120)
        _get(connection, stack.api_key, PATH_BARE)  # warm: feeds, one conversion, imports
        connection.close()
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from here
        warm_kb = _memory_kb(pid, "VmRSS")

        def client(n: int) -> list[tuple[float, bool]]:
            conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=120)
            out = []
            try:
                for k in range(HOSTILE_REQUESTS):  # a size nobody asked for yet: a conversion
                    path = f"/mars?width={400 + 8 * (n * HOSTILE_REQUESTS + k)}&height=300" \
                           "&history=0&photos=0"
                    started = time.perf_counter()
                    conn.request("GET", path, headers={"x-api-key": stack.api_key})
                    response = conn.getresponse()
                    body = json.loads(response.read())
                    out.append(((time.perf_counter() - started) * 1000,
                                response.status == 200 and body.get("image") is not None))
            finally:
                conn.close()
            return out

        with ThreadPoolExecutor(HOSTILE_CLIENTS) as pool:
            answers = [a for batch in pool.map(client, range(HOSTILE_CLIENTS)) for a in batch]
        times = [ms for ms, _ in answers]
        peak_kb = _memory_kb(pid, "VmHWM")
        refused = stack.log().count("bitmap conversions running and")
    return {"peak_rss_above_warm_mb": round((peak_kb - warm_kb) / 1024),
            "peak_rss_mb": round(peak_kb / 1024), "answers": len(answers),
            "with_image": sum(ok for _, ok in answers), "p50_ms": round(_percentile(times, 50)),
            "max_ms": round(max(times)), "refused_conversions": refused}


def hostile_images() -> dict | None:
    if not Path("/proc/self/status").exists():
        return None  # peak RSS is read from /proc
    from testing.fake_nasa import Reply, giant_feed, giant_png

    with FakeNasa() as nasa:
        giant_png(*HOSTILE_SIZE, "RGB")  # made once, before anything is timed
        nasa.script("perseverance", Reply(body=giant_feed(nasa.url, 6, HOSTILE_SIZE)))
        return {"photos": 6, "pixels": HOSTILE_SIZE[0] * HOSTILE_SIZE[1], "format": "RGB PNG",
                "clients": HOSTILE_CLIENTS, "requests_per_client": HOSTILE_REQUESTS,
                "gate_open": _hostile_run(nasa, GATE_OPEN), "gate_default": _hostile_run(nasa, {}),
                "lambda_memory_mb": 1024}


def run() -> dict:
    result = {"benchmark": "mars_api", **measure(), "slow_upstream": slow_upstream(),
              "rems_feed": rems_feed(), "hostile_images": hostile_images()}
    result["bitmap"] = bitmap.run()
    return result


if __name__ == "__main__":
    print(json.dumps(run()))
