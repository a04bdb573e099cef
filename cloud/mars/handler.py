"""``GET /mars`` and ``GET /mars/image/{image_id}``: the Lambda handler (Powertools style).

The routes parse, validate and dispatch; :mod:`cloud.mars.service` decides. The API key is
checked before this runs (API Gateway in AWS, the local gateway on a laptop).
"""

from __future__ import annotations

import re

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloud.bitmap import BitmapError
from cloud.errors import ConfigError
from cloud.mars import runtime
from cloud.mars.errors import BadParameter, NoData, NotFound
from cloud.mars.query import parse_extras, parse_query
from cloud.mars.store import StoreError

logger = Logger(service="mars")
app = APIGatewayRestResolver()
JSON = "application/json"


def _error(status: int, code: str, message: str, **headers: str) -> Response:
    return Response(status_code=status, content_type=JSON, headers=headers or None,
                    body={"error": {"code": code, "message": message}})


HOST = re.compile(r"^(?:[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]{2,45}\])"
                  r"(?::[0-9]{1,5})?$")


def _base_url() -> str:
    """``scheme://host`` the client used, for image URLs the device can fetch back.

    Both come from request headers, so only a well-formed host and ``http``/``https`` are
    taken: nothing else a client sends is echoed into ``image.url``.
    """
    headers = app.current_event.headers or {}
    lower = {k.lower(): v for k, v in headers.items()}
    scheme = lower.get("x-forwarded-proto", "http").split(",")[0].strip().lower()
    host = lower.get("host", "").strip()
    return (f"{scheme if scheme in ('http', 'https') else 'http'}://"
            f"{host if HOST.match(host) else 'localhost'}")


STAGE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def _api_base() -> str:
    """:func:`_base_url` plus the API Gateway stage when called on an ``execute-api`` host
    (``.../prod``), so this API's own routes can be linked from the answer."""
    base = _base_url()
    stage = (app.current_event.request_context.stage or "") if base.endswith(
        ".amazonaws.com") else ""
    return f"{base}/{stage}" if STAGE.match(stage) else base


@app.get("/mars")
def get_mars() -> Response:
    params = app.current_event.query_string_parameters
    request, more = parse_query(params), parse_extras(params)
    payload = runtime.service().payload(request, _api_base(), more)
    return Response(status_code=200, content_type=JSON, body=payload,
                    headers={"Cache-Control": "no-store"})


@app.get("/mars/image/<image_id>")
def get_image(image_id: str) -> Response:
    data = runtime.service().bitmap(image_id, app.current_event.query_string_parameters)
    etag = '"' + (image_id[:-4] if image_id.endswith(".bmp") else image_id) + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable"}
    wanted = (app.current_event.headers or {})
    match = next((v for k, v in wanted.items() if k.lower() == "if-none-match"), "")
    if etag in [t.strip().removeprefix("W/") for t in match.split(",")] or match.strip() == "*":
        return Response(status_code=304, headers=headers, body=None)
    return Response(status_code=200, content_type="image/bmp", headers=headers, body=data)


@app.not_found
def no_route(exc: Exception) -> Response:
    # Powertools' own 404 body has another shape; every error here has the same one.
    return _error(404, "NOT_FOUND", "no such resource")


@app.exception_handler(BadParameter)
def bad_parameter(exc: BadParameter) -> Response:
    return _error(400, "BAD_PARAMETER", str(exc))


@app.exception_handler(NotFound)
def not_found(exc: NotFound) -> Response:
    return _error(404, "NOT_FOUND", str(exc))


@app.exception_handler(NoData)
def no_data(exc: NoData) -> Response:
    logger.warning("no data to answer with", extra={"reason": str(exc)})
    return _error(503, "NO_DATA", str(exc), **{"Retry-After": str(exc.retry_after_s)})


@app.exception_handler([ConfigError, StoreError, BitmapError])
def server_error(exc: Exception) -> Response:
    logger.exception("request failed")
    return _error(500, "INTERNAL", "the Mars API failed; see its log")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    try:
        return app.resolve(event, context)
    finally:
        runtime.telemetry.flush()
