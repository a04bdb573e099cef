"""``broker``: the embedded MQTT broker, or nothing when ``MQTT_URL`` names an external one."""

from __future__ import annotations

from typing import Any

from tools.stack.component import Component, StackContext
from tools.stack.embedded_broker import EmbeddedBroker
from tools.stack.urls import redact_url


class BrokerComponent(Component):
    name = "broker"

    def __init__(self) -> None:
        self._broker: EmbeddedBroker | None = None
        self._external: str | None = None

    async def start(self, ctx: StackContext) -> None:
        if ctx.mqtt_external:
            self._external = ctx.mqtt_url  # Mosquitto or another broker the user runs
            return
        self._broker = EmbeddedBroker(ctx.host, ctx.mqtt_port, ctx.mqtt_passwords,
                                      list(ctx.robots))
        await self._broker.start()

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.stop()

    def urls(self, ctx: StackContext) -> list[tuple[str, str]]:
        label = "MQTT broker (external)" if self._external else "MQTT broker (embedded)"
        return [(label, redact_url(ctx.mqtt_url))]

    def health(self) -> dict[str, Any]:
        url = redact_url(self._external) if self._external else (
            self._broker.url if self._broker else None)
        return {"up": True, "url": url}
