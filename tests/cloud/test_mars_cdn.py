"""``GET /mars`` behind CloudFront: cacheable for the rest of the photo window (at most 10
minutes), image links relative to the CDN's host; called directly, nothing changes."""

from __future__ import annotations

import json

import pytest

from cloud.mars import cdn, handler
from testing.mars_events import load_event


def _get(event: dict, context) -> tuple[dict, str]:
    response = handler.lambda_handler(event, context)
    assert response["statusCode"] == 200
    return json.loads(response["body"]), response["multiValueHeaders"]["Cache-Control"][0]


def test_through_cloudfront_the_answer_is_cached_and_its_links_relative(handler_env, nasa,
                                                                         lambda_context):
    handler_env()
    event = load_event("get_mars.json")
    event["headers"] = {**event["headers"], "X-Amz-Cf-Id": "abc=="}
    answer, cache = _get(event, lambda_context)
    assert answer["image"]["url"].startswith("/mars/image/") and answer["image"]["url"] \
        .endswith(".bmp")
    max_age = int(cache.removeprefix("public, max-age="))
    assert 0 <= max_age <= cdn.MAX_AGE_S
    direct, cache = _get(load_event("get_mars.json"), lambda_context)
    assert cache == "no-store" and direct["image"]["url"].startswith("http://127.0.0.1:8080/")


@pytest.mark.parametrize(("now", "refresh", "stale", "expected"), [
    (7200 * 5, 7200, False, 600),  # a window just began: the weather's 10 minutes
    (7200 * 5 + 7000, 7200, False, 200),  # the photo changes in 200 s
    (7200 * 5 + 100, 7200, True, 60),  # stale: try again soon
    (600 * 7 + 599.5, 600, False, 0),  # the window ends now
])
def test_max_age_ends_with_the_photo_window(now, refresh, stale, expected):
    assert cdn.mars_cache_control(now, refresh, stale) == f"public, max-age={expected}"
