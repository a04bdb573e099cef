"""Every device module imports only what the PyPortal firmware has, or what is on the drive.

The firmware's modules and frozen libraries come from the ``circuitpython-stubs`` board
definitions (PyPortal, Pynt and Titano: the app must run on all three).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from testing.pyportal_device import DEVICE_FILES, firmware
from tools.circuitpy.install import LIBRARIES, library_source


def imports(path: Path) -> set[str]:
    """Top-level modules imported by ``path``, except those guarded by ``try``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    guarded = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try)
               for stmt in t.body for n in ast.walk(stmt)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_stubs_know_the_pyportal():
    mods = firmware()
    assert {"displayio", "adafruit_requests", "adafruit_esp32spi", "sdcardio"} <= mods
    assert "adafruit_touchscreen" not in mods  # hence the installer copies it



@pytest.mark.parametrize("path", DEVICE_FILES, ids=[p.name for p in DEVICE_FILES])
def test_device_file_imports(path):
    allowed = firmware() | {p.stem for p in DEVICE_FILES} | set(LIBRARIES)
    assert imports(path) - allowed == set()


@pytest.mark.parametrize("module", sorted(LIBRARIES))
def test_copied_libraries_need_only_the_firmware(module):
    assert imports(library_source(module, LIBRARIES[module])) - firmware() == set()


def test_no_typing_or_stdlib_leaks():
    used = set().union(*(imports(p) for p in DEVICE_FILES))
    assert not used & {"typing", "pathlib", "dataclasses", "socket", "requests", "board_def"}
