"""Real MQTT clients (paho) for the broker tests, and the brokers the local stack can use."""

from __future__ import annotations

import asyncio
import os
import queue
import tempfile
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

from testing.mqtt_brokers import BrokerProcess
from testing.ports import free_port
from tools.stack import mqtt_acl
from tools.stack.embedded_broker import EmbeddedBroker

TIMEOUT = 10.0
ROBOTS = ["a", "b"]


class Client:
    """One connection; ``refused`` is the CONNACK's failure, ``messages`` what arrived."""

    def __init__(self, port: int, user: str | None, password: str | None,
                 client_id: str | None = None) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv311)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.messages: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        self.acks: queue.Queue[list] = queue.Queue()
        self._connack: queue.Queue = queue.Queue()
        self.disconnected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: self._connack.put(rc)
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.acks.put(codes)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload),
                                                                        m.retain))
        self.client.on_disconnect = lambda *a: self.disconnected.set()
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        self.reason = self._connack.get(timeout=TIMEOUT)
        self.refused = self.reason.is_failure

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
        self.client.disconnect()
        self.client.loop_stop()


class AmqttBroker:
    """The stack's embedded broker, in a thread of this process."""

    kind = "amqtt"

    def __init__(self, passwords: dict[str, str]) -> None:
        self.port = free_port()
        self.broker = EmbeddedBroker("127.0.0.1", self.port, passwords, ROBOTS,
                                     keepalive_grace_s=1)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> AmqttBroker:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.broker.start(), self.loop).result(TIMEOUT)
        return self

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
        if os.geteuid() == 0:  # as root Mosquitto drops to its own user, who cannot read 0600
            self.mosquitto.extra_config += "user root\n"

    def start(self) -> MosquittoBroker:
        self.mosquitto.start()
        return self

    def stop(self) -> None:
        self.mosquitto.close()
        self._dir.cleanup()
