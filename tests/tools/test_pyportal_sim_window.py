"""The simulator's window (pygame, SDL's dummy video driver) and its honest serial log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from testing.fake_mars_api import API_KEY, MarsServer
from testing.pyportal_scenarios import click
from tools.pyportal_sim.runner import StopSimulation

ROOT = Path(__file__).resolve().parents[2]
PANEL_TOP = 150  # screen.py at 320x240: 240 - (2 * 4 + 5 * 14 + 12)


@pytest.fixture
def server():
    with MarsServer() as s:
        yield s


@pytest.fixture
def pygame(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    yield pygame
    pygame.display.quit()


def headless_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "SDL_VIDEODRIVER": "dummy", **extra}



# -- the window on its own -----------------------------------------------------------------
def test_window_shows_the_image_pixel_for_pixel(pygame):
    from tools.pyportal_sim.window import open_window

    window = open_window((480, 320))
    assert window is not None
    assert pygame.display.get_surface().get_size() == (480, 320)
    image = Image.effect_mandelbrot((480, 320), (-2, -1.2, 1, 1.2), 50).convert("RGB")
    window.show(image)
    assert pygame.image.tobytes(pygame.display.get_surface(), "RGB") == image.tobytes()


def test_a_quick_click_is_one_touch_and_a_held_button_stays_pressed(pygame):
    from tools.pyportal_sim.window import open_window

    window = open_window((320, 240))
    click(pygame, (30, 200))  # pressed and released between two polls of the app
    assert window.touch_point == (30, 200, 1)
    assert window.touch_point is None
    click(pygame, (30, 200), button=3)  # only the left button touches
    assert window.touch_point is None
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(5, 6), button=1))
    assert window.touch_point == (5, 6, 1)
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(7, 8), rel=(2, 2),
                                         buttons=(1, 0, 0)))
    assert window.touch_point == (7, 8, 1)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(7, 8), button=1))
    assert window.touch_point is None


def test_closing_the_window_stops_the_simulation(pygame, capsys):
    from tools.pyportal_sim.window import open_window

    window = open_window((320, 240))
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    with pytest.raises(StopSimulation):
        window.poll()
    assert capsys.readouterr().out == "simulator: window closed\n"



def rgb(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


def test_window_follows_the_screen_and_clicks_are_touches(server, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from testing.pyportal_scenarios import "
         "window_session; window_session(*sys.argv[1:])", server.url, str(tmp_path)],
        cwd=ROOT, env=headless_env(), capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["code"] == 0 and result["frames"] == 3  # closed after the third frame
    assert "simulator: window closed" in done.stdout

    frame1, frame2 = rgb(tmp_path / "screen-001.png"), rgb(tmp_path / "screen-002.png")
    window1 = rgb(tmp_path / "window-1.png")
    assert window1.size == (320, 240)
    assert window1.tobytes() == frame1.tobytes()  # the window shows the saved PNG exactly

    # the click on the panel: the window changed at once, before any refresh, units only
    clocks = {int(k): v for k, v in result["clocks"].items()}
    soon = [rgb(tmp_path / f"shown-{k}.png") for k, (after, clock)
            in enumerate(result["shown"], 1) if after == 1 and clock - clocks[1] < 5]
    changed = [image for image in soon if image.tobytes() != frame1.tobytes()]
    assert changed, "the window did not change after the click on the panel"
    shown = changed[0]
    photo = (0, 0, 320, PANEL_TOP)
    assert shown.crop(photo).tobytes() == frame1.crop(photo).tobytes()
    # the next refresh keeps the new units (the start's diagnostics over the photo are gone)
    panel = (0, PANEL_TOP, 320, 240)
    assert shown.crop(panel).tobytes() == frame2.crop(panel).tobytes()
    assert clocks[2] - clocks[1] > 500  # frame 2 was the scheduled refresh (10 minutes)

    # the click on the photo: a refresh at once instead of ten minutes later
    assert clocks[3] - clocks[2] < 5
    assert server.paths().count("/mars") == 3
    assert server.paths().count("/mars/image/photo-1.bmp") == 1  # unchanged: not fetched again


def test_window_from_the_command_line(server, tmp_path):
    out = tmp_path / "screen.png"
    done = subprocess.run([sys.executable, "-m", "tools.pyportal_sim", "--api", server.url,
                           "--api-key", API_KEY, "--out", str(out), "--once", "--window"],
                          cwd=ROOT, env=headless_env(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "no window" not in done.stdout and "pygame" not in done.stdout
    assert Image.open(out).size == (320, 240)


def test_without_pygame_one_line_and_carry_on_headless(server, tmp_path):
    hide = tmp_path / "no-pygame"
    hide.mkdir()
    (hide / "pygame.py").write_text("raise ImportError('No module named pygame')\n")
    out = tmp_path / "screen.png"
    done = subprocess.run([sys.executable, "-m", "tools.pyportal_sim", "--api", server.url,
                           "--api-key", API_KEY, "--out", str(out), "--once", "--window"],
                          cwd=ROOT, env=headless_env(PYTHONPATH=str(hide)), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stdout.splitlines() if "window" in line]
    assert notes == ["simulator: no window: pygame is not installed (pip install pygame); "
                     "saving PNGs only"]
    assert Image.open(out).size == (320, 240)
    assert "fetch: ok" in done.stdout


# -- the serial log on a computer ----------------------------------------------------------
def test_log_says_free_memory_is_unknown_on_a_computer(server, tmp_path):
    done = subprocess.run([sys.executable, "-m", "tools.pyportal_sim", "--api", server.url,
                           "--api-key", API_KEY, "--out", str(tmp_path / "s.png"), "--once"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "mars: 320x240, storage: SD card, free n/a\n" in done.stdout  # a card by default
    assert "free n/a\n" in [line for line in done.stdout.splitlines(True)
                            if line.startswith("fetch: ok")][0]
    assert "free 0" not in done.stdout
