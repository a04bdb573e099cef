"""What CircuitPython gives the app on a PyPortal, modelled where a real board fails.

Each stand-in follows the firmware's or library's source (named beside each rule):

- ``storage.mount`` refuses a mount point that is not an existing folder;
- ``sdcardio.SDCard`` fails while the ESP32's chip select floats on the shared SPI bus;
- ``microcontroller.watchdog`` resets the board when not fed within its timeout, in
  simulated time (see :class:`Clock`);
- ``terminalio.FONT`` has the board's glyph set: printable ASCII only;
- the libraries the firmware release freezes (requests, connection manager, ESP32SPI's socket
  pool over the ESP32 of :mod:`.esp32`, display_text), pinned per release in
  :mod:`.libraries`; any other Adafruit library only from the drive's ``lib`` folder;
- ``bitmaptools.fill_region`` refuses corners outside the bitmap, as the firmware's does;
- ``displayio.OnDiskBitmap`` is Blinka's, a port of shared-module/displayio/OnDiskBitmap.c
  that reads 1-, 2-, 4- and 8-bit rows as the firmware does (``biClrUsed`` palette entries
  after the header, the leftmost pixel in a byte's high bits, rows bottom-up), so a 4-bit
  photo looks as on the board (tests/pyportal/test_views.py compares every pixel).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.metadata
import importlib.util
import struct
import sys
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING

from tools.pyportal_sim import esp32, libraries

if TYPE_CHECKING:  # not at run time: importing displayio starts Blinka's refresh thread
    from collections.abc import Callable

    import fontio

DEFAULT_FIRMWARE = libraries.NEWEST
WATCHDOG_MAX_S = 16  # SAMD51: the longest watchdog period CircuitPython accepts
TICKS_PERIOD = 1 << 29  # supervisor.ticks_ms() wraps at 2**29 ms (its documentation)


class BoardReset(BaseException):  # a reset, not an error
    """The board restarts (watchdog or ``supervisor.reload``); nothing in the app catches it."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def board_float(x: float) -> float:
    """``x`` as a float of the board: single precision, then the two lowest mantissa bits
    dropped when boxed (py/obj.h, ``mp_obj_new_float`` under MICROPY_OBJ_REPR_C): 22 bits."""
    bits = struct.unpack("<I", struct.pack("<f", x))[0] & ~0x3
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def board_monotonic(uptime_s: float) -> float:
    """``time.monotonic()`` of a board up for ``uptime_s``: shared-bindings/time/__init__.c
    divides the millisecond ticks as floats, so it steps by 2 s after 48 days of uptime."""
    ticks = board_float(float(int(uptime_s * 1000)))
    return board_float(ticks / 1000)


class Clock:
    """Simulated time, as the board's uptime: real time plus what the fakes charge
    (``fast``: nothing is waited), from ``uptime_s`` at power-on."""

    def __init__(self, fast: bool, uptime_s: float = 0.0) -> None:
        self.fast = fast
        self.offset = uptime_s - time.monotonic()
        self._real_monotonic = time.monotonic
        self._real_sleep = time.sleep
        self.watchdog: Watchdog | None = None

    def monotonic(self) -> float:
        return self._real_monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.fast:
            self.offset += seconds
        else:
            self._real_sleep(seconds)
        if self.watchdog is not None:
            self.watchdog.check()


class Watchdog:
    """``microcontroller.watchdog``: a reset when ``feed()`` is late."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.timeout = 0.0
        self.mode = None
        self._fed = clock.monotonic()
        self.longest_gap = 0.0

    def __setattr__(self, name, value):
        if name == "timeout" and value > WATCHDOG_MAX_S:
            raise ValueError(f"timeout must be <= {WATCHDOG_MAX_S}")
        if name == "mode" and value is not None:
            self._fed = self._clock.monotonic()  # starting it counts as a feed
        super().__setattr__(name, value)

    def feed(self) -> None:
        self.check()
        self._fed = self._clock.monotonic()

    def check(self) -> None:
        if self.mode is None:
            return
        gap = self._clock.monotonic() - self._fed
        self.longest_gap = max(self.longest_gap, gap)
        if gap > self.timeout:
            self.mode = None
            raise BoardReset(f"watchdog: not fed for {gap:.1f} s")


class Pin:
    def __init__(self, name: str) -> None:
        self.name = name
        self.driven: bool | None = None  # None: floating

    def __repr__(self) -> str:
        return f"board.{self.name}"


class DigitalInOut:
    """``digitalio.DigitalInOut``: remembers whether the pin is driven, and how."""

    def __init__(self, pin: Pin) -> None:
        self._pin = pin

    def switch_to_output(self, value=False, drive_mode=None) -> None:
        self._pin.driven = bool(value)

    def switch_to_input(self, pull=None) -> None:
        self._pin.driven = None

    @property
    def value(self):
        return bool(self._pin.driven)

    @value.setter
    def value(self, v) -> None:
        if self._pin.driven is not None:
            self._pin.driven = bool(v)

    def deinit(self) -> None:
        self._pin.driven = None


def fake_module(name: str, **attrs: object) -> types.ModuleType:
    """A module named ``name`` holding ``attrs``, to stand in for one of the firmware's."""
    return add_attributes(types.ModuleType(name), **attrs)


def add_attributes(module: types.ModuleType, **attrs: object) -> types.ModuleType:
    """``module`` with ``attrs`` set: through setattr, as a ModuleType declares none."""
    for attr, value in attrs.items():
        setattr(module, attr, value)
    return module


class Board:
    """The simulated board's state: pins, SD card, drive, flash mode."""

    def __init__(self, drive: Path, sd_card: bool, clock: Clock) -> None:
        self.drive = drive
        self.sd_card = sd_card
        self.clock = clock
        self.pins = {n: Pin(n) for n in ("ESP_CS", "ESP_BUSY", "ESP_RESET", "SD_CS")}
        self.flash_readonly = True  # for the app: the computer owns the drive (boot.py may flip)
        self.mounts: dict[str, object] = {}
        self.watchdog = Watchdog(clock)
        clock.watchdog = self.watchdog
        self.chips: list[esp32.ESP_SPIcontrol] = []  # the ESP32s the app made (install)


def _storage(board: Board) -> types.ModuleType:
    class VfsFat:
        def __init__(self, block_device) -> None:
            self.block_device = block_device
            self.readonly = False

    def mount(vfs, mount_path, readonly=False):
        # shared-module/storage/__init__.c, common_hal_storage_mount: the path must be an
        # existing directory (except "/"), else RuntimeError "Mount point directory missing"
        path = "/" + mount_path.strip("/")
        if path != "/" and not (board.drive / path[1:]).is_dir():
            raise RuntimeError("Mount point directory missing")
        if path in board.mounts:
            raise OSError(1, "EPERM")  # mount point in use
        board.mounts[path] = vfs

    def getmount(mount_path):
        path = "/" + mount_path.strip("/")
        if path == "/":
            return types.SimpleNamespace(readonly=board.flash_readonly)
        if path not in board.mounts:
            raise OSError(22, "EINVAL")
        return board.mounts[path]

    def remount(mount_path, readonly=False, *, disable_concurrent_write_protection=False):
        if mount_path.strip("/") == "":
            board.flash_readonly = readonly

    return fake_module("storage", VfsFat=VfsFat, mount=mount, getmount=getmount,
                       remount=remount)


def _sdcardio(board: Board) -> types.ModuleType:
    class SDCard:
        def __init__(self, spi, cs, baudrate=8000000) -> None:
            if not board.sd_card:
                raise OSError(19, "no SD card")  # sdcardio's message when init gets no answer
            if board.pins["ESP_CS"].driven is not True:
                # the ESP32 shares SCK/MOSI/MISO: with its CS floating it may answer too, and
                # the card's init replies are garbled
                raise OSError(19, "no SD card")
            self.cs = cs

    return fake_module("sdcardio", SDCard=SDCard)


def _watchdog_modules(board: Board) -> tuple[types.ModuleType, types.ModuleType]:
    micro = fake_module("microcontroller", watchdog=board.watchdog,
                        cpu=types.SimpleNamespace(temperature=30.0, frequency=120_000_000))

    class WatchDogTimeout(Exception):
        pass

    wd = fake_module("watchdog", WatchDogMode=types.SimpleNamespace(RAISE="RAISE", RESET="RESET"),
                     WatchDogTimeout=WatchDogTimeout)
    return micro, wd


def _supervisor(board: Board, version: str) -> types.ModuleType:
    def reload():
        raise BoardReset("supervisor.reload()")

    def ticks_ms():
        return int(board.clock.monotonic() * 1000) % TICKS_PERIOD

    return fake_module("supervisor", reload=reload, ticks_ms=ticks_ms,
                       runtime=types.SimpleNamespace(usb_connected=True, serial_connected=True))


class BoardFont:
    """``terminalio.FONT`` as built for the PyPortal: 0x20-0x7E and nothing else.

    tools/gen_display_resources.py keeps printable ASCII plus the characters of the build's
    translation; en_US has none beyond ASCII, so ``get_glyph`` answers ``None`` for "°",
    and adafruit_display_text then leaves the character out.
    """

    def __init__(self, host_font: fontio.FontProtocol) -> None:
        self._host = host_font

    def get_bounding_box(self) -> tuple[int, int] | tuple[int, int, int, int]:
        return self._host.get_bounding_box()

    def get_glyph(self, codepoint: int) -> fontio.Glyph | None:
        if 0x20 <= codepoint <= 0x7E:
            return self._host.get_glyph(codepoint)
        return None


class BoardImports(importlib.abc.MetaPathFinder):
    """Imports as on the board: the firmware's frozen libraries from its set
    (:mod:`.libraries`), and no other Adafruit library unless the drive's ``lib`` has it.

    This virtualenv holds newer libraries (and ``adafruit_ticks``, which display_text 4 and
    later import; no PyPortal firmware freezes it): without this they would run here where the
    board raises ``ImportError: no module named 'adafruit_ticks'``.
    """

    def __init__(self, frozen: Path, frozen_names: set[str], lib: Path) -> None:
        self.frozen, self.frozen_names, self.lib = frozen, frozen_names, lib

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if fullname != top:
            return None  # a submodule: its package's __path__ says where
        if top in self.frozen_names:
            return importlib.machinery.PathFinder.find_spec(fullname, [str(self.frozen)])
        if top in not_on_board():
            for path in (self.lib / top / "__init__.py", self.lib / f"{top}.py"):
                if path.is_file():  # looked at afresh: lib/ may be filled while running
                    return importlib.util.spec_from_file_location(
                        fullname, path, submodule_search_locations=[str(path.parent)]
                        if path.name == "__init__.py" else None)
            # the board's words (py/builtinimport.c)
            raise ModuleNotFoundError(f"no module named '{fullname}'", name=fullname)
        return None


def not_on_board() -> set[str]:
    """The Adafruit CircuitPython libraries installed here, by module name: on the board
    only a frozen one (:class:`BoardImports`) or a copy in ``lib/`` may be imported."""
    global _NOT_ON_BOARD
    if _NOT_ON_BOARD is None:
        found = set()
        for dist in importlib.metadata.distributions():
            if not (dist.metadata["Name"] or "").lower().startswith("adafruit-circuitpython-"):
                continue
            for f in dist.files or ():
                top = f.parts[0]
                if top.startswith("adafruit_") and (
                        top.endswith(".py") or (len(f.parts) == 2 and f.name == "__init__.py")):
                    found.add(top.removesuffix(".py"))
        _NOT_ON_BOARD = found
    return _NOT_ON_BOARD


_NOT_ON_BOARD: set[str] | None = None


def board_fill_region(real: Callable) -> Callable:
    """``bitmaptools.fill_region`` validating its corners as the firmware does, where Blinka
    clips them: shared-bindings/bitmaptools/__init__.c, bitmaptools_validate_coord_range
    (x1 in 0..width, x2 in x1..width, then the same for y; "x1 must be 0-294")."""

    def fill_region(dest_bitmap, x1, y1, x2, y2, value):
        # Blinka's Bitmap keeps its depth privately (the firmware's: bits_per_value)
        depth = getattr(dest_bitmap, "bits_per_value", None) or dest_bitmap._bits_per_value
        if value >= 1 << depth:
            raise ValueError("out of range of target")
        for first, second, names, limit in ((x1, x2, ("x1", "x2"), dest_bitmap.width),
                                            (y1, y2, ("y1", "y2"), dest_bitmap.height)):
            if not 0 <= first <= limit:
                raise ValueError(f"{names[0]} must be 0-{limit}")
            if not first <= second <= limit:
                raise ValueError(f"{names[1]} must be {first}-{limit}")
        return real(dest_bitmap, x1, y1, x2, y2, value)

    return fill_region


def install_bitmaptools() -> Callable[[], None]:
    """Make ``bitmaptools`` validate like the firmware's; returns the undo."""
    import bitmaptools

    real = bitmaptools.fill_region
    bitmaptools.fill_region = board_fill_region(real)

    def undo() -> None:
        bitmaptools.fill_region = real

    return undo


def install(board: Board, firmware: str, link: esp32.Link, board_module: types.ModuleType,
            log: Callable[[str], object]) -> dict:
    """Put the board's modules in ``sys.modules`` and its import rules in ``sys.meta_path``
    (:class:`BoardImports`); returns what to restore afterwards."""
    import terminalio

    libs = libraries.for_release(firmware)
    frozen = libs.require()
    esp_class, chips = esp32.factory(link, board.clock, log, libs.versions["adafruit_esp32spi"])
    socket_constants = {name: getattr(esp32, name) for name in dir(esp32)
                        if name.startswith("SOCKET_")}
    esp_module = fake_module("adafruit_esp32spi.adafruit_esp32spi", ESP_SPIcontrol=esp_class,
                             **socket_constants)
    micro, wd = _watchdog_modules(board)
    digitalio = fake_module("digitalio", DigitalInOut=DigitalInOut)
    # the real package's modules (socket pool, ...) over the modelled chip
    package = fake_module("adafruit_esp32spi", __path__=[str(frozen / "adafruit_esp32spi")],
                          adafruit_esp32spi=esp_module)
    fakes = {"storage": _storage(board), "sdcardio": _sdcardio(board), "microcontroller": micro,
             "watchdog": wd, "supervisor": _supervisor(board, firmware), "digitalio": digitalio,
             "adafruit_esp32spi": package, "adafruit_esp32spi.adafruit_esp32spi": esp_module}
    frozen_names = set(libs.versions)
    adafruit = frozen_names | not_on_board()
    stale = [n for n in list(sys.modules) if n.partition(".")[0] in adafruit]
    saved = {name: sys.modules.get(name) for name in set(fakes) | set(stale)}
    saved_font = terminalio.FONT
    for name in stale:
        del sys.modules[name]
    sys.modules.update(fakes)
    finder = BoardImports(frozen, frozen_names, board.drive / "lib")
    sys.meta_path.insert(0, finder)
    # The board's glyph set in place of Blinka's. The stubs declare the firmware's class,
    # BuiltinFont; the app and adafruit_display_text use it only as a FontProtocol, as here.
    board_font: fontio.FontProtocol = BoardFont(saved_font)
    setattr(terminalio, "FONT", board_font)  # noqa: B010 - a different class than declared
    add_attributes(board_module, SPI=lambda: "SPI", **{p.name: p for p in board.pins.values()})
    board.chips = chips
    log(f"simulator: CircuitPython {firmware}'s frozen libraries: {libs.describe()}")
    return {"modules": saved, "font": saved_font, "finder": finder,
            "bitmaptools": install_bitmaptools()}


def uninstall(saved: dict) -> None:
    import terminalio

    terminalio.FONT = saved["font"]
    sys.meta_path.remove(saved["finder"])
    saved["bitmaptools"]()
    for name in [n for n in list(sys.modules) if n.partition(".")[0] in not_on_board()]:
        del sys.modules[name]  # the board's copies; the saved ones come back below
    for name, module in saved["modules"].items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
