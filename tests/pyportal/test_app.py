"""The app's behaviour over refreshes, against a real local API: it never stops, it never
throws away a good screen, and it asks for a photo only when there is a new one."""

from __future__ import annotations

import gc
import itertools
import random
import time

import pytest

pytestmark = pytest.mark.slow  # the app against a live server


def due_s(app):
    """Seconds until the app's next refresh (it keeps milliseconds of uptime)."""
    return (app.next_at - time.monotonic_ns() // 1_000_000) / 1000


def paths(server):
    return [p.rsplit("/", 1)[-1] for p, _ in server.requests]


def test_first_refresh_shows_weather_and_photo(make_app, server):
    app = make_app(server.url)
    app.refresh()
    assert paths(server) == ["mars", "photo-1.bmp"]
    assert app.screen.view.has_photo and app.etag == "photo-1"
    assert app.screen.view.status.text == "updated 08:15 UTC"
    assert app.screen.view.lines[1].text == "-71°C to -5°C"
    assert app.screen.view.caption.text == "Perseverance NAVCAM_LEFT sol 1994"
    assert app.failures == 0 and 540 - 5 <= due_s(app) <= 660  # 10 min, give or take a tenth


def test_the_classic_screen_asks_only_for_what_it_shows(make_app, server):
    """No history and no photo list: it shows neither (the API's default is 30 sols and 6
    photos, ~7 KB of JSON parsed on every refresh)."""
    app = make_app(server.url)
    app.refresh()
    assert server.queries[0] == "width=320&height=240&depth=8&history=0&photos=0"


def test_unchanged_photo_costs_one_request(make_app, server):
    app = make_app(server.url)
    app.refresh()
    app.refresh()
    assert paths(server) == ["mars", "photo-1.bmp", "mars"]
    server.image_id = "photo-2"
    app.refresh()
    assert paths(server)[3:] == ["mars", "photo-2.bmp"]
    assert server.requests[-1][1]["if-none-match"] == '"photo-1"'
    assert app.etag == "photo-2"


def test_recovers_when_the_server_comes_back(make_app, server):
    lines = []
    app = make_app(server.url, log=lines.append)
    app.refresh()
    server.stop()
    app.refresh()
    assert app.failures == 1
    assert app.screen.view.status.text.startswith("stale since 08:15: ")
    assert app.screen.view.has_photo  # the last good screen stays
    assert 7.5 - 2 <= due_s(app) <= 15  # backoff (half of 15 s to all of it), not 10 min
    app.refresh()
    assert 15 - 2 <= due_s(app) <= 30
    server.start()  # same port
    app.refresh()
    assert app.failures == 0 and app.screen.view.status.text == "updated 08:15 UTC"
    assert any(line.startswith("fetch: failed (2)") for line in lines)


@pytest.mark.parametrize("mode", ["500", "403", "badjson"])
def test_server_errors_keep_the_screen(make_app, server, mode):
    app = make_app(server.url)
    app.refresh()
    server.mode = mode
    app.refresh()
    assert app.screen.view.has_photo
    assert app.screen.view.lines[0].text == "Sol 4995, 94 sols ago  2026-08-25"
    assert app.screen.view.status.text.startswith("stale since 08:15: ")


def test_error_before_any_data(make_app, server):
    server.mode = "500"
    app = make_app(server.url)
    app.refresh()
    assert app.screen.view.status.text == "no data yet: HTTP 500 internal"
    assert not app.screen.view.has_photo


def test_rejected_photo_keeps_the_last_good_one(device, make_app, server, tmp_path):
    app = make_app(server.url)
    app.refresh()
    shown = tmp_path / f"mars{app.slot}.bmp"
    good = shown.read_bytes()
    for mode in ("rle", "truncated", "wrongsize"):
        server.image_id, server.image_mode = f"photo-{mode}", mode
        app.refresh()
        assert app.etag == "photo-1" and shown.read_bytes() == good
        assert ", photo: " in app.screen.view.status.text
    assert app.failures == 0  # the weather still arrived


def test_radio_reset_after_repeated_failures(device, make_app, server):
    class CountingHardware(device.hardware.Hardware):
        resets = 0

        def reset_radio(self):
            CountingHardware.resets += 1

    app = make_app(server.url, hw_class=CountingHardware)
    server.stop()
    for _ in range(6):
        app.refresh()
    assert CountingHardware.resets == 2
    assert app.screen.view.status.text.startswith("no data yet: ")


def test_memory_error_collects_then_reloads(make_app, server):
    class Starved:
        requests = bytes = 0

        def fetch(self, *args):
            raise MemoryError

    app = make_app(server.url)
    app.net = Starved()
    app.refresh()
    assert app.screen.view.status.text == "no data yet: out of memory"
    with pytest.raises(SystemExit):  # supervisor.reload() on the board
        app.refresh()


def test_restart_shows_the_kept_photo(make_app, server):
    first = make_app(server.url)
    first.refresh()
    again = make_app(server.url)
    assert again.screen.view.has_photo and again.etag == "photo-1"
    again.refresh()
    assert paths(server) == ["mars", "photo-1.bmp", "mars"]


def test_without_storage_weather_only(make_app, server):
    app = make_app(server.url)
    app.hw.storage, app.hw.storage_note = None, "no SD card; see README: flash"
    app.refresh()
    assert paths(server) == ["mars"]
    assert app.screen.view.status.text == "updated 08:15 UTC, no SD card; see README: flash"


class Taps:
    """A touchscreen pressed at ``point`` for ``reads`` polls."""

    def __init__(self, point, reads=2):
        self.point, self.reads = point, reads

    @property
    def touch_point(self):
        self.reads -= 1
        return (*self.point, 20000) if self.reads >= 0 else None


def test_tap_on_panel_toggles_units(device, make_app, server):
    app = make_app(server.url)
    app.refresh()
    app.hw._touch = Taps((100, 230))
    app.next_at = time.monotonic_ns() // 1_000_000 + 300
    app.wait()
    assert app.units == "F" and app.screen.view.lines[1].text == "-96°F to 23°F"


def test_tap_on_photo_refreshes_now(device, make_app, server):
    app = make_app(server.url)
    app.refresh()
    app.hw._touch = Taps((100, 50))
    start = time.monotonic()
    app.wait()
    assert time.monotonic() - start < 2 and app.units == "C"


def wait_ms(app, ms):
    app.next_at = time.monotonic_ns() // 1_000_000 + ms
    app.wait()


def test_diagnostics_stay_their_time_and_until_a_photo_is_up(make_app, server):
    server.mode = "500"
    app = make_app(server.url)
    app.diagnostics_ms = 100
    app.refresh()  # failed: no photo
    app.show_diagnostics(["diag: api failed: HTTP 500 internal"])
    wait_ms(app, 300)
    assert app.screen.showing_diagnostics  # still what the maker needs to see
    server.mode = "ok"
    app.refresh()
    assert app.screen.view.has_photo and app.screen.showing_diagnostics
    wait_ms(app, 300)
    assert not app.screen.showing_diagnostics


def test_a_tap_on_the_diagnostics_puts_them_away_and_does_nothing_else(make_app, server):
    app = make_app(server.url)
    app.refresh()
    app.show_diagnostics(["diag: board pyportal"])
    app.hw._touch = Taps((100, 50))  # over the photo: would refresh now
    wait_ms(app, 300)
    assert not app.screen.showing_diagnostics and app.next_at != 0
    app.show_diagnostics(["diag: board pyportal"])
    app.hw._touch = Taps((100, 230))  # the panel still switches the units
    wait_ms(app, 300)
    assert app.units == "F" and app.screen.showing_diagnostics


class Chip:
    """An ESP32 through adafruit_esp32spi 8.0 and later, counting its commands; ``hang``:
    each command raises as the library does after its 10 s wait."""

    commands = 0

    def __init__(self, hang=False):
        self.hang = hang

    def _command(self, answer):
        Chip.commands += 1
        if self.hang:
            raise TimeoutError("ESP32 not responding")
        return answer

    @property
    def firmware_version(self):
        return self._command("3.3.0")

    @property
    def ap_info(self):
        return self._command(Network(self))


class Network:
    """adafruit_esp32spi's Network: each property is one more command."""

    def __init__(self, chip):
        self._chip = chip

    @property
    def ssid(self):
        return self._chip._command("home")

    @property
    def rssi(self):
        return self._chip._command(-58)


def test_diagnostics_ask_a_hung_esp32_once_feeding_the_watchdog(device, displays):
    """Each command to a hung ESP32 waits 10 s: the watchdog (16 s) is fed between them, and
    after a timeout no more are sent, then or later."""
    displays.get()
    hw = device.hardware.Hardware(log=lambda line: None)
    fed = []
    hw.feed = lambda: fed.append(Chip.commands)
    Chip.commands = 0
    hw._esp = Chip()
    assert hw.radio_info() == ("3.3.0", "home", -58)
    assert sorted(set(fed)) == [0, 1, 2, 3, 4]  # a feed before and after every command
    hw._esp, Chip.commands = Chip(hang=True), 0
    assert hw.radio_info() == ("not responding", None, None)
    assert Chip.commands == 1
    assert hw.radio_info() == ("not responding", None, None)
    assert Chip.commands == 1  # not asked again


def refresh_times(device, monkeypatch, apps, until_s):
    """Run ``apps`` (boards powered on at once) on one virtual clock until ``until_s``:
    each refreshes when it is due. Returns each board's refresh times in seconds."""
    clock = [0]
    monkeypatch.setattr(device.app, "now_ms", lambda: clock[0])
    times: list[list[float]] = [[] for _ in apps]
    gc.freeze()  # the app collects after each refresh: only its own objects, as on the board
    try:
        while True:
            due = min(range(len(apps)), key=lambda i: apps[i].next_at)
            clock[0] = apps[due].next_at
            if clock[0] > until_s * 1000:
                return times
            apps[due].refresh()
            times[due].append(clock[0] / 1000)
    finally:
        gc.unfreeze()


def test_boards_powered_on_together_drift_apart(device, make_app, server, monkeypatch):
    """Four boards on one power strip: the API is down when they start, so they retry on
    the backoff, then refresh every 10 minutes. Each draws its own random share (the board
    seeds random from its hardware generator; here, a seed each): the retries spread at
    once, and then they do not stay in step. With a fixed wait all four ask within the same
    second at every refresh, for ever (18 times in the hour); here two may meet by chance,
    and part again at the next refresh."""
    server.mode = "500"
    apps = [make_app(server.url, storage="none", jitter=random.Random(seed).random)
            for seed in range(4)]
    for app in apps:
        app.next_at = 0
    down = refresh_times(device, monkeypatch, apps, until_s=30)
    retries = [t[1] for t in down]  # each board's first retry: 7.5 to 15 s after boot
    assert all(7.5 <= t <= 15 for t in retries) and len(set(retries)) == 4
    server.mode = "ok"
    times = refresh_times(device, monkeypatch, apps, until_s=3600)
    assert all(app.failures == 0 for app in apps)
    asks = sorted((t, board) for board in range(4) for t in times[board])
    close = [(a, b) for a, b in itertools.pairwise(asks) if b[0] - a[0] < 1 and a[1] != b[1]]
    assert len(close) <= 2, times
    for (t, i), (_, j) in close:  # a chance meeting does not last
        after = [next(u for u in times[k] if u > t + 1) for k in (i, j)]
        assert abs(after[0] - after[1]) >= 1, times
    periods = [b - a for t in times for a, b in itertools.pairwise(t[1:])]
    assert periods and all(540 <= p <= 660 for p in periods)  # 10 minutes, give or take
