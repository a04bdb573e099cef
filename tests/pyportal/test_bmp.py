"""The BMP header check: what OnDiskBitmap can show passes, anything else is refused."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from tests.pyportal.mars_server import bmp8, photo, rle8


def encode(image: Image.Image, **kw) -> bytes:
    out = io.BytesIO()
    image.save(out, format="BMP", **kw)
    return out.getvalue()


def test_8bit_bmp_passes(device):
    data = bmp8(photo(320, 240))
    assert device.bmp.check(data[:54], 320, 240) == len(data) == 77878


def test_16bit_bitfields_passes(device):
    # a BITMAPV4 header with RGB565 masks, as the API writes for depth=16
    w, h = 32, 8
    row = device.bmp.row_bytes(w, 16)
    offset = 14 + 108
    size = offset + row * h
    head = b"BM" + struct.pack("<IHHI", size, 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 108, w, -h, 1, 16, 3, row * h, 0, 0, 0, 0)
    info += struct.pack("<IIII", 0xF800, 0x07E0, 0x001F, 0) + bytes(108 - 56)
    assert device.bmp.check(head + info, w, h) == size


@pytest.mark.parametrize(("data", "words"), [
    (lambda: rle8(320, 240), "compressed BMP (1)"),
    (lambda: encode(photo(320, 240)), "BMP of 24 bpp"),
    (lambda: bmp8(photo(160, 120)), "BMP 160x120, want 320x240"),
    (lambda: b"GIF89a" + bytes(100), "not a BMP"),
    (lambda: bmp8(photo(320, 240))[:30], "not a BMP"),
])
def test_refused(device, data, words):
    with pytest.raises(device.errors.BadBitmap) as err:
        device.bmp.check(data()[:54], 320, 240)
    assert str(err.value) == words


def test_os2_header_refused(device):
    data = bytearray(bmp8(photo(320, 240))[:54])
    data[14:18] = struct.pack("<I", 12)
    with pytest.raises(device.errors.BadBitmap, match="header size 12"):
        device.bmp.check(bytes(data), 320, 240)


def test_pixels_past_the_end_refused(device):
    data = bytearray(bmp8(photo(320, 240))[:54])
    data[2:6] = struct.pack("<I", 20000)  # the file claims to be smaller than its pixels
    with pytest.raises(device.errors.BadBitmap, match="out of file"):
        device.bmp.check(bytes(data), 320, 240)
