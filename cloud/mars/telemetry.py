"""Metrics of the Mars API as CloudWatch EMF lines (Powertools), plus counters tests can read.

Per-source upstream metrics go out at once as single metrics with a ``source`` dimension;
request-level ones (cache hits and misses, conversion time, stale answers) are batched into the
shared Powertools ``Metrics`` and flushed once per invocation. The local stack runs handlers in
threads, so the shared metric set is guarded by a lock.
"""

from __future__ import annotations

import os
import threading
from collections import Counter

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "MarsRobot")


class Telemetry:
    """What the Mars API measures. ``counts`` keeps running totals (for tests and health)."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or Metrics(namespace=NAMESPACE, service="mars")
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _add(self, name: str, unit: MetricUnit, value: float) -> None:
        with self._lock:
            self.counts[name] += 1
            self.metrics.add_metric(name=name, unit=unit, value=value)

    def upstream(self, source: str, elapsed_ms: float, error: str | None) -> None:
        """One upstream request (after retries): latency, and an error count if it failed."""
        with self._lock:
            self.counts[f"upstream:{source}"] += 1
            if error:
                self.counts[f"upstream_error:{source}"] += 1
        if is_metrics_disabled():  # single metrics print at once, whatever the setting says
            return
        with single_metric(name="UpstreamLatency", unit=MetricUnit.Milliseconds,
                           value=elapsed_ms, namespace=NAMESPACE) as metric:
            metric.add_dimension(name="source", value=source)
        if error:
            with single_metric(name="UpstreamErrors", unit=MetricUnit.Count, value=1,
                               namespace=NAMESPACE) as metric:
                metric.add_dimension(name="source", value=source)

    def cache(self, event: str, key: str) -> None:
        """``hit``, ``miss``, ``stale`` or ``rejected`` for a cached resource."""
        name = {"hit": "CacheHits", "miss": "CacheMisses", "stale": "CacheStaleServed",
                "rejected": "UpstreamRejected"}.get(event, "CacheEvents")
        self._add(name, MetricUnit.Count, 1)

    def bitmap(self, hit: bool, conversion_ms: float | None = None) -> None:
        self._add("BitmapHits" if hit else "BitmapMisses", MetricUnit.Count, 1)
        if conversion_ms is not None:
            self._add("ConversionMs", MetricUnit.Milliseconds, conversion_ms)

    def answer(self, stale: bool, offline: bool) -> None:
        if stale:
            self._add("StaleAnswers", MetricUnit.Count, 1)
        if offline:
            self._add("OfflineAnswers", MetricUnit.Count, 1)

    def flush(self) -> None:
        """Write the batched metrics (one EMF line), if there are any, and start a new batch."""
        with self._lock:
            if self.metrics.metric_set:  # Powertools warns on an empty flush: log noise
                self.metrics.flush_metrics()
