"""Parsing the feeds: every source's fixture and every edge case of the reference notes."""

from __future__ import annotations

import pytest

from cloud.mars import history
from cloud.mars.errors import BadData
from cloud.mars.feedvalues import number
from cloud.mars.photos import parse_curiosity, parse_mars_photos, parse_perseverance
from cloud.mars.weather import better, parse_insight, parse_meda, parse_rems
from testing.fake_nasa import load_fixture


def test_perseverance_keeps_full_frames_and_drops_the_rest():
    photos = parse_perseverance(load_fixture("perseverance_raw_images.json"))
    ids = {p.id.split(":")[1][:3] + p.camera for p in photos}
    cameras = [p.camera for p in photos]
    assert "SKYCAM" not in cameras and "CACHECAM" not in cameras
    assert all(p.width is None or min(p.width, p.height) >= 400 for p in photos)
    assert not any("thumb" in p.id for p in photos)
    assert "ZR0MCZ_RIGHT" not in ids  # the calibration target
    navcam = next(p for p in photos if p.id.startswith("perseverance:NLF_1994_0812345678"))
    assert navcam.url.endswith("/images/astronaut_1200.jpg")  # the large 1200-px JPEG
    assert navcam.source_url.endswith("/images/astronaut.png")
    assert navcam.taken_utc == "2026-09-29T10:11:12Z" and navcam.sol == 1994
    assert navcam.colour and (navcam.width, navcam.height) == (1280, 960)
    bayer = next(p for p in photos if "LUJ" in p.id)
    assert not bayer.colour  # raw Bayer frames are gray


@pytest.mark.parametrize("name", ["perseverance_thumbnails_only.json",
                                  "perseverance_calibration_only.json",
                                  "perseverance_empty.json"])
def test_perseverance_pages_without_a_suitable_photo(name):
    assert parse_perseverance(load_fixture(name)) == []


def test_perseverance_latest_answer_is_not_a_page():
    with pytest.raises(BadData):
        parse_perseverance(load_fixture("perseverance_latest.json"))


def test_curiosity_keeps_full_non_thumbnail_frames():
    photos = parse_curiosity(load_fixture("curiosity_raw_image_items.json"))
    by_camera = {p.camera: p for p in photos}
    assert set(by_camera) == {"NAV_LEFT_B", "MAST_LEFT", "NAV_RIGHT_B"}
    assert by_camera["MAST_LEFT"].colour and not by_camera["NAV_LEFT_B"].colour
    assert by_camera["MAST_LEFT"].rover == "Curiosity"
    assert by_camera["MAST_LEFT"].taken_utc == "2026-09-30T11:00:00Z"
    assert (by_camera["MAST_LEFT"].width, by_camera["MAST_LEFT"].height) == (1344, 1200)


@pytest.mark.parametrize("name", ["curiosity_thumbnails_only.json", "curiosity_empty.json"])
def test_curiosity_pages_without_a_suitable_photo(name):
    assert parse_curiosity(load_fixture(name)) == []


def test_curiosity_parser_reads_other_missions_of_the_same_api():
    doc = load_fixture("curiosity_raw_image_items.json")
    doc["items"] = [dict(doc["items"][0], mission="insight")]
    assert parse_curiosity(doc)[0].rover == "Insight"


@pytest.mark.parametrize("doc", [[], {"items": None}, {"error": "x"}, "<html>"])
def test_malformed_photo_pages_are_bad_data(doc):
    with pytest.raises(BadData):
        parse_curiosity(doc)
    with pytest.raises(BadData):
        parse_perseverance(doc)


def test_mars_photos_mirror_shape():
    photos = parse_mars_photos(load_fixture("mars_photos_latest.json"))
    assert [p.camera for p in photos] == ["FHAZ", "MAST", "CHEMCAM", "NAVCAM_LEFT"]
    assert photos[1].colour and not photos[0].colour
    assert photos[3].rover == "Perseverance"
    assert photos[3].url.endswith("chelsea_1200.jpg")  # the small variant upgraded
    old = parse_mars_photos(load_fixture("mars_photos_old_host.json"))[0]
    assert old.url.startswith("https://mars.jpl.nasa.gov/")
    assert parse_mars_photos(load_fixture("mars_photos_empty.json")) == []
    with pytest.raises(BadData):
        parse_mars_photos(load_fixture("mars_photos_invalid_rover.json"))


def test_rems_strings_become_numbers_and_dashes_null_newest_usable_sol_wins():
    weather = parse_rems(load_fixture("rems_weather.json"))
    # sol 4997 is newer but measured nothing; 4996 is the newest usable one.
    assert weather.sol == 4996 and weather.earth_date == "2026-08-26"
    assert (weather.min_temp_c, weather.max_temp_c, weather.pressure_pa) == (-72, -4, 776)
    assert isinstance(weather.min_temp_c, int) and weather.ls == 341
    assert weather.season == "Month 12" and weather.opacity == "Sunny"
    assert (weather.sunrise, weather.sunset) == ("06:46", "18:50")
    assert weather.wind_speed_ms is None  # "--" in the feed
    assert weather.public() == {
        "source": "REMS", "rover": "Curiosity", "sol": 4996, "earth_date": "2026-08-26",
        "season": "Month 12", "ls": 341, "min_temp_c": -72, "max_temp_c": -4,
        "pressure_pa": 776, "opacity": "Sunny", "sunrise": "06:46", "sunset": "18:50"}


@pytest.mark.parametrize("name", ["rems_all_dashes.json", "rems_empty.json"])
def test_rems_without_a_usable_sol_is_bad_data(name):
    with pytest.raises(BadData):
        parse_rems(load_fixture(name))


def test_a_negative_sol_is_no_sol_for_the_report_or_the_series():
    row = {"sol": "-1", "terrestrial_date": "2012-08-05", "min_temp": "-70", "max_temp": "-5",
           "pressure": "770"}
    with pytest.raises(BadData):
        parse_rems({"soles": [row]})
    assert history.rems_series({"soles": [row]})["sols"] == []


def test_meda_numbers_and_newest_sol():
    weather = parse_meda(load_fixture("meda_weather.json"))
    assert (weather.source, weather.rover, weather.sol) == ("MEDA", "Perseverance", 1994)
    assert weather.min_temp_c == -80.2 and weather.pressure_pa == 741.3
    assert weather.sunrise is None  # "06:10:20" is not HH:MM
    assert weather.opacity is None


def test_insight_legacy_feed():
    weather = parse_insight(load_fixture("insight_weather.json"))
    assert weather.legacy and weather.sol == 676
    assert weather.wind_speed_ms is None  # no HWS block that sol
    assert weather.avg_temp_c == -62.5 and weather.earth_date == "2020-10-20"


def test_insight_empty_sol_keys_is_bad_data_not_a_crash():
    with pytest.raises(BadData, match="sol_keys"):
        parse_insight(load_fixture("insight_empty_sol_keys.json"))
    with pytest.raises(BadData):
        parse_insight({"sol_keys": ["12"]})  # a key without its block


@pytest.mark.parametrize("raw,value", [("-71", -71), ("7.50", 7.5), ("--", None), ("", None),
                                       (None, None), ("NaN", None), (True, None), (3, 3)])
def test_number(raw, value):
    assert number(raw) == value


def test_live_weather_is_never_replaced_by_legacy_or_older_sols():
    rems = parse_rems(load_fixture("rems_weather.json"))
    insight = parse_insight(load_fixture("insight_weather.json"))
    assert not better(insight, rems)
    assert better(rems, insight)
    older = parse_rems({"soles": [{"sol": "4990", "min_temp": "-70"}]})
    assert not better(older, rems) and better(rems, older)
