"""Waiting on a condition instead of sleeping a fixed time and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(predicate: Callable[[], T | None], timeout: float = 10.0, step: float = 0.002,
               message: str | Callable[[], str] | None = None) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    :param timeout: seconds before giving up; size it for a loaded 2-core machine, it only
        costs time when the test fails anyway.
    :param message: what failed, or a function that says it (called only on failure).
    :raises AssertionError: the condition did not hold within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(text or f"condition not met within {timeout} s")
        time.sleep(step)
