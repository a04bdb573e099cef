"""The agent's configuration file (TOML), read and validated once at start.

Every error names the key and the file, e.g.
``/etc/robot-agent/config.toml: [motors] max_speed = 2 is invalid: expected 0 < x <= 1``.
See ``config.example.toml`` for every key with its default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from contracts import command as contract
from robot_agent.errors import ConfigError

DRIVERS = ("explorer-hat", "ryanteck", "camjam", "pololu-drv8835", "custom")
IOT_PORTS = (8883, 443)
ALPN_IOT = "x-amzn-mqtt-ca"
MIN_DURATION_MS, MAX_DURATION_MS = contract.duration_range_ms()  # the schema's; the deadman's


@dataclass(frozen=True)
class MqttConfig:
    """Where and how the agent connects.

    ``tls`` is true for AWS IoT Core (``endpoint``) and ``mqtts://`` URLs: mutual TLS with
    ``cert``/``key`` against ``ca``. ``alpn`` is true on port 443 (``x-amzn-mqtt-ca``).
    """

    host: str
    port: int
    tls: bool = False
    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None
    alpn: bool = False
    keepalive_s: int = 30
    legacy_topic: bool = False
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    username: str | None = None  # a local broker's user and password (the local stack's)
    password: str | None = field(default=None, repr=False)


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


PRESETS: dict[str, tuple[Pins, Pins]] = {
    # Pimoroni Explorer HAT Pro (DRV8833): motor one is the left wheel.
    "explorer-hat": (Pins(forward=20, backward=19), Pins(forward=26, backward=21)),
    "ryanteck": (Pins(forward=17, backward=18), Pins(forward=22, backward=23)),
    "camjam": (Pins(forward=9, backward=10), Pins(forward=7, backward=8)),
    "pololu-drv8835": (Pins(phase=5, enable=12), Pins(phase=6, enable=13)),
}


@dataclass(frozen=True)
class MotorConfig:
    driver: str = "explorer-hat"
    left: Pins = PRESETS["explorer-hat"][0]
    right: Pins = PRESETS["explorer-hat"][1]
    invert_left: bool = False
    invert_right: bool = False
    max_speed: float = 1.0


@dataclass(frozen=True)
class CommandLimits:
    max_command_age_ms: int = 1000
    min_duration_ms: int = MIN_DURATION_MS
    max_duration_ms: int = MAX_DURATION_MS
    max_payload_bytes: int = 1024
    default_speed: float = contract.DEFAULT_SPEED
    default_duration_ms: int = contract.DEFAULT_DURATION_MS
    legacy_speed: float = contract.LEGACY_SPEED
    legacy_duration_ms: int = contract.LEGACY_DURATION_MS


@dataclass(frozen=True)
class DrivingConfig:
    """How driving feels: acceleration limit, driver lease, how often state is reported."""

    max_accel_per_s: float = 0.0  # motor value per second; 0 = no limit
    ramp_step_ms: int = 25  # how often the wheels step towards a limited target
    lease_s: float = 3.0  # a driver keeps control this long after its last command
    heartbeat_s: float = 5.0  # idle status is republished this often


@dataclass(frozen=True)
class AgentConfig:
    name: str
    mqtt: MqttConfig
    motors: MotorConfig = field(default_factory=MotorConfig)
    commands: CommandLimits = field(default_factory=CommandLimits)
    driving: DrivingConfig = field(default_factory=DrivingConfig)
    camera: dict[str, Any] = field(default_factory=dict)
    log_level: str = "INFO"
    source: str = "<memory>"

    def redacted(self) -> dict[str, Any]:
        """A summary safe to log: key material is named only as set or not."""
        m = self.mqtt
        return {
            "name": self.name, "broker": f"{m.host}:{m.port}", "tls": m.tls, "alpn": m.alpn,
            "cert": "set" if m.cert else None, "key": "***" if m.key else None,
            "ca": "set" if m.ca else None, "driver": self.motors.driver,
            "invert": [self.motors.invert_left, self.motors.invert_right],
            "max_speed": self.motors.max_speed, "camera": self.camera.get("driver", "none"),
        }


class _Reader:
    """Typed access to one TOML table, with errors that name the key and file."""

    def __init__(self, table: dict[str, Any], section: str, source: str) -> None:
        self.table = table
        self.section = section
        self.source = source
        self.used: set[str] = set()

    def fail(self, key: str, message: str) -> ConfigError:
        where = f"[{self.section}] {key}" if self.section else key
        value = self.table.get(key)
        # A key file's path is not secret, but it tells an attacker where to look.
        shown = f" = {value!r}" if key in self.table and key != "key" else ""
        return ConfigError(f"{self.source}: {where}{shown} is invalid: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None,
            required: bool = False) -> Any:
        self.used.add(key)
        if key not in self.table:
            if required:
                where = f"[{self.section}] {key}" if self.section else key
                raise ConfigError(f"{self.source}: {where} is required")
            return default
        value = self.table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f"expected {kinds[0].__name__}, not true/false")
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds):
            raise self.fail(key, f"expected {' or '.join(k.__name__ for k in kinds)}")
        return value

    def number(self, key: str, default: float, low: float, high: float, *,
               integer: bool = False, low_open: bool = False) -> Any:
        value = self.get(key, int if integer else float, default)
        if value < low or value > high or (low_open and value == low):
            bracket = "<" if low_open else "<="
            raise self.fail(key, f"expected {low} {bracket} x <= {high}")
        return value

    def path(self, key: str, required: bool) -> Path | None:
        value = self.get(key, str, None, required=required)
        return Path(value).expanduser() if value else None

    def check_unknown(self) -> None:
        extra = sorted(set(self.table) - self.used)
        if extra:
            where = f"[{self.section}]" if self.section else "the top level"
            raise ConfigError(f"{self.source}: unknown key {extra[0]!r} in {where} "
                              f"(a typo? see config.example.toml)")


def _table(data: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    return value


def _mqtt(table: dict[str, Any], source: str) -> MqttConfig:
    r = _Reader(table, "mqtt", source)
    url = r.get("url", str)
    endpoint = r.get("endpoint", str)
    if bool(url) == bool(endpoint):
        raise ConfigError(f"{source}: [mqtt] needs exactly one of url (mqtt://host:port for a "
                          f"local broker) or endpoint (your AWS IoT Core ATS endpoint)")
    keepalive = r.number("keepalive_s", 30, 5, 1200, integer=True)
    legacy = r.get("legacy_topic", bool, False)
    if url:
        parts = urlparse(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise r.fail("url", "expected mqtt://host:port or mqtts://host:port")
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError:
            raise r.fail("url", "the port is not a number 1-65535") from None
        host, tls = parts.hostname, parts.scheme == "mqtts"
        if r.get("port", int) is not None:
            raise r.fail("port", "put the port in url instead")
        if parts.username or parts.password:
            raise r.fail("url", "put the user and password in username and password instead")
    else:
        host, tls = endpoint, True
        port = r.get("port", int, 8883)
        if port not in IOT_PORTS:
            raise r.fail("port", "AWS IoT Core takes MQTT on 8883, or 443 with ALPN")
    cert = r.path("cert", required=tls)
    key = r.path("key", required=tls)
    ca = r.path("ca", required=tls)
    alpn = r.get("alpn", bool, port == 443)
    for name, path in (("cert", cert), ("key", key), ("ca", ca)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{source}: [mqtt] {name}: file {path} does not exist")
    username, password = r.get("username", str), r.get("password", str)
    if (username is None) != (password is None):
        raise r.fail("username" if username is None else "password",
                     "username and password go together")
    r.check_unknown()
    return MqttConfig(host=host, port=port, tls=tls, cert=cert, key=key, ca=ca, alpn=alpn,
                      keepalive_s=keepalive, legacy_topic=legacy, username=username,
                      password=password)


def _pins(r: _Reader, key: str) -> Pins:
    value = r.get(key, dict, required=True)
    allowed = ({"forward", "backward"}, {"phase", "enable"})
    if set(value) not in allowed or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 27
            for v in value.values()):
        raise r.fail(key, "expected {forward = BCM, backward = BCM} or "
                          "{phase = BCM, enable = BCM} with BCM pins 0-27")
    return Pins(**value)


def _motors(table: dict[str, Any], source: str) -> MotorConfig:
    r = _Reader(table, "motors", source)
    driver = r.get("driver", str, "explorer-hat")
    if driver not in DRIVERS:
        raise r.fail("driver", f"expected one of {', '.join(DRIVERS)}")
    if driver == "custom":
        left, right = _pins(r, "left"), _pins(r, "right")
        used = [p for side in (left, right) for p in vars(side).values() if p is not None]
        if len(set(used)) != len(used):
            raise ConfigError(f"{source}: [motors] left and right use the same pin twice")
    else:
        for key in ("left", "right"):
            if key in table:
                raise r.fail(key, 'pins are set only with driver = "custom"')
        left, right = PRESETS[driver]
    motors = MotorConfig(
        driver=driver, left=left, right=right,
        invert_left=r.get("invert_left", bool, False),
        invert_right=r.get("invert_right", bool, False),
        max_speed=r.number("max_speed", 1.0, 0.0, 1.0, low_open=True),
    )
    r.check_unknown()
    return motors


def _commands(table: dict[str, Any], source: str) -> CommandLimits:
    r = _Reader(table, "commands", source)
    limits = CommandLimits(
        max_command_age_ms=r.number("max_command_age_ms", 1000, 50, 60000, integer=True),
        min_duration_ms=r.number("min_duration_ms", MIN_DURATION_MS, 10, MAX_DURATION_MS,
                                 integer=True),
        max_duration_ms=r.number("max_duration_ms", MAX_DURATION_MS, 10, MAX_DURATION_MS,
                                 integer=True),
        max_payload_bytes=r.number("max_payload_bytes", 1024, 64, 1024, integer=True),
        default_speed=r.number("default_speed", contract.DEFAULT_SPEED, 0.0, 1.0),
        default_duration_ms=r.number("default_duration_ms", contract.DEFAULT_DURATION_MS, 10,
                                     MAX_DURATION_MS, integer=True),
        legacy_speed=r.number("legacy_speed", contract.LEGACY_SPEED, 0.0, 1.0),
        legacy_duration_ms=r.number("legacy_duration_ms", contract.LEGACY_DURATION_MS, 10,
                                    MAX_DURATION_MS, integer=True),
    )
    if limits.min_duration_ms > limits.max_duration_ms:
        raise r.fail("min_duration_ms", "must not exceed max_duration_ms")
    for key in ("default_duration_ms", "legacy_duration_ms"):
        if not limits.min_duration_ms <= getattr(limits, key) <= limits.max_duration_ms:
            raise r.fail(key, "must lie between min_duration_ms and max_duration_ms")
    r.check_unknown()
    return limits


def _driving(table: dict[str, Any], source: str) -> DrivingConfig:
    r = _Reader(table, "driving", source)
    driving = DrivingConfig(
        max_accel_per_s=r.number("max_accel_per_s", 0.0, 0.0, 100.0),
        ramp_step_ms=r.number("ramp_step_ms", 25, 5, 200, integer=True),
        lease_s=r.number("lease_s", 3.0, 0.5, 60.0),
        heartbeat_s=r.number("heartbeat_s", 5.0, 0.5, 60.0),
    )
    r.check_unknown()
    return driving


def _name(r: _Reader) -> str:
    name = r.get("name", str, required=True)
    if not name or len(name) > 128 or not all(c.isalnum() or c in "-_" for c in name):
        raise r.fail("name", "use 1-128 letters, digits, '-' or '_' (it is the IoT thing, "
                             "MQTT client id and video channel name)")
    return name


def parse(data: dict[str, Any], source: str = "<memory>") -> AgentConfig:
    """Validate an already-parsed TOML document.

    :raises ConfigError: naming the first bad key.
    """
    top = _Reader(data, "", source)
    name = _name(top)
    log_level = top.get("log_level", str, "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise top.fail("log_level", "expected DEBUG, INFO, WARNING or ERROR")
    for section in ("mqtt", "motors", "commands", "driving", "camera"):
        top.used.add(section)
    top.check_unknown()
    if "mqtt" not in data:
        raise ConfigError(f"{source}: [mqtt] is required (url or endpoint)")
    camera = _table(data, "camera", source)
    if not isinstance(camera.get("driver", "none"), str):
        raise ConfigError(f"{source}: [camera] driver must be a string")
    return AgentConfig(
        name=name,
        mqtt=_mqtt(_table(data, "mqtt", source), source),
        motors=_motors(_table(data, "motors", source), source),
        commands=_commands(_table(data, "commands", source), source),
        driving=_driving(_table(data, "driving", source), source),
        camera=dict(camera),
        log_level=log_level,
        source=source,
    )


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
