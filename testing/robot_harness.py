"""The robot agent in-process on mock pins, and an MQTT observer: for the robot tests and bench."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from robot_agent import report
from robot_agent.agent import Agent
from robot_agent.camera import Camera
from robot_agent.config import AgentConfig, parse
from robot_agent.drive import Drive, mock_factory
from robot_agent.mqtt_link import Link, PahoLink, hang_up
from robot_agent.service import Notifier

from contracts.topics import Topics
from testing.waiting import wait_until


def now_ms() -> int:
    return int(time.time() * 1000)


class FakeClock:
    """The robot's clocks, with its wall clock off by ``off_ms`` and an NTP flag as told.

    The monotonic clock is the real one: the agent's deadman and the tests' waits share it.
    """

    def __init__(self, off_ms: int = 0, synced: bool = True) -> None:
        self.off_ms = off_ms
        self.is_synced = synced

    def mono_ms(self) -> int:
        return int(time.monotonic() * 1000)

    def wall_ms(self) -> int:
        return now_ms() + self.off_ms

    def synced(self) -> bool:
        return self.is_synced


class Observer:
    """An MQTT client that records every message under ``robot/#`` and the legacy topic."""

    def __init__(self, url: str, topics: tuple[str, ...] = ("robot/#",)) -> None:
        parts = urlparse(url)
        port = parts.port or 1883
        self.messages: list[tuple[float, str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # notified at every message
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        if parts.username:  # the local stack's broker: mqtt://user:password@host:port
            self.client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        self.client.on_connect = lambda c, *a: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(5), "observer could not subscribe"

    def _on_message(self, client, userdata, message) -> None:
        with self._arrived:
            self.messages.append((time.monotonic(), message.topic, message.payload,
                                  bool(message.retain)))
            self._arrived.notify_all()

    def json(self, topic: str) -> list[dict[str, Any]]:
        """The messages on ``topic``; telemetry batches opened into their events."""
        with self._lock:
            found = [json.loads(p) for _, t, p, _ in self.messages if t == topic and p]
        return [e for m in found for e in report.events(m)]

    def wait_json(self, topic: str, predicate: Callable[[dict], bool] = lambda m: True,
                  timeout: float = 5.0, after: int = 0) -> dict[str, Any]:
        """The first message on ``topic`` past the first ``after`` (as :meth:`json` counts
        them) for which ``predicate`` holds, waiting for it: woken by each arrival, each message
        read once (polling re-read them all, a load on the machine the tested agent runs on).

        :raises AssertionError: none arrived within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        read = counted = 0
        with self._arrived:
            while True:
                for _, arrived_on, payload, _ in self.messages[read:]:
                    if arrived_on != topic or not payload:
                        continue
                    for message in report.events(json.loads(payload)):
                        counted += 1
                        if counted > after and predicate(message):
                            return message
                read = len(self.messages)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no message on {topic} matched within {timeout} s")
                self._arrived.wait(left)

    def publish(self, topic: str, payload: dict | bytes, qos: int = 1) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(topic, data, qos=qos).wait_for_publish(5)

    def close(self) -> None:
        hang_up(self.client)


def agent_config(url: str, name: str = "testbot", **sections: dict) -> AgentConfig:
    data: dict[str, Any] = {"name": name, "mqtt": {"url": url}}
    data["mqtt"].update(sections.pop("mqtt", {}))
    data.update(sections)
    return parse(data, "test.toml")


class RunningAgent:
    """A real :class:`Agent` (mock pins) on its own event loop thread.

    :param link: defaults to a :class:`PahoLink` to the config's broker.
    :param factory: the mock pin factory (default :func:`mock_factory`).
    """

    def __init__(self, config: AgentConfig, link: Link | None = None,
                 notifier: Notifier | None = None, clock: FakeClock | None = None,
                 state_dir: Path | None = None, factory: Any = None) -> None:
        self.config = config
        self.clock = clock or FakeClock()
        self.factory = factory or mock_factory()  # a MockFactory (bench/robot.py times pins)
        self.drive = Drive(config.motors, self.factory)
        self.link = link or PahoLink(config.mqtt, config.name, Topics.for_robot(config.name))
        self.agent = Agent(config, self.drive, self.link, notifier=notifier,
                           clock_ms=self.clock.wall_ms, clock=self.clock,
                           state_dir=str(state_dir) if state_dir else None)
        self.exit_code: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.exit_code = asyncio.run(self.agent.run())

    def start(self, wait_connected: bool = True) -> RunningAgent:
        self._thread.start()
        if wait_connected:
            wait_until(lambda: self.agent.ready is not None and self.agent.ready.is_set(), 10)
        return self

    def pins(self) -> dict[int, float]:
        return {p: float(self.factory.pin(p).state) for p in self.drive.pins}

    def moving(self) -> bool:
        return any(v > 0 for v in self.pins().values())

    def stop(self) -> int | None:
        self.agent.request_stop()
        self._thread.join(15)
        self.drive.close()
        return self.exit_code

    def __enter__(self) -> RunningAgent:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


_ids = itertools.count(1)


def command(action: str = "forward", speed: float = 0.5, duration_ms: int = 500,
            seq: int | None = None, issued_ms: int | None = None, **extra: Any) -> dict:
    """A valid ``robot/{name}/cmd`` payload; ``seq`` rises with each call unless given."""
    n = next(_ids)
    body = {"id": f"c{n}", "seq": n if seq is None else seq, "action": action, "speed": speed,
            "duration_ms": duration_ms, "issued_ms": now_ms() if issued_ms is None else issued_ms}
    body.update(extra)
    return body


class ChannelCamera(Camera):
    """A camera whose viewers drive over a data channel: records what the agent sends."""

    drive_channel = True

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict]] = []
        self.broadcasts: list[dict] = []
        self.users: dict[str, str] = {}  # viewer -> the person signaling named (the relay's)

    def send_drive(self, viewer: str, payload: dict) -> bool:
        self.sent.append((viewer, payload))
        return True

    def broadcast_drive(self, payload: dict) -> int:
        self.broadcasts.append(payload)
        return 1

    def drive_open(self, viewer: str) -> bool:
        return True  # every viewer's channel stays open here; closing is on_drive_closed's

    def viewer_user(self, viewer: str) -> str | None:
        return self.users.get(viewer)

