"""The agent against a real broker (the stack's amqtt, and Mosquitto where installed).

Commands go in through the cloud handler (a recorded API Gateway event) and the MQTT
publisher; what comes out is read from the mock pins.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from robot_agent.freshness import RELEARN_AFTER

from cloud import config as cloud_config
from cloud.robot import handler
from cloud.robot.publisher import MqttPublisher
from testing.lambda_context import FakeContext
from testing.robot_events import load_event
from testing.robot_harness import RunningAgent, agent_config, command, now_ms
from testing.stack_process import ROOT
from testing.waiting import wait_until

NAME = "testbot"
CMD = f"robot/{NAME}/cmd"
STATUS = f"robot/{NAME}/status"
TELEMETRY = f"robot/{NAME}/telemetry"
# a signed-in owner of the robot (cloud/robot/access.py), as the Cognito authorizer passes them
OWNER = {"sub": "owner", "cognito:username": "owner", "cognito:groups": f"robot-{NAME}"}


@pytest.fixture
def api(broker):
    publisher = MqttPublisher(broker.url, client_id="test-api")
    handler.use(publisher, config=cloud_config.load({"ROBOT_NAMES": NAME,
                                                     "MQTT_URL": broker.url}))
    yield
    handler.use()


def post(body, claims=OWNER) -> dict:
    event = load_event(robot=NAME, body=body, claims=claims)
    return handler.command_handler(event, FakeContext())


def test_the_driver_is_the_signed_in_user_not_the_bodys_client(broker, api, observer):
    """Any signed-in user drove inside someone else's lease by sending the driver's ``client``
    id, which the status shows; nobody was told."""
    # both may use the robot (its owners' group, cloud/robot/access.py); the lease decides
    ann = {"cognito:username": "ann-id", "name": "Ann", "token_use": "id",
           "cognito:groups": f"robot-{NAME}"}
    mallory = {"cognito:username": "mallory-id", "email": "m@example.com", "token_use": "id",
               "cognito:groups": f"robot-{NAME}"}
    with RunningAgent(agent_config(broker.url, NAME)) as bot:
        assert post({"action": "forward", "speed": 0.3, "duration_ms": 1000, "client": "page-a"},
                    ann)["statusCode"] == 202
        wait_until(bot.moving, 3)
        status = observer.wait_json(STATUS, lambda m: m.get("driver"), 3)
        assert status["driver"] == {"client": "page-a", "user": "ann-id", "name": "Ann",
                                    "until_ms": status["driver"]["until_ms"]}
        answer = post({"action": "backward", "speed": 1.0, "client": "page-a"}, mallory)
        refused = observer.wait_json(TELEMETRY, lambda m: m.get("event") == "rejected", 3)
        assert refused["id"] == json.loads(answer["body"])["id"]
        assert refused["reason"] == "busy" and "Ann is driving" in refused["detail"]
        assert bot.pins()[19] == 0 and bot.pins()[20] == 0.3  # still ann's forward
        post({"action": "stop", "client": "page-a"}, mallory)  # but anyone may stop it
        wait_until(lambda: not bot.moving(), 3)
        stopped = observer.wait_json(STATUS, lambda m: (m.get("last_stop") or {}).get("user")
                                     == "mallory-id", 3)
        assert stopped["last_stop"]["name"] == "m@example.com"


@pytest.mark.parametrize("invert", [(False, False), (True, True), (True, False)])
def test_http_command_to_pins(broker, api, invert):
    config = agent_config(broker.url, NAME, motors={"invert_left": invert[0],
                                                    "invert_right": invert[1]})
    with RunningAgent(config) as bot:
        for action in ("forward", "backward", "left", "right"):
            for speed in (0.3, 1.0):
                answer = post({"action": action, "speed": speed, "duration_ms": 1000})
                assert answer["statusCode"] == 202, answer["body"]
                body = json.loads(answer["body"])
                assert body["topic"] == CMD and isinstance(body["seq"], int)
                left, right = {"forward": (speed, speed), "backward": (-speed, -speed),
                               "left": (-speed, speed), "right": (speed, -speed)}[action]
                left, right = (-left if invert[0] else left), (-right if invert[1] else right)
                want = {20: max(left, 0), 19: max(-left, 0), 26: max(right, 0),
                        21: max(-right, 0)}
                wait_until(lambda w=want: bot.pins() == pytest.approx(w), 2)
        assert post({"action": "stop"})["statusCode"] == 202
        wait_until(lambda: not bot.moving(), 1)
        # The original web app's body, on POST /publish
        legacy = load_event(path="/publish", resource="/publish", body={"action": "backwards"},
                            claims=OWNER)
        assert handler.command_handler(legacy, FakeContext())["statusCode"] == 202
        wait_until(bot.moving, 2)


def test_deadman_over_the_broker(broker, api, observer):
    with RunningAgent(agent_config(broker.url, NAME)) as bot:
        post({"action": "forward", "speed": 0.5, "duration_ms": 300})
        # timed by the agent's own reports, which a loaded machine delays less than polling
        stop = wait_until(lambda: next((m for m in observer.json(TELEMETRY)
                                        if m.get("cause") == "deadman"), None), 3)
        start = next(m for m in observer.json(TELEMETRY) if m.get("cause") == "command")
        assert (stop["left"], stop["right"]) == (0, 0) and not bot.moving()
        # due at 300 ms; what comes past it is the scheduling of a machine under load
        assert 300 - 2 <= stop["t_ms"] - start["t_ms"] <= 600


def test_bad_commands_move_nothing(broker, observer):
    with RunningAgent(agent_config(broker.url, NAME)) as bot:
        applied = command("forward", 0.5, 100, seq=5000)
        observer.publish(CMD, applied)
        wait_until(lambda: len([m for m in observer.json(TELEMETRY)
                                if m.get("cause") == "deadman"]) == 1, 3)
        bad = [
            b"definitely not json",
            json.dumps({**command(), "pad": "x" * 2000}).encode(),
            command("teleport"),
            command(issued_ms=now_ms() - 10_000),
            {**applied, "issued_ms": now_ms()},  # replayed (re-stamped: not stale)
            command(seq=4000),  # out of order
        ]
        for payload in bad:
            observer.publish(CMD, payload)
        reasons = wait_until(lambda: [m["reason"] for m in observer.json(TELEMETRY)
                                      if m["event"] == "rejected"]
                             if len([m for m in observer.json(TELEMETRY)
                                     if m["event"] == "rejected"]) == len(bad) else None, 3)
        assert reasons == ["malformed", "too_large", "invalid", "stale", "replayed",
                           "out_of_order"]
        assert not bot.moving()
        assert len([m for m in observer.json(TELEMETRY) if m["event"] == "motors"]) == 2


@pytest.mark.slow
def test_broker_loss_stops_motors_and_agent_reconnects(broker, api):
    with RunningAgent(agent_config(broker.url, NAME)) as bot:
        post({"action": "forward", "speed": 0.7, "duration_ms": 1000})
        wait_until(bot.moving, 2, step=0.0005)
        moving = time.monotonic()
        broker.kill()
        wait_until(lambda: not bot.moving(), 1.0, step=0.0005)
        # Stopped by the link loss, well before the command's own 1000 ms ran out.
        assert time.monotonic() - moving < 0.7
        assert not bot.link.connected
        broker.start()  # same port
        wait_until(lambda: bot.link.connected, 10)
        wait_until(lambda: handler.publisher()._connected.is_set(), 10)
        assert post({"action": "right", "speed": 0.4, "duration_ms": 500})["statusCode"] == 202
        wait_until(lambda: bot.pins() == pytest.approx({20: 0.4, 19: 0, 26: 0, 21: 0.4}), 3)


def _agent_process(tmp_path, url: str) -> subprocess.Popen:
    path = tmp_path / "agent.toml"
    path.write_text(f'name = "{NAME}"\n[mqtt]\nurl = "{url}"\n')
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "robot_agent", "--config", str(path),
                             "--simulate"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_last_will_when_the_agent_is_killed(broker, observer, tmp_path):
    process = _agent_process(tmp_path, broker.url)
    try:
        observer.wait_json(STATUS, lambda m: m.get("online") is True, 15)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        observer.wait_json(STATUS, lambda m: m == {"online": False}, 5)
    finally:
        process.kill()
        process.communicate()


def test_sigterm_stops_motors_and_exits_0(broker, observer, tmp_path):
    process = _agent_process(tmp_path, broker.url)
    try:
        observer.wait_json(STATUS, lambda m: m.get("online") is True, 15)
        observer.publish(CMD, command("forward", 0.6, 1000))
        observer.wait_json(TELEMETRY, lambda m: m.get("left") == 0.6, 3)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
        assert process.returncode == 0, output
        stop = observer.wait_json(TELEMETRY, lambda m: m.get("cause") == "shutdown", 3)
        assert stop["left"] == stop["right"] == 0 and set(stop["pins"].values()) == {0.0}
        observer.wait_json(STATUS, lambda m: m == {"online": False}, 3)
    finally:
        process.kill()


def test_retained_commands_never_drive(broker, observer, caplog):
    """A retained command (the legacy topic's, as the original web app could leave) is in the
    broker before the agent starts: the agent subscribes, gets it, and does not move."""
    for topic, payload in ((f"{NAME}/action", {"action": "forward"}),
                           (CMD, command("forward", 1.0, 1000, seq=now_ms() * 1000))):
        observer.client.publish(topic, json.dumps(payload), qos=1,
                                retain=True).wait_for_publish(5)
    caplog.set_level("INFO", logger="robot_agent")
    with RunningAgent(agent_config(broker.url, NAME, mqtt={"legacy_topic": True})) as bot:
        # Both are delivered (amqtt delivers them once per topic filter of the SUBSCRIBE).
        wait_until(lambda: {r.args[0] for r in caplog.records
                            if "ignored a retained message" in r.msg} == {CMD, f"{NAME}/action"},
                   15)
        assert not bot.moving()
        observer.publish(CMD, command("forward", 0.5, 100, seq=now_ms() * 1000))
        wait_until(bot.moving, 3)  # live commands still drive
    for topic in (f"{NAME}/action", CMD):
        observer.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)


def test_huge_seq_over_mqtt_locks_nobody_out(broker, api, observer):
    with RunningAgent(agent_config(broker.url, NAME)) as bot:
        observer.publish(CMD, command("forward", 1.0, 1000, seq=2 ** 62))
        observer.wait_json(TELEMETRY, lambda m: m.get("reason") == "ahead", 3)
        assert not bot.moving()
        assert post({"action": "forward", "speed": 0.5, "duration_ms": 1000})["statusCode"] == 202
        wait_until(bot.moving, 3)
        observer.publish(CMD, command("stop", seq=2 ** 62))
        wait_until(lambda: not bot.moving(), 3)


def _until_driven(bot, observer, most: int) -> int:
    """The operator's forward commands through the API until one moves the motors."""
    for sent in range(1, most + 1):
        answer = post({"action": "forward", "speed": 0.4, "duration_ms": 300})
        command_id = json.loads(answer["body"])["id"]
        outcome = observer.wait_json(TELEMETRY, lambda m, c=command_id: m.get("id") == c, 5)
        if outcome["event"] == "motors":
            return sent
    raise AssertionError(f"the operator is still locked out after {most} commands")


def test_three_future_dated_commands_lock_nobody_out(broker, api, observer, tmp_path):
    """Three consistent commands dated years ahead re-anchored the robot's clock and its
    persisted floor: every later command was refused (stale, then out_of_order after a
    restart), and stop was refused (busy) while the poison held the lease."""
    year_ms = 365 * 24 * 3600 * 1000
    config = agent_config(broker.url, NAME, driving={"lease_s": 0.5})
    with RunningAgent(config, state_dir=tmp_path) as bot:
        assert _until_driven(bot, observer, 1) == 1
        wait_until(lambda: bot.agent.lease.holder is None, 5)
        for n in range(RELEARN_AFTER):
            issued = now_ms() + 5 * year_ms
            observer.publish(CMD, command("forward", 1.0, 1000, seq=issued * 1000 + n,
                                          issued_ms=issued, client="poison"))
        wait_until(lambda: bot.pins()[20] == 1.0, 3)  # the third one is adopted...
        assert post({"action": "stop"})["statusCode"] == 202  # ... and anyone's stop stops it
        wait_until(lambda: not bot.moving(), 3)
        wait_until(lambda: bot.agent.lease.holder is None, 5)  # the poisoner's lease lapses
        assert _until_driven(bot, observer, RELEARN_AFTER + 1) <= RELEARN_AFTER
    bot.stop()
    with RunningAgent(config, state_dir=tmp_path) as bot:  # restarted with the state it kept
        assert _until_driven(bot, observer, RELEARN_AFTER + 1) <= RELEARN_AFTER


def test_clean_shutdown_does_not_say_link_lost(broker, caplog):
    caplog.set_level("INFO", logger="robot_agent")
    with RunningAgent(agent_config(broker.url, NAME)):
        pass
    messages = [r.getMessage() for r in caplog.records]
    assert any("stopped (exit 0)" in m for m in messages)
    assert not [m for m in messages if "link lost" in m or "reconnecting" in m]
