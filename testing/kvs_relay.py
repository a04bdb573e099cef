"""The local KVS signaling relay on a loopback port that can be stopped and started again,
for the camera tests (a viewer and the agent's WebRTC master meet there)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tools.stack.signaling import SignalingRelay

TOKEN = "camera-token"


def b64(obj: Any) -> str:
    return base64.b64encode(json.dumps(obj).encode()).decode()


class Relay:
    """The local relay on a fixed loopback port, so it can be stopped and started again."""

    def __init__(self, user_of: Callable[[str], str | None] | None = None) -> None:
        self.port = 0
        self.runner: web.AppRunner | None = None
        self.relay: SignalingRelay | None = None
        self.user_of = user_of  # who a token signs in, told to the master (the stack's people)

    async def start(self) -> None:
        self.relay = SignalingRelay(["sts-pi"], TOKEN, user_of=self.user_of)
        app = web.Application()
        self.relay.register(app)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        assert self.relay is not None and self.runner is not None, "never started"
        await self.relay.close()
        await self.runner.cleanup()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/signaling"


async def until(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    """Wait on the running loop until ``predicate()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)

