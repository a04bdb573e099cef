"""Weather chart geometry: pure functions from the payload's ``history`` to pixel positions.

Runs on the board (MicroPython: no typing, no dataclasses, small allocations). A missing sol
or a ``null`` value breaks a line; only the series of the source now shown is charted, since
sol numbers are per rover (after a source switch the other series is named, not joined).
"""


def _num(value):
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(str(value))
    except ValueError:
        return None


def series(payload):
    """The ``history`` series of the source ``weather`` comes from (else the first one), and
    the names of the other sources in the history: ``(points, others)``; points are
    ``(sol, low, high, pressure)`` tuples, oldest first, values ``None`` when missing."""
    history = payload.get("history")
    if not isinstance(history, list):
        return [], []
    weather = payload.get("weather")
    source = weather.get("source") if isinstance(weather, dict) else None
    chosen = None
    for item in history:
        if isinstance(item, dict) and (chosen is None or item.get("source") == source):
            if chosen is None or chosen.get("source") != source:
                chosen = item
    if chosen is None:
        return [], []
    points = []
    for p in chosen.get("sols") or ():
        if isinstance(p, dict) and isinstance(_num(p.get("sol")), (int, float)):
            points.append((int(_num(p.get("sol"))), _num(p.get("min_temp_c")),
                           _num(p.get("max_temp_c")), _num(p.get("pressure_pa"))))
    others = [str(h.get("source")) for h in history
              if isinstance(h, dict) and h is not chosen and h.get("sols")]
    return points, others


def in_units(points, units):
    """``points`` with their temperatures in ``units`` (``"F"``: converted, unrounded), so
    that the range and the grid are whole tens of the unit shown, as on the page."""
    if units != "F":
        return points
    return [(p[0], None if p[1] is None else p[1] * 9 / 5 + 32,
             None if p[2] is None else p[2] * 9 / 5 + 32, p[3]) for p in points]


def temperature_range(points, step=10):
    """``(low, high)`` in whole ``step`` degrees around every value; ``None`` without any."""
    values = [v for p in points for v in (p[1], p[2]) if v is not None]
    if not values:
        return None
    low = int(min(values) // step) * step
    high = int(-(-max(values) // step)) * step
    if high <= low:
        high = low + step
    return low, high


def x_of(sol, first, last, left, width):
    """The pixel column of ``sol`` in a plot ``width`` wide starting at ``left``."""
    if last == first:
        return left + (width - 1) // 2
    return left + ((sol - first) * (width - 1) + (last - first) // 2) // (last - first)


def y_of(value, low, high, top, height):
    """The pixel row of ``value`` (higher values higher up), clamped into the plot."""
    y = top + int(round((high - value) * (height - 1) / (high - low)))
    return min(top + height - 1, max(top, y))


def runs(points, index):
    """Runs of consecutive sols where field ``index`` (1 low, 2 high, 3 pressure) has a
    value: ``[[(sol, value), ...], ...]``."""
    out = []
    run = []  # type: list
    last = None
    for p in points:
        value = p[index]
        if value is None or (last is not None and p[0] != last + 1):
            if run:
                out.append(run)
            run = []
        if value is not None:
            run.append((p[0], value))
        last = p[0]
    if run:
        out.append(run)
    return out


def polylines(points, index, box, low, high):
    """Pixel polylines for field ``index`` inside ``box = (left, top, width, height)``."""
    if not points:
        return []
    left, top, width, height = box
    first, last = points[0][0], points[-1][0]
    return [[(x_of(s, first, last, left, width), y_of(v, low, high, top, height))
             for s, v in run] for run in runs(points, index)]


def sparkline(points, box):
    """The pressure polylines, scaled to their own range inside ``box``."""
    values = [p[3] for p in points if p[3] is not None]
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    return polylines(points, 3, box, low, high)


def ticks(low, high, step=10, most=5):
    """Axis labels from ``low`` to ``high``, at most ``most`` of them."""
    while (high - low) // step + 1 > most:
        step *= 2
    values = []
    v = low
    while v <= high:
        values.append(v)
        v += step
    return values


def bands(points, box, low, high):
    """Polygons (pixel points) between the high and low lines, one per run of consecutive
    sols that have both values and at least two sols."""
    if not points:
        return []
    left, top, width, height = box
    first, last = points[0][0], points[-1][0]
    out = []
    run = []  # type: list
    previous = None
    for p in points + [(None, None, None, None)]:  # the sentinel ends the last run
        both = p[1] is not None and p[2] is not None
        if not both or (previous is not None and p[0] != previous + 1):
            if len(run) > 1:
                upper = [(x_of(q[0], first, last, left, width),
                          y_of(q[2], low, high, top, height)) for q in run]
                for i in range(len(run) - 1, -1, -1):
                    q = run[i]
                    upper.append((x_of(q[0], first, last, left, width),
                                  y_of(q[1], low, high, top, height)))
                out.append(upper)
            run = []
        if both:
            run.append(p)
        previous = p[0]
    return out
