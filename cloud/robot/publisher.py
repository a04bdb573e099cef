"""Where robot commands go, and where the robot's last status comes from.

Two implementations of one small interface, chosen by :func:`from_config`:

- :class:`IotDataPublisher` (AWS): ``iot-data`` on the account's ``iot:Data-ATS`` endpoint,
  looked up once per container unless ``IOT_DATA_ENDPOINT`` names it. ``describe_endpoint``
  without an endpoint type returns the legacy VeriSign host, which fails TLS; hence the type.
- :class:`MqttPublisher` (local stack): paho-mqtt to ``MQTT_URL``, one connection per process,
  with a subscription to every robot's retained status.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlparse

from aws_lambda_powertools import Logger

from cloud.config import Config
from cloud.lazy import Lazy
from cloud.robot.errors import PublishFailed
from contracts import safejson
from contracts.topics import STATUS_FILTER, Topics

# a child of the handler's Powertools logger: JSON lines with its correlation id
log = Logger(service="robot", child=True)

class Publisher:
    """Publish commands (QoS 1) and read retained statuses."""

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """:raises PublishFailed: the broker did not take it."""
        raise NotImplementedError

    def status(self, name: str) -> dict[str, Any] | None:
        """The robot's last retained status, or ``None`` if it never reported."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""


class IotDataPublisher(Publisher):
    """AWS IoT Core through the ``iot-data`` API.

    :param endpoint: the ``iot:Data-ATS`` host (``IOT_DATA_ENDPOINT``); empty = look it up.
    :param session_factory: returns a boto3 session (a seam for tests).
    """

    def __init__(self, endpoint: str = "", session_factory: Callable[[], Any] | None = None,
                 region: str | None = None) -> None:
        self.endpoint = endpoint.removeprefix("https://").rstrip("/")
        self.region = region
        self._session_factory = session_factory
        self._client: Lazy[Any] = Lazy(self._connect)

    def _session(self) -> Any:
        if self._session_factory is not None:
            return self._session_factory()
        import boto3  # only the AWS path needs it

        return boto3.session.Session(region_name=self.region)

    def client(self) -> Any:
        """The ``iot-data`` client; the endpoint is looked up on first use only."""
        return self._client.get()

    def _connect(self) -> Any:
        session = self._session()
        if not self.endpoint:
            answer = session.client("iot").describe_endpoint(endpointType="iot:Data-ATS")
            self.endpoint = answer["endpointAddress"]
        return session.client("iot-data", endpoint_url=f"https://{self.endpoint}")

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client().publish(topic=topic, qos=1, payload=json.dumps(payload).encode(),
                                  contentType="application/json")
        except (BotoCoreError, ClientError) as exc:
            log.error("iot-data publish to %s failed: %s", topic, exc)
            raise PublishFailed("the robot's message broker did not take the command; "
                                "try again") from None

    def status(self, name: str) -> dict[str, Any] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client()
        try:
            answer = client.get_retained_message(topic=Topics.for_robot(name).status)
        except client.exceptions.ResourceNotFoundException:
            return None
        except (BotoCoreError, ClientError) as exc:
            log.error("reading the retained status of %s failed: %s", name, exc)
            raise PublishFailed("the robot's status cannot be read now; try again") from None
        return _decode(answer.get("payload") or b"")


MAX_STATUS_BYTES = 16 * 1024


def _decode(payload: bytes) -> dict[str, Any] | None:
    try:
        value = safejson.loads(payload, max_bytes=MAX_STATUS_BYTES)
    except safejson.UnsafeJson:
        return None
    return value if isinstance(value, dict) else None


def _no_delay(client: Any, userdata: Any, sock: Any) -> None:
    """paho ``on_socket_open``: Nagle's algorithm off on every new connection.

    The client acknowledges each status it receives (QoS 1) with a PUBACK the broker does not
    answer at once; with Nagle on, a command published within the broker's delayed ACK
    (~40 ms on Linux) would wait for it.
    """
    with contextlib.suppress(OSError, AttributeError):  # not a TCP socket: nothing to do
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class MqttPublisher(Publisher):
    """A plain MQTT broker (the local stack's): publish QoS 1, cache retained statuses.

    :param url: ``mqtt://[user:password@]host:port``.
    :param timeout_s: how long to wait for the broker to acknowledge a command.
    """

    def __init__(self, url: str, timeout_s: float = 2.0, client_id: str = "") -> None:
        import paho.mqtt.client as mqtt

        parts = urlparse(url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError("MQTT_URL: expected mqtt://[user:password@]host:port")
        self._mqtt = mqtt
        self.host, self.port = parts.hostname, parts.port or 1883
        self.timeout_s = timeout_s
        self._statuses: dict[str, dict[str, Any] | None] = {}
        self._subscribed = threading.Event()
        self._connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv311)
        if parts.username:  # the local broker's command publisher (tools/stack/mqtt_acl.py)
            self.client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        # paho annotates whole seconds but takes any number: retry after 0.2 s at first
        self.client.reconnect_delay_set(0.2, 5)  # type: ignore[arg-type]
        self.client.on_socket_open = _no_delay
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *args: self._connected.clear()
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:  # e.g. a wrong password: say so rather than "unreachable"
            log.error("the MQTT broker refused the command publisher: %s", reason_code)
            return
        client.subscribe(STATUS_FILTER, qos=1)
        self._connected.set()

    def _on_message(self, client, userdata, message) -> None:
        name = message.topic.split("/")[1]
        self._statuses[name] = _decode(message.payload) if message.payload else None

    def _wait_connected(self) -> None:
        if not self._connected.wait(self.timeout_s):
            raise PublishFailed(f"the local MQTT broker at {self.host}:{self.port} is not "
                                f"reachable; is the stack's broker running?")

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self._wait_connected()
        info = self.client.publish(topic, json.dumps(payload, separators=(",", ":")), qos=1)
        # RuntimeError/ValueError: the connection dropped meanwhile; is_published() says so.
        with contextlib.suppress(RuntimeError, ValueError):
            info.wait_for_publish(self.timeout_s)
        if not info.is_published():
            raise PublishFailed("the local MQTT broker did not acknowledge the command")

    def status(self, name: str) -> dict[str, Any] | None:
        self._wait_connected()
        # Retained messages follow the SUBACK at once; give the first request that moment.
        if self._subscribed.wait(self.timeout_s) and name not in self._statuses:
            time.sleep(0.05)
        return self._statuses.get(name)

    def close(self) -> None:
        with _shared_lock:
            for url, publisher in list(_shared.items()):
                if publisher is self:
                    del _shared[url]
        self.client.disconnect()
        # paho's loop_stop() raises AttributeError when its thread ends between reading it and
        # joining it (eclipse-paho/paho.mqtt.python#872, open): ended is what it waits for
        with contextlib.suppress(AttributeError):
            self.client.loop_stop()


# The local stack's containers share one connection per broker, as Lambda containers share
# IoT Core's data plane (HTTPS, no client id): Mosquitto gives every connection of a user the
# user's name as its client id, so two would replace each other.
_shared: dict[str, MqttPublisher] = {}
_shared_lock = threading.Lock()


def from_config(config: Config) -> Publisher:
    """:class:`MqttPublisher` when ``MQTT_URL`` is set (local stack), else IoT Core."""
    if config.mqtt_url:
        with _shared_lock:
            if config.mqtt_url not in _shared:
                _shared[config.mqtt_url] = MqttPublisher(config.mqtt_url)
            return _shared[config.mqtt_url]
    return IotDataPublisher(config.iot_data_endpoint)
