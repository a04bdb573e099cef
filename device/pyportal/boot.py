"""Runs once at power-up and reset, before the computer sees the CIRCUITPY drive.

It makes the ``sd`` folder if it is missing: CircuitPython 9 and 10 mount an SD card only on
an existing folder, and make ``/sd`` only when they format a new drive, so a board upgraded in
place (or whose ``sd`` folder was deleted) would never use its card.

With ``MARS_FLASH_WRITABLE = 1`` in settings.toml the flash stays writable for the app, and
READ-ONLY for the computer. To undo it, start in safe mode (press reset, then press it again
when the LED blinks yellow): boot.py does not run, the drive is writable, and you can remove
the line.
"""

import os

import storage

flash_writable = str(os.getenv("MARS_FLASH_WRITABLE", "0")).strip() == "1"


def has_folder(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0  # S_IFDIR
    except OSError:
        return False


if not has_folder("sd"):  # the working folder is "/" at boot
    try:
        storage.remount("/", readonly=False)
        os.mkdir("sd")
        print("boot: made the sd folder the SD card mounts on")
    except (OSError, RuntimeError) as e:
        print("boot: could not make the sd folder: %s" % e)
    if not flash_writable:
        storage.remount("/", readonly=True)  # the drive back to the computer

if flash_writable:
    storage.remount("/", readonly=False)
    print("boot: flash writable by the app; the drive is read-only for the computer")
