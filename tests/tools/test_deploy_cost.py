"""``python -m tools.deploy cost``: the estimate follows the template's resources."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from tools.deploy import cost, template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def source():
    return template.load()


def line(lines, item):
    return next(entry for entry in lines if entry.item == item)


def test_the_reference_usage_costs_at_most_a_dollar(source):
    # 1 PyPortal every 10 minutes, 1 robot driven an hour a day, no free tier at all
    assert cost.total(cost.Usage(), source) <= 1.00


def test_adding_an_alarm_to_the_template_adds_its_price(source):
    more = copy.deepcopy(source)
    more["Resources"]["AnotherAlarm"] = copy.deepcopy(more["Resources"]["Api5xxAlarm"])
    before, after = cost.estimate(cost.Usage(), source), cost.estimate(cost.Usage(), more)
    assert line(after, "CloudWatch alarms").usd - line(before, "CloudWatch alarms").usd \
        == pytest.approx(cost.PRICES["cw_alarm_metric"])
    assert cost.total(cost.Usage(), more) == pytest.approx(
        cost.total(cost.Usage(), source) + 0.10)


def test_conditional_resources_follow_the_parameter_defaults(source):
    enabled = copy.deepcopy(source)
    enabled["Parameters"]["CustomMetrics"]["Default"] = "Enabled"
    lines = cost.estimate(cost.Usage(), enabled)
    assert line(lines, "CloudWatch custom metrics").usd == pytest.approx(
        cost.CUSTOM_METRICS * cost.PRICES["cw_custom_metric"])
    # the stale-answer alarm exists only then
    assert line(lines, "CloudWatch alarms").usd == pytest.approx(0.30)


def test_tracing_dashboards_and_memory_show_up(source):
    changed = copy.deepcopy(source)
    changed["Globals"]["Function"]["Tracing"] = "Active"
    changed["Resources"]["Board"] = {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}}
    changed["Resources"]["MarsRefreshFunction"]["Properties"]["MemorySize"] = 2048
    base, lines = cost.estimate(cost.Usage(), source), cost.estimate(cost.Usage(), changed)
    assert line(lines, "X-Ray").usd > 0 and line(lines, "CloudWatch dashboards").usd == 3.00
    assert line(lines, "Lambda arm64").usd > line(base, "Lambda arm64").usd
    assert not any(entry.item in ("X-Ray", "CloudWatch dashboards") for entry in base)


def test_more_robots_and_http_driving_cost_more(source):
    one, two = cost.total(cost.Usage(), source), cost.total(cost.Usage(robots=2), source)
    assert two > one
    # every command via the API, and a status read a second (cloud/web/poll.js)
    assert cost.total(cost.Usage(fallback_share=1.0), source) > one + 2


def test_the_command_prints_the_bill_line_by_line():
    done = subprocess.run([sys.executable, "-m", "tools.deploy", "cost", "--pyportals", "2",
                           "--robots", "1", "--drive-hours", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "2 PyPortal(s)" in done.stdout and "driven 2 h a day" in done.stdout
    assert "Prices: 2026-11" in done.stdout
    assert any(row.strip().startswith("total") for row in done.stdout.splitlines())
    bad = subprocess.run([sys.executable, "-m", "tools.deploy", "cost", "--robots", "0"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stdout == ""
