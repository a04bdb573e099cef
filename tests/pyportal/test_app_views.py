"""The app with the Photo, Weather and Gallery views (``VIEW``) against a real local API:
what each view asks for, taps, and the gallery with an SD card, on the flash, and with no
storage at all."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from testing.fake_mars_api import MarsServer
from testing.pyportal_device import DIAG, rgb565


@pytest.fixture
def history_server():
    with MarsServer(payload="history") as s:
        yield s


@pytest.fixture
def make_views_app(make_app):
    # a generous timeout: the machine running the tests may be busy
    return lambda url, **settings: make_app(url, timeout=10, **settings)


def test_weather_view_asks_for_history_and_downloads_no_bitmap(make_views_app,
                                                               history_server):
    app = make_views_app(history_server.url, VIEW="weather")
    app.refresh()
    assert history_server.paths() == ["/mars"]  # no image request at all
    assert history_server.queries[0].endswith("&depth=8&history=30&photos=0")
    assert app.screen.current == "weather" and not app.screen.view.hidden
    assert app.screen.view.drawn["high"]  # the chart is drawn
    assert app.screen.view.today.text == "-71/-5°C"
    assert app.screen.status.hidden  # all well: no status line over the chart
    app.on_tap(10, 200)  # lower third: units
    assert app.screen.view.today.text == "-96/23°F"
    assert app.on_tap(10, 20) == "next" and app.screen.current == "gallery"
    assert app.next_at == 0  # the gallery's photos are fetched right away
    assert [layer for layer in app.screen if hasattr(layer, "canvas")] == []  # chart let go


def test_photo_view_strip_and_tap(make_views_app, history_server):
    app = make_views_app(history_server.url, VIEW="photo")
    app.refresh()
    assert history_server.paths() == ["/mars", "/mars/image/photo-1.bmp"]
    assert history_server.queries[0] == "width=320&height=240&depth=8&history=0&photos=0"
    photo = app.screen.view
    assert photo.has_photo and not photo.strip.hidden
    assert photo.line.text.startswith("-71/-5°C  777 Pa  Sol 4995")
    app.on_tap(100, 230)
    assert photo.strip.hidden
    app.on_tap(100, 230)
    assert not photo.strip.hidden


def _gallery_round(app, server, count):
    names = []
    for _ in range(count):
        names.append(app.screen.view.place.text)
        app.advance()
    return names


def test_gallery_with_an_sd_card_keeps_every_photo(make_views_app, history_server, tmp_path):
    app = make_views_app(history_server.url, VIEW="gallery")
    app.refresh()
    # several photos kept: 16 colours each (half the bytes), though the card is there
    assert history_server.queries[0] == "width=320&height=240&depth=4&history=0&photos=6"
    gallery = app.screen.view
    assert gallery.has_photo and gallery.place.text == "1/3"
    assert gallery.caption.text.startswith("Perseverance")
    first_round = _gallery_round(app, history_server, 3)
    assert first_round == ["1/3", "2/3", "3/3"]
    images = [p for p in history_server.paths() if p.startswith("/mars/image/")]
    assert images == [f"/mars/image/gallery-{k}.d4.bmp" for k in (1, 2, 3)]
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
    assert app.screen.view.has_photo


def test_gallery_without_storage_shows_captions_only(make_views_app, history_server):
    app = make_views_app(history_server.url, VIEW="gallery", storage="none")
    app.refresh()
    assert history_server.paths() == ["/mars"]
    assert not app.screen.view.has_photo
    assert app.screen.view.place.text == "1/3"
    app.advance()
    assert app.screen.view.place.text == "2/3"


def test_gallery_turns_by_itself_while_waiting(device, make_views_app, history_server):
    app = make_views_app(history_server.url, VIEW="gallery", GALLERY_SECONDS=5)
    app.refresh()
    now_ms = device.net.now_ms
    app.next_slide_at = 0  # the slide's time is up
    app.next_at = now_ms() + 300
    app.wait()
    assert app.screen.view.place.text == "2/3"
    assert app.next_slide_at > now_ms() + 4000


@pytest.mark.parametrize(("name", "value", "words"), [
    ("VIEW", "slideshow", "must be classic, photo, weather or gallery"),
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


@pytest.mark.parametrize("name", ["photo", "weather", "gallery"])
def test_diagnostics_go_over_the_configured_view(device, displays, make_views_app,
                                                 history_server, name):
    """The diag lines have their own panel over the top of the view shown; the view stays
    (and so does its bottom), and is whole again when they go."""
    app = make_views_app(history_server.url, VIEW=name)
    app.refresh()
    before = displays.current.snapshot()
    app.show_diagnostics(DIAG)
    assert app.screen.current == name and app.screen.showing_diagnostics
    image = displays.current.snapshot()
    top = app.screen.diagnostics_bottom
    over = Counter(image.crop((0, 0, 320, top)).get_flattened_data())
    assert set(over) == {rgb565(device.widgets.PANEL), (255, 255, 255)}
    assert over[(255, 255, 255)] > 7 * 60  # seven legible lines
    assert image.crop((0, top, 320, 240)).tobytes() == before.crop((0, top, 320, 240)).tobytes()
    app.on_tap(160, 40)  # a tap on them puts them away, and does nothing else
    assert app.screen.current == name and not app.screen.showing_diagnostics
    assert displays.current.snapshot().tobytes() == before.tobytes()


def bits_per_pixel(path) -> int:
    return int.from_bytes(path.read_bytes()[28:30], "little")


@pytest.mark.parametrize(("storage", "settings", "depth"), [
    # with an SD card and DEPTH unset, 8 (256 colours): test_photo_view_strip_and_tap
    ("flash", {}, 4),  # the flash holds little: 16 colours, half the bytes
    ("sd", {"DEPTH": "4"}, 4),
    ("flash", {"DEPTH": "8"}, 8),
])
def test_photo_depth_follows_the_storage_unless_set(make_views_app, history_server, tmp_path,
                                                    storage, settings, depth):
    app = make_views_app(history_server.url, VIEW="photo", storage=storage, **settings)
    app.refresh()
    assert history_server.queries[0].startswith(f"width=320&height=240&depth={depth}&")
    shown = tmp_path / f"mars{app.slot}.bmp"
    assert app.screen.view.has_photo and bits_per_pixel(shown) == depth
    assert shown.stat().st_size == {4: 38518, 8: len(history_server.image_bytes(320, 240))}[
        depth]


def test_gallery_depth_is_set_by_depth_too(make_views_app, history_server):
    app = make_views_app(history_server.url, VIEW="gallery", DEPTH="8")
    app.refresh()
    assert history_server.queries[0] == "width=320&height=240&depth=8&history=0&photos=6"
    assert history_server.paths("/mars/image") == ["/mars/image/gallery-1.bmp"]


def test_an_api_from_before_depth_4_is_asked_for_8(make_views_app, history_server):
    """An API that answers depth=4 with 400 (one deployed before it) gets the 8-bit photo
    asked for at once, and from then on: the board updated first still shows photos."""
    history_server.depths = (8, 16)
    lines = []
    app = make_views_app(history_server.url, VIEW="gallery", log=lines.append)
    app.refresh()
    assert [q.split("&")[2] for q in history_server.queries[:2]] == ["depth=4", "depth=8"]
    assert app.failures == 0 and app.screen.view.has_photo
    assert "fetch: the API refused depth 4; asking for 8" in lines
    app.refresh()
    assert history_server.queries[-1].split("&")[2] == "depth=8"  # no second refusal
