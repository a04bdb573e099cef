"""Command parsing (pure functions); freshness and order are in test_freshness.py."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from robot_agent.commands import parse, values
from robot_agent.config import CommandLimits
from robot_agent.errors import BadCommand, NotACommand

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


# -- hostile input: nothing but BadCommand ever comes out -----------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=30)
NESTED = st.integers(1, 1000).flatmap(lambda n: st.sampled_from([
    b"[" * n, b"[" * n + b"]" * n, b'{"a":' * n + b"1" + b"}" * n, b'{"action":' + b"[" * n]))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=1100) | JSON_VALUES.map(lambda v: json.dumps(v).encode()) | NESTED
       | st.builds(lambda extra: json.dumps({"id": "a", "seq": 1, "action": "forward",
                                             "issued_ms": 1, **extra}).encode(),
                   st.dictionaries(st.sampled_from(["speed", "duration_ms", "seq", "id",
                                                    "issued_ms", "action"]), JSON_VALUES)),
       st.booleans())
def test_parse_raises_only_bad_command(payload, legacy):
    try:
        command = parse(payload, LIMITS, legacy=legacy)
    except BadCommand as error:
        assert error.reason in {"malformed", "too_large", "invalid", "not_a_command"}
    else:
        assert command.action in ("forward", "backward", "left", "right", "stop")


def test_a_kilobyte_of_brackets_is_refused_before_parsing():
    with pytest.raises(BadCommand) as error:
        parse(b"[" * 1000, LIMITS)
    assert error.value.reason == "too_large" and "nested" in error.value.detail


def test_brackets_inside_strings_do_not_count():
    command = parse(raw(id="[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{\\\"[[[["), LIMITS)
    assert command.id.startswith("[[[")


@pytest.mark.parametrize("payload", [b"", b"  ", b'{"online": false}',
                                     b'{"online": true, "camera": {"state": "off"}}'])
def test_non_commands_are_told_apart(payload):
    with pytest.raises(NotACommand):
        parse(payload, LIMITS)
