"""Mars time and season against published reference values.

References:

* Mars24 "Algorithm and Worked Examples", NASA GISS
  (https://www.giss.nasa.gov/tools/mars24/help/algorithm.html), example A:
  2000-01-06 00:00:00 UTC has Ls = 277.18758 deg and MSD 44795.9998 (Allison & McEwen 2000).
* NASA's InSight raw-image record 11378 (mars.nasa.gov ``raw_image_items``, ICC image
  C000M0190_613408865EDR): taken 2019-06-10T03:21:57.044Z on sol 190 at local mean solar time
  16:22:28.916.
* NASA's Curiosity raw-image record 1523343 (``raw_image_items``, ChemCam, as quoted in a public
  scraper's documentation of the API): taken 2025-10-06T17:16:46Z, ``extended.lmst``
  "Sol-04681M10:40:32.355".
* NASA's Curiosity REMS weather feed (mars.nasa.gov ``feed=weather&category=msl``): sol 1 on
  2012-08-07 at Ls 150, sol 10 on 2012-08-16 at Ls 155, sol 4995 on 2026-08-25 at Ls 341
  ("Month 12"). REMS rounds Ls down to whole degrees.
* The Mars Year calendar of Clancy et al. (2000) / Piqueux et al. (2015): MY 36, 37 and 38
  began (Ls = 0) on 2021-02-07, 2022-12-26 and 2024-11-12.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from cloud.mars import marstime


def at(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_mars24_worked_example_a():
    moment = at("2000-01-06T00:00:00Z")
    assert marstime.solar_longitude(moment) == pytest.approx(277.18758, abs=1e-4)
    assert marstime.mars_sol_date(moment) == pytest.approx(44795.9998, abs=5e-4)
    assert marstime.season(marstime.solar_longitude(moment)) == "northern winter"


def test_insight_image_record_lmst_and_sol():
    moment = at("2019-06-10T03:21:57.044Z")
    site = marstime.SITES["InSight"]
    seconds = marstime.lmst_h(moment, site.lon_east) * 3600
    assert seconds == pytest.approx(16 * 3600 + 22 * 60 + 28.916, abs=3)
    assert marstime.mission_sol(moment, site) == 190
    assert marstime.now_at("InSight", moment)["lmst"] == "16:22:29"


def test_curiosity_image_record_lmst_and_sol():
    moment = at("2025-10-06T17:16:46Z")
    site = marstime.SITES["Curiosity"]
    seconds = marstime.lmst_h(moment, site.lon_east) * 3600
    assert seconds == pytest.approx(10 * 3600 + 40 * 60 + 32.355, abs=15)  # 9 s apart
    assert marstime.mission_sol(moment, site) == 4681


@pytest.mark.parametrize(("day", "sol", "ls"), [("2012-08-07", 1, 150), ("2012-08-16", 10, 155),
                                                ("2026-08-25", 4995, 341)])
def test_curiosity_sol_and_ls_match_the_rems_feed(day, sol, ls):
    moment = at(f"{day}T12:00:00Z")
    assert marstime.mission_sol(moment, marstime.SITES["Curiosity"]) == sol
    assert marstime.solar_longitude(moment) == pytest.approx(ls + 0.5, abs=1.5)


@pytest.mark.parametrize(("day", "year"), [("2021-02-07", 36), ("2022-12-26", 37),
                                            ("2024-11-12", 38)])
def test_mars_years_begin_at_the_northern_spring_equinox(day, year):
    moment = at(f"{day}T12:00:00Z")
    ls = marstime.solar_longitude(moment)
    assert min(ls, 360 - ls) < 0.6
    assert marstime.mars_year(moment + 86400 * 2) == year
    assert marstime.mars_year(moment - 86400 * 2) == year - 1
    assert marstime.season(ls + 1) == "northern spring"
    assert marstime.season(ls - 1) == "northern winter"


@pytest.mark.parametrize(("ls", "north", "south"), [
    (0, "northern spring", "southern autumn"), (89.9, "northern spring", "southern autumn"),
    (90, "northern summer", "southern winter"), (180, "northern autumn", "southern spring"),
    (270, "northern winter", "southern summer"), (359.9, "northern winter", "southern summer"),
    (360, "northern spring", "southern autumn"), (-10, "northern winter", "southern summer")])
def test_season_in_words(ls, north, south):
    assert marstime.season(ls) == north
    assert marstime.season(ls, "southern") == south


def test_season_of_nothing_is_nothing_and_a_bad_hemisphere_is_refused():
    assert marstime.season(None) is None
    with pytest.raises(ValueError, match="hemisphere"):
        marstime.season(10, "eastern")


def test_now_at_a_rover():
    moment = at("2026-08-25T12:00:00Z")
    now = marstime.now_at("Curiosity", moment)
    assert now["rover"] == "Curiosity" and now["sol"] == 4995
    assert now["season"] == "northern winter" and now["local_season"] == "southern summer"
    assert now["mars_year"] == 38
    hours, minutes, seconds = (int(x) for x in now["lmst"].split(":"))
    assert 0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 60
    assert marstime.now_at("Perseverance", moment)["local_season"] == "northern winter"
    assert marstime.now_at("offline sample", moment) is None


def test_ls_is_shown_below_360_at_the_turn_of_the_year():
    # Ls 359.998, seven minutes before Mars Year 39 begins: shown as 0.0, never 360.0
    now = marstime.now_at("Curiosity", at("2026-09-30T08:15:00Z"))
    assert now["ls"] == 0.0 and now["mars_year"] == 38


def test_lmst_advances_one_mars_hour_per_1_0275_earth_hours():
    site = marstime.SITES["Perseverance"]
    start = at("2026-01-01T00:00:00Z")
    a = marstime.lmst_h(start, site.lon_east)
    b = marstime.lmst_h(start + 3600 * marstime.SOL_PER_DAY, site.lon_east)
    assert (b - a) % 24 == pytest.approx(1.0, abs=1e-6)
