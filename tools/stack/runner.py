"""``python -m tools.stack``: the whole system on one machine, on 127.0.0.1 (``--lan``: on
this machine's LAN address, for real boards).

It starts the selected components (all by default) in registry order, prints every URL, key
and token, logs one line per HTTP request, and on Ctrl-C or SIGTERM stops them in reverse order,
leaving no process, thread or port behind.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import ipaddress
import json
import logging
import os
import secrets
import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from robot_agent.config import name_problem

from cloud.errors import ConfigError
from cloud.routes import Route
from tools.stack import components, lan, mqtt_acl, users
from tools.stack.component import Component, StackContext
from tools.stack.embedded_broker import PortInUse, check_port_free
from tools.stack.gateway import MAX_PAYLOAD, REQUEST_TIMEOUT_S, access_log, json_errors
from tools.stack.private import write_private
from tools.stack.urls import with_user

log = logging.getLogger("stack")
CREDENTIALS_FILE = "local-credentials.json"


class StackError(RuntimeError):
    """The stack cannot start; the message is the one line the user sees."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.stack",
        description="Run the cloud handlers, an MQTT broker, the simulated robot, the PyPortal "
                    "simulator and the web page on this machine.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--host", default="127.0.0.1", help="address to listen on")
    where.add_argument("--lan", action="store_true",
                       help="listen on this machine's LAN address, for a real PyPortal or Pi, "
                            "and print the board's install command")
    parser.add_argument("--robot", action="append", default=[], metavar="NAME",
                        help="a real Pi named NAME drives with this stack: write its bundle "
                             "(for install.sh --bundle), do not simulate NAME, print the "
                             "steps; use with --lan; repeat for more Pis")
    parser.add_argument("--port", type=int, default=8080, help="HTTP port (API, web page)")
    parser.add_argument("--mqtt-port", type=int, default=1883, help="embedded MQTT broker port")
    parser.add_argument("--data-dir", type=Path, default=Path(".local-data"),
                        help="where the cache, bitmaps and screenshots go")
    parser.add_argument("--only", default=",".join(components.REGISTRY),
                        help="components to start, comma-separated (default: all of "
                             f"{','.join(components.REGISTRY)})")
    parser.add_argument("--extra-routes", default="",
                        help="development: module:ATTR naming more cloud.routes.Route objects")
    parser.add_argument("--verbose", action="store_true", help="handler logs and metrics too")
    return parser.parse_args(argv)


def _credentials(data_dir: Path, environ: Mapping[str, str], robots: Sequence[str]
                 ) -> tuple[str, str, dict[str, str], users.Users]:
    """The local API key, robot token, MQTT passwords and people (``STACK_USERS``): from the
    environment (key and token), else kept from the last run, else new.

    Keeping them in the data directory means a PyPortal, browser or robot set up once keeps
    working after a restart. The file is created 0600 before any secret is written to it.
    """
    path = data_dir / CREDENTIALS_FILE
    saved: dict = {}
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
        if not isinstance(saved, dict):
            saved = {}
    api_key = environ.get("MARS_API_KEY") or saved.get("MARS_API_KEY") or secrets.token_urlsafe(18)
    token = (environ.get("ROBOT_API_TOKEN") or saved.get("ROBOT_API_TOKEN")
             or secrets.token_urlsafe(18))
    kept = saved.get("MQTT_PASSWORDS")
    passwords = mqtt_acl.new_passwords(robots, kept if isinstance(kept, dict) else None)
    kept_tokens = saved.get("USER_TOKENS")
    people = users.load(token, robots, environ.get("STACK_USERS", ""),
                        kept_tokens if isinstance(kept_tokens, dict) else None)
    record: dict[str, Any] = {"MQTT_PASSWORDS": passwords}
    if people.extra():
        record["USER_TOKENS"] = {u.name: u.token for u in people.extra()}
    if not environ.get("MARS_API_KEY"):
        record["MARS_API_KEY"] = api_key
    if not environ.get("ROBOT_API_TOKEN"):
        record["ROBOT_API_TOKEN"] = token
    if record != saved:
        write_private(path, json.dumps(record, indent=1))
    return api_key, token, passwords, people


def request_timeout(env: Mapping[str, str]) -> float:
    """Seconds a request may take to arrive (``STACK_REQUEST_TIMEOUT_S``: tests shorten it)."""
    return float(env.get("STACK_REQUEST_TIMEOUT_S") or REQUEST_TIMEOUT_S)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def exposure_warning(host: str) -> str | None:
    """What listening on ``host`` exposes, when it is more than this machine."""
    if is_loopback(host):
        return None
    return (f"WARNING: listening on {host}, beyond this machine: anyone on the network can "
            "reach the Mars API (with the API key), the robot API and page (with the robot "
            "token), the signaling relay (with the token) and the MQTT broker (with an MQTT "
            "password). Traffic is plain HTTP/MQTT: use a network you trust.")


def _extra_routes(spec: str) -> tuple[Route, ...]:
    if not spec:
        return ()
    module_name, _, attr = spec.partition(":")
    return tuple(getattr(importlib.import_module(module_name), attr or "ROUTES"))


def addresses(args: argparse.Namespace) -> tuple[str, str]:
    """``(address to listen on, address in the URLs)``: with ``--lan`` both are this
    machine's LAN address; ``--host 0.0.0.0`` listens everywhere and names the LAN address."""
    if args.lan:
        found = lan.lan_address()
        if found is None:
            raise StackError("--lan: this machine has no LAN address (only loopback); connect "
                             "it to the network the board uses, or name one with --host")
        return found, found
    if args.host in ("0.0.0.0", "::"):  # every interface: name the one a board would use
        return args.host, lan.lan_address() or "127.0.0.1"
    return args.host, args.host


def install_command(base_url: str, api_key: str) -> str:
    """The command that points a real board at this stack (the Wi-Fi is the user's to fill;
    the installer asks for its password)."""
    python = Path(sys.executable)
    if python.is_relative_to(Path.cwd()):
        python = python.relative_to(Path.cwd())  # .venv/bin/python after `make run`
    return " ".join([shlex.quote(str(python)), "-m", "tools.circuitpy", "install", "--api-url",
                     shlex.quote(base_url), "--api-key", shlex.quote(api_key),
                     "--ssid", "'YOUR WIFI NAME'"])


def build_context(args: argparse.Namespace, environ: Mapping[str, str]) -> StackContext:
    selected = tuple(n.strip() for n in args.only.split(",") if n.strip())
    for name in selected:
        if name not in components.REGISTRY:
            raise StackError(f"unknown component {name!r} in --only "
                             f"(choose from {', '.join(components.REGISTRY)})")
    host, url_host = addresses(args)
    data_dir = args.data_dir.resolve()
    robot_name = environ.get("ROBOT_NAME", "sts-pi")
    real = tuple(dict.fromkeys(args.robot))
    named = [n.strip() for n in environ.get("ROBOT_NAMES", robot_name).split(",") if n.strip()]
    robots = list(dict.fromkeys([*real, *named]))  # a real Pi first: the page opens on it
    try:
        mqtt_acl.acl(robots)
    except ValueError as exc:
        raise StackError(str(exc)) from None
    for name in real:
        problem = name_problem(name)
        if problem:
            raise StackError(f"--robot {name!r}: {problem}")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        api_key, token, passwords, people = _credentials(data_dir, environ, robots)
        # The same users and rules for a Mosquitto run by hand (README: "What the local stack
        # exposes").
        mqtt_acl.mosquitto_files(data_dir / "mosquitto", mqtt_acl.acl(robots), passwords,
                                 args.mqtt_port, host)
    except OSError as exc:
        raise StackError(f"cannot write to the data directory {data_dir} "
                         f"({exc.strerror or exc}); choose another with --data-dir") from None
    except users.UsersError as exc:
        raise StackError(str(exc)) from None
    mqtt_url = environ.get("MQTT_URL") or f"mqtt://{url_host}:{args.mqtt_port}"
    env = dict(environ)
    env.update({
        "MARS_API_KEY": api_key,
        "ROBOT_API_TOKEN": token,
        # The handlers publish commands as the broker's command publisher.
        "MQTT_URL": with_user(mqtt_url, mqtt_acl.PUBLISHER, passwords[mqtt_acl.PUBLISHER]),
        "ROBOT_NAME": robot_name,
        "ROBOT_NAMES": ",".join(robots),
        "STACK_BASE_URL": f"http://{url_host}:{args.port}",
        "STACK_DATA_DIR": str(data_dir),
    })
    env.setdefault("MARS_STORE", str(data_dir / "mars"))
    env.setdefault("MARS_OFFLINE_SAMPLE", "1")
    env.setdefault("POWERTOOLS_SERVICE_NAME", "mars-robot-local")
    env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "MarsRobot")
    env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
    if not args.verbose:
        env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF lines would flood stdout
        env.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    return StackContext(
        host=host, url_host=url_host, port=args.port, mqtt_port=args.mqtt_port, data_dir=data_dir,
        api_key=api_key, robot_token=token, mqtt_url=mqtt_url, env=env,
        mqtt_passwords=passwords, robots=tuple(robots), real_robots=real,
        app=web.Application(middlewares=[access_log, json_errors],
                            client_max_size=MAX_PAYLOAD + 1),
        selected=selected, mqtt_external=bool(environ.get("MQTT_URL")),
        extra_routes=_extra_routes(args.extra_routes), users=people,
    )


class Stack:
    """Start, run and stop the selected components."""

    def __init__(self, ctx: StackContext) -> None:
        self.ctx = ctx
        self.components: list[Component] = []
        self.started: list[Component] = []
        self._runner: web.AppRunner | None = None

    def _check_ports(self) -> None:
        check_port_free(self.ctx.host, self.ctx.port, "--port")
        if "broker" in self.ctx.selected and not self.ctx.mqtt_external:
            check_port_free(self.ctx.host, self.ctx.mqtt_port, "--mqtt-port")

    async def start(self) -> None:
        self._check_ports()
        self.components = [components.load(name) for name in self.ctx.selected]
        for component in self.components:
            component.setup(self.ctx)
        self.ctx.app.router.add_get("/healthz", self._healthz)
        # A connection that has not sent a whole request head within the timeout is closed
        # (aiohttp's idle timer runs from the connection's start until a request arrives), so
        # half-sent requests cannot pile up.
        # After a 408 the unread rest of a body is drained for 2 s, not aiohttp's 10.
        self._runner = web.AppRunner(self.ctx.app, access_log=None, handle_signals=False,
                                     keepalive_timeout=request_timeout(self.ctx.env),
                                     lingering_time=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.ctx.host, self.ctx.port)
        try:
            await site.start()
        except OSError as exc:
            raise PortInUse(self.ctx.host, self.ctx.port, "--port") from exc
        for component in self.components:
            await component.start(self.ctx)
            self.started.append(component)

    async def stop(self) -> None:
        for component in reversed(self.started):
            try:
                await component.stop()
            except Exception:  # keep stopping the others; say which one failed
                log.exception("stopping %s failed", component.name)
        for component in self.components:
            if component not in self.started:
                await component.stop()  # set up but never started: release what setup took
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        report = {c.name: c.health() for c in self.started}
        return web.json_response({"status": "ok", "components": report})

    def banner(self) -> str:
        ctx = self.ctx
        mqtt_users = ", ".join(f"{u}/{p}" for u, p in ctx.mqtt_passwords.items())
        lines = ["", "Local stack is up. Ctrl-C stops it.", ""]
        for component in self.started:
            for label, url in component.urls(ctx):
                lines.append(f"  {label:<24} {url}")
        if "api" in self.ctx.selected and lan.is_lan_address(ctx.public_host):
            lines += ["", "  A real PyPortal on this network: install with (your Wi-Fi filled in)",
                      "    " + install_command(ctx.base_url, ctx.api_key)]
        for component in self.started:
            lines += component.notes(ctx)
        lines += [
            "",
            f"  MARS_API_KEY    {ctx.api_key}   (x-api-key header for /mars)",
            f"  ROBOT_API_TOKEN {ctx.robot_token}   (web page sign-in, Bearer token for /robot)",
            f"  MQTT users      {mqtt_users}   (user/password; rules in tools/stack/mqtt_acl.py)",
            *(f"  sign-in {u.name:<7} {u.token}   (owns {', '.join(u.robots) or 'no robot'})"
              for u in ctx.people.extra()),
            f"  data            {ctx.data_dir}",
            "",
        ]
        return "\n".join(lines)


async def serve(ctx: StackContext) -> int:
    stack = Stack(ctx)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stack.start()
    except (PortInUse, ConfigError, StackError) as exc:
        await stack.stop()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BaseException:
        await stack.stop()
        raise
    print(stack.banner(), flush=True)
    warning = exposure_warning(ctx.host)
    if warning:
        print(warning, flush=True)
    await stopping.wait()
    print("Stopping...", flush=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)  # a second Ctrl-C now interrupts a stuck shutdown
    await stack.stop()
    print("Stopped.", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)-10s %(message)s",
                        datefmt="%H:%M:%S", stream=sys.stdout)
    try:
        ctx = build_context(args, os.environ)
        return asyncio.run(serve(ctx))
    except (StackError, ConfigError, PortInUse) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
