"""Drive commands: parsing and validation (pure functions), and the order/age gate.

A command on ``robot/{name}/cmd``::

    {"id": "...", "seq": 17, "action": "forward", "speed": 0.5, "duration_ms": 250,
     "issued_ms": 1767225600000}

The original web app's body on ``{name}/action`` is ``{"action": "forward|backwards|..."}``:
it has no id, seq or issued time, so it is neither ordered nor aged, and runs with the
configured legacy speed and duration.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass

from robot_agent.config import CommandLimits
from robot_agent.errors import BadCommand

ACTIONS = ("forward", "backward", "left", "right", "stop")
ALIASES = {"backwards": "backward"}  # the original web app's spelling
FIELDS = {"id", "seq", "action", "speed", "duration_ms", "issued_ms"}


@dataclass(frozen=True)
class Command:
    id: str
    action: str
    speed: float
    duration_ms: int
    seq: int | None = None  # None: legacy, unordered
    issued_ms: int | None = None  # None: legacy, not aged


def _number(body: dict, key: str, cid: str | None, integer: bool = False):
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise BadCommand("invalid", f"{key} must be a number", cid)
    if integer and value != int(value):
        raise BadCommand("invalid", f"{key} must be a whole number", cid)
    return int(value) if integer else float(value)


def values(action: str, speed: float) -> tuple[float, float]:
    """Motor values ``(left, right)`` in -1..1 for ``action`` at ``speed``."""
    return {
        "forward": (speed, speed),
        "backward": (-speed, -speed),
        "left": (-speed, speed),
        "right": (speed, -speed),
        "stop": (0.0, 0.0),
    }[action]


def parse(payload: bytes, limits: CommandLimits, *, legacy: bool = False) -> Command:
    """Validate one MQTT payload.

    :param legacy: it came on the original ``{name}/action`` topic.
    :raises BadCommand: with a reason code; nothing has moved.
    """
    if len(payload) > limits.max_payload_bytes:
        raise BadCommand("too_large", f"payload is {len(payload)} bytes "
                                      f"(limit {limits.max_payload_bytes})")
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BadCommand("malformed", "payload is not JSON") from None
    if not isinstance(body, dict):
        raise BadCommand("malformed", "payload must be a JSON object")
    cid = body.get("id")
    cid = cid if isinstance(cid, str) and 0 < len(cid) <= 64 else None
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise BadCommand("invalid", f"unknown field {unknown[0]!r}", cid)
    action = body.get("action")
    if not isinstance(action, str):
        raise BadCommand("invalid", "action is required", cid)
    action = ALIASES.get(action, action)
    if action not in ACTIONS:
        raise BadCommand("invalid", f"action must be one of {', '.join(ACTIONS)}", cid)
    default_speed = limits.legacy_speed if legacy else limits.default_speed
    default_ms = limits.legacy_duration_ms if legacy else limits.default_duration_ms
    speed = _number(body, "speed", cid) if "speed" in body else default_speed
    if not 0.0 <= speed <= 1.0:
        raise BadCommand("invalid", "speed must be between 0 and 1", cid)
    duration = (_number(body, "duration_ms", cid, integer=True) if "duration_ms" in body
                else default_ms)
    if not limits.min_duration_ms <= duration <= limits.max_duration_ms:
        raise BadCommand("invalid", f"duration_ms must be between {limits.min_duration_ms} "
                                    f"and {limits.max_duration_ms}", cid)
    seq = issued = None
    if not legacy:
        if cid is None:
            raise BadCommand("invalid", "id must be a string of 1-64 characters")
        for key in ("seq", "issued_ms"):
            if key not in body:
                raise BadCommand("invalid", f"{key} is required", cid)
        seq = _number(body, "seq", cid, integer=True)
        issued = _number(body, "issued_ms", cid, integer=True)
        if seq < 0:
            raise BadCommand("invalid", "seq must not be negative", cid)
    return Command(id=cid or f"legacy-{uuid.uuid4().hex[:12]}", action=action, speed=speed,
                   duration_ms=duration, seq=seq, issued_ms=issued)


class Gate:
    """Drops stale, replayed and out-of-order commands.

    ``seq`` must rise: a command whose ``seq`` equals the last applied one is a replay (a QoS 1
    redelivery or a copy), lower is out of order. A command issued more than
    ``max_age_ms`` ago is stale; so is one from the future beyond the same margin (a clock far
    off is a fault, not a reason to move).
    """

    def __init__(self, max_age_ms: int) -> None:
        self.max_age_ms = max_age_ms
        self.last_seq: int | None = None

    def check(self, command: Command, now_ms: int) -> None:
        """:raises BadCommand: ``stale``, ``replayed`` or ``out_of_order``."""
        if command.issued_ms is not None:
            age = now_ms - command.issued_ms
            if age > self.max_age_ms or age < -self.max_age_ms:
                raise BadCommand("stale", f"issued {age} ms ago (limit {self.max_age_ms} ms)",
                                 command.id)
        if command.seq is not None and self.last_seq is not None:
            if command.seq == self.last_seq:
                raise BadCommand("replayed", f"seq {command.seq} was already applied",
                                 command.id)
            if command.seq < self.last_seq:
                raise BadCommand("out_of_order", f"seq {command.seq} is below the last "
                                                 f"applied {self.last_seq}", command.id)

    def applied(self, command: Command) -> None:
        if command.seq is not None:
            self.last_seq = command.seq
