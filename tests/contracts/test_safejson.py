"""The one guard for JSON from strangers (:mod:`contracts.safejson`): it never recurses, it
counts nesting as the parser would, and the cloud and the robot give the same answer on the
same bytes (the page's ``JSON.parse`` behind ``cloud/web/safejson.js`` gives it too)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from robot_agent import commands as agent_commands
from robot_agent.config import CommandLimits
from robot_agent.errors import BadCommand as AgentBadCommand

from cloud.robot import commands as cloud_commands
from cloud.robot.errors import BadCommand
from contracts import safejson
from testing.hostile_json import documents, nesting, untrusted

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(untrusted)
def test_it_accepts_or_refuses_and_never_recurses(raw):
    try:
        value = safejson.loads(raw, max_bytes=4096)
    except safejson.UnsafeJson as exc:
        assert exc.reason in ("too_large", "malformed")
        return
    assert isinstance(value, dict | list | str | int | float | bool | type(None))


def test_a_thousand_brackets_are_refused_before_parsing():
    for raw in (b"[" * 1000, b"[" * 1000 + b"]" * 1000, b'{"a":' * 600):
        with pytest.raises(safejson.TooDeep, match="deeper") as refused:
            safejson.loads(raw, max_bytes=10_000)
        assert refused.value.reason == "too_large"
    with pytest.raises(safejson.UnsafeJson) as refused:  # too many bytes: not a depth
        safejson.loads(b"[" * 1000, max_bytes=100)
    assert refused.value.reason == "too_large" and not isinstance(refused.value, safejson.TooDeep)


@FAST
@given(documents)
def test_depth_counts_what_the_parser_would_nest(doc):
    assert safejson.depth(json.dumps(doc).encode()) == nesting(doc)


# Bytes on which the cloud's and the robot's guards once disagreed, and what the one guard
# says (None: refused as not JSON). The page's JSON.parse refuses each of them too.
DISPUTED = [
    ("\ufeff{}".encode(), None),  # a byte-order mark: not JSON text
    ('{"action": "stop"}'.encode("utf-16-le"), None),  # UTF-16: JSON between systems is UTF-8
    (b'{"action": "forward", "speed": NaN}', None),  # NaN and Infinity are not JSON
    (b'{"action": "forward", "speed": -Infinity}', None),
    (b'"' + b"[" * 40, None),  # all inside a string that never closes
    (b"]" * 10 + b"[" * 12, None),  # the parser stops at the first ], never nesting 12 deep
    (b'{"action": "stop", "note": "]]]]"}', {"action": "stop", "note": "]]]]"}),
]


@pytest.mark.parametrize("raw,expected", DISPUTED, ids=[repr(r[:24]) for r, _ in DISPUTED])
def test_the_cloud_and_the_robot_answer_alike(raw, expected):
    try:
        parsed = safejson.loads(raw, max_bytes=1024)
    except safejson.UnsafeJson as exc:
        parsed, reason = None, exc.reason
    assert parsed == expected
    try:  # the API's body reader, given the very bytes (API Gateway's base64 body)
        cloud_commands.read_body(base64.b64encode(raw).decode(), True)
        api_refused = False
    except BadCommand:
        api_refused = True
    try:
        agent_commands.parse(raw, CommandLimits())
        robot_reason = None
    except AgentBadCommand as exc:
        robot_reason = exc.reason
    if expected is None:
        assert api_refused and robot_reason == reason == "malformed"
    else:
        assert not api_refused and robot_reason == "invalid"  # parsed; then no id, no seq
