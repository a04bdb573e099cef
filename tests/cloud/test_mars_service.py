"""The service against the fake NASA: payload, failover, stale serving, single flight, bitmaps."""

from __future__ import annotations

import threading

import pytest

from cloud.mars.bitmaps import bitmap_etag
from cloud.mars.errors import BadParameter, NoData, NotFound
from cloud.mars.query import ImageRequest, parse_query
from testing.bmpcheck import check
from testing.fake_nasa import Reply, error_page, image_bytes, json_error

BASE = "http://127.0.0.1:8080"
PAYLOAD_KEYS = {"image", "weather", "stale", "updated_utc", "refresh_s", "offline", "image_url",
                "insight", "history", "photos", "mars_time"}
IMAGE_KEYS = {"url", "width", "height", "depth", "bytes", "etag", "rover", "camera", "sol",
              "taken_utc", "source_url", "credit"}


def test_payload_has_the_designed_shape(make_service, nasa):
    service = make_service()
    answer = service.payload(ImageRequest(), BASE)
    assert set(answer) == PAYLOAD_KEYS
    image, weather = answer["image"], answer["weather"]
    assert set(image) == IMAGE_KEYS
    assert image["url"] == f"{BASE}/mars/image/{image['etag']}.bmp"
    assert answer["image_url"] == image["url"]
    assert (image["width"], image["height"], image["depth"]) == (320, 240, 8)
    assert image["rover"] == "Perseverance" and image["sol"] in (1994, 1993)
    assert image["credit"] == "NASA/JPL-Caltech"
    bmp = service.bitmap(image["etag"] + ".bmp")
    info = check(bmp)  # parsed as the board parses it
    assert len(bmp) == image["bytes"] and (info.width, info.height) == (320, 240)
    assert weather["source"] == "REMS" and weather["sol"] == 4996
    assert weather["min_temp_c"] == -72 and "--" not in answer.values()
    assert answer["insight"] == {"sol": "4996", "av_at": "-38", "av_HWS": None, "av_PRE": "776",
                                 "First_UTC": "2026-08-26T00:00:00Z",
                                 "Last_UTC": "2026-08-26T00:00:00Z", "season": "Month 12"}
    assert answer["stale"] is False and answer["offline"] is False
    assert answer["refresh_s"] == 600 and answer["updated_utc"].endswith("Z")


def test_warm_requests_do_not_go_upstream(make_service, nasa):
    service = make_service()
    first = service.payload(ImageRequest(), BASE)
    nasa.reset_counts()
    for _ in range(5):
        assert service.payload(ImageRequest(), BASE) == first
    assert sum(nasa.counts.values()) == 0


def test_ten_concurrent_cold_requests_fetch_each_resource_once(make_service, nasa):
    service = make_service()
    nasa.script("perseverance", Reply(fixture="perseverance_raw_images.json", delay_s=0.2))
    answers, barrier = [], threading.Barrier(10)

    def ask():
        barrier.wait()
        answers.append(service.payload(ImageRequest(), BASE))

    threads = [threading.Thread(target=ask) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 10 and all(a == answers[0] for a in answers)
    images = [k for k in nasa.counts if k.startswith("image:")]
    assert nasa.counts["perseverance"] == 1 and nasa.counts["rems"] == 1
    assert len(images) == 1 and nasa.counts[images[0]] == 1
    assert service.telemetry.counts["BitmapMisses"] == 1


def test_photo_failover_to_the_next_rover(make_service, nasa):
    nasa.script("perseverance", error_page(500))
    answer = make_service().payload(ImageRequest(), BASE)
    assert answer["image"]["rover"] == "Curiosity"
    assert answer["image"]["camera"] in ("MAST_LEFT", "NAV_LEFT_B", "NAV_RIGHT_B")


@pytest.mark.parametrize("reply", [Reply(fixture="perseverance_thumbnails_only.json"),
                                   Reply(fixture="perseverance_calibration_only.json"),
                                   Reply(fixture="perseverance_empty.json"),
                                   Reply(body=b"<html>oops</html>", content_type="text/html"),
                                   Reply(fixture="perseverance_raw_images.json", truncate=500),
                                   error_page(404)])
def test_unusable_perseverance_answers_fail_over(make_service, nasa, reply):
    nasa.script("perseverance", reply)
    assert make_service().payload(ImageRequest(), BASE)["image"]["rover"] == "Curiosity"


def test_rover_preference_is_configurable(make_service, nasa):
    answer = make_service(MARS_ROVERS="curiosity").payload(ImageRequest(), BASE)
    assert answer["image"]["rover"] == "Curiosity" and nasa.counts["perseverance"] == 0


def test_mirror_source_when_configured(make_service, nasa):
    nasa.script("perseverance", error_page(503))
    nasa.script("curiosity", error_page(503))
    service = make_service(MARS_PHOTOS_API_BASE=nasa.url)
    answer = service.payload(ImageRequest(), BASE)
    assert answer["image"]["camera"] in ("MAST", "FHAZ", "CHEMCAM", "NAVCAM_LEFT")
    assert nasa.counts["mars_photos:perseverance"] == 1
    assert service.cache.peek("photos").value["source"] == "mars_photos_perseverance"


def test_weather_failover_rems_meda_insight(make_service, nasa):
    nasa.script("rems", error_page(500))
    assert make_service().payload(ImageRequest(), BASE)["weather"]["source"] == "MEDA"


def test_weather_falls_back_to_insight_only_when_nothing_else_answers(make_service, nasa):
    nasa.script("rems", Reply(fixture="rems_all_dashes.json"))
    nasa.script("meda", error_page(404))
    answer = make_service().payload(ImageRequest(), BASE)
    assert answer["weather"]["source"] == "InSight"
    assert answer["insight"]["av_HWS"] is None and answer["insight"]["sol"] == "676"


def test_insight_empty_sol_keys_gives_null_weather_not_a_crash(make_service, nasa):
    nasa.script("rems", error_page(500))
    nasa.script("meda", error_page(500))
    nasa.script("insight", Reply(fixture="insight_empty_sol_keys.json"))
    answer = make_service().payload(ImageRequest(), BASE)
    assert answer["weather"] is None and answer["insight"] is None
    assert answer["image"] is not None


def test_stale_data_is_served_when_upstream_dies(make_service, nasa, clock):
    service = make_service()
    fresh = service.payload(ImageRequest(), BASE)
    for route in ("perseverance", "curiosity", "rems", "meda"):
        nasa.script(route, error_page(500))
    nasa.script("insight", json_error(429, "api_over_rate_limit.json"))
    clock.advance(4000)  # past both TTLs
    stale = service.payload(ImageRequest(), BASE)
    assert stale["stale"] is True
    assert stale["weather"] == fresh["weather"]
    assert stale["updated_utc"] == fresh["updated_utc"]
    assert stale["image"]["rover"] == fresh["image"]["rover"]
    assert service.telemetry.counts["StaleAnswers"] == 1


def test_live_weather_is_not_replaced_by_insight(make_service, nasa, clock):
    service = make_service()
    service.payload(ImageRequest(), BASE)
    nasa.script("rems", error_page(500))
    nasa.script("meda", error_page(500))
    clock.advance(4000)
    answer = service.payload(ImageRequest(), BASE)
    assert answer["weather"]["source"] == "REMS" and answer["stale"] is True
    assert nasa.counts["insight"] == 1  # asked, answered, rejected


def test_broken_images_are_skipped(make_service, nasa):
    nasa.script("perseverance", Reply(body=_page(nasa, ["missing", "corrupt", "garbage",
                                                        "bomb", "chelsea"])))
    service = make_service()
    answer = service.payload(ImageRequest(), BASE)
    assert answer["image"]["source_url"].endswith("/images/chelsea.png")
    assert nasa.counts["image:missing_1200.jpg"] == 1


def test_grayscale_square_and_large_png_photos_convert(make_service, nasa):
    nasa.script("perseverance", Reply(body=_page(nasa, ["camera"], ext="jpg")))
    service = make_service()
    answer = service.payload(ImageRequest(480, 320, 16, "contain"), BASE)
    bmp = service.bitmap(answer["image"]["etag"])
    info = check(bmp)
    assert answer["image"]["bytes"] == len(bmp) and (info.width, info.height) == (480, 320)


@pytest.mark.slow
def test_a_several_megabyte_png_converts(make_service, nasa):
    assert len(image_bytes("big_1200.png")[0]) > 3_000_000  # encoded before the clock runs
    nasa.script("perseverance", Reply(body=_page(nasa, ["big"], ext="png")))
    service = make_service()
    answer = service.payload(ImageRequest(), BASE)
    assert answer["image"]["bytes"] > 70_000


def test_rotation_changes_the_photo_between_refresh_windows(make_service, nasa, clock):
    service = make_service()
    seen = {service.payload(ImageRequest(), BASE)["image"]["etag"]}
    for _ in range(3):
        clock.advance(600)
        seen.add(service.payload(ImageRequest(), BASE)["image"]["etag"])
    assert len(seen) >= 3


def test_bitmaps_are_content_addressed_and_converted_once(make_service, nasa, tmp_path):
    service = make_service()
    first = service.payload(ImageRequest(), BASE)
    again = make_service()  # a new container on the same store
    nasa.reset_counts()
    second = again.payload(ImageRequest(), BASE)
    assert second["image"]["etag"] == first["image"]["etag"]
    assert not [k for k in nasa.counts if k.startswith("image:")]
    other = service.payload(ImageRequest(320, 240, 16), BASE)
    assert other["image"]["etag"] != first["image"]["etag"]


def test_no_data_at_all_is_503_material(make_service, nasa):
    for route in ("perseverance", "curiosity", "rems", "meda", "insight"):
        nasa.script(route, error_page(503, **{"Retry-After": "120"}))
    with pytest.raises(NoData) as caught:
        make_service().payload(ImageRequest(), BASE)
    assert caught.value.retry_after_s >= 1


def test_offline_sample_is_labelled(make_service, nasa):
    for route in ("perseverance", "curiosity", "rems", "meda", "insight"):
        nasa.script(route, error_page(500))
    service = make_service(MARS_OFFLINE_SAMPLE="1")
    answer = service.payload(ImageRequest(), BASE)
    assert answer["offline"] is True and answer["stale"] is True
    assert "not NASA data" in answer["image"]["credit"]
    assert answer["weather"]["source"] == "offline sample"
    assert service.bitmap(answer["image"]["etag"])[:2] == b"BM"


def test_unknown_bitmap_is_not_found(make_service):
    service = make_service()
    for name in ("0" * 32 + ".bmp", "../../etc/passwd", "x" * 200):
        with pytest.raises(NotFound):
            service.bitmap(name)


def test_refresh_preconverts_both_screens_at_both_depths(make_service, nasa):
    service = make_service()
    report = service.refresh()
    assert report["weather"] == "fresh" and report["photos"] == "fresh"
    assert report["bitmaps"] >= 16 and not report["errors"]
    nasa.reset_counts()
    for size in ((320, 240), (480, 320)):
        for depth in (4, 8):
            answer = service.payload(ImageRequest(*size, depth), BASE)
            assert answer["image"]["bytes"] == len(service.bitmap(answer["image"]["etag"]))
    assert sum(nasa.counts.values()) == 0
    assert service.telemetry.counts["BitmapMisses"] == report["bitmaps"]


def test_refresh_reports_failures_and_keeps_data(make_service, nasa):
    service = make_service()
    service.refresh()
    for route in ("perseverance", "curiosity", "rems", "meda", "insight"):
        nasa.script(route, error_page(500))
    report = service.refresh()
    assert report["weather"] == "stale" and report["photos"] == "stale"


@pytest.mark.parametrize("query,message", [
    ({"width": "abc"}, "width"), ({"width": "15"}, "width"), ({"height": "1025"}, "height"),
    ({"depth": "24"}, "depth"), ({"fit": "stretch"}, "fit"), ({"depth": "12"}, "depth"),
    ({"depth": "2"}, "depth"), ({"depth": "5"}, "depth")])
def test_bad_parameters(query, message):
    with pytest.raises(BadParameter, match=message):
        parse_query(query)


def test_query_defaults_and_etag_identity():
    assert parse_query(None) == ImageRequest(320, 240, 8, "cover")
    assert parse_query({"width": "480", "height": "320", "depth": "16", "fit": "contain"}) \
        == ImageRequest(480, 320, 16, "contain")
    assert parse_query({"depth": "4"}) == ImageRequest(320, 240, 4, "cover")
    from cloud.mars.models import Photo
    photo = Photo("p:1", "Perseverance", "NAVCAM_LEFT", 1, "http://x/1.jpg")
    assert bitmap_etag(photo, ImageRequest()) == bitmap_etag(photo, ImageRequest())
    assert bitmap_etag(photo, ImageRequest()) != bitmap_etag(photo, ImageRequest(fit="contain"))


def _page(nasa, names, ext="jpg"):
    """A Perseverance feed page with one full colour frame per image name."""
    import json

    from testing.fake_nasa import load_fixture

    doc = load_fixture("perseverance_raw_images.json", nasa.url)
    template = doc["images"][0]
    images = []
    for n, name in enumerate(names):
        item = json.loads(json.dumps(template))
        item["imageid"] = f"NLF_1994_08123456{n:02d}_111ECM_N0590000NCAM00100_01_295J"
        item["camera"]["instrument"] = "MCZ_LEFT"
        item["date_taken_utc"] = f"2026-09-29T10:{n:02d}:00.000"
        item["image_files"] = {"large": f"{nasa.url}/images/{name}_1200.{ext}",
                               "full_res": f"{nasa.url}/images/{name}.png"}
        images.append(item)
    doc["images"] = images
    return json.dumps(doc).encode()


def test_a_feed_slower_than_the_timeout_fails_over(make_service, nasa):
    from cloud.mars.http import HttpPolicy
    from cloud.mars.photos import parse_curiosity
    from testing.fake_nasa import load_fixture

    for photo in parse_curiosity(load_fixture("curiosity_raw_image_items.json")):
        image_bytes(photo.url.rsplit("/", 1)[1])  # made now: under the short read timeout the
        # fake's first encoding of a photo could outlast it on a loaded machine
    nasa.script("perseverance", Reply(fixture="perseverance_raw_images.json", delay_s=3))
    service = make_service(policy=HttpPolicy(connect_timeout_s=2, read_timeout_s=0.3,
                                             deadline_s=5, retries=0))
    answer = service.payload(ImageRequest(), BASE)
    assert answer["image"]["rover"] == "Curiosity"
    assert service.telemetry.counts["upstream_error:perseverance"] == 1


def test_rate_limited_everywhere_backs_off_as_long_as_asked(make_service, nasa, clock):
    for route in ("rems", "meda", "insight"):
        nasa.script(route, json_error(429, "api_over_rate_limit.json", **{"Retry-After": "900"}))
    service = make_service()
    assert service.payload(ImageRequest(), BASE)["weather"] is None
    clock.advance(300)  # past the usual one-minute back-off, within the asked 900 s
    nasa.reset_counts()
    service.payload(ImageRequest(), BASE)
    assert nasa.counts["rems"] == 0
    clock.advance(601)
    service.payload(ImageRequest(), BASE)
    assert nasa.counts["rems"] == 1
