"""Both Lambdas answer errors one way (``cloud/api_errors.py``): the same body shape, an
unknown route the same 404, a broken setting the same 500 that keeps its details in the log."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re

import pytest

import cloud
from cloud.errors import HttpError
from cloud.mars import handler as mars
from cloud.robot import handler as robot
from testing.mars_events import load_event as mars_event
from testing.robot_events import load_event as robot_event


def answer(lambda_handler, event: dict, context) -> tuple[int, dict]:
    response = lambda_handler(event, context)
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    return response["statusCode"], json.loads(response["body"])


def test_an_unknown_route_is_the_same_404_on_both(handler_env, nasa, sent, lambda_context):
    handler_env()
    events = [(mars.lambda_handler, mars_event("get_mars.json", path="/marz")),
              (robot.command_handler, robot_event(method="GET")),
              (robot.status_handler, robot_event())]
    for lambda_handler, event in events:
        assert answer(lambda_handler, event, lambda_context) == (
            404, {"error": {"code": "NOT_FOUND", "message": "no such resource"}})


@pytest.mark.parametrize(("setting", "lambda_handler", "event", "message"), [
    ("IMAGE_TTL_S", mars.lambda_handler, lambda: mars_event("get_mars.json"),
     "the Mars API failed; see its log"),
    ("ROBOT_NAMES", robot.command_handler, robot_event, "the robot API failed; see its log"),
])
def test_a_broken_setting_is_a_500_that_names_nothing(handler_env, nasa, monkeypatch, caplog,
                                                      lambda_context, setting, lambda_handler,
                                                      event, message):
    handler_env()
    robot.use()  # the robot's settings are read from the environment on first use
    monkeypatch.setenv(setting, "not/valid secret-ish")
    assert answer(lambda_handler, event(), lambda_context) == (
        500, {"error": {"code": "INTERNAL", "message": message}})
    assert any(setting in record.getMessage() or setting in str(record.exc_info)
               for record in caplog.records)  # the reason is in the log
    robot.use()


def test_every_error_a_route_answers_with_has_a_status_and_a_code():
    for module in pkgutil.walk_packages(cloud.__path__, "cloud."):
        importlib.import_module(module.name)
    pending, seen = [HttpError], {}
    while pending:
        for error in pending.pop().__subclasses__():
            pending.append(error)
            seen[error.__qualname__] = (error.status, error.code)
    assert {"BadParameter", "NotFound", "NoData", "BadCommand", "Unauthenticated",
            "UnknownRobot", "PublishFailed", "Forbidden"} <= set(seen)
    for name, (status, code) in seen.items():
        assert 400 <= status < 600 and re.fullmatch(r"[A-Z_]+", code), name
