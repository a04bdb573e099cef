"""What the robot tells MQTT, and when: coalesced while it drives, at once when it matters.

AWS IoT Core bills every message a device publishes, and a retained one twice. A joystick sends
about 20 commands a second and the acceleration limit steps the wheels every 25 ms: reported
one by one, that is some 40 messages a second. So while the wheels change, the robot publishes
at most one status (retained) and one telemetry message per :data:`REPORT_S`: the latest state,
and the events since the last one in a single batch. What someone must see now goes at once,
with whatever was waiting: a stop (the wheels back to zero), a refused command, a lease change,
a camera change, the link coming up. The driver does not wait for any of it: the agent sends
every state to the viewers' data channels as it happens.

A telemetry message is one event (``{"event": "motors", ...}``), or, when several were
folded together, ``{"event": "batch", "events": [...]}`` oldest first; :func:`events` reads
either. A batch stays within one billed message (5 KB with its topic): past
:data:`MAX_BATCH_BYTES` the oldest motor steps (then refusals) are left out and counted in
``"dropped"``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

#: At most one status and one telemetry message this often while the wheels change.
REPORT_S = 1.0
#: Urgent messages of one kind beyond this many within one :data:`REPORT_S` wait for the next
#: one (a flood of refused commands must not become a flood of messages).
URGENT_BURST = 10
#: One billed IoT message is 5 KB of payload and topic; a batch keeps well inside it.
MAX_BATCH_BYTES = 4096

#: What a full batch leaves out first (oldest first within each kind).
DROPPABLE = ("motors", "rejected")

Schedule = Callable[[float, Callable[[], None]], Any]  # (delay_s, callback) -> a handle


def events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The events in one telemetry message, oldest first (a batch, or one event)."""
    if message.get("event") == "batch" and isinstance(message.get("events"), list):
        return [e for e in message["events"] if isinstance(e, dict)]
    return [message]


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


def batch(pending: list[dict[str, Any]], t_ms: int,
          limit: int = MAX_BATCH_BYTES) -> dict[str, Any]:
    """One telemetry message for ``pending`` (not empty): the event itself, or a batch.

    When the batch would outgrow ``limit`` the oldest motor steps go first, then the oldest
    refusals (a flood of them); lease changes and the newest event are always kept.
    """
    if len(pending) == 1:
        return pending[0]
    kept = list(pending)
    dropped = 0
    message = {"event": "batch", "t_ms": t_ms, "events": kept}
    for kind in DROPPABLE:
        while _size(message) > limit:
            oldest = next((i for i, e in enumerate(kept) if e.get("event") == kind
                           and i < len(kept) - 1), None)
            if oldest is None:
                break
            del kept[oldest]
            dropped += 1
            message["dropped"] = dropped
    return message


class Reporter:
    """Decides when the status and the telemetry go out.

    :param send_status: publishes the latest status (called when it is due).
    :param send_telemetry: publishes one telemetry message.
    :param schedule: runs a callback after a delay (the event loop's ``call_later``); ``None``
        (no loop yet) sends everything at once.
    :param clock: monotonic seconds.
    :param now_ms: the timestamp a batch carries.
    """

    def __init__(self, send_status: Callable[[], None],
                 send_telemetry: Callable[[dict[str, Any]], None],
                 schedule: Callable[[], Schedule | None], clock: Callable[[], float],
                 now_ms: Callable[[], int], interval_s: float = REPORT_S) -> None:
        self.send_status = send_status
        self.send_telemetry = send_telemetry
        self.schedule = schedule
        self.clock = clock
        self.now_ms = now_ms
        self.interval_s = interval_s
        self.pending: list[dict[str, Any]] = []
        self.status_due = False
        self._last = {"status": -math.inf, "telemetry": -math.inf}
        self._urgent: dict[str, list[float]] = {"status": [], "telemetry": []}
        self._timers: dict[str, Any] = {}

    def status(self, urgent: bool = True) -> None:
        """The state changed; ``urgent``: publish it now, else within :data:`REPORT_S`."""
        self.status_due = True
        self._due("status", urgent)

    def event(self, event: dict[str, Any], urgent: bool = True) -> None:
        """A telemetry event; ``urgent`` sends it (and what waits) now."""
        self.pending.append(event)
        self._due("telemetry", urgent)

    def drop_pending(self) -> None:
        """Forget what waits (the link went down: it would be stale when it comes back)."""
        self.pending.clear()
        self.status_due = False
        self.cancel()

    def cancel(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _due(self, kind: str, urgent: bool) -> None:
        now = self.clock()
        later = self.schedule()
        if later is None:
            self._flush(kind)
            return
        if urgent and self._may_hurry(kind, now):
            self._flush(kind)  # outside the routine pace: it does not delay the next step
            return
        wait = self._last[kind] + self.interval_s - now
        if wait <= 0:
            self._last[kind] = now
            self._flush(kind)
        elif kind not in self._timers:
            self._timers[kind] = later(wait, lambda: self._routine(kind))

    def _routine(self, kind: str) -> None:
        self._last[kind] = self.clock()
        self._flush(kind)

    def _may_hurry(self, kind: str, now: float) -> bool:
        recent = self._urgent[kind] = [t for t in self._urgent[kind] if now - t < self.interval_s]
        if len(recent) >= URGENT_BURST:
            return False
        recent.append(now)
        return True

    def _flush(self, kind: str) -> None:
        timer = self._timers.pop(kind, None)
        if timer is not None:
            timer.cancel()
        if kind == "status":
            if self.status_due:
                self.status_due = False
                self.send_status()
        elif self.pending:
            pending, self.pending = self.pending, []
            self.send_telemetry(batch(pending, self.now_ms()))
