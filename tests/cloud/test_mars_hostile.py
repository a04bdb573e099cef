"""Hostile clients and a tampered data directory, against the real stack over real HTTP:
echoed headers, 404 shapes, damaged, planted or evicted bitmaps, unbounded bitmaps."""

from __future__ import annotations

import http.client
import json

import pytest

from cloud.mars.store import LocalStore
from testing.fake_nasa import FakeNasa
from testing.stack_process import StackProcess


@pytest.fixture(scope="module")
def stack():
    with FakeNasa() as nasa, StackProcess(only="api", env={
            "MARS_SITE_BASE": nasa.url, "NASA_API_BASE": nasa.url,
            "MARS_OFFLINE_SAMPLE": "0"}) as running:
        yield running


def get(stack, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host="Host" in headers)
        for name, value in {"x-api-key": stack.api_key, **headers}.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def mars(stack, **headers: str) -> dict:
    status, _, body = get(stack, "/mars?width=320&height=240&depth=8", **headers)
    assert status == 200, body
    return json.loads(body)


def test_host_and_forwarded_proto_are_not_echoed_into_image_urls(stack):
    answer = mars(stack, Host='evil.example/"><script>x</script>',
                  **{"X-Forwarded-Proto": "javascript"})
    assert answer["image"]["url"].startswith("http://localhost/mars/image/")
    answer = mars(stack, Host=f"127.0.0.1:{stack.port}", **{"X-Forwarded-Proto": "https"})
    assert answer["image"]["url"].startswith(f"https://127.0.0.1:{stack.port}/mars/image/")


@pytest.mark.parametrize("path", ["/mars/image/a%2Fb", "/no/such/thing",
                                  "/mars/image/..%2F..%2Fetc%2Fpasswd"])
def test_every_404_has_the_one_error_shape(stack, path):
    status, headers, body = get(stack, path)
    assert status == 404 and headers["Content-Type"].startswith("application/json")
    assert set(json.loads(body)) == {"error"} and json.loads(body)["error"]["code"]


def test_a_damaged_bitmap_is_not_served_and_is_converted_again(stack):
    image = mars(stack)["image"]
    path = stack.data_dir / "mars" / "bmp" / f"{image['etag']}.bmp"
    whole = path.read_bytes()
    path.write_bytes(whole[:1000])  # truncated on disk
    status, headers, data = get(stack, f"/mars/image/{image['etag']}.bmp")
    assert status == 200 and data == whole  # made again from the photo, never the damaged copy
    assert path.read_bytes() == whole


def test_an_evicted_bitmap_is_made_again_when_asked_for(stack):
    """The store evicts least recently used bitmaps; the device kept getting 404 for them."""
    image = mars(stack)["image"]
    (stack.data_dir / "mars" / "bmp" / f"{image['etag']}.bmp").unlink()  # as eviction does
    assert mars(stack)["image"]["url"] == image["url"]  # still advertised
    status, _, data = get(stack, f"/mars/image/{image['etag']}.bmp")
    assert status == 200 and len(data) == image["bytes"] and data[:2] == b"BM"


def test_a_planted_symlink_is_not_followed(stack, tmp_path):
    image = mars(stack)["image"]
    path = stack.data_dir / "mars" / "bmp" / f"{image['etag']}.bmp"
    real = path.read_bytes()
    planted = real[:-100] + bytes(100)  # a sound bitmap, but not ours: what matters is where
    secret = tmp_path / "secret.bmp"   # it lives
    secret.write_bytes(planted)
    path.unlink()
    path.symlink_to(secret)
    status, _, data = get(stack, f"/mars/image/{image['etag']}.bmp")
    assert status == 200 and data == real  # made again; the link's target was never read
    assert secret.read_bytes() == planted and not path.is_symlink()


def test_local_bitmaps_are_evicted_least_recently_used_first(tmp_path):
    store = LocalStore(tmp_path, max_bitmap_bytes=250_000)
    for n in range(100):  # a hundred distinct sizes
        store.put(f"bmp/{n:032x}.bmp", b"BM" + bytes(77_876), "image/bmp")
        if n == 1:
            kept = store.get(f"bmp/{0:032x}.bmp")  # used again: evicted last
    sizes = [f.stat().st_size for f in (tmp_path / "bmp").iterdir()]
    assert sum(sizes) <= 250_000 and len(sizes) == 3
    assert store.get(f"bmp/{99:032x}.bmp") is not None and kept is not None
