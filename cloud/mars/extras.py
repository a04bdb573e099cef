"""What ``GET /mars`` adds for charts and galleries: weather ``history``, ``mars_time`` and
the ``photos`` list. Pure: it reads cached values and the clock, never an upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloud.mars import history, marstime, selection
from cloud.mars.errors import BadParameter
from cloud.mars.models import Photo, Weather

DEFAULT_PHOTOS = 6
MAX_PHOTOS = selection.ROTATION  # the candidates the photo cache keeps


@dataclass(frozen=True)
class Extras:
    """``?history=`` sols of weather per source (0-120) and ``?photos=`` list length (0-6)."""

    history: int = history.DEFAULT_SOLS
    photos: int = DEFAULT_PHOTOS


def _count(params: Mapping[str, str], name: str, default: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a whole number, got {raw[:20]!r}") from None
    if not 0 <= value <= high:
        raise BadParameter(f"{name} must be between 0 and {high}, got {value}")
    return value


def parse_extras(params: Mapping[str, str] | None) -> Extras:
    """:raises BadParameter: naming the parameter."""
    params = params or {}
    return Extras(_count(params, "history", history.DEFAULT_SOLS, history.KEEP),
                  _count(params, "photos", DEFAULT_PHOTOS, MAX_PHOTOS))


def weather_public(weather: Weather) -> dict[str, Any]:
    """The payload's ``weather`` object: the keys of ``cloud/mars/README.md`` plus ``season_name``
    from ``ls``."""
    public = weather.public()
    public["season_name"] = marstime.season(weather.ls)
    return public


def mars_time(rover: str | None, now_s: float) -> dict[str, Any] | None:
    """Sol, LMST, Ls and season at ``rover`` now (None for a rover without a known site)."""
    return marstime.now_at(rover, now_s) if rover else None


def newest_photos(photos: list[Photo], count: int) -> list[Photo]:
    """The ``count`` newest of the rotation candidates, newest first."""
    ordered = sorted(photos, key=lambda p: (p.sol, p.taken_utc or "", p.id), reverse=True)
    return ordered[:count]


def photo_entry(photo: Photo, url: str, request: Any, size: int | None,
                etag: str) -> dict[str, Any]:
    """One ``photos`` item: the device bitmap for the requested size, the original for people."""
    return {"url": url, "width": request.width, "height": request.height,
            "depth": request.depth, "bytes": size, "etag": etag, "rover": photo.rover,
            "camera": photo.camera, "sol": photo.sol, "taken_utc": photo.taken_utc,
            "full_url": None if photo.url.startswith("offline:") else photo.url,
            "source_url": photo.source_url, "credit": photo.credit}


DEFAULT = Extras()
