"""A login the broker refuses is one log line and one status with the fix, tried again and again
(the fix may be on the broker's side), and never reported as a lost link: it never was up."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading

import pytest
from robot_agent.service import Notifier

from testing.mqtt_brokers import BrokerProcess
from testing.ports import free_port
from testing.robot_harness import RunningAgent, agent_config
from testing.system import needs
from testing.waiting import wait_until
from tools.stack import mqtt_acl
from tools.stack.embedded_broker import EmbeddedBroker

NAME = "sts-pi"


class RecordingNotifier(Notifier):
    """What the agent tells systemd (the socket itself is test_service.py's)."""

    def __init__(self) -> None:
        super().__init__({})
        self.sent: list[str] = []

    def notify(self, *fields: str) -> bool:
        self.sent.extend(fields)
        return True

    def statuses(self, prefix: str) -> list[str]:
        return [f for f in self.sent if f.startswith(f"STATUS={prefix}")]


class StackBroker:
    """The local stack's own broker (users and rules), on an event loop thread of its own."""

    def __init__(self, tmp_path, port: int) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.broker: EmbeddedBroker | None = None

    def start(self, passwords: dict[str, str]) -> None:
        self.broker = EmbeddedBroker(port=self.port, passwords=passwords, robots=[NAME])
        asyncio.run_coroutine_threadsafe(self.broker.start(), self.loop).result(15)

    def stop(self) -> None:
        if self.broker is not None:
            asyncio.run_coroutine_threadsafe(self.broker.stop(), self.loop).result(15)

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)


class MosquittoBroker:
    """Mosquitto with the files the stack writes for it (tools/stack/mqtt_acl.py)."""

    def __init__(self, tmp_path, port: int) -> None:
        self.port, self.folder = port, tmp_path / "mosquitto"
        self.process: BrokerProcess | None = None

    def start(self, passwords: dict[str, str]) -> None:
        # The files name their owner as Mosquitto's user: started as root it can read them.
        conf = mqtt_acl.mosquitto_files(self.folder, mqtt_acl.acl([NAME]), passwords,
                                        self.port)
        self.process = BrokerProcess("mosquitto", port=self.port, conf=conf).start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def close(self) -> None:
        if self.process is not None:
            self.process.close()


@pytest.fixture(params=["stack", pytest.param("mosquitto", marks=[pytest.mark.mosquitto,
                                                                    needs("mosquitto")])])
def broker(request, tmp_path):
    kind = StackBroker if request.param == "stack" else MosquittoBroker
    running = kind(tmp_path, free_port())
    yield running
    running.close()


def test_a_wrong_password_is_said_once_with_the_fix_and_retried(broker, caplog):
    caplog.set_level(logging.INFO, logger="robot_agent")
    passwords = mqtt_acl.new_passwords([NAME])
    broker.start(passwords)
    config = agent_config(f"mqtt://127.0.0.1:{broker.port}", NAME,
                          mqtt={"username": NAME, "password": "not-the-password"})
    # Retries in tenths of seconds, not the service's half a second to 30 s.
    config = dataclasses.replace(config, mqtt=dataclasses.replace(
        config.mqtt, reconnect_min_s=0.05, reconnect_max_s=0.2))
    notifier = RecordingNotifier()
    bot = RunningAgent(config, notifier=notifier).start(wait_connected=False)
    try:
        wait_until(lambda: len(notifier.statuses("login refused")) >= 3, 20,
                   message=lambda: f"statuses: {notifier.sent}")
        assert notifier.statuses("login refused")[0] == \
            "STATUS=login refused by the broker: Not authorized"
        refusals = [r.getMessage() for r in caplog.records if "refused the login" in r.message]
        assert len(refusals) == 1, refusals  # said once, however often it is retried
        assert refusals[0].startswith(
            f"the broker refused the login as {NAME}: Not authorized; fix: [mqtt] username "
            f"and password in test.toml must be the broker's for {NAME}")
        assert "sudo robot-agent doctor" in refusals[0]
        assert "link lost" not in caplog.text and not bot.agent.ready.is_set()
        # Fixed on the broker's side (the stack run again with this robot's password): the
        # agent, still trying, gets in with nothing done on the robot.
        broker.stop()
        broker.start({**passwords, NAME: "not-the-password"})
        wait_until(lambda: bot.agent.ready.is_set(), 20)
        assert "connected to the broker as sts-pi (the login is accepted now)" in caplog.text
        assert bot.agent.refused is None
    finally:
        bot.stop()
