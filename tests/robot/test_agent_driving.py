"""Driving as a user feels it: live status, analog commands, the acceleration limit, the
driver lease, and the data-channel path (mock pins, in-memory link; the data channel's own
transport is tested with real aiortc peers in test_drive_channel.py)."""

import asyncio
import json
import time

import pytest
from robot_agent.agent import CHANNEL_BURST, CHANNEL_RATE_PER_S
from robot_agent.lease import Driver, DriverLease
from robot_agent.motion import step, towards
from robot_agent.mqtt_link import MemoryLink

from testing.robot_harness import ChannelCamera, RunningAgent, agent_config, command, now_ms
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
    ann, bob = Driver("user:ann:a", "a", "ann", "Ann"), Driver("viewer:b", "b")
    lease = DriverLease(1000)
    assert lease.claim(ann, driving=True, take_over=False, now_ms=0) == "granted"
    assert lease.claim(ann, driving=True, take_over=False, now_ms=500) is None  # renewed
    with pytest.raises(ValueError, match="Ann is driving"):
        lease.claim(bob, driving=True, take_over=False, now_ms=1400)
    assert lease.claim(bob, driving=False, take_over=False, now_ms=1400) is None  # a stop
    assert lease.holder.driver == ann  # passes, takes nothing
    assert lease.claim(ann, driving=False, take_over=False, now_ms=1450) is None
    assert lease.describe(1450)["until_ms"] == 1500  # nor renews: stops cannot hold it
    assert lease.claim(bob, driving=False, take_over=True, now_ms=1450) == "taken_over"
    assert lease.previous.driver == ann
    assert lease.describe(1450) == {"client": "b", "user": None, "name": "b",
                                    "until_ms": 2450}
    assert lease.describe(2450) is None  # lapsed


def test_the_lease_is_the_signed_in_users_not_the_body_client():
    """Any signed-in user drove inside someone else's lease by sending the driver's
    ``client`` id (the status shows it)."""
    lease = DriverLease(1000)
    ann = Driver("user:ann:page-a", "page-a", "ann")
    assert lease.claim(ann, driving=True, take_over=False, now_ms=0) == "granted"
    for impostor in (Driver("user:mallory:page-a", "page-a", "mallory"),
                     Driver("viewer:page-a", "page-a")):  # a channel is a viewer, not ann
        with pytest.raises(ValueError, match="busy|ann is driving"):
            lease.claim(impostor, driving=True, take_over=False, now_ms=10)


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
    sent = time.monotonic()
    ramped.link.inject(TOPIC, command("stop"))
    wait_until(lambda: not ramped.moving(), 1)
    assert time.monotonic() - sent < 0.3
    # the steps reach MQTT together (robot_agent.report), the stop at once with them
    steps = wait_until(lambda: ramped.events() if ramped.events()[-1]["left"] == 0.0 else None, 1)
    assert steps[-1]["cause"] == "command"
    steps = steps[:-1]
    assert len(steps) >= 8 and steps[-1]["left"] == 1.0  # 0 -> 1 at 4/s in 25 ms steps
    assert steps[0]["left"] == pytest.approx(0.1)  # the first step moves at once
    for before, after in zip(steps, steps[1:], strict=False):
        dt = max(after["t_ms"] - before["t_ms"], 1)
        assert after["left"] - before["left"] <= 4.0 * (min(dt, 25) + 1) / 1000 + 1e-9


def test_reversal_brakes_at_once_then_ramps(ramped):
    ramped.link.inject(TOPIC, command("forward", 0.3, 1000))
    wait_until(lambda: ramped.pins()[20] == 0.3, 2)
    ramped.link.inject(TOPIC, command("backward", 0.3, 1000))
    wait_until(lambda: ramped.pins()[19] == 0.3, 2)
    lefts = wait_until(lambda: [e["left"] for e in ramped.events()]
                       if ramped.events()[-1]["left"] == -0.3 else None, 2)
    reversal = lefts.index(0.3) + 1
    assert -0.1 <= lefts[reversal] < 0  # from +0.3 straight to the first (limited) step back
    assert lefts[reversal:] == sorted(lefts[reversal:], reverse=True)  # then only faster


# -- one driver at a time ------------------------------------------------------------------

def test_second_driver_is_refused_until_the_lease_lapses(bot):
    bot.link.inject(TOPIC, command("forward", 0.5, 200, client="page-a", user="ann"))
    wait_until(bot.moving, 1)
    bot.link.inject(TOPIC, command("left", 0.5, 200, client="page-a", user="mallory"))
    bot.channel("page-b", {"action": "right", "speed": 0.5})
    wait_until(lambda: len(bot.events("rejected")) == 2, 1)
    assert {e["reason"] for e in bot.events("rejected")} == {"busy"}
    assert "ann is driving" in bot.replies("page-b")[0]["detail"]
    assert all(e["left"] >= 0 and e["right"] >= 0 for e in bot.events())  # only forward ran
    lapsed = wait_until(lambda: [s for s in bot.link.messages(STATUS)
                                 if s["driver"] is None and s["t_ms"] > bot.events()[0]["t_ms"]],
                        2)[0]
    assert lapsed["t_ms"] - bot.events()[0]["t_ms"] >= 550  # lease_s = 0.6 after the last one
    bot.channel("page-b", {"action": "right", "speed": 0.5, "duration_ms": 200})
    wait_until(lambda: bot.pins()[21] == 0.5, 1)


def test_anyone_may_stop_the_robot_and_it_says_who(bot):
    """A second viewer's stop was refused (busy) while someone else drove."""
    bot.link.inject(TOPIC, command("forward", 0.5, 1000, client="page-a", user="ann",
                                   user_name="Ann"))
    wait_until(bot.moving, 1)
    bot.channel("page-b", {"action": "stop"})
    wait_until(lambda: not bot.moving(), 0.3)  # well before the 1 s command ran out
    assert bot.replies("page-b")[-1]["reply"] == "applied"
    status = wait_until(lambda: [s for s in bot.link.messages(STATUS) if s["last_stop"]], 1)[-1]
    assert status["last_stop"]["client"] == "page-b" and status["last_stop"]["via"] == "channel"
    assert status["driver"]["user"] == "ann" and status["driver"]["name"] == "Ann"
    assert not bot.events("rejected")


def test_the_lease_cannot_be_held_with_stops_alone(bot):
    bot.channel("page-a", {"action": "forward", "speed": 0.5, "duration_ms": 100})
    wait_until(lambda: bot.agent.lease.holder is not None, 1)
    started = time.monotonic()
    while time.monotonic() - started < 0.8:  # stops only, past the 0.6 s lease
        bot.channel("page-a", {"action": "stop"})
        time.sleep(0.05)
    bot.channel("page-b", {"action": "left", "speed": 0.5, "duration_ms": 200})
    wait_until(lambda: bot.pins()[19] == 0.5, 1)


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


def test_a_driver_whose_connection_closes_stops_at_once(bot):
    """The motors ran on to the deadman (0.9 s) when the driver's connection closed."""
    bot.channel("page-a", {"action": "forward", "speed": 0.5, "duration_ms": 1000})
    wait_until(bot.moving, 1)
    gone = time.monotonic()
    bot.agent._loop.call_soon_threadsafe(bot.camera.on_viewer_gone, "page-a")
    wait_until(lambda: not bot.moving(), 1, step=0.001)
    assert time.monotonic() - gone < 0.5
    assert bot.events()[-1]["cause"] == "driver left"
    # someone else leaving changes nothing
    bot.channel("page-b", {"action": "forward", "speed": 0.5, "duration_ms": 1000})
    wait_until(lambda: bot.replies("page-b"), 1)
    bot.agent._loop.call_soon_threadsafe(bot.camera.on_viewer_gone, "page-a")
    bot.channel("page-b", {"action": "stop"})
    wait_until(lambda: len(bot.replies("page-b")) == 2 and not bot.moving(), 1)
    assert [e["cause"] for e in bot.events()].count("driver left") == 1


def next_seq(bot) -> int:
    """An HTTP command's seq as the API stamps it, above all the robot applied (the data
    channel's arrival stamps too): two in one millisecond are judged, not refused as replays."""
    return max(now_ms() * 1000 + 999, (bot.agent.gate.last_seq or 0) + 1)


def test_a_page_falls_back_from_its_channel_to_http_without_a_gap(bot):
    """A viewer signaling did not name (KVS names the ClientId alone) is a driver of its own:
    its page's first HTTP command can arrive before the channel's close: held back, not busy."""
    bot.channel("page-a", {"action": "forward", "speed": 0.5, "duration_ms": 300})
    wait_until(bot.moving, 1)
    bot.link.inject(TOPIC, command("forward", 0.5, 300, client="page-a", user="ann",
                                   seq=next_seq(bot)))
    bot.agent._loop.call_soon_threadsafe(bot.camera.on_drive_closed, "page-a")
    wait_until(lambda: bot.agent.lease.holder and bot.agent.lease.holder.driver.user == "ann",
               1)
    assert bot.agent.applied == 2 and bot.moving()
    assert [e["cause"] for e in bot.events()] == ["command"]  # the same speed: never stopped
    assert not bot.events("rejected")
    # someone else naming that viewer while its channel stays open: busy, a moment later
    bot.channel("page-b", {"action": "forward", "speed": 0.5, "duration_ms": 300,
                           "take_over": True})
    wait_until(lambda: bot.agent.lease.holder.driver.client == "page-b", 1)
    bot.link.inject(TOPIC, command("left", 0.5, 300, client="page-b", user="mallory",
                                   seq=next_seq(bot)))
    refused = wait_until(lambda: bot.events("rejected"), 2)[0]
    assert refused["reason"] == "busy" and bot.pins()[19] == 0


def test_a_named_page_is_one_driver_on_its_channel_and_over_http(bot):
    """A page's channel (a viewer) and its HTTP commands (its user) were two drivers: falling
    back mid-drive hung on handing the lease over before the channel's close was seen."""
    bot.camera.users.update({"page-a": "ann", "page-b": "bob"})  # as the local relay names them
    bot.channel("page-a", {"action": "forward", "speed": 0.5, "duration_ms": 300})
    wait_until(bot.moving, 1)
    # the page's HTTP command, its channel still open: the same driver, applied at once
    bot.link.inject(TOPIC, command("left", 0.5, 300, client="page-a", user="ann",
                                   seq=next_seq(bot)))
    wait_until(lambda: bot.pins()[19] == 0.5, 1)
    assert [e["cause"] for e in bot.events("lease")] == ["granted"]  # one driver throughout
    driver = bot.agent.lease.holder.driver
    assert (driver.user, driver.client) == ("ann", "page-a")
    # another user naming that page over HTTP, another person's page: busy, at once
    bot.link.inject(TOPIC, command("right", 0.5, 300, client="page-a", user="mallory",
                                   seq=next_seq(bot)))
    bot.channel("page-b", {"action": "right", "speed": 0.5, "duration_ms": 300})
    wait_until(lambda: len(bot.events("rejected")) == 2, 1)
    assert {(e["via"], e["reason"]) for e in bot.events("rejected")} == {
        ("mqtt", "busy"), ("channel", "busy")}
    assert bot.pins()[21] == 0  # no "right" ran
    # and anyone's stop stops it
    bot.channel("page-b", {"action": "stop"})
    wait_until(lambda: not bot.moving(), 1)
    assert bot.replies("page-b")[-1]["reply"] == "applied"


def close_mid_command(bot, viewer: str, duration_ms: int, after_s: float):
    """On the agent's loop: a channel command from ``viewer``, its channel closed ``after_s``
    later; returns when it arrived and closed (loop time, and wall ms) and when its deadman is
    now due."""
    async def scenario():
        loop = asyncio.get_running_loop()
        bot.camera.on_drive(viewer, json.dumps({"action": "forward", "speed": 0.5,
                                                "duration_ms": duration_ms}))
        arrived = loop.time()
        await asyncio.sleep(after_s)  # the page's close comes this long after its command
        closed, closed_ms = loop.time(), bot.agent.clock_ms()
        bot.camera.on_drive_closed(viewer)
        return arrived, closed, closed_ms, bot.agent._deadman.when()

    return asyncio.run_coroutine_threadsafe(scenario(), bot.agent._loop).result(5)


def test_a_closing_channel_hands_its_last_command_over_to_http(bot):
    """The motors stopped when the page's first HTTP command reached the robot later than its
    last channel command had left to run (220-390 ms after the close on a loaded machine, with
    150-300 ms left): the close is the driver's last word on that path."""
    bot.camera.users["page-a"] = "ann"
    arrived, closed, closed_ms, due = close_mid_command(bot, "page-a", 300, 0.1)
    assert due >= closed + 0.3 - 1e-6  # counted from the close, not from the command
    assert bot.agent.lease.holder.driver.user == "ann"  # the page still drives
    # with no HTTP command after all, the deadman stops the motors, not before it is due
    at, stop = wait_until(lambda: next(((bot.agent.clock_ms(), e) for e in bot.events()
                                        if e["left"] == 0), None), 2, step=0.005)
    assert stop["cause"] == "deadman" and stop["t_ms"] - closed_ms >= 300 - 2
    # never beyond the longest command after its own arrival
    arrived, closed, _, due = close_mid_command(bot, "page-a", 1000, 0.05)
    assert due <= arrived + 1.0 + 1e-6 < closed + 1.0
    # the page's HTTP command takes over with the motors still running
    stops = [e for e in bot.events() if e["left"] == 0]
    bot.link.inject(TOPIC, command("forward", 0.5, 300, client="page-a", user="ann",
                                   seq=next_seq(bot)))
    wait_until(lambda: bot.agent.applied == 3, 1)
    assert bot.moving() and [e for e in bot.events() if e["left"] == 0] == stops
    bot.agent._loop.call_soon_threadsafe(bot.camera.on_viewer_gone, "page-a")
    wait_until(lambda: bot.agent.lease.holder is None, 1)  # the page left: its lease is free


# -- the data channel path -----------------------------------------------------------------

def test_channel_commands_are_stamped_and_take_the_same_path(bot):
    bot.channel("viewer-9", {"action": "forward", "speed": 0.4, "duration_ms": 200,
                             "client": "someone-else"})
    wait_until(bot.moving, 1)
    event = bot.events()[0]
    assert event["via"] == "channel" and event["id"].startswith("dc-")
    assert event["seq"] >= int(time.time() * 1000 - 5000) * 1000  # the API's seq scheme
    assert bot.agent.lease.holder.driver.client == "viewer-9"  # the signaling id, not the body's
    assert bot.replies("viewer-9")[0]["reply"] == "applied"
    wait_until(lambda: not bot.moving(), 1)  # deadman
    for stamped in ({"seq": 10**18}, {"id": "mine"}, {"issued_ms": 0}, {"user": "root"}):
        bot.channel("viewer-9", {"action": "forward", **stamped})
    wait_until(lambda: len(bot.events("rejected")) == 4, 1)
    assert all("set by the robot" in e["detail"] for e in bot.events("rejected"))
    # an MQTT command issued after a channel command still runs (its seq is higher), once
    # the viewer has left: the API's user is another driver than the viewer's channel
    bot.agent._loop.call_soon_threadsafe(bot.camera.on_viewer_gone, "viewer-9")
    wait_until(lambda: bot.agent.lease.holder is None, 1)
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


def test_a_flood_on_the_data_channel_is_cut_to_a_joysticks_rate(bot):
    """3,000 messages in 0.3 s made 2,100-2,700 MQTT messages and a 327 ms round trip."""
    async def flood():
        for _ in range(3000):
            bot.camera.on_drive("viewer-1", '{"action": "forward", "speed": 0.2}')
        bot.camera.on_drive("viewer-1", '{"action": "stop"}')  # a stop always passes
    published = len(bot.link.published)
    started = time.monotonic()
    asyncio.run_coroutine_threadsafe(flood(), bot.agent._loop).result(5)
    elapsed = time.monotonic() - started
    wait_until(lambda: bot.replies("viewer-1") and bot.replies("viewer-1")[-1]["reply"]
               == "applied" and not bot.moving(), 2)
    allowed = CHANNEL_BURST + CHANNEL_RATE_PER_S * elapsed + 1  # + the stop
    assert len(bot.replies("viewer-1")) <= allowed
    assert len(bot.link.published) - published <= 3 * allowed  # status + telemetry each
    assert bot.agent.rate_dropped >= 3000 - allowed


def test_a_start_right_after_the_deadman_is_limited_too(ramped):
    ramped.link.inject(TOPIC, command("forward", 0.5, 1000))
    wait_until(lambda: ramped.pins()[20] == 0.5, 2)
    # the deadman fires, and a late command arrives just after it
    ramped.agent._loop.call_soon_threadsafe(ramped.agent._expire, "late")
    ramped.link.inject(TOPIC, command("forward", 0.5, 1000))

    def restarted():
        lefts = [e["left"] for e in ramped.events()]
        return 0.0 in lefts and 0.5 in lefts[lefts.index(0.0):]

    wait_until(restarted, 2)
    events = ramped.events()
    stop = next(i for i, e in enumerate(events) if e["left"] == 0)
    restart = events[stop + 1]
    dt = restart["t_ms"] - events[stop]["t_ms"]
    assert restart["left"] <= 4.0 * (min(dt, 25) + 1) / 1000 + 1e-9, (events[stop], restart)
