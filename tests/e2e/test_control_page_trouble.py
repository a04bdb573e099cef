"""The control page when things go wrong, with several viewers, on a phone, and by keyboard."""

from __future__ import annotations

import time
from urllib.parse import urlparse

import pytest

from testing.browser import PUPPET, ROBOT, SHOTS, publish_status, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(180)]

ONLINE = "() => document.getElementById('status').dataset.online === 'true'"
OFFLINE = "() => document.getElementById('status').dataset.online === 'false'"
PLAYING = ("() => { const v = document.getElementById('video'); "
           "return v.readyState >= 2 && v.videoWidth > 0 && v.currentTime > 0.5; }")


def moving(event) -> bool:
    return event["left"] > 0 and event["right"] > 0


def stopped(event) -> bool:
    return event["left"] == 0 and event["right"] == 0


class Calls:
    """The page's requests to the robot API and the relay, with the time each was sent."""

    def __init__(self, page) -> None:
        self.seen: list[tuple[float, str, str]] = []
        page.on("request", lambda r: self.seen.append(
            (time.monotonic(), r.method, urlparse(r.url).path)))
        page.on("websocket", lambda ws: self.seen.append(
            (time.monotonic(), "WS", urlparse(ws.url).path)))

    def since(self, t: float, path_part: str = "/robot/") -> list[tuple[str, str]]:
        return [(m, p) for at, m, p in self.seen
                if at >= t and (path_part in p or m == "WS" and path_part == "WS")]


def expect_signed_out(page, message: str = "session has expired") -> str:
    page.wait_for_selector("#sign-in:not([hidden])", timeout=5000)
    assert page.is_hidden("#console")
    text = page.inner_text("#message")
    assert message in text.lower() and "sign in again" in text.lower(), text
    return text


# -- two viewers (first: no earlier viewer of this module's robot may still be counted) ------

def test_two_viewers_both_play_and_the_robot_counts_two(browser, stack):
    contexts = [browser.new_context(viewport={"width": 900, "height": 650}) for _ in range(2)]
    try:
        pages = [c.new_page() for c in contexts]
        for page in pages:
            sign_in(page, stack)
        for page in pages:
            page.wait_for_function(PLAYING, timeout=15000)
        before = [page.evaluate("document.getElementById('video').currentTime")
                  for page in pages]
        for page, start in zip(pages, before, strict=True):  # both keep playing
            page.wait_for_function("start => document.getElementById('video').currentTime"
                                   " > start + 0.5", arg=start, timeout=15000)
        for page in pages:
            page.wait_for_function("() => document.getElementById('status-camera').textContent"
                                   ".includes('2 watching')", timeout=10000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        pages[1].screenshot(path=str(SHOTS / "two-viewers.png"))
    finally:
        for context in contexts:
            context.close()


# -- expired session ---------------------------------------------------------------------------

def test_an_old_token_kept_by_the_tab_is_an_expired_session(page, stack, telemetry):
    # a session the API took yesterday (the page marks it accepted), whose token changed since
    page.add_init_script("sessionStorage.setItem('robot-session', "
                         "JSON.stringify({token: 'yesterdays-token', accepted: true}))")
    calls = Calls(page)
    page.goto(f"{stack.base_url}/")
    text = expect_signed_out(page)
    settled = time.monotonic()
    t0 = time.monotonic()
    page.keyboard.down("ArrowUp")  # no driving while signed out
    time.sleep(2.5)  # longer than one status poll and the first video retry
    page.keyboard.up("ArrowUp")
    assert calls.since(settled) == [], "the signed-out page still calls the API"
    assert calls.since(settled, "WS") == [], "the signed-out page still opens the video relay"
    assert page.inner_text("#message") == text  # the explanation stays put
    assert not [e for _, e in telemetry.since(t0) if moving(e)]
    page.fill("#token", stack.token)  # and signing in again works
    page.click("#token-form button[type=submit]")
    page.wait_for_function(ONLINE)
    assert page.is_hidden("#message")


def test_a_token_refused_mid_drive_stops_driving_and_asks_to_sign_in(page, stack, telemetry):
    sign_in(page, stack)
    page.wait_for_function(ONLINE)
    calls = Calls(page)
    page.evaluate("sessionStorage.setItem('robot-session', "
                  "JSON.stringify({token: 'revoked', accepted: true}))")
    page.locator("[data-action=forward]").hover()
    t0 = time.monotonic()
    page.mouse.down()
    expect_signed_out(page)
    settled = time.monotonic()
    time.sleep(2.5)
    page.mouse.up()
    assert calls.since(settled) == [], "the signed-out page still calls the API"
    assert "session has expired" in page.inner_text("#message").lower()
    assert not [e for _, e in telemetry.since(t0) if moving(e)]
    assert page.evaluate("sessionStorage.getItem('robot-session')") is None


# -- failed command ----------------------------------------------------------------------------

def test_a_refused_command_is_explained_and_the_page_keeps_working(page, stack, telemetry):
    sign_in(page, stack, robot="nobot")  # a typo in ?robot=
    page.wait_for_function("() => document.getElementById('message').textContent"
                           ".includes('nobot')")
    assert "no robot named 'nobot'" in page.inner_text("#message")
    assert "offline" not in page.inner_text("#status-online")  # unknown, not offline
    responses = []
    page.on("response", lambda r: responses.append(r.status) if "/cmd" in r.url else None)
    page.keyboard.down("ArrowUp")
    page.wait_for_function("() => document.getElementById('message').textContent"
                           ".startsWith('Command failed')")
    page.keyboard.up("ArrowUp")
    assert "no robot named 'nobot'" in page.inner_text("#message")
    assert 404 in responses
    page.select_option("#robot", ROBOT)  # the page still works: pick a real robot and drive
    page.wait_for_function(ONLINE)
    assert page.is_hidden("#message")
    t0 = time.monotonic()
    page.keyboard.down("ArrowUp")
    telemetry.wait_for(moving, t0)
    page.keyboard.up("ArrowUp")
    telemetry.wait_for(stopped, t0)


def test_a_command_refused_as_invalid_names_the_problem(page, stack, telemetry):
    sign_in(page, stack)
    page.wait_for_function(ONLINE)
    # a slider tampered with in the developer tools: the API refuses the speed (400)
    page.evaluate("() => { const s = document.getElementById('speed'); s.max = '5'; "
                  "s.value = '5'; }")
    page.keyboard.down("w")
    page.wait_for_function("() => document.getElementById('message').textContent"
                           ".startsWith('Command failed')")
    page.keyboard.up("w")
    assert "speed must be between" in page.inner_text("#message")
    page.evaluate("() => { const s = document.getElementById('speed'); s.max = '1'; "
                  "s.value = '0.5'; }")
    t0 = time.monotonic()
    page.keyboard.down("w")
    telemetry.wait_for(moving, t0)
    page.keyboard.up("w")
    telemetry.wait_for(stopped, t0)


# -- touch -------------------------------------------------------------------------------------

# Every drive control of the phone layout, and the video: all must be on screen at once.
CONTROLS = ["#video", "[data-action=forward]", "[data-action=backward]", "[data-action=left]",
            "[data-action=right]", "[data-action=stop]", "#joystick", "#speed"]
INSIDE = """(selectors) => selectors.filter((s) => { const r = document.querySelector(s)
  .getBoundingClientRect(); return !(r.width > 0 && r.top >= 0 && r.left >= 0
  && r.bottom <= innerHeight && r.right <= innerWidth); })"""


@pytest.mark.parametrize("size", [(390, 844), (844, 390)], ids=["upright", "sideways"])
def test_a_phone_drives_by_touch_with_the_video_and_every_control_on_screen(
        browser, stack, telemetry, size):
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True,
                                  is_mobile=True, device_scale_factor=2)
    try:
        page = context.new_page()
        sign_in(page, stack)
        page.wait_for_function(ONLINE)
        assert page.evaluate(INSIDE, CONTROLS) == [], "controls outside the screen"
        assert page.evaluate("scrollY") == 0
        assert "user-scalable=no" not in page.get_attribute("meta[name=viewport]", "content")
        # the status in one line over the video
        assert "online" in page.inner_text("#status-line")
        button = page.locator("[data-action=forward]")
        box = button.bounding_box()
        # a message appearing moves nothing under the finger
        page.evaluate("robotPage.banner.set('command', 'Command failed: a test message')")
        page.wait_for_selector("#message:not([hidden])")
        assert button.bounding_box() == box
        page.evaluate("robotPage.banner.clear('command')")
        # an earlier test's page may still hold the lease (3 s after its last command): its
        # Take over button comes and goes without moving the pad
        page.wait_for_function("() => document.getElementById('status-driver').textContent"
                               " === 'nobody'", timeout=10000)
        assert button.bounding_box() == box
        point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
        cdp = context.new_cdp_session(page)  # real touch input, as a finger on a screen
        t0 = time.monotonic()
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
        telemetry.wait_for(lambda e: e["left"] == e["right"] == 0.5, t0)
        time.sleep(0.7)  # a long press: no context menu, no cancel, still driving
        assert not [e for _, e in telemetry.since(t0) if stopped(e)]
        assert "active" in button.get_attribute("class")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"phone-driving-{width}x{height}.png"))
        lifted = time.monotonic()
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        at, _ = telemetry.wait_for(stopped, lifted, timeout=2)
        assert at - lifted < 0.5
    finally:
        context.close()


# -- a robot going offline while watched -------------------------------------------------------

READ_NOW = "document.dispatchEvent(new Event('visibilitychange'))"  # the page reads at once


def test_a_robot_going_offline_is_shown_and_cannot_be_driven(page, stack):
    publish_status(stack, PUPPET, {"online": True, "name": PUPPET, "version": "test",
                                   "camera": {"state": "off", "viewers": 0},
                                   "motors": {"left": 0, "right": 0},
                                   "t_ms": int(time.time() * 1000)})
    sign_in(page, stack, robot=PUPPET)
    page.wait_for_function(ONLINE)
    assert page.get_attribute("#pad", "aria-disabled") == "false"
    publish_status(stack, PUPPET, {"online": False})  # what the agent's Last Will says
    page.evaluate(READ_NOW)  # the tab shown again: it reads at once (the schedule is unit-tested)
    page.wait_for_function(OFFLINE, timeout=10000)
    assert page.inner_text("#status-online").startswith("offline")
    assert f"{PUPPET} is offline" in page.inner_text("#message")
    assert page.get_attribute("#pad", "aria-disabled") == "true"
    forward = page.locator("[data-action=forward]")
    assert forward.get_attribute("aria-disabled") == "true"
    calls = Calls(page)
    t0 = time.monotonic()
    forward.hover()
    page.mouse.down()
    page.keyboard.down("ArrowUp")
    time.sleep(0.5)
    page.keyboard.up("ArrowUp")
    page.mouse.up()
    assert [c for c in calls.since(t0) if c[0] == "POST"] == [], "commands sent to an offline robot"
    publish_status(stack, PUPPET, {"online": True, "name": PUPPET, "version": "test",
                                   "t_ms": int(time.time() * 1000)})
    page.evaluate(READ_NOW)
    page.wait_for_function(ONLINE, timeout=5000)  # back again: driving is allowed again
    assert page.get_attribute("#pad", "aria-disabled") == "false"
    assert page.is_hidden("#message")


def test_what_the_panel_says_is_true_now(page, stack):
    """A status dated in the future does not freeze the readout; an old one is not "online";
    the age counts on between reads; an outage message goes when the API answers again."""
    motors = lambda left: {"online": True, "name": PUPPET, "version": "test",  # noqa: E731
                           "motors": {"left": left, "right": left}}
    # a status 60 s old: the robot is not known to be online now, and the age keeps counting
    publish_status(stack, PUPPET, {**motors(0.1), "t_ms": int(time.time() * 1000) - 60_000})
    sign_in(page, stack, robot=PUPPET)
    page.wait_for_function("() => document.getElementById('status-online').textContent"
                           ".startsWith('not heard from')", timeout=5000)
    assert page.get_attribute("#status", "data-online") == "stale"
    seen = page.inner_text("#status-seen")
    page.wait_for_function("seen => document.getElementById('status-seen').textContent"
                           " !== seen", arg=seen, timeout=3000)
    # a clock that jumped years ahead, then right again: the readout follows both
    publish_status(stack, PUPPET, {**motors(0.3),
                                   "t_ms": int(time.time() * 1000) + 3 * 365 * 86400 * 1000})
    page.evaluate(READ_NOW)
    page.wait_for_function("() => document.getElementById('status-motors').textContent"
                           " === 'L 0.30 · R 0.30'", timeout=5000)
    publish_status(stack, PUPPET, {**motors(0.6), "t_ms": int(time.time() * 1000)})
    page.evaluate(READ_NOW)
    page.wait_for_function("() => document.getElementById('status-motors').textContent"
                           " === 'L 0.60 · R 0.60'", timeout=5000)
    assert page.get_attribute("#status", "data-online") == "true"
    # the API out of reach, then back: the message goes with the outage
    page.route("**/status", lambda route: route.abort())
    page.evaluate(READ_NOW)
    page.wait_for_function("() => document.getElementById('message').textContent"
                           ".startsWith('Status unavailable')", timeout=5000)
    page.unroute("**/status")
    publish_status(stack, PUPPET, {**motors(0), "t_ms": int(time.time() * 1000)})
    page.evaluate(READ_NOW)
    page.wait_for_function(ONLINE, timeout=5000)
    assert page.is_hidden("#message")


# -- keyboard and accessibility ---------------------------------------------------------------

def test_drive_pad_is_named_focusable_and_works_from_the_keyboard(page, stack, telemetry):
    sign_in(page, stack)
    page.wait_for_function(ONLINE)
    unnamed = page.evaluate("""() => [...document.querySelectorAll('button, input, select')]
      .filter(e => !e.hidden && !(e.getAttribute('aria-label') || e.labels?.length
                                  || e.textContent.trim()))
      .map(e => e.outerHTML)""")
    assert unnamed == []
    assert page.get_attribute("#pad", "role") == "group"
    page.focus("[data-action=stop]")
    page.keyboard.press("Shift+Tab")  # keyboard focus lands on an arrow...
    focused = page.evaluate("document.activeElement.dataset.action")
    assert focused in {"forward", "left", "right", "backward"}
    outline = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
      return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
    assert outline[0] != "none" and outline[1] >= 2, outline  # ...and it shows
    page.focus("[data-action=forward]")
    t0 = time.monotonic()
    page.keyboard.down("Enter")  # Enter on a focused arrow holds it like a press
    telemetry.wait_for(moving, t0)
    assert page.get_attribute("[data-action=forward]", "aria-pressed") == "true"
    released = time.monotonic()
    page.keyboard.up("Enter")
    at, _ = telemetry.wait_for(stopped, released, timeout=2)
    assert at - released < 0.5
    assert page.get_attribute("[data-action=forward]", "aria-pressed") == "false"

