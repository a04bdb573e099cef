"""Every environment variable the cloud handlers read, in one place.

Each setting has a name, a default and a parser. :func:`load` validates them all at once and
fails fast with a :class:`~cloud.errors.ConfigError` naming the variable and where to set it.
In AWS the values come from ``template.yaml`` (``Globals.Function.Environment``); on a laptop
from the shell that starts ``python -m tools.stack``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import urlparse

from cloud.errors import ConfigError

WHERE = "set it in the environment (template.yaml in AWS, your shell for the local stack)"
ROVERS = ("perseverance", "curiosity")


def _url(value: str) -> str:
    parts = urlparse(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http(s) URL such as https://mars.nasa.gov")
    return value.rstrip("/")


def _optional_url(value: str) -> str | None:
    return _url(value) if value else None


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("expected a whole number above 0")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError("expected a number of seconds above 0")
    return number


def _flag(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected 1 or 0")


def _names(allowed: tuple[str, ...] | None = None) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        names = tuple(n.strip().lower() for n in value.split(",") if n.strip())
        if not names:
            raise ValueError("expected a comma-separated list of names")
        for name in names:
            if allowed and name not in allowed:
                raise ValueError(f"unknown name {name!r} (expected {', '.join(allowed)})")
        return names

    return parse


def _robot_names(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        raise ValueError("expected a comma-separated list of robot names")
    for name in names:
        if not all(c.isalnum() or c in "-_" for c in name) or len(name) > 128:
            raise ValueError(f"robot name {name!r} may only use letters, digits, '-' and '_'")
    return names


def _text(value: str) -> str:
    return value


def _parameter_name(value: str) -> str:
    # SSM's own rule for names: letters, digits and _.-/ (a path starts with /)
    if value and not all(c.isascii() and (c.isalnum() or c in "_.-/") for c in value):
        raise ValueError("expected an SSM parameter name such as /mars-robot/nasa-api-key")
    return value


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


@dataclass(frozen=True)
class Setting:
    """One environment variable: its default (``None`` = required) and its parser."""

    env: str
    default: str | None
    parse: Callable[[str], Any]
    doc: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("MARS_SITE_BASE", "https://mars.nasa.gov", _url,
            "Base URL of the live mars.nasa.gov feeds (raw images, REMS/MEDA weather)."),
    Setting("NASA_API_BASE", "https://api.nasa.gov", _url,
            "Base URL of api.nasa.gov (InSight weather, legacy)."),
    Setting("NASA_API_KEY", "DEMO_KEY", _text,
            "api.nasa.gov key (the local stack; AWS reads NASA_API_KEY_PARAMETER).", secret=True),
    Setting("NASA_API_KEY_PARAMETER", "", _parameter_name,
            "SSM SecureString holding the api.nasa.gov key, read once per container; "
            "empty = NASA_API_KEY."),
    Setting("MARS_PHOTOS_API_BASE", "", _optional_url,
            "Base URL of a Mars-Rover-Photos-shaped mirror; empty = off."),
    Setting("MARS_ROVERS", "perseverance,curiosity", _names(ROVERS),
            "Rovers to take photos from, in order of preference."),
    Setting("MARS_STORE", ".local-data", _text,
            "Where metadata and bitmaps live: s3://bucket[/prefix] in AWS, a directory locally."),
    Setting("IMAGE_TTL_S", "1800", _positive_int, "Seconds before image metadata is refreshed."),
    Setting("WEATHER_TTL_S", "3600", _positive_int, "Seconds before weather is refreshed."),
    Setting("REFRESH_S", "600", _positive_int, "Seconds the devices should wait between fetches."),
    Setting("MARS_OFFLINE_SAMPLE", "0", _flag,
            "1 = with no NASA data at all, serve a labelled offline sample instead of 503."),
    Setting("MARS_IMAGE_HOSTS", "mars.nasa.gov,mars.jpl.nasa.gov", _names(),
            "Hosts photos may be fetched from over https (besides the configured bases)."),
    Setting("HTTP_CONNECT_TIMEOUT_S", "3", _positive_float,
            "Seconds to wait for a NASA server to accept the connection."),
    Setting("HTTP_READ_TIMEOUT_S", "5", _positive_float,
            "Seconds to wait for each read from a NASA server."),
    Setting("HTTP_DEADLINE_S", "8", _positive_float,
            "Seconds one NASA request may take in all, retries included (below the Lambda "
            "timeout)."),
    Setting("HTTP_MAX_BYTES", "26214400", _positive_int,
            "Largest NASA response or photo downloaded, in bytes."),
    Setting("CONVERT_WORKERS", "2", _positive_int,
            "Bitmap conversions one process runs at once (each keeps a core busy)."),
    Setting("CONVERT_QUEUE", "8", _positive_int,
            "Bitmap conversions that may wait for a turn; more are refused until one ends."),
    Setting("CONVERT_MEMORY_MB", "512", _positive_int,
            "Memory the conversions running at once may take together, estimated from each "
            "photo's header (the Mars functions have 1024 MB)."),
    Setting("ROBOT_NAMES", "sts-pi", _robot_names,
            "Robots the robot routes accept (comma-separated)."),
    Setting("IOT_DATA_ENDPOINT", "", _text,
            "AWS IoT data endpoint (iot:Data-ATS); empty = look it up once per container."),
    Setting("MQTT_URL", "", _text, "Local stack only: the broker robot commands go to."),
    Setting("USER_POOL_ID", "", _text,
            "Cognito user pool whose groups say whose robot it is, read live; empty = the "
            "token's groups alone (the local stack, whose gateway is the authority)."),
    Setting("LOG_LEVEL", "INFO", _log_level, "Log level of the handlers."),
)


@dataclass(frozen=True)
class Config:
    """Validated settings, one typed attribute per variable (``config.mars_site_base``).

    :data:`SETTINGS` is the one list of variables, defaults and parsers; a setting added there
    needs its attribute here (the module refuses to import otherwise).
    """

    mars_site_base: str
    nasa_api_base: str
    nasa_api_key: str
    nasa_api_key_parameter: str
    mars_photos_api_base: str | None
    mars_rovers: tuple[str, ...]
    mars_store: str
    image_ttl_s: int
    weather_ttl_s: int
    refresh_s: int
    mars_offline_sample: bool
    mars_image_hosts: tuple[str, ...]
    http_connect_timeout_s: float
    http_read_timeout_s: float
    http_deadline_s: float
    http_max_bytes: int
    convert_workers: int
    convert_queue: int
    convert_memory_mb: int
    robot_names: tuple[str, ...]
    iot_data_endpoint: str
    mqtt_url: str
    user_pool_id: str
    log_level: str

    def redacted(self) -> dict[str, Any]:
        """The settings with secrets masked, safe to log."""
        secret = {s.env.lower() for s in SETTINGS if s.secret}
        return {k: ("***" if k in secret and v else v) for k, v in asdict(self).items()}


_UNMATCHED = {f.name for f in fields(Config)} ^ {s.env.lower() for s in SETTINGS}
if _UNMATCHED:
    raise ImportError(f"cloud.config: SETTINGS and Config disagree on {sorted(_UNMATCHED)}")


def load(environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate every setting.

    :param environ: the environment to read (default :data:`os.environ`).
    :raises ConfigError: naming the first variable that is missing or invalid.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env, setting.default)
        if raw is None:
            raise ConfigError(f"{setting.env} is required ({setting.doc}); {WHERE}")
        try:
            values[setting.env.lower()] = setting.parse(raw.strip())
        except ValueError as exc:
            shown = "***" if setting.secret else repr(raw)
            raise ConfigError(f"{setting.env}={shown} is invalid: {exc}; {WHERE}") from None
    return Config(**values)
