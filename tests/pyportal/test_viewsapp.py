"""The app with its three views against a real local API: what each view asks for, taps,
and the gallery with an SD card, on the flash, and with no storage at all."""

from __future__ import annotations

import os

import pytest

from testing.fake_mars_api import API_KEY, MarsServer
from testing.pyportal_device import Touch


@pytest.fixture
def history_server():
    with MarsServer(payload="history") as s:
        yield s


@pytest.fixture
def make_views_app(device, displays, tmp_path):
    views, viewsapp = device.views, device.viewsapp

    def make(url, size=(320, 240), storage="sd", **settings):
        displays.get(*size)
        device.board.TOUCH = Touch()
        hw = device.hardware.Hardware(log=lambda line: None)
        hw.storage, hw.storage_note = {
            "sd": (str(tmp_path), "SD card"),
            "flash": (str(tmp_path), "flash (made writable by boot.py)"),
            "none": (None, "no SD card; see README: flash")}[storage]
        root = views.Views(hw.width, hw.height)
        hw.display.root_group = root
        values = {"CIRCUITPY_WIFI_SSID": "test", "MARS_API_URL": url, "MARS_API_KEY": API_KEY,
                  **settings}
        cfg = device.settings.load(getenv=lambda k, d=None: values.get(k, d))
        # a generous timeout: the machine running the tests may be busy
        return viewsapp.ViewsApp(hw, root, cfg, log=lambda line: None, timeout=10)

    return make


def test_weather_view_asks_for_history_and_downloads_no_bitmap(make_views_app,
                                                               history_server):
    app = make_views_app(history_server.url, VIEW="weather")
    app.refresh()
    assert history_server.paths() == ["/mars"]  # no image request at all
    assert history_server.queries[0].endswith("&depth=8&history=30&photos=0")
    assert app.screen.current == "weather" and not app.screen.weather.hidden
    assert app.screen.weather.drawn["high"]  # the chart is drawn
    assert app.screen.weather.today.text == "-71/-5°C"
    assert app.screen.status.hidden  # all well: no status line over the chart
    app.on_tap(10, 200)  # lower third: units
    assert app.screen.weather.today.text == "-96/23°F"
    assert app.on_tap(10, 20) == "next" and app.screen.current == "gallery"
    assert app.next_at == 0  # the gallery's photos are fetched right away


def test_photo_view_strip_and_tap(make_views_app, history_server):
    app = make_views_app(history_server.url, VIEW="photo")
    app.refresh()
    assert history_server.paths() == ["/mars", "/mars/image/photo-1.bmp"]
    assert history_server.queries[0].endswith("&history=0&photos=0")
    photo = app.screen.photo
    assert photo.has_photo and not photo.strip.hidden
    assert photo.line.text.startswith("-71/-5°C  777 Pa  Sol 4995")
    app.on_tap(100, 230)
    assert photo.strip.hidden
    app.on_tap(100, 230)
    assert not photo.strip.hidden


def _gallery_round(app, server, count):
    names = []
    for _ in range(count):
        names.append(app.screen.gallery.place.text)
        app.advance()
    return names


def test_gallery_with_an_sd_card_keeps_every_photo(make_views_app, history_server, tmp_path):
    app = make_views_app(history_server.url, VIEW="gallery")
    app.refresh()
    assert history_server.queries[0].endswith("&history=0&photos=6")
    gallery = app.screen.gallery
    assert gallery.has_photo and gallery.place.text == "1/3"
    assert gallery.caption.text.startswith("Perseverance")
    first_round = _gallery_round(app, history_server, 3)
    assert first_round == ["1/3", "2/3", "3/3"]
    images = [p for p in history_server.paths() if p.startswith("/mars/image/")]
    assert images == [f"/mars/image/gallery-{k}.bmp" for k in (1, 2, 3)]
    before = len(history_server.requests)
    _gallery_round(app, history_server, 3)  # the second round is read from the card
    assert len(history_server.requests) == before
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("gal")) == [
        "gal0.bmp", "gal1.bmp", "gal2.bmp"]


def test_gallery_on_the_flash_downloads_one_at_a_time(make_views_app, history_server,
                                                      tmp_path):
    app = make_views_app(history_server.url, VIEW="gallery", storage="flash")
    app.refresh()
    _gallery_round(app, history_server, 6)
    images = [p for p in history_server.paths() if p.startswith("/mars/image/")]
    # two files take turns: 7 slides of 3 photos cost 6 downloads (the only reuse: the
    # 5th slide finds photo 2 still in the file the 2nd slide left it in), not 3
    assert [p.split("-")[1][0] for p in images] == ["1", "2", "3", "1", "3", "1"]
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("gal")) == [
        "gal0.bmp", "gal1.bmp"]
    assert app.screen.gallery.has_photo


def test_gallery_without_storage_shows_captions_only(make_views_app, history_server):
    app = make_views_app(history_server.url, VIEW="gallery", storage="none")
    app.refresh()
    assert history_server.paths() == ["/mars"]
    assert not app.screen.gallery.has_photo
    assert app.screen.gallery.place.text == "1/3"
    app.advance()
    assert app.screen.gallery.place.text == "2/3"


def test_gallery_turns_by_itself_while_waiting(device, make_views_app, history_server):
    app = make_views_app(history_server.url, VIEW="gallery", GALLERY_SECONDS=5)
    app.refresh()
    now_ms = device.net.now_ms
    app.next_slide_at = 0  # the slide's time is up
    app.next_at = now_ms() + 300
    app.wait()
    assert app.screen.gallery.place.text == "2/3"
    assert app.next_slide_at > now_ms() + 4000


@pytest.mark.parametrize(("name", "value", "words"), [
    ("VIEW", "slideshow", "must be photo, weather or gallery"),
    ("GALLERY_SECONDS", "2", "between 5 and 3600"),
    ("GALLERY_SECONDS", "soon", "whole number of seconds")])
def test_bad_view_settings_are_named(device, name, value, words):
    values = {"CIRCUITPY_WIFI_SSID": "x", "MARS_API_URL": "http://h", "MARS_API_KEY": "k",
              name: value}
    with pytest.raises(device.errors.SettingError) as caught:
        device.settings.load(getenv=lambda k, d=None: values.get(k, d))
    assert caught.value.name == name and words in str(caught.value)


def test_view_settings_defaults(device):
    values = {"CIRCUITPY_WIFI_SSID": "x", "MARS_API_URL": "http://h", "MARS_API_KEY": "k"}
    cfg = device.settings.load(getenv=lambda k, d=None: values.get(k, d))
    assert (cfg.view, cfg.gallery_seconds) == (None, 30)  # the classic screen
    values["VIEW"] = " Weather "
    cfg = device.settings.load(getenv=lambda k, d=None: values.get(k, d))
    assert cfg.view == "weather"
