"""Helpers for the tests of the PyPortal's own code: what the firmware provides, a touchscreen
to press, and the panel's pixels (RGB565, the committed golden screens)."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from testing.data import DATA
from tools.pyportal_sim.runner import DEVICE_DIR

GOLDEN = DATA / "golden"


BOARDS = ("pyportal", "pyportal_pynt", "pyportal_titano")


# MicroPython core modules every build has; the stubs do not list them
CORE = {"gc", "micropython", "builtins", "sys", "math"}


def board_modules(board: str) -> set[str]:
    """The modules and frozen libraries of ``board``'s firmware (circuitpython-stubs)."""
    import board_definitions

    stub = Path(board_definitions.__path__[0]) / board / "__init__.pyi"
    text = stub.read_text()
    found: set[str] = set()
    for heading in ("Included modules", "Frozen libraries"):
        listed = re.search(rf"- {heading}: (.*)", text)
        assert listed is not None, f"{stub} lists no {heading}"
        found |= {name.strip().split(".")[0] for name in listed.group(1).split(",")}
    return found


def firmware() -> set[str]:
    """What every PyPortal board's firmware has."""
    sets = [board_modules(b) for b in BOARDS]
    return set.intersection(*sets) | CORE


DEVICE_FILES = sorted(DEVICE_DIR.glob("*.py"))



def rgb565(color: int) -> tuple[int, int, int]:
    """How the panel shows a 24-bit colour."""
    r, g, b = (color >> 19) & 0x1F, (color >> 10) & 0x3F, (color >> 3) & 0x1F
    return (r << 3) | (r >> 2), (g << 2) | (g >> 4), (b << 3) | (b >> 2)


def compare_golden(name: str, image: Image.Image) -> None:
    """``image`` against the committed ``testing/data/golden/{name}.png``
    (``REGENERATE_GOLDEN=1`` rewrites it)."""
    path = GOLDEN / f"{name}.png"
    if os.environ.get("REGENERATE_GOLDEN") == "1" or not path.exists():
        image.save(path)
        if os.environ.get("REGENERATE_GOLDEN") != "1":
            pytest.fail(f"golden {path.name} was missing and has been written; check it")
    golden = Image.open(path).convert("RGB")
    assert golden.size == image.size
    diff = ImageChops.difference(golden, image).getbbox()
    assert diff is None, f"{name} differs from {path} in {diff}"


def colors(image: Image.Image, box: tuple[int, int, int, int]) -> Counter:
    """How many pixels of each colour ``box`` holds."""
    return Counter(image.crop(box).get_flattened_data())



# the diag lines of a board as a maker would paste them (the screens' goldens show these)
DIAG = ["diag: firmware CircuitPython 9.2.8", "diag: board pyportal",
        "diag: esp32 firmware 1.7.7", "diag: free memory 61840 bytes", "diag: storage SD card",
        "diag: wifi MyWiFi signal -58 dBm (good)", "diag: api HTTP 200 in 2310 ms"]


class Touch:
    """A touchscreen for tests: set ``touch_point`` to ``(x, y, pressure)`` or ``None``."""

    touch_point: tuple[int, int, int] | None = None

