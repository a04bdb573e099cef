"""The robot routes through recorded API Gateway events, with a recording publisher."""

from __future__ import annotations

import json

import pytest
from robot_agent import commands as agent_commands
from robot_agent.config import CommandLimits
from robot_agent.errors import BadCommand as AgentBadCommand

from cloud import config as cloud_config
from cloud.robot import commands as cloud_commands
from cloud.robot import handler
from testing.robot_events import RecordingPublisher, call, load_event


def test_command_is_published_with_id_seq_and_issued_time(sent):
    status, body = call(load_event())
    assert status == 202
    topic, payload = sent[0]
    assert topic == "robot/sts-pi/cmd" == body["topic"]
    assert payload["id"] == body["id"] and payload["seq"] == body["seq"]
    assert (payload["action"], payload["speed"], payload["duration_ms"]) == ("forward", 0.5, 250)
    assert isinstance(payload["issued_ms"], int)
    # What the API publishes, the agent accepts.
    command = agent_commands.parse(json.dumps(payload).encode(), CommandLimits())
    assert command.seq == payload["seq"]


def test_seq_rises_per_robot(sent):
    seqs = [call(load_event())[1]["seq"] for _ in range(5)]
    assert seqs == sorted(set(seqs))


def test_sequencer_stays_above_a_previous_process():
    clock = iter([1000, 1000, 1000, 999, 2000]).__next__
    sequencer = cloud_commands.Sequencer(clock)
    values = [sequencer.next("r") for _ in range(5)]
    assert values == [1_000_000, 1_000_001, 1_000_002, 1_000_003, 2_000_000]
    # A new container a millisecond later starts above all of them.
    assert cloud_commands.Sequencer(lambda: 2001).next("r") > values[-1]


def test_legacy_publish_body(sent):
    status, _ = call(load_event(path="/publish", resource="/publish",
                                body={"action": "backwards"}))
    assert status == 202
    topic, payload = sent[0]
    assert topic == "robot/sts-pi/cmd"  # the first configured robot
    assert (payload["action"], payload["speed"], payload["duration_ms"]) == ("backward", 1.0, 200)


@pytest.mark.parametrize(("body", "fragment"), [
    (None, "must be a JSON object"),
    ("not json", "not valid JSON"),
    ("[1]", "must be a JSON object"),
    ({"action": "jump"}, "action must be one of"),
    ({"speed": 0.5}, "action is required"),
    ({"action": "forward", "speed": 1.2}, "speed must be between 0 and 1"),
    ({"action": "forward", "speed": "fast"}, "speed must be a number"),
    ({"action": "forward", "duration_ms": 20}, "duration_ms must be between 50 and 1000"),
    ({"action": "forward", "duration_ms": 5000}, "duration_ms must be between 50 and 1000"),
    ({"action": "forward", "turbo": True}, "unknown field 'turbo'"),
    ({"action": "forward", "pad": "x" * 2000}, "at most 1024 bytes"),
])
def test_bad_bodies_are_400_and_publish_nothing(sent, body, fragment):
    status, answer = call(load_event(body=body))
    assert status == 400 and answer["error"]["code"] == "BAD_COMMAND"
    assert fragment in answer["error"]["message"]
    assert sent == []


def test_no_claims_is_401_before_anything_else(sent):
    for event in (load_event(claims=None), load_event(claims={}),
                  load_event(robot="nobody", claims=None, body="junk")):
        status, answer = call(event)
        assert status == 401 and answer["error"]["code"] == "UNAUTHORIZED"
    status_event = load_event(method="GET", resource="/robot/{name}/status",
                              path="/robot/sts-pi/status", body=None, claims=None)
    assert call(status_event, status=True)[0] == 401
    assert sent == []


def test_unknown_robot_is_404(sent):
    status, answer = call(load_event(robot="nobody"))
    assert status == 404 and "nobody" in answer["error"]["message"]
    assert call(load_event(robot="rover-2"))[0] == 202
    assert [t for t, _ in sent] == ["robot/rover-2/cmd"]


def test_status(sent):
    event = load_event(method="GET", resource="/robot/{name}/status",
                       path="/robot/sts-pi/status", body=None)
    assert call(event, status=True) == (200, {"online": True, "version": "0.1.0"})
    event = load_event(method="GET", resource="/robot/{name}/status",
                       path="/robot/rover-2/status", body=None)
    event["pathParameters"] = {"name": "rover-2"}
    assert call(event, status=True) == (200, {"online": False, "reported": False})


def test_broker_failure_is_503():
    handler.use(RecordingPublisher(fail=True), config=cloud_config.load({}))
    try:
        status, answer = call(load_event())
        assert status == 503 and answer["error"]["code"] == "PUBLISH_FAILED"
    finally:
        handler.use()


CASES = [
    {"action": "forward"}, {"action": "backwards", "speed": 0}, {"action": "stop", "speed": 1},
    {"action": "left", "duration_ms": 50}, {"action": "right", "duration_ms": 1000},
    {"action": "forward", "speed": 1.01}, {"action": "forward", "speed": -0.01},
    {"action": "forward", "duration_ms": 49}, {"action": "forward", "duration_ms": 1001},
    {"action": "forward", "duration_ms": 100.5}, {"action": "fly"}, {"action": 3},
    {"action": "forward", "speed": True}, {"action": "forward", "speed": None},
]


@pytest.mark.parametrize("case", CASES)
def test_api_and_agent_agree_on_validity(case):
    try:
        cloud_commands.validate(dict(case))
        api_ok = True
    except ValueError:
        api_ok = False
    payload = {"id": "x", "seq": 1, "issued_ms": 0, **case}
    try:
        agent_commands.parse(json.dumps(payload).encode(), CommandLimits())
        agent_ok = True
    except AgentBadCommand:
        agent_ok = False
    assert api_ok == agent_ok
