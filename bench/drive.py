"""Driving latency over the data channel and over HTTP, and glass-to-glass video. Prints JSON.

It starts the real local stack (broker, API, page and relay, the simulated robot streaming the
640x480 at 15 fps test pattern, acceleration limit on) and headless chromium, signs in, and:

* ``press_to_pin_ms``: from the key press in the page (``Date.now()`` in a keydown listener)
  to the motor pins' first change (the agent's ``t_ms`` on its telemetry, same clock), for
  ``PRESSES`` presses over the ``drive`` data channel, then as many over HTTP (the page's
  channel closed: ``POST /robot/{name}/cmd`` -> Lambda handler -> MQTT -> agent);
* ``pin_to_readout_ms`` and ``press_to_readout_ms``: from the pins' first change (and from the
  press) to the page's Motors readout showing it (a MutationObserver's ``Date.now()``): state
  pushed on the data channel, or the status API polled every 100 ms while driving;
* ``command_round_trip_ms``: what the page shows as round trip (the robot's reply on the
  channel; the 202 of the POST, which comes before the robot has the command);
* ``cpu_ms_per_command``: the CPU the robot agent and the stack process (gateway, Lambda
  handler, broker, relay) spend per command, 20 commands a second for ``COST_S`` seconds,
  minus what they spend idle (video streaming) over as long;
* ``glass_to_glass_ms``: each decoded frame's stamp (the wall-clock ms the robot drew into the
  test pattern) against the time the browser expects to show it (``requestVideoFrameCallback``);
* ``acceleration``: every motor step of the run checked against the limit;
* ``internet_model``: the expected totals for typical round trips (see :func:`model`).

Run: ``.venv/bin/python bench/drive.py`` (needs /usr/bin/chromium).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from testing.browser import CHROMIUM, CHROMIUM_ARGS, Telemetry, sign_in
from testing.stack_process import StackProcess
from tools.stack.components.robot import DRIVING

PRESSES = 60
HOLD_S = 0.25
COST_S = 5.0
GLASS_S = 6.0
ACCEL = float(DRIVING.split("max_accel_per_s = ")[1].split()[0])
STEP_MS = 25
ZERO = "L 0.00 · R 0.00"

PROBE = """
window.__keys = []; window.__readout = [];
window.addEventListener("keydown", (e) => {
  if (e.key === "ArrowUp" && !e.repeat) window.__keys.push(Date.now()); }, true);
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("status-motors");
  new MutationObserver(() => window.__readout.push([Date.now(), el.textContent])).observe(
    el, {childList: true, characterData: true, subtree: true});
});
"""
# Reads the stamp the test pattern draws (robot_agent.camera.pattern): a mark (1, 0), 42 bits of
# wall-clock ms and an even parity bit, 10-pixel blocks on row 16.
GLASS = """(seconds) => new Promise((resolve) => {
  const video = document.getElementById("video");
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  const out = []; let bad = 0; const end = performance.now() + seconds * 1000;
  const frame = (now, meta) => {
    ctx.drawImage(video, 0, 0);
    const row = ctx.getImageData(0, 16, 45 * 10, 1).data;
    const bits = [];
    for (let i = 0; i < 45; i++) {
      const p = (i * 10 + 5) * 4;
      bits.push(0.299 * row[p] + 0.587 * row[p + 1] + 0.114 * row[p + 2] > 128 ? 1 : 0);
    }
    const value = bits.slice(2, 44);
    const parity = value.reduce((a, b) => a + b, 0) % 2;
    if (bits[0] === 1 && bits[1] === 0 && parity === bits[44]) {
      const stamp = value.reduce((a, b) => a * 2 + b, 0);
      const shown = Date.now() + (meta.expectedDisplayTime - performance.now());
      out.push(shown - stamp);
    } else bad++;
    if (performance.now() < end) video.requestVideoFrameCallback(frame);
    else resolve({latencies: out, unreadable: bad});
  };
  video.requestVideoFrameCallback(frame);
})"""


class Events(Telemetry):
    """Every telemetry event, with its arrival time."""

    def wanted(self, event: dict) -> bool:
        return True


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict:
    if not values:
        return {"samples": 0}
    return {"p50": round(percentile(values, 0.5), 1), "p90": round(percentile(values, 0.9), 1),
            "p99": round(percentile(values, 0.99), 1), "max": round(max(values), 1),
            "samples": len(values)}


def motors(event: dict) -> bool:
    return event.get("event") == "motors"


def presses(page, events: Events, count: int) -> dict:
    """Press and hold ArrowUp ``count`` times; time pins and readout against each press."""
    to_pin, pin_to_readout, to_readout, rtts = [], [], [], []
    for _ in range(count):
        keys_before = len(page.evaluate("window.__keys"))
        started = time.monotonic()
        page.keyboard.down("ArrowUp")
        _, first = events.wait_for(lambda e: motors(e) and e["left"] > 0, started)
        page.wait_for_function(f"() => window.__readout.some(([at, text]) => text !== "
                               f"{json.dumps(ZERO)} && at >= {first['t_ms']} - 1)")
        press = page.evaluate("window.__keys")[keys_before]
        shown = next(at for at, text in page.evaluate("window.__readout")
                     if text != ZERO and at >= first["t_ms"] - 1)
        to_pin.append(first["t_ms"] - press)
        pin_to_readout.append(shown - first["t_ms"])
        to_readout.append(shown - press)
        time.sleep(HOLD_S)
        rtts.append(page.evaluate("robotPage.state.rtt"))
        released = time.monotonic()
        page.keyboard.up("ArrowUp")
        events.wait_for(lambda e: motors(e) and e["left"] == 0, released)
        page.wait_for_function(f"() => document.getElementById('status-motors').textContent"
                               f" === {json.dumps(ZERO)}")
        time.sleep(0.15)
    return {"press_to_pin_ms": summary(to_pin), "pin_to_readout_ms": summary(pin_to_readout),
            "press_to_readout_ms": summary(to_readout),
            "command_round_trip_ms": summary([r for r in rtts if r is not None])}


def cpu_cost(page, pids: dict[str, int]) -> dict:
    """CPU ms per command for each process: 20 commands/s for COST_S, minus idle."""
    def sample() -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in pids.items()}

    idle0, t0 = sample(), time.monotonic()
    time.sleep(COST_S)
    idle1, t1 = sample(), time.monotonic()
    sent = page.evaluate("""(seconds) => new Promise((resolve) => {
      let n = 0; const d = robotPage.driver; d.hold("forward");
      clearInterval(d.timer);  // our own pace below, not the page's 150 ms repeat
      const timer = setInterval(() => { d.command("forward"); n++; }, 50);
      setTimeout(() => { clearInterval(timer); d.release(); resolve(n); }, seconds * 1000);
    })""", COST_S)
    busy1, t2 = sample(), time.monotonic()
    cost = {}
    for name in pids:
        idle_rate = (idle1[name] - idle0[name]) / (t1 - t0)
        extra = (busy1[name] - idle1[name]) - idle_rate * (t2 - t1)
        cost[name] = round(max(extra, 0.0) * 1000 / sent, 3)
    cost["commands"] = sent
    return cost


def acceleration(events: list[dict]) -> dict:
    """Every step up in speed within the limit (1 ms of slack for whole-ms stamps)."""
    steps = violations = 0
    worst, worst_step = 0.0, ()
    for before, after in zip(events, events[1:], strict=False):
        for side in ("left", "right"):
            a, b = before[side], after[side]
            if abs(b) <= abs(a) and (a == 0 or (a > 0) == (b > 0)):
                continue  # slowing down: not limited
            rise = abs(b) - (abs(a) if (a > 0) == (b > 0) else 0)
            dt = min(max(after["t_ms"] - before["t_ms"], 0), STEP_MS) + 1
            allowed = ACCEL * dt / 1000
            steps += 1
            if rise / allowed > worst:
                worst, worst_step = rise / allowed, (before, after)
            violations += rise > allowed + 1e-9
    result = {"limit_per_s": ACCEL, "steps_checked": steps, "violations": violations,
              "worst_fraction_of_limit": round(worst, 3)}
    if violations:
        result["worst_step"] = [{k: e[k] for k in ("left", "right", "t_ms", "cause", "via")}
                                for e in worst_step]
    return result


# Assumed AWS service times (not measurable here): API Gateway + warm Lambda + iot-data
# Publish before the message leaves for the robot; the status read through API Gateway, Lambda
# and GetRetainedMessage. Round trips (ms) of three typical set-ups.
AWS_COMMAND_MS = 30
AWS_STATUS_MS = 30
POLL_MS = 100
SCENARIOS = {
    "same_house": {"user_robot": 5, "user_region": 30, "robot_region": 30},
    "same_country": {"user_robot": 40, "user_region": 25, "robot_region": 25},
    "other_continent": {"user_robot": 150, "user_region": 150, "robot_region": 25},
    "other_continent_via_turn": {"user_robot": 175, "user_region": 150, "robot_region": 25},
}


def model(dc: dict, http: dict, glass_p50: float | None) -> dict:
    """Expected press->pin, pin->readout and glass-to-glass over the internet.

    Data channel: the local processing measured here plus half the user<->robot round trip
    (peer to peer; via TURN it is user->region->robot). HTTP: the local processing measured here
    (gateway, handler, broker, agent) plus half the user<->region round trip, the AWS service
    time (assumed), and half the region<->robot round trip. Readout: pushed on the channel
    (half the user<->robot round trip after the pins); polled over HTTP (half a poll period,
    the status reaching IoT Core, and a full user<->region round trip with the service time).
    Video: the local glass-to-glass plus half the user<->robot round trip.
    """
    dc_local = dc["press_to_pin_ms"]["p50"]
    http_local = http["press_to_pin_ms"]["p50"]
    out = {}
    for name, rtt in SCENARIOS.items():
        out[name] = {
            "round_trips_ms": rtt,
            "press_to_pin_channel_ms": round(dc_local + rtt["user_robot"] / 2),
            "press_to_pin_http_ms": round(http_local + rtt["user_region"] / 2 + AWS_COMMAND_MS
                                          + rtt["robot_region"] / 2),
            "pin_to_readout_channel_ms": round(dc["pin_to_readout_ms"]["p50"]
                                               + rtt["user_robot"] / 2),
            "pin_to_readout_http_ms": round(POLL_MS / 2 + rtt["robot_region"] / 2
                                            + rtt["user_region"] + AWS_STATUS_MS),
            "glass_to_glass_ms": (round(glass_p50 + rtt["user_robot"] / 2)
                                  if glass_p50 is not None else None),
        }
    out["assumed_aws_ms"] = {"command": AWS_COMMAND_MS, "status_read": AWS_STATUS_MS}
    return out


def run() -> dict:
    from playwright.sync_api import sync_playwright

    load_before = round(os.getloadavg()[0], 1)  # a shared machine: say how busy it was

    with StackProcess(only="broker,api,web,robot", ready_timeout=60) as stack, \
            sync_playwright() as p:
        events = Events(stack.mqtt_url_as("observer"))
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        context.add_init_script(PROBE)
        page = context.new_page()
        sign_in(page, stack)
        page.wait_for_function("() => robotPage.viewer.channel && robotPage.viewer.channel.open"
                               " && document.getElementById('video').videoWidth > 0",
                               timeout=30000)
        start = time.monotonic()
        pids = {"agent": stack.health()["components"]["robot"]["pid"],
                "stack": stack.process.pid}

        glass = page.evaluate(GLASS, GLASS_S)
        dc = presses(page, events, PRESSES)
        dc["cpu_ms_per_command"] = cpu_cost(page, pids)
        page.evaluate("robotPage.viewer.channel.close()")
        page.wait_for_function("() => !robotPage.viewer.channel.open")
        http = presses(page, events, PRESSES)
        http["cpu_ms_per_command"] = cpu_cost(page, pids)
        steps = [e for _, e in events.since(start) if motors(e)]
        browser.close()
        events.close()

    g2g = summary(glass["latencies"])
    g2g["unreadable_frames"] = glass["unreadable"]
    dc_pin, http_pin = dc["press_to_pin_ms"], http["press_to_pin_ms"]
    accel = acceleration(steps)
    return {
        "data_channel": dc,
        "http": http,
        "glass_to_glass_ms": g2g,
        "acceleration": accel,
        "internet_model": model(dc, http, g2g.get("p50")),
        "stream": {"width": 640, "height": 480, "fps": 15},
        "machine": {"cpus": os.cpu_count(), "load_1m": [load_before, round(os.getloadavg()[0], 1)]},
        "targets": {
            "channel_press_to_pin_p50<=half_http_p50": dc_pin["p50"] <= http_pin["p50"] / 2,
            "channel_press_to_pin_p99<=20ms": dc_pin["p99"] <= 20,
            # with video up the page reads the state off the channel; HTTP polling is the
            # fallback without video (reported, and held to the same bar)
            "channel_readout<=200ms_after_pins_p99": dc["pin_to_readout_ms"]["p99"] <= 200,
            "http_poll_readout<=200ms_after_pins_p99": http["pin_to_readout_ms"]["p99"] <= 200,
            "glass_to_glass_p50<=250ms": g2g.get("p50", 1e9) <= 250,
            "acceleration_limit_every_step": accel["violations"] == 0,
        },
        "ratio_http_to_channel_p50": round(http_pin["p50"] / max(dc_pin["p50"], 0.5), 1),
    }


if __name__ == "__main__":
    if not CHROMIUM.exists():
        print(json.dumps({"skipped": f"{CHROMIUM} is absent (apt-get install chromium)"}))
        sys.exit(0)
    print(json.dumps(run()))
