"""The device's chart geometry (pure): series choice, gaps, nulls, a single sol, a source
switch, and pixel positions that follow the data."""

from __future__ import annotations

import pytest

from tests.pyportal.mars_server import load_payload


@pytest.fixture
def chart(device):
    return device.chart


def test_the_shown_source_is_charted_and_the_other_is_named(chart):
    points, others = chart.series(load_payload("history_switch"))
    assert [p[0] for p in points] == [1990, 1991, 1992, 1993, 1994]  # MEDA, not REMS' sols
    assert others == ["REMS"]
    points, others = chart.series(load_payload("history"))
    assert others == [] and points[-1] == (4995, -71, -5, 777)


@pytest.mark.parametrize("payload", [{}, {"history": None}, {"history": "x"},
                                     {"history": [{"source": "REMS", "sols": []}]},
                                     {"history": [None, {"sols": [{"sol": "x"}]}]}])
def test_nothing_to_chart(chart, payload):
    points, _ = chart.series(payload)
    assert points == []
    assert chart.temperature_range(points) is None
    assert chart.polylines(points, 2, (0, 0, 100, 50), -80, 0) == []
    assert chart.sparkline(points, (0, 0, 100, 10)) == []


def test_gaps_and_nulls_break_the_lines(chart):
    points, _ = chart.series(load_payload("history"))
    highs = chart.runs(points, 2)
    # history.json: sols 4966-4995 without 4975-4977; 4984 has no max, 4988 nothing at all
    assert [(run[0][0], run[-1][0]) for run in highs] == [(4966, 4974), (4978, 4983),
                                                          (4985, 4987), (4989, 4995)]
    lows = chart.runs(points, 1)
    assert [(run[0][0], run[-1][0]) for run in lows] == [(4966, 4974), (4978, 4987),
                                                         (4989, 4995)]
    assert len(chart.bands(points, (0, 0, 100, 50), -80, 0)) == 4


def test_a_single_sol_sits_in_the_middle(chart):
    points, _ = chart.series(load_payload("history_single"))
    assert len(points) == 1
    [[(x, y)]] = chart.polylines(points, 2, (10, 20, 101, 51), -80, 0)
    assert x == 10 + 50 and y == 20 + round(5 * 50 / 80)
    assert chart.bands(points, (10, 20, 101, 51), -80, 0) == []


def test_pixels_follow_the_data(chart):
    points = [(100, -70, -10, 700), (101, -60, 0, 710), (103, -80, -20, 690)]
    low, high = chart.temperature_range(points)
    assert (low, high) == (-80, 0)
    box = (30, 40, 301, 81)  # 300 px per 3 sols, 80 px per 80 degrees
    [first, second] = chart.polylines(points, 2, box, low, high)
    assert first == [(30, 40 + 10), (130, 40)]
    assert second == [(330, 40 + 20)]
    assert chart.polylines(points, 1, box, low, high)[0] == [(30, 110), (130, 100)]
    spark = chart.sparkline(points, (30, 0, 301, 11))
    assert spark == [[(30, 5), (130, 0)], [(330, 10)]]
    assert chart.ticks(-80, 0) == [-80, -60, -40, -20, 0]
    assert chart.ticks(-90, -10) == [-90, -70, -50, -30, -10]


def test_values_outside_the_range_are_clamped_into_the_plot(chart):
    assert chart.y_of(50, -80, 0, 10, 81) == 10
    assert chart.y_of(-200, -80, 0, 10, 81) == 90


def test_numbers_as_strings_are_read(chart):
    payload = {"weather": {"source": "REMS"}, "history": [{"source": "REMS", "sols": [
        {"sol": "7", "min_temp_c": "-80", "max_temp_c": "--", "pressure_pa": None}]}]}
    assert chart.series(payload)[0] == [(7, -80.0, None, None)]
