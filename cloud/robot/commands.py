"""Drive commands as the API takes them: validation, defaults, sequence numbers (pure).

The rules match the agent's (``robot_agent.commands``); a test feeds both the same cases.
The agent checks again: the API is not the only way onto the topic.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from cloud import safejson
from cloud.robot.errors import BadCommand

ACTIONS = ("forward", "backward", "left", "right", "stop", "drive")
ALIASES = {"backwards": "backward"}
MAX_BODY_BYTES = 1024
MAX_BODY_DEPTH = 4  # a command is one flat object; nothing deeper is ever valid
SPEED_RANGE = (0.0, 1.0)
WHEEL_RANGE = (-1.0, 1.0)  # action "drive": each wheel's speed, negative = backwards
CLIENT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DURATION_RANGE = (50, 1000)
DEFAULT_SPEED = 0.5
DEFAULT_DURATION_MS = 250
# The original web app sends only {"action": ...}; its agent ran 0.2 s at full speed.
LEGACY_SPEED = 1.0
LEGACY_DURATION_MS = 200


def read_body(body: str | None, is_base64: bool = False) -> dict[str, Any]:
    """The JSON object in a proxy event's body.

    :raises BadCommand: empty, over 1 KB, not JSON, or not an object.
    """
    if not body:
        raise BadCommand("the body must be a JSON object such as "
                         '{"action": "forward", "speed": 0.5, "duration_ms": 250}')
    try:
        raw = base64.b64decode(body, validate=True) if is_base64 else body.encode("utf-8")
    except (binascii.Error, UnicodeEncodeError):
        raise BadCommand("the body is not readable text") from None
    if len(raw) > MAX_BODY_BYTES:
        raise BadCommand(f"the body is {len(raw)} bytes; a command is at most "
                         f"{MAX_BODY_BYTES} bytes")
    try:
        data = safejson.loads(raw, max_bytes=MAX_BODY_BYTES, max_depth=MAX_BODY_DEPTH)
    except safejson.UnsafeJson as exc:
        raise BadCommand(f"the body is not a valid command: {exc}") from None
    if not isinstance(data, dict):
        raise BadCommand("the body must be a JSON object")
    return data


def _number(data: dict[str, Any], key: str, low: float, high: float) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise BadCommand(f"{key} must be a number")
    if not low <= value <= high:
        raise BadCommand(f"{key} must be between {low:g} and {high:g}")
    return value


def validate(data: dict[str, Any], *, legacy: bool = False) -> dict[str, Any]:
    """The command a request body asks for, defaults filled in.

    ``{"action", "speed", "duration_ms"}``, or the analog ``{"action": "drive", "left",
    "right", "duration_ms"}``; either with the optional ``client`` (the page's id, for the
    driver lease) and ``take_over``.

    :param legacy: the original web app's ``POST /publish`` body.
    :raises BadCommand: with a message naming the field.
    """
    allowed = {"action"} if legacy else {"action", "speed", "duration_ms", "left", "right",
                                         "client", "take_over"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadCommand(f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    action = data.get("action")
    if not isinstance(action, str):
        raise BadCommand(f"action is required: one of {', '.join(ACTIONS)}")
    action = ALIASES.get(action, action)
    if action not in ACTIONS or (legacy and action == "drive"):
        raise BadCommand(f"action must be one of {', '.join(ACTIONS)} (got {action[:20]!r})")
    if legacy:
        return {"action": action, "speed": LEGACY_SPEED, "duration_ms": LEGACY_DURATION_MS}
    command: dict[str, Any] = {"action": action}
    if action == "drive":
        if "speed" in data:
            raise BadCommand('action "drive" takes left and right, not speed')
        for key in ("left", "right"):
            if key not in data:
                raise BadCommand(f'{key} is required with action "drive" (-1..1)')
            command[key] = float(_number(data, key, *WHEEL_RANGE))
    else:
        for key in ("left", "right"):
            if key in data:
                raise BadCommand(f'{key} goes only with action "drive"')
        command["speed"] = (float(_number(data, "speed", *SPEED_RANGE)) if "speed" in data
                            else DEFAULT_SPEED)
    duration = DEFAULT_DURATION_MS
    if "duration_ms" in data:
        value = _number(data, "duration_ms", *DURATION_RANGE)
        if value != int(value):
            raise BadCommand("duration_ms must be a whole number")
        duration = int(value)
    command["duration_ms"] = duration
    if "client" in data:
        if not isinstance(data["client"], str) or not CLIENT.match(data["client"]):
            raise BadCommand("client must be 1-64 of [A-Za-z0-9_.-]")
        command["client"] = data["client"]
    if "take_over" in data:
        if not isinstance(data["take_over"], bool):
            raise BadCommand("take_over must be true or false")
        if data["take_over"]:
            command["take_over"] = True
    return command


class Sequencer:
    """Per-robot sequence numbers that only rise, in one process and across processes.

    ``seq = max(last + 1, now_ms * 1000)``: milliseconds times a thousand, so every Lambda
    container (or a restarted local stack) starts above anything issued before it, while one
    process can still issue a thousand commands per millisecond in order. Two containers
    issuing within the same millisecond are ordered by clock skew, which the agent tolerates
    (it drops the lower one as out of order, never drives backwards in time).
    """

    def __init__(self, clock_ms: Callable[[], int] | None = None) -> None:
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, robot: str) -> int:
        with self._lock:
            seq = max(self._last.get(robot, 0) + 1, self.clock_ms() * 1000)
            self._last[robot] = seq
            return seq


def message(command: dict[str, Any], seq: int, issued_ms: int,
            user: str | None = None) -> dict[str, Any]:
    """The MQTT payload for ``robot/{name}/cmd``; ``user`` is the signed-in identity."""
    payload = {"id": uuid.uuid4().hex, "seq": seq, **command, "issued_ms": issued_ms}
    if user:
        payload["user"] = user[:128]
    return payload
