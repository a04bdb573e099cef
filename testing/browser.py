"""Debian's chromium for Playwright, and a watcher of the robot's motor events, for the browser
tests (``tests/e2e``) and the video benchmark."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import paho.mqtt.publish as mqtt_publish
from robot_agent import report
from robot_agent.mqtt_link import hang_up

from contracts.topics import Topics
from testing.stack_process import ROOT, StackProcess
from testing.waiting import wait_until

SHOTS = ROOT / "out" / "e2e"  # the browser tests' screenshots
# A configured robot with no agent: tests make it come and go with retained status messages.
PUPPET = "puppet-bot"
ROBOT = "sts-pi"  # the local stack's simulated robot
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
"""Debian's chromium; ``CHROMIUM=/path/to/chromium`` names another build (macOS: the app's)."""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync",
                 # real host candidates instead of mDNS names: no multicast leaves the machine
                 "--disable-features=WebRtcHideLocalIpsWithMdns"]


class Telemetry:
    """Every motor event the robot publishes (batches opened), with the time it arrived here."""

    def __init__(self, mqtt_url: str, name: str = ROBOT) -> None:
        self.events: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        parts = urlparse(mqtt_url)
        ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-watcher",
                                  protocol=mqtt.MQTTv311)

        def on_connect(client, *args):
            client.subscribe(Topics.for_robot(name).telemetry, qos=0)

        if parts.username:
            self.client.username_pw_set(parts.username, parts.password)
        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self.client.loop_start()
        assert ready.wait(10), "could not subscribe to the robot's telemetry"

    def _on_message(self, client, userdata, message) -> None:
        now = time.monotonic()
        try:
            found = report.events(json.loads(message.payload))
        except (ValueError, AttributeError):
            return
        with self.lock:
            self.events += [(now, e) for e in found if self.wanted(e)]

    def wanted(self, event: dict) -> bool:
        return event.get("event") == "motors"

    def since(self, t: float) -> list[tuple[float, dict]]:
        with self.lock:
            return [(at, e) for at, e in self.events if at >= t]

    def wait_for(self, predicate, since: float, timeout: float = 5.0) -> tuple[float, dict]:
        """The first motor event since ``since`` that ``predicate`` accepts, and when it came."""
        return wait_until(
            lambda: next(((at, e) for at, e in self.since(since) if predicate(e)), None),
            timeout, message=lambda: f"no matching motor event; saw {self.since(since)[-5:]}")

    def close(self) -> None:
        hang_up(self.client)


def sign_in(page: Any, stack: Any, robot: str = ROBOT, nickname: str = "") -> None:
    """Sign in on the control page of the stack's ``robot`` with the stack's token (and the
    name the page asks for, when given)."""
    page.goto(f"{stack.base_url}/?robot={robot}")
    page.fill("#token", stack.token)
    if nickname:
        page.fill("#nickname", nickname)
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#console:not([hidden])")


def publish_status(stack: StackProcess, name: str, status: dict | None) -> None:
    """Publish (retained) what a robot's agent would report; ``None`` clears it."""
    parts = urlparse(stack.mqtt_url)
    # Only a robot may set its status: the puppet signs in as that robot, with its client id.
    mqtt_publish.single(Topics.for_robot(name).status,
                        None if status is None else json.dumps(status),
                        qos=1, retain=True, hostname=parts.hostname or "127.0.0.1",
                        port=parts.port or 1883,
                        client_id=name, protocol=mqtt.MQTTv311,
                        auth={"username": name, "password": stack.mqtt_password(name)})

