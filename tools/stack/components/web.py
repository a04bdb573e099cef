"""``web``: the robot control page, its local configuration, and the signaling relay.

- ``GET /`` the page (``cloud/web/index.html``) and its scripts and styles beside it
  (``/app.js``, ``/vendor/...``), as the deployment lays them out; also all under ``/web/``;
- ``GET /config.json`` tells the page it runs locally: where the API and the signaling relay
  are, the channel ARN format and the robot names (in AWS the deployment writes this file);
- ``ws://HOST:PORT/signaling`` the KVS-compatible signaling relay (:mod:`tools.stack.signaling`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from tools.deploy.template import page_headers
from tools.stack.component import Component, StackContext
from tools.stack.signaling import LOCAL_ARN, SignalingRelay

WEB_ROOT = Path(__file__).resolve().parents[3] / "cloud" / "web"


def robot_names(env: dict[str, str]) -> list[str]:
    """The robots the page offers and the relay has channels for (``ROBOT_NAMES``)."""
    names = [n.strip() for n in env.get("ROBOT_NAMES", "sts-pi").split(",") if n.strip()]
    return names or ["sts-pi"]


def local_config(ctx: StackContext) -> dict[str, Any]:
    """What the page reads from ``/config.json`` when served by the local stack."""
    return {
        "mode": "local",
        "apiBase": ctx.base_url,
        "region": "local",
        "signalingUrl": f"ws://{ctx.public_host}:{ctx.port}/signaling",
        "channelArn": LOCAL_ARN,
        "robots": robot_names(ctx.env),
        # The Mars tab needs no sign-in locally: the key is printed at start and only served
        # to this loopback (or --lan) page. In AWS the tab asks for it instead.
        "marsApiKey": ctx.api_key,
    }


class WebComponent(Component):
    name = "web"

    def __init__(self) -> None:
        self.relay: SignalingRelay | None = None
        self.config: dict[str, Any] = {}
        self.headers: dict[str, str] = {}

    def setup(self, ctx: StackContext) -> None:
        if not (WEB_ROOT / "index.html").is_file():
            raise FileNotFoundError(f"the web page is missing: {WEB_ROOT / 'index.html'}")
        self.config = local_config(ctx)
        # the headers CloudFront adds in AWS (cloud/template.yaml), so the page meets them here
        self.headers = {"Cache-Control": "no-cache", **page_headers("local")}
        # A robot is the master of its own channel only, signing in with its own secret (its
        # broker password); the page's token makes viewers.
        self.relay = SignalingRelay(self.config["robots"], ctx.robot_token,
                                    {name: ctx.mqtt_passwords.get(name, "")
                                     for name in self.config["robots"]},
                                    viewers=ctx.people.may_watch)
        self.relay.register(ctx.app)
        ctx.app.router.add_get("/", self._index)
        ctx.app.router.add_get("/config.json", self._config)
        ctx.app.router.add_get(r"/{asset:[A-Za-z0-9_-]+\.(?:js|css)}", self._asset)
        ctx.app.router.add_get(r"/{asset:vendor/[A-Za-z0-9_.-]+}", self._asset)
        ctx.app.router.add_static("/web/", WEB_ROOT, show_index=False, follow_symlinks=False)

    async def _asset(self, request: web.Request) -> web.FileResponse:
        # The pattern allows no "..", so the path stays inside WEB_ROOT.
        path = WEB_ROOT / request.match_info["asset"]
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers=self.headers)

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_ROOT / "index.html", headers=self.headers)

    async def _config(self, request: web.Request) -> web.Response:
        return web.json_response(self.config, headers={"Cache-Control": "no-store"})

    async def stop(self) -> None:
        if self.relay is not None:
            await self.relay.close()

    def urls(self, ctx: StackContext) -> list[tuple[str, str]]:
        return [("Robot control page", f"{ctx.base_url}/"),
                ("Signaling relay", f"ws://{ctx.public_host}:{ctx.port}/signaling")]

    def health(self) -> dict[str, Any]:
        return {"up": True, "channels": self.relay.state() if self.relay else {},
                "messages": self.relay.messages if self.relay else 0}
