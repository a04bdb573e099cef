"""The harness's state on CircuitPython's core: the virtual clock, the watchdog, the heap
probe and how a run ends. ``setup()`` registers the stand-ins of built-in modules.

Runs on the core only (no annotations, no f-strings: the same subset as the device code).
"""

import gc
import sys

clock = [0]  # virtual uptime in ms (a list: modules share it)
fed = [None]  # when the watchdog was last fed, None while it is off
WATCHDOG_MS = 16000  # the SAMD51's longest period, which the app sets
peak = [0]  # the most heap seen live at a probe (bytes), while probing
probing = [False]
stop_when = [None]  # called at every sleep; a true answer ends the run
longest_gap = [0]


class BoardReset(BaseException):
    """The board restarts (watchdog, ``supervisor.reload``); the app cannot catch it."""


class StopRun(BaseException):
    """The harness has seen what it came for."""


def advance(seconds):
    clock[0] += int(seconds * 1000)
    watchdog_check()


def watchdog_check():
    if fed[0] is None:
        return
    gap = clock[0] - fed[0]
    if gap > longest_gap[0]:
        longest_gap[0] = gap
    if gap > WATCHDOG_MS:
        raise BoardReset("watchdog: not fed for %d ms" % gap)


def on_sleep():
    if stop_when[0] is not None and stop_when[0]():
        raise StopRun()


def probe():
    """Live heap now (after a collection), kept if it is the most so far. Called by the
    stand-ins at each display and socket call: the points a refresh passes through."""
    if probing[0]:
        gc.collect()
        used = gc.mem_alloc()
        if used > peak[0]:
            peak[0] = used


def setup(width, height, esp32spi_major):
    """Stand-ins for built-in modules go in ``sys.modules`` before the device code imports
    them; the rest are files on ``sys.path``."""
    import displayio_standin
    import time_standin

    sys.modules["displayio"] = displayio_standin
    sys.modules["time"] = time_standin
    import esp32_standin

    esp32_standin.LEGACY = esp32spi_major < 8
    sys.modules["adafruit_esp32spi.adafruit_esp32spi"] = esp32_standin
    import board

    board.DISPLAY = displayio_standin.Display(width, height)
    import microcontroller

    microcontroller.watchdog.mode = None
