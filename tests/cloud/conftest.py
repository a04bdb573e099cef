"""Shared fixtures of the cloud tests: a fake Lambda context, a hand-moved clock, the fake NASA
server and Mars services wired to it, the robot handler with a recording publisher."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud import config as cloud_config
from cloud.mars import runtime
from cloud.mars.allowlist import Allowlist
from cloud.mars.http import HttpClient, HttpPolicy
from cloud.mars.photos import image_sources
from cloud.mars.service import MarsService
from cloud.mars.store import LocalStore, Store
from cloud.mars.telemetry import Telemetry
from cloud.mars.weather import weather_sources
from cloud.robot import handler as robot_handler
from testing.clock import Clock
from testing.fake_nasa import FakeNasa
from testing.lambda_context import FakeContext
from testing.robot_events import RecordingPublisher

# Generous read timeout: the fake server encodes photos on first request, and CI machines are
# busy; tests of slow answers script delays well past their own, shorter timeouts.
FAST = HttpPolicy(connect_timeout_s=2.0, read_timeout_s=5.0, deadline_s=20.0, retries=1,
                  backoff_s=0.01, max_retry_after_s=1.0)


@pytest.fixture
def nasa() -> Iterator[FakeNasa]:
    with FakeNasa() as server:
        yield server


@pytest.fixture
def lambda_context() -> FakeContext:
    return FakeContext()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def settings(nasa: FakeNasa, store: Path, **extra: str) -> dict[str, str]:
    env = {"MARS_SITE_BASE": nasa.url, "NASA_API_BASE": nasa.url, "MARS_STORE": str(store),
           "NASA_API_KEY": "test-nasa-key"}
    env.update(extra)
    return env


@pytest.fixture
def make_service(nasa: FakeNasa, tmp_path: Path, clock: Clock):
    """``make_service(**env)``: a service on the fake NASA, a temporary store (or ``store``),
    the test clock."""

    def make(policy: HttpPolicy = FAST, store: Store | None = None, **env: str) -> MarsService:
        config = cloud_config.load(settings(nasa, tmp_path / "store", **env))
        telemetry = Telemetry()
        http = HttpClient(policy, sleep=lambda s: None, observer=telemetry.upstream,
                          allowlist=Allowlist.from_config(config))
        return MarsService(
            store or LocalStore(config.mars_store), http, image_sources(config, http),
            weather_sources(config, http), image_ttl_s=config.image_ttl_s,
            weather_ttl_s=config.weather_ttl_s, refresh_s=config.refresh_s,
            offline_sample=config.mars_offline_sample, clock=clock, telemetry=telemetry)

    return make


@pytest.fixture
def handler_env(nasa: FakeNasa, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Environment for the real handlers (singletons built from it), reset around the test."""

    def apply(**extra: str) -> Path:
        for name, value in settings(nasa, tmp_path / "store", **extra).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("HTTP_READ_TIMEOUT_S", "5")
        monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
        runtime.reset()
        return tmp_path / "store"

    yield apply
    runtime.reset()


@pytest.fixture
def sent():
    publisher = RecordingPublisher({"sts-pi": {"online": True, "version": "0.1.0"}})
    robot_handler.use(publisher, config=cloud_config.load({"ROBOT_NAMES": "sts-pi,rover-2"}))
    yield publisher.sent
    robot_handler.use()

