"""Mars weather and the latest rover photo on an Adafruit PyPortal: wiring and main loop.

Copy this folder to CIRCUITPY and fill in settings.toml (see README.md).
"""

import gc
import time

from app import App
from errors import SettingError
from hardware import Hardware, mem_free
from screen import Screen
from settings import load

hw = Hardware()
screen = Screen(hw.width, hw.height)
hw.display.root_group = screen
print("mars: %dx%d, storage: %s, free %s" % (hw.width, hw.height, hw.storage_note, mem_free()))

try:
    settings = load()
except SettingError as e:
    print("settings: %s" % e)
    screen.show_weather(("Setup needed", "", "%s %s" % (e.name, e.problem),
                         "set it in settings.toml"))
    screen.show_status("%s: see settings.toml" % e.name, "error")
    while True:  # nothing to do until the file is fixed; saving it restarts the board
        time.sleep(60)

app = App(hw, screen, settings)
hw.start_watchdog()
gc.collect()
while True:
    app.refresh()
    app.wait()
