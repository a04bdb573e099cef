"""Simulator runs with a scripted finger on the touchscreen, each in its own process (Blinka
allows one display per process): ``python -m testing.pyportal_scenarios NAME URL FOLDER``, and
:func:`window_session`, the app in a window clicked by a scripted mouse.

The serial log goes to stdout; ``FOLDER/result.json`` says how the run ended, the board's
resets and, at each frame, the simulated uptime and the weather panel's lines.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from testing.fake_mars_api import API_KEY
from tools.pyportal_sim import esp32, firmware
from tools.pyportal_sim.runner import Options, Simulator, settings_from

ON_PANEL = (20, 230)  # a tap here switches °C/°F
ON_PHOTO = (160, 60)  # a tap here refreshes now


class Finger:
    """``board.TOUCH``: untouched until ``act`` says otherwise at a poll after frame 1."""

    def __init__(self, sim: Simulator, act) -> None:
        self.sim, self.act = sim, act
        self.reads = 0

    @property
    def touch_point(self):
        if self.sim.frames < 1:
            return None
        self.reads += 1
        return self.act(self)


def crash_once(finger):
    """The touchscreen driver runs out of memory once (a fragmented heap fails wherever it
    allocates): an error outside the refresh loop."""
    if finger.reads == 1:
        raise MemoryError("memory allocation failed, allocating 512 bytes")
    return None


def tap_across_a_tick(finger):
    """A 0.4 s tap on the panel, started just before the board's float ``time.monotonic()``
    steps: measured with it, the tap would last a whole step (2 s at 50 days: a long press)."""
    now = finger.sim.clock.monotonic()
    if not hasattr(finger, "pressed_at"):
        steps = firmware.board_monotonic(now + 0.3) != firmware.board_monotonic(now)
        if not steps or finger.sim.frames > 1:
            return None
        finger.pressed_at = now
    if now - finger.pressed_at < 0.35:  # 4 polls, 0.1 s apart
        return (*ON_PANEL, 30000)
    return None


def untouched(finger):
    return None


SCENARIOS: dict[str, tuple[Callable[[Any], Any], dict[str, Any]]] = {
    "crash_once": (crash_once, {}),
    "tap_at_50_days": (tap_across_a_tick, {"uptime_s": 50 * 86400.0}),
    # the ESP32 stops answering any command (a reset does not bring it back)
    "esp32_hangs": (untouched, {"link": esp32.Link(responds=False)}),
}


def run(name: str, url: str, folder: str) -> None:
    act, extra = SCENARIOS[name]
    out = Path(folder)
    frames: list[dict[str, Any]] = []

    class Scripted(Simulator):
        def _board(self):
            board = super()._board()
            board.TOUCH = Finger(self, act)  # type: ignore[attr-defined]
            return board

    def on_frame(n, image):
        assert sim.display is not None
        view = getattr(sim.display.root_group, "view", None)  # the classic screen's 4 lines
        frames.append({"uptime": sim.clock.monotonic(),
                       "lines": [label.text for label in getattr(view, "lines", [])]})

    sim = Scripted(Options(settings=settings_from(url, API_KEY), out=out / "screen.png",
                           drive=out / "CIRCUITPY", frames=2, fast=True, on_frame=[on_frame],
                           **extra))
    code = sim.run()
    (out / "result.json").write_text(json.dumps({
        "code": code, "resets": sim.resets, "frames": frames,
        "watchdog_longest_gap_s": sim.board.watchdog.longest_gap}))



def click(pygame: Any, pos: tuple[int, int], button: int = 1) -> None:
    """A mouse click on the simulator's window: a touch on the panel."""
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=button))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=button))


# -- the simulator with a window -----------------------------------------------------------
def window_session(url: str, folder: str) -> None:
    """Run in a child process: the app with a window, clicked and then closed.

    Writes ``result.json`` and the window's pixels as PNGs into ``folder``: ``window-1.png``
    as frame 1 was saved, then ``shown-K.png`` for every update between frames.
    """
    import pygame

    from tools.pyportal_sim.runner import Options, Simulator, settings_from

    out = Path(folder)
    shown: list[tuple[int, float, bytes]] = []
    clocks: dict[int, float] = {}

    def window_pixels() -> bytes:
        return pygame.image.tobytes(pygame.display.get_surface(), "RGB")

    def on_frame(n: int, image: Any) -> None:
        clocks[n] = sim.clock.offset  # virtual seconds since the start
        if n == 1:
            surface = pygame.display.get_surface()
            Image.frombytes("RGB", surface.get_size(), window_pixels()).save(
                out / "window-1.png")
            window = sim._window
            assert window is not None
            show = window.show

            def recording_show(img: Any) -> None:
                show(img)
                shown.append((sim.frames, sim.clock.offset, window_pixels()))

            window.show = recording_show  # type: ignore[method-assign,assignment]
            click(pygame, ON_PANEL)  # toggles the units
        elif n == 2:
            click(pygame, ON_PHOTO)  # refreshes now
        elif n == 3:
            pygame.event.post(pygame.event.Event(pygame.QUIT))

    sim = Simulator(Options(settings=settings_from(url, API_KEY), out=out / "screen.png",
                            fast=True, window=True, keep_frames=True, on_frame=[on_frame]))
    code = sim.run()
    for k, (*_, pixels) in enumerate(shown, 1):
        Image.frombytes("RGB", (320, 240), pixels).save(out / f"shown-{k}.png")
    (out / "result.json").write_text(json.dumps({
        "code": code, "frames": sim.frames, "clocks": clocks,
        "shown": [(after, clock) for after, clock, _ in shown]}))


if __name__ == "__main__":
    run(*sys.argv[1:])
