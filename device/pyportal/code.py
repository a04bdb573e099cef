"""Mars weather and the latest rover photo on an Adafruit PyPortal: wiring and main loop.

Copy this folder to CIRCUITPY and fill in settings.toml (see README.md).
"""

import gc
import time

import board

import diagnostics
from app import App
from errors import SettingError
from hardware import Hardware, mem_free, reload
from screen import Screen
from settings import load

RESTART_AFTER_S = 10  # time to read the error on the serial console before a restart


def make_screen(hw, settings):
    """The classic screen, or with ``VIEW`` set the Photo, Weather and Gallery views (only
    then imported: heap), and the app class that drives it."""
    if settings is not None and settings.view:
        from views import Views
        from viewsapp import ViewsApp

        return Views(hw.width, hw.height), ViewsApp
    return Screen(hw.width, hw.height), App


def main():
    hw = Hardware()
    try:
        settings, error = load(), None
    except SettingError as e:
        settings, error = None, e
    screen, app_class = make_screen(hw, settings)
    hw.display.root_group = screen
    gc.collect()
    free = mem_free()
    print("mars: %dx%d, storage: %s, free %s" % (hw.width, hw.height, hw.storage_note, free))

    if error is not None:
        print("settings: %s" % error)
        screen.show_weather(("Setup needed", "", "%s %s" % (error.name, error.problem),
                             "set it in settings.toml"))
        screen.show_status("%s: see settings.toml" % error.name, "error")
        while True:  # nothing to do until the file is fixed; saving it restarts the board
            time.sleep(60)

    def show_diagnostics(to_serial=True):
        found = diagnostics.lines(getattr(board, "board_id", "?"), hw.radio_info(), free,
                                  hw.storage_note, app.api)
        if to_serial:
            for line in found:
                print(line)
        app.show_diagnostics(found)

    app = app_class(hw, screen, settings, on_long_press=show_diagnostics)
    show_diagnostics(to_serial=False)  # what is known before Wi-Fi, on screen at once
    hw.start_watchdog()
    gc.collect()
    app.refresh()
    show_diagnostics()  # now with the ESP32, the Wi-Fi and the API's answer
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
