"""Recorded API Gateway events for the robot routes, and the one helper that loads them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_CACHE: dict[str, dict[str, Any]] = {}


def load_event(name: str = "robot_cmd", *, path: str | None = None, method: str | None = None,
               resource: str | None = None, robot: str | None = None,
               body: Any = ..., claims: Any = ...) -> dict[str, Any]:
    """A copy of ``events/{name}.json`` with the given parts replaced.

    :param body: a dict (sent as JSON), a string (sent as is) or ``None``.
    :param claims: the authorizer claims; ``None`` removes the authorizer.
    """
    if name not in _CACHE:
        _CACHE[name] = json.loads((HERE / f"{name}.json").read_text())
    event = copy.deepcopy(_CACHE[name])
    if robot is not None:
        event["pathParameters"] = {"name": robot}
        event["path"] = f"/robot/{robot}/cmd"
    if resource is not None:
        event["resource"] = event["requestContext"]["resourcePath"] = resource
    if path is not None:
        event["path"] = path
        if "{name}" not in event["resource"]:
            event["pathParameters"] = None
    if method is not None:
        event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    if body is not ...:
        event["body"] = body if body is None or isinstance(body, str) else json.dumps(body)
    if claims is not ...:
        if claims is None:
            event["requestContext"].pop("authorizer", None)
        else:
            event["requestContext"]["authorizer"] = {"claims": claims}
    return event


class FakeContext:
    """The Lambda context attributes Powertools reads."""

    function_name = "robot-command"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:robot-command"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30000
