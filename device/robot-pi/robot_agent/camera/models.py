"""What each Raspberry Pi can stream: a preset per model, read from ``/proc/device-tree/model``.

The preset is the default size and frame rate; the limit is the most the model is allowed.
Encoding is the cost: H.264 once per frame with the shared encoder (see ``encoder.py``), in
the SoC's hardware encoder (V4L2 M2M) where there is one (Zero 2 W, 3, 4; the Pi 5 has none)
and in software (libx264) elsewhere. ``[camera] model`` overrides the detection (``"any"``:
no limit, for a computer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MODEL_FILE = Path("/proc/device-tree/model")


@dataclass(frozen=True)
class Model:
    key: str
    name: str
    width: int  # the preset
    height: int
    fps: int
    max_width: int  # the limit
    max_height: int
    max_fps: int
    max_viewers: int
    encoder: str  # FFmpeg encoder tried first; libx264 is the fallback

    @property
    def limit(self) -> str:
        return f"{self.max_width}x{self.max_height} at {self.max_fps} fps"

    @property
    def preset(self) -> str:
        return f"{self.width}x{self.height} at {self.fps} fps"


MODELS = {
    # 512 MB and four A53 cores at 1 GHz: small frames, few viewers.
    "pi-zero-2": Model("pi-zero-2", "Raspberry Pi Zero 2 W", 640, 480, 15, 1280, 720, 15, 4,
                       "h264_v4l2m2m"),
    "pi-3": Model("pi-3", "Raspberry Pi 3", 640, 480, 15, 1280, 720, 30, 4, "h264_v4l2m2m"),
    "pi-4": Model("pi-4", "Raspberry Pi 4", 1280, 720, 15, 1920, 1080, 30, 10, "h264_v4l2m2m"),
    # No hardware H.264 encoder on the Pi 5: software, on its faster cores.
    "pi-5": Model("pi-5", "Raspberry Pi 5", 1280, 720, 15, 1280, 720, 30, 10, "libx264"),
    "any": Model("any", "this computer", 640, 480, 15, 1920, 1080, 30, 10, "libx264"),
}

# Substrings of /proc/device-tree/model, most specific first.
_MATCHES = (("Zero 2", "pi-zero-2"), ("Pi 3", "pi-3"), ("Pi 4", "pi-4"),
            ("Compute Module 4", "pi-4"), ("Pi 400", "pi-4"), ("Pi 5", "pi-5"),
            ("Compute Module 5", "pi-5"), ("Pi 500", "pi-5"))


def detect(path: Path = MODEL_FILE) -> Model:
    """The model this runs on; ``any`` off a Pi (or a Pi this table does not know)."""
    try:
        text = path.read_bytes().rstrip(b"\0").decode("ascii", "replace")
    except OSError:
        return MODELS["any"]
    for needle, key in _MATCHES:
        if needle in text:
            return MODELS[key]
    return MODELS["any"]
