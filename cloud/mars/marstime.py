"""Mars time and season: solar longitude, local mean solar time and mission sol, from UTC.

Pure arithmetic after the Mars24 algorithm (Allison & McEwen 2000, Planet. Space Sci. 48,
215-235, as revised at https://www.giss.nasa.gov/tools/mars24/help/algorithm.html), so every
``GET /mars`` can say what time it is at the rover without asking anyone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

#: (first second it applies, TAI - UTC) since 1999; older dates are not needed here.
_LEAP_SECONDS = ((datetime(2017, 1, 1, tzinfo=UTC).timestamp(), 37),
                 (datetime(2015, 7, 1, tzinfo=UTC).timestamp(), 36),
                 (datetime(2012, 7, 1, tzinfo=UTC).timestamp(), 35),
                 (datetime(2009, 1, 1, tzinfo=UTC).timestamp(), 34),
                 (datetime(2006, 1, 1, tzinfo=UTC).timestamp(), 33))
_EARLIEST_TAI_UTC = 32  # 1999-01-01 .. 2005

# Planetary perturbations of Mars's equation of centre (Mars24 step B-4): amplitude (deg),
# period (Julian years), phase (deg).
_PERTURBATIONS = ((0.0071, 2.2353, 49.409), (0.0057, 2.7543, 168.173),
                  (0.0039, 1.1177, 191.837), (0.0037, 15.7866, 21.736),
                  (0.0021, 2.1354, 15.704), (0.0020, 2.4694, 95.528),
                  (0.0018, 32.8493, 49.095))

SOL_PER_DAY = 1.0274912517  # Earth days per sol
MARS_YEAR_DAYS = 686.9726  # Earth days per Mars year (tropical)
# Ls = 0 of Mars Year 1 (1955-04-11, Clancy et al. 2000), in days from J2000 (TT).
_MY1_START_DAYS = -16336.5


@dataclass(frozen=True)
class Site:
    """Where a rover's mission clock is kept: longitude east (degrees) and latitude, and the
    Mars Solar Date its sol 0 began (local midnight)."""

    rover: str
    lon_east: float
    lat: float
    sol0_msd: int


#: Each mission keeps LMST and sols at one fixed longitude: the landing site for the rovers;
#: for InSight the centre of its landing ellipse (135.97 E), which its image records match to
#: a second, not the lander's surveyed 135.62 E.
SITES = {
    "Curiosity": Site("Curiosity", 137.4417, -4.5895, 49269),
    "Perseverance": Site("Perseverance", 77.4509, 18.4447, 52304),
    "InSight": Site("InSight", 135.97, 4.5024, 51511),
}


def _days_since_j2000_tt(unix_s: float) -> float:
    tai_utc = next((n for start, n in _LEAP_SECONDS if unix_s >= start), _EARLIEST_TAI_UTC)
    jd_ut = 2440587.5 + unix_s / 86400.0
    return jd_ut + (tai_utc + 32.184) / 86400.0 - 2451545.0


def _equation_of_centre(dt: float) -> tuple[float, float]:
    """``(mean anomaly M, nu - M)`` in degrees, ``dt`` days from J2000 (TT)."""
    m = math.radians(19.3871 + 0.52402073 * dt)
    pbs = sum(a * math.cos(math.radians(0.985626 * dt / tau + phi))
              for a, tau, phi in _PERTURBATIONS)
    centre = ((10.691 + 3.0e-7 * dt) * math.sin(m) + 0.623 * math.sin(2 * m)
              + 0.050 * math.sin(3 * m) + 0.005 * math.sin(4 * m)
              + 0.0005 * math.sin(5 * m) + pbs)
    return math.degrees(m), centre


def solar_longitude(unix_s: float) -> float:
    """Areocentric solar longitude Ls in degrees, 0 <= Ls < 360 (0 = northern spring)."""
    dt = _days_since_j2000_tt(unix_s)
    _, centre = _equation_of_centre(dt)
    return (270.3871 + 0.524038496 * dt + centre) % 360.0


def mars_sol_date(unix_s: float) -> float:
    """The Mars Solar Date: sols since 1873-12-29 on the prime meridian."""
    return (_days_since_j2000_tt(unix_s) - 4.5) / SOL_PER_DAY + 44796.0 - 0.0009626


def coordinated_time_h(unix_s: float) -> float:
    """Coordinated Mars Time (MTC), the mean solar time at longitude 0, in hours."""
    return (24.0 * mars_sol_date(unix_s)) % 24.0


def lmst_h(unix_s: float, lon_east: float) -> float:
    """Local mean solar time in hours at ``lon_east`` degrees east."""
    return (coordinated_time_h(unix_s) + lon_east / 15.0) % 24.0


def mission_sol(unix_s: float, site: Site) -> int:
    """The mission's sol number at ``site`` (sol 0 = landing sol)."""
    return math.floor(mars_sol_date(unix_s) + site.lon_east / 360.0) - site.sol0_msd


def mars_year(unix_s: float) -> int:
    """The Mars Year (Clancy et al. 2000: MY 1 began 1955-04-11), turning over at Ls = 0."""
    dt = _days_since_j2000_tt(unix_s)
    years = (dt - _MY1_START_DAYS) / MARS_YEAR_DAYS
    year = 1 + math.floor(years)
    fraction = years - math.floor(years)
    ls = solar_longitude(unix_s)
    # The mean year drifts a few days against the true equinox; trust Ls near the boundary.
    if fraction < 0.25 and ls > 270:
        year -= 1
    elif fraction > 0.75 and ls < 90:
        year += 1
    return year


_NAMES = ("spring", "summer", "autumn", "winter")


def season(ls: float | None, hemisphere: str = "northern") -> str | None:
    """The season in words at solar longitude ``ls``: ``"northern winter"`` for Ls 270-360.

    :param hemisphere: ``"northern"`` or ``"southern"`` (six months out of phase).
    """
    if ls is None:
        return None
    quarter = int((ls % 360.0) // 90)
    if hemisphere == "southern":
        quarter = (quarter + 2) % 4
    elif hemisphere != "northern":
        raise ValueError(f"hemisphere must be northern or southern, not {hemisphere!r}")
    return f"{hemisphere} {_NAMES[quarter]}"


def hh_mm_ss(hours: float) -> str:
    seconds = int(round(hours * 3600.0)) % 86400
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def now_at(rover: str, unix_s: float) -> dict | None:
    """The payload's ``mars_time`` object for ``rover`` at ``unix_s``; None for an unknown rover."""
    site = SITES.get(rover)
    if site is None:
        return None
    ls = solar_longitude(unix_s)
    local = "northern" if site.lat >= 0 else "southern"
    return {"rover": site.rover, "sol": mission_sol(unix_s, site),
            "lmst": hh_mm_ss(lmst_h(unix_s, site.lon_east)), "ls": round(ls, 1) % 360.0,
            "mars_year": mars_year(unix_s), "season": season(ls),
            "local_season": season(ls, local)}
