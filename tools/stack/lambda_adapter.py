"""Turn an HTTP request into an API Gateway REST proxy event, and a proxy response into HTTP.

The shapes follow API Gateway's Lambda proxy integration (payload format 1.0), so a handler
written for Lambda runs here unchanged:

- ``headers`` / ``queryStringParameters`` hold the last value of a repeated name, the
  ``multiValue*`` twins hold every value; both are ``None`` when empty, as in AWS.
- path parameters are URL-decoded; the body is text, or base64 with ``isBase64Encoded`` when
  its media type is binary or it is not UTF-8.
- a response's ``headers`` and ``multiValueHeaders`` are merged (a name in both takes the
  multi-value list, as API Gateway does); a base64 body is decoded back to bytes.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

STAGE = "local"
ACCOUNT_ID = "000000000000"
# Request bodies of these types reach the handler base64-encoded (API Gateway binaryMediaTypes).
BINARY_MEDIA_TYPES = ("application/octet-stream", "image/", "audio/", "video/", "application/zip")


def _multi(
    pairs: Iterable[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return (single or None), (multi or None)


def _is_binary(content_type: str, body: bytes) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    if any(media.startswith(t) for t in BINARY_MEDIA_TYPES):
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@dataclass
class HttpRequest:
    """The parts of an HTTP request the adapter needs (independent of the web framework)."""

    method: str
    path: str  # URL-decoded path, without the query string
    raw_query: str  # the query string as sent, still percent-encoded
    headers: list[tuple[str, str]]  # in order, names as sent
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    host: str = "127.0.0.1"

    def header(self, name: str, default: str = "") -> str:
        wanted = name.lower()
        for key, value in reversed(self.headers):
            if key.lower() == wanted:
                return value
        return default


def to_event(
    request: HttpRequest,
    resource: str,
    path_parameters: Mapping[str, str],
    authorizer: Mapping[str, Any] | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Build the API Gateway REST proxy event for ``request`` matched to ``resource``."""
    headers, multi_headers = _multi(request.headers)
    query, multi_query = _multi(parse_qsl(request.raw_query, keep_blank_values=True))
    body: str | None = None
    is_base64 = False
    if request.body:
        if _is_binary(request.header("content-type"), request.body):
            body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
        else:
            body = request.body.decode("utf-8")
    now = time.time()
    request_id = request_id or str(uuid.uuid4())
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": "local",
        "domainName": request.host,
        "domainPrefix": request.host.split(".", 1)[0],
        "extendedRequestId": request_id,
        "httpMethod": request.method,
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or None,
            "apiKey": request.header("x-api-key") or None,
        },
        "path": f"/{STAGE}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "requestTimeEpoch": int(now * 1000),
        "resourceId": "local",
        "resourcePath": resource,
        "stage": STAGE,
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


class BadProxyResponse(ValueError):
    """The handler returned something API Gateway would answer with 502."""


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def from_response(response: Any) -> HttpResponse:
    """Turn a Lambda proxy response dict into status, headers and body bytes.

    :raises BadProxyResponse: for a malformed response (API Gateway's 502).
    """
    if not isinstance(response, Mapping):
        raise BadProxyResponse(f"handler returned {type(response).__name__}, not a dict")
    try:
        status = int(response.get("statusCode", 200))
    except (TypeError, ValueError):
        raise BadProxyResponse("statusCode is not an integer") from None
    if not 100 <= status <= 599:
        raise BadProxyResponse(f"statusCode {status} is out of range")
    merged: dict[str, list[str]] = {}
    for name, value in (response.get("headers") or {}).items():
        merged[name] = [str(value)]
    for name, values in (response.get("multiValueHeaders") or {}).items():
        if not isinstance(values, list):
            raise BadProxyResponse(f"multiValueHeaders[{name!r}] is not a list")
        merged[name] = [str(v) for v in values]
    body = response.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise BadProxyResponse("body is not a string")
    elif response.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except binascii.Error:
            raise BadProxyResponse("isBase64Encoded is true but body is not base64") from None
    else:
        data = body.encode("utf-8")
    headers = [(name, value) for name, values in merged.items() for value in values]
    return HttpResponse(status, headers, data)


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as ``context`` (the attributes Powertools reads)."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    timeout_s: float = 30.0
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_s - (time.monotonic() - self._started)
        return max(0, int(left * 1000))
