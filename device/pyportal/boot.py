"""Runs once at power-up, before the computer sees the CIRCUITPY drive.

By default nothing changes: the drive stays writable from your computer and the app keeps
its photo on the SD card (or shows the weather only). With ``MARS_FLASH_WRITABLE = 1`` in
settings.toml the flash becomes writable for the app instead, and READ-ONLY for the computer.
To undo it, start in safe mode (press reset, then press it again when the LED blinks yellow):
boot.py does not run, the drive is writable, and you can remove the line.
"""

import os

import storage

if str(os.getenv("MARS_FLASH_WRITABLE", "0")).strip() == "1":
    storage.remount("/", readonly=False)
    print("boot: flash writable by the app; the drive is read-only for the computer")
