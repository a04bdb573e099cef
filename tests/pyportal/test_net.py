"""The device's HTTP client: its request/response logic against scripted answers (the ``NET``
table of ``cases.py``, shared with the MicroPython run), then against a real local server."""

from __future__ import annotations

import time

import adafruit_connection_manager as acm
import adafruit_requests
import pytest

from testing.fake_mars_api import API_KEY, CLIENT_TIMEOUT_S
from testing.pyportal_cases import NET


@pytest.mark.parametrize("case", NET, ids=lambda case: case.id)
def test_scripted(outcome, case):
    assert outcome(case) == case.expected()


@pytest.fixture
def net(device, server):
    radio = acm.CPythonNetwork()
    session = adafruit_requests.Session(acm.get_radio_socketpool(radio),
                                        acm.get_radio_ssl_context(radio))
    fed = []
    client = device.net.Net(session, server.url, API_KEY, feed=lambda: fed.append(1),
                            timeout=CLIENT_TIMEOUT_S)
    client.fed = fed
    return client


def test_fetch_sends_size_and_key(net, server):
    payload = net.fetch(480, 320, 8)
    assert payload["weather"]["sol"] == 4995
    path, headers = server.requests[-1]
    assert path == "/mars" and headers["x-api-key"] == API_KEY
    assert headers["host"] == f"127.0.0.1:{server.port}"  # servers build image URLs from it
    assert net.requests == 1 and net.bytes > 500


@pytest.mark.parametrize(("mode", "words"), [
    ("500", "HTTP 500 internal"), ("403", "HTTP 403 forbidden"), ("badjson", "bad JSON from API"),
])
def test_fetch_errors(device, net, server, mode, words):
    server.mode = mode
    with pytest.raises(device.errors.FetchError) as err:
        net.fetch(320, 240, 8)
    assert str(err.value) == words


def test_wrong_key(device, net, server):
    server.api_key = "another"
    with pytest.raises(device.errors.FetchError, match="HTTP 403 forbidden"):
        net.fetch(320, 240, 8)


def test_timeout(device, net, server):
    server.mode = "slow"
    quick = device.net.Net(net.session, server.url, API_KEY, timeout=1)
    start = time.monotonic()
    with pytest.raises(Exception) as err:  # requests raises OutOfRetries
        quick.fetch(320, 240, 8)
    assert type(err.value).__name__ in ("OutOfRetries", "TimeoutError")
    assert time.monotonic() - start < server.delay  # gave up before the server answered


def download(net, server, tmp_path, etag=None, size=None, name="photo.bmp"):
    net.fetch(320, 240, 8)  # the server sizes images after the last /mars
    return net.download(f"{server.url}/mars/image/photo-1.bmp", str(tmp_path / name), 320,
                        240, etag=etag, size=size)


def test_download_streams_the_bitmap(net, server, tmp_path):
    etag = download(net, server, tmp_path)
    assert etag == '"photo-1"'
    assert (tmp_path / "photo.bmp").read_bytes() == server.image_bytes(320, 240)
    assert server.requests[-1][1]["x-api-key"] == API_KEY  # same host as the API
    assert len(net.fed) >= 77878 // 1024  # the watchdog was fed during the transfer


def test_relative_url_is_on_the_api_host(net, server, tmp_path):
    net.fetch(320, 240, 8)
    assert net.download("/mars/image/photo-1.bmp", str(tmp_path / "p.bmp"), 320, 240) == (
        '"photo-1"')


def test_unchanged_image_is_not_sent_again(net, server, tmp_path):
    assert download(net, server, tmp_path, etag='"photo-1"') is None
    assert server.requests[-1][1]["if-none-match"] == '"photo-1"'
    assert not (tmp_path / "photo.bmp").exists()


@pytest.mark.parametrize(("mode", "error", "words"), [
    ("rle", "BadBitmap", "compressed BMP (1)"),
    ("wrongsize", "BadBitmap", "BMP 160x120, want 320x240"),
    ("oversized", "BadBitmap", "image of 308278 bytes"),
    ("truncated", "FetchError", "image cut at"),
    ("500", "FetchError", "HTTP 500 internal"),
])
def test_bad_images_are_refused(device, net, server, tmp_path, mode, error, words):
    server.image_mode = mode
    with pytest.raises(getattr(device.errors, error)) as err:
        download(net, server, tmp_path, name="new.bmp")
    assert str(err.value).startswith(words)


def test_oversized_body_is_not_downloaded(device, net, server, tmp_path):
    server.image_mode = "oversized"
    with pytest.raises(device.errors.BadBitmap):
        download(net, server, tmp_path, name="new.bmp")
    assert not (tmp_path / "new.bmp").exists()
    assert net.bytes < 2000  # the JSON only


def test_size_announced_by_the_api_must_match(device, net, server, tmp_path):
    with pytest.raises(device.errors.BadBitmap, match="image of 77878 bytes"):
        download(net, server, tmp_path, size=1234)


def test_key_not_sent_to_other_hosts(device, net, server, tmp_path):
    other = device.net.Net(net.session, "http://localhost:1", API_KEY, timeout=CLIENT_TIMEOUT_S)
    server.api_key = None  # this server now accepts requests without a key
    other.download(f"{server.url}/mars/image/photo-1.bmp", str(tmp_path / "x.bmp"), 320, 240)
    assert "x-api-key" not in server.requests[-1][1]
    assert server.requests[-1][1]["host"] == f"127.0.0.1:{server.port}"
