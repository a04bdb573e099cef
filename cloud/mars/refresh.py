"""The scheduled refresh (EventBridge): keeps weather, photo metadata and bitmaps warm.

It refreshes both resources whatever their age and converts every rotation candidate for the
PyPortal (320x240) and the Titano (480x320) at depth 8, so user requests are answered from the
cache. A failed upstream leaves the last good data in place; the result says what happened.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from cloud.mars import runtime

logger = Logger(service="mars-refresh")


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict[str, Any]:
    try:
        report = runtime.service().refresh()
        logger.info("refreshed", extra={"report": report})
        return report
    finally:
        runtime.telemetry.flush()
