"""Test-only Lambda handlers, loaded into the stack with ``--extra-routes``."""

import base64
import json
import threading
import time

from cloud.routes import Route
from testing.echo_gate import gate

ALL_BYTES = bytes(range(256)) * 4


def echo(event, context):
    """Answer with the event exactly as received, plus what the context carried."""
    body = {"event": event, "context": {"aws_request_id": context.aws_request_id,
                                        "function_name": context.function_name,
                                        "remaining_ms": context.get_remaining_time_in_millis()}}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body)}


def binary(event, context):
    """A binary body with single and multi-value headers."""
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/octet-stream", "X-Single": "one",
                    "X-Both": "from-headers"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Both": ["m1", "m2"]},
        "body": base64.b64encode(ALL_BYTES).decode(),
        "isBase64Encoded": True,
    }


_in_flight = 0
_most = 0
_count = threading.Lock()


def overlap(event, context):
    """Report how many invocations of this function ever ran at once."""
    global _in_flight, _most
    with _count:
        _in_flight += 1
        _most = max(_most, _in_flight)
    time.sleep(0.05)
    with _count:
        _in_flight -= 1
    return {"statusCode": 200, "body": json.dumps({"most_at_once": _most})}


def crash(event, context):
    raise RuntimeError("boom")


def malformed(event, context):
    return {"statusCode": "teapot"}


def nap(event, context):
    """Sleep ``?s=`` seconds (at most 5), or until ``/wake?gate=`` opens ``?gate=`` (at most
    20 s), then answer: one slow call of a function, as slow as the test needs."""
    query = event.get("queryStringParameters") or {}
    if "gate" in query:
        return {"statusCode": 200, "body": json.dumps({"woken": gate(query["gate"]).wait(20)})}
    seconds = min(5.0, float(query.get("s", "0")))
    time.sleep(seconds)
    return {"statusCode": 200, "body": json.dumps({"slept": seconds})}


def wake(event, context):
    """Open the gate ``?gate=`` that a napping call waits on."""
    gate((event.get("queryStringParameters") or {})["gate"]).set()
    return {"statusCode": 200, "body": "{}"}


ROUTES = (
    Route("GET", "/echo/{thing}", "testing.echo_routes:echo"),
    Route("POST", "/echo/{thing}", "testing.echo_routes:echo"),
    Route("GET", "/keyed", "testing.echo_routes:echo", "api_key"),
    Route("POST", "/user/{name}", "testing.echo_routes:echo", "user"),
    Route("GET", "/binary", "testing.echo_routes:binary"),
    Route("GET", "/overlap", "testing.echo_routes:overlap"),
    Route("GET", "/crash", "testing.echo_routes:crash"),
    Route("GET", "/malformed", "testing.echo_routes:malformed"),
    Route("GET", "/nap", "testing.echo_routes:nap"),
    Route("GET", "/wake", "testing.echo_routes:wake"),
)
