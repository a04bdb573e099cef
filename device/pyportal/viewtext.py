"""Texts of the Photo strip and the Weather view: pure functions, tolerant of nulls and of
payloads without the newer keys (``history``, ``mars_time``, ``season_name``)."""

import view

DASH = view.DASH


def today_line(w, units, degree="°"):
    """``"-71/-5°C"``: today's low and high, large. ``degree`` is ``""`` for a font without
    the sign (the board's built-in one)."""
    low, high = view.degrees(w.get("min_temp_c"), units), view.degrees(w.get("max_temp_c"),
                                                                      units)
    if low is None and high is None:
        return "%s%s%s" % (DASH, degree, units)
    return "%s/%s%s%s" % (_whole(low), _whole(high), degree, units)


def _whole(value):
    return DASH if value is None else "%d" % value


def sol_line(w):
    sol = view._num(w.get("sol"))
    return "" if sol is None else "Sol %d" % sol


def local_time_line(payload):
    """``"14:03 LMST"`` at the rover now, from ``mars_time``; ``""`` without it."""
    t = payload.get("mars_time")
    lmst = t.get("lmst") if isinstance(t, dict) else None
    if not isinstance(lmst, str) or len(lmst) < 5:
        return ""
    return "%s LMST" % lmst[:5]


def season_line(payload, others=()):
    """``"northern winter, Ls 341"``, plus which other source the history holds."""
    w = view.weather(payload)
    text = view.season(w) or DASH
    ls = view._num(w.get("ls"))
    if ls is not None:
        text += ", Ls %d" % round(ls)
    if others:
        text += " (+%s)" % ",".join(others)
    return text


def series_line(payload, units, degree="°"):
    """What the chart shows, under it: ``"Curiosity (REMS), °C"``."""
    w = view.weather(payload)
    rover, source = w.get("rover"), w.get("source")
    name = "%s (%s)" % (rover, source) if rover and source else str(rover or source or "")
    return "%s, %s%s" % (name, degree, units) if name else degree + units


def pressure_text(w):
    p = view._num(w.get("pressure_pa"))
    return "%s Pa" % (DASH if p is None else "%d" % round(p))


def strip_line(payload, units, degree="°"):
    """One line for the Photo view's strip: ``"-71/-5°C  777 Pa  Sol 4995, 94 sols ago"``."""
    w = view.weather(payload)
    if not w:
        return "No weather report"
    parts = (today_line(w, units, degree), pressure_text(w), view.sol_words(payload))
    return "  ".join([p for p in parts if p])


def gallery_items(payload):
    """The ``photos`` list as ``(url, etag, size, caption)`` tuples, unusable items left out."""
    items = []
    photos = payload.get("photos")
    for p in photos if isinstance(photos, list) else ():
        if not isinstance(p, dict) or not isinstance(p.get("url"), str) or not p.get("url"):
            continue
        etag = p.get("etag") if isinstance(p.get("etag"), str) else None
        size = view._num(p.get("bytes"))
        items.append((p["url"], etag, None if size is None else int(size),
                      view.caption({"image": p})))
    return items
