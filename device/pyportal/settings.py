"""Settings from ``settings.toml``, validated once at start.

``os.getenv`` returns ``int`` for ``KEY = 123`` on some firmware versions and ``str`` on others:
everything here goes through ``str()`` / ``int()`` so both work. The installer on the computer
runs the same readers (:func:`read`) before it writes a value, so both refuse alike. Needed
once: ``code.py`` lets the module go after :func:`load` (about 4 KB of heap), which is why
:class:`Settings` has no methods (a method would keep the module).
"""

import os

from errors import SettingError


class Settings:
    """The validated settings, as attributes; build it with :func:`load`. Its ``repr`` names
    none of them, so the password and the key never reach the serial log."""

    ssid = ""
    password = ""
    api_url = ""
    api_key = ""
    refresh_minutes = 10
    units = "C"
    view = None  # type: str | None
    gallery_seconds = 30
    depth = None  # type: int | None


def text(getenv, name, default=None):
    value = getenv(name)
    if value is None:
        if default is None:
            raise SettingError(name, "is missing")
        return default
    value = str(value).strip()
    if not value and default is None:
        raise SettingError(name, "is empty")
    return value


def _ipv4(host):
    """The 32-bit value of a numeric IPv4 host as the ESP32's lwIP reads it (``a.b.c.d``, and
    the short forms ``a``, ``a.b``, ``a.b.c``: ``127.1`` is 127.0.0.1); None for a name."""
    parts = host.split(".")
    if len(parts) > 4 or not all(p.isdigit() for p in parts):
        return None
    value = 0
    for p in parts[:-1]:
        if int(p) > 255:
            return None
        value = value << 8 | int(p)
    bits = 8 * (5 - len(parts))
    last = int(parts[-1])
    return None if last >> bits else value << bits | last


def _host(url):
    """``(host, port)`` of an ``http(s)://`` URL, lower case, without user and brackets."""
    host = url[url.find("//") + 2:].split("/")[0].split("@")[-1].lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:], ""
    return (host.split(":", 1) + [""])[:2]


def url_problem(url):
    """What makes ``url`` no ``MARS_API_URL`` for any board, in a few words; None when nothing
    does. The board checks it at start and the installer before it writes the URL (which also
    refuses this computer's loopback and link-local hosts: the simulator, a program on this
    computer, reaches those, so the app itself does not refuse them)."""
    if not (url.startswith("http://") or url.startswith("https://")):
        return "must start with https:// or http://"
    if "?" in url or " " in url:
        return "must be a base URL without ? or spaces"
    host, port = _host(url)
    if ":" in host:
        return "is IPv6; the board has IPv4 only"
    if not host:
        return "has no host name"
    if port and not port.isdigit():
        return "has a port that is not a number"
    if _ipv4(host) == 0:
        return "%s is no address to connect to" % host
    return None


def api_url(getenv):
    url = text(getenv, "MARS_API_URL")
    problem = url_problem(url)
    if problem:
        raise SettingError("MARS_API_URL", problem)
    url = url.rstrip("/")
    # people paste the full endpoint; the app adds /mars itself
    return url[:-5] if url.endswith("/mars") else url


def _whole(getenv, name, default, low, high, unit):
    raw = text(getenv, name, default)
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(name, "must be a whole number of " + unit) from None
    if not low <= value <= high:
        raise SettingError(name, "must be between %d and %d" % (low, high))
    return value


def minutes(getenv):
    return _whole(getenv, "REFRESH_MINUTES", "10", 1, 1440, "minutes")


def units(getenv):
    units = text(getenv, "UNITS", "C").upper()
    if units not in ("C", "F"):
        raise SettingError("UNITS", 'must be "C" or "F"')
    return units


VIEWS = ("classic", "photo", "weather", "gallery")


def view(getenv):
    """The view shown first; None (unset) or "classic": the classic screen alone."""
    name = text(getenv, "VIEW", "-").lower()
    if name == "-":
        return None
    if name not in VIEWS:
        raise SettingError("VIEW", "must be classic, photo, weather or gallery")
    return name


def gallery_seconds(getenv):
    return _whole(getenv, "GALLERY_SECONDS", "30", 5, 3600, "seconds")


def depth(getenv):
    """Bits per pixel of the photos asked for: 4 (16 colours, half the bytes) or 8 (256);
    None (unset): the app chooses."""
    raw = text(getenv, "DEPTH", "-")
    if raw == "-":
        return None
    if raw not in ("4", "8"):
        raise SettingError("DEPTH", "must be 4 or 8")
    return int(raw)


# the reader of each setting with a rule beyond "is there" (the installer runs them too)
READERS = {"MARS_API_URL": api_url, "REFRESH_MINUTES": minutes, "UNITS": units, "VIEW": view,
           "GALLERY_SECONDS": gallery_seconds, "DEPTH": depth}


def read(name, value):
    """``value`` of setting ``name`` as the app reads it (the installer's check).

    :raises SettingError: what is wrong with it.
    """
    reader = READERS.get(name)
    if reader is None:  # a setting that only has to be there
        return text(lambda key: value, name)
    return reader(lambda key, default=None: value)


def load(getenv=os.getenv):
    """Read and check every setting.

    :param getenv: where values come from (``os.getenv`` on the board).
    :raises SettingError: naming the first missing or invalid setting.
    """
    s = Settings()
    s.ssid = text(getenv, "CIRCUITPY_WIFI_SSID")
    s.password = text(getenv, "CIRCUITPY_WIFI_PASSWORD", "")
    s.api_url = api_url(getenv)
    s.api_key = text(getenv, "MARS_API_KEY")
    s.refresh_minutes = minutes(getenv)
    s.units = units(getenv)
    s.view = view(getenv)
    s.gallery_seconds = gallery_seconds(getenv)
    s.depth = depth(getenv)  # None: the app picks 4 or 8 (app.App.depth)
    return s
