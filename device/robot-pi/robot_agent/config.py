"""The agent's configuration file (TOML), read and validated once at start.

Every section is a dataclass read by :mod:`robot_agent.toml_reader`, so every error names the
key and the file, e.g.
``/etc/robot-agent/config.toml: [motors] max_speed = 2 is invalid: expected 0.0 < x <= 1.0``.
See ``config.example.toml`` for every key with its default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from contracts import command as contract
from robot_agent.camera.settings import CameraSettings
from robot_agent.errors import ConfigError
from robot_agent.toml_reader import Where, read, setting

DRIVERS = ("explorer-hat", "ryanteck", "camjam", "pololu-drv8835", "custom")
IOT_PORTS = (8883, 443)
ALPN_IOT = "x-amzn-mqtt-ca"
MIN_DURATION_MS, MAX_DURATION_MS = contract.duration_range_ms()  # the schema's; the deadman's
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def name_problem(name: str) -> str | None:
    """What is wrong with ``name`` as a robot's name, or ``None`` (the local stack asks too)."""
    if not name or len(name) > 128 or not all(c.isalnum() or c in "-_" for c in name):
        return ("use 1-128 letters, digits, '-' or '_' (it is the IoT thing, MQTT client id and "
                "video channel name)")
    return None


@dataclass(frozen=True)
class MqttConfig:
    """Where and how the agent connects: ``url`` (a local broker) or ``endpoint`` (AWS IoT).

    ``tls`` is true for AWS IoT Core (``endpoint``) and ``mqtts://`` URLs: mutual TLS with
    ``cert``/``key`` against ``ca``. ``alpn`` is true on port 443 (``x-amzn-mqtt-ca``).
    ``host``, ``port`` and ``tls`` are worked out from ``url`` or ``endpoint`` by :meth:`check`.
    """

    url: str | None = None
    endpoint: str | None = None
    port: int = setting(0, low=1, high=65535)  # 0: from the url, or 8883
    cert: Path | None = None
    key: Path | None = setting(None, hidden=True)  # its path tells an attacker where to look
    ca: Path | None = None
    alpn: bool | None = None  # None: true on port 443
    keepalive_s: int = setting(30, low=5, high=1200)
    legacy_topic: bool = False
    username: str | None = None  # a local broker's user and password (the local stack's)
    password: str | None = setting(None, hidden=True)
    host: str = setting("", internal=True)
    tls: bool = setting(False, internal=True)
    reconnect_min_s: float = setting(0.5, internal=True)
    reconnect_max_s: float = setting(30.0, internal=True)

    def check(self, where: Where) -> MqttConfig:
        if bool(self.url) == bool(self.endpoint):
            raise where.error("needs exactly one of url (mqtt://host:port for a local broker) "
                              "or endpoint (your AWS IoT Core ATS endpoint)")
        if self.url:
            parts = urlparse(self.url)
            if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
                raise where.invalid("url", "expected mqtt://host:port or mqtts://host:port")
            try:
                port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
            except ValueError:
                raise where.invalid("url", "the port is not a number 1-65535") from None
            if self.port:
                raise where.invalid("port", "put the port in url instead")
            if parts.username or parts.password:
                raise where.invalid("url", "put the user and password in username and "
                                           "password instead")
            host, tls = parts.hostname, parts.scheme == "mqtts"
        else:
            host, tls, port = str(self.endpoint), True, self.port or 8883
            if port not in IOT_PORTS:
                raise where.invalid("port", "AWS IoT Core takes MQTT on 8883, or 443 with ALPN")
        for name in ("cert", "key", "ca"):
            path = getattr(self, name)
            if tls and path is None:
                raise where.required(name, " with endpoint or mqtts://")
            if path is not None and not path.is_file():
                raise ConfigError(f"{where.source}: [mqtt] {name}: file {path} does not exist")
        if (self.username is None) != (self.password is None):
            raise where.invalid("username" if self.username is None else "password",
                                "username and password go together")
        alpn = port == 443 if self.alpn is None else self.alpn
        return replace(self, host=host, port=port, tls=tls, alpn=alpn)


@dataclass(frozen=True)
class Pins:
    """One side's motor pins (BCM): ``forward``/``backward`` or ``phase``/``enable``."""

    forward: int | None = None
    backward: int | None = None
    phase: int | None = None
    enable: int | None = None

    @property
    def phase_enable(self) -> bool:
        return self.phase is not None

    @property
    def numbers(self) -> list[int]:
        return [p for p in (self.forward, self.backward, self.phase, self.enable)
                if p is not None]

    @classmethod
    def from_toml(cls, value: Any) -> Pins:
        """``{forward = BCM, backward = BCM}`` or ``{phase = BCM, enable = BCM}``."""
        if not isinstance(value, dict) or set(value) not in (
                {"forward", "backward"}, {"phase", "enable"}) or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 27
                for v in value.values()):
            raise ValueError("expected {forward = BCM, backward = BCM} or "
                             "{phase = BCM, enable = BCM} with BCM pins 0-27")
        return cls(**value)


@dataclass(frozen=True)
class MotorConfig:
    """The motor board: a preset (gpiozero's board class where it has one, see
    :mod:`robot_agent.drive`) or ``custom`` with ``left`` and ``right`` pins."""

    driver: str = setting("explorer-hat", choices=DRIVERS)
    left: Pins | None = setting(None, only_with=("driver", "custom"))
    right: Pins | None = setting(None, only_with=("driver", "custom"))
    invert_left: bool = False
    invert_right: bool = False
    max_speed: float = setting(1.0, low=0.0, high=1.0, low_open=True)

    def check(self, where: Where) -> MotorConfig:
        if self.driver != "custom":
            return self
        if self.left is None or self.right is None:
            raise where.required("left" if self.left is None else "right",
                                 ' with driver = "custom"')
        used = self.left.numbers + self.right.numbers
        if len(set(used)) != len(used):
            raise where.error("left and right use the same pin twice")
        return self


@dataclass(frozen=True)
class CommandLimits:
    max_command_age_ms: int = setting(1000, low=50, high=60000)
    min_duration_ms: int = setting(MIN_DURATION_MS, low=10, high=MAX_DURATION_MS)
    max_duration_ms: int = setting(MAX_DURATION_MS, low=10, high=MAX_DURATION_MS)
    max_payload_bytes: int = setting(1024, low=64, high=1024)
    default_speed: float = setting(contract.DEFAULT_SPEED, low=0.0, high=1.0)
    default_duration_ms: int = setting(contract.DEFAULT_DURATION_MS, low=10,
                                      high=MAX_DURATION_MS)
    # The original web app sends only {"action": ...}; the original agent ran 0.2 s at full speed.
    legacy_speed: float = setting(contract.LEGACY_SPEED, low=0.0, high=1.0)
    legacy_duration_ms: int = setting(contract.LEGACY_DURATION_MS, low=10,
                                     high=MAX_DURATION_MS)

    def check(self, where: Where) -> CommandLimits:
        if self.min_duration_ms > self.max_duration_ms:
            raise where.invalid("min_duration_ms", "must not exceed max_duration_ms")
        for name in ("default_duration_ms", "legacy_duration_ms"):
            if not self.min_duration_ms <= getattr(self, name) <= self.max_duration_ms:
                raise where.invalid(name, "must lie between min_duration_ms and "
                                          "max_duration_ms")
        return self


@dataclass(frozen=True)
class DrivingConfig:
    """How driving feels: acceleration limit, driver lease, how often state is reported."""

    max_accel_per_s: float = setting(0.0, low=0.0, high=100.0)  # motor value/s; 0 = no limit
    ramp_step_ms: int = setting(25, low=5, high=200)  # how often the wheels step to a target
    lease_s: float = setting(3.0, low=0.5, high=60.0)  # control lasts this long after a command
    heartbeat_s: float = setting(5.0, low=0.5, high=60.0)  # idle status is republished this often


@dataclass(frozen=True)
class AgentConfig:
    """The whole file. ``source`` is where it was read from (errors and logs name it)."""

    name: str
    mqtt: MqttConfig
    motors: MotorConfig = field(default_factory=MotorConfig)
    commands: CommandLimits = field(default_factory=CommandLimits)
    driving: DrivingConfig = field(default_factory=DrivingConfig)
    camera: CameraSettings = field(default_factory=CameraSettings)
    log_level: str = "INFO"
    source: str = setting("<memory>", internal=True)

    def check(self, where: Where) -> AgentConfig:
        problem = name_problem(self.name)
        if problem:
            raise where.invalid("name", problem)
        level = self.log_level.upper()
        if level not in LOG_LEVELS:
            raise where.invalid("log_level", f"expected {', '.join(LOG_LEVELS)}")
        return replace(self, log_level=level, source=where.source)

    def redacted(self) -> dict[str, Any]:
        """A summary safe to log: key material is named only as set or not."""
        m = self.mqtt
        return {
            "name": self.name, "broker": f"{m.host}:{m.port}", "tls": m.tls, "alpn": m.alpn,
            "cert": "set" if m.cert else None, "key": "***" if m.key else None,
            "ca": "set" if m.ca else None, "driver": self.motors.driver,
            "invert": [self.motors.invert_left, self.motors.invert_right],
            "max_speed": self.motors.max_speed, "camera": self.camera.driver,
        }


def parse(data: dict[str, Any], source: str = "<memory>") -> AgentConfig:
    """Validate an already-parsed TOML document.

    :raises ConfigError: naming the first bad key.
    """
    return read(AgentConfig, data, "", source)


def load(path: str | Path) -> AgentConfig:
    """Read and validate the config file at ``path``.

    :raises ConfigError: when it is missing, not TOML, or a key is invalid.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (pass --config PATH; "
                          f"install.sh writes /etc/robot-agent/config.toml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: is not valid TOML: {exc}") from None
    return parse(data, str(path))
