"""Where frames come from: the Pi camera, a V4L2 device, or the test pattern.

Kept thin on purpose: each source only turns a device into an aiortc video track. Imports of
hardware libraries happen inside the branch that needs them, so a laptop never loads them.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from typing import Any

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from robot_agent.camera.pattern import TestPatternTrack
from robot_agent.camera.settings import CameraSettings

CLOCK_RATE = 90000


def make_track(settings: CameraSettings) -> MediaStreamTrack:
    """Open the configured source as a live video track."""
    if settings.source == "test-pattern":
        return TestPatternTrack(settings.width, settings.height, settings.fps)
    if settings.source == "v4l2":
        from aiortc.contrib.media import MediaPlayer

        player = MediaPlayer(settings.device, format="v4l2", options={
            "video_size": f"{settings.width}x{settings.height}",
            "framerate": str(settings.fps)})
        if player.video is None:  # a device that opened but carries no video stream
            raise OSError(f"{settings.device} has no video stream")
        return player.video
    return Picamera2Track(settings.width, settings.height, settings.fps)


class Picamera2Track(MediaStreamTrack):
    """Frames from the Pi's CSI camera through picamera2 (libcamera).

    CSI cameras are not plain V4L2 capture devices on Bullseye and later, so they are read with
    picamera2 in YUV420, the encoder's own input format, in a worker thread.
    """

    kind = "video"

    def __init__(self, width: int, height: int, fps: int) -> None:
        super().__init__()
        from picamera2 import Picamera2  # only on the Pi: python3-picamera2 from apt

        self.fps = fps
        self.camera: Any = Picamera2()
        config = self.camera.create_video_configuration(
            main={"size": (width, height), "format": "YUV420"},
            controls={"FrameRate": float(fps)})
        self.camera.configure(config)
        self.camera.start()
        self._start = time.monotonic()

    async def recv(self):
        from av import VideoFrame

        if self.readyState != "live":
            raise MediaStreamError
        array = await asyncio.get_running_loop().run_in_executor(
            None, self.camera.capture_array, "main")
        frame = VideoFrame.from_ndarray(array, format="yuv420p")
        frame.pts = int((time.monotonic() - self._start) * CLOCK_RATE)
        frame.time_base = fractions.Fraction(1, CLOCK_RATE)
        return frame

    def stop(self) -> None:
        super().stop()
        self.camera.stop()
        self.camera.close()
