"""A synthetic whole-mission Curiosity REMS feed in the recorded shape, for tests and benches.

The real feed carries every sol since landing (about 5,000 rows, several MB, every value a
string, ``"--"`` for missing, newest first, ``id`` not monotonic). This builds one of any
length, deterministically, with the recorded quirks: missing sols, ``"--"`` runs, and the
26 description strings with U+FFFD replacement characters.
"""

from __future__ import annotations

import json
import math
import random
from datetime import date, timedelta

LANDING = date(2012, 8, 6)
_DAYS_PER_SOL = 1.0274912517


def mission(sols: int = 5000, seed: int = 4995, missing_every: int = 97,
            dashes_every: int = 41) -> dict:
    """``{"descriptions": ..., "soles": [...]}`` with sols ``1..sols`` minus a few."""
    rng = random.Random(seed)
    rows = []
    for sol in range(1, sols + 1):
        if sol % missing_every == 0:
            continue  # REMS has sols with no row at all
        ls = (150 + sol * 360 / 668.6) % 360
        swing = math.sin(math.radians(ls - 250))  # warmest near perihelion
        low = round(-75 + 8 * swing + rng.uniform(-2, 2))
        high = round(-10 + 12 * swing + rng.uniform(-3, 3))
        pressure = round(800 + 120 * math.sin(math.radians(ls + 30)) + rng.uniform(-5, 5))
        dashes = sol % dashes_every == 0
        day = LANDING + timedelta(days=round(sol * _DAYS_PER_SOL))
        rows.append({
            "id": str(rng.randint(1, 9999)), "terrestrial_date": day.isoformat(),
            "sol": str(sol), "ls": str(round(ls)), "season": f"Month {int(ls // 30) + 1}",
            "min_temp": "--" if dashes else str(low), "max_temp": "--" if dashes else str(high),
            "pressure": "--" if dashes else str(pressure),
            "pressure_string": "Higher", "abs_humidity": "--", "wind_speed": "--",
            "wind_direction": "--", "atmo_opacity": "Sunny", "sunrise": "06:46",
            "sunset": "18:51", "local_uv_irradiance_index": "Moderate",
            "min_gts_temp": str(low - 12), "max_gts_temp": str(high + 9)})
    rows.reverse()  # newest first, as served
    descriptions = {f"desc_{i}_en": f"Description {i} of the REMS data \ufffd (CAB)"
                    for i in range(26)}
    return {"descriptions": descriptions, "soles": rows}


def mission_bytes(sols: int = 5000) -> bytes:
    return json.dumps(mission(sols), indent=1).encode()
