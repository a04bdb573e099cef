"""The robot's MQTT sockets send each small message at once (Nagle's algorithm off).

With Nagle on, telemetry published right after a command's PUBACK waited for the broker's
delayed ACK (~40 ms on Linux, with amqtt and Mosquitto alike), and so did a command the
cloud publisher sent right after acknowledging a status. The option is checked on the live
sockets: the agent's link (after the first connection and after a reconnect, a new socket)
and the local stack's command publisher.
"""

from __future__ import annotations

import socket

from robot_agent.mqtt_link import PahoLink, no_delay

from cloud.robot.publisher import MqttPublisher
from contracts.topics import Topics
from testing.robot_harness import agent_config
from testing.waiting import wait_until


def nagle_off(sock) -> bool:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_the_link_socket_has_nagle_off_also_after_a_reconnect(broker):
    config = agent_config(broker.url, "nodelaybot")
    link = PahoLink(config.mqtt, config.name, Topics.for_robot(config.name))
    link.start()
    try:
        wait_until(lambda: link.connected, 10)
        first = link.client.socket()
        assert nagle_off(first)
        broker.kill()
        wait_until(lambda: not link.connected, 5)
        broker.start()
        wait_until(lambda: link.connected, 15)
        second = link.client.socket()
        assert second is not first and nagle_off(second)
    finally:
        link.close()


def test_a_socket_without_tcp_options_is_left_as_it_is():
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        no_delay(None, None, left)  # no error: a Unix socket has no Nagle to turn off
        no_delay(None, None, object())  # nor does a wrapper without setsockopt


def test_the_command_publisher_socket_has_nagle_off(broker):
    publisher = MqttPublisher(broker.url, client_id="nodelay-api")
    try:
        publisher.publish("robot/nodelaybot/cmd", {"action": "stop"})  # waits for the PUBACK
        assert nagle_off(publisher.client.socket())
    finally:
        publisher.close()
