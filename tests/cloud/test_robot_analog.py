"""The analog drive form through the API: published with the signed-in user and the page's
client id, and what is published the agent takes (the validity of every form is one table:
``testing/data/cases/command.json``, judged by ``tests/contracts/test_command.py``)."""

from __future__ import annotations

import json

from robot_agent import commands as agent_commands
from robot_agent.config import CommandLimits

from testing.robot_events import call, load_event


def test_analog_command_is_published_with_the_user(sent):
    body = {"action": "drive", "left": 0.4, "right": 0.6, "client": "viewer-1"}
    status, answer = call(load_event(body=json.dumps(body)))
    assert status == 202
    _, payload = sent[0]
    assert (payload["left"], payload["right"], payload["client"]) == (0.4, 0.6, "viewer-1")
    assert payload["user"] and "speed" not in payload
    command = agent_commands.parse(json.dumps(payload).encode(), CommandLimits())
    assert agent_commands.wheels(command) == (0.4, 0.6) and command.user == payload["user"]
    # the lease is the signed-in user's; the page's client id only tells its tabs apart
    assert (command.driver.user, command.driver.client) == (payload["user"], "viewer-1")


def test_the_page_cannot_name_the_user(sent):
    body = {"action": "drive", "left": 0.4, "right": 0.6, "user": "someone-else"}
    status, answer = call(load_event(body=json.dumps(body)))
    assert status == 400 and not sent
