"""``api``: the Lambda handlers of :data:`cloud.routes.ROUTES`, served by the local gateway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

import aiohttp

from cloud import config as cloud_config
from cloud.routes import ROUTES
from tools.stack.component import Component, StackContext
from tools.stack.gateway import Gateway
from tools.stack.runner import request_timeout

log = logging.getLogger("stack.api")


def describe_feeds(status: int, payload: dict[str, Any]) -> str:
    """One line on where the Mars data comes from, for the console."""
    if status != 200:
        message = (payload.get("error") or {}).get("message", "no details")
        return f"Mars API answered {status} at start: {message}"
    if payload.get("offline"):
        return ("NASA feeds unreachable: serving the clearly labelled offline sample "
                "(check the network, or point MARS_SITE_BASE at a mirror)")
    image, weather = payload.get("image") or {}, payload.get("weather") or {}
    return (f"NASA feeds live: {image.get('rover')} {image.get('camera')} sol {image.get('sol')}, "
            f"weather from {weather.get('rover')} sol {weather.get('sol')}"
            + (" (stale)" if payload.get("stale") else ""))


class ApiComponent(Component):
    name = "api"

    def __init__(self) -> None:
        self.gateway: Gateway | None = None
        self._warm_up: asyncio.Task | None = None

    def setup(self, ctx: StackContext) -> None:
        # The handlers run in this process, like one warm Lambda container, and read their
        # settings from the environment as they do in AWS.
        os.environ.update(ctx.env)
        cloud_config.load()  # fail fast, naming the bad variable
        self.gateway = Gateway(ROUTES + ctx.extra_routes, api_key=ctx.api_key,
                               token=ctx.robot_token, cors_origin=ctx.base_url,
                               request_timeout_s=request_timeout(ctx.env), users=ctx.people)
        self.gateway.register(ctx.app)

    async def start(self, ctx: StackContext) -> None:
        self._warm_up = asyncio.create_task(self._first_fetch(ctx))

    async def _first_fetch(self, ctx: StackContext) -> None:
        """Fetch once in the background: fills the cache and tells whether NASA is reachable."""
        url = f"{ctx.base_url}/mars?width=320&height=240&depth=8"
        try:
            async with aiohttp.ClientSession() as session, session.get(
                    url, headers={"x-api-key": ctx.api_key},
                    timeout=aiohttp.ClientTimeout(total=120)) as response:
                payload = await response.json(content_type=None)
                log.info("%s", describe_feeds(response.status, payload))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("Mars API warm-up failed: %s", exc)

    async def stop(self) -> None:
        if self._warm_up is not None:
            self._warm_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warm_up
        if self.gateway is not None:
            self.gateway.close()

    def urls(self, ctx: StackContext) -> list[tuple[str, str]]:
        base = ctx.base_url
        return [
            ("Mars API (PyPortal)", f"{base}/mars?width=320&height=240&depth=8"),
            ("Robot API", f"{base}/robot/{{name}}/cmd"),
            ("Health", f"{base}/healthz"),
        ]

    def health(self) -> dict[str, Any]:
        return {"up": True, "requests": self.gateway.requests if self.gateway else 0,
                "routes": [f"{r.method} {r.path}" for r in ROUTES]}
