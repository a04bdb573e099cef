"""Driving as a user feels it: live status, analog commands, the acceleration limit, the
driver lease, and the data-channel path (mock pins, in-memory link; the data channel's own
transport is tested with real aiortc peers in test_drive_channel.py)."""

import asyncio
import json
import time

import pytest
from robot_agent.lease import DriverLease
from robot_agent.motion import step, towards
from robot_agent.mqtt_link import MemoryLink

from testing.robot_harness import ChannelCamera, RunningAgent, agent_config, command
from testing.waiting import wait_until

TOPIC = "robot/testbot/cmd"
TELEMETRY = "robot/testbot/telemetry"
STATUS = "robot/testbot/status"



class Bot(RunningAgent):
    def __init__(self, **sections) -> None:
        super().__init__(agent_config("mqtt://127.0.0.1:1", **sections), link=MemoryLink())
        self.camera = ChannelCamera()
        self.agent.camera = self.camera

    def channel(self, viewer: str, body: dict | str) -> None:
        """A viewer's data-channel message, handed to the agent on its loop as aiortc does."""
        text = body if isinstance(body, str) else json.dumps(body)
        self.agent._loop.call_soon_threadsafe(self.camera.on_drive, viewer, text)

    def replies(self, viewer: str) -> list[dict]:
        return [p for v, p in list(self.camera.sent) if v == viewer]

    def events(self, kind: str = "motors") -> list[dict]:
        return [m for m in self.link.messages(TELEMETRY) if m["event"] == kind]


def stamped(body: dict) -> dict:
    """``body`` as the API publishes it on MQTT."""
    head = command()
    return {"id": head["id"], "seq": head["seq"], "issued_ms": head["issued_ms"], **body}


@pytest.fixture
def bot():
    running = Bot(driving={"lease_s": 0.6, "heartbeat_s": 0.5}).start()
    yield running
    running.stop()


@pytest.fixture
def ramped():
    running = Bot(driving={"max_accel_per_s": 4.0, "ramp_step_ms": 25}).start()
    yield running
    running.stop()


# -- pure parts ----------------------------------------------------------------------------

def test_towards_limits_only_speeding_up():
    assert towards(0.0, 0.5, 0.1) == 0.1
    assert towards(0.45, 0.5, 0.1) == 0.5
    assert towards(0.5, 0.2, 0.1) == 0.2  # slowing down: at once
    assert towards(0.5, 0.0, 0.1) == 0.0
    assert towards(0.5, -0.5, 0.1) == -0.1  # reversal: brake to 0 at once, then the limit
    assert towards(-0.3, -0.8, 0.2) == -0.5
    assert step((0.0, 0.0), (0.3, -0.3), float("inf")) == (0.3, -0.3)


def test_lease_grants_refuses_takes_over_and_lapses():
    lease = DriverLease(1000)
    assert lease.claim("a", "ann", driving=True, take_over=False, now_ms=0) == "granted"
    assert lease.claim("a", None, driving=True, take_over=False, now_ms=500) is None  # renewed
    with pytest.raises(ValueError, match="ann is driving"):
        lease.claim("b", None, driving=True, take_over=False, now_ms=1400)
    with pytest.raises(ValueError):
        lease.claim("b", None, driving=False, take_over=False, now_ms=1400)  # not even stop
    assert lease.claim("b", "bob", driving=False, take_over=True, now_ms=1450) == "taken_over"
    assert lease.previous.client == "a"
    assert lease.describe(1450) == {"client": "b", "user": "bob", "until_ms": 2450}
    assert lease.describe(2450) is None  # lapsed
    assert lease.claim("a", None, driving=False, take_over=False, now_ms=2500) is None
    assert lease.holder is None  # a stop on an idle robot claims nothing


# -- live state ----------------------------------------------------------------------------

def test_status_follows_every_motor_change(bot):
    bot.link.inject(TOPIC, command("forward", 0.5, 200, client="page-1"))
    wait_until(bot.moving, 1)
    moving = wait_until(lambda: [s for s in bot.link.messages(STATUS)
                                 if s["motors"]["left"] == 0.5], 1)[-1]
    assert moving["motors"]["right"] == 0.5 and moving["action"] == "forward"
    assert moving["driver"]["client"] == "page-1" and isinstance(moving["motors"]["t_ms"], int)
    assert {"online", "name", "version", "camera", "since_ms", "t_ms"} <= set(moving)
    stopped = wait_until(lambda: [s for s in bot.link.messages(STATUS)
                                  if s["t_ms"] > moving["t_ms"]
                                  and s["motors"]["left"] == 0], 2)[-1]
    assert stopped["action"] == "stop"
    # every status also went to the viewers' data channels
    assert any(b["state"]["motors"]["left"] == 0.5 for b in bot.camera.broadcasts)


def test_idle_heartbeat_keeps_the_report_fresh(bot):
    count = len(bot.link.messages(STATUS))
    wait_until(lambda: len(bot.link.messages(STATUS)) >= count + 2, 3)
    beats = bot.link.messages(STATUS)[-2:]
    assert beats[1]["t_ms"] - beats[0]["t_ms"] >= 400  # heartbeat_s = 0.5, not a flood


# -- analog --------------------------------------------------------------------------------

def test_analog_command_sets_each_wheel(bot):
    bot.link.inject(TOPIC, stamped({"action": "drive", "left": 0.4, "right": -0.2,
                                    "duration_ms": 300}))
    wait_until(bot.moving, 1)
    assert bot.pins() == {19: 0.0, 20: 0.4, 21: 0.2, 26: 0.0}
    assert bot.events()[0]["left"] == 0.4 and bot.events()[0]["right"] == -0.2
    wait_until(lambda: not bot.moving(), 1)  # the deadman holds for analog too


@pytest.mark.parametrize("body", [
    '{"action": "drive", "left": NaN, "right": 0.2}',
    '{"action": "drive", "left": Infinity, "right": 0.2}',
    {"action": "drive", "left": 1.5, "right": 0.2},
    {"action": "drive", "left": -1.01, "right": 0.2},
    {"action": "drive", "left": "0.5", "right": 0.2},
    {"action": "drive", "left": True, "right": 0.2},
    {"action": "drive", "left": None, "right": 0.2},
    {"action": "drive", "left": [0.5], "right": 0.2},
    {"action": "drive", "left": 0.5},
    {"action": "drive", "left": 0.5, "right": 0.5, "speed": 0.5},
    {"action": "forward", "left": 0.5},
    {"action": "drive", "left": 0.5, "right": 0.5, "take_over": "yes"},
])
def test_invalid_analog_moves_nothing_on_either_path(bot, body):
    text = body if isinstance(body, str) else json.dumps(body)
    bot.link.inject(TOPIC, json.dumps(stamped({})).replace("}", ", " + text[1:]).encode())
    bot.channel("viewer-1", text)
    wait_until(lambda: len(bot.events("rejected")) == 2, 1)
    assert {e["via"] for e in bot.events("rejected")} == {"mqtt", "channel"}
    # NaN and Infinity are not JSON: the one JSON guard refuses them before the schema does
    reason = "malformed" if isinstance(body, str) else "invalid"
    assert all(e["reason"] == reason for e in bot.events("rejected"))
    assert bot.replies("viewer-1")[-1]["reply"] == "rejected"
    time.sleep(0.05)
    assert not bot.moving() and bot.events() == []


# -- acceleration --------------------------------------------------------------------------

def test_acceleration_is_limited_at_every_step_and_stop_is_immediate(ramped):
    ramped.link.inject(TOPIC, command("forward", 1.0, 1000))
    wait_until(lambda: ramped.pins()[20] == 1.0, 2)
    steps = ramped.events()
    assert len(steps) >= 8  # 0 -> 1 at 4/s in 25 ms steps: about 10 steps, not one jump
    assert steps[0]["left"] == pytest.approx(0.1)  # the first step moves at once
    for before, after in zip(steps, steps[1:], strict=False):
        dt = max(after["t_ms"] - before["t_ms"], 1)
        assert after["left"] - before["left"] <= 4.0 * (min(dt, 25) + 1) / 1000 + 1e-9
    sent = time.monotonic()
    ramped.link.inject(TOPIC, command("stop"))
    wait_until(lambda: not ramped.moving(), 1)
    assert time.monotonic() - sent < 0.3
    assert ramped.events()[-1]["left"] == 0.0 and ramped.events()[-1]["cause"] == "command"


def test_reversal_brakes_at_once_then_ramps(ramped):
    ramped.link.inject(TOPIC, command("forward", 0.3, 1000))
    wait_until(lambda: ramped.pins()[20] == 0.3, 2)
    ramped.link.inject(TOPIC, command("backward", 0.3, 1000))
    wait_until(lambda: ramped.pins()[19] == 0.3, 2)
    lefts = [e["left"] for e in ramped.events()]
    reversal = lefts.index(0.3) + 1
    assert -0.1 <= lefts[reversal] < 0  # from +0.3 straight to the first (limited) step back
    assert lefts[reversal:] == sorted(lefts[reversal:], reverse=True)  # then only faster


# -- one driver at a time ------------------------------------------------------------------

def test_second_driver_is_refused_until_the_lease_lapses(bot):
    bot.link.inject(TOPIC, command("forward", 0.5, 200, client="page-a", user="ann"))
    wait_until(bot.moving, 1)
    bot.link.inject(TOPIC, command("left", 0.5, 200, client="page-b"))
    bot.channel("page-b", {"action": "right", "speed": 0.5})
    bot.channel("page-b", {"action": "stop"})  # not even a stop from someone else
    wait_until(lambda: len(bot.events("rejected")) == 3, 1)
    assert {e["reason"] for e in bot.events("rejected")} == {"busy"}
    assert "ann is driving" in bot.replies("page-b")[0]["detail"]
    assert all(e["left"] >= 0 and e["right"] >= 0 for e in bot.events())  # only forward ran
    lapsed = wait_until(lambda: [s for s in bot.link.messages(STATUS)
                                 if s["driver"] is None and s["t_ms"] > bot.events()[0]["t_ms"]],
                        2)[0]
    assert lapsed["t_ms"] - bot.events()[0]["t_ms"] >= 550  # lease_s = 0.6 after the last one
    bot.channel("page-b", {"action": "right", "speed": 0.5, "duration_ms": 200})
    wait_until(lambda: bot.pins()[21] == 0.5, 1)


def test_take_over_is_immediate_and_the_previous_driver_sees_it(bot):
    bot.channel("page-a", {"action": "forward", "speed": 0.5, "duration_ms": 1000})
    wait_until(bot.moving, 1)
    bot.channel("page-b", {"action": "stop", "take_over": True})
    wait_until(lambda: not bot.moving(), 1)
    lease = wait_until(lambda: bot.events("lease")[-1]
                       if bot.events("lease")[-1]["cause"] == "taken_over" else None, 1)
    assert lease["client"] == "page-b" and lease["previous"] == "page-a"
    state = wait_until(lambda: [b["state"] for b in bot.camera.broadcasts
                                if (b["state"]["driver"] or {}).get("client") == "page-b"], 1)
    assert state  # every viewer, page-a included, is told who drives now
    bot.channel("page-a", {"action": "forward", "speed": 0.5})
    wait_until(lambda: bot.replies("page-a")[-1]["reply"] == "rejected", 1)
    assert bot.replies("page-a")[-1]["reason"] == "busy" and not bot.moving()


def test_a_driver_whose_viewer_left_frees_the_lease(bot):
    bot.channel("page-a", {"action": "forward", "speed": 0.5, "duration_ms": 100})
    wait_until(lambda: bot.agent.lease.holder is not None, 1)
    bot.agent._loop.call_soon_threadsafe(bot.camera.on_viewer_gone, "page-a")
    wait_until(lambda: bot.agent.lease.holder is None, 1)
    bot.channel("page-b", {"action": "left", "speed": 0.5, "duration_ms": 200})
    wait_until(lambda: bot.pins()[19] == 0.5, 1)


# -- the data channel path -----------------------------------------------------------------

def test_channel_commands_are_stamped_and_take_the_same_path(bot):
    bot.channel("viewer-9", {"action": "forward", "speed": 0.4, "duration_ms": 200,
                             "client": "someone-else"})
    wait_until(bot.moving, 1)
    event = bot.events()[0]
    assert event["via"] == "channel" and event["id"].startswith("dc-")
    assert event["seq"] >= int(time.time() * 1000 - 5000) * 1000  # the API's seq scheme
    assert bot.agent.lease.holder.client == "viewer-9"  # the signaling id, not the body's
    assert bot.replies("viewer-9")[0]["reply"] == "applied"
    wait_until(lambda: not bot.moving(), 1)  # deadman
    for stamped in ({"seq": 10**18}, {"id": "mine"}, {"issued_ms": 0}, {"user": "root"}):
        bot.channel("viewer-9", {"action": "forward", **stamped})
    wait_until(lambda: len(bot.events("rejected")) == 4, 1)
    assert all("set by the robot" in e["detail"] for e in bot.events("rejected"))
    # an MQTT command issued after a channel command still runs (its seq is higher)
    bot.link.inject(TOPIC, command("left", 0.5, 200, seq=int(time.time() * 1000) * 1000 + 999,
                                   client="viewer-9"))
    wait_until(lambda: bot.pins()[19] == 0.5, 1)


def test_channel_commands_keep_working_without_the_broker(bot):
    bot.link.drop()
    bot.channel("viewer-1", {"action": "forward", "speed": 0.5, "duration_ms": 200})
    wait_until(bot.moving, 1)
    wait_until(lambda: not bot.moving(), 1)


def test_status_keeps_its_shape_with_no_camera_channel():
    running = RunningAgent(agent_config("mqtt://127.0.0.1:1"), link=MemoryLink()).start()
    try:
        status = running.link.messages(STATUS)[-1]
        assert status["drive_channel"] is False and status["driver"] is None
        assert {"driver", "left", "right", "simulated"} <= set(status["motors"])
    finally:
        running.stop()


def test_channel_message_is_handled_on_the_loop_without_blocking(bot):
    async def burst():
        for _ in range(50):
            bot.camera.on_drive("viewer-1", '{"action": "forward", "speed": 0.2}')
    asyncio.run_coroutine_threadsafe(burst(), bot.agent._loop).result(5)
    wait_until(lambda: len(bot.replies("viewer-1")) == 50, 2)
    assert all(r["reply"] == "applied" for r in bot.replies("viewer-1"))


def test_a_start_right_after_the_deadman_is_limited_too(ramped):
    ramped.link.inject(TOPIC, command("forward", 0.5, 1000))
    wait_until(lambda: ramped.pins()[20] == 0.5, 2)
    # the deadman fires, and a late command arrives just after it
    ramped.agent._loop.call_soon_threadsafe(ramped.agent._expire, "late")
    ramped.link.inject(TOPIC, command("forward", 0.5, 1000))

    def restarted():
        lefts = [e["left"] for e in ramped.events()]
        return 0.0 in lefts and lefts[-1] == 0.5 and lefts.index(0.0) < len(lefts) - 1

    wait_until(restarted, 2)
    events = ramped.events()
    stop = next(i for i, e in enumerate(events) if e["left"] == 0)
    restart = events[stop + 1]
    dt = restart["t_ms"] - events[stop]["t_ms"]
    assert restart["left"] <= 4.0 * (min(dt, 25) + 1) / 1000 + 1e-9, (events[stop], restart)
