"""Simulator runs with a scripted finger on the touchscreen, each in its own process (Blinka
allows one display per process): ``python -m tests.tools.pyportal_scenarios NAME URL FOLDER``.

The serial log goes to stdout; ``FOLDER/result.json`` says how the run ended, the board's
resets and, at each frame, the simulated uptime and the weather panel's lines.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from testing.fake_mars_api import API_KEY
from tools.pyportal_sim import esp32, firmware
from tools.pyportal_sim.runner import Options, Simulator, settings_from

ON_PANEL = (20, 230)  # a tap here switches °C/°F


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


SCENARIOS = {
    "crash_once": (crash_once, {}),
    "tap_at_50_days": (tap_across_a_tick, {"uptime_s": 50 * 86400.0}),
    # the ESP32 stops answering any command (a reset does not bring it back)
    "esp32_hangs": (untouched, {"link": esp32.Link(responds=False)}),
}


def run(name: str, url: str, folder: str) -> None:
    act, extra = SCENARIOS[name]
    out = Path(folder)
    frames = []

    class Scripted(Simulator):
        def _board(self):
            board = super()._board()
            board.TOUCH = Finger(self, act)
            return board

    def on_frame(n, image):
        view = sim.display.root_group.view  # the classic screen's four lines
        frames.append({"uptime": sim.clock.monotonic(),
                       "lines": [label.text for label in getattr(view, "lines", [])]})

    sim = Scripted(Options(settings=settings_from(url, API_KEY), out=out / "screen.png",
                           drive=out / "CIRCUITPY", frames=2, fast=True, on_frame=[on_frame],
                           **extra))
    code = sim.run()
    (out / "result.json").write_text(json.dumps({
        "code": code, "resets": sim.resets, "frames": frames,
        "watchdog_longest_gap_s": sim.board.watchdog.longest_gap}))


if __name__ == "__main__":
    run(*sys.argv[1:])
