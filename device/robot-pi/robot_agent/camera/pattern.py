"""A synthetic camera: colour bars with a moving block, at any size and frame rate.

Used by the simulated robot and the tests, so video works with no camera attached. Frames are
built directly in YUV 4:2:0, the encoders' input format, so the pattern itself costs almost no
CPU and a benchmark measures the WebRTC path rather than a colour conversion.

Each frame carries the wall-clock millisecond it was made, as a strip of black and white blocks
at the top (:func:`stamp_bits`): a browser reads it back from the decoded video to measure
glass-to-glass latency (``bench/drive.py``).
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


STAMP_BITS = 42  # milliseconds since 1970 fit until the year 2109
STAMP_MARK = (1, 0)  # leading blocks that tell a stamp from the picture
STAMP_ROW, STAMP_HEIGHT = 8, 16  # rows of the strip: whole 16x16 macroblocks survive VP8
STAMP_BLOCK = 10  # pixels per bit, across


def stamp_bits(ms: int) -> list[int]:
    """The blocks of a stamp: the mark, ``ms`` (most significant bit first), even parity."""
    bits = [(ms >> (STAMP_BITS - 1 - i)) & 1 for i in range(STAMP_BITS)]
    return [*STAMP_MARK, *bits, sum(bits) % 2]


def draw_stamp(frame: np.ndarray, width: int, height: int, ms: int) -> None:
    """Draw ``ms`` as grey blocks into a yuv420p ``frame`` of ``width`` x ``height``."""
    bits = stamp_bits(ms)
    span = len(bits) * STAMP_BLOCK
    if span > width or height < STAMP_ROW + STAMP_HEIGHT:
        return  # too small a frame for a stamp
    rows = frame[STAMP_ROW:STAMP_ROW + STAMP_HEIGHT]
    for i, bit in enumerate(bits):
        rows[:, i * STAMP_BLOCK:(i + 1) * STAMP_BLOCK] = 235 if bit else 16
    # neutral chroma under the strip: black and white, whatever bar it crosses
    quarter = height * width // 4
    for plane in (frame[height:height + height // 4], frame[height + height // 4:]):
        chroma = plane.reshape(-1)[:quarter].reshape(height // 2, width // 2)
        chroma[STAMP_ROW // 2:(STAMP_ROW + STAMP_HEIGHT) // 2, :span // 2] = 128


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
        draw_stamp(data, self.width, self.height, int(time.time() * 1000))
        frame = VideoFrame.from_ndarray(data, format="yuv420p")
        frame.pts = int(self._count * CLOCK_RATE / self.fps)
        frame.time_base = TIME_BASE
        self._count += 1
        return frame
