"""A scripted stretch of use on the real local stack, counted two ways: by what the stack saw
and by the cost model (:mod:`tools.deploy.usage`) for the same script.

The script: a PyPortal refreshing as the device does (``GET /mars``, then the bitmap only when
its ETag changed); a page signing in, reading the robot's status as the page does before its
video connects, then driving with a joystick over the video connection's data channel (a new
analog command every 50 ms, each hold ended by a stop, holds closer together than the driver
lease); the page leaving. Every photo of the rotation is converted beforehand, as the scheduled
refresh does in AWS. The photo rotates every ``refresh_every_s`` (the stack's
``REFRESH_S``) so each refresh meets a new photo, as a deployed PyPortal does.

Counted: requests in the stack's access log, the robot's MQTT messages (an observer on
``robot/sts-pi/#``, retained deliveries left out), and the model's figures for the script.
Used by ``tests/tools/test_deploy_minute.py`` and ``bench/cost_minute.py``.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any

from robot_agent import report

from contracts.command import duration_range_ms
from testing.fake_nasa import FakeNasa
from testing.robot_harness import Observer
from testing.stack_process import StackProcess
from testing.waiting import wait_until
from tools.deploy import usage

ROBOT = "sts-pi"
#: The local stack's simulated robot reports when idle this often (the agent's default; a
#: deployed robot, every 60 s).
LOCAL_HEARTBEAT_S = 5.0
#: Each drive command's deadman, the longest a command may ask: a loaded machine pausing this
#: script's sender must not let the robot stop mid-hold (a stop and a restart: messages no
#: user caused); the page's own (500 ms) changes no count.
DURATION_MS = duration_range_ms()[1]
_REQUEST = re.compile(r"stack\.http\s+(GET|POST|HEAD) (\S+) (\d{3}) ")


@dataclass(frozen=True)
class Script:
    seconds: float = 60.0  # from the page's sign-in to its leaving
    refresh_every_s: float = 20.0  # the PyPortal's refresh, and the photo rotation
    holds: tuple[float, ...] = (9.5, 9.5, 9.5, 9.5)  # seconds the stick moves, each
    pause_s: float = 1.0  # between holds: under the driver lease (3 s), as a driver's are
    commands_per_s: float = 20.0  # a changed analog command every 50 ms

    @property
    def refreshes(self) -> int:
        return int(self.seconds // self.refresh_every_s) + (self.seconds % self.refresh_every_s
                                                            > 0)


def modelled(script: Script, seconds: float | None = None) -> usage.Events:
    """The model's figures for ``script``, with the local robot's heartbeat.

    :param seconds: how long the page really stayed, when a loaded machine stretched the
        script (the robot's idle heartbeats go on meanwhile); the script's by default.
    """
    seconds = script.seconds if seconds is None else seconds
    rates = dataclasses.replace(usage.Rates.shipped(), refresh_s=script.refresh_every_s,
                                rotation_s=script.refresh_every_s,
                                heartbeat_s=LOCAL_HEARTBEAT_S,
                                analog_ms=1000 / script.commands_per_s)
    held = sum(script.holds)
    return usage.events(usage.Activity(
        refreshes=script.refreshes, held_s=held, releases=len(script.holds),
        idle_robot_s=seconds - held - script.pause_s * len(script.holds),
        sessions=1, session_s=seconds), rates)


def _get(url: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


class PyPortal(threading.Thread):
    """Refreshes as ``device/pyportal/app.py`` does: the photo only when it changed."""

    def __init__(self, stack: StackProcess, every_s: float, count: int) -> None:
        super().__init__(daemon=True)
        self.stack, self.every_s, self.count = stack, every_s, count
        self.etag: str | None = None
        self.error: BaseException | None = None

    def refresh(self) -> None:
        key = {"x-api-key": self.stack.api_key}
        status, body, _ = _get(self.stack.url("/mars?width=320&height=240&depth=8"), key)
        if status != 200:
            raise AssertionError(f"/mars answered {status}: {body[:200]!r}")
        image = json.loads(body)["image"]
        if image["etag"] != self.etag:  # unchanged: not even a conditional request
            status, _, headers = _get(image["url"], dict(key, **(
                {"If-None-Match": f'"{self.etag}"'} if self.etag else {})))
            if status not in (200, 304):
                raise AssertionError(f"the bitmap answered {status}")
            self.etag = image["etag"]

    def run(self) -> None:
        started = time.monotonic()
        try:
            for n in range(self.count):
                time.sleep(max(0.0, started + n * self.every_s - time.monotonic()))
                self.refresh()
        except BaseException as exc:
            self.error = exc


def _status(stack: StackProcess) -> None:
    request = urllib.request.Request(stack.url(f"/robot/{ROBOT}/status"),
                                     headers={"Authorization": f"Bearer {stack.token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


async def _drive(stack: StackProcess, script: Script, page_started: float,
                 holds: list[tuple[float, float]]) -> float:
    """Open the video connection and drive; returns when the page's channel opened.

    :param holds: gets ``(start, end)`` of each hold, monotonic seconds.
    """
    import aiohttp
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from tools.stack.signaling import channel_arn

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")  # as the page: it watches, too
    channel = pc.createDataChannel("drive", ordered=True, maxPacketLifeTime=250)
    opened = asyncio.Event()
    channel.on("open", opened.set)
    query = {"X-Amz-ChannelARN": channel_arn(ROBOT), "X-Amz-ClientId": "scripted-page",
             "token": stack.token}
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(
                f"ws://127.0.0.1:{stack.port}/signaling", params=query) as ws:
            await pc.setLocalDescription(await pc.createOffer())
            offer = {"type": "offer", "sdp": pc.localDescription.sdp}
            await ws.send_str(json.dumps({"action": "SDP_OFFER", "messagePayload": base64
                                          .b64encode(json.dumps(offer).encode()).decode()}))
            answer = json.loads(base64.b64decode(json.loads(
                (await asyncio.wait_for(ws.receive(), 20)).data)["messagePayload"]))
            await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
            await asyncio.wait_for(opened.wait(), 20)
            channel_at = time.monotonic()
            step = 1 / script.commands_per_s
            for hold in script.holds:
                started, n = time.monotonic(), 0
                while time.monotonic() - started < hold:
                    left = round(0.3 + 0.05 * (n % 8), 2)  # a stick that keeps moving
                    channel.send(json.dumps({"action": "drive", "left": left, "right": left,
                                             "duration_ms": DURATION_MS}))
                    n += 1
                    await asyncio.sleep(max(0.0, started + n * step - time.monotonic()))
                channel.send(json.dumps({"action": "stop"}))  # let go
                holds.append((started, time.monotonic()))
                await asyncio.sleep(script.pause_s)
            end = page_started + script.seconds - 0.5  # the page leaves: its last report
            await asyncio.sleep(max(0.0, end - time.monotonic()))
    finally:
        await pc.close()
    return channel_at


def _convert_the_rotation(stack: StackProcess) -> None:
    """Every photo of the rotation converted beforehand, as the scheduled refresh does in AWS
    (without it a window's first request answers with a photo already made)."""
    key = {"x-api-key": stack.api_key}
    status, body, _ = _get(stack.url("/mars?width=320&height=240&depth=8&photos=6"), key)
    if status != 200:
        raise AssertionError(f"/mars answered {status}: {body[:200]!r}")
    for photo in json.loads(body)["photos"]:
        _get(photo["url"], key)


def _counts(log: str, since: int) -> Counter[str]:
    seen: Counter[str] = Counter()
    for match in _REQUEST.finditer(log[since:]):
        method, path, _ = match.groups()
        if path.startswith("/mars/image/"):
            seen["bitmaps"] += 1
        elif path.startswith("/mars"):
            seen["mars"] += 1
        elif path.startswith(f"/robot/{ROBOT}/status"):
            seen["status_reads"] += 1
        elif path.endswith("/cmd") or path == "/publish":
            seen["http_commands"] += 1
    return seen


def run(script: Script = Script()) -> dict[str, Any]:
    """Run ``script`` on a fresh local stack; the observed and modelled figures per line."""
    with FakeNasa() as nasa:
        env = {"MARS_SITE_BASE": nasa.url, "NASA_API_BASE": nasa.url,
               "MARS_OFFLINE_SAMPLE": "0", "REFRESH_S": f"{script.refresh_every_s:g}"}
        with StackProcess(only="broker,api,web,robot", env=env, ready_timeout=60) as stack:
            _convert_the_rotation(stack)
            warm = PyPortal(stack, 0, 1)
            warm.refresh()  # a PyPortal that ran before: it holds the current photo
            observer = Observer(stack.mqtt_url_as("observer"), topics=(
                f"robot/{ROBOT}/status", f"robot/{ROBOT}/telemetry"))
            try:
                return _scripted(stack, observer, warm, script)
            except Exception as exc:  # the stack's side of it, before its directory goes
                raise AssertionError(f"{exc!r}; the stack's log ends:\n"
                                     f"{stack.log()[-3000:]}") from exc
            finally:
                observer.close()


def _scripted(stack: StackProcess, observer: Observer, warm: PyPortal,
              script: Script) -> dict[str, Any]:
    time.sleep(script.refresh_every_s - time.time() % script.refresh_every_s + 0.2)
    log_from = len(stack.log())
    with observer._lock:
        observer.messages.clear()
    started = time.monotonic()
    pyportal = PyPortal(stack, script.refresh_every_s, script.refreshes)
    pyportal.etag = warm.etag
    pyportal.start()
    _status(stack)  # the page signs in and reads its robot's status...
    time.sleep(2.0)
    _status(stack)  # ...again after 2 s (poll.js IDLE_MIN_MS), then its video connects
    holds: list[tuple[float, float]] = []
    channel_at = asyncio.run(_drive(stack, script, started, holds))
    pyportal.join(30)
    if pyportal.error is not None:
        raise pyportal.error
    # the page has left once the robot says so (its connection closing takes a moment)
    left_at = wait_until(lambda: next((
        m[0] for m in list(observer.messages) if m[1].endswith("/status") and m[0] > channel_at
        and json.loads(m[2]).get("camera", {}).get("viewers") == 0), None), 10)
    time.sleep(0.3)  # the last requests reach the log
    with observer._lock:  # what the robot said until the page had left
        live = [(t, topic) for t, topic, payload, retained in observer.messages
                if not retained and t <= left_at]
        stalls = sum(1 for t, topic, payload, retained in observer.messages
                     if topic.endswith("/telemetry") and t <= left_at
                     for e in report.events(json.loads(payload))
                     if e.get("event") == "motors" and e.get("cause") == "deadman")
    seen = _counts(stack.log(), log_from)
    seen["robot_status"] = sum(1 for _, t in live if t.endswith("/status"))
    seen["robot_telemetry"] = sum(1 for _, t in live if t.endswith("/telemetry"))
    # a loaded machine stretches the script: the model counts the time it really took
    seconds = max(script.seconds, left_at - started)
    model = modelled(script, seconds)
    lines = {name: {"model": round(getattr(model, name), 1), "observed": seen[name]}
             for name in ("mars", "bitmaps", "status_reads", "http_commands", "robot_status",
                          "robot_telemetry")}
    for name, (m, o) in {
        # locally every request is a handler invocation (in AWS: those CloudFront did not answer)
        "api_requests_and_lambda_invocations": (
            model.mars + model.bitmaps + model.status_reads + model.http_commands,
            seen["mars"] + seen["bitmaps"] + seen["status_reads"] + seen["http_commands"]),
        # as IoT bills them (tools/deploy/cost.py): a retained status twice, an HTTP command
        # three times, a status read once
        "iot_billed_messages": (
            2 * model.robot_status + model.robot_telemetry + 3 * model.http_commands
            + model.status_reads,
            2 * seen["robot_status"] + seen["robot_telemetry"] + 3 * seen["http_commands"]
            + seen["status_reads"]),
    }.items():
        lines[name] = {"model": round(m, 1), "observed": o}
    span = holds[-1][1] - holds[0][0]
    driven = [t for t, _ in live if holds[0][0] <= t <= holds[-1][1] + 0.1]
    # inside each hold, away from its first change and its stop (sent at once by design)
    steady = sum(1 for t, _ in live for a, b in holds if a + 0.5 <= t <= b - 0.5)
    steady_s = sum(b - a - 1.0 for a, b in holds)
    return {"script": dataclasses.asdict(script), "seconds": round(seconds, 2),
            "deadman_stops": stalls, "lines": lines,
            "commands_per_s_sent": script.commands_per_s,
            "robot_mqtt_messages_per_s_while_driven": round(len(driven) / span, 2),
            "robot_mqtt_messages_per_s_steady": round(steady / steady_s, 2)}
