"""What the robot publishes while driven: coalesced status and telemetry (at most 2 MQTT
messages a second whatever the command rate), stops and refusals at once, every state on the
data channel. The pacing on a fake clock; the agent driven at a joystick's rate on mock pins."""

from __future__ import annotations

import json
import time

from robot_agent import report
from robot_agent.mqtt_link import MemoryLink
from robot_agent.report import REPORT_S, Reporter

from testing.robot_harness import ChannelCamera, RunningAgent, agent_config
from testing.waiting import wait_until

STATUS, TELEMETRY = "robot/testbot/status", "robot/testbot/telemetry"


class Bot(RunningAgent):
    """The agent on mock pins, driven from a viewer's data channel."""

    def __init__(self, **sections) -> None:
        super().__init__(agent_config("mqtt://127.0.0.1:1", **sections), link=MemoryLink())
        self.camera = ChannelCamera()
        self.agent.camera = self.camera

    def channel(self, viewer: str, body: dict) -> None:
        self.agent._loop.call_soon_threadsafe(self.camera.on_drive, viewer, json.dumps(body))

    def events(self) -> list[dict]:
        return [m for m in self.link.messages(TELEMETRY) if m["event"] == "motors"]


class Loop:
    """A fake clock and ``call_later`` the test advances by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[list] = []  # [due, callback, cancelled]

    def call_later(self, delay, callback):
        timer = [self.now + delay, callback, False]
        self.timers.append(timer)

        class Handle:
            def cancel(self_inner) -> None:
                timer[2] = True
        return Handle()

    def advance(self, seconds: float) -> None:
        end = self.now + seconds
        while True:
            due = sorted((t for t in self.timers if not t[2] and t[0] <= end), key=lambda t: t[0])
            if not due:
                break
            due[0][2] = True
            self.now = due[0][0]
            due[0][1]()
        self.now = end


def reporter(loop: Loop):
    sent: list[tuple[float, str, dict | None]] = []
    r = Reporter(lambda: sent.append((loop.now, "status", None)),
                 lambda m: sent.append((loop.now, "telemetry", m)),
                 lambda: loop.call_later, lambda: loop.now, lambda: int(loop.now * 1000))
    return r, sent


def step(i: int) -> dict:
    return {"event": "motors", "left": round(0.01 * i, 2), "right": 0.0, "t_ms": i}


def test_a_joystick_becomes_at_most_one_status_and_one_telemetry_a_second():
    loop = Loop()
    r, sent = reporter(loop)
    for i in range(1, 201):  # 10 s of 20 changes a second
        r.event(step(i), urgent=False)
        r.status(urgent=False)
        loop.advance(0.05)
    loop.advance(REPORT_S)
    for second in range(10):
        in_second = [s for s in sent if second <= s[0] < second + 1]
        assert len(in_second) <= 2, in_second
    assert len(sent) == 22  # the first change at once (leading edge), then one of each a second
    steps = [e for _, kind, m in sent if kind == "telemetry" for e in report.events(m)]
    assert [e["t_ms"] for e in steps] == list(range(1, 201))  # every step, in order, once


def test_stops_refusals_and_the_status_go_at_once_with_what_waits():
    loop = Loop()
    r, sent = reporter(loop)
    r.event(step(1), urgent=False)
    r.status(urgent=False)
    loop.advance(0.1)
    r.event(step(2), urgent=False)
    r.status(urgent=False)
    loop.advance(0.1)
    assert len(sent) == 2  # the leading edge only; step 2 waits
    r.event({"event": "motors", "left": 0.0, "right": 0.0, "t_ms": 3})  # a stop
    r.status()
    assert [kind for _, kind, _ in sent[2:]] == ["telemetry", "status"]
    assert sent[2][0] == loop.now
    assert [e["t_ms"] for e in report.events(sent[2][2])] == [2, 3]
    loop.advance(2)
    assert len(sent) == 4  # nothing left over for the routine timer


def test_a_flood_of_refusals_is_bounded():
    loop = Loop()
    r, sent = reporter(loop)
    for i in range(300):  # 300 refused commands in 0.3 s
        r.event({"event": "rejected", "id": f"c{i}", "reason": "invalid"})
        loop.advance(0.001)
    loop.advance(REPORT_S)
    assert len(sent) <= report.URGENT_BURST + 2  # then a leading and a trailing routine one
    assert all(len(json.dumps(m, separators=(",", ":"))) <= report.MAX_BATCH_BYTES
               for _, _, m in sent)
    told = sum(len(report.events(m)) + m.get("dropped", 0) for _, _, m in sent)
    assert told == 300 and report.events(sent[-1][2])[-1]["id"] == "c299"


def test_a_batch_stays_within_one_billed_message():
    pending = [{**step(i), "cause": "ramp", "id": "c1", "via": "channel", "seq": 7,
                "pins": {"19": 0.0, "20": 0.5, "21": 0.0, "26": 0.5}} for i in range(80)]
    pending.insert(40, {"event": "rejected", "id": "x", "reason": "busy"})
    message = report.batch(pending, 99)
    assert len(json.dumps(message, separators=(",", ":"))) <= report.MAX_BATCH_BYTES
    kept = report.events(message)
    assert {"event": "rejected", "id": "x", "reason": "busy"} in kept  # events are kept
    assert kept[-1] == pending[-1] and message["dropped"] == 81 - len(kept)
    assert report.batch(pending[:1], 1) == pending[0]  # one event goes as itself


def test_driving_at_twenty_commands_a_second_publishes_at_most_two_a_second():
    bot = Bot(driving={"max_accel_per_s": 4.0, "heartbeat_s": 60}).start()
    try:
        status_before = len(bot.link.raw(STATUS))
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < 2.5:  # a joystick: 20 analog commands a second
            left = 0.3 + 0.2 * (sent % 5) / 4
            bot.channel("stick", {"action": "drive", "left": left, "right": -left,
                                  "duration_ms": 300})
            sent += 1
            time.sleep(0.05)
        stop_at = time.monotonic()
        bot.channel("stick", {"action": "stop"})
        stopped = wait_until(lambda: [s for s in bot.link.raw(STATUS)
                                      if s["motors"]["left"] == 0 and s["action"] == "stop"], 1)
        assert stopped and time.monotonic() - stop_at < 0.5  # the stop goes out at once
        published = [p for p in bot.link.published[status_before:]
                     if p[0] in (STATUS, TELEMETRY)]
        duration = stop_at - started
        changes = [e for e in bot.events() if e["via"] == "channel"]
        # lease granted (at once), then at most one of each a second, then the stop's pair
        assert len(published) <= 2 * (duration / REPORT_S + 1) + 2 + 2, len(published)
        assert len(changes) >= sent  # every step is still told, inside the batches
        assert len(bot.camera.broadcasts) >= len(changes)  # the driver saw each state live
    finally:
        bot.stop()
