"""``robot``: the robot agent in simulation (mock GPIO pins), as a child process.

It runs ``python -m robot_agent --config <data_dir>/robot-agent.toml --simulate`` against the
stack's broker, named ``ROBOT_NAME`` (default ``sts-pi``). The mock pins are visible on MQTT:
``robot/{name}/telemetry`` carries each motor change with the pin duties, and
``robot/{name}/status`` the retained state. Start returns once the agent reports online.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from tools.stack.component import Component, StackContext
from tools.stack.process import ChildProcess

READY_TIMEOUT_S = 20.0


def agent_config(name: str, mqtt_url: str, camera: str = 'driver = "none"\n') -> str:
    """The TOML the simulated agent runs with."""
    return (f'# Written by the local stack at each start.\nname = "{name}"\n\n'
            f'[mqtt]\nurl = "{mqtt_url}"\n\n[motors]\ndriver = "explorer-hat"\n\n'
            f'[camera]\n{camera}')


def camera_section(ctx: StackContext) -> str:
    """Stream the test pattern through the web component's signaling relay, when it runs."""
    if "web" not in ctx.selected:
        return 'driver = "none"\n'
    return (f'driver = "aiortc"\nsignaling_url = "ws://{ctx.host}:{ctx.port}/signaling"\n'
            f'signaling_token = {json.dumps(ctx.robot_token)}\n')


def wait_online(mqtt_url: str, name: str, since_ms: int, timeout_s: float) -> bool:
    """Block until ``robot/{name}/status`` says online for an agent started after ``since_ms``."""
    parts = urlparse(mqtt_url)
    seen = threading.Event()

    def on_message(client, userdata, message) -> None:
        try:
            status = json.loads(message.payload or b"{}")
        except ValueError:
            return
        if status.get("online") and status.get("since_ms", 0) >= since_ms:
            seen.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.on_connect = lambda c, *a: c.subscribe(f"robot/{name}/status", qos=1)
    client.on_message = on_message
    client.connect_async(parts.hostname, parts.port or 1883)
    client.loop_start()
    try:
        return seen.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()


class RobotComponent(Component):
    name = "robot"

    def __init__(self) -> None:
        self.child: ChildProcess | None = None
        self.robot_name = "sts-pi"

    async def start(self, ctx: StackContext) -> None:
        self.robot_name = ctx.env.get("ROBOT_NAME") or "sts-pi"
        path = ctx.data_dir / "robot-agent.toml"
        path.write_text(agent_config(self.robot_name, ctx.mqtt_url, camera_section(ctx)))
        path.chmod(0o600)  # it holds the local token
        since_ms = int(time.time() * 1000) - 1000  # clock granularity margin
        self.child = ChildProcess.python_module(
            "robot", "robot_agent", "--config", str(path), "--simulate", env=ctx.env)
        await self.child.start()
        loop = asyncio.get_running_loop()
        online = await loop.run_in_executor(None, wait_online, ctx.mqtt_url, self.robot_name,
                                            since_ms, READY_TIMEOUT_S)
        if not online:
            raise RuntimeError(f"the simulated robot {self.robot_name!r} did not come online "
                               f"within {READY_TIMEOUT_S:.0f} s (see its [robot] lines)")

    async def stop(self) -> None:
        if self.child is not None:
            await self.child.stop()

    def urls(self, ctx: StackContext) -> list[tuple[str, str]]:
        return [("Robot (simulated)", f"{self.robot_name} on robot/{self.robot_name}/cmd"),
                ("Robot status", f"{ctx.base_url}/robot/{self.robot_name}/status")]

    def health(self) -> dict[str, Any]:
        child = self.child
        return {"up": bool(child and child.running), "name": self.robot_name,
                "pid": child.process.pid if child and child.process else None}
