"""H.264 parameter sets (SPS and PPS) before every key frame, whatever the encoder does.

A decoder can start only at a key frame that it has the parameter sets for. libx264 repeats
them before each key frame; the Pi's hardware encoder, as FFmpeg drives it, does not:
``h264_v4l2m2m`` (FFmpeg's libavcodec/v4l2_m2m_enc.c) asks the driver for
``V4L2_MPEG_VIDEO_HEADER_MODE_SEPARATE`` and never sets ``V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER``,
whose default in the Pi's ``bcm2835-codec`` driver is 0, and it has no option to set it (the
control belongs to FFmpeg's own file handle). The parameter sets then come once, as the first
packet, on their own and not flagged as a key frame; a viewer who joins later, or who skipped
to a key frame after falling behind, never sees them. Raspberry Pi's own FFmpeg build puts them
back in front of each key frame; PyAV's FFmpeg is upstream's. So the shared encoder does it:
:class:`ParameterSets` keeps the latest SPS and PPS (from the stream and from the codec's
extradata) and puts them in front of every key frame that lacks them.

Streams are Annex B (start codes), as FFmpeg's H.264 encoders write them and aiortc sends them;
extradata may also be ``avcC`` (ISO/IEC 14496-15), which is read too.
"""

from __future__ import annotations

import re

START = b"\x00\x00\x00\x01"
SPS, PPS, IDR = 7, 8, 5
_START_CODE = re.compile(b"\x00\x00\x01")


def nal_type(unit: bytes) -> int:
    return unit[0] & 0x1F if unit else 0


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream, without their start codes."""
    starts = [m.end() for m in _START_CODE.finditer(data)]
    units = []
    for index, begin in enumerate(starts):
        end = starts[index + 1] - 3 if index + 1 < len(starts) else len(data)
        unit = data[begin:end].rstrip(b"\x00")  # a 4-byte start code's leading zero
        if unit:
            units.append(unit)
    return units


def avcc_units(extradata: bytes) -> list[bytes]:
    """The SPS and PPS of an ``avcC`` record (ISO/IEC 14496-15, 5.2.4.1)."""
    units, at = [], 6
    try:
        for count_mask in (0x1F, 0xFF):  # SPS count (5 bits), then PPS count
            count = extradata[at - 1] & count_mask
            for _ in range(count):
                size = int.from_bytes(extradata[at:at + 2], "big")
                units.append(extradata[at + 2:at + 2 + size])
                at += 2 + size
            at += 1
    except IndexError:
        return units
    return units


class ParameterSets:
    """The latest SPS and PPS of a stream, for key frames that come without them."""

    def __init__(self) -> None:
        self.sps: bytes | None = None
        self.pps: bytes | None = None

    def learn(self, units: list[bytes]) -> None:
        for unit in units:
            if nal_type(unit) == SPS:
                self.sps = unit
            elif nal_type(unit) == PPS:
                self.pps = unit

    def learn_extradata(self, extradata: bytes | None) -> None:
        """Take them from a codec's extradata (Annex B, or ``avcC`` starting with 1)."""
        if extradata:
            self.learn(avcc_units(extradata) if extradata[0] == 1 else nal_units(extradata))

    def complete(self, data: bytes, keyframe: bool) -> bytes | None:
        """The access unit ``data`` as it should be sent.

        :returns: ``None`` for parameter sets alone (learnt, sent with the next key frame);
            a key frame with the latest SPS and PPS in front when it has not got them;
            anything else unchanged.
        """
        units = nal_units(data)
        self.learn(units)
        types = {nal_type(u) for u in units}
        if units and types <= {SPS, PPS, 6, 9}:  # parameter sets, SEI, delimiters: no picture
            return None
        if not (keyframe or IDR in types) or {SPS, PPS} <= types:
            return data
        if self.sps is None or self.pps is None:
            return data  # nothing learnt yet: the decoder may still have them
        return START + self.sps + START + self.pps + data
