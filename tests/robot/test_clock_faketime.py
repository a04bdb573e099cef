"""No clock locks the operator out: the real agent process, and the real robot API, with their
clocks set years or hours off by ``faketime`` (the kernel still says "synchronised", as a
wrongly set machine would), a real broker, and restarts in between with the state the agent
persisted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from robot_agent.freshness import RELEARN_AFTER

from cloud import config as cloud_config
from cloud.robot import handler
from cloud.robot.publisher import MqttPublisher
from testing.lambda_context import FakeContext
from testing.mqtt_brokers import BrokerProcess
from testing.robot_events import load_event
from testing.robot_harness import Observer
from testing.stack_process import ROOT
from testing.system import needs
from testing.waiting import wait_until

NAME = "clockbot"
TELEMETRY = f"robot/{NAME}/telemetry"
STATUS = f"robot/{NAME}/status"

pytestmark = [needs("faketime"), pytest.mark.slow]


@pytest.fixture(scope="module")
def broker():
    with BrokerProcess("amqtt") as running:
        yield running


@pytest.fixture(scope="module")
def api(broker):
    handler.use(MqttPublisher(broker.url, client_id="clock-api"),
                config=cloud_config.load({"ROBOT_NAMES": NAME, "MQTT_URL": broker.url}))
    yield
    handler.use()


def agent(tmp_path, url: str, offset: str) -> subprocess.Popen:
    """``robot-agent --simulate`` with its clock ``offset`` (faketime's ``+5y``, ``-5y``)."""
    config = tmp_path / "agent.toml"
    config.write_text(f'name = "{NAME}"\n[mqtt]\nurl = "{url}"\n')
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
               STATE_DIRECTORY=str(tmp_path))
    return subprocess.Popen([_faketime(), "-f", offset, sys.executable, "-m", "robot_agent",
                             "--config", str(config), "--simulate"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


SENDER = """
import sys, time
from cloud import config
from cloud.robot import handler
from cloud.robot.publisher import MqttPublisher
from testing.lambda_context import FakeContext
from testing.robot_events import load_event
url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
handler.use(MqttPublisher(url), config=config.load({"ROBOT_NAMES": name, "MQTT_URL": url}))
for _ in range(count):
    body = {"action": "forward", "speed": 0.4, "duration_ms": 200}
    assert handler.command_handler(load_event(robot=name, body=body),
                                   FakeContext())["statusCode"] == 202
    time.sleep(0.1)
handler.use()
"""


def send_with_clock(broker_url: str, offset: str, count: int) -> None:
    """``count`` commands from the robot API running with its clock ``offset``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([_faketime(), "-f", offset, sys.executable, "-c", SENDER, broker_url, NAME,
                    str(count)], env=env, check=True, timeout=60, cwd=ROOT)


def _faketime() -> str:
    path = shutil.which("faketime")
    assert path is not None
    return path


def commands_until_driven(watcher: Observer, most: int) -> int:
    """Send the operator's forward command until one moves the motors; how many it took."""
    for sent in range(1, most + 1):
        answer = handler.command_handler(load_event(robot=NAME, body={
            "action": "forward", "speed": 0.4, "duration_ms": 200}), FakeContext())
        command_id = json.loads(answer["body"])["id"]
        outcome = watcher.wait_json(TELEMETRY, lambda m, c=command_id: m.get("id") == c, 10)
        if outcome["event"] == "motors":
            return sent
        assert outcome["reason"] in ("stale", "ahead", "out_of_order", "replayed"), outcome
    raise AssertionError(f"still refused after {most} commands")


def test_a_robot_clock_years_off_costs_a_few_commands_across_restarts(broker, api, tmp_path):
    watcher = Observer(broker.url, topics=(f"robot/{NAME}/#",))
    try:
        for offset in ("+5y", "-5y", "+0"):  # ahead; restarted behind (its floor persisted)
            process = agent(tmp_path, broker.url, offset)
            try:
                before = len(watcher.json(STATUS))
                wait_until(lambda n=before: any(m.get("online") is True
                                                for m in watcher.json(STATUS)[n:]), 20)
                assert commands_until_driven(watcher, RELEARN_AFTER + 1) <= RELEARN_AFTER
                handler.command_handler(load_event(robot=NAME, body={"action": "stop"}),
                                        FakeContext())
            finally:
                process.terminate()
                process.wait(15)
    finally:
        watcher.close()


def test_a_sender_clock_an_hour_ahead_once_blocks_nobody(broker, api, tmp_path):
    """It blocked the robot for that hour, across restarts: the raised floor was persisted."""
    watcher = Observer(broker.url, topics=(f"robot/{NAME}/#",))
    process = agent(tmp_path, broker.url, "+0")
    try:
        wait_until(lambda: any(m.get("online") is True for m in watcher.json(STATUS)), 20)
        send_with_clock(broker.url, "+1h", RELEARN_AFTER + 2)  # the API's clock, wrong
        watcher.wait_json(TELEMETRY, lambda m: m.get("event") == "motors"
                          and m.get("cause") == "command", 10)
        process.terminate()  # the agent restarts with the hour-ahead floor it kept...
        process.wait(15)
        process = agent(tmp_path, broker.url, "+0")
        before = len(watcher.json(STATUS))
        wait_until(lambda: any(m.get("online") is True for m in watcher.json(STATUS)[before:]),
                   20)
        # ... and the API's clock is corrected: the operator drives within a few commands.
        assert commands_until_driven(watcher, RELEARN_AFTER + 1) <= RELEARN_AFTER
    finally:
        process.terminate()
        process.wait(15)
        watcher.close()
