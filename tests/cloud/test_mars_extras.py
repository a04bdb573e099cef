"""``GET /mars``'s additions: weather ``history``, ``mars_time``, ``season_name`` and the
``photos`` list, all answered from the cache (no upstream request per device request)."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from cloud.mars import handler
from cloud.mars.errors import BadParameter, NotFound
from cloud.mars.query import Extras, ImageRequest, parse_extras
from testing.bmpcheck import check
from testing.fake_nasa import Reply, error_page
from testing.mars_events import load_event

BASE = "http://127.0.0.1:8080"
POINT_KEYS = {"sol", "earth_date", "min_temp_c", "max_temp_c", "pressure_pa"}


def test_history_mars_time_and_season_name(make_service, nasa):
    answer = make_service().payload(ImageRequest(), BASE)
    [series] = answer["history"]
    assert (series["source"], series["rover"]) == ("REMS", "Curiosity")
    # rems_weather.json: sols 1, 4994-4997; 4997 has no measurement yet; sol 1 is far outside
    # the 30-sol window.
    assert [p["sol"] for p in series["sols"]] == [4994, 4995, 4996]
    assert all(set(p) == POINT_KEYS for p in series["sols"])
    assert series["sols"][-1]["min_temp_c"] == answer["weather"]["min_temp_c"] == -72
    assert answer["weather"]["season_name"] == "northern winter"  # Ls 341
    now = answer["mars_time"]
    assert now["rover"] == "Curiosity" and now["season"] and now["lmst"].count(":") == 2
    assert isinstance(now["sol"], int) and now["sol"] > 4995


def test_history_window_and_photo_count_are_asked_for(make_service, nasa):
    service = make_service()
    assert service.payload(ImageRequest(), BASE, Extras(history=0, photos=0))["history"] == []
    answer = service.payload(ImageRequest(), BASE, Extras(history=2, photos=2))
    assert [p["sol"] for p in answer["history"][0]["sols"]] == [4995, 4996]
    assert len(answer["photos"]) == 2


@pytest.mark.parametrize(("params", "word"), [
    ({"history": "121"}, "history"), ({"history": "-1"}, "history"),
    ({"history": "lots"}, "history"), ({"photos": "7"}, "photos"), ({"photos": "2.5"}, "photos")])
def test_bad_counts_are_refused(params, word):
    with pytest.raises(BadParameter, match=word):
        parse_extras(params)


def test_counts_default_and_bounds():
    assert parse_extras(None) == Extras(30, 6)
    assert parse_extras({"history": "120", "photos": "0"}) == Extras(120, 0)
    assert parse_extras({"history": ""}) == Extras(30, 6)


def test_photos_list_converts_on_first_fetch_and_never_goes_upstream_on_requests(
        make_service, nasa):
    service = make_service()
    first = service.payload(ImageRequest(), BASE, Extras(history=120))
    photos = first["photos"]
    assert 2 <= len(photos) <= 6
    assert [(p["sol"], p["taken_utc"]) for p in photos] == sorted(
        ((p["sol"], p["taken_utc"]) for p in photos), reverse=True)  # newest first
    for photo in photos:
        assert photo["credit"] and photo["full_url"].startswith(nasa.url)
        assert (photo["width"], photo["height"], photo["depth"]) == (320, 240, 8)
    waiting = [p for p in photos if p["bytes"] is None]
    assert waiting, "only the shown photo is converted by the request itself"
    nasa.reset_counts()
    for _ in range(3):
        assert service.payload(ImageRequest(), BASE, Extras(history=120)) == first
    assert sum(nasa.counts.values()) == 0

    # The device fetches a listed URL: converted then, stored, and listed plainly afterwards.
    listed = waiting[0]
    parts = urlsplit(listed["url"])
    assert parts.path == f"/mars/image/{listed['etag']}.bmp"
    bmp = service.bitmap(parts.path.rsplit("/", 1)[1], dict(parse_qsl(parts.query)))
    assert check(bmp).width == 320
    again = next(p for p in service.payload(ImageRequest(), BASE)["photos"]
                 if p["etag"] == listed["etag"])
    assert again["url"] == f"{BASE}/mars/image/{listed['etag']}.bmp"
    assert again["bytes"] == len(bmp)


@pytest.mark.parametrize("offline", [False, True])
def test_the_shown_photo_is_listed_as_the_image_says(make_service, nasa, offline):
    """``image`` and its ``photos`` item are one builder's: they cannot drift apart."""
    if offline:
        for route in ("perseverance", "curiosity", "rems", "meda", "insight"):
            nasa.script(route, error_page(404))
    answer = make_service(MARS_OFFLINE_SAMPLE="1").payload(ImageRequest(), BASE)
    assert answer["offline"] is offline
    image = answer["image"]
    [listed] = [p for p in answer["photos"] if p["etag"] == image["etag"]]
    assert set(listed) == set(image) | {"full_url"}
    assert {key: listed[key] for key in image} == image


def test_a_listed_url_converts_only_what_the_cache_lists(make_service, nasa):
    service = make_service()
    listed = next(p for p in service.payload(ImageRequest(), BASE)["photos"]
                  if p["bytes"] is None)
    params = dict(parse_qsl(urlsplit(listed["url"]).query))
    nasa.reset_counts()
    for changed in ({"width": "480"}, {"photo": "perseverance:not-listed"}, {"depth": "3"}):
        with pytest.raises(NotFound):
            service.bitmap(f"{listed['etag']}.bmp", {**params, **changed})
    assert sum(nasa.counts.values()) == 0


def test_a_source_switch_keeps_both_series(make_service, nasa, clock):
    service = make_service()
    service.payload(ImageRequest(), BASE)
    nasa.script("rems", error_page(500))
    clock.advance(4000)  # past the weather TTL: REMS fails, MEDA answers
    answer = service.payload(ImageRequest(), BASE)
    assert answer["weather"]["source"] == "MEDA"
    assert [s["source"] for s in answer["history"]] == ["MEDA", "REMS"]
    assert [p["sol"] for p in answer["history"][0]["sols"]] == [1993, 1994]
    assert answer["mars_time"]["rover"] == "Perseverance"
    assert answer["mars_time"]["local_season"].startswith("northern")


def test_offline_sample_has_no_history_and_lists_its_own_photo(make_service, nasa):
    for route in ("perseverance", "curiosity", "rems", "meda", "insight"):
        nasa.script(route, error_page(404))
    answer = make_service(MARS_OFFLINE_SAMPLE="1").payload(ImageRequest(), BASE)
    assert answer["offline"] is True and answer["history"] == []
    assert [p["etag"] for p in answer["photos"]] == [answer["image"]["etag"]]
    assert answer["photos"][0]["full_url"] is None


def test_the_handler_reads_history_and_photos_and_serves_a_listed_photo(
        handler_env, nasa, lambda_context):
    handler_env()
    query = {"width": "320", "height": "240", "depth": "8", "history": "1", "photos": "3"}
    event = load_event("get_mars.json", queryStringParameters=query,
                       multiValueQueryStringParameters={k: [v] for k, v in query.items()})
    answer = json.loads(handler.lambda_handler(event, lambda_context)["body"])
    assert [p["sol"] for p in answer["history"][0]["sols"]] == [4996]
    assert len(answer["photos"]) == 3
    listed = next(p for p in answer["photos"] if p["bytes"] is None)
    parts = urlsplit(listed["url"])
    params = dict(parse_qsl(parts.query))
    image = load_event("get_image.json", path=parts.path, pathParameters={
        "image_id": parts.path.rsplit("/", 1)[1]}, queryStringParameters=params,
        multiValueQueryStringParameters={k: [v] for k, v in params.items()})
    response = handler.lambda_handler(image, lambda_context)
    assert response["statusCode"] == 200
    assert check(base64.b64decode(response["body"])).width == 320
    bad = load_event("get_mars.json", queryStringParameters={"history": "500"},
                     multiValueQueryStringParameters={"history": ["500"]})
    response = handler.lambda_handler(bad, lambda_context)
    assert response["statusCode"] == 400 and "history" in response["body"]


def test_meda_weather_history_uses_numbers_as_they_come(make_service, nasa):
    nasa.script("rems", Reply(status=503))
    answer = make_service().payload(ImageRequest(), BASE)
    [series] = answer["history"]
    assert series["source"] == "MEDA" and series["sols"][-1]["pressure_pa"] == 741.3
