"""Everything that touches the board: display, ESP32 Wi-Fi, touchscreen, SD card, watchdog.

The one module that touches ``board``. What the board has decides what is used: without
``board.ESP_CS`` (the tests on a computer) the stdlib socket pool stands in for the ESP32,
without ``board.SD_CS`` a working folder for the SD card, without ``microcontroller.watchdog``
no watchdog. The simulator provides them all, failing as the board does.
"""

import gc
import os
import board

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
        self.radio_stuck = False  # the ESP32 stopped answering (radio_info asks no more)
        self._esp_cs = self._deselect_esp32()
        self.storage, self.storage_note = self._find_storage()

    # -- storage ---------------------------------------------------------------------------
    @staticmethod
    def _deselect_esp32():
        """Drive the ESP32's chip select high before anything else uses the shared SPI bus:
        floating, the ESP32 may answer the SD card's commands."""
        if not hasattr(board, "ESP_CS"):
            return None
        from digitalio import DigitalInOut

        cs = DigitalInOut(board.ESP_CS)
        cs.switch_to_output(value=True)
        return cs

    def _find_storage(self):
        """``(folder, note)``: where photos go, or ``(None, why not)``.

        Folders are relative: the board's working folder is ``/``.
        """
        if not hasattr(board, "SD_CS"):
            return ".", "working folder"
        import storage

        note = "no SD card; see README: flash"
        try:
            import sdcardio

            sd = sdcardio.SDCard(board.SPI(), board.SD_CS)
            # CircuitPython 9/10 mount only on an existing folder (boot.py makes it)
            storage.mount(storage.VfsFat(sd), "/sd")
            return "sd", "SD card"
        except RuntimeError as e:
            note = "SD card: %s; press reset" % e  # "Mount point directory missing"
        except (OSError, ValueError):
            pass  # no card: try the flash
        if not storage.getmount("/").readonly:
            return ".", "flash (made writable by boot.py)"
        return None, note

    # -- network ---------------------------------------------------------------------------
    def connect(self, ssid, password, attempts=3):
        """Join Wi-Fi (no-op on a computer); returns ``(socket pool, ssl context)``.

        :raises ConnectionError: after ``attempts`` failed tries.
        """
        import adafruit_connection_manager as acm

        if not hasattr(board, "ESP_CS"):
            if self._pool is None:
                radio = acm.CPythonNetwork()
                self._pool = (acm.get_radio_socketpool(radio), acm.get_radio_ssl_context(radio))
            return self._pool
        esp = self._radio()
        error = None
        for _ in range(attempts):
            self.feed()
            if esp.is_connected:
                break
            self.feed()
            try:
                esp.connect_AP(ssid, password)
            except (OSError, RuntimeError, ConnectionError) as e:
                error = e
                self.radio_stuck = isinstance(e, TimeoutError)
                self.log("wifi: %s" % e)
            self.feed()
        if not esp.is_connected:
            raise ConnectionError("Wi-Fi %s: %s" % (ssid, error))
        self.radio_stuck = False
        return acm.get_radio_socketpool(esp), acm.get_radio_ssl_context(esp)

    def _radio(self):
        if self._esp is None:
            from adafruit_esp32spi import adafruit_esp32spi
            from digitalio import DigitalInOut

            self._esp = adafruit_esp32spi.ESP_SPIcontrol(
                board.SPI(), self._esp_cs, DigitalInOut(board.ESP_BUSY),
                DigitalInOut(board.ESP_RESET))
        return self._esp

    def reset_radio(self):
        """Hard-reset the ESP32 after repeated failures (it recovers most SPI hangs)."""
        if self._esp is not None:
            self._esp.reset()
            self.log("wifi: ESP32 reset")

    def radio_info(self):
        """``(firmware, ssid, rssi)`` of the ESP32, ``None`` for what it cannot tell.

        Each answer is one command to the chip, which may take 10 s to fail when the chip
        hangs: the watchdog is fed between them, and after a ``TimeoutError`` ("ESP32 not
        responding") no more are sent, now or at the next diagnostics, until the chip joins
        the network again.
        """
        esp = self._esp
        if esp is None:
            return None, None, None
        if self.radio_stuck:
            return "not responding", None, None
        version = ssid = rssi = None
        try:
            self.feed()
            version = _text(esp.firmware_version)
            self.feed()
            if hasattr(type(esp), "ap_info"):  # adafruit_esp32spi 8.0 and later
                info = esp.ap_info  # None when not connected (asking costs a command)
                self.feed()
                if info is not None:
                    ssid = info.ssid
                    self.feed()
                    rssi = info.rssi
            else:
                ssid = _text(esp.ssid)
                self.feed()
                rssi = esp.rssi
        except TimeoutError:
            self.radio_stuck = True
            version = version or "not responding"
        except Exception:  # a diagnostic must not stop the app
            pass
        self.feed()
        return version, ssid, rssi

    # -- touch -----------------------------------------------------------------------------
    def touch_point(self):
        """``(x, y)`` of a touch in screen pixels, or ``None``."""
        if self._touch is None and hasattr(board, "TOUCH_XL"):
            import adafruit_touchscreen

            self._touch = adafruit_touchscreen.Touchscreen(
                board.TOUCH_XL, board.TOUCH_XR, board.TOUCH_YD, board.TOUCH_YU,
                calibration=((5200, 59000), (5800, 57000)), size=(self.width, self.height))
        point = self._touch.touch_point if self._touch is not None else None
        return None if point is None else (point[0], point[1])

    # -- watchdog and restarts -------------------------------------------------------------
    def start_watchdog(self):
        """Reset the board if the app stops feeding it for :data:`WATCHDOG_S` seconds."""
        try:
            from microcontroller import watchdog
            from watchdog import WatchDogMode
        except ImportError:
            return  # a computer: nothing to reset
        if watchdog is None:
            return  # a board without one
        watchdog.timeout = WATCHDOG_S
        watchdog.mode = WatchDogMode.RESET
        self._watchdog = watchdog

    def feed(self):
        if self._watchdog is not None:
            self._watchdog.feed()

    def reload(self):
        """Soft restart: the cure for a fragmented heap."""
        reload()


def _text(value):
    """A string from the ESP32's answer: bytes with a NUL before ESP32SPI 8.0."""
    if isinstance(value, bytes):
        value = value.decode()
    return value.replace("\x00", "")


def reload():
    """Restart code.py (``supervisor.reload``); ``SystemExit`` where there is no supervisor."""
    try:
        import supervisor
    except ImportError:
        raise SystemExit("reload") from None
    supervisor.reload()
    raise SystemExit("reload")


def free_space(folder):
    """Free bytes in ``folder`` (``None`` if unknown)."""
    try:
        st = os.statvfs(folder or "/")
        return st[0] * st[3]
    except (OSError, AttributeError):
        return None
