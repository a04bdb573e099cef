"""Mars weather and the latest rover photo on an Adafruit PyPortal: wiring and main loop.

Copy this folder to CIRCUITPY and fill in settings.toml (see README.md).
"""

import gc
import sys
import time

import board

import diagnostics
from app import App
from errors import SettingError
from hardware import Hardware, mem_free, reload
from screen import Screen

RESTART_AFTER_S = 10  # time to read the error on the serial console before a restart


def read_settings():
    """``(settings, None)`` or ``(None, the SettingError)``; the module that reads them is let
    go afterwards: its checks are needed once (about 4 KB of heap)."""
    import settings

    try:
        return settings.load(), None
    except SettingError as e:
        return None, e
    finally:
        del settings
        sys.modules.pop("settings", None)


def main():
    hw = Hardware()
    settings, error = read_settings()
    screen = Screen(hw.width, hw.height, settings.view if settings is not None else None)
    hw.display.root_group = screen
    gc.collect()
    print("mars: %dx%d, storage: %s, free %s" % (hw.width, hw.height, hw.storage_note,
                                                   mem_free()))

    if error is not None:
        print("settings: %s" % error)
        screen.show_message(("Setup needed", "", "%s %s" % (error.name, error.problem),
                             "set it in settings.toml"))
        screen.show_status("%s: see settings.toml" % error.name, "error")
        while True:  # nothing to do until the file is fixed; saving it restarts the board
            time.sleep(60)

    def show_diagnostics(to_serial=True):
        gc.collect()  # the free heap now: after the first refresh, what the budget stands for
        found = diagnostics.lines(getattr(board, "board_id", "?"), hw.radio_info(),
                                  mem_free(), hw.storage_note, app.api)
        if to_serial:
            for line in found:
                print(line)
        app.show_diagnostics(found)

    app = App(hw, screen, settings, on_long_press=show_diagnostics)
    show_diagnostics(to_serial=False)  # what is known before Wi-Fi, on screen at once
    hw.start_watchdog()
    gc.collect()
    app.refresh()
    show_diagnostics()  # now with the ESP32, the Wi-Fi, the API's answer and the heap left
    while True:
        app.wait()
        app.refresh()


try:
    main()
except Exception as e:  # whatever it was, a restart is the board's only way on
    print("mars: stopped by %s: %s; restarting in %d s" % (type(e).__name__, e,
                                                         RESTART_AFTER_S))
    time.sleep(RESTART_AFTER_S)
    reload()
