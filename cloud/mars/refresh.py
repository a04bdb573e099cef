"""The scheduled refresh (EventBridge): keeps weather, photo metadata and bitmaps warm.

It refreshes both resources whatever their age and converts every rotation candidate for the
PyPortal (320x240) and the Titano (480x320) at depths 4 and 8, so user requests are answered
from the cache. A failed upstream leaves the last good data in place; the result says what happened.

When NASA could not refresh the weather or the photos, the invocation fails after logging its
report: the function's ``Errors`` metric, which AWS records for free, is then the upstream
alarm's signal (no paid custom metric needed), and the event goes to the on-failure queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloud import config as cloud_config
from cloud.mars import runtime
from cloud.mars.errors import MarsError


class RefreshFailed(MarsError, RuntimeError):
    """NASA could not refresh the weather or the photos; the last good data stays served."""

logger = Logger(service="mars")  # service.py and http.py log through it (child loggers)


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict[str, Any]:
    try:
        # start no photo that could not finish: one request's deadline and a margin stay
        margin_s = cloud_config.load().http_deadline_s + 5
        report = runtime.service().refresh(
            budget_s=context.get_remaining_time_in_millis() / 1000 - margin_s)
        failed = [name for name in ("weather", "photos") if report[name] != "fresh"]
        if failed:
            logger.error("refresh failed", extra={"report": report})
            raise RefreshFailed(f"could not refresh {' and '.join(failed)} "
                                f"({'; '.join(report['errors'])[:300]})")
        logger.info("refreshed", extra={"report": report})
        return report
    finally:
        runtime.telemetry.flush()
