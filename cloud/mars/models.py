"""The two things the Mars API serves, independent of the feed they came from."""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, ClassVar, Self

#: The keys of the payload's ``weather`` object, in the order the answer lists them.
WEATHER_KEYS = ("source", "rover", "sol", "earth_date", "season", "ls", "min_temp_c",
                "max_temp_c", "pressure_pa", "opacity", "sunrise", "sunset")


class _Record:
    """A model as the cache stores it: a dict of its fields, and back (unknown keys ignored).
    Every subclass is a dataclass."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Photo(_Record):
    """One rover photo that may be shown.

    :ivar id: stable identity, ``"{rover}:{imageid}"``; bitmaps are keyed by it.
    :ivar url: the JPEG to download (Perseverance's 1200-px ``large`` variant).
    :ivar source_url: what a person can open to see the original.
    :ivar colour: whether the camera delivers colour (preferred over grayscale).
    """

    id: str
    rover: str
    camera: str
    sol: int
    url: str
    taken_utc: str | None = None
    source_url: str | None = None
    credit: str = "NASA/JPL-Caltech"
    colour: bool = False
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Weather(_Record):
    """The newest usable weather report of one source; missing values are ``None``.

    ``avg_temp_c``, ``wind_speed_ms``, ``first_utc`` and ``last_utc`` only feed the legacy
    ``insight`` object. ``legacy`` marks InSight data, never trusted to be fresh.
    """

    source: str
    rover: str
    sol: int
    earth_date: str | None = None
    season: str | None = None
    ls: float | None = None
    min_temp_c: float | None = None
    max_temp_c: float | None = None
    pressure_pa: float | None = None
    opacity: str | None = None
    sunrise: str | None = None
    sunset: str | None = None
    avg_temp_c: float | None = None
    wind_speed_ms: float | None = None
    first_utc: str | None = None
    last_utc: str | None = None
    legacy: bool = False

    def public(self) -> dict[str, Any]:
        """The payload's ``weather`` object."""
        return {key: getattr(self, key) for key in WEATHER_KEYS}


def _accepts(hint: Any, value: Any) -> bool:
    """Whether a JSON ``value`` fits a field annotated ``hint`` (``int``, ``str | None``...)."""
    if isinstance(hint, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is float:  # JSON writes 7.0 as 7
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, hint) and not isinstance(value, bool)


def conforms(cls: type, data: Any) -> bool:
    """Whether ``data`` (read back from JSON) makes a ``cls`` whose every field has its
    annotated type: what a cached copy must pass before it is believed."""
    if not isinstance(data, dict):
        return False
    hints = typing.get_type_hints(cls)
    for field in fields(cls):
        if field.name not in data:
            if field.default is MISSING:
                return False
        elif not _accepts(hints[field.name], data[field.name]):
            return False
    return True
