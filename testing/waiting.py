"""Waiting on a condition instead of sleeping a fixed time and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


#: The longest pause between two polls: a long wait polls 50 times a second, not 500 (some
#: predicates read a whole log), and answers at most this late.
MAX_STEP_S = 0.02


def wait_until(predicate: Callable[[], T | None], timeout: float = 10.0,
               step: float | None = None,
               message: str | Callable[[], str] | None = None) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    :param timeout: seconds before giving up; size it for a loaded 2-core machine, it only
        costs time when the test fails anyway.
    :param step: a fixed pause between polls (a test timing by the poll asks for a short one);
        by default the pause starts at 2 ms and grows to :data:`MAX_STEP_S`.
    :param message: what failed, or a function that says it (called only on failure).
    :raises AssertionError: the condition did not hold within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    pause, grow = (0.002, 1.5) if step is None else (step, 1.0)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(text or f"condition not met within {timeout} s")
        time.sleep(pause)
        pause = min(pause * grow, max(pause, MAX_STEP_S))
