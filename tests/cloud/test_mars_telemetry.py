"""Metrics: EMF lines per source when enabled, silence when disabled, counters always."""

from __future__ import annotations

import json
import warnings

from cloud.mars.telemetry import Telemetry


def _emf(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_upstream_metrics_carry_the_source(monkeypatch, capsys):
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    telemetry = Telemetry()
    telemetry.metrics.clear_metrics()  # Powertools shares one metric set per process
    telemetry.upstream("rems", 12.5, "http_503")
    telemetry.cache("miss", "weather")
    telemetry.bitmap(hit=False, conversion_ms=40.0)
    telemetry.answer(stale=True, offline=False)
    telemetry.flush()
    lines = _emf(capsys.readouterr().out)
    latency = next(line for line in lines if "UpstreamLatency" in line)
    assert latency["source"] == "rems" and latency["UpstreamLatency"] == [12.5]
    assert next(line for line in lines if "UpstreamErrors" in line)["source"] == "rems"
    batch = next(line for line in lines if "CacheMisses" in line)
    assert batch["ConversionMs"] == [40.0] and batch["StaleAnswers"] == [1.0]
    assert telemetry.counts["upstream_error:rems"] == 1


def test_disabled_metrics_print_nothing_but_still_count(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    telemetry = Telemetry()
    telemetry.upstream("rems", 1.0, None)
    telemetry.cache("hit", "weather")
    telemetry.flush()
    assert _emf(capsys.readouterr().out) == []
    assert telemetry.counts["CacheHits"] == 1 and telemetry.counts["upstream:rems"] == 1


def test_an_invocation_with_nothing_to_report_writes_and_warns_nothing(monkeypatch, capsys):
    """A refresh that failed before any metric was added ended with Powertools' "No application
    metrics to publish" warning in its log."""
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    telemetry = Telemetry()
    telemetry.metrics.clear_metrics()  # Powertools shares one metric set per process
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        telemetry.flush()
    assert _emf(capsys.readouterr().out) == []
