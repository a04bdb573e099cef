"""The ``GET /mars`` answer's shape: pure functions from models to the JSON the devices read.

The contract is in ``docs/ARCHITECTURE.md`` (HTTP API); ``image_url`` and ``insight`` keep the
original PyPortal Mars display's payload working unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cloud.mars.models import Photo, Weather
from cloud.mars.query import ImageRequest


def iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def insight_legacy(weather: Weather | None) -> dict[str, Any] | None:
    """The legacy ``insight`` object the original PyPortal Mars display reads."""
    if weather is None:
        return None
    average = weather.avg_temp_c
    if average is None and weather.min_temp_c is not None and weather.max_temp_c is not None:
        average = round((weather.min_temp_c + weather.max_temp_c) / 2, 1)
    day = f"{weather.earth_date}T00:00:00Z" if weather.earth_date else None
    return {"sol": str(weather.sol), "av_at": _fmt(average), "av_HWS": _fmt(weather.wind_speed_ms),
            "av_PRE": _fmt(weather.pressure_pa), "First_UTC": weather.first_utc or day,
            "Last_UTC": weather.last_utc or day, "season": weather.season}


def image_object(photo: Photo, etag: str, size: int, request: ImageRequest,
                 url: str) -> dict[str, Any]:
    """The answer's ``image``: where the bitmap is, what it is, and what it shows."""
    return {"url": url, "width": request.width, "height": request.height,
            "depth": request.depth, "bytes": size, "etag": etag, "rover": photo.rover,
            "camera": photo.camera, "sol": photo.sol, "taken_utc": photo.taken_utc,
            "source_url": photo.source_url, "credit": photo.credit}


def answer(image: dict[str, Any] | None, weather: Weather | None, *, stale: bool,
           updated: float, refresh_s: int, offline: bool = False) -> dict[str, Any]:
    """The whole ``GET /mars`` answer."""
    return {
        "image": image,
        "weather": weather.public() if weather else None,
        "stale": stale,
        "updated_utc": iso_utc(updated),
        "refresh_s": refresh_s,
        "offline": offline,
        "image_url": image["url"] if image else None,
        "insight": insight_legacy(weather),
    }
