"""The MQTT link: a small interface, paho-mqtt 2.x behind it, and an in-memory fake.

Topics (:mod:`contracts.topics`): commands on ``robot/{name}/cmd`` and, unless disabled, the
original web app's ``{name}/action`` (QoS 1, subscribed); the retained ``robot/{name}/status``
with its Last Will ``{"online": false}``; events on ``robot/{name}/telemetry``.

The link calls ``on_connect()``, ``on_disconnect(reason)`` and ``on_message(topic, payload)``
from its own network thread; the agent hands them over to its event loop. Retained messages
are never handed over: a command is acted on only when it is published, live.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from contracts.topics import Topics
from robot_agent.config import ALPN_IOT, MqttConfig
from robot_agent.errors import LinkError

log = logging.getLogger("robot_agent.mqtt")

OFFLINE = {"online": False}


def encode(payload: dict[str, Any] | bytes) -> bytes:
    if isinstance(payload, bytes):
        return payload
    return json.dumps(payload, separators=(",", ":")).encode()


class Link:
    """What the agent needs from a message link. Callbacks are set by the agent."""

    def __init__(self) -> None:
        self.on_connect: Callable[[], None] = lambda: None
        self.on_disconnect: Callable[[str], None] = lambda reason: None
        self.on_message: Callable[[str, bytes], None] = lambda topic, payload: None

    @property
    def connected(self) -> bool:
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        """The link's machinery runs (it may be reconnecting)."""
        return True

    def start(self) -> None:
        """Connect in the background, retrying with backoff until :meth:`close`."""
        raise NotImplementedError

    def publish(self, topic: str, payload: dict[str, Any] | bytes, qos: int = 0,
                retain: bool = False, wait_s: float = 0.0) -> bool:
        """Send a message; with ``wait_s`` wait that long for it to leave. True if it did."""
        raise NotImplementedError

    def close(self) -> None:
        """Disconnect on purpose (no Last Will) and stop the background work."""
        raise NotImplementedError


def no_delay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """paho ``on_socket_open``: turn Nagle's algorithm off on every new connection.

    paho leaves it on. After a QoS 1 command the link has just written its PUBACK, which the
    broker acknowledges only with a delayed ACK (~40 ms on Linux) as it has nothing to send
    back; Nagle holds the telemetry published right after until that ACK arrives. Small
    messages that matter now are all this link sends, so they go out at once.
    """
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError) as exc:  # not TCP (a Unix socket, a websocket wrapper)
        log.debug("TCP_NODELAY not set: %s", exc)


def tls_context(config: MqttConfig) -> ssl.SSLContext:
    """Mutual TLS for AWS IoT Core (or a broker with client certificates).

    :raises LinkError: when the CA, certificate or key cannot be loaded (paths named, never
        their contents).
    """
    try:
        context = ssl.create_default_context(cafile=str(config.ca))
        context.load_cert_chain(str(config.cert), str(config.key))
    except (OSError, ssl.SSLError) as exc:
        raise LinkError(f"cannot load TLS material (ca {config.ca}, cert {config.cert}, "
                        f"key file set in [mqtt] key): {exc}") from None
    if config.alpn:
        context.set_alpn_protocols([ALPN_IOT])  # IoT Core's MQTT on 443
    return context


class PahoLink(Link):
    """paho-mqtt 2.x with a retained Last Will, resubscription and reconnect backoff.

    :param config: the ``[mqtt]`` section.
    :param client_id: the robot name (AWS IoT policies pin the client id to the thing).
    :param topics: the robot's topics.
    """

    def __init__(self, config: MqttConfig, client_id: str, topics: Topics) -> None:
        super().__init__()
        self.config = config
        self.topics = topics
        # Clean session: commands queued while we were away would be stale anyway.
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv311, clean_session=True)
        self.client.will_set(topics.status, encode(OFFLINE), qos=1, retain=True)
        # paho annotates whole seconds but takes any number (tests use fractions)
        self.client.reconnect_delay_set(config.reconnect_min_s,  # type: ignore[arg-type]
                                        config.reconnect_max_s)  # type: ignore[arg-type]
        if config.tls:
            self.client.tls_set_context(tls_context(config))
        if config.username is not None:
            self.client.username_pw_set(config.username, config.password)
        self.client.on_socket_open = no_delay
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message
        self.client.on_subscribe = self._subscribed
        self._subscribe_mid: int | None = None
        self._ready = False
        self._subscriptions = [(topics.cmd, 1)]
        if config.legacy_topic:
            self._subscriptions.append((topics.legacy, 1))
        self._started = False

    @property
    def connected(self) -> bool:
        """Connected and subscribed: a command published now will reach us."""
        return self._ready and self.client.is_connected()

    @property
    def alive(self) -> bool:
        thread = getattr(self.client, "_thread", None)
        return not self._started or (thread is not None and thread.is_alive())

    def start(self) -> None:
        log.info("connecting to %s:%d (%s)", self.config.host, self.config.port,
                 "mutual TLS" + (", ALPN" if self.config.alpn else "") if self.config.tls
                 else "plain TCP")
        self.client.connect_async(self.config.host, self.config.port, self.config.keepalive_s)
        self.client.loop_start()
        self._started = True

    def _connected(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("broker refused the connection: %s", reason_code)
            return
        # Subscribe on every connection: a clean session forgets subscriptions. The link is
        # up (status online, READY) only once the broker confirms it: until then a command
        # published to us would be dropped.
        _, self._subscribe_mid = client.subscribe(self._subscriptions)

    def _subscribed(self, client, userdata, mid, reason_codes, properties) -> None:
        if mid != self._subscribe_mid:
            return
        refused = [code for code in reason_codes if code.is_failure]
        if refused:
            log.error("broker refused the subscription to %s: %s",
                      ", ".join(t for t, _ in self._subscriptions), refused[0])
            return
        self._ready = True
        self.on_connect()

    def _disconnected(self, client, userdata, flags, reason_code, properties) -> None:
        self._ready = False
        self.on_disconnect(str(reason_code))

    def _message(self, client, userdata, message) -> None:
        if message.retain:
            # Kept by the broker from some earlier moment (a retained legacy command would
            # drive at every start): never a command to act on now.
            log.info("ignored a retained message on %s (commands are taken live only)",
                     message.topic)
            return
        self.on_message(message.topic, message.payload)

    def publish(self, topic: str, payload: dict[str, Any] | bytes, qos: int = 0,
                retain: bool = False, wait_s: float = 0.0) -> bool:
        info = self.client.publish(topic, encode(payload), qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        if wait_s:
            try:
                info.wait_for_publish(wait_s)
            except (RuntimeError, ValueError):
                return False
            return info.is_published()
        return True

    def close(self) -> None:
        if self._started:
            self.client.disconnect()
            self.client.loop_stop()
            self._started = False


class MemoryLink(Link):
    """An in-memory link for unit tests: records what is published, injects messages."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict[str, Any] | bytes, int, bool]] = []
        self._connected = False
        self._lock = threading.Lock()
        self.closed = False

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        self.connect()

    def connect(self) -> None:
        self._connected = True
        self.on_connect()

    def drop(self, reason: str = "test drop") -> None:
        self._connected = False
        self.on_disconnect(reason)

    def inject(self, topic: str, payload: dict[str, Any] | bytes) -> None:
        self.on_message(topic, encode(payload))

    def publish(self, topic: str, payload: dict[str, Any] | bytes, qos: int = 0,
                retain: bool = False, wait_s: float = 0.0) -> bool:
        if not self._connected:
            return False
        decoded = json.loads(payload) if isinstance(payload, bytes) else payload
        with self._lock:
            self.published.append((topic, decoded, qos, retain))
        return True

    def messages(self, topic: str) -> list[dict[str, Any] | bytes]:
        with self._lock:
            return [p for t, p, _, _ in self.published if t == topic]

    def close(self) -> None:
        self._connected = False
        self.closed = True
