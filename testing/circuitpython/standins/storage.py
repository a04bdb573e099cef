"""``storage``: the SD card "mounts" on the drive's ``sd`` folder, which must exist
(shared-module/storage/__init__.c: "Mount point directory missing"); the flash stays
read-only for the app, as without MARS_FLASH_WRITABLE."""

import os

mounts = {}


class VfsFat:
    def __init__(self, block_device):
        self.readonly = False


def mount(vfs, path, readonly=False):
    try:
        is_dir = os.stat(path.strip("/"))[0] & 0x4000
    except OSError:
        is_dir = False
    if not is_dir:
        raise RuntimeError("Mount point directory missing")
    mounts[path] = vfs


class _Flash:
    readonly = True


def getmount(path):
    return mounts[path] if path in mounts else _Flash()


def remount(path, readonly=False, disable_concurrent_write_protection=False):
    _Flash.readonly = readonly
