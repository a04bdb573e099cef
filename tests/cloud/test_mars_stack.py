"""``GET /mars`` as a PyPortal meets it: the real local stack over HTTP, fake NASA upstream."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.bmpcheck import check
from tests.stackproc import StackProcess


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
