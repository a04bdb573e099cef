"""The ``[camera]`` section of the agent's config file, validated once at start.

Every error names the key, e.g. ``[camera] fps = 90 is invalid: expected 1 <= x <= 30``.
The keys are documented in ``robot_agent/camera/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot_agent.camera.models import MODEL_FILE, MODELS, Model, detect
from robot_agent.errors import ConfigError

DRIVERS = ("none", "aiortc", "kvs-c-sdk")
SOURCES = ("picamera2", "v4l2", "test-pattern")
WHERE = "set it in the [camera] section of the agent's config file"


@dataclass(frozen=True)
class CameraSettings:
    driver: str = "none"
    channel: str = ""
    source: str = "picamera2"
    device: str = "/dev/video0"
    width: int = 640
    height: int = 480
    fps: int = 15
    max_viewers: int = 10
    # "auto": the model in /proc/device-tree/model; or pi-zero-2, pi-3, pi-4, pi-5, any
    model: str = "auto"
    # "auto": the model's (h264_v4l2m2m on Zero 2 W/3/4, libx264 on a Pi 5); or an FFmpeg name
    encoder: str = "auto"
    # local signaling relay (the local stack); when set, AWS is not used
    signaling_url: str = ""
    signaling_token: str = ""
    # AWS: region and the IoT credentials provider
    region: str = ""
    credentials_endpoint: str = ""
    role_alias: str = ""
    cert: str = ""
    key: str = ""
    ca: str = ""
    # kvs-c-sdk
    binary: str = ""
    work_dir: str = "/var/lib/robot-agent/kvs"  # in the unit's StateDirectory
    source_type: str = "devicesrc"
    kvs_log_level: int = 3

    @property
    def local(self) -> bool:
        return bool(self.signaling_url)


def _fail(key: str, message: str, value: Any = None) -> ConfigError:
    shown = "" if value is None or key in ("signaling_token", "key") else f" = {value!r}"
    return ConfigError(f"[camera] {key}{shown} is invalid: {message}; {WHERE}")


def parse_settings(section: dict[str, Any] | None, robot_name: str, *,
                   simulate: bool = False, model_file: Path = MODEL_FILE) -> CameraSettings:
    """Validate a ``[camera]`` table.

    :param simulate: with ``--simulate`` the default source is the test pattern.
    :raises ConfigError: naming the first bad key.
    """
    data = dict(section or {})
    known = set(CameraSettings.__dataclass_fields__)
    for key in data:
        if key not in known:
            raise ConfigError(f"[camera] unknown key {key!r} (a typo?); {WHERE}")
    defaults = CameraSettings()
    values: dict[str, Any] = {}
    for key, field_ in CameraSettings.__dataclass_fields__.items():
        default = getattr(defaults, key)
        value = data.get(key, default)
        if isinstance(default, int) and (isinstance(value, bool) or not isinstance(value, int)):
            raise _fail(key, "expected a whole number", value)
        if isinstance(default, str) and not isinstance(value, str):
            raise _fail(key, "expected a string", value)
        values[key] = value
        del field_
    if "source" not in data and simulate:
        values["source"] = "test-pattern"
    values["channel"] = values["channel"] or robot_name
    if values["model"] != "auto" and values["model"] not in MODELS:
        raise _fail("model", f"expected auto or one of {', '.join(MODELS)}", values["model"])
    model = detect(model_file) if values["model"] == "auto" else MODELS[values["model"]]
    for key in ("width", "height", "fps", "max_viewers"):  # the model's preset by default
        if key not in data:
            values[key] = getattr(model, key)
    if values["encoder"] == "auto":
        values["encoder"] = model.encoder
    settings = CameraSettings(**values)
    _check(settings)
    _fits(settings, model)
    return settings


def _fits(s: CameraSettings, model: Model) -> None:
    """Refuse what the model cannot encode, saying what it can."""
    if s.driver == "none":
        return
    if (s.width > model.max_width or s.height > model.max_height or s.fps > model.max_fps
            or s.width * s.height * s.fps > model.max_width * model.max_height * model.max_fps):
        raise ConfigError(
            f"[camera] {s.width}x{s.height} at {s.fps} fps is more than a {model.name} can "
            f"stream (at most {model.limit}; its preset is {model.preset}); lower width, "
            f"height or fps, or set model = \"any\" to lift the limit; {WHERE}")
    if s.max_viewers > model.max_viewers:
        raise _fail("max_viewers", f"a {model.name} serves at most {model.max_viewers} "
                                   f"viewers", s.max_viewers)


def _check(s: CameraSettings) -> None:
    if s.driver not in DRIVERS:
        raise _fail("driver", f"expected one of {', '.join(DRIVERS)}", s.driver)
    if s.source not in SOURCES:
        raise _fail("source", f"expected one of {', '.join(SOURCES)}", s.source)
    for key, low, high in (("width", 16, 1920), ("height", 16, 1080), ("fps", 1, 30),
                           ("max_viewers", 1, 10), ("kvs_log_level", 1, 7)):
        value = getattr(s, key)
        if not low <= value <= high:
            raise _fail(key, f"expected {low} <= x <= {high}", value)
    if s.width % 2 or s.height % 2:
        raise _fail("width", "width and height must be even (YUV 4:2:0)", s.width)
    if s.driver == "none":
        return
    if s.signaling_url:
        if not s.signaling_url.startswith(("ws://", "wss://")):
            raise _fail("signaling_url", "expected ws://HOST:PORT/signaling", s.signaling_url)
        if not s.signaling_token:
            raise _fail("signaling_token", "the local stack's ROBOT_API_TOKEN is required "
                                           "with signaling_url")
        if s.driver == "kvs-c-sdk":
            raise _fail("signaling_url", "the C SDK talks to AWS only; use driver = "
                                         "\"aiortc\" with the local relay", s.signaling_url)
        return
    for key in ("region", "credentials_endpoint", "role_alias", "cert", "key", "ca"):
        if not getattr(s, key):
            raise _fail(key, "required to stream through AWS (or set signaling_url for the "
                             "local stack)")
    if "://" in s.credentials_endpoint or "/" in s.credentials_endpoint:
        raise _fail("credentials_endpoint", "expected the bare host from `aws iot "
                    "describe-endpoint --endpoint-type iot:CredentialProvider`",
                    s.credentials_endpoint)
    for key in ("cert", "key", "ca"):
        if not Path(getattr(s, key)).is_file():
            raise _fail(key, f"file {getattr(s, key)} does not exist")
    if s.driver == "kvs-c-sdk" and not s.binary:
        raise _fail("binary", "the path of kvsWebrtcClientMasterGstSample is required")
