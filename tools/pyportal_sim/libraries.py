"""The Adafruit libraries each CircuitPython release freezes into the PyPortal firmware.

One hash-pinned requirements file per set of releases in ``firmwares/``, named after the last
release of the set (``9.2.9.txt`` covers 9.2.5 to 9.2.9, as its first line says); ``make venv``
installs each into ``<venv>/circuitpython-libs/<set>/`` with ``pip --no-deps --target``. The
versions were read from the ``frozen/`` submodules of github.com/adafruit/circuitpython at each
release tag (the device README has the table). The simulator's ``--firmware`` and the tests on
CircuitPython's own core (``testing/circuitpython``) run these folders.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

REQUIREMENTS = Path(__file__).parent / "firmwares"
# the distributions a set pins -> the top-level module each provides
MODULES = {"adafruit-circuitpython-requests": "adafruit_requests",
           "adafruit-circuitpython-connectionmanager": "adafruit_connection_manager",
           "adafruit-circuitpython-esp32spi": "adafruit_esp32spi",
           "adafruit-circuitpython-display-text": "adafruit_display_text"}
_SPAN = re.compile(r"^# CircuitPython (\d+\.\d+\.\d+)(?: to (\d+\.\d+\.\d+))?:", re.M)
_PIN = re.compile(r"^([a-z0-9-]+)==([\w.]+)", re.M)


def version_tuple(text: str) -> tuple[int, ...]:
    """``"9.2.10"`` -> ``(9, 2, 10)``; ValueError for anything else."""
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{text!r} is not a release number like 10.2.1")
    return tuple(int(p) for p in parts)


@dataclass(frozen=True)
class LibrarySet:
    """The frozen libraries of the releases ``first`` to ``name``."""

    name: str  # the last release of the set, e.g. "9.2.9"
    first: str
    versions: dict[str, str]  # module name -> library version

    @property
    def folder(self) -> Path:
        """Where ``make venv`` installed the set (in the running virtualenv)."""
        return Path(sys.prefix) / "circuitpython-libs" / self.name

    @property
    def releases(self) -> str:
        return self.name if self.first == self.name else f"{self.first} to {self.name}"

    def covers(self, release: str) -> bool:
        return version_tuple(self.first) <= version_tuple(release) <= version_tuple(self.name)

    def require(self) -> Path:
        """The installed folder; :class:`FileNotFoundError` naming the fix when it is not."""
        if not (self.folder / ".installed").exists():
            raise FileNotFoundError(f"the libraries of CircuitPython {self.name} are not "
                                    f"installed in {self.folder}: run `make venv`")
        return self.folder

    def describe(self) -> str:
        return ", ".join(f"{m} {v}" for m, v in self.versions.items())


def _load(path: Path) -> LibrarySet:
    text = path.read_text()
    span = _SPAN.search(text)
    if span is None or (span.group(2) or span.group(1)) != path.stem:
        raise ValueError(f"{path}: the first line must say which releases it covers")
    versions = {MODULES[dist]: version for dist, version in _PIN.findall(text)}
    return LibrarySet(name=path.stem, first=span.group(1), versions=versions)


SETS: dict[str, LibrarySet] = {
    s.name: s for s in sorted((_load(p) for p in REQUIREMENTS.glob("*.txt")),
                              key=lambda s: version_tuple(s.name))}
NEWEST = list(SETS)[-1]


def for_release(release: str) -> LibrarySet:
    """The set a CircuitPython release freezes; ValueError naming the releases known."""
    for libs in SETS.values():
        if libs.covers(release):
            return libs
    known = "; ".join(s.releases for s in SETS.values())
    raise ValueError(f"CircuitPython {release}: its frozen libraries are not known here "
                     f"(known: {known})")
