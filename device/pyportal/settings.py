"""Settings from ``settings.toml``, validated once at start.

``os.getenv`` returns ``int`` for ``KEY = 123`` on some firmware versions and ``str`` on others:
everything here goes through ``str()`` / ``int()`` so both work.
"""

import os

from errors import SettingError


class Settings:
    """The validated settings; build it with :func:`load`."""

    def __init__(self, ssid, password, api_url, api_key, refresh_minutes, units,
                 view=None, gallery_seconds=30):
        self.ssid = ssid
        self.password = password
        self.api_url = api_url
        self.api_key = api_key
        self.refresh_minutes = refresh_minutes
        self.units = units
        self.view = view
        self.gallery_seconds = gallery_seconds

    def __repr__(self):
        # the password and the key never reach the serial log
        return "Settings(ssid=%r, api_url=%r, refresh_minutes=%d, units=%r)" % (
            self.ssid, self.api_url, self.refresh_minutes, self.units)


def _text(getenv, name, default=None):
    value = getenv(name)
    if value is None:
        if default is None:
            raise SettingError(name, "is missing")
        return default
    value = str(value).strip()
    if not value and default is None:
        raise SettingError(name, "is empty")
    return value


def _api_url(getenv):
    url = _text(getenv, "MARS_API_URL")
    if not (url.startswith("http://") or url.startswith("https://")):
        raise SettingError("MARS_API_URL", "must start with https:// or http://")
    url = url.rstrip("/")
    # people paste the full endpoint; the app adds /mars itself
    if url.endswith("/mars"):
        url = url[:-5]
    if "?" in url or " " in url:
        raise SettingError("MARS_API_URL", "must be a base URL without ? or spaces")
    return url


def _minutes(getenv):
    raw = _text(getenv, "REFRESH_MINUTES", "10")
    try:
        minutes = int(raw)
    except ValueError:
        raise SettingError("REFRESH_MINUTES", "must be a whole number of minutes") from None
    if not 1 <= minutes <= 1440:
        raise SettingError("REFRESH_MINUTES", "must be between 1 and 1440")
    return minutes


def _units(getenv):
    units = _text(getenv, "UNITS", "C").upper()
    if units not in ("C", "F"):
        raise SettingError("UNITS", 'must be "C" or "F"')
    return units


VIEWS = ("classic", "photo", "weather", "gallery")


def _view(getenv):
    """The view shown first; None (unset) or "classic": the classic screen alone."""
    name = _text(getenv, "VIEW", "-").lower()
    if name == "-":
        return None
    if name not in VIEWS:
        raise SettingError("VIEW", "must be classic, photo, weather or gallery")
    return name


def _gallery_seconds(getenv):
    raw = _text(getenv, "GALLERY_SECONDS", "30")
    try:
        seconds = int(raw)
    except ValueError:
        raise SettingError("GALLERY_SECONDS", "must be a whole number of seconds") from None
    if not 5 <= seconds <= 3600:
        raise SettingError("GALLERY_SECONDS", "must be between 5 and 3600")
    return seconds


def load(getenv=os.getenv):
    """Read and check every setting.

    :param getenv: where values come from (``os.getenv`` on the board).
    :raises SettingError: naming the first missing or invalid setting.
    """
    return Settings(
        ssid=_text(getenv, "CIRCUITPY_WIFI_SSID"),
        password=_text(getenv, "CIRCUITPY_WIFI_PASSWORD", ""),
        api_url=_api_url(getenv),
        api_key=_text(getenv, "MARS_API_KEY"),
        refresh_minutes=_minutes(getenv),
        units=_units(getenv),
        view=_view(getenv),
        gallery_seconds=_gallery_seconds(getenv),
    )
