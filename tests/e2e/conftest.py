"""Browser tests: Debian's chromium (headless, through Playwright) against the real local stack.

The stack runs as a subprocess with the broker, the API, the web page and relay, and the
simulated robot (test-pattern camera, mock pins). Screenshots go to ``out/e2e/``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
import paho.mqtt.publish as mqtt_publish
import pytest

from tests.stackproc import ROOT, StackProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync",
                 # real host candidates instead of mDNS names: no multicast leaves the machine
                 "--disable-features=WebRtcHideLocalIpsWithMdns"]
SHOTS = ROOT / "out" / "e2e"
ROBOT = "sts-pi"
# A configured robot with no agent: tests make it come and go with retained status messages.
PUPPET = "puppet-bot"


def pytest_collection_modifyitems(items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is absent (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


class Telemetry:
    """Every motor event the robot publishes, with the time it arrived here."""

    def __init__(self, mqtt_url: str, name: str = ROBOT) -> None:
        self.events: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        parts = urlparse(mqtt_url)
        ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-watcher",
                                  protocol=mqtt.MQTTv311)

        def on_connect(client, *args):
            client.subscribe(f"robot/{name}/telemetry", qos=0)

        if parts.username:
            self.client.username_pw_set(parts.username, parts.password)
        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(parts.hostname, parts.port or 1883)
        self.client.loop_start()
        assert ready.wait(10), "could not subscribe to the robot's telemetry"

    def _on_message(self, client, userdata, message) -> None:
        try:
            event = json.loads(message.payload)
        except ValueError:
            return
        if event.get("event") == "motors":
            with self.lock:
                self.events.append((time.monotonic(), event))

    def since(self, t: float) -> list[tuple[float, dict]]:
        with self.lock:
            return [(at, e) for at, e in self.events if at >= t]

    def wait_for(self, predicate, since: float, timeout: float = 5.0) -> tuple[float, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, event in self.since(since):
                if predicate(event):
                    return at, event
            time.sleep(0.005)
        raise AssertionError(f"no matching motor event; saw {self.since(since)[-5:]}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def stack():
    with StackProcess(only="broker,api,web,robot",
                      env={"ROBOT_NAMES": f"{ROBOT},ghost-bot,{PUPPET}"},
                      ready_timeout=60) as running:
        yield running


@pytest.fixture(scope="module")
def telemetry(stack):
    watcher = Telemetry(stack.mqtt_url_as("observer"))
    yield watcher
    watcher.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1100, "height": 700})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    SHOTS.mkdir(parents=True, exist_ok=True)
    if not page.is_closed():
        page.screenshot(path=str(SHOTS / f"{request.node.name}.png"))
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def publish_status(stack, name: str, status: dict | None) -> None:
    """Publish (retained) what a robot's agent would report; ``None`` clears it."""
    parts = urlparse(stack.mqtt_url)
    # Only a robot may set its status: the puppet signs in as that robot, with its client id.
    mqtt_publish.single(f"robot/{name}/status", None if status is None else json.dumps(status),
                        qos=1, retain=True, hostname=parts.hostname, port=parts.port or 1883,
                        client_id=name, protocol=mqtt.MQTTv311,
                        auth={"username": name, "password": stack.mqtt_password(name)})


def sign_in(page, stack, robot: str = ROBOT):
    page.goto(f"{stack.base_url}/?robot={robot}")
    page.fill("#token", stack.token)
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#console:not([hidden])")
