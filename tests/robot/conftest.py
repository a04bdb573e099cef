"""Fixtures for the robot tests: real brokers (the stack's amqtt; Mosquitto where installed)."""

from __future__ import annotations

import pytest

from testing.mqtt_brokers import BrokerProcess
from testing.robot_harness import Observer
from testing.system import needs

BROKERS = [
    "amqtt",
    pytest.param("mosquitto", marks=[
        pytest.mark.mosquitto,
        needs("mosquitto"),
    ]),
]


@pytest.fixture(params=BROKERS)
def broker(request):
    """A real MQTT broker in a child process (killable), one per test."""
    process = BrokerProcess(request.param).start()
    yield process
    process.close()


@pytest.fixture
def observer(broker):
    client = Observer(broker.url, topics=("robot/#", "+/action"))
    yield client
    client.close()
