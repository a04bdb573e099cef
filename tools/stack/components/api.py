"""``api``: the Lambda handlers of :data:`cloud.routes.ROUTES`, served by the local gateway."""

from __future__ import annotations

import os
from typing import Any

from cloud import config as cloud_config
from cloud.routes import ROUTES
from tools.stack.component import Component, StackContext
from tools.stack.gateway import Gateway


class ApiComponent(Component):
    name = "api"

    def __init__(self) -> None:
        self.gateway: Gateway | None = None

    def setup(self, ctx: StackContext) -> None:
        # The handlers run in this process, like one warm Lambda container, and read their
        # settings from the environment as they do in AWS.
        os.environ.update(ctx.env)
        cloud_config.load()  # fail fast, naming the bad variable
        self.gateway = Gateway(ROUTES + ctx.extra_routes, api_key=ctx.api_key,
                               token=ctx.robot_token, cors_origin=ctx.base_url)
        self.gateway.register(ctx.app)

    async def stop(self) -> None:
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
