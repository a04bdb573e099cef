"""The local broker is not a back door: users, topic rules and retained hygiene, from outside.

Each test is an attack (or a mistake) made with a real MQTT client against the stack's embedded
amqtt broker and against Mosquitto configured from the same rules (tools/stack/mqtt_acl.py).
"""

from __future__ import annotations

import json
import time

import paho.mqtt.client as mqtt
import pytest

from testing import system
from testing.mqtt_clients import AmqttBroker, Client, MosquittoBroker
from tools.stack import mqtt_acl

pytestmark = pytest.mark.slow  # two brokers, Last Wills after keep-alives

PASSWORDS = mqtt_acl.new_passwords(["a", "b"])
QUIET = 0.5  # how long "nothing arrives" is watched; a delivery takes milliseconds here


@pytest.fixture(scope="module", params=["amqtt", "mosquitto"])
def broker(request):
    if request.param == "mosquitto" and system.missing("mosquitto"):
        pytest.skip(system.reason(["mosquitto"]))
    kind = AmqttBroker if request.param == "amqtt" else MosquittoBroker
    running = kind(PASSWORDS).start()
    yield running
    running.stop()


@pytest.fixture
def connect(broker):
    opened: list[Client] = []

    def open_client(user: str | None, password: str | None = None, client_id: str | None = None,
                    ) -> Client:
        if user is not None and password is None:
            password = PASSWORDS[user]
        pinned = user if user in ("a", "b") else None  # a robot's client id is its name
        client = Client(broker.port, user, password, client_id or pinned)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def test_anonymous_and_wrong_passwords_are_refused(connect):
    assert connect(None).refused
    assert connect("a", "not-the-password").refused
    assert connect("nobody", "whatever").refused
    assert not connect("a").refused


def test_only_the_command_publisher_reaches_a_robots_command_topic(connect):
    robot = connect("a")
    assert robot.subscribe("robot/a/cmd") and robot.subscribe("a/action")
    for user in ("observer", "b"):  # a watcher, another robot: refused, silently
        connect(user).publish("robot/a/cmd", b'{"action": "forward", "speed": 1}')
    assert robot.next(QUIET) is None
    connect("cloud").publish("a/action", b'{"action": "forward"}')  # legacy: nobody, as in AWS
    assert robot.next(QUIET) is None
    connect("cloud").publish("robot/a/cmd", b'{"action": "stop"}')
    assert robot.next() == ("robot/a/cmd", b'{"action": "stop"}', False)


def test_a_robot_and_a_watcher_never_receive_commands_meant_for_another(connect, broker):
    """Mosquitto grants any subscription and filters at delivery; amqtt refuses the SUBACK."""
    robot, watcher = connect("b"), connect("observer")
    granted = [robot.subscribe(t) for t in ("robot/a/cmd", "robot/+/cmd", "#")]
    granted += [watcher.subscribe(t) for t in ("robot/+/cmd", "#")]
    if broker.kind == "amqtt":
        assert granted == [False] * 5
    assert robot.subscribe("robot/b/cmd") and watcher.subscribe("robot/+/status")
    connect("cloud").publish("robot/a/cmd", b'{"action": "forward"}')
    assert robot.next(QUIET) is None
    while (message := watcher.next(QUIET)) is not None:
        assert message[0].endswith("/status")  # retained statuses, never a command


def test_nobody_but_the_robot_sets_its_status(connect):
    """A spoofed retained ``{"online": false}`` would make the API report the robot offline."""
    connect("a").publish("robot/a/status", b'{"online": true, "name": "a"}', retain=True)
    for user in ("cloud", "observer", "b"):
        connect(user).publish("robot/a/status", b'{"online": false}', retain=True)
    reader = connect("cloud")
    assert reader.subscribe("robot/+/status")
    seen = {}
    while (message := reader.next(QUIET)) is not None:
        seen[message[0]] = json.loads(message[1])
    assert seen["robot/a/status"] == {"online": True, "name": "a"}


def test_retained_messages_go_only_to_matching_subscriptions(connect):
    """#11 item 8: a robot subscribed to its commands got other robots' retained statuses."""
    other = connect("a")
    other.publish("robot/a/status", b'{"online": true, "camera": {}}', retain=True)
    watcher = connect("observer")  # someone else's wide subscription is already in place
    assert watcher.subscribe("robot/+/status")
    assert watcher.next()[0] == "robot/a/status"  # retained, where it matches
    robot = connect("b")
    assert robot.subscribe("robot/b/cmd")
    assert robot.next(QUIET) is None


def test_a_retained_command_is_not_kept_for_the_next_agent(connect, broker):
    if broker.kind == "mosquitto":
        pytest.skip("Mosquitto's ACL cannot refuse the retain flag (the agent ignores it)")
    connect("cloud").publish("robot/a/cmd", b'{"action": "forward"}', retain=True)
    robot = connect("a")
    assert robot.subscribe("robot/a/cmd")
    assert robot.next(QUIET) is None


def test_client_ids_are_pinned_and_strangers_cannot_kick_the_robot(connect, broker):
    if broker.kind == "mosquitto":
        pytest.skip("Mosquitto's ACL file cannot pin a user's client id")
    robot = connect("a")
    assert connect("observer", client_id="a").refused  # a user posing as the robot
    assert connect(None, client_id="a").refused  # a stranger posing as the robot
    assert connect("b", client_id="a").refused
    assert not robot.disconnected.wait(QUIET)
    robot.publish("robot/a/status", b'{"online": true}', retain=True)  # still connected
    watcher = connect("observer")
    assert watcher.subscribe("robot/a/status")
    assert watcher.next()[1] == b'{"online": true}'


def test_a_frozen_robot_is_declared_offline_by_its_last_will(broker):
    """A 50 s frozen agent stayed "online": amqtt never enforced the keep-alive."""
    watcher = Client(broker.port, "observer", PASSWORDS["observer"])
    assert watcher.subscribe("robot/b/status")
    frozen = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="b",
                         protocol=mqtt.MQTTv311)
    frozen.username_pw_set("b", PASSWORDS["b"])
    frozen.will_set("robot/b/status", b'{"online": false}', qos=1, retain=True)
    frozen.connect("127.0.0.1", broker.port, keepalive=2)
    frozen.loop_start()
    frozen.publish("robot/b/status", b'{"online": true}', qos=1, retain=True).wait_for_publish(5)
    assert watcher.next()[1] == b'{"online": true}'
    frozen.loop_stop()  # the process hangs: no more packets, the socket stays open
    started = time.monotonic()
    try:
        assert watcher.next(15) == ("robot/b/status", b'{"online": false}', False)
        assert time.monotonic() - started < 10  # keep-alive 2 s + grace (1 s here, 15 s live)
    finally:
        frozen.socket().close()
        watcher.close()
