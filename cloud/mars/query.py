"""What a device asks for: the ``GET /mars`` query parameters, parsed and checked once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cloud.bitmap import DEPTHS, DEPTHS_TEXT, FITS, MAX_SIDE, MIN_SIDE
from cloud.mars.errors import BadParameter


@dataclass(frozen=True)
class ImageRequest:
    """The bitmap a device wants: its screen size, colour depth and how to fit the photo."""

    width: int = 320
    height: int = 240
    depth: int = 8
    fit: str = "cover"


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
    width = _int_param(params, "width", 320, MIN_SIDE, MAX_SIDE)
    height = _int_param(params, "height", 240, MIN_SIDE, MAX_SIDE)
    depth = _int_param(params, "depth", 8, min(DEPTHS), max(DEPTHS))
    if depth not in DEPTHS:
        raise BadParameter(f"depth must be {DEPTHS_TEXT}, got {depth}")
    fit = params.get("fit") or "cover"
    if fit not in FITS:
        raise BadParameter(f"fit must be one of {', '.join(FITS)}, got {fit[:20]!r}")
    return ImageRequest(width, height, depth, fit)
