"""The Mars functions' recorded API Gateway and scheduler events (``testing/data/events/mars/``)."""

from __future__ import annotations

import copy
from typing import Any

from testing.data import load


def load_event(name: str, **changes: Any) -> dict[str, Any]:
    """A copy of the recorded event ``name`` (``"get_mars.json"``), top-level keys replaced."""
    event = copy.deepcopy(load(f"events/mars/{name}"))
    event.update(changes)
    return event
