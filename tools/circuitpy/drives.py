"""Finding the CIRCUITPY drive on macOS, Linux and Windows."""

from __future__ import annotations

import getpass
import os
import string
import sys
from pathlib import Path

LABEL = "CIRCUITPY"


def candidates() -> list[Path]:
    """Where a board's drive appears on this system."""
    if sys.platform == "darwin":
        return [Path("/Volumes") / LABEL]
    if sys.platform == "win32":
        return _windows_drives()
    user = os.environ.get("USER") or getpass.getuser()
    return [Path("/media") / user / LABEL, Path("/run/media") / user / LABEL,
            Path("/media") / LABEL, Path("/mnt") / LABEL]


def _windows_drives() -> list[Path]:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    mask = kernel32.GetLogicalDrives()
    found = []
    for i, letter in enumerate(string.ascii_uppercase):
        if not mask & (1 << i):
            continue
        root = f"{letter}:\\"
        name = ctypes.create_unicode_buffer(261)
        ok = kernel32.GetVolumeInformationW(root, name, 261, None, None, None, None, 0)
        if ok and name.value == LABEL:
            found.append(Path(root))
    return found


def is_circuitpy(path: Path) -> bool:
    """A CircuitPython drive has ``boot_out.txt`` at its root."""
    return (path / "boot_out.txt").is_file()
