"""The one way a process-wide object is built: lazily, once, thread-safely.

A warm Lambda container keeps module state between invocations, so clients and services are
built on first use (importing a handler stays cheap, and a configuration error surfaces on the
first request with the message naming the setting) and then reused. The local stack runs
handlers in threads, hence the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """``build()``'s result, made on the first :meth:`get` and kept; tests :meth:`set` it."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is not None:  # the warm path: no lock
            return value
        with self._lock:
            if self._value is None:
                self._value = self._build()
            return self._value

    def peek(self) -> T | None:
        """The value if it was built, without building it."""
        return self._value

    def set(self, value: T | None) -> None:
        """Use ``value`` from now on; ``None`` forgets it, so the next :meth:`get` builds."""
        with self._lock:
            self._value = value
