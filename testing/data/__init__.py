"""Recorded and hand-written data the tests, the fakes and the benchmarks read, in one folder.

- ``cases/``: tables of inputs with the outcome every side must agree on (``command.json``);
- ``events/``: recorded API Gateway and Lambda events, by the function they are for;
- ``nasa/``: NASA feed answers as the fake NASA serves them (``{base}`` becomes its URL);
- ``mars_api/``: ``GET /mars`` answers as the fake Mars API serves them to the PyPortal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent


def load(relative: str) -> Any:
    """A JSON file of this folder: ``load("cases/command.json")``."""
    return json.loads((DATA / relative).read_text(encoding="utf-8"))
