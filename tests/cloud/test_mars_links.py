"""Feed-supplied URLs in ``/mars`` answers: only https on NASA's hosts (and the configured
bases) reach ``image.source_url`` and ``photos[].full_url`` / ``source_url``; anything else is
dropped from the answer and counted in the log. The real handler, a hostile photo feed."""

from __future__ import annotations

import json

from cloud.mars import handler
from testing.fake_nasa import Reply, load_fixture
from testing.mars_events import load_event

HOSTILE = {  # imageid prefix -> image_files changes
    "ZL0_1994": {"full_res": "javascript:alert(document.domain)"},
    "FLF_1994": {"full_res": "file:///etc/passwd"},
    "NLF_1993": {"full_res": "https://evil.example/chelsea.png"},
    "ZL0_1993": {"large": "javascript:alert(1)//.jpg",
                 "full_res": "data:text/html,<script>alert(1)</script>"},
}
NASA_PAGE = "https://mars.nasa.gov/mars2020-raw-images/pub/ods/surface/sol/01990/old.png"


def _feed(base: str) -> bytes:
    doc = load_fixture("perseverance_raw_images.json", base)
    for item in doc["images"]:
        for prefix, changes in HOSTILE.items():
            if item["imageid"].startswith(prefix):
                item["image_files"].update(changes)
        if item["imageid"].startswith("NLF_1990"):
            item["image_files"]["full_res"] = NASA_PAGE
    return json.dumps(doc).encode()


def test_only_nasa_urls_reach_the_answer_and_the_rest_is_counted(handler_env, nasa,
                                                                  lambda_context, caplog):
    handler_env()
    nasa.script("perseverance", Reply(body=_feed(nasa.url)))
    for _ in range(2):  # this window's photo may be the one that cannot be downloaded
        response = handler.lambda_handler(load_event("get_mars.json"), lambda_context)
        assert response["statusCode"] == 200
        text = response["body"]
        if json.loads(text)["image"] is not None:
            break
    for changes in HOSTILE.values():
        for url in changes.values():
            assert json.dumps(url)[1:-1] not in text, url
    answer = json.loads(text)
    photos = {p["etag"]: p for p in answer["photos"]}
    assert len(photos) == 6  # every photo is still listed: only the links are dropped
    links = [(p["full_url"], p["source_url"]) for p in photos.values()]
    assert (None, None) in links  # the photo whose every URL was hostile
    assert any(source == NASA_PAGE for _, source in links)  # https on mars.nasa.gov stays
    assert any(full and full.startswith(nasa.url + "/images/") for full, _ in links)
    image = answer["image"]
    assert image["source_url"] == photos[image["etag"]]["source_url"]
    dropped = [r for r in caplog.records if "feed URL dropped" in r.getMessage()]
    assert {r.url for r in dropped} >= {"javascript:alert(document.domain)", "file:///etc/passwd",
                                        "https://evil.example/chelsea.png"}
    assert max(r.dropped_total for r in dropped) >= 5
