"""``python -m tools.deploy cost``: the monthly bill, line by line, from the template's resources.

What is counted comes from ``cloud/template.yaml`` as deployed with its defaults (functions with
their memory, alarms, log groups, custom metrics, tracing, dashboards, robots' things and
channels) and from the code's own rates (the page's poll and command intervals, the robot's
heartbeat as ``tools.deploy`` provisions it); how much each is used comes from :class:`Usage`.
Prices are list prices, without any free tier, in :data:`PRICES` with the date they were read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.deploy import provision, template

PRICES_DATE = "2026-11 (us-east-1 list prices, no free tier; check aws.amazon.com/pricing)"
#: USD per unit.
PRICES = {
    "apigw_rest_request": 3.50 / 1e6,
    "lambda_request": 0.20 / 1e6,
    "lambda_arm_gb_s": 0.0000133334,
    "iot_connect_minute": 0.08 / 1e6,
    "iot_message": 1.00 / 1e6,  # per 5 KB; a retained-status read counted as one
    "kvs_channel_month": 0.03,
    "kvs_signaling_message": 2.25 / 1e6,
    "s3_gb_month": 0.023,
    "s3_get": 0.0004 / 1000,
    "s3_put": 0.005 / 1000,
    "s3_gb_out": 0.09,
    "cloudfront_request": 0.0100 / 10_000,
    "cloudfront_gb_out": 0.085,
    "cognito_mau": 0.015,  # Essentials, the tier new user pools get
    "cw_alarm_metric": 0.10,
    "cw_custom_metric": 0.30,
    "cw_dashboard": 3.00,
    "logs_gb_ingested": 0.50,
    "logs_gb_month": 0.03,
    "xray_trace": 5.00 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "sns_email": 2.00 / 100_000,
}
#: Custom metrics the Mars API emits when CustomMetrics=Enabled (cloud/mars/telemetry.py):
#: nine per service, and latency and errors per NASA source.
CUSTOM_METRICS = 9 + 2 * 5

WEB = Path(__file__).resolve().parents[2] / "cloud" / "web"
DAYS = 30


def _js_constant(file: str, name: str) -> float:
    text = (WEB / file).read_text(encoding="utf-8")
    found = re.search(rf"\b{name}\s*=\s*([0-9_]+)", text)
    if not found:
        raise ValueError(f"cloud/web/{file} no longer defines {name}; update tools/deploy/cost.py")
    return float(found.group(1).replace("_", ""))


@dataclass(frozen=True)
class Usage:
    """The usage model. Durations and sizes are estimates stated here, not measurements."""

    pyportals: int = 1
    robots: int = 1
    drive_hours: float = 1.0  # per robot per day, with the page open
    refresh_minutes: float = 10.0  # the PyPortal's REFRESH_MINUTES
    held_share: float = 0.5  # of driving time a control is held (commands repeat meanwhile)
    fallback_share: float = 0.0  # of driving time without the data channel (HTTP instead)
    motor_changes_per_s: float = 1.0  # while a control is held: status + telemetry each
    drivers: int = 1  # monthly active Cognito users
    bitmap_bytes: int = 77_878  # 320x240 at 8 bits (cloud/mars/README.md)
    # average billed duration per invocation, ms
    duration_ms: Mapping[str, float] = field(default_factory=lambda: {
        "MarsApiFunction": 150, "MarsRefreshFunction": 1500, "RobotCommandFunction": 60,
        "RobotStatusFunction": 40})
    log_bytes_per_invocation: int = 1200  # START/END/REPORT and a JSON line or two
    access_log_bytes: int = 350


@dataclass
class Line:
    item: str
    usage: str
    usd: float


def _conditions(source: Mapping[str, Any]) -> dict[str, bool]:
    """The template's conditions for its parameter defaults (Equals/Not over Refs)."""
    defaults = template.parameter_defaults(source)

    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Ref" in node:
            return defaults.get(node["Ref"], "")
        return node

    def evaluate(node: Any) -> bool:
        if "Fn::Equals" in node:
            left, right = node["Fn::Equals"]
            return str(value(left)) == str(value(right))
        if "Fn::Not" in node:
            return not evaluate(node["Fn::Not"][0])
        raise ValueError(f"cost: cannot evaluate condition {node}")

    return {name: evaluate(spec) for name, spec in source.get("Conditions", {}).items()}


def resources(source: Mapping[str, Any], robots: int) -> dict[str, Any]:
    """What the template creates with its defaults and *robots* robots, for pricing."""
    names = ",".join(f"robot{i}" for i in range(robots))
    expanded = template.expand(source, {"RobotNames": names})
    conditions = _conditions(source)
    globals_ = source.get("Globals", {}).get("Function", {})
    found: dict[str, Any] = {"functions": {}, "alarm_metrics": 0, "log_groups": 0,
                             "dashboards": 0, "channels": 0, "things": 0, "queues": 0,
                             "tracing": False, "custom_metrics": False, "api_metrics": False,
                             "access_logs": False}
    env = globals_.get("Environment", {}).get("Variables", {})
    disabled = env.get("POWERTOOLS_METRICS_DISABLED", "false")
    if isinstance(disabled, dict) and "Fn::If" in disabled:
        name, when_true, when_false = disabled["Fn::If"]
        disabled = when_true if conditions[name] else when_false
    found["custom_metrics"] = str(disabled).lower() != "true"
    for logical, resource in expanded["Resources"].items():
        if resource.get("Condition") and not conditions.get(resource["Condition"], True):
            continue
        kind, props = resource.get("Type"), resource.get("Properties", {})
        if kind == "AWS::Serverless::Function":
            found["functions"][logical] = props.get("MemorySize", globals_.get("MemorySize", 128))
            found["tracing"] |= props.get("Tracing", globals_.get("Tracing")) == "Active"
        elif kind == "AWS::CloudWatch::Alarm":
            metrics = props.get("Metrics")
            found["alarm_metrics"] += sum(1 for m in metrics if "MetricStat" in m or
                                          "Expression" in m and "SELECT" in str(m)) \
                if metrics else 1
        elif kind == "AWS::Logs::LogGroup":
            found["log_groups"] += 1
        elif kind == "AWS::CloudWatch::Dashboard":
            found["dashboards"] += 1
        elif kind == "AWS::KinesisVideo::SignalingChannel":
            found["channels"] += 1
        elif kind == "AWS::IoT::Thing":
            found["things"] += 1
        elif kind == "AWS::SQS::Queue":
            found["queues"] += 1
        elif kind == "AWS::Serverless::Api":
            settings = props.get("MethodSettings", [])
            found["api_metrics"] = any(s.get("MetricsEnabled") for s in settings)
            found["access_logs"] = "AccessLogSetting" in props
            found["tracing"] |= bool(props.get("TracingEnabled"))
    return found


def estimate(usage: Usage = Usage(), source: Mapping[str, Any] | None = None) -> list[Line]:
    """The monthly bill for *usage*, one :class:`Line` per service."""
    source = source if source is not None else template.load()
    found = resources(source, usage.robots)
    p = PRICES
    # the page's status reads (cloud/web/poll.js): while idle at most every IDLE_MIN_MS (it
    # backs off from there), while driving without the data channel every DRIVING_POLL_MS
    poll_s = _js_constant("poll.js", "IDLE_MIN_MS") / 1000
    fast_poll_s = _js_constant("poll.js", "DRIVING_POLL_MS") / 1000
    repeat_s = _js_constant("drive.js", "REPEAT_MS") / 1000
    drive_s = usage.robots * usage.drive_hours * 3600 * DAYS
    held_s = drive_s * usage.held_share
    fallback_s = drive_s * usage.fallback_share

    mars = usage.pyportals * DAYS * 24 * 60 / usage.refresh_minutes
    refresh = 0.0
    if "MarsRefreshFunction" in found["functions"]:
        refresh = DAYS * 24 * 6  # rate(10 minutes)
    status = (drive_s - fallback_s) / poll_s + fallback_s / fast_poll_s
    commands = held_s * usage.fallback_share / repeat_s  # the rest go peer to peer
    invocations = {"MarsApiFunction": mars, "MarsRefreshFunction": refresh,
                   "RobotCommandFunction": commands, "RobotStatusFunction": status}
    api_requests = mars + status + commands
    lines = [Line("API Gateway REST", f"{api_requests:,.0f} requests (/mars {mars:,.0f}, status "
                  f"polls every {poll_s:g} s {status:,.0f}, HTTP commands {commands:,.0f})",
                  api_requests * p["apigw_rest_request"])]
    gb_s = sum(invocations.get(name, 0) * usage.duration_ms.get(name, 100) / 1000 * memory / 1024
               for name, memory in found["functions"].items())
    requests = sum(invocations.get(name, 0) for name in found["functions"])
    lines.append(Line("Lambda arm64", f"{requests:,.0f} invocations, {gb_s:,.0f} GB-s",
                      requests * p["lambda_request"] + gb_s * p["lambda_arm_gb_s"]))
    heartbeats = usage.robots * DAYS * 86400 / provision.HEARTBEAT_S
    motor = held_s * usage.motor_changes_per_s * 2  # status + telemetry per change
    messages = heartbeats + motor + commands + status
    minutes = found["things"] * DAYS * 24 * 60
    lines.append(Line("IoT Core", f"{found['things']} robot(s) connected ({minutes:,.0f} min), "
                      f"{messages:,.0f} messages (heartbeat every {provision.HEARTBEAT_S:g} s, "
                      "motor changes, commands, status reads)",
                      minutes * p["iot_connect_minute"] + messages * p["iot_message"]))
    sessions = usage.robots * DAYS
    lines.append(Line("Kinesis Video WebRTC", f"{found['channels']} signaling channel(s), "
                      f"~{sessions * 100:,} signaling messages; media peer to peer (no TURN)",
                      found["channels"] * p["kvs_channel_month"]
                      + sessions * 100 * p["kvs_signaling_message"]))
    gets, puts = mars * 2 + refresh * 3, refresh
    out_gb = mars * usage.bitmap_bytes / 1e9
    lines.append(Line("S3", f"{gets:,.0f} GET, {puts:,.0f} PUT, {out_gb * 1000:,.0f} MB of "
                      "bitmaps to the PyPortal", gets * p["s3_get"] + puts * p["s3_put"]
                      + 0.05 * p["s3_gb_month"] + out_gb * p["s3_gb_out"]))
    page_loads = sessions * 15
    cf_requests = status + commands + page_loads
    cf_gb = (status + commands) * 1000 / 1e9 + sessions * 0.6e6 / 1e9
    lines.append(Line("CloudFront", f"{cf_requests:,.0f} requests (page and its API calls), "
                      f"{cf_gb * 1000:,.0f} MB", cf_requests * p["cloudfront_request"]
                      + cf_gb * p["cloudfront_gb_out"]))
    lines.append(Line("Cognito", f"{usage.drivers} monthly active driver(s)",
                      usage.drivers * p["cognito_mau"]))
    lines.append(Line("CloudWatch alarms", f"{found['alarm_metrics']} alarm metric(s)",
                      found["alarm_metrics"] * p["cw_alarm_metric"]))
    metrics = (CUSTOM_METRICS if found["custom_metrics"] else 0) + (
        7 * 5 if found["api_metrics"] else 0)
    lines.append(Line("CloudWatch custom metrics", f"{metrics} (CustomMetrics "
                      f"{'on' if found['custom_metrics'] else 'off'}, per-method API metrics "
                      f"{'on' if found['api_metrics'] else 'off'})",
                      metrics * p["cw_custom_metric"]))
    if found["dashboards"]:
        lines.append(Line("CloudWatch dashboards", f"{found['dashboards']}",
                          found["dashboards"] * p["cw_dashboard"]))
    log_gb = (requests * usage.log_bytes_per_invocation
              + (api_requests * usage.access_log_bytes if found["access_logs"] else 0)) / 1e9
    lines.append(Line("CloudWatch Logs", f"{log_gb * 1000:,.0f} MB into {found['log_groups']} "
                      "log groups, kept 14 days", log_gb * p["logs_gb_ingested"]
                      + log_gb * 14 / 30 * p["logs_gb_month"]))
    if found["tracing"]:
        lines.append(Line("X-Ray", f"{requests:,.0f} traces", requests * p["xray_trace"]))
    lines.append(Line("SQS, SNS", f"{found['queues']} queue(s), a few alarm e-mails",
                      100 * p["sqs_request"] + 10 * p["sns_email"]))
    return lines


def fallback_hour(usage: Usage = Usage(), source: Mapping[str, Any] | None = None) -> float:
    """What one more hour a month of driving over HTTP (no data channel) adds."""
    base = sum(line.usd for line in estimate(usage, source))
    hour = usage.drive_hours * usage.robots * DAYS
    more = Usage(**{**usage.__dict__, "fallback_share": usage.fallback_share + 1 / hour})
    return sum(line.usd for line in estimate(more, source)) - base


def report(usage: Usage = Usage()) -> str:
    """The table ``python -m tools.deploy cost`` prints."""
    source = template.load()
    lines = estimate(usage, source)
    width = max(len(line.item) for line in lines)
    out = [f"Monthly estimate for {usage.pyportals} PyPortal(s) refreshing every "
           f"{usage.refresh_minutes:g} min and {usage.robots} robot(s) driven "
           f"{usage.drive_hours:g} h a day ({DAYS} days; controls held {usage.held_share:.0%} "
           f"of the time, commands over the video data channel"
           f"{f', {usage.fallback_share:.0%} over HTTP' if usage.fallback_share else ''})",
           f"Prices: {PRICES_DATE}", ""]
    for line in lines:
        out.append(f"  {line.item:<{width}}  ${line.usd:6.2f}  {line.usage}")
    total = sum(line.usd for line in lines)
    out += ["", f"  {'total':<{width}}  ${total:6.2f}  a month, without any free tier",
            f"  (each hour of driving over HTTP instead of the data channel adds "
            f"${fallback_hour(usage, source):.2f})"]
    return "\n".join(out)


def total(usage: Usage = Usage(), source: Mapping[str, Any] | None = None) -> float:
    return sum(line.usd for line in estimate(usage, source))
