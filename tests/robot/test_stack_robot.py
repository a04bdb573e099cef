"""End to end through the real local stack: HTTP -> handler -> broker -> simulated agent."""

from __future__ import annotations

import time

import pytest

from testing.robot_harness import Observer
from testing.stack_process import StackProcess


@pytest.mark.slow
def test_stack_drives_the_simulated_robot():
    with StackProcess(only="broker,api,robot") as stack:
        observer = Observer(stack.mqtt_url_as("observer"),
                            topics=("robot/+/status", "robot/+/telemetry"))
        try:
            status, body = stack.call("GET", "/robot/sts-pi/status")
            assert status == 200 and body["online"] is True and body["motors"]["simulated"]
            status, body = stack.call("POST", "/robot/sts-pi/cmd",
                                      {"action": "left", "speed": 0.4, "duration_ms": 200})
            assert status == 202 and body["topic"] == "robot/sts-pi/cmd"
            # the stack's robot speeds up within its acceleration limit: steps, then 0.4
            event = observer.wait_json("robot/sts-pi/telemetry",
                                       lambda m: m.get("id") == body["id"]
                                       and m["left"] == -0.4, 5)
            assert event["pins"] == {"19": 0.4, "20": 0.0, "21": 0.0, "26": 0.4}
            # the status API's motors follow the motors, within 200 ms
            seen = time.monotonic()
            while True:
                status, state = stack.call("GET", "/robot/sts-pi/status")
                if state["motors"]["left"] in (-0.4, 0.0) and state["t_ms"] >= event["t_ms"]:
                    break
                assert time.monotonic() - seen < 0.2, state
            assert {"online", "motors", "camera", "version", "t_ms"} <= set(state)
            observer.wait_json("robot/sts-pi/telemetry",
                               lambda m: m.get("cause") == "deadman", 2)
            assert stack.call("POST", "/robot/sts-pi/cmd", {"action": "x"})[0] == 400
            assert stack.call("POST", "/robot/nope/cmd", {"action": "stop"})[0] == 404
            assert stack.call("POST", "/robot/sts-pi/cmd", {"action": "stop"},
                              token="wrong")[0] == 401
            assert stack.health()["components"]["robot"]["up"] is True
        finally:
            observer.close()
        stack.stop()
        assert "[robot]" in stack.log() and "stopped (exit 0)" in stack.log()


def test_a_real_pi_is_named_first_and_a_bad_name_is_one_line(tmp_path):
    from tools.stack.runner import StackError, build_context, parse_args

    ctx = build_context(parse_args(["--robot", "pi-a", "--data-dir", str(tmp_path)]), {})
    # The page opens on the real Pi; the simulated sts-pi stays, a user of the broker each.
    assert ctx.env["ROBOT_NAMES"] == "pi-a,sts-pi" and ctx.real_robots == ("pi-a",)
    assert {"pi-a", "sts-pi"} <= set(ctx.mqtt_passwords)
    with pytest.raises(StackError, match=r"--robot 'my pi': use 1-128 letters"):
        build_context(parse_args(["--robot", "my pi", "--data-dir", str(tmp_path)]), {})
