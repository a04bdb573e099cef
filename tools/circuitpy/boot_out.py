"""What ``boot_out.txt`` on a CIRCUITPY drive says about the board, and whether the app runs.

CircuitPython writes it at every start, e.g.::

    Adafruit CircuitPython 9.2.1 on 2024-11-20; Adafruit PyPortal with samd51j20
    Board ID:pyportal
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NEEDED = (9, 0, 0)  # storage.mount, os.getenv settings and the frozen libraries the app uses
BOARDS = {"pyportal": "PyPortal", "pyportal_pynt": "PyPortal Pynt",
          "pyportal_titano": "PyPortal Titano"}
# (first, last, why): versions that run the app with a known problem
KNOWN_BAD = [((9, 0, 0), (9, 2, 3),
              "its adafruit_requests leaves a socket taken after a late answer (the app "
              "works around it); 9.2.4 or later is better")]
_HEAD = re.compile(r"CircuitPython (\d+)\.(\d+)\.(\d+)(\S*) on [^;]*; (.*?) with (\S+)")
_BOARD_ID = re.compile(r"^Board ID:\s*(\S+)", re.MULTILINE)


@dataclass
class BootOut:
    version: tuple[int, int, int]
    version_text: str
    board_name: str
    board_id: str | None

    @property
    def supported_board(self) -> bool:
        return self.board_id in BOARDS

    def warnings(self) -> list[str]:
        return [f"CircuitPython {self.version_text}: {why}" for first, last, why in KNOWN_BAD
                if first <= self.version <= last]


def parse(text: str) -> BootOut | None:
    """The first line and ``Board ID``; ``None`` when the text is not a boot_out.txt."""
    m = _HEAD.search(text)
    if m is None:
        return None
    version = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
    board_id = _BOARD_ID.search(text)
    return BootOut(version=version, version_text=".".join(m.group(i) for i in (1, 2, 3))
                   + m.group(4), board_name=m.group(5),
                   board_id=board_id.group(1) if board_id else None)
