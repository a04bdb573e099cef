"""Mutual TLS (as AWS IoT Core does it) against a local Mosquitto with a test CA."""

from __future__ import annotations

import socket

import pytest
from robot_agent.config import parse

from testing.robot_harness import RunningAgent, command
from testing.system import needs
from testing.waiting import wait_until

pytestmark = [pytest.mark.mosquitto, needs("mosquitto")]



def _config(port, pki, cert="client_cert", key="client_key", alpn=False):
    return parse({"name": "testbot", "mqtt": {
        "url": f"mqtts://localhost:{port}", "cert": pki[cert], "key": pki[key],
        "ca": pki["ca"], "alpn": alpn}}, "tls.toml")


@pytest.mark.parametrize("alpn", [False, True])
def test_mutual_tls_connects_and_drives(tls_broker, pki, alpn):
    with RunningAgent(_config(tls_broker.port, pki, alpn=alpn)) as bot:
        assert bot.link.connected
        # Nagle off under TLS too: telemetry leaves at once, not after a delayed ACK.
        sock = bot.link.client.socket()
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        # Commands reach it through the same TLS listener (a second client, same CA).
        sender = RunningAgent(parse({"name": "sender", "mqtt": {
            "url": f"mqtts://localhost:{tls_broker.port}", "cert": pki["client_cert"],
            "key": pki["client_key"], "ca": pki["ca"]}}, "sender.toml")).start()
        try:
            sender.link.publish("robot/testbot/cmd", command("left", 0.5, 500), qos=1,
                                wait_s=2)
            wait_until(lambda: bot.pins() == {19: 0.5, 20: 0.0, 21: 0.0, 26: 0.5}, 3)
        finally:
            sender.stop()


def test_a_certificate_from_another_ca_is_a_refused_login(tls_broker, pki, caplog):
    bot = RunningAgent(_config(tls_broker.port, pki, "stranger_cert", "stranger_key"))
    # The broker refuses in the handshake (TLS 1.2: paho's connect fails) or, under TLS 1.3,
    # with an alert after CONNECT, before any CONNACK: a refused login either way, not a link
    # that was up and got lost.
    bot.start(wait_connected=False)
    try:
        wait_until(lambda: bot.agent.refused is not None, 30, message="no refusal reported")
        assert not bot.link.connected and bot.agent.ready is not None
        assert not bot.agent.ready.is_set()
        assert "the broker refused the login as testbot" in caplog.text
        assert "the certificate must be active" not in caplog.text  # not AWS: mqtts:// URL
        assert "link lost" not in caplog.text
    finally:
        bot.stop()
