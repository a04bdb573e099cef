"""Real MQTT clients (paho) for the broker tests, and the brokers the local stack can use."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
import tempfile
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
from robot_agent.mqtt_link import hang_up

from testing.mqtt_brokers import BrokerProcess
from testing.ports import free_port
from tools.stack import mqtt_acl
from tools.stack.embedded_broker import EmbeddedBroker

TIMEOUT = 10.0
ROBOTS = ["a", "b"]


class Client:
    """One connection; ``refused`` is the CONNACK's failure, ``messages`` what arrived."""

    def __init__(self, port: int, user: str | None, password: str | None,
                 client_id: str | None = None, *, clean: bool = True,
                 will: tuple[str, bytes, bool] | None = None) -> None:
        # No reconnecting: a connection the broker closes stays closed (two connections as one
        # user on Mosquitto would replace each other back and forth), and closing it later
        # does not wait out paho's reconnect delay (1 s).
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv311, clean_session=clean,
                                  reconnect_on_failure=False)
        if user is not None:
            self.client.username_pw_set(user, password)
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1, retain=will[2])
        self.messages: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self.acks: queue.Queue[list] = queue.Queue()
        self._connack: queue.Queue = queue.Queue()
        self.disconnected = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.acks.put(codes)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload),
                                                                        m.retain))
        self.client.on_disconnect = self._on_disconnect
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        self.reason = self._connack.get(timeout=TIMEOUT)
        self.refused = self.reason.is_failure

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            client.disconnect()  # no retry: paho would try again a second later
        self._connack.put(reason)

    def _on_disconnect(self, client, *args) -> None:
        self.disconnected.set()  # closed by the broker (or by crash())

    def subscribe(self, topic: str) -> bool:
        """True if the broker granted it."""
        self.client.subscribe(topic, qos=1)
        return not self.acks.get(timeout=TIMEOUT)[0].is_failure

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(TIMEOUT)

    def next(self, timeout: float = TIMEOUT) -> tuple[str, bytes, bool] | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        hang_up(self.client)

    def crash(self) -> None:
        """Drop the connection without a DISCONNECT, as a killed process does: its Last Will
        is published. The socket is shut first, which also wakes paho's network thread at
        once (stopping it first waited out its 1 s select)."""
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(AttributeError):  # see robot_agent.mqtt_link.hang_up
            self.client.loop_stop()
        if sock is not None:
            sock.close()


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _packet(kind: int, body: bytes) -> bytes:
    length, size = b"", len(body)
    while True:  # MQTT's variable-length "remaining length"
        size, digit = divmod(size, 128)
        length += bytes([digit | (0x80 if size else 0)])
        if not size:
            return bytes([kind]) + length + body


class RawClient:
    """MQTT 3.1.1 by hand on a socket, for what a well-behaved library never sends: QoS 2
    publishes never released, a subscriber that never acknowledges, a CONNECT that never
    comes."""

    def __init__(self, port: int, user: str | None = None, password: str | None = None,
                 client_id: str = "raw") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        if user is None:
            return
        body = _field(b"MQTT") + bytes([4, 0xC2]) + (60).to_bytes(2, "big")
        body += _field(client_id.encode()) + _field(user.encode()) + _field(
            (password or "").encode())
        self.sock.sendall(_packet(0x10, body))
        connack = self.sock.recv(4)
        assert connack[:1] == b"\x20" and connack[3:4] == b"\x00", connack

    def publish_qos2(self, topic: str, payload: bytes, packet_id: int) -> None:
        self.sock.sendall(_packet(0x34, _field(topic.encode()) + packet_id.to_bytes(2, "big")
                                  + payload))

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        self.sock.sendall(_packet(0x82, (1).to_bytes(2, "big") + _field(topic_filter.encode())
                                  + bytes([qos])))

    def closed_by_broker(self, timeout: float) -> bool:
        """Whether the broker closes the connection within ``timeout`` (what it sends on the
        way is read and ignored)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        except OSError:
            return True  # reset
        return True

    def close(self) -> None:
        self.sock.close()


class AmqttBroker:
    """The stack's embedded broker, in a thread of this process."""

    kind = "amqtt"

    def __init__(self, passwords: dict[str, str]) -> None:
        self.port = free_port()
        self.broker = EmbeddedBroker("127.0.0.1", self.port, passwords, ROBOTS,
                                     keepalive_grace_s=1, connect_timeout_s=1.0)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> AmqttBroker:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.broker.start(), self.loop).result(TIMEOUT)
        return self

    def outbox(self, client_id: str):
        """What waits in the broker for ``client_id`` (:class:`Outbox`)."""
        assert self.broker._broker is not None
        return self.broker._broker.sessions[client_id][1].queue

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.broker.stop(), self.loop).result(TIMEOUT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(TIMEOUT)


class MosquittoBroker:
    """Mosquitto with the files the stack writes from the same rules."""

    kind = "mosquitto"

    def __init__(self, passwords: dict[str, str]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="mosq-acl-")
        self.mosquitto = BrokerProcess("mosquitto")
        self.port = self.mosquitto.port
        conf = mqtt_acl.mosquitto_files(Path(self._dir.name), mqtt_acl.acl(ROBOTS), passwords,
                                        self.port)
        # BrokerProcess writes the listener (and allow_anonymous true, which ours overrides).
        self.mosquitto.extra_config = "\n".join(
            line for line in conf.read_text().splitlines()
            if not line.startswith(("listener", "persistence")))
        self.mosquitto.extra_config += "\n"

    def start(self) -> MosquittoBroker:
        self.mosquitto.start()
        return self

    def stop(self) -> None:
        self.mosquitto.close()
        self._dir.cleanup()
