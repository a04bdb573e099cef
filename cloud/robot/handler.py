"""The robot routes (Powertools style): ``POST /robot/{name}/cmd``, ``POST /publish`` (the
original web app's body) and ``GET /robot/{name}/status``.

Who may call them is decided before the handler runs: in AWS the Cognito authorizer, whose
claims arrive in ``requestContext.authorizer.claims``; locally the stack's gateway checks the
bearer token and injects the same claims. The routes still refuse a request without claims
(401), so a missing authorizer in a template can never open the robot to everyone.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from cloud import config as cloud_config
from cloud.api_errors import JSON, answer_errors
from cloud.errors import ConfigError
from cloud.lazy import Lazy
from cloud.robot import access, commands
from cloud.robot.errors import Unauthenticated, UnknownRobot
from cloud.robot.publisher import Publisher, from_config
from contracts.topics import Topics

logger = Logger(service="robot")
# One resolver per function, as in AWS where each function is its own container: a resolver
# keeps the current event on itself, and the local gateway runs one event at a time per
# function, so neither needs a lock of its own.
command_app = APIGatewayRestResolver()
status_app = APIGatewayRestResolver()
FAILED = "the robot API failed; see its log"
answer_errors(command_app, logger, internal=(ConfigError,), internal_message=FAILED)
answer_errors(status_app, logger, internal=(ConfigError,), internal_message=FAILED)

_config = Lazy(cloud_config.load)
_publisher = Lazy(lambda: from_config(_config.get()))
_owners = Lazy(lambda: access.cognito_directory(_config.get().user_pool_id)
               if _config.get().user_pool_id else None)
sequencer = commands.Sequencer()
DELIVERY_NOTE = ("not confirmed: the broker accepted the command; the robot may still refuse "
                 "it (stale, out of order, offline), see GET /robot/{name}/status")


def publisher() -> Publisher:
    """The container's publisher, created on first use."""
    return _publisher.get()


def use(publisher: Publisher | None = None, config: cloud_config.Config | None = None) -> None:
    """Replace the publisher and config (tests); ``use()`` forgets both."""
    old = _publisher.peek()
    if old is not None and old is not publisher:
        old.close()
    _publisher.set(publisher)
    _config.set(config)
    _owners.set(None)


def _claims(app: APIGatewayRestResolver) -> dict[str, Any]:
    """The Cognito claims of the request (Powertools' accessor); empty when there are none."""
    claims = app.current_event.request_context.authorizer.claims
    return claims if isinstance(claims, dict) else {}


def _require_user(app: APIGatewayRestResolver) -> str:
    user = access.username(_claims(app))
    if not user:
        raise Unauthenticated("sign in first (no user in the request)")
    return user


def _display_name(app: APIGatewayRestResolver, user: str) -> str:
    """What the page shows for the signed-in user: Cognito's name, else the e-mail address,
    else the user name."""
    claims = _claims(app)
    for key in ("name", "preferred_username", "email"):
        if isinstance(claims.get(key), str) and claims[key].strip():
            return claims[key].strip()
    return user


def _robot(name: str, app: APIGatewayRestResolver) -> str:
    if name not in _config.get().robot_names:
        raise UnknownRobot(f"no robot named {name[:64]!r} here")
    access.require(_claims(app), name, _owners.get())  # whose robot it is
    return name


def _send(name: str, legacy: bool) -> Response:
    user = _require_user(command_app)
    _robot(name, command_app)
    event = command_app.current_event
    body = commands.read_body(event.body, bool(event.is_base64_encoded))
    command = commands.validate(body, legacy=legacy)
    issued_ms = int(time.time() * 1000)
    # Who drives is the signed-in user, never a field of the body (the body's `client` only
    # tells that user's tabs apart): the robot's driver lease keys on it.
    payload = commands.message(command, sequencer.next(name), issued_ms, user,
                               _display_name(command_app, user))
    topic = Topics.for_robot(name).cmd
    publisher().publish(topic, payload)
    logger.info("command sent", extra={"robot": name, "user": user, "id": payload["id"],
                                       "seq": payload["seq"], "action": command["action"]})
    # 202: the broker took it; whether the robot ran it is not known here. The robot reports
    # each command it refuses on robot/{name}/telemetry ({"event": "rejected", "id": ...}).
    return Response(status_code=202, content_type=JSON,
                    body={"id": payload["id"], "seq": payload["seq"], "topic": topic,
                          "delivery": DELIVERY_NOTE})


@command_app.post("/robot/<name>/cmd")
def post_command(name: str) -> Response:
    return _send(name, legacy=False)


@command_app.post("/publish")
def post_legacy() -> Response:
    # The original web app knows one robot: the first configured one.
    _require_user(command_app)
    return _send(_config.get().robot_names[0], legacy=True)


@status_app.get("/robot/<name>/status")
def get_status(name: str) -> Response:
    _require_user(status_app)
    _robot(name, status_app)
    status = publisher().status(name)
    if status is None:
        status = {"online": False, "reported": False}
    return Response(status_code=200, content_type=JSON, body=status,
                    headers={"Cache-Control": "no-store"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def command_handler(event: dict, context: Any) -> dict:
    return command_app.resolve(event, context)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def status_handler(event: dict, context: Any) -> dict:
    return status_app.resolve(event, context)
