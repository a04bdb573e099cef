"""The ``GET /mars`` answer's shape: pure functions from models to the JSON the devices read.

The contract is in ``cloud/mars/README.md`` (Mars API); ``image_url`` and ``insight`` keep the
original PyPortal Mars display's payload working unchanged. Every key of the answer is written
here, and a photo is written by :func:`photo_object` alone, as ``image`` or as a ``photos`` item.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cloud.mars import marstime
from cloud.mars.models import Photo, Weather
from cloud.mars.query import ImageRequest

OFFLINE_URL = "offline:"  # the offline sample's photo has no original to link


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


def weather_object(weather: Weather | None) -> dict[str, Any] | None:
    """The answer's ``weather``: the report's public keys plus ``season_name`` from ``ls``."""
    if weather is None:
        return None
    return {**weather.public(), "season_name": marstime.season(weather.ls)}


def photo_object(photo: Photo, request: ImageRequest, *, url: str, size: int | None, etag: str,
                 listed: bool = False) -> dict[str, Any]:
    """A photo as the answer gives it: where its bitmap is, what it is, and what it shows.

    :param size: the bitmap's bytes; ``None`` for a listed bitmap not converted yet.
    :param listed: a ``photos`` item, which adds ``full_url`` (the original, for people);
        otherwise the answer's ``image``.
    """
    item = {"url": url, "width": request.width, "height": request.height,
            "depth": request.depth, "bytes": size, "etag": etag, "rover": photo.rover,
            "camera": photo.camera, "sol": photo.sol, "taken_utc": photo.taken_utc,
            "source_url": photo.source_url, "credit": photo.credit}
    if listed:
        item["full_url"] = None if photo.url.startswith(OFFLINE_URL) else photo.url
    return item


def mars_time(rover: str | None, now_s: float) -> dict[str, Any] | None:
    """Sol, LMST, Ls and season at ``rover`` now (None for a rover without a known site)."""
    return marstime.now_at(rover, now_s) if rover else None


def answer(image: dict[str, Any] | None, weather: Weather | None, *, stale: bool,
           updated: float, refresh_s: int, now_s: float, history: list[dict] | None = None,
           photos: list[dict[str, Any]] | None = None, offline: bool = False) -> dict[str, Any]:
    """The whole ``GET /mars`` answer; ``mars_time`` is at the weather's rover, else the
    photo's."""
    rover = weather.rover if weather else image["rover"] if image else None
    return {
        "image": image,
        "weather": weather_object(weather),
        "stale": stale,
        "updated_utc": iso_utc(updated),
        "refresh_s": refresh_s,
        "offline": offline,
        "image_url": image["url"] if image else None,
        "insight": insight_legacy(weather),
        "history": history or [],
        "photos": photos or [],
        "mars_time": mars_time(rover, now_s),
    }
