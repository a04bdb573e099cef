"""System packages some tests need (not pip packages), one place that knows how to find them.

A test that needs one is marked ``@needs("mosquitto")``; without it the test is skipped with a
reason that names the package, and ``make test`` ends with one line listing every package whose
absence skipped tests (``tests/conftest.py``). The top README says how to install them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from testing.browser import CHROMIUM
from testing.mqtt_brokers import mosquitto_path
from tools.circuitpy.mpy import core_folder

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PYTHON = Path("/usr/bin/python3")
PREFIX = "missing system package: "


def _system_python_has(module: str) -> bool:
    if not SYSTEM_PYTHON.exists():
        return False
    return subprocess.run([str(SYSTEM_PYTHON), "-c", f"import {module}"],
                          capture_output=True).returncode == 0


PRESENT: dict[str, Callable[[], bool]] = {
    "mosquitto": lambda: mosquitto_path() is not None,
    "chromium": CHROMIUM.exists,
    "systemd": lambda: shutil.which("systemd-analyze") is not None,
    "python3": SYSTEM_PYTHON.exists,
    "python3-venv": lambda: _system_python_has("ensurepip"),
    "python3-numpy": lambda: _system_python_has("numpy"),
    "faketime": lambda: shutil.which("faketime") is not None,
}
"""Debian package name -> whether it is installed (the names .ci/apt-packages lists)."""

KITS: dict[str, Callable[[], bool]] = {
    # CircuitPython's core kit: $CIRCUITPYTHON_CORE, else ../shared/circuitpython-core
    "circuitpython-core": lambda: core_folder() is not None,
}
"""What the tests find beside the clone rather than install from Debian, named as a package."""


def missing(*packages: str) -> list[str]:
    """Which of ``packages`` are not installed."""
    return [name for name in packages if not {**PRESENT, **KITS}[name]()]


def reason(absent: Iterable[str]) -> str:
    """The skip reason for ``absent`` packages, in the form the summary line collects."""
    return PREFIX + ", ".join(absent)


def needs(*packages: str) -> pytest.MarkDecorator:
    """Skip the test unless every one of ``packages`` is installed."""
    absent = missing(*packages)
    return pytest.mark.skipif(bool(absent), reason=reason(absent))


def skipped_for(reasons: Iterable[str]) -> Counter[str]:
    """How many skips each missing package caused, from the skip reasons."""
    counts: Counter[str] = Counter()
    for text in reasons:
        found = re.search(re.escape(PREFIX) + r"([\w.+-]+(?:, [\w.+-]+)*)", text)
        if found:
            counts.update(found.group(1).split(", "))
    return counts


def summary_line(counts: Counter[str]) -> str:
    """The last line of ``make test``."""
    if not counts:
        return "system packages: none missing, no test skipped for lack of one"
    listed = ", ".join(f"{name} ({count} test{'s' if count > 1 else ''})"
                       for name, count in sorted(counts.items()))
    return (f"system packages missing, tests skipped: {listed}; "
            "README.md 'System packages' says how to install them")
