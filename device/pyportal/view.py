"""What to show for a payload: pure functions from ``GET /mars`` JSON to text.

Tolerant by design: any value may be ``null`` or missing, numbers may arrive as strings, and
the legacy payload (``image_url`` + ``insight`` only) still shows something useful.
"""

DASH = "--"


def _num(value):
    """A number from an int, float or numeric string; ``None`` for anything else."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _text(value):
    if value is None:
        return DASH
    value = str(value).strip()
    return value if value and value != DASH else DASH


def degrees(celsius, units):
    """Whole degrees in ``units`` (``"C"`` or ``"F"``), ``None`` when unknown: the app's one
    conversion to °F."""
    c = _num(celsius)
    if c is None:
        return None
    return round(c * 9 / 5 + 32 if units == "F" else c)


def temperature(celsius, units):
    """``-71`` -> ``"-71°C"`` or ``"-96°F"``; ``"--"`` when unknown."""
    d = degrees(celsius, units)
    return DASH if d is None else "%d°%s" % (d, units)


def hhmm(iso):
    """``"2026-09-29T10:11:12Z"`` -> ``"10:11"``; ``""`` when it is not a timestamp."""
    if not isinstance(iso, str):
        return ""
    t = iso.find("T")
    if t < 0 or len(iso) < t + 6 or iso[t + 3] != ":":
        return ""
    return iso[t + 1:t + 6]


def _dict(value):
    return value if isinstance(value, dict) else {}


def weather(payload):
    """The weather part as a dict with the modern keys, from either payload shape."""
    w = _dict(payload.get("weather"))
    if w:
        return w
    legacy = _dict(payload.get("insight"))
    if not legacy:
        return {}
    # InSight reported averages only: show the average as both ends of the range
    return {"source": "InSight", "rover": "InSight", "sol": legacy.get("sol"),
            "earth_date": (legacy.get("First_UTC") or "")[:10] or None,
            "season": legacy.get("season"), "min_temp_c": legacy.get("av_at"),
            "max_temp_c": legacy.get("av_at"), "pressure_pa": legacy.get("av_PRE")}


def weather_lines(payload, units):
    """Four lines for the weather panel: headline, temperatures, air, sun."""
    w = weather(payload)
    if not w:
        return ("No weather report", "", "", "")
    sol = _num(w.get("sol"))
    head = "Sol %s  %s" % (DASH if sol is None else "%d" % sol, _text(w.get("earth_date")))
    low, high = w.get("min_temp_c"), w.get("max_temp_c")
    if _num(low) is not None and _num(low) == _num(high):
        temps = "avg %s" % temperature(low, units)
    else:
        temps = "%s to %s" % (temperature(low, units), temperature(high, units))
    pressure = _num(w.get("pressure_pa"))
    air = "%s Pa  %s" % (DASH if pressure is None else "%d" % round(pressure),
                         _text(w.get("season")))
    opacity = w.get("opacity")
    if opacity:
        air += "  " + _text(opacity)
    rise, down = _text(w.get("sunrise")), _text(w.get("sunset"))
    sun = "Sun --" if rise == down == DASH else "Sun %s-%s" % (rise, down)
    sun += "  " + _text(w.get("rover") or w.get("source"))
    return (head, temps, air, sun)


def image(payload):
    """``(url, etag, size)`` of the photo to show, or ``None``.

    ``size`` is the byte count the API announced (``None`` if it did not say).
    """
    img = _dict(payload.get("image"))
    url = img.get("url") or payload.get("image_url")
    if not isinstance(url, str) or not url:
        return None
    etag = img.get("etag")
    size = _num(img.get("bytes"))
    return (url, etag if isinstance(etag, str) else None, None if size is None else int(size))


def same_etag(a, b):
    """ETags compared without quotes or ``W/`` (JSON often carries them bare, headers quoted)."""
    if not a or not b:
        return False
    return a.replace("W/", "").strip('"') == b.replace("W/", "").strip('"')


def quoted_etag(etag):
    """The form ``If-None-Match`` wants."""
    return etag if etag.startswith('"') or etag.startswith("W/") else '"%s"' % etag


def caption(payload):
    """``"Perseverance NAVCAM_LEFT sol 1994"``; ``""`` without photo details."""
    img = _dict(payload.get("image"))
    parts = [str(img[k]) for k in ("rover", "camera") if img.get(k)]
    sol = _num(img.get("sol"))
    if sol is not None:
        parts.append("sol %d" % sol)
    return " ".join(parts)


def status_updated(payload):
    """Status after a good fetch: ``"updated 10:11"`` or, for server-side stale data, why."""
    at = hhmm(payload.get("updated_utc"))
    if payload.get("stale"):
        return "NASA unreachable, data from %s" % (at or "earlier")
    return "updated %s UTC" % at if at else "updated"


def status_failed(last_ok, error):
    """Status after a failed fetch: stale when there is something on screen, else the error."""
    words = short_error(error)
    if last_ok:
        return "stale since %s: %s" % (last_ok, words)
    return "no data yet: %s" % words


# errno values of network failures (the same numbers on CircuitPython and Linux)
ERRNO_WORDS = {110: "timed out", 23: "no free socket", 104: "connection reset",
               113: "no route to host", 111: "connection refused"}


def short_error(error):
    """An exception in a few words for the status line."""
    code = getattr(error, "errno", None)
    if code is None and getattr(error, "args", None) and isinstance(error.args[0], int):
        code = error.args[0]
    text = (code is not None and ERRNO_WORDS.get(code)) or str(error) or type(error).__name__
    if len(text) > 40:
        text = text[:39] + "~"
    return text


def refresh_delay(failures, refresh_s, base_s=15):
    """Seconds until the next try: the refresh period, or an exponential backoff after errors."""
    if failures <= 0:
        return refresh_s
    return min(refresh_s, base_s * (1 << min(failures - 1, 10)))
