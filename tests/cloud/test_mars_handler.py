"""The Lambda handlers fed recorded API Gateway events and a fake context."""

from __future__ import annotations

import base64
import functools
import json

import pytest

from cloud.mars import handler, refresh, runtime
from cloud.mars.http import HttpClient
from testing.bmpcheck import check
from testing.fake_nasa import error_page
from testing.mars_events import load_event

ALL_ROUTES = ("perseverance", "curiosity", "rems", "meda", "insight")


def body(response: dict) -> dict:
    return json.loads(response["body"])


def test_get_mars(handler_env, nasa, lambda_context):
    handler_env()
    response = handler.lambda_handler(load_event("get_mars.json"), lambda_context)
    assert response["statusCode"] == 200
    headers = response["multiValueHeaders"]
    assert headers["Content-Type"] == ["application/json"]
    answer = body(response)
    assert answer["image"]["url"].startswith("http://127.0.0.1:8080/mars/image/")
    assert answer["weather"]["source"] == "REMS" and answer["stale"] is False


def test_defaults_and_titano(handler_env, nasa, lambda_context):
    handler_env()
    plain = body(handler.lambda_handler(load_event("get_mars_no_query.json"), lambda_context))
    assert (plain["image"]["width"], plain["image"]["height"], plain["image"]["depth"]) \
        == (320, 240, 8)
    titano = body(handler.lambda_handler(load_event("get_mars_titano.json"), lambda_context))
    assert (titano["image"]["width"], titano["image"]["depth"]) == (480, 16)


def test_bad_parameters_are_400_json(handler_env, nasa, lambda_context):
    handler_env()
    for name, word in (("get_mars_bad_width.json", "width"), ("get_mars_bad_depth.json", "depth")):
        response = handler.lambda_handler(load_event(name), lambda_context)
        assert response["statusCode"] == 400
        error = body(response)["error"]
        assert error["code"] == "BAD_PARAMETER" and word in error["message"]
    assert sum(nasa.counts.values()) == 0  # bad input changes nothing, fetches nothing


def test_no_data_is_503_with_retry_after(handler_env, nasa, lambda_context):
    handler_env(HTTP_CONNECT_TIMEOUT_S="0.5")
    for route in ALL_ROUTES:
        nasa.script(route, error_page(404))
    response = handler.lambda_handler(load_event("get_mars.json"), lambda_context)
    assert response["statusCode"] == 503
    assert int(response["multiValueHeaders"]["Retry-After"][0]) >= 1
    assert body(response)["error"]["code"] == "NO_DATA"


def test_offline_sample_instead_of_503_when_enabled(handler_env, nasa, lambda_context):
    handler_env(MARS_OFFLINE_SAMPLE="1")
    for route in ALL_ROUTES:
        nasa.script(route, error_page(404))
    answer = body(handler.lambda_handler(load_event("get_mars.json"), lambda_context))
    assert answer["offline"] is True and "not NASA data" in answer["image"]["credit"]


def _image_event(name: str, etag: str) -> dict:
    event = load_event(name)
    event["path"] = f"/mars/image/{etag}.bmp"
    event["pathParameters"] = {"image_id": f"{etag}.bmp"}
    return event


@pytest.mark.parametrize("depth", [8, 4])
def test_image_route_serves_the_bitmap_with_etag(handler_env, nasa, lambda_context, depth):
    handler_env()
    event = load_event("get_mars.json")
    event["queryStringParameters"]["depth"] = str(depth)
    event["multiValueQueryStringParameters"]["depth"] = [str(depth)]
    answer = body(handler.lambda_handler(event, lambda_context))
    assert answer["image"]["depth"] == depth
    etag = answer["image"]["etag"]
    response = handler.lambda_handler(_image_event("get_image.json", etag), lambda_context)
    assert response["statusCode"] == 200 and response["isBase64Encoded"] is True
    assert response["multiValueHeaders"]["Content-Type"] == ["image/bmp"]
    assert response["multiValueHeaders"]["ETag"] == [f'"{etag}"']
    data = base64.b64decode(response["body"])
    info = check(data)
    assert len(data) == answer["image"]["bytes"] and (info.width, info.bits_per_pixel) == (
        320, depth)


def test_if_none_match_gives_304(handler_env, nasa, lambda_context):
    handler_env()
    etag = body(handler.lambda_handler(load_event("get_mars.json"), lambda_context))["image"][
        "etag"]
    event = _image_event("get_image_if_none_match.json", etag)
    event["headers"]["If-None-Match"] = f'"{etag}"'
    event["multiValueHeaders"]["If-None-Match"] = [f'"{etag}"']
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 304 and not response.get("body")
    other = _image_event("get_image_if_none_match.json", etag)  # the recorded, different tag
    assert handler.lambda_handler(other, lambda_context)["statusCode"] == 200


def test_header_names_in_any_case(handler_env, nasa, lambda_context):
    """HTTP/2 clients send header names in lower case, and API Gateway passes them on as sent."""
    handler_env()

    def lowered(event: dict) -> dict:
        event["headers"] = {k.lower(): v for k, v in event["headers"].items()}
        event["multiValueHeaders"] = {k.lower(): v for k, v in event["multiValueHeaders"].items()}
        return event

    event = lowered(load_event("get_mars.json"))
    event["headers"].update({"host": "mars.example:8443", "x-forwarded-proto": "https"})
    image = body(handler.lambda_handler(event, lambda_context))["image"]
    assert image["url"] == f"https://mars.example:8443/mars/image/{image['etag']}.bmp"
    event = lowered(_image_event("get_image_if_none_match.json", image["etag"]))
    event["headers"]["if-none-match"] = f'W/"{image["etag"]}"'
    assert handler.lambda_handler(event, lambda_context)["statusCode"] == 304


def test_unknown_image_is_404_json(handler_env, nasa, lambda_context):
    handler_env()
    response = handler.lambda_handler(load_event("get_image.json"), lambda_context)
    assert response["statusCode"] == 404
    assert body(response)["error"]["code"] == "NOT_FOUND"


def test_scheduled_refresh_warms_the_cache(handler_env, nasa, lambda_context):
    handler_env()
    report = refresh.lambda_handler(load_event("scheduled_refresh.json"), lambda_context)
    assert report["weather"] == "fresh" and report["bitmaps"] >= 8
    nasa.reset_counts()
    for name in ("get_mars.json", "get_mars_no_query.json"):
        assert handler.lambda_handler(load_event(name), lambda_context)["statusCode"] == 200
    assert sum(nasa.counts.values()) == 0
    assert runtime.telemetry.counts["CacheHits"] >= 4


def test_logs_carry_the_request_id_as_correlation_id(handler_env, nasa, lambda_context, caplog):
    handler_env()
    for route in ALL_ROUTES:
        nasa.script(route, error_page(404))
    event = load_event("get_mars.json")
    with caplog.at_level("INFO", logger="mars"):
        handler.lambda_handler(event, lambda_context)
    formatter = handler.logger.registered_formatter  # the JSON the Lambda log receives
    logged = [json.loads(formatter.format(record)) for record in caplog.records
              if record.name == "mars"]
    warning = next(line for line in logged if line["message"] == "request refused")
    assert warning["code"] == "NO_DATA" and "no Mars data" in warning["reason"]
    assert warning["correlation_id"] == event["requestContext"]["requestId"]
    assert "test-nasa-key" not in json.dumps(logged)  # the NASA key never reaches the log


def test_a_refresh_that_cannot_reach_nasa_fails_the_invocation(handler_env, nasa,
                                                                lambda_context, monkeypatch):
    handler_env()
    backoffs: list[float] = []  # the retries' waits, recorded rather than slept through
    monkeypatch.setattr(runtime, "HttpClient", functools.partial(HttpClient, sleep=backoffs.append))
    for route in ALL_ROUTES:
        nasa.script(route, error_page(503))
    # the Lambda Errors metric (free) is what the refresh alarm watches
    with pytest.raises(refresh.RefreshFailed, match="could not refresh weather and photos"):
        refresh.lambda_handler(load_event("scheduled_refresh.json"), lambda_context)
    assert backoffs, "the 503s were not retried"


def test_a_refresh_starts_no_photo_it_could_not_finish(handler_env, nasa, lambda_context):
    handler_env()
    lambda_context.get_remaining_time_in_millis = lambda: 1_000  # less than one deadline left
    report = refresh.lambda_handler(load_event("scheduled_refresh.json"), lambda_context)
    assert report["weather"] == report["photos"] == "fresh"  # the feeds still came in
    assert report["bitmaps"] == 0 and any("out of time" in e for e in report["errors"])
    assert not any(r.startswith("image") for r in nasa.counts)  # no photo was started
