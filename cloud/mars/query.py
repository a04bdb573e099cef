"""What a device asks for: the ``GET /mars`` query parameters, parsed and checked once.

Two parts: the bitmap (:class:`ImageRequest`, which also names a stored bitmap and the image
route's listed URLs) and how much the answer lists beside it (:class:`Extras`). Both are read
by :func:`parse_query` and :func:`parse_extras`, through the one whole-number reader here; a
parameter left out or empty takes the dataclass's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloud.bitmap import DEPTHS, DEPTHS_TEXT, FITS, MAX_SIDE, MIN_SIDE
from cloud.mars import history, selection
from cloud.mars.errors import BadParameter

MAX_PHOTOS = selection.ROTATION  # the candidates the photo cache keeps


@dataclass(frozen=True)
class ImageRequest:
    """The bitmap a device wants: its screen size, colour depth and how to fit the photo."""

    width: int = 320
    height: int = 240
    depth: int = 8
    fit: str = "cover"


@dataclass(frozen=True)
class Extras:
    """``?history=`` sols of weather per source (0-120) and ``?photos=`` list length (0-6)."""

    history: int = history.DEFAULT_SOLS
    photos: int = 6


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a whole number, got {raw[:20]!r}") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low} and {high}, got {value}")
    return value


def parse_query(params: Mapping[str, str] | None) -> ImageRequest:
    """``width``, ``height`` (16-1024, default 320x240), ``depth`` (4, 8 or 16), ``fit``.

    :raises BadParameter: naming the parameter.
    """
    params = params or {}
    default = DEFAULT_IMAGE
    width = _int_param(params, "width", default.width, MIN_SIDE, MAX_SIDE)
    height = _int_param(params, "height", default.height, MIN_SIDE, MAX_SIDE)
    depth = _int_param(params, "depth", default.depth, min(DEPTHS), max(DEPTHS))
    if depth not in DEPTHS:
        raise BadParameter(f"depth must be {DEPTHS_TEXT}, got {depth}")
    fit = params.get("fit") or default.fit
    if fit not in FITS:
        raise BadParameter(f"fit must be one of {', '.join(FITS)}, got {fit[:20]!r}")
    return ImageRequest(width, height, depth, fit)


def parse_extras(params: Mapping[str, str] | None) -> Extras:
    """``history`` (0-120 sols, default 30) and ``photos`` (0-6, default 6).

    :raises BadParameter: naming the parameter.
    """
    params = params or {}
    return Extras(_int_param(params, "history", DEFAULT_EXTRAS.history, 0, history.KEEP),
                  _int_param(params, "photos", DEFAULT_EXTRAS.photos, 0, MAX_PHOTOS))


DEFAULT_IMAGE = ImageRequest()
DEFAULT_EXTRAS = Extras()
