"""Weather history: the last sols of a weather feed as a compact series, for charts.

Pure functions. A refresh parses the feed once (:func:`series_for`) and keeps the newest
:data:`KEEP` sols of that source in the cached weather value; each ``GET /mars`` then cuts the
window it asked for (:func:`window`) without going upstream. When the answering source changes
(REMS down, MEDA answers), the previous source's series is kept beside the new one
(:func:`carry_over`), so a chart can show where one source ends and the other begins.
"""

from __future__ import annotations

from typing import Any

from cloud.mars.feedvalues import newest_first, number, text

DEFAULT_SOLS = 30
KEEP = 120  # the most a request may ask for; also what the cache keeps per source
MAX_SOURCES = 3  # REMS, MEDA, InSight
POINT_KEYS = ("sol", "earth_date", "min_temp_c", "max_temp_c", "pressure_pa")
_VALUES = POINT_KEYS[2:]


def _point(sol: int, earth_date: Any, low: Any, high: Any, pressure: Any) -> dict[str, Any]:
    return {"sol": sol, "earth_date": text(earth_date), "min_temp_c": number(low),
            "max_temp_c": number(high), "pressure_pa": number(pressure)}


def _usable(point: dict[str, Any]) -> bool:
    return any(point[k] is not None for k in _VALUES)


def _series(source: str, rover: str, points: list[dict[str, Any]], keep: int) -> dict[str, Any]:
    """Sorted by sol, one point per sol (the fuller one wins), the ``keep`` sols up to and
    including the newest usable one. Sols without a row are simply absent (gaps)."""
    by_sol: dict[int, dict[str, Any]] = {}
    for point in points:
        known = by_sol.get(point["sol"])
        if known is None or sum(point[k] is not None for k in _VALUES) > \
                sum(known[k] is not None for k in _VALUES):
            by_sol[point["sol"]] = point
    usable = [sol for sol, point in by_sol.items() if _usable(point)]
    if not usable:
        return {"source": source, "rover": rover, "sols": []}
    newest = max(usable)
    sols = sorted(sol for sol in by_sol if newest - keep < sol <= newest)
    return {"source": source, "rover": rover, "sols": [by_sol[sol] for sol in sols]}


def _sol_feed(rows: Any, source: str, rover: str, keep: int) -> dict[str, Any]:
    # only the values of the rows that can fall in the window (newest usable sol back ``keep``)
    points: list[dict[str, Any]] = []
    newest = None
    for sol, row in newest_first(rows):
        if newest is not None and sol <= newest - keep:
            break
        point = _point(sol, row.get("terrestrial_date"), row.get("min_temp"),
                       row.get("max_temp"), row.get("pressure"))
        if newest is None and not _usable(point):
            continue  # newer than the newest usable sol: not part of any window
        newest = sol if newest is None else newest
        points.append(point)
    return _series(source, rover, points, keep)


def rems_series(doc: Any, keep: int = KEEP) -> dict[str, Any]:
    """Curiosity's REMS feed (``{"soles": [...]}``, every value a string, ``"--"`` missing)."""
    return _sol_feed(doc.get("soles") if isinstance(doc, dict) else None, "REMS", "Curiosity",
                     keep)


def meda_series(doc: Any, keep: int = KEEP) -> dict[str, Any]:
    """Perseverance's MEDA feed (``{"sols": [...]}``)."""
    return _sol_feed(doc.get("sols") if isinstance(doc, dict) else None, "MEDA",
                     "Perseverance", keep)


def _stat(block: Any, key: str) -> Any:
    return block.get(key) if isinstance(block, dict) else None


def insight_series(doc: Any, keep: int = KEEP) -> dict[str, Any]:
    """InSight's archival feed: the (at most seven) sols named in ``sol_keys``."""
    points = []
    keys = doc.get("sol_keys") if isinstance(doc, dict) else None
    for key in keys if isinstance(keys, list) else ():
        row, sol = doc.get(str(key)), number(key)
        if isinstance(row, dict) and isinstance(sol, int):
            first = text(row.get("First_UTC"))
            points.append(_point(sol, first[:10] if first else None, _stat(row.get("AT"), "mn"),
                                 _stat(row.get("AT"), "mx"), _stat(row.get("PRE"), "av")))
    return _series("InSight", "InSight", points, keep)


#: Weather source name (``cloud.mars.weather.weather_sources``) -> its series parser.
PARSERS = {"rems": rems_series, "meda": meda_series, "insight": insight_series}


def series_for(source_name: str, doc: Any) -> dict[str, Any] | None:
    """The series of the feed ``doc`` from source ``source_name``; None for an unknown source."""
    parse = PARSERS.get(source_name)
    return parse(doc) if parse else None


def _number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _valid_point(point: Any) -> bool:
    return (isinstance(point, dict) and isinstance(point.get("sol"), int)
            and not isinstance(point["sol"], bool)
            and isinstance(point.get("earth_date"), str | None)
            and all(_number_or_none(point.get(k)) for k in _VALUES))


def valid(history: Any) -> bool:
    """Whether a cached ``history`` has the shape :func:`window` and :func:`carry_over` read."""
    if history is None:
        return True
    return isinstance(history, list) and all(
        isinstance(series, dict) and isinstance(series.get("source"), str)
        and isinstance(series.get("rover"), str) and isinstance(series.get("sols"), list)
        and all(_valid_point(point) for point in series["sols"]) for series in history)


def carry_over(new: list[dict[str, Any]], old: list[dict[str, Any]] | None) -> list[dict]:
    """``new`` series first, then ``old`` ones of other sources (the last of each source)."""
    sources = {s["source"] for s in new}
    kept = [s for s in (old or []) if isinstance(s, dict) and s.get("source") not in sources]
    return (list(new) + kept)[:MAX_SOURCES]


def window(history: list[dict[str, Any]] | None, sols: int = DEFAULT_SOLS) -> list[dict]:
    """Each series cut to its last ``sols`` sols (by sol number, so gaps stay gaps); series
    left empty are dropped. ``sols`` 0 gives ``[]``."""
    if sols <= 0:
        return []
    out = []
    for series in history or []:
        points = series.get("sols") or []
        if not points:
            continue
        newest = points[-1]["sol"]
        cut = [p for p in points if p["sol"] > newest - sols]
        out.append({"source": series["source"], "rover": series["rover"], "sols": cut})
    return out
