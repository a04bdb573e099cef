"""The analog drive form (``{"action": "drive", "left", "right"}``) and the driver fields:
the template's request model, the Lambda and the agent agree on every case, and the old
``action`` commands keep working in all three."""

from __future__ import annotations

import json

import jsonschema
import pytest
from robot_agent import commands as agent_commands
from robot_agent.config import CommandLimits
from robot_agent.errors import BadCommand as AgentBadCommand

from cloud.robot import commands as cloud_commands
from tests.cloud.test_robot_handler import call, sent  # noqa: F401 - the fixture
from tests.robot.events import load_event
from tools.deploy import template

VALID = [
    {"action": "forward"}, {"action": "backwards", "speed": 0.3},
    {"action": "drive", "left": 0.5, "right": -0.25},
    {"action": "drive", "left": -1, "right": 1, "duration_ms": 1000},
    {"action": "drive", "left": 0, "right": 0},
    {"action": "drive", "left": 0.1, "right": 0.1, "client": "viewer-ab12", "take_over": True},
    {"action": "stop", "client": "viewer-ab12", "take_over": False},
]
INVALID = [
    {"action": "drive"}, {"action": "drive", "left": 0.5},
    {"action": "drive", "left": 1.01, "right": 0}, {"action": "drive", "left": 0, "right": -1.5},
    {"action": "drive", "left": "0.5", "right": 0}, {"action": "drive", "left": True, "right": 0},
    {"action": "drive", "left": None, "right": 0}, {"action": "drive", "left": [1], "right": 0},
    {"action": "drive", "left": 0.5, "right": 0.5, "speed": 0.5},
    {"action": "forward", "left": 0.5},
    {"action": "drive", "left": 0.5, "right": 0.5, "client": "has space"},
    {"action": "drive", "left": 0.5, "right": 0.5, "client": "x" * 65},
    {"action": "drive", "left": 0.5, "right": 0.5, "take_over": 1},
    {"action": "drive", "left": 0.5, "right": 0.5, "user": "someone"},  # the API stamps it
]


def api_accepts(body: dict) -> bool:
    try:
        cloud_commands.validate(dict(body))
    except ValueError:
        return False
    return True


def agent_accepts(body: dict) -> bool:
    payload = {"id": "x", "seq": 1, "issued_ms": 0, **body}
    try:
        agent_commands.parse(json.dumps(payload).encode(), CommandLimits())
    except AgentBadCommand:
        return False
    return True


@pytest.fixture(scope="module")
def model():
    source = template.load()
    return source["Resources"]["Api"]["Properties"]["Models"]["RobotCommand"]


@pytest.mark.parametrize("body", VALID)
def test_valid_commands_pass_everywhere(body, model):
    jsonschema.validate(body, model)
    assert api_accepts(body) and agent_accepts(body)


@pytest.mark.parametrize("body", INVALID)
def test_invalid_commands_are_refused_by_the_api(body, model):
    assert not api_accepts(body)
    if "user" not in body:  # the agent takes user: the API stamps it on what it publishes
        assert not agent_accepts(body)


def test_the_model_refuses_what_it_can_express(model):
    # The model cannot say "left and right go together with drive"; the Lambda does.
    for body in ({"action": "drive", "left": 2, "right": 0},
                 {"action": "drive", "left": "0.5", "right": 0},
                 {"action": "drive", "left": 0, "right": 0, "client": "has space"},
                 {"action": "drive", "left": 0, "right": 0, "take_over": 1}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(body, model)


def test_analog_command_is_published_with_the_user(sent):  # noqa: F811
    body = {"action": "drive", "left": 0.4, "right": 0.6, "client": "viewer-1"}
    status, answer = call(load_event(body=json.dumps(body)))
    assert status == 202
    _, payload = sent[0]
    assert (payload["left"], payload["right"], payload["client"]) == (0.4, 0.6, "viewer-1")
    assert payload["user"] and "speed" not in payload
    command = agent_commands.parse(json.dumps(payload).encode(), CommandLimits())
    assert agent_commands.wheels(command) == (0.4, 0.6) and command.user == payload["user"]
