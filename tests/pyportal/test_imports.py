"""Every device module imports only what the PyPortal firmware has, or what is on the drive.

The firmware's modules and frozen libraries come from the ``circuitpython-stubs`` board
definitions (PyPortal, Pynt and Titano: the app must run on all three).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tools.circuitpy.install import LIBRARIES, library_source
from tools.pyportal_sim.runner import DEVICE_DIR

BOARDS = ("pyportal", "pyportal_pynt", "pyportal_titano")
# MicroPython core modules every build has; the stubs do not list them
CORE = {"gc", "micropython", "builtins", "sys", "math"}


def board_modules(board: str) -> set[str]:
    import board_definitions

    stub = Path(board_definitions.__path__[0]) / board / "__init__.pyi"
    text = stub.read_text()
    found = set()
    for heading in ("Included modules", "Frozen libraries"):
        line = re.search(rf"- {heading}: (.*)", text).group(1)
        found |= {name.strip().split(".")[0] for name in line.split(",")}
    return found


def firmware() -> set[str]:
    sets = [board_modules(b) for b in BOARDS]
    return set.intersection(*sets) | CORE


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


DEVICE_FILES = sorted(DEVICE_DIR.glob("*.py"))


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
