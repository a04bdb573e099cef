"""What the local stack is made of: components, and the context they share.

A component is one part of the system started by ``python -m tools.stack``: ``broker``,
``api``, ``web``, ``robot``, ``pyportal``. Each lives in its own module under
``tools/stack/components/`` and is listed in :data:`tools.stack.components.REGISTRY`.

Lifecycle, driven by :class:`tools.stack.runner.Stack`:

1. ``setup(ctx)``: synchronous, before the HTTP server starts. Components that serve HTTP add
   their routes to ``ctx.app`` (an :class:`aiohttp.web.Application`) here.
2. the HTTP server starts (if any component added routes).
3. ``await start(ctx)`` in registry order (the broker first, so later parts can connect).
4. ``await stop()`` in reverse order on Ctrl-C / SIGTERM. It must leave no thread, task or
   child process behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from cloud.routes import Route
from tools.stack.urls import with_user
from tools.stack.users import Users


@dataclass
class StackContext:
    """Everything the components of one local stack share."""

    host: str  # the address listened on
    port: int
    mqtt_port: int
    data_dir: Path
    api_key: str  # MARS_API_KEY: what the PyPortal sends as x-api-key
    robot_token: str  # ROBOT_API_TOKEN: bearer token for the robot routes and the web page
    mqtt_url: str  # the broker every part uses (embedded, or MQTT_URL)
    env: dict[str, str]  # environment for handlers and child processes (os.environ + the above)
    mqtt_passwords: dict[str, str] = field(default_factory=dict)  # user -> password
    robots: tuple[str, ...] = ("sts-pi",)  # ROBOT_NAMES: each a broker user
    app: web.Application = field(default_factory=web.Application)
    selected: tuple[str, ...] = ()
    mqtt_external: bool = False  # MQTT_URL named a broker the user runs (e.g. Mosquitto)
    extra_routes: tuple[Route, ...] = ()  # development only: more handlers (--extra-routes)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("stack"))
    url_host: str = ""  # the address in every URL, when not ``host`` (--lan listens on 0.0.0.0)
    users: Users | None = None  # who may sign in, and their robots (None: robot_token, all)
    real_robots: tuple[str, ...] = ()  # --robot: real Pis, given bundles and never simulated

    def mqtt_url_for(self, user: str) -> str:
        """The broker's URL with ``user``'s password (:mod:`tools.stack.mqtt_acl`)."""
        return with_user(self.mqtt_url, user, self.mqtt_passwords.get(user, ""))

    @property
    def public_host(self) -> str:
        """The address clients use: the LAN address with ``--lan``, else ``host``."""
        return self.url_host or self.host

    @property
    def base_url(self) -> str:
        return f"http://{self.public_host}:{self.port}"

    @property
    def people(self) -> Users:
        """:attr:`users`, or the one person the robot token signs in, owning every robot."""
        from tools.stack.users import DEFAULT_USER, LocalUser

        return self.users or Users([LocalUser(DEFAULT_USER, self.robot_token, self.robots)])


class Component:
    """Base class: override what the component needs. Subclasses set ``name``."""

    name = "component"

    def setup(self, ctx: StackContext) -> None:
        """Add HTTP routes to ``ctx.app``; runs before the server starts."""

    async def start(self, ctx: StackContext) -> None:
        """Start serving; return once ready (raise to abort the stack)."""

    async def stop(self) -> None:
        """Stop and release every resource; must be safe to call after a failed start."""

    def urls(self, ctx: StackContext) -> list[tuple[str, str]]:
        """``(label, url)`` pairs printed at start."""
        return []

    def notes(self, ctx: StackContext) -> list[str]:
        """More lines for the start banner (what to do next), after the URLs."""
        return []

    def health(self) -> dict[str, Any]:
        """What ``GET /healthz`` reports for this component."""
        return {"up": True}
