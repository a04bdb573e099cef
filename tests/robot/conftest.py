"""Fixtures for the robot tests: real brokers (the stack's amqtt; Mosquitto where installed)."""

from __future__ import annotations

import shutil

import pytest

from tests.robot.harness import BrokerProcess, Observer

BROKERS = [
    "amqtt",
    pytest.param("mosquitto", marks=[
        pytest.mark.mosquitto,
        pytest.mark.skipif(shutil.which("mosquitto") is None,
                           reason="mosquitto is not installed (CI installs it)"),
    ]),
]


@pytest.fixture(params=BROKERS)
def broker(request):
    """A real MQTT broker in a child process (killable), one per test."""
    process = BrokerProcess(request.param).start()
    yield process
    process.stop()


@pytest.fixture
def observer(broker):
    client = Observer(broker.url, topics=("robot/#", "+/action"))
    yield client
    client.close()
