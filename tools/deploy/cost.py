"""``python -m tools.deploy cost``: the monthly bill, line by line, for what ``deploy`` ships.

What exists comes from ``cloud/template.yaml`` with its defaults (functions and their memory,
alarms, log groups, metrics, tracing, things, channels, throttles, the device usage plan); what
the code does per device comes from :mod:`tools.deploy.usage` (the same defaults ``deploy``
writes); how much each is used comes from :class:`Usage`. IoT messages are counted as IoT bills
them (a retained publish twice, a command's acknowledgement by the robot once); TURN is a share
of the video sessions (an assumption, flagged); Lambda's INIT phase is billed. Prices, with the
pages they come from, are in :mod:`tools.deploy.prices`. :func:`limits` says which quota or
throttle the usage would exceed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cloud.mars import cdn
from tools.deploy import provision, template, usage
from tools.deploy.prices import PRICES, PRICES_DATE

__all__ = ["PRICES", "PRICES_DATE", "Usage", "Line", "estimate", "total", "report", "limits"]

#: Custom metrics the Mars API emits when CustomMetrics=Enabled (cloud/mars/telemetry.py):
#: nine per service, and latency and errors per NASA source.
CUSTOM_METRICS = 9 + 2 * 5
DAYS = 30
MONTH_S = DAYS * 86400
#: CloudFront locations a fleet's requests reach; each fills its own cache (regional edge
#: caches share some of it: an upper bound on origin requests).
EDGES = 5
#: Screen sizes a fleet asks for (PyPortal 320x240, Titano 480x320): cache keys per photo.
VARIANTS = 2
#: Lambda reclaims an idle execution environment after some minutes (not published; observed
#: 5-15); one kept busy is replaced every few hours. Each new one runs INIT, which is billed.
IDLE_RECLAIM_S = 600
ENV_LIFETIME_S = 2 * 3600
#: Accounts start with a Lambda concurrency quota of 1,000, new ones sometimes with 10.
LAMBDA_CONCURRENCY = (10, 1000)
#: A reconnect a day per robot (a router, an update): CONNECT and SUBSCRIBE.
CONNECTS_PER_DAY = 1


@dataclass(frozen=True)
class Usage:
    """The usage model. Durations and sizes are estimates stated here, not measurements."""

    pyportals: int = 1
    robots: int = 1
    drive_hours: float = 1.0  # per robot per day, with the page open
    held_share: float = 0.5  # of driving time the stick moves (a new command every ANALOG_MS)
    # of driving time without the data channel (HTTP instead); None: what deploy ships (a
    # robot with video drives over its channel, one without over HTTP)
    fallback_share: float | None = None
    releases_per_minute: float = 4.0  # controls let go (a stop each) per minute of driving
    turn_share: float = 0.2  # of video time relayed by TURN (peers that cannot meet directly)
    idle_page_hours: float = 0.0  # per robot per day, a visible page without video
    failed_refreshes: float = 0.02  # of PyPortal refreshes (Wi-Fi, the network): each tried
    # again after a jittered back-off until one works
    drivers: int | None = None  # monthly active Cognito users (default: one per robot)
    # average billed duration per invocation, ms, and INIT of a new environment
    duration_ms: Mapping[str, float] = field(default_factory=lambda: {
        "MarsApiFunction": 150, "MarsRefreshFunction": 1500, "RobotCommandFunction": 60,
        "RobotStatusFunction": 40})
    init_ms: Mapping[str, float] = field(default_factory=lambda: {
        "MarsApiFunction": 1200, "MarsRefreshFunction": 1200, "RobotCommandFunction": 600,
        "RobotStatusFunction": 600})
    log_bytes_per_invocation: int = 1200  # START/END/REPORT and a JSON line or two
    access_log_bytes: int = 350
    api_answer_bytes: int = 1000  # a status or command answer to the page


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


def _number(node: Any, defaults: Mapping[str, str]) -> float:
    if isinstance(node, dict) and "Ref" in node:
        return float(defaults[node["Ref"]])
    return float(node)


def resources(source: Mapping[str, Any], robots: int) -> dict[str, Any]:
    """What the template creates with its defaults and *robots* robots, for pricing."""
    names = ",".join(f"robot{i}" for i in range(robots))
    expanded = template.expand(source, {"RobotNames": names})
    conditions = _conditions(source)
    defaults = template.parameter_defaults(source)
    globals_ = source.get("Globals", {}).get("Function", {})
    found: dict[str, Any] = {"functions": {}, "alarm_metrics": 0, "log_groups": 0,
                             "dashboards": 0, "channels": 0, "things": 0, "queues": 0,
                             "tracing": False, "custom_metrics": False, "api_metrics": False,
                             "access_logs": False, "throttles": {}, "plan": None,
                             "distributions": 0}
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
            found["functions"][logical] = props.get(
                "MemorySize", globals_.get("MemorySize", 128))
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
        elif kind == "AWS::CloudFront::Distribution":
            found["distributions"] += 1
        elif kind == "AWS::ApiGateway::UsagePlan":
            found["plan"] = {"rate": _number(props["Throttle"]["RateLimit"], defaults),
                             "burst": _number(props["Throttle"]["BurstLimit"], defaults),
                             "quota": _number(props["Quota"]["Limit"], defaults)}
        elif kind == "AWS::Serverless::Api":
            settings = props.get("MethodSettings", [])
            found["api_metrics"] = any(s.get("MetricsEnabled") for s in settings)
            found["access_logs"] = "AccessLogSetting" in props
            found["tracing"] |= bool(props.get("TracingEnabled"))
            for setting in settings:
                key = (setting["HttpMethod"], setting["ResourcePath"].replace("~1", "/"))
                found["throttles"][key] = (_number(setting["ThrottlingRateLimit"], defaults),
                                           _number(setting["ThrottlingBurstLimit"], defaults))
    return found


def http_share(u: Usage) -> float:
    """The share of driving over HTTP: as given, else as the shipped camera driver makes it."""
    if u.fallback_share is not None:
        return u.fallback_share
    return 1.0 if provision.CAMERA_DRIVER == "none" else 0.0


def activity(u: Usage, rates: usage.Rates) -> usage.Activity:
    """A month of :class:`Usage` as :class:`usage.Activity`."""
    fallback = http_share(u)
    drive_s = u.robots * u.drive_hours * 3600 * DAYS
    held = drive_s * u.held_share
    return usage.Activity(
        refreshes=u.pyportals * MONTH_S / rates.refresh_s,
        retries=u.pyportals * MONTH_S / rates.refresh_s * u.failed_refreshes
        / (1 - u.failed_refreshes),
        held_s=held * (1 - fallback),
        held_http_s=held * fallback,
        releases=drive_s / 60 * u.releases_per_minute,
        idle_robot_s=u.robots * MONTH_S - held,
        polled_idle_s=u.robots * u.idle_page_hours * 3600 * DAYS + (drive_s - held) * fallback,
        sessions=u.robots * DAYS if u.drive_hours else 0,
        session_s=drive_s,
        page_loads=u.robots * DAYS if u.drive_hours else 0,
        connects=u.robots * DAYS * CONNECTS_PER_DAY,
        turn_share=u.turn_share,
    )


def _cold_starts(invocations: float, bursts: float | None = None) -> float:
    """New execution environments: every call when they are further apart than Lambda keeps
    one idle, else one per environment lifetime; ``bursts``: calls come in that many runs."""
    if invocations <= 0:
        return 0.0
    if bursts is not None:
        return min(invocations, bursts)
    if MONTH_S / invocations > IDLE_RECLAIM_S:
        return invocations
    return MONTH_S / ENV_LIFETIME_S


def _origin(requests: float, lifetimes: float, pyportals: int) -> float:
    """Requests that reach API Gateway through CloudFront: one per cached answer's lifetime,
    screen size and edge location at most (cloud/mars/cdn.py)."""
    return min(requests, lifetimes * min(EDGES, pyportals) * min(VARIANTS, pyportals))


def estimate(u: Usage = Usage(), source: Mapping[str, Any] | None = None) -> list[Line]:
    """The monthly bill for *u*, one :class:`Line` per service."""
    source = source if source is not None else template.load()
    found = resources(source, u.robots)
    p = PRICES
    rates = usage.Rates.shipped(dict(source))
    seen = usage.events(activity(u, rates), rates)
    windows = MONTH_S / rates.rotation_s  # photos a month
    answers = MONTH_S / min(cdn.MAX_AGE_S, rates.rotation_s)  # how long a /mars answer lasts
    origin_mars = _origin(seen.mars, answers, u.pyportals)
    origin_bitmaps = _origin(seen.bitmaps, windows, u.pyportals)
    refresh = DAYS * 24 * 6 if "MarsRefreshFunction" in found["functions"] else 0.0
    api = origin_mars + origin_bitmaps + seen.status_reads + seen.http_commands
    lines = [Line("API Gateway REST", f"{api:,.0f} requests (/mars and bitmaps past "
                  f"CloudFront's cache {origin_mars + origin_bitmaps:,.0f}, status reads "
                  f"{seen.status_reads:,.0f}, HTTP commands {seen.http_commands:,.0f})",
                  api * p["apigw_rest_request"])]

    invocations = {"MarsApiFunction": origin_mars + origin_bitmaps, "MarsRefreshFunction": refresh,
                   "RobotCommandFunction": seen.http_commands,
                   "RobotStatusFunction": seen.status_reads}
    sessions = usage_sessions(u)
    cold = {"MarsApiFunction": _cold_starts(invocations["MarsApiFunction"]),
            "MarsRefreshFunction": _cold_starts(refresh),
            "RobotCommandFunction": _cold_starts(seen.http_commands, sessions),
            "RobotStatusFunction": _cold_starts(seen.status_reads, sessions)}
    gb_s = init_gb_s = 0.0
    for name, memory in found["functions"].items():
        gb = memory / 1024
        gb_s += invocations.get(name, 0) * u.duration_ms.get(name, 100) / 1000 * gb
        init_gb_s += cold.get(name, 0) * u.init_ms.get(name, 1000) / 1000 * gb
    requests = sum(invocations.get(name, 0) for name in found["functions"])
    lines.append(Line("Lambda arm64", f"{requests:,.0f} invocations, {gb_s:,.0f} GB-s, INIT of "
                      f"{sum(cold.values()):,.0f} new environments {init_gb_s:,.0f} GB-s",
                      requests * p["lambda_request"] + (gb_s + init_gb_s) * p["lambda_arm_gb_s"]))

    minutes = found["things"] * MONTH_S / 60
    # billed: a retained status twice (publish, retained), telemetry once (nobody subscribes
    # in AWS), an HTTP command three times (the API's publish, the delivery, the robot's
    # PUBACK), a status read once (its answer), a connection's CONNECT and SUBSCRIBE
    billed = (2 * seen.robot_status + seen.robot_telemetry + 3 * seen.http_commands
              + seen.status_reads + 2 * seen.connects)
    lines.append(Line("IoT Core", f"{found['things']} robot(s) connected ({minutes:,.0f} min), "
                      f"{billed:,.0f} billed messages (robots publish {seen.robot_status:,.0f} "
                      f"statuses and {seen.robot_telemetry:,.0f} telemetry; commands, status "
                      "reads)", minutes * p["iot_connect_minute"] + billed * p["iot_message"]))
    lines.append(Line("Kinesis Video WebRTC", f"{found['channels']} signaling channel(s), "
                      f"{seen.signaling:,.0f} signaling messages, TURN {seen.turn_minutes:,.0f} "
                      f"min (assumed {u.turn_share:.0%} of video relayed)",
                      found["channels"] * p["kvs_channel_month"]
                      + seen.signaling * p["kvs_signaling_message"]
                      + seen.turn_minutes * p["kvs_turn_minute"]))
    gets = origin_mars * 2 + origin_bitmaps + refresh * 3
    puts = refresh + windows * min(VARIANTS, u.pyportals)
    lines.append(Line("S3", f"{gets:,.0f} GET, {puts:,.0f} PUT (bitmaps reach devices through "
                      "CloudFront)", gets * p["s3_get"] + puts * p["s3_put"]
                      + 0.05 * p["s3_gb_month"]))
    api_calls = seen.status_reads + seen.http_commands
    cf_requests = seen.mars + seen.bitmaps + seen.page_requests + api_calls
    cf_gb = (seen.mars * usage.MARS_JSON_BYTES + seen.bitmaps * rates.bitmap_bytes
             + seen.page_bytes + api_calls * u.api_answer_bytes) / 1e9
    lines.append(Line("CloudFront", f"{cf_requests:,.0f} requests ({seen.mars:,.0f} /mars, "
                      f"{seen.bitmaps:,.0f} bitmaps of {rates.bitmap_bytes:,} B, the page), "
                      f"{cf_gb * 1000:,.0f} MB", cf_requests * p["cloudfront_request"]
                      + cf_gb * p["cloudfront_gb_out"]))
    drivers = u.drivers if u.drivers is not None else u.robots
    lines.append(Line("Cognito", f"{drivers} monthly active driver(s)",
                      drivers * p["cognito_mau"]))
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
    log_gb = (requests * u.log_bytes_per_invocation
              + (api * u.access_log_bytes if found["access_logs"] else 0)) / 1e9
    lines.append(Line("CloudWatch Logs", f"{log_gb * 1000:,.0f} MB into {found['log_groups']} "
                      "log groups, kept 14 days", log_gb * p["logs_gb_ingested"]
                      + log_gb * 14 / 30 * p["logs_gb_month"]))
    if found["tracing"]:
        lines.append(Line("X-Ray", f"{requests:,.0f} traces", requests * p["xray_trace"]))
    lines.append(Line("SQS, SNS", f"{found['queues']} queue(s), a few alarm e-mails",
                      100 * p["sqs_request"] + 10 * p["sns_email"]))
    return lines


def usage_sessions(u: Usage) -> float:
    return u.robots * DAYS if u.drive_hours else 0.0


def total(u: Usage = Usage(), source: Mapping[str, Any] | None = None) -> float:
    return sum(line.usd for line in estimate(u, source))


def fallback_hour(u: Usage = Usage(), source: Mapping[str, Any] | None = None) -> float:
    """What one more hour a month of driving over HTTP (no data channel) adds."""
    hours = u.drive_hours * u.robots * DAYS
    if not hours:
        return 0.0
    more = replace(u, fallback_share=min(1.0, http_share(u) + 1 / hours))
    return total(more, source) - total(u, source)


def _route_throttle(found: Mapping[str, Any], method: str, path: str,
                    robots: int) -> tuple[float, float]:
    """The throttle ``deploy`` gives the route for ``robots`` robots."""
    names = template.THROTTLE_PARAMETERS.get((method, path))
    if names is not None:
        deployed = template.throttle_parameters(robots)
        return float(deployed[names[0]]), float(deployed[names[1]])
    throttles = found["throttles"]
    return throttles.get((method, path)) or throttles[("*", "/*")]


def limits(u: Usage = Usage(), source: Mapping[str, Any] | None = None) -> list[str]:
    """One line per quota or throttle this usage would exceed (or come close to)."""
    source = source if source is not None else template.load()
    found = resources(source, u.robots)
    rates = usage.Rates.shipped(dict(source))
    warnings: list[str] = []
    plan = found["plan"]
    per_day = u.pyportals * 86400 / rates.refresh_s * (1 + rates.bitmaps_per_refresh)
    if plan and per_day > plan["quota"]:
        warnings.append(f"{u.pyportals:,} PyPortals ask {per_day:,.0f} times a day; the device "
                        f"usage plan allows {plan['quota']:,.0f} a day at the API: CloudFront "
                        "answers most of them, but a day without its cache would end in 429s")
    storm = u.pyportals * 2 / 60  # every board at once after a power cut, within a minute
    if plan and storm > plan["rate"] and u.pyportals > min(EDGES, u.pyportals) * VARIANTS * 2:
        warnings.append(f"after a power cut {u.pyportals:,} PyPortals ask within a minute "
                        f"({storm:,.0f}/s); past CloudFront's cache the usage plan's "
                        f"{plan['rate']:g}/s (burst {plan['burst']:g}) turns the excess into 429s "
                        "that the boards retry with jittered backoff")
    peak_commands = u.robots * rates.commands_per_s
    rate, burst = _route_throttle(found, "POST", "/robot/{name}/cmd", u.robots)
    if peak_commands > rate:
        warnings.append(f"{u.robots} robot(s) driven over HTTP at once send "
                        f"{peak_commands:,.0f} commands/s; POST /robot/{{name}}/cmd allows "
                        f"{rate:g}/s (burst {burst:g})")
    peak_status = u.robots * 1000 / usage.PAGE_STATUS["driving_ms"]
    rate, burst = _route_throttle(found, "GET", "/robot/{name}/status", u.robots)
    if peak_status > rate:
        warnings.append(f"{u.robots} page(s) driving over HTTP read {peak_status:,.0f} "
                        f"statuses/s; GET /robot/{{name}}/status allows {rate:g}/s")
    concurrent = (peak_commands * u.duration_ms["RobotCommandFunction"]
                  + peak_status * u.duration_ms["RobotStatusFunction"]) / 1000
    low, high = LAMBDA_CONCURRENCY
    if concurrent > low:
        warnings.append(f"every robot driven over HTTP at once needs ~{concurrent:,.0f} Lambda "
                        f"functions running at once: over the {low} some new accounts start "
                        f"with{'' if concurrent <= high else f' and the default {high}'} (Service "
                        "Quotas: Lambda concurrent executions); over the data channel it is 0")
    return warnings


def report(u: Usage = Usage()) -> str:
    """The table ``python -m tools.deploy cost`` prints."""
    source = template.load()
    rates = usage.Rates.shipped(source)
    lines = estimate(u, source)
    width = max(len(line.item) for line in lines)
    out = [f"Monthly estimate for {u.pyportals:,} PyPortal(s) refreshing every "
           f"{rates.refresh_s / 60:g} min (a new photo every {rates.rotation_s / 60:g} min) and "
           f"{u.robots} robot(s) driven {u.drive_hours:g} h a day ({DAYS} days; the stick "
           f"moving {u.held_share:.0%} of the time, commands over the video data channel"
           f"{f', {http_share(u):.0%} over HTTP' if http_share(u) else ''})",
           f"Prices: {PRICES_DATE}", ""]
    for line in lines:
        out.append(f"  {line.item:<{width}}  ${line.usd:6.2f}  {line.usage}")
    out += ["", f"  {'total':<{width}}  ${sum(line.usd for line in lines):6.2f}  a month, "
            "without any free tier",
            f"  (each hour of driving over HTTP instead of the data channel adds "
            f"${fallback_hour(u, source):.2f}; TURN is an assumed share, flagged above)"]
    warnings = limits(u, source)
    if warnings:
        out += ["", "Limits:"] + [f"  ! {w}" for w in warnings]
    return "\n".join(out)

