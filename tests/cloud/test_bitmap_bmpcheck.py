"""The BMP checker itself: it accepts what the board shows and refuses what it doesn't.

A checker that accepts everything would make every bitmap test pass, so each rule is shown to
fire on a BMP that breaks it.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from cloud.bitmap import convert
from testing import bmpcheck
from testing import sample_images as samples


def patched(data: bytes, offset: int, fmt: str, value) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return samples.photo("chelsea").resize((45, 30))


@pytest.fixture(scope="module")
def depth8(photo) -> bytes:
    return convert(samples.encode(photo), 45, 30, 8)


@pytest.fixture(scope="module")
def depth4(photo) -> bytes:
    return convert(samples.encode(photo), 45, 30, 4)


@pytest.fixture(scope="module")
def depth16(photo) -> bytes:
    return convert(samples.encode(photo), 45, 30, 16)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "1"])
def test_pillow_bmps_decode_to_their_pixels(photo, mode):
    image = photo.convert(mode)
    colours = bmpcheck.colours(samples.encode(image, "BMP"))
    assert np.array_equal(colours, np.asarray(image.convert("RGB")))


def nibble_bmp(rows: list[list[int]], palette: list[int], colours_used: int = 16) -> bytes:
    """A 4-bit BMP built from the format's definition, not by the code under test: 16 BGRX
    entries after a 40-byte header, two pixels a byte (left one high), rows padded to 4 bytes,
    stored bottom-up."""
    width, height = len(rows[0]), len(rows)
    stride = (width * 4 + 31) // 32 * 4
    pixels = b""
    for row in reversed(rows):
        padded = row + [0] * (len(row) % 2)
        packed = bytes(high << 4 | low for high, low in zip(padded[::2], padded[1::2], strict=True))
        pixels += packed.ljust(stride, b"\0")
    entries = b"".join(struct.pack("<I", colour) for colour in palette)
    offset = 14 + 40 + len(entries)
    header = struct.pack("<2sIHHI", b"BM", offset + len(pixels), 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 4, 0, len(pixels), 0, 0,
                       colours_used, 0)
    return header + info + entries + pixels


PALETTE16 = [0x100000 * i + 0x000F00 * (15 - i) + 0x11 * (i % 4) for i in range(16)]
# odd width: a padded nibble; six rows: past the 138 bytes Blinka reads at once
ROWS = [[0, 1, 2, 3, 4], [15, 14, 13, 12, 11], [5, 6, 7, 8, 9], [10, 0, 10, 0, 10],
        [1, 3, 5, 7, 9], [2, 4, 6, 8, 15]]


@pytest.mark.parametrize("colours_used", [16, 0])  # 0: the board takes 1 << 4 entries
def test_4_bit_pixels_are_read_left_pixel_in_the_high_nibble(colours_used):
    data = nibble_bmp(ROWS, PALETTE16, colours_used)
    info = bmpcheck.check(data)
    assert (info.width, info.height, info.bits_per_pixel, info.stride) == (5, 6, 4, 4)
    assert info.palette == tuple(PALETTE16)
    assert bmpcheck.indices(data).tolist() == ROWS
    expected = [[[c >> 16, (c >> 8) & 0xFF, c & 0xFF] for c in (PALETTE16[i] for i in row)]
                for row in ROWS]
    assert bmpcheck.colours(data).tolist() == expected
    # Pillow, an independent reader, sees the same picture
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), expected)


def test_16_bit_pixels_come_out_as_the_board_shifts_them(depth16):
    colours = bmpcheck.colours(depth16)
    # 565 codes shifted up with the low bits zero, as the firmware's get_pixel returns them.
    assert not (colours[..., 0] & 0x07).any() and not (colours[..., 1] & 0x03).any()
    assert not (colours[..., 2] & 0x07).any()


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        (lambda b: b[:137], "138"),
        (lambda b: b"BN" + b[2:], "not a BMP"),
        (lambda b: patched(b, 14, "<I", 64), "header size 64"),
        (lambda b: patched(b, 14, "<I", 12), "core header"),
        (lambda b: patched(b, 30, "<I", 1), "RLE"),
        (lambda b: patched(b, 30, "<I", 2), "RLE"),
        (lambda b: patched(b, 22, "<i", -30), "top-down"),
        (lambda b: patched(b, 18, "<i", 0), "size 0x30"),
        (lambda b: patched(b, 28, "<H", 12), "12 bits"),
        (lambda b: patched(b, 46, "<I", 0), "biClrUsed = 0"),
        (lambda b: patched(b, 46, "<I", 1), "one palette colour"),
        (lambda b: patched(b, 46, "<I", 300), "300 palette colours"),
        (lambda b: patched(b, 10, "<I", 600), "overlaps"),
        (lambda b: patched(b, 10, "<I", 70_000), "16 bits"),
        (lambda b: b[:-200], "truncated pixel data"),
    ],
)
def test_refuses_depth8_breakage(depth8, breakage, reason):
    bmpcheck.check(depth8)
    with pytest.raises(bmpcheck.BoardRejects, match=reason):
        bmpcheck.check(breakage(depth8))


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        (lambda b: patched(b, 58, "<I", 0x0FE0), "masks"),
        (lambda b: patched(b, 28, "<H", 8), "BI_BITFIELDS with 8 bits"),
        (lambda b: b[:-1], "truncated pixel data"),
    ],
)
def test_refuses_depth16_breakage(depth16, breakage, reason):
    bmpcheck.check(depth16)
    with pytest.raises(bmpcheck.BoardRejects, match=reason):
        bmpcheck.check(breakage(depth16))


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        (lambda b: patched(b, 46, "<I", 17), "17 palette colours for 4 bits"),
        (lambda b: patched(b, 46, "<I", 1), "one palette colour"),
        (lambda b: patched(b, 30, "<I", 2), "RLE"),  # BI_RLE4
        (lambda b: patched(b, 30, "<I", 3), "BI_BITFIELDS with 4 bits"),
        (lambda b: b[:-1], "truncated pixel data"),
    ],
)
def test_refuses_depth4_breakage(depth4, breakage, reason):
    bmpcheck.check(depth4)
    with pytest.raises(bmpcheck.BoardRejects, match=reason):
        bmpcheck.check(breakage(depth4))


def test_refuses_an_index_beyond_the_palette(depth8):
    assert bmpcheck.indices(depth8).max() > 1  # a photo uses more than two colours
    with pytest.raises(bmpcheck.BoardRejects, match="beyond 2 colours"):
        bmpcheck.colours(patched(depth8, 46, "<I", 2))


def test_rgb565_truncates():
    colours = np.array([[[0x20, 0x20, 0x40], [255, 255, 255]]], np.uint8)
    assert bmpcheck.rgb565(colours).tolist() == [[0x2108, 0xFFFF]]
