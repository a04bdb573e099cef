"""The device modules imported on CPython, and the one headless display they draw on.

Blinka allows one display per process (like the board), so a single session fixture owns it
and switches its size when a test asks for another screen.
"""

from __future__ import annotations

import gc
import importlib
import sys
import types
from types import SimpleNamespace

import pytest

from testing.fake_mars_api import API_KEY, MarsServer
from testing.pyportal_device import Touch
from tools.pyportal_sim.runner import DEVICE_DIR

DEVICE_MODULES = ("errors", "settings", "view", "bmp", "net", "hardware", "font", "widgets",
                  "classic", "photoviews", "weatherview", "screen", "app", "diagnostics",
                  "chart", "viewtext")


@pytest.fixture(scope="session")
def device():
    """The device app's modules, with a stand-in ``board`` whose ``DISPLAY`` tests set, the
    board's terminal font (printable ASCII only) and ``bitmaptools`` validating as the
    firmware's (see tools/pyportal_sim/firmware.py)."""
    import terminalio

    from tools.pyportal_sim.firmware import BoardFont, install_bitmaptools

    host_font = terminalio.FONT
    terminalio.FONT = BoardFont(host_font)
    undo_bitmaptools = install_bitmaptools()
    board = types.ModuleType("board")
    board.DISPLAY = None
    saved = sys.modules.get("board")
    sys.modules["board"] = board
    sys.path.append(str(DEVICE_DIR))  # last, as on the simulator
    try:
        modules = {name: importlib.import_module(name) for name in DEVICE_MODULES}
        # The app collects garbage after each refresh (cheap on the board's heap): Blinka's,
        # Pillow's and pytest's objects are set aside from those collections, as in the
        # simulator (tools/pyportal_sim/runner.py), so a collection costs milliseconds.
        gc.freeze()
        yield SimpleNamespace(board=board, **modules)
    finally:
        gc.unfreeze()
        sys.path.remove(str(DEVICE_DIR))
        for name in DEVICE_MODULES:
            sys.modules.pop(name, None)
        if saved is not None:
            sys.modules["board"] = saved
        else:
            sys.modules.pop("board", None)
        terminalio.FONT = host_font
        undo_bitmaptools()


class Displays:
    def __init__(self, board) -> None:
        self.board = board
        self.current = None

    def get(self, width: int = 320, height: int = 240):
        import displayio

        from tools.pyportal_sim.display import HeadlessDisplay

        d = self.current
        if d is None or (d.width, d.height) != (width, height):
            displayio.release_displays()
            d = self.current = HeadlessDisplay(width, height)
            self.board.DISPLAY = d
        return d


@pytest.fixture(scope="session")
def displays(device):
    return Displays(device.board)


@pytest.fixture
def server():
    with MarsServer() as s:
        yield s



STORAGE = {"sd": "SD card", "flash": "flash (made writable by boot.py)",
           "none": "no SD card; see README: flash"}


@pytest.fixture
def make_app(device, displays, tmp_path):
    """Build the app as code.py does, on a display of the given size, storing in tmp_path
    (``storage``: ``sd``, ``flash`` or ``none``); ``VIEW=...`` picks the views."""

    def make(api_url: str, size=(320, 240), hw_class=None, log=None, storage="sd", timeout=4,
             jitter=None, **settings):
        displays.get(*size)
        device.board.TOUCH = Touch()
        hw = (hw_class or device.hardware.Hardware)(log=log or (lambda line: None))
        hw.storage = None if storage == "none" else str(tmp_path)
        hw.storage_note = STORAGE[storage]
        values = {"CIRCUITPY_WIFI_SSID": "test", "MARS_API_URL": api_url,
                  "MARS_API_KEY": API_KEY, **settings}
        cfg = device.settings.load(getenv=lambda k, d=None: values.get(k, d))
        screen = device.screen.Screen(hw.width, hw.height, cfg.view)
        hw.display.root_group = screen
        # the app's own 4 s timeout unless asked: no test waits it out
        extra = {} if jitter is None else {"jitter": jitter}
        return device.app.App(hw, screen, cfg, log=log or (lambda line: None), timeout=timeout,
                              **extra)

    return make


@pytest.fixture
def outcome(device, tmp_path):
    """The outcome of a shared case (testing/pyportal_cases.py) on CPython, encoded as the
    MicroPython run encodes it."""
    import builtins

    from testing.micropython import caserun
    from testing.pyportal_cases import PURE

    modules = {name: getattr(device, name) for name in PURE}
    return lambda case: caserun.run(case.wire(), modules, str(tmp_path), vars(builtins))
