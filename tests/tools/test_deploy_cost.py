"""``python -m tools.deploy cost``: the estimate follows the template's resources and what the
shipped code and configuration do, counts IoT messages as IoT bills them, meets the targets and
says which limit a fleet would reach."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from tools.deploy import cost, provision, template, usage

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def source():
    return template.load()


def line(lines, item):
    return next(entry for entry in lines if entry.item == item)


def test_the_targets_hold_without_any_free_tier(source):
    # 1 PyPortal + 1 robot driven an hour a day; 1,000 PyPortals + 10 robots
    assert cost.total(cost.Usage(), source) <= 1.00
    assert cost.total(cost.Usage(pyportals=1000, robots=10), source) <= 10.00


def test_it_prices_what_deploy_ships(source, monkeypatch):
    rates = usage.Rates.shipped(source)
    assert rates.refresh_s == provision.PYPORTAL_REFRESH_MINUTES * 60
    assert rates.heartbeat_s == provision.HEARTBEAT_S
    assert rates.rotation_s == usage.rotation_s(source) >= rates.refresh_s
    assert rates.bitmap_bytes == 77_878  # 320x240 at the device's 8 bits (cloud/mars/README.md)
    video = cost.total(cost.Usage(), source)
    # retried refreshes: /mars again (not the photo)
    retried = usage.events(cost.activity(cost.Usage(failed_refreshes=0.5), rates), rates)
    assert retried.mars == 2 * retried.bitmaps * rates.rotation_s / rates.refresh_s
    # a robot shipped without video drives over HTTP: API Gateway, Lambda and IoT per command
    monkeypatch.setattr(provision, "CAMERA_DRIVER", "none")
    assert cost.http_share(cost.Usage()) == 1.0
    assert cost.total(cost.Usage(), source) > video + 5
    fleet = cost.Usage(pyportals=1000, failed_refreshes=0)
    before = line(cost.estimate(fleet, source), "CloudFront")
    assert "1,440,000 /mars" in before.usage  # every 30 minutes
    monkeypatch.setattr(provision, "PYPORTAL_REFRESH_MINUTES", 10)
    after = line(cost.estimate(fleet, source), "CloudFront")
    assert "4,320,000 /mars" in after.usage and after.usd > before.usd


def test_iot_messages_are_counted_as_iot_bills_them(source):
    rates = usage.Rates.shipped(source)
    one = usage.events(usage.Activity(held_s=60), rates)
    assert (one.robot_status, one.robot_telemetry) == (60 / rates.report_s,) * 2
    base = cost.estimate(cost.Usage(robots=1, drive_hours=0), source)
    busy = cost.estimate(cost.Usage(robots=1, drive_hours=1, turn_share=0), source)
    seen = usage.events(cost.activity(cost.Usage(), rates), rates)
    idle = usage.events(cost.activity(cost.Usage(drive_hours=0), rates), rates)
    # a retained status twice, telemetry once, the connection's CONNECT and SUBSCRIBE
    billed = (2 * (seen.robot_status - idle.robot_status)
              + (seen.robot_telemetry - idle.robot_telemetry) + seen.status_reads)
    assert line(busy, "IoT Core").usd - line(base, "IoT Core").usd == pytest.approx(
        billed * cost.PRICES["iot_message"], rel=1e-6)
    # an HTTP command: the API's publish, the delivery, the robot's PUBACK
    http = usage.events(usage.Activity(held_http_s=10), rates)
    assert http.http_commands == 10 * rates.commands_per_s
    assert http.status_reads == 10  # the page reads once a second while driving over HTTP


def test_the_page_reads_status_only_without_its_channel_and_backs_off():
    assert usage.idle_reads(0) == 0
    assert usage.idle_reads(1) == 1  # at once
    assert usage.idle_reads(62) == 6  # 0, 2, 6, 14, 30, 62 s
    assert usage.idle_reads(62 + 600) == 16  # then once a minute
    channel = usage.events(usage.Activity(held_s=3600, sessions=1), usage.Rates.shipped())
    assert channel.status_reads == usage.PAGE_READS_BEFORE_CHANNEL  # none once it is open


def test_turn_and_lambda_init_are_in_the_bill(source):
    lines = cost.estimate(cost.Usage(turn_share=0.5), source)
    assert "assumed 50% of video relayed" in line(lines, "Kinesis Video WebRTC").usage
    none = cost.estimate(cost.Usage(turn_share=0), source)
    assert line(lines, "Kinesis Video WebRTC").usd - line(none, "Kinesis Video WebRTC").usd \
        == pytest.approx(0.5 * 30 * 60 * cost.PRICES["kvs_turn_minute"])
    assert "INIT of" in line(lines, "Lambda arm64").usage


def test_adding_an_alarm_to_the_template_adds_its_price(source):
    more = copy.deepcopy(source)
    more["Resources"]["AnotherAlarm"] = copy.deepcopy(more["Resources"]["Api5xxAlarm"])
    before, after = cost.estimate(cost.Usage(), source), cost.estimate(cost.Usage(), more)
    assert line(after, "CloudWatch alarms").usd - line(before, "CloudWatch alarms").usd \
        == pytest.approx(cost.PRICES["cw_alarm_metric"])


def test_conditional_resources_tracing_and_memory_show_up(source):
    enabled = copy.deepcopy(source)
    enabled["Parameters"]["CustomMetrics"]["Default"] = "Enabled"
    lines = cost.estimate(cost.Usage(), enabled)
    assert line(lines, "CloudWatch custom metrics").usd == pytest.approx(
        cost.CUSTOM_METRICS * cost.PRICES["cw_custom_metric"])
    assert line(lines, "CloudWatch alarms").usd == pytest.approx(0.30)  # the stale alarm too
    changed = copy.deepcopy(source)
    changed["Globals"]["Function"]["Tracing"] = "Active"
    changed["Resources"]["Board"] = {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}}
    changed["Resources"]["MarsRefreshFunction"]["Properties"]["MemorySize"] = 2048
    base, lines = cost.estimate(cost.Usage(), source), cost.estimate(cost.Usage(), changed)
    assert line(lines, "X-Ray").usd > 0 and line(lines, "CloudWatch dashboards").usd == 3.00
    assert line(lines, "Lambda arm64").usd > line(base, "Lambda arm64").usd


def test_limits_name_what_a_fleet_would_exceed(source):
    assert cost.limits(cost.Usage(), source) == []
    small = copy.deepcopy(source)
    small["Parameters"]["DeviceDailyQuota"]["Default"] = 5000
    small["Parameters"]["DeviceRateLimit"]["Default"] = 2
    warnings = cost.limits(cost.Usage(pyportals=1000), small)
    assert any("allows 5,000 a day" in w for w in warnings)
    assert any("after a power cut" in w for w in warnings)
    # deploy sizes the robot routes per robot: 100 joysticks fit; Lambda's quota may not
    many = cost.limits(cost.Usage(robots=100), source)
    assert not any("POST /robot" in w for w in many)
    assert any("Lambda functions running at once" in w for w in many)


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
