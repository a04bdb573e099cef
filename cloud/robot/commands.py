"""Drive commands as the API takes them: validation, defaults, sequence numbers (pure).

The rules, defaults and aliases are the command contract's (:mod:`contracts.command`), which
the agent and the API's request model use too; ``tests/contracts/test_command.py`` feeds all
three one table of cases. The agent checks again: the API is not the only way onto the topic.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from cloud.robot.errors import BadCommand
from contracts import command as contract
from contracts import safejson
from contracts.errors import CommandRefused

MAX_BODY_BYTES = 1024
MAX_BODY_DEPTH = 4  # a command is one flat object; nothing deeper is ever valid


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


def validate(data: dict[str, Any], *, legacy: bool = False) -> dict[str, Any]:
    """The command a request body asks for, defaults filled in.

    ``{"action", "speed", "duration_ms"}``, or the analog ``{"action": "drive", "left",
    "right", "duration_ms"}``; either with the optional ``client`` (the page's id, for the
    driver lease) and ``take_over``. What is valid is the command schema's to say
    (:mod:`contracts.command`); this fills in what the body leaves out.

    :param legacy: the original web app's ``POST /publish`` body.
    :raises BadCommand: with a message naming the field.
    """
    try:
        contract.check(data, legacy=legacy)
    except CommandRefused as exc:
        raise BadCommand(str(exc)) from None
    action = contract.canonical(data["action"])
    if legacy:
        return {"action": action, "speed": contract.LEGACY_SPEED,
                "duration_ms": contract.LEGACY_DURATION_MS}
    command: dict[str, Any] = {"action": action}
    if action == "drive":
        command["left"], command["right"] = float(data["left"]), float(data["right"])
    else:
        command["speed"] = float(data.get("speed", contract.DEFAULT_SPEED))
    command["duration_ms"] = int(data.get("duration_ms", contract.DEFAULT_DURATION_MS))
    if "client" in data:
        command["client"] = data["client"]
    if data.get("take_over"):
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
            user: str | None = None, user_name: str | None = None) -> dict[str, Any]:
    """The MQTT payload for ``robot/{name}/cmd``; ``user`` is the signed-in identity (the
    robot's driver lease keys on it) and ``user_name`` what to show for it."""
    payload = {"id": uuid.uuid4().hex, "seq": seq, **command, "issued_ms": issued_ms}
    if user:
        payload["user"] = user[:128]
    if user_name:
        payload["user_name"] = user_name[:128]
    return payload
