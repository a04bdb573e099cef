"""``/mars`` recovers from its own store: a bad cache file, a lost bitmap, a time in the future.

The store is a cache: whatever is found there (a file of the wrong shape, JSON nested too deep,
a directory where a file belongs, a copy written under a clock that was ahead, a bitmap the
local store evicted) is discarded or made again, and the answer is still 200 from the feeds.
Each case runs the real handler on a fresh container (``runtime.reset``), as after a restart.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cloud.mars import handler, runtime
from cloud.mars.query import ImageRequest
from cloud.mars.store import LocalStore
from testing.bmpcheck import check
from testing.mars_events import load_event
from testing.waiting import wait_until

DAY_S = 86_400


def _mars(lambda_context, **query: str) -> dict:
    event = load_event("get_mars.json")
    event["queryStringParameters"] = {**event["queryStringParameters"], **query}
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def _image(lambda_context, url: str) -> tuple[int, bytes]:
    parts = urlsplit(url)
    event = load_event("get_image.json")
    image_id = parts.path.rsplit("/", 1)[1]
    event["path"] = f"/mars/image/{image_id}"
    event["pathParameters"] = {"image_id": image_id}
    query = dict(p.split("=", 1) for p in parts.query.split("&")) if parts.query else None
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in (query or {}).items()}
    response = handler.lambda_handler(event, lambda_context)
    data = base64.b64decode(response["body"]) if response["statusCode"] == 200 else b""
    return response["statusCode"], data


def _plant(store: Path, key: str, content: bytes | None) -> None:
    path = store / key
    path.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)


def _cached(value: object, fetched_at: float = 2e9) -> bytes:
    return json.dumps({"value": value, "fetched_at": fetched_at}).encode()


A_PHOTO = {"id": "x", "rover": "r", "camera": "c", "sol": "1994",  # sol: a string
           "url": "https://mars.nasa.gov/a.jpg"}
TOO_DEEP = b'{"value": ' + b"[" * 50_000 + b"]" * 50_000 + b', "fetched_at": 1}'
BAD_FILES = {
    "weather of the wrong shape": ("meta/weather.json", _cached([1, 2, 3])),
    "a photo of the wrong shape": ("meta/photos.json",
                                   _cached({"source": "perseverance", "photos": [A_PHOTO]})),
    "weather nested too deep": ("meta/weather.json", TOO_DEEP),
    "a directory for the photos": ("meta/photos.json", None),
    "a time that is not one": ("meta/weather.json", b'{"value": {}, "fetched_at": "NaN"}'),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_cache_file_is_discarded_and_fetched_again(case, handler_env, nasa,
                                                         lambda_context, caplog):
    """Each of these made every ``/mars`` fail (502 from the local gateway) until removed."""
    store = handler_env()
    _plant(store, *BAD_FILES[case])
    answer = _mars(lambda_context)
    assert answer["weather"]["source"] == "REMS" and answer["image"] is not None
    assert nasa.counts["rems"] == 1 and nasa.counts["perseverance"] == 1  # fetched again
    assert "discarded, fetching again" in caplog.text or "a directory" in case


def test_a_directory_where_a_bitmap_belongs_costs_nothing(handler_env, nasa, lambda_context):
    store = handler_env()
    etag = _mars(lambda_context)["image"]["etag"]
    runtime.reset()  # a fresh container finds a directory where the bitmap was
    (store / "bmp" / f"{etag}.bmp").unlink()
    (store / "bmp" / f"{etag}.bmp").mkdir()
    image = _mars(lambda_context)["image"]
    status, data = _image(lambda_context, image["url"])
    assert status == 200 and len(data) == image["bytes"]  # converted, kept in memory


def test_a_cache_written_under_a_clock_30_days_ahead_is_refreshed(handler_env, nasa,
                                                                   lambda_context):
    store = handler_env()
    fresh = _mars(lambda_context)
    weather = json.loads((store / "meta" / "weather.json").read_bytes())["value"]
    weather["sol"] -= 10  # what NASA said then
    ahead = time.time() + 30 * DAY_S
    (store / "meta" / "weather.json").write_bytes(_cached(weather, ahead))
    runtime.reset()
    nasa.reset_counts()
    first = _mars(lambda_context)  # answered at once with the old copy, refreshed meanwhile
    assert first["updated_utc"] <= time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    wait_until(lambda: nasa.counts["rems"] >= 1, timeout=30,
               message="a weather copy dated 30 days ahead was believed fresh")
    wait_until(lambda: _mars(lambda_context)["weather"]["sol"] == fresh["weather"]["sol"],
               timeout=30)


def test_bitmaps_the_store_evicted_are_made_again_on_demand(make_service, tmp_path):
    """The local store keeps ``bmp/`` under its size by evicting the least recently used; the
    URLs answers gave out for those bitmaps answered 404 until the process restarted."""
    store = LocalStore(tmp_path / "small", max_bitmap_bytes=200_000)  # two 320x240 bitmaps
    service = make_service(store=store)
    first = service.payload(ImageRequest(), "http://h")
    for width in (300, 280, 260):  # other screens' bitmaps push the first one out
        service.payload(ImageRequest(width, 200), "http://h")
    assert store.get(f"bmp/{first['image']['etag']}.bmp") is None  # evicted
    again = service.payload(ImageRequest(), "http://h")
    assert again["image"]["url"] == first["image"]["url"]  # still advertised, so it must work
    data = service.bitmap(f"{first['image']['etag']}.bmp")
    assert len(data) == first["image"]["bytes"] and check(data).width == 320


def test_a_bitmap_believed_stored_is_looked_for_again_every_hour(make_service, tmp_path):
    """S3 expires bitmaps after ImageRetentionDays whatever a warm container believes; the
    scheduled refresh makes them again within the hour instead of never."""
    service = make_service()
    hours = [0.0]
    service.bitmaps.monotonic = lambda: hours[0]
    one_size = ((80, 60),)  # small, one depth: cheap conversions
    assert service.refresh(sizes=one_size, depths=(8,))["bitmaps"] == 6
    folder = tmp_path / "store" / "bmp"
    for path in folder.iterdir():
        path.unlink()  # expired by the bucket's lifecycle rule
    service.refresh(sizes=one_size, depths=(8,))
    assert list(folder.iterdir()) == []  # still believed stored: not looked for
    hours[0] += 3601  # an hour later
    assert service.refresh(sizes=one_size, depths=(8,))["bitmaps"] == 6
    assert len(list(folder.iterdir())) == 6
