"""The HTTP <-> API Gateway proxy conversion, as pure functions."""

import base64

import pytest

from tools.stack.lambda_adapter import BadProxyResponse, HttpRequest, from_response, to_event


def make(**kw):
    base = dict(method="GET", path="/mars", raw_query="", headers=[("Host", "h")])
    base.update(kw)
    return HttpRequest(**base)


def test_query_decoding_and_multi_values():
    event = to_event(make(raw_query="a=1&a=%2F2&b=x+y"), "/mars", {})
    assert event["queryStringParameters"] == {"a": "/2", "b": "x y"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "/2"], "b": ["x y"]}
    assert event["pathParameters"] is None


def test_image_upload_is_base64():
    event = to_event(make(method="POST", headers=[("Content-Type", "image/jpeg")],
                          body=b"\xff\xd8abc"), "/x", {})
    assert event["isBase64Encoded"] and base64.b64decode(event["body"]) == b"\xff\xd8abc"


def test_authorizer_is_placed_in_request_context():
    event = to_event(make(), "/r", {"name": "a"}, {"claims": {"sub": "u"}}, "rid")
    assert event["requestContext"]["authorizer"] == {"claims": {"sub": "u"}}
    assert event["requestContext"]["requestId"] == "rid"
    assert event["pathParameters"] == {"name": "a"}


def test_response_defaults_and_text_body():
    answer = from_response({"body": "é"})
    assert answer.status == 200 and answer.body == "é".encode()


@pytest.mark.parametrize("bad", [
    None, [], {"statusCode": "x"}, {"statusCode": 700}, {"body": 5},
    {"body": "***", "isBase64Encoded": True}, {"multiValueHeaders": {"a": "b"}},
])
def test_malformed_responses_are_rejected(bad):
    with pytest.raises(BadProxyResponse):
        from_response(bad)
