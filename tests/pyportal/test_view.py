"""The pure view logic: any payload the API (or its ancestor) may send becomes text."""

from __future__ import annotations

import pytest

from tests.pyportal.mars_server import load_payload


def test_full_payload_lines(device):
    lines = device.view.weather_lines(load_payload("full"), "C")
    assert lines == ("Sol 4995  2026-08-25", "-71°C to -5°C", "777 Pa  Month 12  Sunny",
                     "Sun 06:46-18:51  Curiosity")


def test_fahrenheit(device):
    lines = device.view.weather_lines(load_payload("full"), "F")
    assert lines[1] == "-96°F to 23°F"


@pytest.mark.parametrize(("celsius", "units", "text"), [
    (-71, "C", "-71°C"), (-71.6, "C", "-72°C"), ("-5", "C", "-5°C"), (0, "F", "32°F"),
    (None, "C", "--"), ("--", "F", "--"), (True, "C", "--"), ([], "C", "--"),
])
def test_temperature(device, celsius, units, text):
    assert device.view.temperature(celsius, units) == text


def test_nulls_never_crash_and_show_dashes(device):
    payload = load_payload("nulls")
    lines = device.view.weather_lines(payload, "C")
    assert lines == ("Sol --  --", "-- to -5°C", "-- Pa  --", "Sun --  REMS")
    assert device.view.image(payload) is None
    assert device.view.caption(payload) == ""
    assert device.view.status_updated(payload) == "NASA unreachable, data from earlier"


def test_numbers_as_strings_and_wrong_types(device):
    payload = load_payload("strings")
    assert device.view.weather_lines(payload, "C")[:3] == (
        "Sol 4995  2026-08-25", "-72°C to --", "777 Pa  --")
    assert device.view.image(payload) is None  # "image" is not an object
    assert device.view.status_updated(payload) == "updated"  # not a timestamp


def test_legacy_payload(device):
    payload = load_payload("legacy")
    lines = device.view.weather_lines(payload, "C")
    assert lines[0] == "Sol 675  2020-10-19"
    assert lines[1] == "avg -62°C"
    assert lines[2] == "751 Pa  summer"
    assert device.view.image(payload) == ("/mars/image/photo-1.bmp", None, None)


def test_empty_payload(device):
    assert device.view.weather_lines({}, "C") == ("No weather report", "", "", "")
    assert device.view.image({}) is None


def test_image_and_caption(device):
    payload = load_payload("full")
    assert device.view.image(payload) == ("/mars/image/photo-1.bmp", '"photo-1"', None)
    payload["image"]["bytes"] = 77878
    assert device.view.image(payload)[2] == 77878
    assert device.view.caption(payload) == "Perseverance NAVCAM_LEFT sol 1994"


def test_status_texts(device):
    v = device.view
    assert v.status_updated(load_payload("full")) == "updated 08:15 UTC"
    assert v.status_failed("08:15", OSError("refused")) == "stale since 08:15: refused"
    assert v.status_failed("", ValueError("x" * 60)) == "no data yet: " + "x" * 39 + "~"
    assert v.short_error(TimeoutError()) == "TimeoutError"
    assert v.hhmm("2026-09-29T10:11:12Z") == "10:11"
    assert v.hhmm("2026-09-29") == "" and v.hhmm(None) == ""


def test_backoff_grows_and_is_capped(device):
    delays = [device.view.refresh_delay(n, 600) for n in range(7)]
    assert delays == [600, 15, 30, 60, 120, 240, 480]
    assert device.view.refresh_delay(50, 600) == 600


def test_etags(device):
    v = device.view
    assert v.same_etag("abc", '"abc"') and v.same_etag('W/"abc"', "abc")
    assert not v.same_etag("abc", "abd") and not v.same_etag(None, None)
    assert v.quoted_etag("abc") == '"abc"' and v.quoted_etag('"abc"') == '"abc"'
