"""The embedded MQTT broker of the local stack (amqtt, pure Python, on loopback)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from amqtt.broker import Broker


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


class EmbeddedBroker:
    """An MQTT 3.1.1 broker for local use: anonymous, retained messages, Last Will, QoS 0-2.

    :param host: address to listen on (loopback by default: it has no authentication).
    :param port: TCP port; 0 is not supported by amqtt, pick a free one.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self.port = port
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    async def start(self) -> None:
        check_port_free(self.host, self.port, "--mqtt-port")
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "timeout_disconnect_delay": 0,
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        # amqtt logs every connection at INFO; the stack logs what matters itself.
        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self._broker = Broker(config)
        await self._broker.start()

    async def stop(self) -> None:
        if self._broker is None:
            return
        broker, self._broker = self._broker, None
        try:
            await asyncio.wait_for(broker.shutdown(), timeout=5)
        except TimeoutError:
            logging.getLogger("stack").warning("broker did not shut down within 5 s")
