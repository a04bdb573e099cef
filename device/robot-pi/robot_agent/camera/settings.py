"""The ``[camera]`` section of the agent's config file, read once at start.

It is read by the agent's one config reader (:mod:`robot_agent.toml_reader`), so an error names
the file and the key, e.g. ``/etc/robot-agent/config.toml: [camera] fps = 90 is invalid:
expected 1 <= x <= 30``. What depends on the machine (the model's preset size, its encoder,
the test pattern under ``--simulate``) is filled in by :func:`resolve` when the camera is built.
The keys are documented in ``robot_agent/camera/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from robot_agent.camera.models import MODEL_FILE, MODELS, Model, detect
from robot_agent.errors import ConfigError
from robot_agent.toml_reader import Where, read, setting

DRIVERS = ("none", "aiortc", "kvs-c-sdk")
SOURCES = ("picamera2", "v4l2", "test-pattern")
AWS_KEYS = ("region", "credentials_endpoint", "role_alias", "cert", "key", "ca")


@dataclass(frozen=True)
class CameraSettings:
    """The ``[camera]`` keys. Empty strings and zeros are "not set": :func:`resolve` fills them."""

    driver: str = setting("none", choices=DRIVERS)
    channel: str = ""  # the robot's name
    source: str = setting("", choices=SOURCES)  # picamera2, or test-pattern with --simulate
    device: str = "/dev/video0"
    width: int = setting(0, low=16, high=1920)  # 0: the model's preset
    height: int = setting(0, low=16, high=1080)
    fps: int = setting(0, low=1, high=30)
    max_viewers: int = setting(0, low=1, high=10)
    # "auto": the model in /proc/device-tree/model; or pi-zero-2, pi-3, pi-4, pi-5, any
    model: str = setting("auto", choices=("auto", *MODELS))
    # "auto": the model's (h264_v4l2m2m on Zero 2 W/3/4, libx264 on a Pi 5); or an FFmpeg name
    encoder: str = "auto"
    # local signaling relay (the local stack); when set, AWS is not used
    signaling_url: str = ""
    signaling_token: str = setting("", hidden=True)
    # AWS: region and the IoT credentials provider
    region: str = ""
    credentials_endpoint: str = ""
    role_alias: str = ""
    cert: str = ""
    key: str = setting("", hidden=True)
    ca: str = ""
    # kvs-c-sdk
    binary: str = ""
    work_dir: str = "/var/lib/robot-agent/kvs"  # in the unit's StateDirectory
    source_type: str = "devicesrc"
    kvs_log_level: int = setting(3, low=1, high=7)

    @property
    def local(self) -> bool:
        return bool(self.signaling_url)

    def check(self, where: Where) -> CameraSettings:
        for name in ("width", "height"):
            if getattr(self, name) % 2:
                raise where.invalid(name, "width and height must be even (YUV 4:2:0)")
        if self.driver == "none":
            return self
        if self.signaling_url:
            if not self.signaling_url.startswith(("ws://", "wss://")):
                raise where.invalid("signaling_url", "expected ws://HOST:PORT/signaling")
            if not self.signaling_token:
                raise where.required("signaling_token", " with signaling_url (the local "
                                                        "stack writes it)")
            if self.driver == "kvs-c-sdk":
                raise where.invalid("signaling_url", "the C SDK talks to AWS only; use driver "
                                                     "= \"aiortc\" with the local relay")
            return self
        for name in AWS_KEYS:
            if not getattr(self, name):
                raise where.required(name, " to stream through AWS (or set signaling_url for "
                                           "the local stack)")
        if "://" in self.credentials_endpoint or "/" in self.credentials_endpoint:
            raise where.invalid("credentials_endpoint", "expected the bare host from `aws iot "
                                "describe-endpoint --endpoint-type iot:CredentialProvider`")
        for name in ("cert", "key", "ca"):
            if not Path(getattr(self, name)).is_file():
                raise ConfigError(f"{where.source}: [camera] {name}: file "
                                  f"{getattr(self, name)} does not exist")
        if self.driver == "kvs-c-sdk" and not self.binary:
            raise where.required("binary", " (the path of kvsWebrtcClientMasterGstSample)")
        return self


def resolve(settings: CameraSettings, robot_name: str, *, simulate: bool = False,
            model_file: Path = MODEL_FILE, config_file: str = "<memory>") -> CameraSettings:
    """Fill in what depends on this machine: the channel, the source, the model's preset and
    encoder; and refuse what the model cannot stream.

    :param simulate: with ``--simulate`` the default source is the test pattern.
    :raises ConfigError: naming the file, the model and what it can do.
    """
    model = detect(model_file) if settings.model == "auto" else MODELS[settings.model]
    resolved = replace(
        settings, channel=settings.channel or robot_name,
        source=settings.source or ("test-pattern" if simulate else "picamera2"),
        width=settings.width or model.width, height=settings.height or model.height,
        fps=settings.fps or model.fps, max_viewers=settings.max_viewers or model.max_viewers,
        encoder=model.encoder if settings.encoder == "auto" else settings.encoder)
    _fits(resolved, model, config_file)
    return resolved


def read_section(section: Any, config_file: str = "<memory>") -> CameraSettings:
    """Read a raw ``[camera]`` table with the agent's config reader."""
    return read(CameraSettings, section, "camera", config_file)


def parse_settings(section: dict[str, Any] | None, robot_name: str, *,
                   simulate: bool = False, model_file: Path = MODEL_FILE,
                   config_file: str = "<memory>") -> CameraSettings:
    """Read and resolve a ``[camera]`` table (tests, and tools that write one).

    :raises ConfigError: naming the first bad key.
    """
    settings = read_section(section or {}, config_file)
    return resolve(settings, robot_name, simulate=simulate, model_file=model_file,
                   config_file=config_file)


def _fits(s: CameraSettings, model: Model, config_file: str) -> None:
    """Refuse what the model cannot encode, saying what it can."""
    if s.driver == "none":
        return
    if (s.width > model.max_width or s.height > model.max_height or s.fps > model.max_fps
            or s.width * s.height * s.fps > model.max_width * model.max_height * model.max_fps):
        raise ConfigError(
            f"{config_file}: [camera] {s.width}x{s.height} at {s.fps} fps is more than a "
            f"{model.name} can stream (at most {model.limit}; its preset is {model.preset}); "
            f"lower width, height or fps, or set model = \"any\" to lift the limit")
    if s.max_viewers > model.max_viewers:
        raise ConfigError(f"{config_file}: [camera] max_viewers = {s.max_viewers} is invalid: "
                          f"a {model.name} serves at most {model.max_viewers} viewers")
