"""The NASA HTTP client against the fake server: timeouts, retries, limits, redirects."""

from __future__ import annotations

import logging
import time

import pytest

from cloud.mars.allowlist import Allowlist, RefusedUrl
from cloud.mars.errors import BadData, UpstreamError
from cloud.mars.http import USER_AGENT, HttpClient, HttpPolicy, redact
from testing.fake_nasa import Reply, error_page, json_error

pytestmark = pytest.mark.slow  # deadlines and retries on loopback servers

REMS = "/rss/api/?feed=weather&category=msl&feedtype=json"


def client(**limits) -> tuple[HttpClient, list[float], list[tuple]]:
    sleeps: list[float] = []
    seen: list[tuple] = []
    policy = HttpPolicy(**{"connect_timeout_s": 1.0, "read_timeout_s": 0.3, "deadline_s": 5.0,
                           "retries": 2, "backoff_s": 0.01, "max_retry_after_s": 5.0, **limits})
    http = HttpClient(policy, sleep=sleeps.append,
                      observer=lambda source, ms, error: seen.append((source, error)))
    return http, sleeps, seen


def test_json_is_fetched_with_the_projects_user_agent(nasa):
    http, sleeps, seen = client()
    doc = http.get_json(nasa.url + REMS, source="rems")
    assert doc["soles"][0]["sol"] == "4995"
    assert nasa.requests[0]["headers"]["User-Agent"] == USER_AGENT
    assert "mars-robot" in USER_AGENT
    assert sleeps == [] and seen == [("rems", None)]


def test_5xx_is_retried_with_backoff_then_succeeds(nasa):
    nasa.script("rems", error_page(503), error_page(500), Reply(fixture="rems_weather.json"))
    http, sleeps, seen = client()
    assert http.get_json(nasa.url + REMS, source="rems")["soles"]
    assert nasa.counts["rems"] == 3
    assert sleeps == [0.02]  # urllib3's backoff: the first retry at once, then 0.01 * 2**n
    assert seen == [("rems", None)]


@pytest.mark.parametrize("status,fixture", [(403, "api_key_invalid.json"),
                                            (404, None), (400, "mars_photos_invalid_rover.json")])
def test_4xx_is_never_retried(nasa, status, fixture):
    nasa.script("rems", json_error(status, fixture) if fixture else error_page(status))
    http, sleeps, seen = client()
    with pytest.raises(UpstreamError) as caught:
        http.get(nasa.url + REMS, source="rems")
    assert caught.value.status == status and not caught.value.retryable
    assert nasa.counts["rems"] == 1 and sleeps == []
    assert seen == [("rems", f"http_{status}")]


def test_429_is_handed_to_the_cache_with_its_retry_after(nasa):
    nasa.script("rems", json_error(429, "api_over_rate_limit.json", **{"Retry-After": "2"}),
                Reply(fixture="rems_weather.json"))
    http, sleeps, seen = client()
    with pytest.raises(UpstreamError) as caught:
        http.get_json(nasa.url + REMS, source="rems")
    assert caught.value.retry_after_s == 2.0 and caught.value.retryable
    assert sleeps == [] and nasa.counts["rems"] == 1  # no waiting inside the request
    assert seen == [("rems", "http_429")]


def test_a_5xx_retry_after_is_slept_when_short(nasa):
    nasa.script("rems", error_page(503, **{"Retry-After": "1"}), Reply(fixture="rems_weather.json"))
    http, sleeps, _ = client()
    assert http.get_json(nasa.url + REMS)["soles"]
    assert sleeps == [1.0] and nasa.counts["rems"] == 2


def test_429_with_a_long_retry_after_gives_up_and_reports_it(nasa):
    nasa.script("rems", json_error(429, "api_over_rate_limit.json", **{"Retry-After": "3600"}))
    http, sleeps, _ = client()
    with pytest.raises(UpstreamError) as caught:
        http.get(nasa.url + REMS)
    assert caught.value.retry_after_s == 3600 and caught.value.status == 429
    assert sleeps == [] and nasa.counts["rems"] == 1


def test_a_response_slower_than_the_read_timeout_fails_after_retries(nasa):
    nasa.script("rems", Reply(fixture="rems_weather.json", delay_s=3))
    http, sleeps, seen = client(retries=1)
    with pytest.raises(UpstreamError) as caught:
        http.get(nasa.url + REMS, source="rems")
    assert caught.value.retryable
    assert nasa.counts["rems"] == 2 and sleeps == []  # urllib3 retries once at once
    assert seen == [("rems", "timeout")]


def test_truncated_body_is_retried(nasa):
    nasa.script("rems", Reply(fixture="rems_weather.json", truncate=100),
                Reply(fixture="rems_weather.json"))
    http, sleeps, _ = client()
    assert http.get_json(nasa.url + REMS)["soles"]
    assert nasa.counts["rems"] == 2


def test_truncated_json_without_length_is_bad_data(nasa):
    text = b'{"soles": [{"sol": "4995", "min_temp": "-7'
    nasa.script("rems", Reply(body=text, chunked=True))
    http, _, _ = client()
    with pytest.raises(BadData, match="did not answer JSON"):
        http.get_json(nasa.url + REMS)


def test_a_feed_nested_too_deep_is_bad_data_not_a_recursion_crash(nasa):
    nasa.script("rems", Reply(body=b"[" * 5000 + b"]" * 5000))
    http, _, _ = client()
    with pytest.raises(BadData, match="nested deeper"):
        http.get_json(nasa.url + REMS)


def test_html_error_page_with_200_is_bad_data_not_a_crash(nasa):
    nasa.script("rems", Reply(body=b"<!DOCTYPE html><html>Maintenance</html>",
                              content_type="text/html"))
    http, _, _ = client()
    with pytest.raises(BadData, match="DOCTYPE"):
        http.get_json(nasa.url + REMS)


def test_html_error_page_with_500_is_retried_then_fails(nasa):
    nasa.script("rems", error_page(500))
    http, sleeps, _ = client(retries=2)
    with pytest.raises(UpstreamError) as caught:
        http.get_json(nasa.url + REMS)
    assert caught.value.status == 500 and nasa.counts["rems"] == 3


def test_redirect_is_followed(nasa):
    http, _, _ = client()
    answer = http.get(nasa.url + "/moved/rss/api/~feed=weather&category=msl")
    assert answer.status == 200 and answer.url.endswith("category=msl")
    assert nasa.counts["rems"] == 1


def test_size_limit_from_content_length(nasa):
    http, _, _ = client(max_bytes=1000)
    with pytest.raises(UpstreamError, match="limit") as caught:
        http.get(nasa.url + REMS)
    assert not caught.value.retryable and nasa.counts["rems"] == 1


def test_size_limit_while_streaming_without_length(nasa):
    nasa.script("rems", Reply(body=b"x" * 300_000, chunked=True))
    http, _, _ = client(max_bytes=200_000)
    with pytest.raises(UpstreamError, match="limit"):
        http.get(nasa.url + REMS)


def test_invalid_utf8_is_decoded_leniently(nasa):
    nasa.script("rems", Reply(fixture="rems_weather.json", encoding="latin-1"))
    http, _, _ = client()
    doc = http.get_json(nasa.url + REMS)
    assert "\ufffd" in doc["descriptions"]["disclaimer_es"]


def test_refused_connection_is_retried_then_fails(nasa):
    http, sleeps, seen = client(retries=1)
    with pytest.raises(UpstreamError):
        http.get("http://127.0.0.1:9/nothing", source="x")  # the discard port: closed
    assert seen == [("x", "unreachable")]


def test_errors_never_show_the_api_key(nasa):
    nasa.script("insight", json_error(403, "api_key_invalid.json"))
    http, _, _ = client()
    with pytest.raises(UpstreamError) as caught:
        http.get(nasa.url + "/insight_weather/?api_key=SECRET123&feedtype=json")
    assert "SECRET123" not in str(caught.value)
    assert redact("https://x/?a=1&api_key=abc&b=2") == "https://x/?a=1&api_key=***&b=2"


# ---------------------------------------------------------------- deadline and keep-alive


def test_a_trickling_upstream_is_cut_at_the_deadline(nasa):
    # one byte every 0.7 s: each read is well within the read timeout, the whole never ends
    nasa.script("rems", Reply(fixture="rems_weather.json", trickle_s=0.7))
    http, sleeps, seen = client(read_timeout_s=2.0, deadline_s=2.0)
    started = time.monotonic()
    with pytest.raises(UpstreamError, match="deadline") as caught:
        http.get(nasa.url + REMS, source="rems")
    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 3.5, elapsed
    assert caught.value.retryable and seen == [("rems", "timeout")]


def test_connections_are_kept_alive_and_reused(nasa):
    http, _, _ = client(read_timeout_s=5.0)  # the fake encodes the photo on first request
    http.get_json(nasa.url + REMS, source="rems")
    http.get(nasa.url + "/images/camera.jpg", source="image")
    assert [r["route"] for r in nasa.requests] == ["rems", "image:camera.jpg"]
    assert nasa.requests[0]["client"] == nasa.requests[1]["client"]  # one TCP connection
    assert "close" not in nasa.requests[0]["headers"].get("Connection", "").lower()


def test_a_half_read_connection_is_not_reused(nasa):
    nasa.script("rems", Reply(fixture="rems_weather.json", trickle_s=0.7),
                Reply(fixture="rems_weather.json"))
    http, _, _ = client(read_timeout_s=2.0, deadline_s=1.0)
    with pytest.raises(UpstreamError, match="deadline"):
        http.get(nasa.url + REMS)
    assert http.get_json(nasa.url + REMS)["soles"]
    assert nasa.requests[0]["client"] != nasa.requests[1]["client"]


# ---------------------------------------------------------------- only NASA's photos


def allowlisted(nasa, **limits):
    http, sleeps, seen = client(**limits)
    http.allowlist = Allowlist.of([nasa.url], hosts=["mars.nasa.gov"])
    return http, seen


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "ftp://mars.nasa.gov/x.jpg",
    "http://mars.nasa.gov/x.jpg",  # NASA's host, but not over https
    "https://evil.example/x.jpg",
    "https://mars.nasa.gov.evil.example/x.jpg",
    "https://user:pw@mars.nasa.gov/x.jpg",
    "http://169.254.169.254/latest/meta-data/",
    "http://localhost/x.jpg",
])
def test_urls_outside_the_allowlist_are_refused_and_logged(nasa, url, caplog):
    http, seen = allowlisted(nasa)
    with caplog.at_level(logging.WARNING, logger="mars"), \
            pytest.raises(RefusedUrl, match="refused to fetch"):
        http.get(url, source="image")
    assert seen == [("image", "refused")]
    refused = [r for r in caplog.records if "refused to fetch" in r.getMessage()]
    assert refused and refused[0].name == "mars.cloud.mars.http"  # a Powertools child logger
    assert nasa.requests == []


def test_the_configured_test_base_and_nasa_over_https_are_allowed(nasa):
    http, _ = allowlisted(nasa)
    assert http.allowlist.allows(nasa.url + "/images/camera.jpg")
    assert http.allowlist.allows("https://mars.nasa.gov/msl-raw-images/x.jpg")
    assert not http.allowlist.allows(nasa.url.replace("127.0.0.1", "localhost") + "/x")
    assert http.get(nasa.url + "/images/camera.jpg").status == 200


def test_a_redirect_off_the_allowlist_is_refused(nasa):
    nasa.script("rems", Reply(status=302, redirect="file:///etc/passwd"))
    http, seen = allowlisted(nasa)
    with pytest.raises(RefusedUrl):
        http.get(nasa.url + REMS, source="rems")
    assert seen == [("rems", "refused")]


def test_the_budget_stays_below_the_api_functions_timeout():
    from cloud import config as cloud_config
    from tools.deploy import template

    source = template.load()
    timeout = source["Resources"]["MarsApiFunction"]["Properties"].get(
        "Timeout", source["Globals"]["Function"]["Timeout"])
    config = cloud_config.load({})
    assert config.http_deadline_s < timeout / 2  # a feed and a photo in one request
    assert config.http_read_timeout_s <= config.http_deadline_s
    assert config.http_connect_timeout_s <= config.http_deadline_s


def test_a_trickling_nasa_gets_a_stale_answer_not_a_timeout(make_service, nasa, clock):
    from cloud.mars.service import ImageRequest

    policy = HttpPolicy(connect_timeout_s=1.0, read_timeout_s=2.0, deadline_s=0.8, retries=1,
                        backoff_s=0.01)
    service = make_service(policy=policy)
    fresh = service.payload(ImageRequest(), "http://127.0.0.1:8080")
    for route in ("perseverance", "curiosity", "rems"):
        nasa.script(route, Reply(fixture="rems_weather.json", trickle_s=0.7))
    for route in ("meda", "insight"):
        nasa.script(route, error_page(404))
    clock.advance(4000)  # past both TTLs
    started = time.monotonic()
    stale = service.payload(ImageRequest(), "http://127.0.0.1:8080")
    assert time.monotonic() - started < 3 * 0.8 + 1.5  # each trickling feed cut at 0.8 s
    assert stale["stale"] is True and stale["weather"] == fresh["weather"]
    assert stale["image"]["rover"] == fresh["image"]["rover"]
