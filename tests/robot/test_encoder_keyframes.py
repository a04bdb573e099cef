"""Any keyframe of the shared stream is a place a decoder can start, with an encoder that
sends its SPS and PPS only once, as the Pi's hardware encoder does under FFmpeg: a second
viewer's decoder, fed from the middle of the stream, gets a picture."""

from __future__ import annotations

import asyncio
import contextlib
import fractions

import av
from aiortc.mediastreams import MediaStreamTrack
from robot_agent.camera.encoder import SharedEncoder, open_codec
from robot_agent.camera.h264 import IDR, PPS, SPS, nal_type, nal_units
from robot_agent.camera.pattern import bars_yuv420

WIDTH, HEIGHT = 160, 120


class HeadersOnce:
    """libx264 made to behave as FFmpeg's ``h264_v4l2m2m`` on the Pi's ``bcm2835-codec``.

    FFmpeg (libavcodec/v4l2_m2m_enc.c) sets ``V4L2_MPEG_VIDEO_HEADER_MODE_SEPARATE`` and never
    the driver's repeat-sequence-header control (default 0 in bcm2835-v4l2-codec.c): the SPS
    and PPS come once, as a first packet of their own that the driver does not flag as a key
    frame, and no later key frame carries them; nothing is in the extradata. libx264 with
    FFmpeg's global-header flag writes no parameter sets into the stream, only into its
    extradata: that extradata, sent once as the first packet, is the Pi's stream.
    """

    def __init__(self, *args) -> None:
        self.inner = open_codec(*args, global_header=True)
        self.extradata = None
        self.sent_headers = False
        self.raw: list[bytes] = []  # everything "the hardware" produced, in order

    def encode(self, frame) -> list[av.Packet]:
        packets = []
        if not self.sent_headers:
            self.sent_headers = True
            packets.append(av.Packet(self.inner.extradata))
        packets += self.inner.encode(frame)
        self.raw += [bytes(p) for p in packets]
        return packets


class Frames(MediaStreamTrack):
    """Colour bars, as fast as they are asked for."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(0)
        frame = av.VideoFrame.from_ndarray(bars_yuv420(WIDTH, HEIGHT), format="yuv420p")
        frame.pts, frame.time_base = self.count * 3000, fractions.Fraction(1, 90000)
        self.count += 1
        return frame


def pictures(packets: list[av.Packet]) -> list[tuple[int, int]]:
    """What a fresh decoder makes of ``packets`` (a viewer's browser, starting here)."""
    decoder = av.CodecContext.create("h264", "r")
    sizes = []
    for packet in packets:
        with contextlib.suppress(av.FFmpegError):  # no parameter sets: nothing to decode
            sizes += [(f.width, f.height) for f in decoder.decode(packet)]
    return sizes


async def take(track, count: int) -> list[av.Packet]:
    return [await asyncio.wait_for(track.recv(), 10) for _ in range(count)]


def test_a_viewer_joining_mid_stream_decodes_from_its_first_keyframe():
    made: list[HeadersOnce] = []

    def open_like_the_pi(*args):
        made.append(HeadersOnce(*args))
        return made[0]

    async def scenario():
        encoder = SharedEncoder(Frames(), 30, open_encoder=open_like_the_pi,
                                keyframe_s=3600)  # keyframes only when a viewer asks
        first = encoder.subscribe()
        early = await take(first, 12)
        second = encoder.subscribe()  # mid-stream: asks for a keyframe
        late = await take(second, 6)
        encoder.stop()
        return early, late

    early, late = asyncio.run(scenario())
    raw = made[0].raw
    # The path the Pi takes: parameter sets once, alone, and a later keyframe without them.
    assert [nal_type(u) for u in nal_units(raw[0])] == [SPS, PPS]
    later_idr = [p for p in raw[2:] if IDR in {nal_type(u) for u in nal_units(p)}]
    assert later_idr and not any({SPS, PPS} & {nal_type(u) for u in nal_units(p)}
                                 for p in later_idr)
    assert late[0].is_keyframe and bytes(late[0]) != bytes(early[0])
    # Both viewers' decoders get pictures from their first packet on.
    assert pictures(early) == [(WIDTH, HEIGHT)] * 12
    assert pictures(late) == [(WIDTH, HEIGHT)] * 6


def test_parameter_sets_are_read_from_avcc_extradata_too():
    from robot_agent.camera.h264 import START, ParameterSets

    sps, pps = b"\x67\x42\xc0\x0a\xda", b"\x68\xce\x0f\xc8"
    avcc = (b"\x01\x42\xc0\x0a\xff\xe1" + len(sps).to_bytes(2, "big") + sps
            + b"\x01" + len(pps).to_bytes(2, "big") + pps)
    sets = ParameterSets()
    sets.learn_extradata(avcc)
    idr = START + b"\x65\x88\x84"
    assert sets.complete(idr, keyframe=True) == START + sps + START + pps + idr
    assert sets.complete(START + b"\x41\x9a", keyframe=False) == START + b"\x41\x9a"
