"""Fixtures for the robot tests: real brokers (the stack's amqtt; Mosquitto where installed),
and a Mosquitto that wants the client certificate of a test PKI (as AWS IoT Core does)."""

from __future__ import annotations

import getpass

import pytest

from testing.mqtt_brokers import BrokerProcess
from testing.pki import write_pki
from testing.ports import free_port
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


@pytest.fixture
def pki(tmp_path):
    return write_pki(tmp_path / "pki", server="localhost", client="testbot")


@pytest.fixture
def tls_broker(tmp_path, pki):
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    # Started as root, mosquitto would switch to its own user, which cannot read tmp_path.
    conf.write_text(f"user {getpass.getuser()}\nper_listener_settings true\n"
                    f"listener {port} 127.0.0.1\n"
                    f"cafile {pki['ca']}\ncertfile {pki['server_cert']}\n"
                    f"keyfile {pki['server_key']}\nrequire_certificate true\n"
                    "allow_anonymous true\n")
    broker = BrokerProcess("mosquitto", port=port, conf=conf).start()
    yield broker
    broker.close()

