"""``GET /mars`` and ``GET /mars/image/{image_id}``: the Lambda handler (Powertools style).

The routes parse, validate and dispatch; :mod:`cloud.mars.service` decides. The API key is
checked before this runs (API Gateway in AWS, the local gateway on a laptop).
"""

from __future__ import annotations

import re
import time

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloud.api_errors import JSON, answer_errors
from cloud.bitmap import BitmapError
from cloud.errors import ConfigError
from cloud.mars import cdn, runtime
from cloud.mars.query import parse_extras, parse_query
from cloud.mars.store import StoreError

logger = Logger(service="mars")
app = APIGatewayRestResolver()
answer_errors(app, logger, internal=(ConfigError, StoreError, BitmapError),
              internal_message="the Mars API failed; see its log")

HOST = re.compile(r"^(?:[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]{2,45}\])"
                  r"(?::[0-9]{1,5})?$")


def _base_url() -> str:
    """``scheme://host`` the client used, for image URLs the device can fetch back.

    Both come from request headers, so only a well-formed host and ``http``/``https`` are
    taken: nothing else a client sends is echoed into ``image.url``.
    """
    headers = app.current_event.headers  # Powertools': names in any case
    scheme = headers.get("X-Forwarded-Proto", "http").split(",")[0].strip().lower()
    host = headers.get("Host", "").strip()
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
    behind_cdn = cdn.CDN_HEADER in app.current_event.headers
    # behind CloudFront: image links relative to the host the device asked, through its cache
    payload = runtime.service().payload(request, "" if behind_cdn else _api_base(), more)
    cache = (cdn.mars_cache_control(time.time(), int(payload.get("refresh_s") or 600),
                                    bool(payload.get("stale"))) if behind_cdn else "no-store")
    return Response(status_code=200, content_type=JSON, body=payload,
                    headers={"Cache-Control": cache})


@app.get("/mars/image/<image_id>")
def get_image(image_id: str) -> Response:
    data = runtime.service().bitmap(image_id, app.current_event.query_string_parameters)
    etag = '"' + (image_id[:-4] if image_id.endswith(".bmp") else image_id) + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=31536000, immutable"}
    match = app.current_event.headers.get("If-None-Match", "")
    if etag in [t.strip().removeprefix("W/") for t in match.split(",")] or match.strip() == "*":
        return Response(status_code=304, headers=headers, body=None)
    return Response(status_code=200, content_type="image/bmp", headers=headers, body=data)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    try:
        return app.resolve(event, context)
    finally:
        runtime.telemetry.flush()
