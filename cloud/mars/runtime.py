"""Builds the Mars service from configuration, once per process (one warm Lambda container).

Built lazily on first use, so importing a handler stays cheap and a configuration error surfaces
on the first request with the message naming the setting.
"""

from __future__ import annotations

import dataclasses

from cloud import config as cloud_config
from cloud.lazy import Lazy
from cloud.mars.allowlist import Allowlist
from cloud.mars.apikey import nasa_api_key
from cloud.mars.cache import in_thread
from cloud.mars.conversions import MB, Gate
from cloud.mars.http import HttpClient, HttpPolicy
from cloud.mars.photos import image_sources
from cloud.mars.service import MarsService
from cloud.mars.store import open_store
from cloud.mars.telemetry import Telemetry
from cloud.mars.weather import weather_sources

telemetry = Telemetry()


def build(config: cloud_config.Config, telemetry: Telemetry | None = None) -> MarsService:
    """A service wired to the real feeds, store and clock named by ``config``."""
    config = dataclasses.replace(config, nasa_api_key=nasa_api_key(config))
    policy = HttpPolicy(connect_timeout_s=config.http_connect_timeout_s,
                        read_timeout_s=config.http_read_timeout_s,
                        deadline_s=config.http_deadline_s, max_bytes=config.http_max_bytes)
    http = HttpClient(policy, observer=telemetry.upstream if telemetry else None,
                      allowlist=Allowlist.from_config(config))
    return MarsService(
        open_store(config.mars_store), http, image_sources(config, http),
        weather_sources(config, http), image_ttl_s=config.image_ttl_s,
        weather_ttl_s=config.weather_ttl_s, refresh_s=config.refresh_s,
        offline_sample=config.mars_offline_sample, telemetry=telemetry, background=in_thread,
        gate=Gate(config.convert_workers, config.convert_queue, config.convert_memory_mb * MB))


_service = Lazy(lambda: build(cloud_config.load(), telemetry))


def service() -> MarsService:
    """The process-wide service, built from the environment on first use."""
    return _service.get()


def reset() -> None:
    """Forget the service (tests change the environment between cases)."""
    _service.set(None)
