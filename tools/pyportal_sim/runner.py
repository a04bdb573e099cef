"""Run ``device/pyportal/code.py`` unmodified on CPython, one PNG per refresh.

What the board provides is stood in for here, and nothing in the device folder changes:

- ``board``: a module with ``DISPLAY`` (a :class:`~tools.pyportal_sim.display.HeadlessDisplay`)
  put in ``sys.modules`` before the app runs (Blinka installs a ``board`` of its own);
- ``settings.toml``: served through ``os.getenv`` as strings, like CircuitPython 10 does;
- the drive: a working folder made the current directory (the board's cwd is ``/``);
- the device folder goes *last* on ``sys.path``: its ``code.py`` must not shadow the stdlib;
- the firmware's modules and frozen libraries, failing where the board fails
  (:mod:`tools.pyportal_sim.firmware`), and its ESP32 (:mod:`tools.pyportal_sim.esp32`);
- power-up runs ``boot.py`` then ``code.py``; a watchdog reset or ``supervisor.reload()``
  starts them again (``reload`` skips boot.py, as on the board).

The main thread's ``time.sleep`` is replaced: after each refresh the screen is saved once it
has settled (the diagnostics the app shows for 10 s after a refresh at start are put away, or
``SETTLE_S`` passed), and after ``frames`` refreshes :class:`StopSimulation` (a
``BaseException``, so the app's ``except Exception`` cannot swallow it) ends the run. With
``fast`` the clock is virtual, so waiting ten minutes between refreshes takes no time; in real
time the PNG is also written at once after a refresh, diagnostics and all, as the board shows
it then.
"""

from __future__ import annotations

import gc
import os
import runpy
import signal
import sys
import threading
import time
import tomllib
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, SupportsIndex

from tools.pyportal_sim import esp32, firmware

if TYPE_CHECKING:
    from tools.pyportal_sim.display import HeadlessDisplay
    from tools.pyportal_sim.window import Window

DEVICE_DIR = Path(__file__).resolve().parents[2] / "device" / "pyportal"
# What the app reads from settings.toml: never taken from the computer's environment.
DEVICE_SETTINGS = ("CIRCUITPY_WIFI_SSID", "CIRCUITPY_WIFI_PASSWORD", "MARS_API_URL",
                   "MARS_API_KEY", "REFRESH_MINUTES", "UNITS", "MARS_FLASH_WRITABLE", "VIEW",
                   "GALLERY_SECONDS", "DEPTH")
VIEWS = ("classic", "photo", "weather", "gallery")  # VIEW's values (settings.VIEWS)
IDLE_FRAME_S = 3600  # a frame also after this long without a refresh (e.g. a settings error)
SETTLE_S = 15  # a refresh's frame waits this long at most for the diagnostics to go away
SIZES = {"320x240": (320, 240), "480x320": (480, 320)}
MAX_RESETS = 5  # a board that keeps resetting: stop simulating it


class StopSimulation(BaseException):  # a signal, not an error
    """Raised from the app's sleep when the simulation is over."""


@dataclass
class Options:
    """What to simulate. ``settings`` are the lines of settings.toml."""

    settings: dict[str, str]
    size: tuple[int, int] = (320, 240)
    out: Path = Path("out/pyportal.png")
    drive: Path | None = None
    frames: int | None = None  # None: run until stopped
    fast: bool = False  # virtual clock
    keep_frames: bool = False  # also save out-001.png, out-002.png, ...
    window: bool = False
    on_frame: list = field(default_factory=list)  # callables(n, image) for tests and bench
    firmware: str = firmware.DEFAULT_FIRMWARE  # CircuitPython version whose libraries run
    link: esp32.Link = field(default_factory=esp32.Link)
    sd_card: bool = True
    device_dir: Path = DEVICE_DIR  # the app's files (another copy: e.g. an older release)
    uptime_s: float = 0.0  # the board's uptime at power-on (its clock's precision depends on it)


def settings_from(api: str, api_key: str, refresh_minutes: int | None = None,
                  units: str | None = None, file: Path | None = None,
                  view: str | None = None, depth: int | None = None) -> dict[str, str]:
    """The simulated settings.toml: the defaults, then ``file`` (if given), then what the
    command line gave (``None``: not given, so the file's value stays)."""
    values: dict[str, str] = {"CIRCUITPY_WIFI_SSID": "simulator", "CIRCUITPY_WIFI_PASSWORD": "",
                              "REFRESH_MINUTES": "10", "UNITS": "C"}
    if file is not None:
        with open(file, "rb") as f:
            values.update({k: str(v) for k, v in tomllib.load(f).items()})
    given = {"MARS_API_URL": api, "MARS_API_KEY": api_key, "UNITS": units, "VIEW": view,
             "REFRESH_MINUTES": None if refresh_minutes is None else str(refresh_minutes),
             "DEPTH": None if depth is None else str(depth)}
    values.update({k: v for k, v in given.items() if v is not None})
    return values


class Simulator:
    """One run of the device app. Only one per process: Blinka allows one display."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.frames = 0
        self._seen_refreshes = 0
        self._idle = 0.0
        self._refreshed_at: float | None = None  # a refresh whose frame is not saved yet
        self._window: Window | None = None
        self.display: HeadlessDisplay | None = None
        self.clock = firmware.Clock(options.fast, options.uptime_s)
        self.resets: list[str] = []
        self.device_dir = options.device_dir.resolve()

    # -- patched functions -----------------------------------------------------------------
    def _monotonic(self) -> float:
        return firmware.board_monotonic(self.clock.monotonic())  # the board's float precision

    def _monotonic_ns(self) -> int:
        return int(self.clock.monotonic() * 1e9)

    def _getenv(self, key: str, default=None):
        if key in self.options.settings:
            return self.options.settings[key]
        if key in DEVICE_SETTINGS:
            return default
        return self._real_getenv(key, default)

    def _sleep(self, seconds: float | SupportsIndex) -> None:  # time.sleep's signature
        if threading.current_thread() is not threading.main_thread():
            self._real_sleep(seconds)
            return
        seconds = float(seconds)
        self.clock.advance(seconds)
        if self._window is not None and self.display is not None:
            self._window.poll()
            if self.display.update():  # e.g. the units a click just switched
                self._window.show(self.display.image())
        self._idle += seconds
        stats = getattr(sys.modules.get("app"), "stats", None)
        refreshes = getattr(stats, "refreshes", 0)
        now = self.clock.monotonic()
        if refreshes != self._seen_refreshes:
            if self._seen_refreshes == 0:
                print(f"simulator: first refresh done {now - self._started:.1f} s after "
                      "power-on (simulated)", flush=True)
            self._seen_refreshes = refreshes
            self._refreshed_at = now
            if not self.options.fast:
                self.write_png(self.display.snapshot() if self.display else None)
        if self._refreshed_at is not None and (not self._showing_diagnostics()
                                               or now - self._refreshed_at >= SETTLE_S):
            self._refreshed_at = None
            self._idle = 0.0
            self.save_frame()
        elif self._idle >= IDLE_FRAME_S:
            self._idle = 0.0
            self.save_frame()

    def _showing_diagnostics(self) -> bool:
        root = self.display.root_group if self.display is not None else None
        return bool(getattr(root, "showing_diagnostics", False))

    # -- frames ----------------------------------------------------------------------------
    def write_png(self, image) -> None:
        """``out``, replaced atomically: the stack's page may be reading it."""
        if image is None:
            return
        out = self.options.out
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        image.save(tmp, format="PNG")
        os.replace(tmp, out)

    def save_frame(self) -> None:
        """Save the screen to ``out`` (atomically: the stack's page may be reading it)."""
        self.frames += 1
        if self.display is None:
            raise RuntimeError("save_frame before the board was made")
        image = self.display.snapshot()
        out = self.options.out
        self.write_png(image)
        if self.options.keep_frames:
            image.save(out.with_name(f"{out.stem}-{self.frames:03d}{out.suffix}"))
        if self._window is not None:
            self._window.show(image)
        for callback in self.options.on_frame:
            callback(self.frames, image)
        if self.options.frames is not None and self.frames >= self.options.frames:
            raise StopSimulation

    # -- run -------------------------------------------------------------------------------
    def _board(self) -> types.ModuleType:
        from tools.pyportal_sim.display import HeadlessDisplay

        self.display = HeadlessDisplay(*self.options.size)
        board = firmware.fake_module("board", board_id="pyportal_simulator",
                                     DISPLAY=self.display)
        if self.options.window:
            from tools.pyportal_sim.window import open_window

            self._window = open_window(self.options.size)
            if self._window is not None:
                firmware.add_attributes(board, TOUCH=self._window)
        return board

    def run(self) -> int:
        """Run the app until ``frames`` refreshes or SIGTERM; returns an exit status."""
        opts = self.options
        drive = (opts.drive or opts.out.parent / "pyportal-drive").resolve()
        drive.mkdir(parents=True, exist_ok=True)
        opts.out = opts.out.resolve()
        saved_modules = dict(sys.modules)
        self._real_sleep, self._real_monotonic = time.sleep, time.monotonic
        real_monotonic_ns = time.monotonic_ns
        self._real_getenv = os.getenv
        cwd = os.getcwd()
        old_term = None
        board = sys.modules["board"] = self._board()
        self.board = firmware.Board(drive, opts.sd_card, self.clock)
        saved_fakes = firmware.install(self.board, opts.firmware, opts.link, board, print)
        sys.path.append(str(self.device_dir))
        time.sleep, os.getenv = self._sleep, self._getenv
        time.monotonic, time.monotonic_ns = self._monotonic, self._monotonic_ns
        if threading.current_thread() is threading.main_thread():
            old_term = signal.signal(signal.SIGTERM, _stop)
        os.chdir(drive)
        # The frozen socket pool collects garbage after every send (adafruit_esp32spi_
        # socketpool.py), cheap on the board's heap but ~50 ms over this process's Blinka and
        # Pillow objects: they are set aside from collections (the app's objects are not).
        gc.freeze()
        self._started = self.clock.monotonic()
        try:
            return self._power_on()
        finally:
            chips = self.board.chips
            print(f"simulator: {self.clock.monotonic() - self._started:.1f} s simulated, "
                  f"watchdog longest gap {self.board.watchdog.longest_gap:.1f} s, "
                  f"{len(self.resets)} resets, "
                  f"{sum(c.sockets_in_use for c in chips)} ESP32 sockets in use", flush=True)
            os.chdir(cwd)
            gc.unfreeze()
            time.sleep, time.monotonic, os.getenv = (self._real_sleep, self._real_monotonic,
                                                    self._real_getenv)
            time.monotonic_ns = real_monotonic_ns
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
            sys.path.remove(str(self.device_dir))
            self._forget_device_modules()
            firmware.uninstall(saved_fakes)
            sys.modules.pop("board", None)
            if "board" in saved_modules:
                sys.modules["board"] = saved_modules["board"]
            if self._window is not None:
                self._window.close()

    def _forget_device_modules(self) -> None:
        for name in list(sys.modules):
            module = sys.modules[name]
            if str(getattr(module, "__file__", "") or "").startswith(str(self.device_dir)):
                del sys.modules[name]

    def _power_on(self) -> int:
        """boot.py then code.py, again after every reset, as the board does."""
        boot = True
        while True:
            try:
                if boot and (self.device_dir / "boot.py").exists():
                    runpy.run_path(str(self.device_dir / "boot.py"), run_name="__main__")
                runpy.run_path(str(self.device_dir / "code.py"), run_name="__main__")
                return 0
            except firmware.BoardReset as e:
                self.resets.append(e.why)
                print(f"simulator: board reset: {e.why}", flush=True)
                if len(self.resets) >= MAX_RESETS:
                    print("simulator: the board keeps resetting; stopping", flush=True)
                    return 4
                boot = e.why.startswith("watchdog")  # a reload skips boot.py
                self._forget_device_modules()
                self._seen_refreshes = 0  # the app's counters start again with its modules
                self._refreshed_at = None
                self.board.watchdog.mode = None
                self.board.mounts.clear()
                for pin in self.board.pins.values():
                    pin.driven = None
            except StopSimulation:
                return 0
            except KeyboardInterrupt:
                return 130
            except SystemExit as e:
                print(f"simulator: the app asked for {e.code or 'an exit'}", flush=True)
                return 3
            except BaseException:  # report any crash of the app, then fail
                traceback.print_exc()
                return 1


def _stop(signum, frame):
    raise StopSimulation
