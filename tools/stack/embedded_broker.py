"""The embedded MQTT broker of the local stack (amqtt, pure Python), locked down like IoT Core.

Every client signs in with a user and password (:mod:`tools.stack.mqtt_acl`), and each user may
only do what the IoT policy lets its AWS counterpart do, on every path a message can take.
amqtt's own behaviour is replaced where it let a client past those rules:

- CONNECT: amqtt deleted (or rewrote, for a persistent session) the session of the client id a
  newcomer named *before* checking its password, so a refused stranger calling itself
  ``sts-pi`` deafened the robot or planted its Last Will. Here the whole CONNECT is judged
  first (password, client id, Last Will) and a refused client changes nothing;
- Last Will: never checked against the topic rules, so any account could publish anything by
  disconnecting. Here a will the user could not publish itself refuses the CONNECT (as
  Mosquitto does);
- duplicate client ids: a second connection with an id in use left the first one connected
  but deaf. Here, as on IoT Core and Mosquitto, the older connection is closed (its Last Will
  sent); a robot's id is its own credentials' alone;
- retained messages: on connect amqtt sent a new client the retained messages of *every*
  client's subscriptions; here a retained message goes only to a subscription just made that
  matches it, and only if the user may receive it;
- keep-alive: a client silent past its keep-alive was never disconnected, so a frozen agent
  stayed "online"; here it is dropped after its keep-alive plus a grace period and its Last
  Will (``{"online": false}``) is published, as MQTT 3.1.1 section 3.1.2.10 requires;
- bounds: a socket that sends no CONNECT is dropped after :data:`CONNECT_TIMEOUT_S`, a packet
  over :data:`MAX_PACKET_BYTES` (IoT Core's message limit) disconnects its sender, as do more
  than :data:`MAX_INFLIGHT` unfinished QoS 2 publishes, and at most :data:`MAX_QUEUED`
  messages wait for one client (Mosquitto's defaults), the rest are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

from amqtt.adapters import ReaderAdapter, StreamReaderAdapter, StreamWriterAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import AMQTTError
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.constants import QOS_2
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session
from amqtt.utils import gen_client_id

from tools.stack.mqtt_acl import Rules, acl, may

log = logging.getLogger("stack.broker")
KEEPALIVE_GRACE_S = 15
CONNECT_TIMEOUT_S = 10.0  # a socket that has sent no CONNECT by then is closed
MAX_PACKET_BYTES = 128 * 1024  # IoT Core's message size limit
MAX_INFLIGHT = 20  # unfinished incoming QoS 2 publishes per client (Mosquitto's default)
MAX_QUEUED = 1000  # messages waiting for one client (Mosquitto's max_queued_messages)
TAKEOVER_S = 5.0  # how long the older connection of a client id gets to close


class PortInUse(OSError):
    """A port the stack needs is taken; ``flag`` names the option that changes it."""

    def __init__(self, host: str, port: int, flag: str) -> None:
        super().__init__(f"port {port} on {host} is already in use; choose another with {flag}")
        self.port = port
        self.flag = flag


def check_port_free(host: str, port: int, flag: str) -> None:
    """Raise :class:`PortInUse` when ``host:port`` cannot be bound.

    Binding first gives a clear one-line error instead of a library's traceback.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do: SO_REUSEADDR lets connections of a stopped run in TIME_WAIT pass,
        # while a socket still listening on the port makes the bind fail. (On Windows the
        # option would let the bind steal a live port, so there it is left off.)
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise PortInUse(host, port, flag) from exc


def _rules(context_config: object) -> dict[str, Rules]:
    return acl(getattr(context_config, "robots", []))


def refusal(session: Session, users: dict[str, str], rules: dict[str, Rules]) -> str | None:
    """Why this CONNECT is refused (its password, client id or Last Will), or ``None``."""
    user, password = session.username or "", session.password or ""
    expected = users.get(user)
    if expected is None or not secrets.compare_digest(password.encode(), expected.encode()):
        return "unknown user or wrong password"
    owner = next((name for name, rule in rules.items()
                  if rule.client_id == session.client_id), user)
    own = rules[user].client_id if user in rules else None
    if owner != user or own not in (None, session.client_id):
        return f"{user} may not connect as client id {(session.client_id or '')[:64]!r}"
    if session.will_flag:
        topic = session.will_topic or ""
        if not may(rules.get(user), "publish", topic) or (
                session.will_retain and not may(rules.get(user), "retain", topic)):
            return f"{user} may not leave a Last Will on {topic[:128]!r}"
    return None


class PasswordAuth(BaseAuthPlugin):
    """Users and passwords from the stack's credentials; robots must use their own client id;
    a Last Will only where the user may publish."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)
        robots: list[str] = field(default_factory=list)

    async def authenticate(self, *, session: Session) -> bool | None:
        why = refusal(session, self.context.config.users, _rules(self.context.config))
        if why is not None:
            log.warning("MQTT: refused a connection (user %r, client id %r): %s",
                        (session.username or "")[:64], (session.client_id or "")[:64], why)
        return why is None


class TopicRules(BaseTopicPlugin):
    """Per-user subscribe/receive/publish rules (:func:`tools.stack.mqtt_acl.acl`)."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)
        robots: list[str] = field(default_factory=list)

    async def topic_filtering(self, *, session: Session | None = None, topic: str | None = None,
                              action: Action | None = None) -> bool | None:
        if session is None or topic is None or action is None:
            return False
        allowed = may(_rules(self.context.config).get(session.username or ""), str(action), topic)
        if not allowed and action != Action.RECEIVE:
            log.warning("MQTT: %s may not %s %s", session.username, action, topic[:128])
        return allowed


class PacketTooLarge(AMQTTError):
    """A client sent a packet over :data:`MAX_PACKET_BYTES`."""


class CappedReader(StreamReaderAdapter):
    """amqtt reads each packet's body in one ``read(n)``: refuse ``n`` over the cap before a
    byte of it is buffered (a 100 MB publish was read whole)."""

    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        super().__init__(reader)
        self.limit = limit

    async def read(self, n: int = -1) -> bytes:
        if n > self.limit:
            raise PacketTooLarge(f"a packet of {n} bytes (limit {self.limit})")
        return await super().read(n)


@dataclass
class Outbox:
    """Messages on their way to one client."""

    pending: int = 0
    dropped: int = 0
    dropping: bool = False


class HygienicBroker(Broker):
    """amqtt that judges a CONNECT before it changes anything, checks Last Wills, closes the
    older of two connections with one client id, bounds what a client can make it hold, and
    sends retained messages only where the subscriber may read them."""

    def __init__(self, config: dict, robots: list[str],
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        super().__init__(config)
        self.connect_timeout_s = connect_timeout_s
        self._robots = robots
        self._rules = acl(robots)
        self._fresh: set[tuple[str | None, str]] = set()  # (client id, filter) just subscribed
        self._admitted: set[int] = set()  # sessions judged at CONNECT, not to be judged again
        self._closed: dict[int, asyncio.Event] = {}  # handler -> its message loop has ended

    async def stream_connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                               listener_name: str) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:  # what Mosquitto's set_tcp_nodelay does: no Nagle delay
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await self._client_connected(listener_name, CappedReader(reader, MAX_PACKET_BYTES),
                                     StreamWriterAdapter(writer))

    async def _initialize_client_session(self, reader: ReaderAdapter, writer: WriterAdapter,
                                         remote_address: str, remote_port: int
                                         ) -> tuple[BrokerProtocolHandler, Session]:
        # amqtt's own version changes the named session before the password is checked.
        try:
            handler, session = await asyncio.wait_for(
                BrokerProtocolHandler.init_from_connect(reader, writer, self.plugins_manager),
                self.connect_timeout_s)
        except TimeoutError:
            await writer.close()
            raise AMQTTError(f"no CONNECT from {remote_address} within "
                             f"{self.connect_timeout_s:g} s; closed") from None
        except AMQTTError:
            await writer.close()
            raise
        if not await self._authenticate(session, self.listeners_config["default"]):
            await ConnackPacket.build(0, NOT_AUTHORIZED).to_stream(writer)
            await writer.close()
            raise AMQTTError("connection refused; nothing changed")
        await self._close_older(session.client_id)
        if session.clean_session:
            if session.client_id:
                await self._delete_session(session.client_id)
            else:
                session.client_id = gen_client_id()
            session.parent = 0
        elif session.client_id in self._sessions:
            kept, _ = self._sessions[session.client_id]
            for name in ("will_flag", "will_message", "will_topic", "will_qos", "will_retain",
                         "keep_alive", "username", "password"):
                setattr(kept, name, getattr(session, name))
            session, session.parent = kept, 1
        else:
            session.parent = 0
        if session.keep_alive > 0:
            session.keep_alive += self.config.get("timeout-disconnect-delay", 0)
        self._admitted.add(id(session))
        self._bound(handler)
        return handler, session

    async def _authenticate(self, session: Session, listener: Any) -> bool:
        if id(session) in self._admitted:  # amqtt asks again after _initialize_client_session
            self._admitted.discard(id(session))
            return True
        return await super()._authenticate(session, listener)

    async def _close_older(self, client_id: str | None) -> None:
        """A newer connection with this client id (already authorised) replaces the older one,
        as IoT Core and Mosquitto do: the older is closed, its Last Will published."""
        older = self._sessions.get(client_id or "")
        if older is None or older[0].transitions.state != "connected":
            return
        log.warning("MQTT: a new connection as %s; the older one is closed", client_id)
        done = self._closed.get(id(older[1]))
        await older[1].handle_connection_closed()
        if done is not None:
            try:
                await asyncio.wait_for(done.wait(), TAKEOVER_S)
            except TimeoutError:
                log.warning("MQTT: the older connection as %s did not close in time", client_id)

    def _bound(self, handler: BrokerProtocolHandler) -> None:
        """Caps on what one client can make the broker hold."""
        publish = handler.handle_publish

        async def handle_publish(packet: Any) -> None:
            session = handler.session
            if (packet.qos == QOS_2 and session is not None
                    and len(session.inflight_in) >= MAX_INFLIGHT):
                log.warning("MQTT: %s has %d unfinished QoS 2 publishes; disconnected",
                            session.client_id, MAX_INFLIGHT)
                await handler.handle_connection_closed()
                return
            await publish(packet)

        send = handler.mqtt_publish
        queue = handler.queue = Outbox()

        async def mqtt_publish(topic: str, data: bytes | bytearray, qos: int | None,
                               retain: bool, ack_timeout: int | None = None) -> Any:
            if queue.pending >= MAX_QUEUED:
                if not queue.dropping:
                    log.warning("MQTT: %d messages wait for %s; dropping more until it "
                                "catches up", MAX_QUEUED, handler.session and
                                handler.session.client_id)
                queue.dropping = True
                queue.dropped += 1
                return None
            queue.dropping = False
            queue.pending += 1
            try:
                return await send(topic, data, qos, retain, ack_timeout)
            finally:
                queue.pending -= 1

        handler.handle_publish = handle_publish
        handler.mqtt_publish = mqtt_publish

    async def _client_message_loop(self, client_session: Session, handler: Any) -> None:
        def silent() -> None:  # amqtt's reader timed out: keep-alive plus grace, no packet
            log.warning("MQTT: %s silent past its keep-alive; disconnected, Last Will sent",
                        client_session.client_id)
            asyncio.ensure_future(handler.handle_connection_closed())

        handler.handle_read_timeout = silent
        done = self._closed[id(handler)] = asyncio.Event()
        try:
            await super()._client_message_loop(client_session, handler)
        finally:
            done.set()
            self._closed.pop(id(handler), None)

    async def _retain_broadcast_message(self, broadcast: dict[str, Any], qos: int,
                                        target_session: Session) -> None:
        # Kept for a persistent session while it is away: bounded like a live client's.
        if target_session.retained_messages.qsize() >= MAX_QUEUED:
            return
        await super()._retain_broadcast_message(broadcast, qos, target_session)

    async def add_subscription(self, subscription: tuple[str, int], session: Session) -> int:
        code = await super().add_subscription(subscription, session)
        if code != 0x80:
            self._fresh.add((session.client_id, subscription[0]))
        return code

    async def _publish_retained_messages_for_subscription(
            self, subscription: tuple[str, int], session: Session) -> None:
        # amqtt also calls this on every connect for every client's filters; only a
        # subscription this session has just made gets the retained messages (MQTT 3.3.1-6).
        key = (session.client_id, subscription[0])
        if key not in self._fresh:
            return
        self._fresh.discard(key)
        topic_filter, qos = subscription
        handler = self._get_handler(session)
        if handler is None:
            return
        rules = self._rules.get(session.username or "")
        sends = [handler.mqtt_publish(m.topic, m.data, min(qos, m.qos or qos), retain=True)
                 for topic, m in list(self._retained_messages.items())
                 if self._matches(topic, topic_filter) and may(rules, "receive", topic)]
        if sends:
            await asyncio.gather(*sends)

    async def retain_message(self, source_session: Session | None, topic_name: str | None,
                             data: bytes | bytearray | None, qos: int | None = None) -> None:
        if source_session is not None and topic_name is not None:
            rules = self._rules.get(source_session.username or "")
            if not may(rules, "retain", topic_name):
                # The message was delivered live; it is just not kept for later subscribers.
                log.warning("MQTT: %s may not retain on %s", source_session.username,
                            topic_name[:128])
                return
        await super().retain_message(source_session, topic_name, data, qos)


class EmbeddedBroker:
    """An MQTT 3.1.1 broker for local use: users and topic rules, retained messages, Last Will.

    :param host: address to listen on (loopback by default).
    :param port: TCP port; 0 is not supported by amqtt, pick a free one.
    :param passwords: user -> password (:func:`tools.stack.mqtt_acl.new_passwords`).
    :param robots: the robot names, each a user with its own topics.
    :param keepalive_grace_s: how long past its keep-alive a silent client is kept.
    :param connect_timeout_s: how long a new socket may take to send its CONNECT.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 1883,
                 passwords: dict[str, str] | None = None, robots: list[str] | None = None,
                 keepalive_grace_s: int = KEEPALIVE_GRACE_S,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.keepalive_grace_s = keepalive_grace_s
        self.connect_timeout_s = connect_timeout_s
        self.host = host
        self.port = port
        self.passwords = dict(passwords or {})
        self.robots = list(robots or [])
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def config(self) -> dict:
        plugin = {"users": self.passwords, "robots": self.robots}
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # A client is dropped after its keep-alive plus this (1.5 x the agent's 30 s).
            "timeout_disconnect_delay": self.keepalive_grace_s,
            "plugins": {
                f"{__name__}.PasswordAuth": plugin,
                f"{__name__}.TopicRules": plugin,
            },
        }

    async def start(self) -> None:
        check_port_free(self.host, self.port, "--mqtt-port")
        # amqtt logs every connection at INFO; the stack logs what matters itself.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = HygienicBroker(self.config(), self.robots, self.connect_timeout_s)
        await self._broker.start()

    async def stop(self) -> None:
        if self._broker is None:
            return
        broker, self._broker = self._broker, None
        try:
            await asyncio.wait_for(broker.shutdown(), timeout=5)
        except TimeoutError:
            logging.getLogger("stack").warning("broker did not shut down within 5 s")
