"""Driving as if there: the live readout, the data channel and its HTTP fallback, joystick
and gamepad, one driver at a time, and invalid analog commands, in chromium against the
real stack (one stack and one browser for the module)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from testing.browser import ROBOT, Telemetry, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

CHANNEL_OPEN = "() => robotPage.viewer.channel !== null && robotPage.viewer.channel.open"
# Every change of the Motors readout, with the wall-clock time the page made it.
READOUT_LOG = """
window.__posts = [];  // and when each POST .../cmd left
const realFetch = window.fetch;
window.fetch = function (url, options) {
  if (options && options.method === "POST" && String(url).endsWith("/cmd")) {
    window.__posts.push(Date.now());
  }
  return realFetch.apply(this, arguments);
};
window.__readout = [];
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("status-motors");
  new MutationObserver(() => window.__readout.push(
    [performance.timeOrigin + performance.now(), el.textContent])).observe(
    el, {childList: true, characterData: true, subtree: true});
});
"""
GAMEPAD = """
window.__pad = {id: "Test pad (STANDARD GAMEPAD Vendor: 0000 Product: 0000)", index: 0,
  connected: true, mapping: "standard", timestamp: 0, axes: [0, 0, 0, 0],
  buttons: Array.from({length: 17}, () => ({pressed: false, touched: false, value: 0}))};
navigator.getGamepads = () => [window.__pad, null, null, null];
"""


class Events(Telemetry):
    """Every telemetry event (motors, rejected, lease), with its arrival time."""

    def wanted(self, event: dict) -> bool:
        return True

    def motors(self, since: float) -> list[dict]:
        return [e for _, e in self.since(since) if e["event"] == "motors"]

    def of(self, kind: str, since: float) -> list[dict]:
        return [e for _, e in self.since(since) if e["event"] == kind]

    def after(self, event: dict) -> list[dict]:
        """What the robot reported after ``event``, in its order (one batch shares an
        arrival time, so arrival times cannot tell what came first)."""
        with self.lock:
            index = next(i for i, (_, e) in enumerate(self.events) if e is event)
            return [e for _, e in self.events[index + 1:]]


@pytest.fixture(scope="module")
def events(stack):
    watcher = Events(stack.mqtt_url_as("observer"))
    yield watcher
    watcher.close()


def readout(left: float, right: float) -> str:
    return f"L {left:.2f} · R {right:.2f}"


class Commands:
    """The page's POST /robot/{name}/cmd requests, counted in the page as they are made
    (``window.__posts``, see READOUT_LOG)."""

    def __init__(self, page) -> None:
        self.page = page

    def since(self, t: float) -> int:
        """How many since ``t`` (``time.monotonic()``)."""
        wall_ms = (time.time() - (time.monotonic() - t)) * 1000
        return sum(1 for at in self.page.evaluate("window.__posts") if at >= wall_ms - 1)


def open_page(browser, stack, *scripts: str, nickname: str = ""):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    for script in (READOUT_LOG, *scripts):
        context.add_init_script(script)
    page = context.new_page()
    sign_in(page, stack, nickname=nickname)
    page.wait_for_function(CHANNEL_OPEN, timeout=20000)
    return context, page


@pytest.fixture(scope="module")
def driving(browser, stack):
    """One signed-in page with its drive channel open, shared by the tests in order (a new
    page costs seconds); a test that disturbs it puts it back."""
    context, page = open_page(browser, stack, GAMEPAD)
    yield page
    context.close()


@pytest.fixture
def shared(driving):
    """The shared page, stopped and showing it, with its channel open."""
    driving.wait_for_function(CHANNEL_OPEN, timeout=20000)
    driving.wait_for_function(f"() => document.getElementById('status-motors').textContent"
                              f" === {json.dumps(readout(0, 0))}")
    errors: list[str] = []
    driving.on("pageerror", lambda e: errors.append(str(e)))
    yield driving
    driving.mouse.up()  # a test that failed mid-drag must not drive on into the next one
    assert not errors, f"JavaScript errors on the page: {errors}"


def seen_at(page, text: str, after_ms: float) -> float | None:
    """When the readout first showed ``text`` at or after ``after_ms`` (wall clock, ms)."""
    for at, shown in page.evaluate("window.__readout"):
        if at >= after_ms and shown == text:
            return at
    return None


def test_readout_follows_a_held_key_within_200_ms_over_the_channel(shared, events):
    page = shared
    commands = Commands(page)
    t0 = time.monotonic()
    page.keyboard.down("ArrowUp")
    _, full = events.wait_for(lambda e: e.get("left") == e.get("right") == 0.5, t0)
    time.sleep(0.4)
    page.keyboard.up("ArrowUp")
    _, stop = events.wait_for(lambda e: e.get("event") == "motors" and e["left"] == 0
                              and e["right"] == 0, t0)
    page.wait_for_function(f"() => document.getElementById('status-motors').textContent"
                           f" === {json.dumps(readout(0, 0))}")
    steps = events.motors(t0)
    assert all(e["via"] == "channel" for e in steps if e["cause"] in ("command", "ramp"))
    assert commands.since(t0) == 0, "commands went over HTTP while the channel was up"
    for event in steps:  # every motor state, ramp steps included, reached the page
        at = seen_at(page, readout(event["left"], event["right"]), event["t_ms"] - 1)
        assert at is not None and at - event["t_ms"] <= 200, (event, at)
    assert seen_at(page, readout(0, 0), stop["t_ms"] - 1) - stop["t_ms"] <= 200
    assert page.inner_text("#status-link").startswith("peer to peer")
    assert "data channel" in page.inner_text("#status-rtt")
    assert page.inner_text("#status-driver") == "you"
    assert full["cause"] == "ramp"  # the acceleration limit: 0.5 is reached in steps


def test_channel_closed_mid_drive_falls_back_to_http_without_a_gap(shared, events):
    page = shared
    try:
        commands = Commands(page)
        t0 = time.monotonic()
        page.keyboard.down("ArrowUp")
        events.wait_for(lambda e: e.get("left") == e.get("right") == 0.5, t0)
        assert commands.since(t0) == 0
        closed = time.monotonic()
        closed_ms = page.evaluate("robotPage.viewer.channel.close(); Date.now()")
        page.wait_for_function(f"() => window.__posts.some((at) => at >= {closed_ms})")
        first_post = page.evaluate(f"window.__posts.find((at) => at >= {closed_ms})")
        # before the deadman (duration_ms 500) could end the last command sent on the channel
        assert first_post - closed_ms < 250
        time.sleep(0.6)  # several commands' durations: only HTTP keeps it going now
        assert commands.since(closed) >= 4
        assert not [e for e in events.motors(t0) if e["left"] == 0], "a gap stopped the robot"
        assert page.inner_text("#status-link").startswith("HTTP")
        # the readout keeps up by polling the status API
        assert page.inner_text("#status-motors") == readout(0.5, 0.5)
        # a page that stops sending (its network gone) cannot run the robot away
        page.route("**/cmd", lambda route: route.abort())
        cut = time.monotonic()
        at, event = events.wait_for(lambda e: e.get("event") == "motors" and e["left"] == 0,
                                    cut, timeout=3)
        assert event["cause"] == "deadman" and at - cut < 1.0  # 500 ms duration, then delivery
        page.keyboard.up("ArrowUp")
    finally:
        page.unroute("**/cmd")
        page.evaluate("robotPage.viewer.start(robotPage.state.robot)")  # a new channel


def near(left: float, right: float, tolerance: float = 0.02):
    """An event whose wheels are within ``tolerance`` of these (a pixel is 1/72 of the stick)."""
    return lambda e: (e.get("event") == "motors" and abs(e["left"] - left) <= tolerance
                      and abs(e["right"] - right) <= tolerance)


def test_joystick_drag_gives_proportional_wheel_speeds(shared, events):
    page = shared
    page.locator("#joystick").hover()  # its centre now: a status line may have moved it
    t0 = time.monotonic()
    page.mouse.down()
    # offsets from the centre the stick took at the press, as a finger's would be
    origin = page.evaluate("robotPage.joystick.origin")
    cx, cy, r = origin["x"], origin["y"], origin["radius"]
    page.mouse.move(cx, cy - r / 2, steps=4)  # half way forward: half the top speed 0.5
    events.wait_for(near(0.25, 0.25), t0)
    t1 = time.monotonic()
    page.mouse.move(cx, cy - r, steps=4)  # all the way: the top speed
    events.wait_for(near(0.5, 0.5, 0.005), t1)
    t2 = time.monotonic()
    page.mouse.move(cx + r / 2, cy, steps=4)  # half right: spin on the spot
    events.wait_for(near(0.25, -0.25), t2)
    assert all(e["via"] == "channel" for e in events.motors(t0)
               if e["cause"] != "deadman")
    t3 = time.monotonic()
    page.mouse.up()
    at, _ = events.wait_for(near(0, 0, 0), t3)
    assert at - t3 < 0.5
    assert [e for e in events.motors(t0) if e["cause"] == "deadman"] == []


def test_gamepad_left_stick_drives_and_b_stops(shared, events):
    page = shared
    try:
        page.wait_for_function("() => document.getElementById('gamepad').textContent"
                               ".includes('Test pad')")
        t0 = time.monotonic()
        page.evaluate("window.__pad.axes = [0, -0.6, 0, 0]")  # up is negative
        events.wait_for(near(0.3, 0.3, 0), t0)
        t1 = time.monotonic()
        page.evaluate("window.__pad.axes = [0.4, 0, 0, 0]")
        events.wait_for(near(0.2, -0.2, 0), t1)
        t2 = time.monotonic()
        page.evaluate("window.__pad.buttons[1] = {pressed: true, touched: true, value: 1}")
        at, _ = events.wait_for(lambda e: e.get("event") == "motors" and e["left"] == 0
                                and e["right"] == 0, t2)
        assert at - t2 < 0.5
        time.sleep(0.3)  # the stick is still off centre: B keeps it stopped
        assert not [e for e in events.motors(at) if e["left"] or e["right"]]
    finally:
        page.evaluate("window.__pad.axes = [0, 0, 0, 0]; "
                      "window.__pad.buttons[1] = {pressed: false, touched: false, value: 0}")


def test_one_driver_at_a_time_with_lease_and_take_over(shared, browser, stack, events):
    first = shared
    context_b, second = open_page(browser, stack, nickname="Sam")  # asked once, kept
    try:
        me_a = first.evaluate("robotPage.viewer.clientId")
        me_b = second.evaluate("robotPage.viewer.clientId")
        t0 = time.monotonic()
        first.keyboard.down("ArrowUp")
        events.wait_for(lambda e: e.get("left") == e.get("right") == 0.5, t0)
        second.wait_for_function(f"() => document.getElementById('status-driver').textContent"
                                 f" === {json.dumps(me_a)}")
        assert second.is_visible("#take-over")
        t1 = time.monotonic()
        second.keyboard.down("ArrowLeft")
        events.wait_for(lambda e: e.get("event") == "rejected" and e["reason"] == "busy", t1)
        second.wait_for_function("() => document.getElementById('message').textContent"
                                 ".includes('is driving')")
        time.sleep(0.3)
        second.keyboard.up("ArrowLeft")
        assert not [e for e in events.motors(t1) if e["left"] < 0], "the second page drove"
        released = time.monotonic()
        first.keyboard.up("ArrowUp")
        # the lease lapses 3 s after the first driver's last command; the second page sees it
        second.wait_for_function("() => document.getElementById('status-driver').textContent"
                                 " === 'nobody'", timeout=10000)
        assert time.monotonic() - released >= 2.5
        t2 = time.monotonic()
        second.keyboard.down("ArrowLeft")
        events.wait_for(lambda e: e.get("left") == -0.5 and e.get("right") == 0.5, t2)
        # the other person is shown by the name their page asked for
        first.wait_for_function("() => document.getElementById('status-driver').textContent"
                                " === 'Sam'")
        first.keyboard.press("ArrowDown")  # refused: the message names who drives
        first.wait_for_function("() => document.getElementById('message').textContent"
                                " === 'Sam is driving; take over, or wait.'")
        # the first page takes over at once; the second sees it happen and stops sending
        t3 = time.monotonic()
        first.click("#take-over")
        at, lease = events.wait_for(lambda e: e.get("event") == "lease"
                                    and e["cause"] == "taken_over", t3)
        assert at - t3 < 0.5  # and its stop with it (one report)
        assert (lease["client"], lease["previous"]) == (me_a, me_b)
        second.wait_for_function("() => document.getElementById('message').textContent"
                                 ".includes('took over')")
        assert second.inner_text("#status-driver") == me_a
        # the new driver's page no longer says someone else drives
        first.wait_for_function("() => document.getElementById('message').hidden")
        assert first.inner_text("#status-driver") == "you"
        time.sleep(0.4)  # ArrowLeft is still down on the second page: nothing of it runs
        # and the robot stands still (counted from the lease change: under load a late repeat
        # of the second page can let the deadman stop the robot before the take-over comes)
        assert not [e for e in events.after(lease) if e["event"] == "motors" and e["left"] < 0]
        assert [(e["left"], e["right"]) for e in events.motors(0)][-1] == (0, 0)
        second.keyboard.up("ArrowLeft")
        t4 = time.monotonic()
        first.keyboard.down("ArrowUp")
        events.wait_for(lambda e: e.get("left") == e.get("right") == 0.5, t4)
        first.keyboard.up("ArrowUp")
    finally:
        context_b.close()


def test_a_lease_held_by_another_tab_of_this_browser_reads_you_other_tab(shared, stack,
                                                                         events):
    other = shared.context.new_page()  # shares the browser's storage, as a tab does
    try:
        sign_in(other, stack)
        # the shared page (in the background now) takes the lease with one short command
        sent = time.monotonic()
        shared.evaluate("robotPage.viewer.channel.send({action: 'forward', speed: 0.1, "
                        "duration_ms: 100, client: robotPage.viewer.clientId})")
        other.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # read now
        other.wait_for_function("() => document.getElementById('status-driver').textContent"
                                " === 'you (other tab)'", timeout=5000)
        assert other.get_attribute("#status-driver", "data-holder") == "mine"
        # its deadman stop reported (drive steps are reported together, a moment later): the
        # next test counts the robot's motor events from a standstill
        events.wait_for(lambda e: e["event"] == "motors" and e["left"] == 0, sent)
    finally:
        other.close()
        shared.bring_to_front()


INVALID = ['{"action": "drive", "left": NaN, "right": 0}',
           '{"action": "drive", "left": 2, "right": 0}',
           '{"action": "drive", "left": -1.5, "right": -1.5}',
           '{"action": "drive", "left": "0.5", "right": 0.5}',
           '{"action": "drive", "left": true, "right": 0.5}',
           '{"action": "drive", "left": 0.5}',
           '{"action": "drive", "left": 0.5, "right": 0.5, "speed": 1}']


def test_invalid_analog_commands_move_nothing_on_either_path(shared, stack, events):
    page = shared
    t0 = time.monotonic()
    for text in INVALID:
        page.evaluate("(text) => robotPage.viewer.channel.dc.send(text)", text)
    for text in INVALID:
        request = urllib.request.Request(
            stack.url(f"/robot/{ROBOT}/cmd"), data=text.encode(), method="POST",
            headers={"Authorization": f"Bearer {stack.token}",
                     "Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 400, text
    rejected = [e for e in events.of("rejected", t0) if e["via"] == "channel"]
    deadline = time.monotonic() + 5
    while len(rejected) < len(INVALID) and time.monotonic() < deadline:
        time.sleep(0.02)
        rejected = [e for e in events.of("rejected", t0) if e["via"] == "channel"]
    # NaN is not JSON: the robot's JSON guard refuses it before the schema sees it
    assert [e["reason"] for e in rejected] == ["malformed"] + ["invalid"] * (len(INVALID) - 1)
    time.sleep(0.2)
    assert events.motors(t0) == []
    assert page.inner_text("#status-motors") == readout(0, 0)
