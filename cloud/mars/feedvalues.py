"""Values as NASA's weather feeds write them, read one way for the newest report
(:mod:`cloud.mars.weather`) and for the series behind it (:mod:`cloud.mars.history`).

Pure functions: strings become numbers, ``"--"`` becomes ``None``, rows are taken newest sol
first.
"""

from __future__ import annotations

import re
from typing import Any

_CLOCK = re.compile(r"^\d{1,2}:\d\d$")


def number(value: Any) -> float | int | None:
    """``"-71"`` -> -71, ``"7.5"`` -> 7.5, ``"--"``/``""``/garbage -> None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        result = float(value)
    else:
        try:
            result = float(str(value).strip())
        except ValueError:
            return None
    if result != result or result in (float("inf"), float("-inf")):  # NaN, infinities
        return None
    return int(result) if result.is_integer() else round(result, 2)


def text(value: Any) -> str | None:
    """A feed string, or None for missing / ``"--"``."""
    if value is None:
        return None
    value = str(value).strip()
    return None if value in ("", "--", "null", "None") else value


def clock(value: Any) -> str | None:
    value = text(value)
    return value if value and _CLOCK.match(value) else None


def newest_first(rows: Any) -> list[tuple[int, dict]]:
    """``(sol, row)`` for each row of a sol list (REMS' ``soles``, MEDA's ``sols``) with a
    whole, non-negative sol, newest first. Whole-mission feeds have ~5,000 rows: callers read
    the values of the rows they need only."""
    numbered = []
    for row in rows if isinstance(rows, list) else ():
        if isinstance(row, dict):
            sol = number(row.get("sol"))
            if isinstance(sol, int) and sol >= 0:
                numbered.append((sol, row))
    numbered.sort(key=lambda pair: pair[0], reverse=True)
    return numbered
