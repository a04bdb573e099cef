"""No clock locks the operator out: the real agent process, and the real robot API, with their
clocks set years or hours off by ``faketime`` (the kernel still says "synchronised", as a
wrongly set machine would), a real broker, and restarts in between with the state the agent
persisted."""

from __future__ import annotations

import glob
import json
import os
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

NAME = "clockbot"
TELEMETRY = f"robot/{NAME}/telemetry"
STATUS = f"robot/{NAME}/status"

pytestmark = [needs("faketime", "mosquitto"), pytest.mark.slow]


@pytest.fixture(scope="module")
def broker():
    with BrokerProcess("mosquitto") as running:  # the production broker, up in milliseconds
        yield running


@pytest.fixture(scope="module")
def api(broker):
    handler.use(MqttPublisher(broker.url, client_id="clock-api"),
                config=cloud_config.load({"ROBOT_NAMES": NAME, "MQTT_URL": broker.url}))
    yield
    handler.use()


# ``robot-agent``'s own entry point, its modules loaded before it is told to start: a loaded
# machine takes seconds to start a Python process, which the tests spend while the agent
# before it still runs.
LOADED = """
import sys
from robot_agent.__main__ import main
sys.stdin.read()
sys.exit(main(sys.argv[1:]))
"""


def loaded(tmp_path, url: str, offset: str) -> subprocess.Popen:
    """``robot-agent --simulate`` with its clock ``offset`` (faketime's ``+5y``, ``-5y``),
    keeping its state in ``tmp_path``; it starts when :func:`start` says so."""
    config = tmp_path / "agent.toml"
    config.write_text(f'name = "{NAME}"\n[mqtt]\nurl = "{url}"\n')
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
               STATE_DIRECTORY=str(tmp_path), **faked(offset))
    return subprocess.Popen([sys.executable, "-c", LOADED, "--config", str(config),
                             "--simulate"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start(process: subprocess.Popen, watcher: Observer) -> subprocess.Popen:
    """Start a :func:`loaded` agent; returns once it says it is online (and takes commands)."""
    before = len(watcher.json(STATUS))
    assert process.stdin is not None
    process.stdin.close()
    watcher.wait_json(STATUS, lambda m: m.get("online") is True, 20, after=before)
    return process


def stop(process: subprocess.Popen, watcher: Observer) -> None:
    """Stop an agent and wait for its last word, ``{"online": false}``: nothing it said
    before can then arrive after the next agent's first."""
    before = len(watcher.json(STATUS))
    process.terminate()
    process.wait(15)
    watcher.wait_json(STATUS, lambda m: m.get("online") is False, 10, after=before)


def end(*processes: subprocess.Popen) -> None:
    """Whatever still runs (the last agent, or all of them when a test failed), ended."""
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(15)


SENDER = """
import sys
from cloud import config
from cloud.robot import handler
from cloud.robot.publisher import MqttPublisher
from testing.lambda_context import FakeContext
from testing.robot_events import load_event
url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
handler.use(MqttPublisher(url), config=config.load({"ROBOT_NAMES": name, "MQTT_URL": url}))
sys.stdin.readline()  # loaded while the agent starts; sends when told
for _ in range(count):
    body = {"action": "forward", "speed": 0.4, "duration_ms": 200}
    assert handler.command_handler(load_event(robot=name, body=body),
                                   FakeContext())["statusCode"] == 202
handler.use()
"""


def sender_with_clock(broker_url: str, offset: str, count: int) -> subprocess.Popen:
    """The robot API running with its clock ``offset``; it sends ``count`` commands when
    told (``.communicate(b"\\n")``)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), **faked(offset))
    return subprocess.Popen([sys.executable, "-c", SENDER, broker_url, NAME, str(count)],
                            env=env, cwd=ROOT, stdin=subprocess.PIPE)


def faked(offset: str) -> dict[str, str]:
    """The environment that runs a program on a clock ``offset`` away (``+5y``, ``-1h``):
    libfaketime preloaded, as the ``faketime -f`` wrapper does. Not through the wrapper: it
    forks the program and does not pass signals on, so stopping it left the agent running."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
                   + glob.glob("/usr/local/lib/faketime/libfaketime.so.1"))
    assert found, "libfaketime.so.1 not found (Debian's faketime package installs it)"
    return {"LD_PRELOAD": found[0], "FAKETIME": offset}


@pytest.fixture(scope="module")
def processes(broker, tmp_path_factory):
    """Every process the tests start, loaded at once: each test's first agent loads while the
    test before it runs. Each test's agents share a state folder, as restarts of one robot."""
    years, hour = tmp_path_factory.mktemp("years"), tmp_path_factory.mktemp("hour")
    made = {"years": [loaded(years, broker.url, offset) for offset in ("+5y", "-5y", "+0")],
            "hour": [loaded(hour, broker.url, "+0") for _ in range(2)],
            # the robot API with its clock an hour ahead
            "sender": [sender_with_clock(broker.url, "+1h", RELEARN_AFTER + 2)]}
    yield made
    end(*(process for group in made.values() for process in group))


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


def test_a_robot_clock_years_off_costs_a_few_commands_across_restarts(broker, api, processes):
    watcher = Observer(broker.url, topics=(f"robot/{NAME}/#",))
    agents = processes["years"]  # ahead; restarted behind (its floor persisted); right
    try:
        for process in agents:
            start(process, watcher)
            assert commands_until_driven(watcher, RELEARN_AFTER + 1) <= RELEARN_AFTER
            handler.command_handler(load_event(robot=NAME, body={"action": "stop"}),
                                    FakeContext())
            if process is not agents[-1]:
                stop(process, watcher)
    finally:
        end(*agents)
        watcher.close()


def test_a_sender_clock_an_hour_ahead_once_blocks_nobody(broker, api, processes):
    """It blocked the robot for that hour, across restarts: the raised floor was persisted."""
    watcher = Observer(broker.url, topics=(f"robot/{NAME}/#",))
    (sender,), (first, restarted) = processes["sender"], processes["hour"]
    try:
        start(first, watcher)
        sender.communicate(b"\n", timeout=60)
        assert sender.returncode == 0
        watcher.wait_json(TELEMETRY, lambda m: m.get("event") == "motors"
                          and m.get("cause") == "command", 10)
        stop(first, watcher)  # the agent restarts with the hour-ahead floor it kept...
        start(restarted, watcher)
        # ... and the API's clock is corrected: the operator drives within a few commands.
        assert commands_until_driven(watcher, RELEARN_AFTER + 1) <= RELEARN_AFTER
    finally:
        end(sender, first, restarted)
        watcher.close()
