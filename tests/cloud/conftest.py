"""Shared fixtures of the Mars API tests: recorded events and payloads, a fake Lambda context,
the fake NASA server and services wired to it."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from testing.fake_nasa import FakeNasa

HERE = Path(__file__).resolve().parent


def load_json(folder: str, name: str) -> Any:
    """A recorded JSON file: ``load_json("events", "get_mars.json")``."""
    return json.loads((HERE / folder / name).read_text(encoding="utf-8"))


def load_event(name: str, **changes: Any) -> dict[str, Any]:
    """A recorded API Gateway event from ``events/``, with top-level keys replaced."""
    event = copy.deepcopy(load_json("events", name))
    event.update(changes)
    return event


def load_fixture(name: str, base: str = "http://nasa.test") -> Any:
    """A feed fixture from ``fixtures/`` as the fake server would serve it."""
    text = (HERE / "fixtures" / name).read_text(encoding="utf-8")
    return json.loads(text.replace("{base}", base))


@dataclass
class FakeContext:
    """What the Lambda runtime passes as ``context``."""

    function_name: str = "mars-api"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:mars-api"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class Clock:
    """A clock tests move by hand (epoch seconds)."""

    def __init__(self, now: float = 1_790_676_672.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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
