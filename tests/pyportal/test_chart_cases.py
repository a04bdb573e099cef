"""The chart rules' shared cases (``testing/data/cases/chart.json``) on the board's ``chart``
module; the page's chart reads the same file (``tests/web/chart.test.js``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CASES = json.loads((Path(__file__).resolve().parents[2] / "testing" / "data" / "cases"
                    / "chart.json").read_text(encoding="utf-8"))
FIELD = {"low": 1, "high": 2, "pressure": 3}


@pytest.mark.parametrize("case", CASES["runs"], ids=lambda case: case["id"])
def test_runs(device, case):
    points = [tuple(p) for p in case["points"]]
    spans = [[run[0][0], run[-1][0]] for run in device.chart.runs(points, FIELD[case["field"]])]
    assert spans == case["expect"]


@pytest.mark.parametrize("case", CASES["temperature_range"], ids=lambda case: case["id"])
def test_temperature_range(device, case):
    found = device.chart.temperature_range([tuple(p) for p in case["points"]], case["step"])
    assert (list(found) if found else None) == case["expect"]


@pytest.mark.parametrize("case", CASES["ticks"], ids=lambda case: case["id"])
def test_ticks(device, case):
    assert device.chart.ticks(case["low"], case["high"]) == case["expect"]
