"""The simulator fails where a real PyPortal would, and the app copes (issue #10's findings).

Each test runs the unmodified app in the simulator (a child process: one display per process)
against the local Mars API, with the board's firmware modules and ESP32 modelled in
``tools/pyportal_sim/firmware.py`` and ``esp32.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from testing.fake_mars_api import API_KEY, MarsServer
from tools.pyportal_sim.firmware import FIRMWARES

pytestmark = pytest.mark.slow  # whole simulated boards on modelled links

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server():
    with MarsServer() as s:
        yield s


def sim(api, drive, *args, timeout=90):
    done = subprocess.run([sys.executable, "-m", "tools.pyportal_sim", "--api", api,
                           "--api-key", API_KEY, "--out", str(drive.parent / "screen.png"),
                           "--drive", str(drive), *args],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def summary(out):
    m = re.search(r"watchdog longest gap ([\d.]+) s, (\d+) resets, (\d+) ESP32 sockets", out)
    return float(m.group(1)), int(m.group(2)), int(m.group(3))


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory):
    """Two refreshes of a board upgraded in place: a drive without sd/ (the firmware makes it
    only when it formats the drive). Returns the drive and the serial log; the frames are
    ``screen-001.png`` and ``screen-002.png`` beside the drive."""
    drive = tmp_path_factory.mktemp("upgraded") / "CIRCUITPY"
    drive.mkdir()
    with MarsServer() as server:
        return drive, sim(server.url, drive, "--frames", "2", "--keep-frames")


def test_sd_card_used_after_an_upgrade_without_sd_folder(upgraded):
    drive, out = upgraded
    assert "storage: SD card" in out
    assert (drive / "sd").is_dir() and (drive / "sd" / "mars.etag").exists()


def test_mount_on_a_missing_folder_is_refused_like_the_board(tmp_path):
    from tools.pyportal_sim import firmware

    board = firmware.Board(tmp_path, sd_card=True, clock=firmware.Clock(fast=True))
    storage = firmware._storage(board)
    with pytest.raises(RuntimeError, match="Mount point directory missing"):
        storage.mount(storage.VfsFat(None), "/sd")
    (tmp_path / "sd").mkdir()
    storage.mount(storage.VfsFat(None), "/sd")


def test_sd_card_needs_the_esp32_deselected_first(tmp_path):
    from tools.pyportal_sim import firmware

    board = firmware.Board(tmp_path, sd_card=True, clock=firmware.Clock(fast=True))
    sdcardio = firmware._sdcardio(board)
    with pytest.raises(OSError, match="no SD card"):
        sdcardio.SDCard("SPI", board.pins["SD_CS"])
    firmware.DigitalInOut(board.pins["ESP_CS"]).switch_to_output(value=True)
    sdcardio.SDCard("SPI", board.pins["SD_CS"])


@pytest.mark.parametrize("firmware", sorted(FIRMWARES))
@pytest.mark.parametrize("stall", ["before", "headers"])
def test_a_stalled_response_does_not_freeze_the_app(server, tmp_path, firmware, stall):
    """The first answer stalls longer than every timeout; a photo is back within two
    refreshes, with no power cycle and no socket left taken."""
    server.stall = stall
    out = sim(server.url, tmp_path / "CIRCUITPY", "--frames", "2", "--firmware", firmware)
    # (requests 4.1.9+ retries a late first byte itself: the first refresh may succeed)
    assert "already connected" not in out
    assert re.search(r"photo: sd/mars\d\.bmp", out)
    assert server.paths()[:3] == ["/mars", "/mars", "/mars/image/photo-1.bmp"]
    assert summary(out)[1] == 0  # no reset


def test_slow_link_with_tls_never_starves_the_watchdog(server, tmp_path):
    """Weak Wi-Fi: 4 s DNS, 6 s TLS handshakes, 16 KB/s. The app feeds the watchdog around
    every socket call, so the board is never reset mid-refresh."""
    server.public_url = "https://mars.test"
    out = sim("https://mars.test", tmp_path / "CIRCUITPY", "--frames", "2", "--slow-link",
              "--resolve", f"mars.test=127.0.0.1:{server.port}")
    gap, resets, _ = summary(out)
    assert resets == 0 and 0 < gap < 16
    assert re.search(r"photo: sd/mars\d\.bmp", out)


def test_watchdog_resets_a_board_that_stops_feeding_it(tmp_path):
    from tools.pyportal_sim import firmware

    clock = firmware.Clock(fast=True)
    board = firmware.Board(tmp_path, sd_card=False, clock=clock)
    board.watchdog.timeout = 16
    board.watchdog.mode = "RESET"
    clock.advance(15)
    board.watchdog.feed()
    with pytest.raises(firmware.BoardReset, match="watchdog"):
        clock.advance(16.5)
    with pytest.raises(ValueError):
        board.watchdog.timeout = 17  # the SAMD51's limit


def test_diagnostics_one_line_each(upgraded):
    _, out = upgraded
    diag = [line for line in out.splitlines() if line.startswith("diag: ")]
    assert [line.split()[1] for line in diag] == [
        "firmware", "board", "esp32", "free", "storage", "wifi", "api"]
    assert "diag: esp32 firmware 1.7.7" in diag
    assert "diag: wifi simulator signal -58 dBm (good)" in diag
    assert re.match(r"diag: api HTTP 200 in \d+ ms", diag[-1])


def scenario(name, server, tmp_path):
    """Run :mod:`testing.pyportal_scenarios` ``name``; returns (serial log, result)."""
    done = subprocess.run([sys.executable, "-m", "testing.pyportal_scenarios", name,
                           server.url, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout, json.loads((tmp_path / "result.json").read_text())


def test_an_error_outside_the_refresh_loop_reloads_the_app(server, tmp_path):
    """Finding 5: out of memory in the touchscreen driver, between refreshes. The board must
    not stop: code.py says why, waits 10 s and reloads; the app starts again (not boot.py)."""
    out, result = scenario("crash_once", server, tmp_path)
    assert result["code"] == 0, out
    assert result["resets"] == ["supervisor.reload()"]
    assert "mars: stopped by MemoryError: memory allocation failed, allocating 512 bytes; " \
           "restarting in 10 s" in out
    assert out.count("mars: 320x240") == 2 and out.count("boot: ") == 1
    first, second = result["frames"]
    assert second["lines"][0] == first["lines"][0] != ""  # the weather is back after the reload
    assert re.findall(r"^fetch: \w+", out, re.M) == ["fetch: ok", "fetch: ok"]


def test_board_clock_loses_precision_with_uptime():
    from tools.pyportal_sim.firmware import board_monotonic

    assert board_monotonic(3600.123) == pytest.approx(3600.123, abs=0.0003)
    days_50 = 50 * 86400
    assert board_monotonic(days_50 + 1.5) - board_monotonic(days_50) == 0  # 2 s steps
    assert board_monotonic(days_50 + 2.1) - board_monotonic(days_50) == 2


def test_a_tap_after_50_days_of_uptime_is_still_a_tap(server, tmp_path):
    """Finding 5: the app times taps in integer milliseconds (``time.monotonic_ns``). With the
    board's float ``time.monotonic()`` a 0.4 s tap across one of its 2 s steps would be a long
    press: diagnostics instead of °F."""
    out, result = scenario("tap_at_50_days", server, tmp_path)
    assert result["code"] == 0, out
    first, second = result["frames"]
    assert first["uptime"] > 50 * 86400
    assert "°C" in first["lines"][1] and "°F" in second["lines"][1]
    assert out.count("diag: board") == 1  # only the start's, no long press


def test_diagnostics_on_screen_at_start_until_the_photo(upgraded):
    """After the first refresh the screen shows the diag lines over the photo (white on the
    panel colour); ten minutes later, the photo."""
    drive, out = upgraded
    first, second = (Image.open(drive.parent / f"screen-00{n}.png").convert("RGB")
                     for n in (1, 2))
    over_photo = (0, 0, 320, 150)  # above the weather panel
    shown = Counter(first.crop(over_photo).get_flattened_data())
    assert len(shown) == 2 and shown[(255, 255, 255)] > 7 * 60  # panel colour, 7 text lines
    assert len(set(second.crop(over_photo).get_flattened_data())) > 50  # the photo
    assert out.count("diag: board") == 1  # the serial console: once, when complete
