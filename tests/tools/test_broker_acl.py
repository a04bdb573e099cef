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
from testing.mqtt_clients import TIMEOUT, AmqttBroker, Client, MosquittoBroker, RawClient
from testing.waiting import wait_until
from tools.stack import mqtt_acl
from tools.stack.embedded_broker import MAX_INFLIGHT, MAX_QUEUED

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
                    **options) -> Client:
        if user is not None and password is None:
            password = PASSWORDS[user]
        pinned = user if user in ("a", "b") else None  # a robot's client id is its name
        client = Client(broker.port, user, password, client_id or pinned, **options)
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


def test_no_other_account_can_take_the_robots_client_id(connect, broker):
    """Mosquitto: the observer knocked the robot off 9 times in 10 s by naming itself "a".
    amqtt refuses such a CONNECT; Mosquitto gives the connection its user's name instead."""
    robot = connect("a")
    for user in ("observer", "cloud", "b"):
        impostor = connect(user, client_id="a")
        assert impostor.refused == (broker.kind == "amqtt")
    assert connect(None, client_id="a").refused  # a stranger posing as the robot
    assert not robot.disconnected.wait(QUIET)
    assert_hears_commands(robot, connect)


def assert_hears_commands(robot: Client, connect) -> None:
    """``robot`` (user ``a``, subscribed or not) still gets what the publisher sends."""
    assert robot.subscribe("robot/a/cmd")
    connect("cloud").publish("robot/a/cmd", b'{"action": "stop"}')
    assert robot.next() == ("robot/a/cmd", b'{"action": "stop"}', False)


def test_a_refused_connect_changes_nothing(connect, broker):
    """amqtt deleted the session of the client id a refused client named before refusing it:
    the robot stayed "online" and deaf; with a persistent session the stranger's Last Will
    became the robot's."""
    robot = connect("a")
    assert robot.subscribe("robot/a/cmd")
    robot.publish("robot/a/status", b'{"online": true}', retain=True)
    spoof = ("robot/a/status", b'{"online": false, "spoofed": true}', True)
    for clean in (True, False):
        assert connect(None, client_id="a", clean=clean, will=spoof).refused
        assert connect("a", "wrong", client_id="a", clean=clean, will=spoof).refused
    assert not robot.disconnected.wait(QUIET)
    connect("cloud").publish("robot/a/cmd", b'{"action": "left"}')
    assert robot.next() == ("robot/a/cmd", b'{"action": "left"}', False)
    watcher = connect("observer")
    assert watcher.subscribe("robot/a/status")
    assert watcher.next()[1] == b'{"online": true}'
    assert watcher.next(QUIET) is None


WILLS = [  # (user, (topic, payload, retain)) none of which the user may publish itself
    ("observer", ("robot/a/cmd", b'{"action": "forward", "speed": 1}', False)),
    ("b", ("robot/a/cmd", b'{"action": "forward", "speed": 1}', False)),
    ("b", ("robot/a/status", b'{"online": false}', True)),
    ("cloud", ("robot/a/status", b'{"online": false}', True)),
]


def test_a_last_will_goes_only_where_its_user_may_publish(connect, broker):
    """amqtt never checked the will's topic: the read-only observer drove the robot at full
    speed by disconnecting, robot b drove robot a, statuses were spoofed."""
    robot, watcher = connect("a"), connect("observer")
    assert robot.subscribe("robot/a/cmd") and watcher.subscribe("robot/a/status")
    robot.publish("robot/a/status", b'{"online": true, "n": 1}', retain=True)
    while watcher.next()[1] != b'{"online": true, "n": 1}':  # an earlier test's status first
        pass
    senders = [connect(user, will=will) for user, will in WILLS]
    if broker.kind == "amqtt":
        assert [s.refused for s in senders] == [True] * len(WILLS)  # as Mosquitto says it is
    for sender in senders:
        sender.crash()
    assert robot.next(QUIET) is None
    assert watcher.next(QUIET) is None


def test_a_robot_may_leave_its_own_last_will(broker):
    """The agent's own will (``{"online": false}``, retained) still works on both brokers."""
    watcher = Client(broker.port, "observer", PASSWORDS["observer"])
    try:
        assert watcher.subscribe("robot/b/status")
        robot = Client(broker.port, "b", PASSWORDS["b"], "b",
                       will=("robot/b/status", b'{"online": false}', True))
        assert not robot.refused
        robot.crash()
        assert watcher.next() == ("robot/b/status", b'{"online": false}', False)
        cleaner = Client(broker.port, "b", PASSWORDS["b"], "b")
        cleaner.publish("robot/b/status", b"", retain=True)  # as the next test expects it
        cleaner.close()
    finally:
        watcher.close()


def test_a_second_connection_with_a_client_id_closes_the_older(connect):
    """As IoT Core does (DUPLICATE_CLIENTID): the embedded broker kept both, the older deaf."""
    older = connect("a")
    newer = connect("a")
    assert older.disconnected.wait(TIMEOUT)
    assert_hears_commands(newer, connect)


def test_a_packet_over_the_size_limit_disconnects_its_sender(connect, broker):
    """A 100 MB publish was read whole; IoT Core's limit is 128 KB."""
    robot = connect("a")
    assert robot.subscribe("robot/a/cmd")
    sender = connect("cloud")
    sender.client.publish("robot/a/cmd", b"x" * (130 * 1024), qos=0)
    assert sender.disconnected.wait(TIMEOUT)
    assert robot.next(QUIET) is None
    assert not robot.disconnected.is_set()


def test_a_socket_that_never_sends_connect_is_dropped(broker):
    """amqtt held idle pre-CONNECT sockets for ever (Mosquitto drops them after 90 s)."""
    if broker.kind == "mosquitto":
        pytest.skip("Mosquitto's own pre-CONNECT timeout is 90 s, too long for a test")
    idle = RawClient(broker.port)
    try:
        assert idle.closed_by_broker(TIMEOUT)  # 1 s in this broker, 10 s in the stack's
    finally:
        idle.close()


def test_unfinished_qos2_publishes_are_bounded(broker):
    """20,000 QoS 2 publishes were accepted; never released, each held the broker's memory."""
    if broker.kind == "mosquitto":
        pytest.skip("Mosquitto bounds them by its own receive maximum")
    flood = RawClient(broker.port, "cloud", PASSWORDS["cloud"], "flood")
    try:
        for packet_id in range(1, MAX_INFLIGHT + 2):
            flood.publish_qos2("robot/a/cmd", b'{"action": "stop"}', packet_id)
        assert flood.closed_by_broker(TIMEOUT)
    finally:
        flood.close()


def test_messages_waiting_for_one_client_are_bounded(broker, connect):
    """A subscriber that never acknowledges holds at most MAX_QUEUED messages."""
    if broker.kind == "mosquitto":
        pytest.skip("Mosquitto's max_queued_messages, written in its config")
    stuck = RawClient(broker.port, "a", PASSWORDS["a"], "a")
    try:
        stuck.subscribe("robot/a/cmd")
        sender = connect("cloud")
        infos = [sender.client.publish("robot/a/cmd", b"{}", qos=1)
                 for _ in range(MAX_QUEUED + 50)]
        infos[-1].wait_for_publish(TIMEOUT)
        outbox = broker.outbox("a")
        wait_until(lambda: outbox.dropped >= 50, timeout=TIMEOUT, step=0.02)
        assert outbox.pending == MAX_QUEUED
    finally:
        stuck.close()


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
