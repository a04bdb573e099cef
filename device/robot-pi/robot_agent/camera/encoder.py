"""One H.264 encoder for all viewers: each frame is encoded once, the packets fanned out.

aiortc encodes per viewer (one encoder per ``RTCRtpSender``), so CPU grows with each viewer;
on a Pi that is the limit. Here the camera track is encoded once and every viewer gets an
:class:`EncodedTrack` of the same packets: aiortc only packetises them (``H264Encoder.pack``).
The viewers' connections must therefore negotiate H.264 (:func:`prefer_h264`).

A viewer joining, or falling behind, needs a keyframe: the encoder makes one on request, and
one every ``keyframe_s`` anyway (packet loss). A viewer whose queue is full skips to the next
keyframe rather than decode garbage. Every keyframe carries the stream's SPS and PPS, which the
Pi's hardware encoder sends only once (:mod:`robot_agent.camera.h264`), so any keyframe is a
place a decoder can start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
from collections.abc import Callable
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from robot_agent.camera.h264 import ParameterSets

log = logging.getLogger("robot.camera")

QUEUE = 8  # packets a slow viewer may lag before it skips to the next keyframe
TIME_BASE = fractions.Fraction(1, 90000)  # the RTP video clock


def open_codec(name: str, width: int, height: int, fps: int, bitrate: int, *,
               global_header: bool = False) -> av.VideoCodecContext:
    """An H.264 encoder context: ``name`` (e.g. the Pi's ``h264_v4l2m2m``), else libx264.

    :param global_header: FFmpeg's flag: parameter sets in the extradata only, never in the
        stream (tests use it to make libx264 send them as the Pi's encoder does).
    """
    for candidate in dict.fromkeys((name, "libx264")):
        try:
            codec = av.CodecContext.create(candidate, "w")
            if not isinstance(codec, av.VideoCodecContext):  # a name is not known statically
                raise ValueError(f"{candidate} is not a video encoder")
            codec.width, codec.height = width, height
            codec.pix_fmt = "yuv420p"
            codec.bit_rate = bitrate
            codec.framerate = fractions.Fraction(fps, 1)
            codec.time_base = TIME_BASE
            codec.gop_size = 10 * fps  # keyframes are asked for; this is a backstop
            codec.max_b_frames = 0  # no reordering: what a browser's baseline decoder wants
            if global_header:
                codec.flags |= av.codec.context.Flags.global_header
            if candidate == "libx264":
                # Constrained baseline, as browsers negotiate it; ultrafast spares the Pi.
                codec.profile = "Baseline"
                codec.options = {"preset": "ultrafast", "tune": "zerolatency",
                                 "level": "31" if width * height <= 1280 * 720 else "40"}
            codec.open()
        except (av.FFmpegError, ValueError, OSError) as exc:
            log.warning("camera: encoder %s unavailable (%s)%s", candidate, exc,
                        "; using libx264" if candidate != "libx264" else "")
            continue
        log.info("camera: encoding H.264 with %s at %dx%d, %d fps", candidate, width, height,
                 fps)
        return codec
    raise RuntimeError("no H.264 encoder (PyAV without libx264?)")


def prefer_h264(pc: RTCPeerConnection, track: MediaStreamTrack) -> None:
    """Make the connection carrying ``track`` negotiate H.264 (the shared packets' codec)."""
    codecs = [c for c in RTCRtpSender.getCapabilities("video").codecs
              if c.mimeType.lower() in ("video/h264", "video/rtx")]
    for transceiver in pc.getTransceivers():
        if transceiver.sender.track is track:
            transceiver.setCodecPreferences(codecs)


def _copy(packet: av.Packet, data: bytes) -> av.Packet:
    """``packet`` with other bytes (a keyframe with its parameter sets in front)."""
    copy = av.Packet(data)
    copy.pts, copy.dts, copy.is_keyframe = packet.pts, packet.dts, True
    return copy


class EncodedTrack(MediaStreamTrack):
    """One viewer's copy of the shared packets (``recv`` returns ``av.Packet``)."""

    kind = "video"

    def __init__(self, encoder: SharedEncoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.queue: asyncio.Queue[av.Packet | None] = asyncio.Queue(QUEUE)
        self.waiting_for_keyframe = True

    def offer(self, packet: av.Packet | None) -> None:
        if packet is None:
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)
            return
        if self.waiting_for_keyframe and not packet.is_keyframe:
            return
        try:
            self.queue.put_nowait(packet)
            self.waiting_for_keyframe = False
        except asyncio.QueueFull:  # this viewer lags: drop its backlog, resume at a keyframe
            while not self.queue.empty():
                self.queue.get_nowait()
            self.waiting_for_keyframe = True
            self.encoder.keyframe()

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self.queue.get()
        if packet is None:
            self.stop()
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        super().stop()
        self.encoder.unsubscribe(self)


class SharedEncoder:
    """Read ``source`` while anyone watches, encode each frame once, fan the packets out.

    :param codec: the FFmpeg encoder to try first (the model's; libx264 is the fallback).
    :param keyframe_s: a keyframe at least this often, for viewers that lost packets.
    :param open_encoder: opens the encoder, :func:`open_codec` (a seam for tests).
    """

    def __init__(self, source: MediaStreamTrack, fps: int = 15, *, codec: str = "libx264",
                 bitrate: int = 1_000_000, keyframe_s: float = 2.0,
                 open_encoder: Callable[..., Any] = open_codec) -> None:
        self.source = source
        self.open_encoder = open_encoder
        self.parameter_sets = ParameterSets()
        self.fps = fps
        self.codec_name = codec
        self.bitrate = bitrate
        self.keyframe_s = keyframe_s
        self.viewers: set[EncodedTrack] = set()
        self.frames = 0  # encoded so far (a test reads it: once per frame, not per viewer)
        self._codec: Any = None
        self._force_keyframe = True
        self._task: asyncio.Task | None = None

    def subscribe(self) -> EncodedTrack:
        track = EncodedTrack(self)
        self.viewers.add(track)
        self.keyframe()
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        return track

    def unsubscribe(self, track: EncodedTrack) -> None:
        self.viewers.discard(track)

    def keyframe(self) -> None:
        self._force_keyframe = True

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_key = -float("inf")
        try:
            while self.viewers:
                frame = await self.source.recv()  # MediaStreamError ends the stream
                if not isinstance(frame, av.VideoFrame):  # a track may carry audio or packets
                    raise TypeError(f"camera: the source gave a {type(frame).__name__}")
                if self._codec is None:  # sized by the first frame
                    self._codec = await loop.run_in_executor(
                        None, self.open_encoder, self.codec_name, frame.width, frame.height,
                        self.fps, self.bitrate)
                    self.parameter_sets.learn_extradata(self._codec.extradata)
                now = loop.time()
                key = self._force_keyframe or now - last_key >= self.keyframe_s
                if key:
                    self._force_keyframe, last_key = False, now
                packets = await loop.run_in_executor(None, self._encode, frame, key)
                self.frames += 1
                for packet in packets:
                    for viewer in list(self.viewers):
                        viewer.offer(packet)
        except MediaStreamError:
            pass
        finally:
            for viewer in list(self.viewers):
                viewer.offer(None)

    def _encode(self, frame: Any, keyframe: bool) -> list[av.Packet]:
        frame.pict_type = av.video.frame.PictureType.I if keyframe else \
            av.video.frame.PictureType.NONE
        sent = []
        for packet in self._codec.encode(frame):
            data = bytes(packet)
            complete = self.parameter_sets.complete(data, packet.is_keyframe)
            if complete is None:  # parameter sets alone: they go with the next keyframe
                continue
            if complete is not data:
                packet = _copy(packet, complete)
            packet.time_base = TIME_BASE
            sent.append(packet)
        return sent

    def stop(self) -> None:
        """End every viewer's track and the reading of the source."""
        if self._task is not None:
            self._task.cancel()
        for viewer in list(self.viewers):
            viewer.offer(None)
        self.viewers.clear()
