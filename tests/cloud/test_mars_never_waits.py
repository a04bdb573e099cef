"""``/mars`` never waits for NASA (#12 item 4), through the real local stack and real HTTP.

Once the cache expired, a slow NASA made the refreshing request block for minutes and the local
gateway queue every other ``/mars`` behind it. Now the cached answer is served at once while one
refresh per source runs on its own, and the gateway runs a function's events in several
containers, as Lambda scales out.
"""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from testing.fake_nasa import DEFAULTS, FakeNasa, Reply
from testing.stack_process import StackProcess

TTL_S = 2
PATH = "/mars?width=320&height=240&depth=8"
REQUESTS, CONCURRENCY = 500, 20


@pytest.fixture(scope="module")
def nasa():
    with FakeNasa() as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(nasa):
    env = {"MARS_SITE_BASE": nasa.url, "NASA_API_BASE": nasa.url, "MARS_OFFLINE_SAMPLE": "0",
           "IMAGE_TTL_S": str(TTL_S), "WEATHER_TTL_S": str(TTL_S),
           "REFRESH_S": "86400"}  # one rotation window for the whole test: one photo
    with StackProcess(only="api", env=env) as running:
        yield running


def get(connection: http.client.HTTPConnection, api_key: str) -> tuple[float, int, dict]:
    started = time.monotonic()
    connection.request("GET", PATH, headers={"x-api-key": api_key})
    response = connection.getresponse()
    body = json.loads(response.read())
    return time.monotonic() - started, response.status, body


def test_a_slow_nasa_after_expiry_stalls_nobody(stack, nasa):
    first = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
    _, status, warm = get(first, stack.api_key)
    assert status == 200 and warm["image"] is not None and not warm["stale"]
    warmed_at = time.monotonic()
    for route, fixture in DEFAULTS.items():  # every feed now takes a minute to answer
        nasa.script(route, Reply(fixture=fixture, delay_s=60))
    nasa.script("image", Reply(status=200, body=b"", delay_s=60))
    nasa.reset_counts()
    while time.monotonic() - warmed_at <= TTL_S + 0.2:  # the cache's TTL has to pass
        time.sleep(0.05)

    def worker(count: int) -> list[tuple[float, int, dict]]:
        connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=60)
        try:
            return [get(connection, stack.api_key) for _ in range(count)]
        finally:
            connection.close()

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = [r for batch in pool.map(worker, [REQUESTS // CONCURRENCY] * CONCURRENCY)
                   for r in batch]
    assert len(results) == REQUESTS
    assert {status for _, status, _ in results} == {200}
    slowest = max(seconds for seconds, _, _ in results)
    assert slowest < 1.0, f"slowest /mars took {slowest:.2f} s"
    assert all(body["image"]["etag"] == warm["image"]["etag"] for _, _, body in results)
    assert all(body["weather"] == warm["weather"] for _, _, body in results)
    # The refresh did start, and never more than one fetch per source at a time.
    assert nasa.counts["rems"] + nasa.counts["perseverance"] >= 1
    assert max(nasa.most_in_flight.values()) == 1, dict(nasa.most_in_flight)
    first.close()


def test_every_wait_of_a_request_is_well_inside_the_lambda_timeout():
    """The client's 25 s budget per source was longer than the function's 20 s timeout."""
    from cloud import config as cloud_config
    from cloud.mars import service
    from tools.deploy import template

    timeout_s = template.load()["Globals"]["Function"]["Timeout"]
    config = cloud_config.load({})
    assert timeout_s >= 2 * service.WAIT_S  # a cold request's wait, with room to convert
    # The upstream budgets bound the background refresh, which must also end in a container
    # that is frozen at the timeout: connect + one read below it.
    assert config.http_connect_timeout_s + config.http_read_timeout_s < timeout_s
