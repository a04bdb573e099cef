"""No input crashes a parser: arbitrary bytes and nested structures, fed to every place the
cloud and the local stack parse JSON that strangers send (Hypothesis); the JSON guard they all
use is tested on its own in ``tests/contracts/test_safejson.py``.

A parser may accept or refuse; refusing is its documented ``ValueError`` subclass, never a
``RecursionError``, ``UnicodeDecodeError`` surprise or ``AttributeError`` on a non-object.
"""

from __future__ import annotations

import base64
import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.robot import commands, publisher
from cloud.robot.errors import BadCommand
from contracts import safejson
from testing.hostile_json import untrusted
from tools.stack import signaling

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])



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
