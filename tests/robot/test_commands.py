"""Command parsing and the order/age gate (pure functions)."""

import json

import pytest
from robot_agent.commands import Gate, parse, values
from robot_agent.config import CommandLimits
from robot_agent.errors import BadCommand

LIMITS = CommandLimits()


def raw(**body) -> bytes:
    base = {"id": "a", "seq": 1, "action": "forward", "speed": 0.5, "duration_ms": 250,
            "issued_ms": 1000}
    base.update(body)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode()


def test_valid_command():
    command = parse(raw(), LIMITS)
    assert (command.id, command.seq, command.action, command.speed, command.duration_ms,
            command.issued_ms) == ("a", 1, "forward", 0.5, 250, 1000)


def test_backwards_is_an_alias_and_defaults_fill_in():
    command = parse(raw(action="backwards", speed=..., duration_ms=...), LIMITS)
    assert (command.action, command.speed, command.duration_ms) == ("backward", 0.5, 250)


def test_legacy_body_has_no_order_or_age():
    command = parse(b'{"action": "left"}', LIMITS, legacy=True)
    assert (command.action, command.seq, command.issued_ms) == ("left", None, None)
    assert (command.speed, command.duration_ms) == (1.0, 200)


@pytest.mark.parametrize(("payload", "reason"), [
    (b"not json", "malformed"),
    (b"\xff\xfe", "malformed"),
    (b"[1, 2]", "malformed"),
    (b'{"action": "forward", "pad": "' + b"x" * 1100 + b'"}', "too_large"),
    (raw(action="jump"), "invalid"),
    (raw(action=None), "invalid"),
    (raw(speed=1.5), "invalid"),
    (raw(speed=-0.1), "invalid"),
    (raw(speed=True), "invalid"),
    (raw(speed="fast"), "invalid"),
    (raw(duration_ms=49), "invalid"),
    (raw(duration_ms=1001), "invalid"),
    (raw(duration_ms=100.5), "invalid"),
    (raw(seq=...), "invalid"),
    (raw(issued_ms=...), "invalid"),
    (raw(id=...), "invalid"),
    (raw(seq=-1), "invalid"),
    (raw(extra=1), "invalid"),
])
def test_rejections(payload, reason):
    with pytest.raises(BadCommand) as error:
        parse(payload, LIMITS)
    assert error.value.reason == reason


def test_rejection_keeps_the_id_when_readable():
    with pytest.raises(BadCommand) as error:
        parse(raw(id="xyz", action="jump"), LIMITS)
    assert error.value.command_id == "xyz"


@pytest.mark.parametrize(("action", "expected"), [
    ("forward", (0.4, 0.4)), ("backward", (-0.4, -0.4)), ("left", (-0.4, 0.4)),
    ("right", (0.4, -0.4)), ("stop", (0.0, 0.0)),
])
def test_values(action, expected):
    assert values(action, 0.4) == expected


def test_gate_drops_stale_replayed_and_out_of_order():
    gate = Gate(max_age_ms=1000)
    first = parse(raw(seq=10, issued_ms=5000), LIMITS)
    gate.check(first, now_ms=5500)
    gate.applied(first)
    for payload, now, reason in [
        (raw(seq=11, issued_ms=3000), 5500, "stale"),
        (raw(seq=11, issued_ms=9000), 5500, "stale"),  # from the future: a clock fault
        (raw(seq=10, issued_ms=5400), 5500, "replayed"),
        (raw(seq=9, issued_ms=5400), 5500, "out_of_order"),
    ]:
        with pytest.raises(BadCommand) as error:
            gate.check(parse(payload, LIMITS), now)
        assert error.value.reason == reason
    gate.check(parse(raw(seq=11, issued_ms=5400), LIMITS), 5500)  # newer and fresh: fine
    gate.check(parse(b'{"action": "stop"}', LIMITS, legacy=True), 99999)  # legacy: unordered
