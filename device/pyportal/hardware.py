"""Everything that touches the board: display, ESP32 Wi-Fi, touchscreen, SD card, watchdog.

The one module that asks whether it runs on CircuitPython. On a computer (the simulator and
the tests) the same interface is backed by the ``board.DISPLAY`` the host provides, the
stdlib socket pool, a working folder for storage, and no watchdog.
"""

import gc
import os
import sys

import board

ON_BOARD = sys.implementation.name == "circuitpython"
WATCHDOG_S = 16  # the SAMD51's longest period


def mem_free():
    """Free heap in bytes, or "n/a" where the runtime cannot tell (CPython)."""
    return gc.mem_free() if hasattr(gc, "mem_free") else "n/a"


class Hardware:
    """The board's peripherals, created once.

    :param log: ``log(text)`` for one-line serial messages.
    """

    def __init__(self, log=print):
        self.log = log
        self.display = board.DISPLAY
        self.width = self.display.width
        self.height = self.display.height
        self._esp = None
        self._pool = None
        self._touch = getattr(board, "TOUCH", None)  # the simulator may provide one
        self._watchdog = None
        self.storage, self.storage_note = self._find_storage()

    # -- storage ---------------------------------------------------------------------------
    def _find_storage(self):
        """``(folder, note)``: where photos go, or ``(None, why not)``."""
        if not ON_BOARD:
            return ".", "working folder"
        import storage

        try:
            import sdcardio

            sd = sdcardio.SDCard(board.SPI(), board.SD_CS)
            storage.mount(storage.VfsFat(sd), "/sd")
            return "/sd", "SD card"
        except (OSError, ValueError, RuntimeError):
            pass  # no card: try the flash
        if not storage.getmount("/").readonly:
            return "", "flash (made writable by boot.py)"
        return None, "no SD card; see README: flash"

    # -- network ---------------------------------------------------------------------------
    def connect(self, ssid, password, attempts=3):
        """Join Wi-Fi (no-op on a computer); returns ``(socket pool, ssl context)``.

        :raises ConnectionError: after ``attempts`` failed tries.
        """
        import adafruit_connection_manager as acm

        if not ON_BOARD:
            if self._pool is None:
                radio = acm.CPythonNetwork()
                self._pool = (acm.get_radio_socketpool(radio), acm.get_radio_ssl_context(radio))
            return self._pool
        esp = self._radio()
        error = None
        for _ in range(attempts):
            if esp.is_connected:
                break
            self.feed()
            try:
                esp.connect_AP(ssid, password)
            except (OSError, RuntimeError, ConnectionError) as e:
                error = e
                self.log("wifi: %s" % e)
        if not esp.is_connected:
            raise ConnectionError("Wi-Fi %s: %s" % (ssid, error))
        return acm.get_radio_socketpool(esp), acm.get_radio_ssl_context(esp)

    def _radio(self):
        if self._esp is None:
            from adafruit_esp32spi import adafruit_esp32spi
            from digitalio import DigitalInOut

            self._esp = adafruit_esp32spi.ESP_SPIcontrol(
                board.SPI(), DigitalInOut(board.ESP_CS), DigitalInOut(board.ESP_BUSY),
                DigitalInOut(board.ESP_RESET))
        return self._esp

    def reset_radio(self):
        """Hard-reset the ESP32 after repeated failures (it recovers most SPI hangs)."""
        if self._esp is not None:
            self._esp.reset()
            self.log("wifi: ESP32 reset")

    # -- touch -----------------------------------------------------------------------------
    def touch_point(self):
        """``(x, y)`` of a touch in screen pixels, or ``None``."""
        if self._touch is None and ON_BOARD:
            import adafruit_touchscreen

            self._touch = adafruit_touchscreen.Touchscreen(
                board.TOUCH_XL, board.TOUCH_XR, board.TOUCH_YD, board.TOUCH_YU,
                calibration=((5200, 59000), (5800, 57000)), size=(self.width, self.height))
        point = self._touch.touch_point if self._touch is not None else None
        return None if point is None else (point[0], point[1])

    # -- watchdog and restarts -------------------------------------------------------------
    def start_watchdog(self):
        """Reset the board if the app stops feeding it for :data:`WATCHDOG_S` seconds."""
        if ON_BOARD:
            from microcontroller import watchdog
            from watchdog import WatchDogMode

            watchdog.timeout = WATCHDOG_S
            watchdog.mode = WatchDogMode.RESET
            self._watchdog = watchdog

    def feed(self):
        if self._watchdog is not None:
            self._watchdog.feed()

    def reload(self):
        """Soft restart: the cure for a fragmented heap."""
        if ON_BOARD:
            import supervisor

            supervisor.reload()
        raise SystemExit("reload")


def free_space(folder):
    """Free bytes in ``folder`` (``None`` if unknown)."""
    try:
        st = os.statvfs(folder or "/")
        return st[0] * st[3]
    except (OSError, AttributeError):
        return None
