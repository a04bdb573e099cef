"""The simulator command: the unmodified device app in a child process, PNGs out."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from testing.fake_mars_api import API_KEY, MarsServer
from tools.stack.component import StackContext
from tools.stack.components.pyportal import PyPortalComponent

pytestmark = pytest.mark.slow  # simulator processes on a modelled ESP32 link

PANEL = (33, 32, 66)  # 0x202040 through RGB565


@pytest.fixture
def server():
    with MarsServer() as s:
        yield s


def sim(server_url, out, *args, key=API_KEY, timeout=60):
    return subprocess.run([sys.executable, "-m", "tools.pyportal_sim", "--api", server_url,
                           "--api-key", key, "--out", str(out), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_frames(server, tmp_path):
    out = tmp_path / "screen.png"
    done = sim(server.url, out, "--frames", "2", "--keep-frames")
    assert done.returncode == 0, done.stderr
    assert [p for p, _ in server.requests] == ["/mars", "/mars/image/photo-1.bmp", "/mars"]
    first = Image.open(tmp_path / "screen-001.png")
    assert first.size == (320, 240) and first.getpixel((2, 238)) == PANEL
    assert Image.open(out).tobytes() == Image.open(tmp_path / "screen-002.png").tobytes()
    assert "fetch: ok" in done.stdout
    assert (tmp_path / "pyportal-drive" / "sd" / "mars.etag").exists()  # the drive's SD card


def test_titano(server, tmp_path):
    out = tmp_path / "titano.png"
    done = sim(server.url, out, "--once", "--size", "480x320")
    assert done.returncode == 0, done.stderr
    assert Image.open(out).size == (480, 320)
    assert server._last_size == (480, 320)  # the app asked for its own screen size


def test_settings_error_is_shown(server, tmp_path):
    out = tmp_path / "screen.png"
    done = sim(server.url, out, "--once", key="")
    assert done.returncode == 0, done.stderr
    assert "settings: MARS_API_KEY is empty: set it in settings.toml" in done.stdout
    assert server.requests == []
    image = Image.open(out).convert("RGB")
    assert (255, 97, 99) in set(image.crop((0, 220, 320, 240)).get_flattened_data())  # red


def test_sigterm_stops_cleanly(server, tmp_path):
    out = tmp_path / "screen.png"
    child = subprocess.Popen([sys.executable, "-m", "tools.pyportal_sim", "--api", server.url,
                              "--api-key", API_KEY, "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert out.exists()
        child.send_signal(signal.SIGTERM)
        assert child.wait(10) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_stack_component(server, tmp_path):
    ctx = StackContext(host="127.0.0.1", port=server.port, mqtt_port=0, data_dir=tmp_path,
                       api_key=API_KEY, robot_token="unused", mqtt_url="",
                       env=dict(os.environ))
    component = PyPortalComponent()
    assert component.urls(ctx) == [("PyPortal screen", str(tmp_path / "pyportal.png"))]

    async def run():
        await component.start(ctx)
        deadline = time.monotonic() + 30
        while not (tmp_path / "pyportal.png").exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        health = component.health()
        await component.stop()
        return health

    health = asyncio.run(run())
    assert health == {"up": True, "png": str(tmp_path / "pyportal.png"), "has_frame": True}
    assert component.child.process.returncode == 0
    assert server.paths()[:2] == ["/mars", "/mars/image/photo-1.bmp"]


def test_settings_file_values_win_over_the_defaults(tmp_path):
    """Only options given on the command line override --settings (the defaults do not)."""
    from tools.pyportal_sim.__main__ import parse_args, settings_of

    toml = tmp_path / "settings.toml"
    toml.write_text('UNITS = "F"\nREFRESH_MINUTES = 3\nVIEW = "weather"\nDEPTH = 8\n')
    base = ["--api", "http://api.test", "--api-key", "k", "--settings", str(toml)]
    kept = settings_of(parse_args(base))
    assert (kept["UNITS"], kept["REFRESH_MINUTES"], kept["VIEW"], kept["DEPTH"]) == (
        "F", "3", "weather", "8")
    given = settings_of(parse_args([*base, "--units", "C", "--view", "photo",
                                    "--refresh-minutes", "5", "--depth", "4"]))
    assert (given["UNITS"], given["REFRESH_MINUTES"], given["VIEW"], given["DEPTH"]) == (
        "C", "5", "photo", "4")
    plain = settings_of(parse_args(base[:4]))
    assert (plain["UNITS"], plain["REFRESH_MINUTES"], plain.get("VIEW"),
            plain.get("DEPTH")) == ("C", "10", None, None)
