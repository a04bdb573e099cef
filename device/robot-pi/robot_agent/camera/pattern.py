"""A synthetic camera: colour bars with a moving block, at any size and frame rate.

Used by the simulated robot and the tests, so video works with no camera attached. Frames are
built directly in YUV 4:2:0, the encoders' input format, so the pattern itself costs almost no
CPU and a benchmark measures the WebRTC path rather than a colour conversion.
"""

from __future__ import annotations

import asyncio
import fractions
import time

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame

CLOCK_RATE = 90000  # RTP video clock
TIME_BASE = fractions.Fraction(1, CLOCK_RATE)
# BT.601 YUV of white, yellow, cyan, green, magenta, red, blue, black
BARS = ((235, 128, 128), (210, 16, 146), (170, 166, 16), (145, 54, 34),
        (106, 202, 222), (81, 90, 240), (41, 240, 110), (16, 128, 128))


def bars_yuv420(width: int, height: int) -> np.ndarray:
    """One colour-bar frame as a ``(height * 3 // 2, width)`` yuv420p array."""
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise ValueError(f"frame size must be positive and even, got {width}x{height}")
    frame = np.empty((height * 3 // 2, width), dtype=np.uint8)
    y = frame[:height]
    u = frame[height:height + height // 4].reshape(height // 2, width // 2)
    v = frame[height + height // 4:].reshape(height // 2, width // 2)
    for i, (yy, uu, vv) in enumerate(BARS):
        x0, x1 = i * width // len(BARS), (i + 1) * width // len(BARS)
        y[:, x0:x1] = yy
        u[:, x0 // 2:x1 // 2] = uu
        v[:, x0 // 2:x1 // 2] = vv
    return frame


class TestPatternTrack(MediaStreamTrack):
    """A live video track of colour bars with a block that moves one step per frame.

    :param width: frame width in pixels (even).
    :param height: frame height in pixels (even).
    :param fps: frames per second.
    """

    kind = "video"
    __test__ = False  # not a pytest class, despite the name

    def __init__(self, width: int = 640, height: int = 480, fps: float = 15) -> None:
        super().__init__()
        if not 0 < fps <= 60:
            raise ValueError(f"fps must be in (0, 60], got {fps}")
        self.width, self.height, self.fps = width, height, fps
        self._base = bars_yuv420(width, height)
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            due = self._start + self._count / self.fps
            if due > now:
                await asyncio.sleep(due - now)
        data = self._base.copy()
        size = max(8, self.height // 8) & ~1
        x = (self._count * 4) % max(2, self.width - size) & ~1
        row = (self.height - size) // 2 & ~1
        data[row:row + size, x:x + size] = 235 if self._count % 30 < 15 else 16
        frame = VideoFrame.from_ndarray(data, format="yuv420p")
        frame.pts = int(self._count * CLOCK_RATE / self.fps)
        frame.time_base = TIME_BASE
        self._count += 1
        return frame
