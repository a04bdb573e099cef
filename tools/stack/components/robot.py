"""``robot``: the robot agent in simulation (mock GPIO pins), as a child process; and the
bundles of real Pis (``--robot NAME``).

It runs ``python -m robot_agent --config <data_dir>/robot-agent.toml --simulate`` against the
stack's broker, named ``ROBOT_NAME`` (default ``sts-pi``). The mock pins are visible on MQTT:
``robot/{name}/telemetry`` carries each motor change with the pin duties, and
``robot/{name}/status`` the retained state. Start returns once the agent reports online.

A real Pi named with ``--robot NAME`` is never simulated (two agents with one name would both
take its commands). It gets ``<data_dir>/robots/NAME.tar.gz``, a bundle ``install.sh --bundle``
takes as it takes a deploy's: the agent's config for this stack (its broker and signaling
relay at the address the stack names, ``--lan``'s, and the robot's own password), written at
each start; the banner says what to do with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from robot_agent.mqtt_link import hang_up

from contracts import safejson
from contracts.topics import Topics
from tools.deploy.provision import write_bundle
from tools.stack import lan
from tools.stack.component import Component, StackContext
from tools.stack.mqtt_acl import OBSERVER
from tools.stack.private import write_private
from tools.stack.process import ChildProcess
from tools.stack.urls import redact_url

log = logging.getLogger("stack")

READY_TIMEOUT_S = 20.0
# As config.example.toml recommends: the simulated robot speeds up as a real one should.
DRIVING = "max_accel_per_s = 4.0\nlease_s = 3.0\n"


SIMULATED = "# Written by the local stack at each start.\n"
FOR_A_PI = ("# Written by the local stack (--robot {name}) for the Pi named {name}; install.sh "
            "--bundle\n# installs it as /etc/robot-agent/config.toml. [motors] driver: your "
            "board (config.example.toml).\n")


def agent_config(name: str, mqtt_url: str, camera: str = 'driver = "none"\n',
                 password: str | None = None, header: str = SIMULATED) -> str:
    """The TOML an agent runs with against this stack (it signs in to the broker as the robot):
    the simulated one, and a real Pi's (``header`` says which)."""
    login = (f"username = {json.dumps(name)}\npassword = {json.dumps(password)}\n"
             if password is not None else "")
    return (f'{header}name = "{name}"\n\n'
            f'[mqtt]\nurl = "{mqtt_url}"\n{login}\n[motors]\ndriver = "explorer-hat"\n\n'
            f'[driving]\n{DRIVING}\n[camera]\n{camera}')


def pi_bundle(ctx: StackContext, name: str) -> Path:
    """Write ``<data_dir>/robots/<name>.tar.gz`` for the real Pi ``name`` (0600: it holds the
    robot's password); its ``config.toml`` stays beside it, to read."""
    folder = ctx.data_dir / "robots" / name
    folder.mkdir(parents=True, exist_ok=True)
    write_private(folder / "config.toml", agent_config(
        name, ctx.mqtt_url, camera_section(ctx, name), ctx.mqtt_passwords.get(name),
        FOR_A_PI.format(name=name)))
    return write_bundle(folder, name, members=("config.toml",))


def pi_steps(ctx: StackContext, name: str, bundle: Path) -> list[str]:
    """What to do with a Pi's bundle, for the start banner."""
    shown = bundle.relative_to(Path.cwd()) if bundle.is_relative_to(Path.cwd()) else bundle
    lines = ["", f"  The Pi named {name} (not simulated here): copy its bundle to it, e.g.",
             f"    scp {shown} pi@<the Pi>:",
             "  then on the Pi, in device/robot-pi of a clone of this repository:",
             f"    sudo ./install.sh --bundle ~/{name}.tar.gz && sudo robot-agent doctor",
             f"  and drive it at {ctx.base_url}/?robot={name}"]
    if not lan.is_lan_address(urlparse(ctx.mqtt_url).hostname or ""):
        lines.append(f"  (its broker address {urlparse(ctx.mqtt_url).hostname} is this "
                     f"computer's own: only an agent here reaches it; for a Pi run the stack "
                     f"with --lan)")
    return lines


def camera_section(ctx: StackContext, name: str = "sts-pi") -> str:
    """Stream the test pattern through the web component's signaling relay, when it runs; the
    robot is its channel's master with its own secret, not the page's token."""
    if "web" not in ctx.selected:
        return 'driver = "none"\n'
    return (f'driver = "aiortc"\nsignaling_url = "ws://{ctx.public_host}:{ctx.port}/signaling"\n'
            f'signaling_token = {json.dumps(ctx.mqtt_passwords.get(name, ctx.robot_token))}\n')


def wait_online(mqtt_url: str, name: str, since_ms: int, timeout_s: float) -> bool:
    """Block until ``robot/{name}/status`` says online for an agent started after ``since_ms``."""
    parts = urlparse(mqtt_url)
    seen = threading.Event()


    def on_message(client, userdata, message) -> None:
        try:
            status = safejson.loads(message.payload or b"{}", max_bytes=16 * 1024)
        except ValueError:
            return
        if not isinstance(status, dict) or not isinstance(status.get("since_ms"), int):
            return
        if status.get("online") and status["since_ms"] >= since_ms:
            seen.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if parts.username:
        client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
    client.on_connect = lambda c, *a: c.subscribe(Topics.for_robot(name).status, qos=1)
    client.on_message = on_message
    client.connect_async(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    try:
        return seen.wait(timeout_s)
    finally:
        hang_up(client)


class RobotComponent(Component):
    """The simulated agent, restarted when it exits as systemd restarts it on the Pi
    (``Restart=always``, ``RestartSec=5``, at most 10 starts in 300 s)."""

    name = "robot"
    restart_s = 5.0
    start_limit = (10, 300.0)  # StartLimitBurst, StartLimitIntervalSec

    def __init__(self) -> None:
        self.child: ChildProcess | None = None
        self.robot_name = "sts-pi"
        self.simulated = True
        self.bundles: dict[str, Path] = {}  # real Pis' bundles
        self.restarts = 0
        self._argv: tuple[str, ...] = ()
        self._env: dict[str, str] = {}
        self._supervisor: asyncio.Task | None = None
        self._starts: list[float] = []

    async def start(self, ctx: StackContext) -> None:
        self.robot_name = ctx.env.get("ROBOT_NAME") or "sts-pi"
        self.bundles = {name: pi_bundle(ctx, name) for name in ctx.real_robots}
        self.simulated = self.robot_name not in ctx.real_robots
        if not self.simulated:
            log.info("not simulating %s: the real Pi of that name drives with this stack",
                     self.robot_name)
            return
        self.restart_s = float(ctx.env.get("STACK_AGENT_RESTART_S", self.restart_s))
        path = ctx.data_dir / "robot-agent.toml"
        # It holds the robot's secret (broker and signaling): 0600 from creation on.
        write_private(path, agent_config(self.robot_name, ctx.mqtt_url,
                                         camera_section(ctx, self.robot_name),
                                         ctx.mqtt_passwords.get(self.robot_name)))
        self._argv = ("robot_agent", "--config", str(path), "--simulate")
        # The agent gets no broker password but its own (the handlers' MQTT_URL has one).
        self._env = dict(ctx.env, MQTT_URL=redact_url(ctx.mqtt_url))
        observer_url = ctx.mqtt_url_for(OBSERVER)
        await self._launch()
        loop = asyncio.get_running_loop()
        since_ms = int(time.time() * 1000) - 1000  # clock granularity margin
        online = await loop.run_in_executor(None, wait_online, observer_url, self.robot_name,
                                            since_ms, READY_TIMEOUT_S)
        if not online:
            raise RuntimeError(f"the simulated robot {self.robot_name!r} did not come online "
                               f"within {READY_TIMEOUT_S:.0f} s (see its [robot] lines)")
        self._supervisor = asyncio.create_task(self._supervise())

    async def _launch(self) -> None:
        self._starts.append(time.monotonic())
        self.child = ChildProcess.python_module("robot", *self._argv, env=self._env)
        await self.child.start()

    async def _supervise(self) -> None:
        burst, interval = self.start_limit
        while self.child is not None and self.child.process is not None:
            code = await self.child.process.wait()
            now = time.monotonic()
            self._starts = [t for t in self._starts if now - t < interval]
            if len(self._starts) >= burst:
                log.error("the robot agent exited with code %s; %d starts in %.0f s, giving up "
                          "(as systemd's start limit); restart the stack", code, burst, interval)
                return
            log.warning("the robot agent exited with code %s; restarting it in %.0f s (as "
                        "systemd does on the Pi)", code, self.restart_s)
            await asyncio.sleep(self.restart_s)
            await self.child.stop()  # collects its output pump
            self.restarts += 1
            await self._launch()

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self.child is not None:
            await self.child.stop()

    def urls(self, ctx: StackContext) -> list[tuple[str, str]]:
        found = [("Robot (your Pi)", f"{name}: bundle {bundle}")
                 for name, bundle in self.bundles.items()]
        if self.simulated:
            found += [("Robot (simulated)", f"{self.robot_name} on robot/{self.robot_name}/cmd"),
                      ("Robot status", f"{ctx.base_url}/robot/{self.robot_name}/status")]
        return found

    def notes(self, ctx: StackContext) -> list[str]:
        return [line for name, bundle in self.bundles.items()
                for line in pi_steps(ctx, name, bundle)]

    def health(self) -> dict[str, Any]:
        child = self.child
        return {"up": bool(child and child.running) or not self.simulated,
                "name": self.robot_name if self.simulated else None,
                "real": sorted(self.bundles), "restarts": self.restarts,
                "pid": child.process.pid if child and child.process else None}
