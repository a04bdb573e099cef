"""The embedded MQTT broker of the local stack (amqtt, pure Python), locked down like IoT Core.

Every client signs in with a user and password (:mod:`tools.stack.mqtt_acl`), and each user may
only do what the IoT policy lets its AWS counterpart do. Two of amqtt's behaviours are replaced:

- on connect it sent a new client the retained messages of *every* client's subscriptions, so an
  agent subscribed to ``robot/a/cmd`` received ``robot/b/status``; here a retained message goes
  only to a subscription just made that matches it, and only if the user may receive it;
- a refused client took over (disconnected) the session with its client id before its refusal
  was sent; here a refused connection gets a client id of its own first;
- a client silent past its keep-alive was never disconnected, so a frozen agent stayed
  "online"; here it is dropped after its keep-alive plus a grace period and its Last Will
  (``{"online": false}``) is published, as MQTT 3.1.1 section 3.1.2.10 requires.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from tools.stack.mqtt_acl import Rules, acl, may

log = logging.getLogger("stack.broker")
KEEPALIVE_GRACE_S = 15


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


class PasswordAuth(BaseAuthPlugin):
    """Users and passwords from the stack's credentials; robots must use their own client id."""

    @dataclass
    class Config:
        users: dict[str, str] = field(default_factory=dict)
        robots: list[str] = field(default_factory=list)

    async def authenticate(self, *, session: Session) -> bool | None:
        users: dict[str, str] = self.context.config.users
        user, password = session.username or "", session.password or ""
        expected = users.get(user)
        ok = expected is not None and secrets.compare_digest(password.encode(), expected.encode())
        rules = _rules(self.context.config)
        owner = next((name for name, rule in rules.items()
                      if rule.client_id == session.client_id), user)
        own = rules[user].client_id if user in rules else None
        if ok and (owner != user or own not in (None, session.client_id)):
            log.warning("MQTT: %s may not connect as client id %r", user,
                        (session.client_id or "")[:64])
            ok = False
        if not ok:
            log.warning("MQTT: refused a connection (user %r, client id %r)", user[:64],
                        (session.client_id or "")[:64])
            # amqtt takes over the session with this client id before sending the refusal:
            # a stranger naming itself "sts-pi" must not disconnect the robot.
            session.client_id = f"refused-{secrets.token_hex(8)}"
        return ok


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


class HygienicBroker(Broker):
    """amqtt with retained messages that go only where the subscriber may read them."""

    def __init__(self, config: dict, robots: list[str]) -> None:
        super().__init__(config)
        self._robots = robots
        self._rules = acl(robots)
        self._fresh: set[tuple[str | None, str]] = set()  # (client id, filter) just subscribed

    async def _client_message_loop(self, client_session: Session, handler: Any) -> None:
        def silent() -> None:  # amqtt's reader timed out: keep-alive plus grace, no packet
            log.warning("MQTT: %s silent past its keep-alive; disconnected, Last Will sent",
                        client_session.client_id)
            asyncio.ensure_future(handler.handle_connection_closed())

        handler.handle_read_timeout = silent
        await super()._client_message_loop(client_session, handler)

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
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 1883,
                 passwords: dict[str, str] | None = None, robots: list[str] | None = None,
                 keepalive_grace_s: int = KEEPALIVE_GRACE_S) -> None:
        self.keepalive_grace_s = keepalive_grace_s
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
        self._broker = HygienicBroker(self.config(), self.robots)
        await self._broker.start()

    async def stop(self) -> None:
        if self._broker is None:
            return
        broker, self._broker = self._broker, None
        try:
            await asyncio.wait_for(broker.shutdown(), timeout=5)
        except TimeoutError:
            logging.getLogger("stack").warning("broker did not shut down within 5 s")
