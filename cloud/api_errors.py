"""How every route of the backend answers an error: one JSON shape, one mapping per resolver.

The body is always ``{"error": {"code": ..., "message": ...}}``. An :class:`~cloud.errors.HttpError`
carries its own status, code and message (one ``exception_handler`` for all of them, as
Powertools looks a handler up along the exception's classes); the errors a client cannot cause
(a setting, the store) answer 500 with a fixed message and leave the details to the log; an
unknown route answers 404 in the same shape instead of Powertools' own.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from cloud.errors import HttpError

JSON = "application/json"


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, headers=headers or None,
                    body={"error": {"code": code, "message": message}})


def answer_errors(app: APIGatewayRestResolver, logger: Logger, *,
                  internal: Sequence[type[Exception]], internal_message: str) -> None:
    """Make ``app`` answer every error in the one shape.

    :param internal: errors answered 500 ``INTERNAL`` with ``internal_message``; the
        traceback goes to the log only.
    """

    @app.exception_handler(HttpError)
    def refused(exc: HttpError) -> Response:
        if exc.status >= 500:
            logger.warning("request refused", extra={"code": exc.code, "reason": str(exc)})
        return error_response(exc.status, exc.code, str(exc), exc.headers())

    @app.exception_handler(list(internal))
    def failed(exc: Exception) -> Response:
        logger.exception("request failed")
        return error_response(500, "INTERNAL", internal_message)

    @app.not_found
    def no_route(exc: Exception) -> Response:
        return error_response(404, "NOT_FOUND", "no such resource")
