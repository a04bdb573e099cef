"""The local broker is not a back door: users, topic rules and retained hygiene, from outside.

Each test is an attack (or a mistake) made with a real MQTT client against the stack's embedded
amqtt broker and against Mosquitto configured from the same rules (tools/stack/mqtt_acl.py).
"""

from __future__ import annotations

import json
import time
import uuid

import paho.mqtt.client as mqtt
import pytest

from testing import system
from testing.mqtt_clients import TIMEOUT, AmqttBroker, Client, MosquittoBroker, RawClient
from testing.waiting import wait_until
from tools.stack import mqtt_acl
from tools.stack.embedded_broker import MAX_INFLIGHT, MAX_QUEUED

pytestmark = pytest.mark.slow  # two brokers, Last Wills after keep-alives

PASSWORDS = mqtt_acl.new_passwords(["a", "b"])


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


def before_marker(listener: Client, sender: Client, topic: str) -> list:
    """What reached ``listener`` before a marker that ``sender`` publishes now on ``topic``
    (one ``listener`` receives), instead of watching a fixed time for "nothing arrives".

    Every publish here waits for the broker's acknowledgement, and a broker routes what one
    connection sends in order and queues a subscriber's messages in the order it routed them
    (Mosquitto routes a publish before acknowledging it; amqtt on its next turns, before a
    publish sent after that acknowledgement has come back and gone out again): anything the
    broker delivered to ``listener`` of what was sent before the marker arrives before it.
    """
    marker = json.dumps({"marker": uuid.uuid4().hex}).encode()
    sender.publish(topic, marker)
    seen = []
    while (message := listener.next()) != (topic, marker, False):
        assert message is not None, f"the marker on {topic} never came"
        seen.append(message)
    return seen


def test_anonymous_and_wrong_passwords_are_refused(connect):
    assert connect(None).refused
    assert connect("a", "not-the-password").refused
    assert connect("nobody", "whatever").refused
    assert not connect("a").refused


def test_only_the_command_publisher_reaches_a_robots_command_topic(connect):
    robot, cloud = connect("a"), connect("cloud")
    assert robot.subscribe("robot/a/cmd") and robot.subscribe("a/action")
    for user in ("observer", "b"):  # a watcher, another robot: refused, silently
        connect(user).publish("robot/a/cmd", b'{"action": "forward", "speed": 1}')
    assert before_marker(robot, cloud, "robot/a/cmd") == []
    cloud.publish("a/action", b'{"action": "forward"}')  # legacy: nobody, as in AWS
    cloud.publish("robot/a/cmd", b'{"action": "stop"}')  # the first thing to arrive
    assert robot.next() == ("robot/a/cmd", b'{"action": "stop"}', False)


def test_a_robot_and_a_watcher_never_receive_commands_meant_for_another(connect, broker):
    """Mosquitto grants any subscription and filters at delivery; amqtt refuses the SUBACK."""
    robot, watcher = connect("b"), connect("observer")
    granted = [robot.subscribe(t) for t in ("robot/a/cmd", "robot/+/cmd", "#")]
    granted += [watcher.subscribe(t) for t in ("robot/+/cmd", "#")]
    if broker.kind == "amqtt":
        assert granted == [False] * 5
    assert robot.subscribe("robot/b/cmd") and watcher.subscribe("robot/+/status")
    cloud = connect("cloud")
    cloud.publish("robot/a/cmd", b'{"action": "forward"}')
    assert before_marker(robot, cloud, "robot/b/cmd") == []
    for message in before_marker(watcher, robot, "robot/b/status"):
        assert message[0].endswith("/status")  # retained statuses, never a command


def test_nobody_but_the_robot_sets_its_status(connect):
    """A spoofed retained ``{"online": false}`` would make the API report the robot offline."""
    robot = connect("a")
    robot.publish("robot/a/status", b'{"online": true, "name": "a"}', retain=True)
    for user in ("cloud", "observer", "b"):
        connect(user).publish("robot/a/status", b'{"online": false}', retain=True)
    reader = connect("cloud")
    assert reader.subscribe("robot/+/status")
    seen = {}
    for message in before_marker(reader, robot, "robot/a/status"):  # the retained ones
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
    assert before_marker(robot, connect("cloud"), "robot/b/cmd") == []


def test_a_retained_command_is_not_kept_for_the_next_agent(connect, broker):
    if broker.kind == "mosquitto":
        pytest.skip("Mosquitto's ACL cannot refuse the retain flag (the agent ignores it)")
    cloud = connect("cloud")
    cloud.publish("robot/a/cmd", b'{"action": "forward"}', retain=True)
    robot = connect("a")
    assert robot.subscribe("robot/a/cmd")
    assert before_marker(robot, cloud, "robot/a/cmd") == []


def test_no_other_account_can_take_the_robots_client_id(connect, broker):
    """Mosquitto: the observer knocked the robot off 9 times in 10 s by naming itself "a".
    amqtt refuses such a CONNECT; Mosquitto gives the connection its user's name instead."""
    robot = connect("a")
    for user in ("observer", "cloud", "b"):
        impostor = connect(user, client_id="a")
        assert impostor.refused == (broker.kind == "amqtt")
    assert connect(None, client_id="a").refused  # a stranger posing as the robot
    assert_hears_commands(robot, connect)  # on the connection it had all along
    assert not robot.disconnected.is_set()


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
    connect("cloud").publish("robot/a/cmd", b'{"action": "left"}')
    assert robot.next() == ("robot/a/cmd", b'{"action": "left"}', False)
    assert not robot.disconnected.is_set()  # it heard that on the connection it had
    watcher = connect("observer")
    assert watcher.subscribe("robot/a/status")
    assert watcher.next()[1] == b'{"online": true}'
    assert before_marker(watcher, robot, "robot/a/status") == []


WILLS = [  # (user, (topic, payload, retain)) none of which the user may publish itself
    ("observer", ("robot/a/cmd", b'{"action": "forward", "speed": 1}', False)),
    ("b", ("robot/a/cmd", b'{"action": "forward", "speed": 1}', False)),
    ("b", ("robot/a/status", b'{"online": false}', True)),
    ("cloud", ("robot/a/status", b'{"online": false}', True)),
]


def test_a_last_will_goes_only_where_its_user_may_publish(connect, broker):
    """amqtt never checked the will's topic: the read-only observer drove the robot at full
    speed by disconnecting, robot b drove robot a, statuses were spoofed."""
    robot = connect("a")
    assert robot.subscribe("robot/a/cmd")
    robot.publish("robot/a/status", b'{"online": true, "n": 1}', retain=True)
    # Each target is watched by an account none of its senders uses: Mosquitto gives each
    # connection its user's name as client id, so a sender as the watcher's user would replace
    # the watcher. Last, each round crashes a connection whose will may go there: once that
    # arrives, the broker has seen every connection before it drop, and a will of theirs
    # would be on its way before the markers below.
    rounds = [("robot/a/cmd", robot, ("cloud", ("robot/a/cmd", b'{"action": "stop"}', False))),
              ("robot/a/status", None, ("b", ("robot/b/status", b'{"online": false}', False)))]
    for target, watcher, (allowed_user, allowed) in rounds:
        if watcher is None:
            watcher = connect("observer")
            assert watcher.subscribe(target) and watcher.subscribe(allowed[0])
            while watcher.next()[1] != b'{"online": true, "n": 1}':  # earlier statuses first
                pass
        senders = [connect(user, will=will) for user, will in WILLS if will[0] == target]
        if broker.kind == "amqtt":
            assert [s.refused for s in senders] == [True] * len(senders)  # as Mosquitto says
        for sender in [*senders, connect(allowed_user, will=allowed)]:
            sender.crash()
        assert watcher.next() == (allowed[0], allowed[1], False)
        assert before_marker(watcher, connect("cloud") if watcher is robot else robot,
                             target) == []


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
    assert before_marker(robot, connect("cloud"), "robot/a/cmd") == []
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
    frozen.connect("127.0.0.1", broker.port, keepalive=1)
    online = frozen.publish("robot/b/status", b'{"online": true}', qos=1, retain=True)
    # paho's network loop turned by hand: once it stops turning, the process hangs (no more
    # packets, the socket stays open)
    wait_until(lambda: frozen.loop(0.05) == mqtt.MQTT_ERR_SUCCESS and online.is_published(),
               timeout=TIMEOUT, step=0)
    assert watcher.next()[1] == b'{"online": true}'
    started = time.monotonic()
    try:
        assert watcher.next(15) == ("robot/b/status", b'{"online": false}', False)
        assert time.monotonic() - started < 10  # keep-alive 1 s + grace (1 s here, 15 s live)
    finally:
        frozen.socket().close()
        watcher.close()
