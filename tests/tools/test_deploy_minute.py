"""The cost model against the real local stack: a scripted stretch of use (PyPortal refreshes,
a page open, joystick driving over the video connection's data channel) counted by what the
stack saw and by tools.deploy.usage for the same script; every line within 10 % (or one, on a
line under ten)."""

from __future__ import annotations

import pytest

from testing.scripted_minute import Script, run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def test_what_the_stack_sees_is_what_the_model_counts():
    # 20 s, not 60: the lines scale with the script (bench/cost_minute.py runs the minute)
    result = run(Script(seconds=20, refresh_every_s=5, holds=(6.5, 6.5)))
    for name, line in result["lines"].items():
        model, observed = line["model"], line["observed"]
        assert abs(observed - model) <= max(0.1 * model, 1.0), (name, line, result)
    assert result["lines"]["http_commands"]["observed"] == 0  # all over the data channel
    assert result["lines"]["robot_status"]["observed"] >= 10  # it really drove
    # a joystick at 20 commands a second: one status and one telemetry message a second
    assert result["robot_mqtt_messages_per_s_steady"] <= 2.0
