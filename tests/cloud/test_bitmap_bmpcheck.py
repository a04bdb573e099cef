"""The BMP checker itself: it accepts what the board shows and refuses what it doesn't.

A checker that accepts everything would make every bitmap test pass, so each rule is shown to
fire on a BMP that breaks it.
"""

from __future__ import annotations

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
def depth16(photo) -> bytes:
    return convert(samples.encode(photo), 45, 30, 16)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "1"])
def test_pillow_bmps_decode_to_their_pixels(photo, mode):
    image = photo.convert(mode)
    colours = bmpcheck.colours(samples.encode(image, "BMP"))
    assert np.array_equal(colours, np.asarray(image.convert("RGB")))


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


def test_refuses_an_index_beyond_the_palette(depth8):
    assert bmpcheck.indices(depth8).max() > 1  # a photo uses more than two colours
    with pytest.raises(bmpcheck.BoardRejects, match="beyond 2 colours"):
        bmpcheck.colours(patched(depth8, 46, "<I", 2))


def test_rgb565_truncates():
    colours = np.array([[[0x20, 0x20, 0x40], [255, 255, 255]]], np.uint8)
    assert bmpcheck.rgb565(colours).tolist() == [[0x2108, 0xFFFF]]
