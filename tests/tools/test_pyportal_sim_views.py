"""The unmodified device app with ``VIEW`` set, in the simulator: code.py picks the views."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from PIL import Image

from testing.fake_mars_api import API_KEY, MarsServer

HIGH, LOW = (255, 142, 66), (90, 170, 231)  # views.HIGH / views.LOW through RGB565


@pytest.fixture
def server():
    with MarsServer(payload="history") as s:
        yield s


@pytest.mark.parametrize("size", ["320x240", "480x320"])
def test_weather_view_in_the_simulator(server, tmp_path, size):
    settings = tmp_path / "settings.toml"
    settings.write_text('VIEW = "weather"\n')
    out = tmp_path / "screen.png"
    done = subprocess.run([sys.executable, "-m", "tools.pyportal_sim", "--api", server.url,
                           "--api-key", API_KEY, "--out", str(out), "--once", "--size", size,
                           "--settings", str(settings)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "fetch: ok" in done.stdout
    assert [p for p, _ in server.requests] == ["/mars"]  # the chart needs no bitmap
    assert server.queries[0].endswith("&history=30&photos=0")
    seen = Counter(Image.open(out).convert("RGB").get_flattened_data())
    assert seen[HIGH] > 300 and seen[LOW] > 100  # today's values, the lines


def test_view_option_and_a_picture_without_the_diagnostics(tmp_path):
    """--view photo: the one picture of --once is the Photo view as a user sees it once the
    diagnostics (10 s after the first refresh) are put away: photo, caption and strip."""
    out = tmp_path / "screen.png"
    with MarsServer(payload="history") as server:
        done = subprocess.run([sys.executable, "-m", "tools.pyportal_sim", "--api", server.url,
                               "--api-key", API_KEY, "--out", str(out), "--once",
                               "--view", "photo"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert server.queries[0].endswith("&history=0&photos=0")
    image = Image.open(out).convert("RGB")
    assert len(set(image.crop((0, 20, 320, 150)).get_flattened_data())) > 50  # the photo
    strip = Counter(image.crop((0, 224, 320, 240)).get_flattened_data())
    assert strip[(0, 0, 0)] > 2000 and strip[(255, 255, 255)] > 50  # the weather strip
