"""Weather history: series from the recorded feed shapes, windows, source switches, and a
whole-mission REMS feed within the Mars Lambda's budget."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from cloud.mars import history, weather
from testing.fake_nasa import load_fixture
from testing.rems_mission import mission_bytes

# template.yaml: MarsApiFunction has 1024 MB and the Globals' 20 s timeout; a cold request or
# the scheduled refresh parses the whole feed inside that, with the rest of the request.
LAMBDA_MEMORY_MB = 1024
LAMBDA_TIMEOUT_S = 20


def sols(series: dict) -> list[int]:
    return [p["sol"] for p in series["sols"]]


def test_gaps_dashes_and_duplicates_in_a_rems_feed():
    series = history.rems_series(load_fixture("rems_history_gaps.json"))
    assert (series["source"], series["rover"]) == ("REMS", "Curiosity")
    # 213 is newer than the newest measured sol (all "--"): not part of the history yet.
    # 205 and 206 have no row: a gap, not invented points.
    assert sols(series) == [201, 202, 203, 204, 207, 208, 209, 210, 211, 212]
    by_sol = {p["sol"]: p for p in series["sols"]}
    assert by_sol[212] == {"sol": 212, "earth_date": "2013-03-11", "min_temp_c": -66,
                           "max_temp_c": -2, "pressure_pa": 866}
    assert by_sol[211]["max_temp_c"] is None and by_sol[211]["min_temp_c"] == -67
    assert by_sol[210] == {"sol": 210, "earth_date": "2013-03-09", "min_temp_c": None,
                           "max_temp_c": None, "pressure_pa": None}
    assert by_sol[208]["pressure_pa"] is None
    assert by_sol[203]["pressure_pa"] == 876  # of two rows for one sol, the fuller one
    assert "--" not in json.dumps(series)


def test_window_counts_sols_not_rows():
    series = history.rems_series(load_fixture("rems_history_gaps.json"))
    assert sols(history.window([series], 8)[0]) == [207, 208, 209, 210, 211, 212]
    assert sols(history.window([series], 1)[0]) == [212]
    assert history.window([series], 0) == []
    assert history.window(None, 30) == []


def test_a_feed_with_one_sol():
    doc = {"soles": [{"sol": "7", "terrestrial_date": "2012-08-13", "min_temp": "-80",
                      "max_temp": "--", "pressure": "--"}]}
    series = history.rems_series(doc)
    assert series["sols"] == [{"sol": 7, "earth_date": "2012-08-13", "min_temp_c": -80,
                               "max_temp_c": None, "pressure_pa": None}]
    assert sols(history.window([series], 30)[0]) == [7]


@pytest.mark.parametrize("doc", [load_fixture("rems_all_dashes.json"), load_fixture(
    "rems_empty.json"), {}, {"soles": "nope"}, {"soles": [None, 3, {"sol": "x"}]}, []])
def test_nothing_measured_is_an_empty_series_and_drops_out_of_the_window(doc):
    series = history.rems_series(doc)
    assert series["sols"] == []
    assert history.window([series], 30) == []


def test_meda_numbers_and_insight_blocks():
    meda = history.meda_series(load_fixture("meda_weather.json"))
    assert (meda["source"], meda["rover"]) == ("MEDA", "Perseverance")
    assert meda["sols"][-1] == {"sol": 1994, "earth_date": "2026-09-29", "min_temp_c": -80.2,
                                "max_temp_c": -17, "pressure_pa": 741.3}
    insight = history.insight_series(load_fixture("insight_weather.json"))
    assert insight["source"] == "InSight" and insight["sols"]
    assert all(isinstance(p["sol"], int) for p in insight["sols"])
    assert history.insight_series(load_fixture("insight_empty_sol_keys.json"))["sols"] == []
    assert history.series_for("nope", {}) is None
    assert history.series_for("rems", {"soles": []})["sols"] == []


def test_a_source_switch_keeps_the_previous_source_beside_the_new_one():
    rems = history.rems_series(load_fixture("rems_history_gaps.json"))
    meda = history.meda_series(load_fixture("meda_weather.json"))
    switched = history.carry_over([meda], [rems])
    assert [s["source"] for s in switched] == ["MEDA", "REMS"]
    back = history.carry_over([rems], switched)  # REMS is back: it replaces its old series
    assert [s["source"] for s in back] == ["REMS", "MEDA"]
    assert history.carry_over([rems], None) == [rems]
    cut = history.window(back, 2)  # each series is cut at its own newest sol
    assert [sols(s) for s in cut] == [[211, 212], [1993, 1994]]


@pytest.fixture(scope="module")
def whole_mission() -> bytes:
    return mission_bytes(5000)


def test_whole_mission_feed_keeps_the_last_120_sols(whole_mission):
    doc = json.loads(whole_mission)
    series = history.rems_series(doc)
    assert sols(series)[-1] == 5000 == weather.parse_rems(doc).sol
    assert all(4880 < sol <= 5000 for sol in sols(series))
    assert 4947 not in sols(series)  # the generator leaves every 97th sol out: a gap
    assert len(series["sols"]) == 119
    assert len(json.dumps(series)) < 12_000  # what the cache keeps per source


def _parse(raw: bytes) -> tuple:
    doc = json.loads(raw)
    return weather.parse_rems(doc), history.rems_series(doc)


def test_whole_mission_feed_parses_within_the_lambda_budget(whole_mission):
    assert len(whole_mission) > 2_000_000  # several MB, like the real feed
    started = time.process_time()
    _parse(whole_mission)
    cpu_s = time.process_time() - started
    tracemalloc.start()
    try:
        _parse(whole_mission)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Bounds far inside the budget, so a loaded CI machine does not flake; bench/mars_api.py
    # reports the actual numbers.
    assert cpu_s < LAMBDA_TIMEOUT_S / 5, f"{cpu_s:.2f} s of CPU"
    assert peak < LAMBDA_MEMORY_MB * 2**20 / 8, f"{peak / 2**20:.0f} MB peak"
