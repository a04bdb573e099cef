"""The robot routes' recorded API Gateway events (``testing/data/events/robot/``), the one
helper that loads them, and a publisher that records what the handler sends."""

from __future__ import annotations

import copy
import json
from typing import Any

from cloud.robot import handler
from cloud.robot.errors import PublishFailed
from cloud.robot.publisher import Publisher
from testing.data import DATA
from testing.lambda_context import FakeContext

HERE = DATA / "events" / "robot"
_CACHE: dict[str, dict[str, Any]] = {}


def load_event(name: str = "robot_cmd", *, path: str | None = None, method: str | None = None,
               resource: str | None = None, robot: str | None = None,
               body: Any = ..., claims: Any = ...) -> dict[str, Any]:
    """A copy of ``events/{name}.json`` with the given parts replaced.

    :param robot: the robot in the path; the recorded user then owns it too (its owners'
        group joins the claims' ``cognito:groups``, ``cloud/robot/access.py``).
    :param body: a dict (sent as JSON), a string (sent as is) or ``None``.
    :param claims: the authorizer claims; ``None`` removes the authorizer.
    """
    if name not in _CACHE:
        _CACHE[name] = json.loads((HERE / f"{name}.json").read_text())
    event = copy.deepcopy(_CACHE[name])
    if robot is not None:
        event["pathParameters"] = {"name": robot}
        event["path"] = f"/robot/{robot}/cmd"
        recorded = event["requestContext"]["authorizer"]["claims"]
        recorded["cognito:groups"] += f",robot-{robot}"
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



class RecordingPublisher(Publisher):
    """Keeps what is published; answers statuses from a dict; or fails like a broker down."""

    def __init__(self, statuses: dict | None = None, fail: bool = False) -> None:
        self.sent: list[tuple[str, dict]] = []
        self.statuses = statuses or {}
        self.fail = fail

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        if self.fail:
            raise PublishFailed("broker down")
        self.sent.append((topic, payload))

    def status(self, name: str) -> dict[str, Any] | None:
        return self.statuses.get(name)


def call(event: dict[str, Any], status: bool = False) -> tuple[int, Any]:
    """Run the command (or status) handler on ``event``: its status code and parsed body."""
    answer = (handler.status_handler if status else handler.command_handler)(event, FakeContext())
    return answer["statusCode"], json.loads(answer["body"])

