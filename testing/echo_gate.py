"""Gates shared by every container of the echo routes (a fresh container re-runs
``echo_routes`` with its own globals, but imports this module as it is, like a bucket)."""

import threading

_lock = threading.Lock()
_gates: dict[str, threading.Event] = {}


def gate(name: str) -> threading.Event:
    with _lock:
        return _gates.setdefault(name, threading.Event())
