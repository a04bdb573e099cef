"""``GET /mars`` as a PyPortal meets it: the real local stack over HTTP, fake NASA upstream."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from testing.bmpcheck import check
from testing.stack_process import StackProcess


def _get(url: str, **headers: str):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30)


@pytest.fixture
def stack(nasa):
    env = {"MARS_SITE_BASE": nasa.url, "NASA_API_BASE": nasa.url, "MARS_OFFLINE_SAMPLE": "0"}
    with StackProcess(only="api", env=env) as running:
        yield running


def test_mars_through_the_local_stack(stack, nasa):
    with pytest.raises(urllib.error.HTTPError) as denied:
        _get(stack.url("/mars"))
    assert denied.value.code == 403
    with _get(stack.url("/mars?width=480&height=320"), **{"x-api-key": stack.api_key}) as answer:
        payload = json.load(answer)
    image = payload["image"]
    assert image["url"] == f"{stack.base_url}/mars/image/{image['etag']}.bmp"
    with _get(image["url"], **{"x-api-key": stack.api_key}) as response:
        data = response.read()
        etag = response.headers["ETag"]
    assert response.headers["Content-Type"] == "image/bmp" and len(data) == image["bytes"]
    assert (check(data).width, check(data).height) == (480, 320)
    with pytest.raises(urllib.error.HTTPError) as cached:
        _get(image["url"], **{"x-api-key": stack.api_key, "If-None-Match": etag})
    assert cached.value.code == 304
    with pytest.raises(urllib.error.HTTPError) as bad:
        _get(stack.url("/mars?depth=3"), **{"x-api-key": stack.api_key})
    assert bad.value.code == 400 and json.load(bad.value)["error"]["code"] == "BAD_PARAMETER"


def _wait_for_line(stack: StackProcess, words: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in stack.log().splitlines():
            if words in line:
                return line
        time.sleep(0.1)
    raise AssertionError(f"no line with {words!r} in:\n{stack.log()}")


def test_the_console_says_nasa_is_live(stack):
    line = _wait_for_line(stack, "NASA feeds live")
    assert "sol" in line and "weather from" in line


def test_the_console_says_when_it_serves_the_offline_sample():
    closed = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused
    env = {"MARS_SITE_BASE": closed, "NASA_API_BASE": closed, "MARS_OFFLINE_SAMPLE": "1",
           "HTTP_DEADLINE_S": "1"}  # refused: no 1 s backoff per feed
    with StackProcess(only="api", env=env) as stack:
        _wait_for_line(stack, "NASA feeds unreachable: serving the clearly labelled offline sample")
        with _get(stack.url("/mars"), **{"x-api-key": stack.api_key}) as answer:
            payload = json.load(answer)
    assert payload["offline"] is True and "not NASA data" in payload["image"]["credit"]
