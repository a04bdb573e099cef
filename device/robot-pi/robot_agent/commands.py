"""Drive commands: parsing and validation (pure functions); freshness and order are in
:mod:`robot_agent.freshness`.

A command on ``robot/{name}/cmd``::

    {"id": "...", "seq": 17, "action": "forward", "speed": 0.5, "duration_ms": 250,
     "issued_ms": 1767225600000}

or, analog (continuous wheel speeds, -1..1 each; no ``speed``)::

    {"id": "...", "seq": 18, "action": "drive", "left": 0.4, "right": 0.7, "duration_ms": 300,
     "issued_ms": 1767225600100}

Either may carry ``client`` (the page's id: it tells one user's tabs apart), ``user`` and
``user_name`` (stamped by the API from the signed-in identity: who drives, for the driver
lease) and ``take_over`` (true: take the lease at once). On the WebRTC data channel the body is
the ``POST /robot/{name}/cmd`` body; the robot stamps ``id``, ``seq``, ``issued_ms``, ``client``
(the viewer the signaling service admitted) and, where that service names it, ``user`` (the
person who signed the viewer in) on arrival (:func:`parse` with ``arrival``), and the body may
not say who it is.

The original web app's body on ``{name}/action`` is ``{"action": "forward|backwards|..."}``:
it has no id, seq or issued time, so it is neither ordered nor aged, and runs with the
configured legacy speed and duration.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from contracts import command as contract
from contracts import safejson
from contracts.errors import CommandRefused, UnsafeJson
from robot_agent.config import CommandLimits
from robot_agent.errors import BadCommand, NotACommand
from robot_agent.lease import Driver, identity

ACTIONS = ("forward", "backward", "left", "right", "stop", "drive")
STAMPED = ("id", "seq", "issued_ms", "user", "user_name")  # the robot's (channel) or API's
ENVELOPE = STAMPED  # around the command: what the schema's body does not hold
# What a command may say is the shared command contract's to decide (the API's request model
# and the Lambda use it too); this module adds the envelope and the configured limits.
MAX_DEPTH = 8  # a command is one flat object; a little room for future nested fields


@dataclass(frozen=True)
class Arrival:
    """What the robot stamps on a data-channel command: the body has none of it."""

    id: str
    seq: int
    issued_ms: int
    client: str
    user: str | None = None  # who signed the viewer in, where the signaling service says


@dataclass(frozen=True)
class Command:
    id: str
    action: str
    speed: float
    duration_ms: int
    seq: int | None = None  # None: legacy, unordered
    issued_ms: int | None = None  # None: legacy, not aged
    left: float = 0.0  # the wheel speeds of action "drive", -1..1
    right: float = 0.0
    client: str | None = None  # the page's id (MQTT) or the viewer's (data channel)
    user: str | None = None  # the signed-in user the API stamped
    take_over: bool = False
    user_name: str | None = None  # that user's display name, stamped by the API
    channel: bool = False  # came on a viewer's data channel

    @property
    def driver(self) -> Driver:
        """Who this command speaks for, from the path it took (:mod:`robot_agent.lease`): a
        page is one driver on its data channel and over the API when the signaling service
        named its user; a viewer it did not name is known by its ClientId alone."""
        client = self.client or "anonymous"
        return Driver(identity(client, self.user, channel=self.channel), client, self.user,
                      self.user_name)


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


def wheels(command: Command) -> tuple[float, float]:
    """Motor values ``(left, right)`` in -1..1 that ``command`` asks for."""
    if command.action == "drive":
        return (command.left, command.right)
    return values(command.action, command.speed)


def _structure(body: dict, cid: str | None) -> None:
    """The command part of ``body`` against the shared schema."""
    try:
        contract.check({k: v for k, v in body.items() if k not in ENVELOPE})
    except CommandRefused as exc:
        raise BadCommand("invalid", str(exc), cid) from None
    for key in ("user", "user_name"):
        value = body.get(key)
        if value is not None and not (isinstance(value, str) and 0 < len(value) <= 128):
            raise BadCommand("invalid", f"{key} must be a string of 1-128 characters", cid)


def parse(payload: bytes | str, limits: CommandLimits, *, legacy: bool = False,
          arrival: Arrival | None = None) -> Command:
    """Validate one command: an MQTT payload, or a data-channel message with ``arrival``.

    :param legacy: it came on the original ``{name}/action`` topic.
    :param arrival: it came on a viewer's ``drive`` data channel: its body is the HTTP API's
        (no ``id``, ``seq``, ``issued_ms`` or ``user``), and these stamps complete it.
    :raises BadCommand: with a reason code; nothing has moved.
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "replace")
    if not payload.strip():  # a retained message being cleared
        raise NotACommand("not_a_command", "an empty payload")
    try:
        body = safejson.loads(payload, max_bytes=limits.max_payload_bytes, max_depth=MAX_DEPTH)
    except UnsafeJson as exc:
        raise BadCommand(exc.reason, str(exc)) from None
    if not isinstance(body, dict):
        raise BadCommand("malformed", "payload must be a JSON object")
    if "action" not in body:
        raise NotACommand("not_a_command", "a JSON object without an action")
    if arrival is not None:
        stamped = [key for key in STAMPED if key in body]
        if stamped:
            raise BadCommand("invalid", f"{stamped[0]} is set by the robot, not the sender",
                             arrival.id)
        body = {**body, "id": arrival.id, "seq": arrival.seq, "issued_ms": arrival.issued_ms,
                "client": arrival.client}
        if arrival.user:
            body["user"] = arrival.user
    cid = body.get("id")
    cid = cid if isinstance(cid, str) and 0 < len(cid) <= 64 else None
    _structure(body, cid)
    client, user, take_over = body.get("client"), body.get("user"), body.get("take_over", False)
    named: str = body["action"]  # _structure checked it against the schema
    action = contract.canonical(named)
    default_speed = limits.legacy_speed if legacy else limits.default_speed
    default_ms = limits.legacy_duration_ms if legacy else limits.default_duration_ms
    left = right = 0.0
    if action == "drive":
        left, right = float(body["left"]), float(body["right"])
        speed = max(abs(left), abs(right))
    else:
        speed = float(body.get("speed", default_speed))
    duration = int(body.get("duration_ms", default_ms))
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
                   duration_ms=duration, seq=seq, issued_ms=issued, left=left, right=right,
                   client=client if client or not legacy else "legacy-app", user=user,
                   take_over=take_over, user_name=body.get("user_name"),
                   channel=arrival is not None)
