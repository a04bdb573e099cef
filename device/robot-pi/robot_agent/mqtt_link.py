"""The MQTT link: a small interface, paho-mqtt 2.x behind it, and an in-memory fake.

Topics (:mod:`contracts.topics`): commands on ``robot/{name}/cmd`` and, unless disabled, the
original web app's ``{name}/action`` (QoS 1, subscribed); the retained ``robot/{name}/status``
with its Last Will ``{"online": false}``; events on ``robot/{name}/telemetry``, one per message
or several in a batch (:mod:`robot_agent.report` paces what the agent publishes).

The link calls ``on_connect()``, ``on_disconnect(reason)``, ``on_refused(reason)`` and
``on_message(topic, payload)`` from its own network thread; the agent hands them over to its
event loop. ``on_disconnect`` means a connection that was up went down; a login the broker
refuses (wrong password, a certificate it does not accept) is ``on_refused`` instead, every
attempt, and the link keeps trying (a fix on the broker's side needs nothing on the robot).
Retained messages are never handed over: a command is acted on only when it is published, live.
"""

from __future__ import annotations

import contextlib
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
# CONNACK reasons that say "not you": MQTT 3.1.1 return codes 2, 4 and 5 as paho reports them.
LOGIN_REFUSED = {"Client identifier not valid", "Bad user name or password", "Not authorized"}


def login_fix(config: MqttConfig, name: str, config_file: str) -> str:
    """What to do when the broker refuses the robot's login (the agent's log, ``doctor``)."""
    if config.username is not None:
        return (f"[mqtt] username and password in {config_file} must be the broker's for "
                f"{name} (the local stack: run it with --robot {name} and install the bundle "
                f"it writes)")
    if config.tls and not config.endpoint:
        return (f"the broker must accept [mqtt] cert in {config_file} (issued by a CA it "
                f"trusts, with its key)")
    if config.tls:
        return (f"the certificate must be active and attached to the thing {name} and a policy "
                f"that allows iot:Connect as {name}: install the bundle of python -m "
                f"tools.deploy deploy --robot {name}")
    return f"the broker wants a login: set [mqtt] username and password in {config_file}"


def encode(payload: dict[str, Any] | bytes) -> bytes:
    if isinstance(payload, bytes):
        return payload
    return json.dumps(payload, separators=(",", ":")).encode()



def hang_up(client: mqtt.Client) -> None:
    """``disconnect()``, then end the network thread ``loop_start()`` began.

    paho's ``loop_stop()`` reads its thread twice and the thread clears it on the way out: one
    ending in between raises ``AttributeError`` (eclipse-paho/paho.mqtt.python#872, open). The
    thread has ended then, which is all ``loop_stop()`` waits for.
    """
    client.disconnect()
    with contextlib.suppress(AttributeError):
        client.loop_stop()

class Link:
    """What the agent needs from a message link. Callbacks are set by the agent."""

    def __init__(self) -> None:
        self.on_connect: Callable[[], None] = lambda: None
        self.on_disconnect: Callable[[str], None] = lambda reason: None
        self.on_refused: Callable[[str], None] = lambda reason: None
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


class _Client(mqtt.Client):
    """paho's client, keeping why the last connection attempt failed (paho's
    ``on_connect_fail`` is told nothing)."""

    last_error: OSError | None = None

    def reconnect(self) -> mqtt.MQTTErrorCode:
        self.last_error = None
        try:
            return super().reconnect()
        except OSError as exc:  # unreachable, refused, a TLS handshake the broker refused
            self.last_error = exc
            raise


class PahoLink(Link):
    """paho-mqtt 2.x with a retained Last Will, resubscription and reconnect backoff.

    ``nodelay`` (on) turns Nagle's algorithm off on each connection (:func:`no_delay`);
    ``bench/robot.py`` turns it off to measure what it is worth.

    :param config: the ``[mqtt]`` section.
    :param client_id: the robot name (AWS IoT policies pin the client id to the thing).
    :param topics: the robot's topics.
    """

    def __init__(self, config: MqttConfig, client_id: str, topics: Topics) -> None:
        super().__init__()
        self.config = config
        self.topics = topics
        self.nodelay = True
        # Clean session: commands queued while we were away would be stale anyway.
        self.client = _Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                              protocol=mqtt.MQTTv311, clean_session=True)
        self.client.will_set(topics.status, encode(OFFLINE), qos=1, retain=True)
        # paho annotates whole seconds but takes any number (tests use fractions)
        self.client.reconnect_delay_set(config.reconnect_min_s,  # type: ignore[arg-type]
                                        config.reconnect_max_s)  # type: ignore[arg-type]
        if config.tls:
            self.client.tls_set_context(tls_context(config))
        if config.username is not None:
            self.client.username_pw_set(config.username, config.password)
        self.client.on_socket_open = self._socket_open
        self.client.on_connect_fail = self._connect_failed
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
        self._opened = False  # this attempt's socket is open (TCP, and TLS when used)
        self._answered = False  # the broker answered this attempt's CONNECT
        self._accepted = False  # ... and accepted it: a disconnect now is a link lost
        self._trouble: str | None = None  # what was last logged about failing attempts

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

    def _socket_open(self, client, userdata, sock) -> None:
        self._opened, self._answered, self._accepted = True, False, False
        if self.nodelay:
            no_delay(client, userdata, sock)

    def _connect_failed(self, client, userdata) -> None:
        error = getattr(client, "last_error", None)
        if isinstance(error, ssl.SSLError):
            self.on_refused(f"the TLS handshake failed ({error.reason or error})")
        else:
            reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
            self._once(f"cannot reach {self.config.host}:{self.config.port} ({reason}); "
                       f"retrying")

    def _once(self, text: str) -> None:
        """Log a failing attempt's reason when it changes, not at every retry."""
        if text != self._trouble:
            self._trouble = text
            log.warning("%s", text)

    def _connected(self, client, userdata, flags, reason_code, properties) -> None:
        self._answered = True
        if reason_code.is_failure:
            if str(reason_code) in LOGIN_REFUSED:
                self.on_refused(str(reason_code))
            else:
                self._once(f"the broker refused the connection: {reason_code}; retrying")
            return
        self._accepted, self._trouble = True, None
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
        opened, answered, accepted = self._opened, self._answered, self._accepted
        self._opened = self._answered = self._accepted = False
        if accepted:
            self.on_disconnect(str(reason_code))
        elif opened and not answered and self.config.tls:
            # AWS IoT's way of refusing a certificate whose policy does not allow iot:Connect
            # as this client id: it closes the connection without a CONNACK.
            self.on_refused("the broker closed the connection without answering the login")
        elif opened and not answered:
            self._once(f"the broker closed the connection before answering ({reason_code}); "
                       f"retrying")

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
            hang_up(self.client)
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

    def raw(self, topic: str) -> list[dict[str, Any] | bytes]:
        """Every message published on ``topic``, as sent."""
        with self._lock:
            return [p for t, p, _, _ in self.published if t == topic]

    def messages(self, topic: str) -> list[Any]:
        """What a reader of ``topic`` gets: telemetry batches opened into their events."""
        from robot_agent.report import events

        return [e for p in self.raw(topic)
                for e in (events(p) if isinstance(p, dict) else [p])]

    def close(self) -> None:
        self._connected = False
        self.closed = True
