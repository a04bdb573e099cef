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
* ``bitmap``: ``bench/bitmap.py``'s ``run()`` (conversion time, SSIM, bytes), when present.

Run: ``.venv/bin/python bench/mars_api.py``.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
import tracemalloc

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


def run() -> dict:
    result = {"benchmark": "mars_api", **measure(), "slow_upstream": slow_upstream(),
              "rems_feed": rems_feed()}
    result["bitmap"] = bitmap.run()
    return result


if __name__ == "__main__":
    print(json.dumps(run()))
