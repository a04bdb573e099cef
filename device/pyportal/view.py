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


SEASONS = ("spring", "summer", "autumn", "winter")


def season(w):
    """The season of report ``w`` in words (``"northern winter"``): the API's ``season_name``,
    else from Ls as the API names it (cloud/mars/marstime.py: a quarter of the orbit each from
    Ls 0), else from the feed's ``"Month 12"`` (Mars month N spans Ls 30(N-1) to 30N); words
    the feed already gave (InSight's ``"summer"``) stay; ``""`` when unknown."""
    name = w.get("season_name")
    if isinstance(name, str) and name.strip():
        return name.strip()
    ls = _num(w.get("ls"))
    if ls is None:
        text = _text(w.get("season"))
        if not text.startswith("Month "):
            return "" if text == DASH else text
        month = _num(text[6:])
        if month is None or not 1 <= month <= 12:
            return ""
        ls = (month - 1) * 30
    return "northern " + SEASONS[int(ls % 360 // 90)]


def sun(w):
    """``"sunrise 06:46  sunset 18:51"`` (``--`` for a time the report lacks)."""
    return "sunrise %s  sunset %s" % (_text(w.get("sunrise")), _text(w.get("sunset")))


def sol_age(payload):
    """How old the report's sol is at the rover's sol now (``mars_time``): ``"today"``,
    ``"1 sol ago"``, ``"98 sols ago"``; ``""`` when it cannot be said (no time at that rover,
    or a report ahead of it). The page says it alike (cloud/web/mars-words.js)."""
    w = weather(payload)
    t = payload.get("mars_time")
    if not isinstance(t, dict) or not w.get("rover") or t.get("rover") != w.get("rover"):
        return ""
    sol, now = _num(w.get("sol")), _num(t.get("sol"))
    if sol is None or now is None or now < sol:
        return ""
    age = int(now - sol)
    return "today" if age == 0 else "1 sol ago" if age == 1 else "%d sols ago" % age


def sol_words(payload):
    """``"Sol 4995, 94 sols ago"``, or ``"Sol 4995"`` when its age is unknown; ``""`` without
    a sol."""
    sol = _num(weather(payload).get("sol"))
    if sol is None:
        return ""
    age = sol_age(payload)
    return "Sol %d, %s" % (sol, age) if age else "Sol %d" % sol


def weather_lines(payload, units):
    """Four lines for the weather panel: headline, temperatures, air, sun."""
    w = weather(payload)
    if not w:
        return ("No weather report", "", "", "")
    head = "%s  %s" % (sol_words(payload) or "Sol " + DASH, _text(w.get("earth_date")))
    low, high = w.get("min_temp_c"), w.get("max_temp_c")
    if _num(low) is not None and _num(low) == _num(high):
        temps = "avg %s" % temperature(low, units)
    else:
        temps = "%s to %s" % (temperature(low, units), temperature(high, units))
    pressure = _num(w.get("pressure_pa"))
    air = "%s Pa  %s" % (DASH if pressure is None else "%d" % round(pressure),
                         season(w) or DASH)
    opacity = w.get("opacity")
    if opacity:
        air += "  " + _text(opacity)
    return (head, temps, air, sun(w) + "  " + _text(w.get("rover") or w.get("source")))


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


def refresh_delay_ms(failures, refresh_s, jitter, base_s=15):
    """Milliseconds until the next try: the refresh period give or take a tenth, or after
    errors an exponential backoff (capped at the period), from half of it to all of it.

    :param jitter: a number in [0, 1) drawn for this wait (``random.random()``), so boards
        that power on together (a power cut ending) do not ask the API in step for ever.
    """
    if failures <= 0:
        low, high = refresh_s * 900, refresh_s * 1100
    else:
        high = min(refresh_s, base_s * (1 << min(failures - 1, 10))) * 1000
        low = high // 2
    return low + int((high - low) * jitter)
