"""The page's JSON intake in Chromium: arbitrary text and nesting never throw, and only small,
shallow JSON gets through (cloud/web/safejson.js, used by the drive channel, the API client and
the stored session). Inputs come from Hypothesis, run in the real browser."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import safejson
from testing.hostile_json import nesting
from testing.stack_process import StackProcess

scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=12)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                         max_leaves=20)
deep = st.builds(lambda opener, n: opener * n, st.sampled_from(["[", '{"a":', '["\\"",']),
                 st.integers(1, 50_000))
hostile = st.text(max_size=300) | deep | documents.map(json.dumps)

PARSE_ALL = """async (inputs) => {
  const m = await import("/safejson.js");
  return inputs.map((text) => { const v = m.parse(text); return v === null ? null : [v]; });
}"""


@pytest.fixture(scope="module")
def web():
    with StackProcess(only="web") as running:
        yield running


@pytest.fixture
def origin(page, web):
    page.goto(web.url("/config.json"))  # any page of the origin can import its modules
    return page


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(hostile, min_size=1, max_size=15))
def test_the_page_parses_or_refuses_and_never_throws(origin, inputs):
    results = origin.evaluate(PARSE_ALL, inputs)
    for text, result in zip(inputs, results, strict=True):
        try:  # what the server's own guard makes of it
            expected = safejson.loads(text, max_bytes=10**7)
        except safejson.UnsafeJson:
            expected = None
        if result is None:  # refused: not JSON, too long or too deep
            assert expected is None or len(text) > 65536
        else:
            assert result[0] == expected and nesting(expected) <= safejson.MAX_DEPTH


def test_a_hostile_robot_cannot_break_the_drive_channel(origin):
    outcome = origin.evaluate("""async () => {
      const { DriveChannel } = await import("/channel.js");
      const states = [];
      const pc = new RTCPeerConnection();  // a real one; what the robot sends is fed directly
      const channel = new DriveChannel(pc, { onState: (s) => states.push(s) });
      for (const text of ["[".repeat(500000), '{"state":'.repeat(1000), "\\u0000", "null",
                          '{"state": {"online": true}}']) {
        channel.receive(text);
      }
      pc.close();
      return states;
    }""")
    assert outcome == [{"online": True}]
