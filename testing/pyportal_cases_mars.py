"""Shared cases (see ``cases.py``) of the Mars views' pure modules, ``chart`` and
``viewtext``: nulls, gaps in the sol sequence, a single sol and a source switch, on CPython
and in the MicroPython VM alike."""

from __future__ import annotations

from testing.fake_mars_api import load_payload
from testing.pyportal_cases import Case

HISTORY = load_payload("history")
SWITCH = load_payload("history_switch")
SINGLE = load_payload("history_single")
NULLS = load_payload("nulls")
LEGACY = load_payload("legacy")
SMALL = [(100, -70, -10, 700), (101, -60, 0, 710), (103, -80, -20, 690)]
# the history's coldest low and warmest high (-77 and -5 °C), in a payload of its own
EXTREMES = {"weather": {"source": "REMS"}, "history": [{"source": "REMS", "sols": [
    {"sol": 4966, "min_temp_c": -77, "max_temp_c": -20}, {"sol": 4967, "max_temp_c": -5}]}]}
STRINGS = {"weather": {"source": "REMS"}, "history": [{"source": "REMS", "sols": [
    {"sol": "7", "min_temp_c": "-80", "max_temp_c": "--", "pressure_pa": None}]}]}

CHART = [
    Case("chart-switch-charts-the-shown-source", "chart.series", (SWITCH,), (
        [(1990 + i, -82 + i, -20 + i, 740 + i) for i in range(5)], ["REMS"])),
    Case("chart-single", "chart.series", (SINGLE,), ([(4995, -71, -5, 777)], [])),
    Case("chart-nulls", "chart.series", (NULLS,), ([], [])),
    Case("chart-legacy", "chart.series", (LEGACY,), ([], [])),
    Case("chart-empty", "chart.series", ({},), ([], [])),
    Case("chart-not-a-list", "chart.series", ({"history": "x"},), ([], [])),
    Case("chart-empty-series", "chart.series", ({"history": [{"source": "REMS", "sols": []}]},),
         ([], [])),
    Case("chart-bad-sols", "chart.series", ({"history": [None, {"sols": [{"sol": "x"}]}]},),
         ([], [])),
    Case("chart-strings", "chart.series", (STRINGS,), ([(7, -80.0, None, None)], [])),
    Case("chart-range", "chart.temperature_range", (SMALL,), (-80, 0)),
    Case("chart-range-none", "chart.temperature_range", ([],), None),
    Case("chart-range-flat", "chart.temperature_range", ([(1, -60, -60, None)],), (-60, -50)),
    # history.json: sols 4966-4995 without 4975-4977; 4984 has no max, 4988 nothing at all
    Case("chart-runs-gaps-and-nulls", "@chart_run_spans", (HISTORY, 2),
         [(4966, 4974), (4978, 4983), (4985, 4987), (4989, 4995)]),
    Case("chart-runs-low", "@chart_run_spans", (HISTORY, 1),
         [(4966, 4974), (4978, 4987), (4989, 4995)]),
    Case("chart-lines", "chart.polylines", (SMALL, 2, (30, 40, 301, 81), -80, 0),
         [[(30, 50), (130, 40)], [(330, 60)]]),
    Case("chart-lines-low", "chart.polylines", (SMALL, 1, (30, 40, 301, 81), -80, 0),
         [[(30, 110), (130, 100)], [(330, 120)]]),
    Case("chart-lines-none", "chart.polylines", ([], 2, (0, 0, 100, 50), -80, 0), []),
    Case("chart-single-sol-centred", "chart.polylines",
         ([(4995, -71, -5, 777)], 2, (10, 20, 101, 51), -80, 0), [[(60, 23)]]),
    Case("chart-sparkline", "chart.sparkline", (SMALL, (30, 0, 301, 11)),
         [[(30, 5), (130, 0)], [(330, 10)]]),
    Case("chart-sparkline-none", "chart.sparkline", ([(1, -60, -10, None)], (0, 0, 10, 10)), []),
    Case("chart-bands", "chart.bands", (SMALL, (30, 40, 301, 81), -80, 0),
         [[(30, 50), (130, 40), (130, 100), (30, 110)]]),
    Case("chart-bands-single", "chart.bands",
         ([(4995, -71, -5, 777)], (10, 20, 101, 51), -80, 0), []),
    # °F: converted before the range, so the grid is whole tens of °F (-120, -80, ... 40)
    Case("chart-in-fahrenheit", "chart.in_units", ([(1, -80, 0, 700), (2, None, -5, None)],
                                                   "F"),
         [(1, -112.0, 32.0, 700), (2, None, 23.0, None)]),
    Case("chart-in-celsius", "chart.in_units", (SMALL, "C"), SMALL),
    Case("chart-range-fahrenheit", "@chart_range_in", (EXTREMES, "F"), (-110, 30)),
    Case("chart-range-celsius", "@chart_range_in", (EXTREMES, "C"), (-80, 0)),
    Case("chart-ticks", "chart.ticks", (-80, 0), [-80, -60, -40, -20, 0]),
    Case("chart-ticks-fahrenheit", "chart.ticks", (-120, 40), [-120, -80, -40, 0, 40]),
    Case("chart-ticks-odd", "chart.ticks", (-90, -10), [-90, -70, -50, -30, -10]),
    Case("chart-clamp-high", "chart.y_of", (50, -80, 0, 10, 81), 10),
    Case("chart-clamp-low", "chart.y_of", (-200, -80, 0, 10, 81), 90),
]

VIEWTEXT = [
    Case("text-today", "viewtext.today_line", (HISTORY["weather"], "C"), "-71/-5°C"),
    Case("text-today-no-degree-glyph", "viewtext.today_line", (HISTORY["weather"], "F", ""),
         "-96/23F"),
    Case("text-today-nulls", "viewtext.today_line", ({}, "C"), "--°C"),
    Case("text-strip", "viewtext.strip_line", (HISTORY, "C"),
         "-71/-5°C  777 Pa  Sol 4995, 94 sols ago"),
    Case("text-strip-nulls", "viewtext.strip_line", (NULLS, "C"), "--/-5°C  -- Pa"),
    Case("text-strip-empty", "viewtext.strip_line", ({}, "C"), "No weather report"),
    Case("text-strip-legacy", "viewtext.strip_line", (LEGACY, "C"),
         "-62/-62°C  751 Pa  Sol 675"),
    Case("text-lmst", "viewtext.local_time_line", (HISTORY,), "14:03 LMST"),
    Case("text-lmst-missing", "viewtext.local_time_line", (NULLS,), ""),
    Case("text-lmst-garbage", "viewtext.local_time_line", ({"mars_time": {"lmst": 5}},), ""),
    Case("text-season", "viewtext.season_line", (HISTORY,), "northern winter, Ls 341"),
    Case("text-season-switch", "viewtext.season_line", (SWITCH, ["REMS"]),
         "northern winter, Ls 341 (+REMS)"),
    Case("text-season-nulls", "viewtext.season_line", (NULLS,), "--"),
    Case("text-season-month", "viewtext.season_line", ({"weather": {"season": "Month 12"}},),
         "northern winter"),
    Case("text-series", "viewtext.series_line", ({"weather": HISTORY["weather"]}, "C"),
         "Curiosity (REMS), °C"),
    Case("text-series-no-glyph", "viewtext.series_line", ({"weather": SWITCH["weather"]}, "F", ""),
         "Perseverance (MEDA), F"),
    Case("text-series-nulls", "viewtext.series_line", (NULLS, "F"), "REMS, °F"),
    Case("text-series-empty", "viewtext.series_line", ({}, "C"), "°C"),
    Case("text-pressure", "viewtext.pressure_text", ({"pressure_pa": 741.3},), "741 Pa"),
    Case("text-sol-none", "viewtext.sol_line", ({},), ""),
]
