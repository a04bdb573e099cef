"""No input crashes a parser: arbitrary bytes and nested structures, fed to every place the
cloud and the local stack parse JSON that strangers send (Hypothesis).

A parser may accept or refuse; refusing is its documented ``ValueError`` subclass, never a
``RecursionError``, ``UnicodeDecodeError`` surprise or ``AttributeError`` on a non-object.
"""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud import safejson
from cloud.robot import commands, publisher
from cloud.robot.errors import BadCommand
from tools.stack import signaling

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                         max_leaves=30)
openers = st.sampled_from(["[", "{\"a\":", "[{\"k\":", "[\"\\\"\","])


@st.composite
def deep(draw) -> bytes:
    """Nesting from shallow to far past Python's recursion limit, under 1 KB or not."""
    opener = draw(openers)
    depth = draw(st.integers(min_value=1, max_value=5000))
    closing = draw(st.booleans())
    text = opener * depth + ("1" + "]" * depth if closing and opener == "[" else "")
    return text.encode()


untrusted = st.binary(max_size=2048) | deep() | documents.map(lambda d: json.dumps(d).encode())


@FAST
@given(untrusted)
def test_safejson_accepts_or_refuses_and_never_recurses(raw):
    try:
        value = safejson.loads(raw, max_bytes=4096)
    except safejson.UnsafeJson:
        return
    assert isinstance(value, dict | list | str | int | float | bool | type(None))


def test_a_thousand_brackets_are_refused_before_parsing():
    for raw in (b"[" * 1000, b"[" * 1000 + b"]" * 1000, b'{"a":' * 600):
        with pytest.raises(safejson.UnsafeJson, match="deeper"):
            safejson.loads(raw, max_bytes=10_000)


@FAST
@given(documents)
def test_depth_counts_what_the_parser_would_nest(doc):
    raw = json.dumps(doc).encode()

    def nesting(value) -> int:
        if isinstance(value, list):
            return 1 + max((nesting(v) for v in value), default=0)
        if isinstance(value, dict):
            return 1 + max((nesting(v) for v in value.values()), default=0)
        return 0

    assert safejson.depth(raw) == nesting(doc)


@FAST
@given(untrusted, st.booleans())
def test_the_command_body_parser(raw, as_base64):
    body = base64.b64encode(raw).decode() if as_base64 else raw.decode("utf-8", "replace")
    with contextlib.suppress(BadCommand):
        commands.validate(commands.read_body(body, as_base64))


@FAST
@given(untrusted)
def test_the_status_decoder(raw):
    value = publisher._decode(raw)
    assert value is None or isinstance(value, dict)


@FAST
@given(untrusted, st.booleans())
def test_the_signaling_relay_parser(raw, from_master):
    with contextlib.suppress(signaling.SignalingError):
        signaling.parse_message(raw.decode("utf-8", "replace"), from_master=from_master)
    correlation = signaling._correlation(raw.decode("utf-8", "replace"))
    assert correlation is None or isinstance(correlation, str)


@FAST
@given(untrusted)
def test_the_relay_forwards_only_sound_payloads(raw):
    message = json.dumps({"action": "SDP_OFFER", "messagePayload": base64.b64encode(raw).decode()
                          or "x"})
    try:
        signaling.parse_message(message, from_master=False)
    except signaling.SignalingError:
        return
    safejson.loads(base64.b64decode(json.loads(message)["messagePayload"]), max_bytes=10240)
