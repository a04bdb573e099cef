"""Parse a BMP as CircuitPython's ``displayio.OnDiskBitmap`` does; refuse what it cannot show.

The board's parser (``shared-module/displayio/OnDiskBitmap.c``, the same from CircuitPython 9.2.9
to 10.2.1 but for an allocator call) reads fixed offsets of the 40-byte ``BITMAPINFOHEADER``
layout, keeps width, height and the data offset in 16-bit fields, and reads rows bottom-up.
Indexed files of 1, 2, 4 or 8 bits per pixel take ``biClrUsed`` palette entries (``1 << bits``
when it is 0) from just after the header; below 8 bits a row packs ``8 / bits`` pixels a byte,
the leftmost in the high bits, and is padded to 32 bits (``construct`` and ``get_pixel``).
Blinka's port (the desktop simulator) additionally reads the first 138 bytes in one go and
refuses an 8-bit BMP whose ``biClrUsed`` is 0. :func:`check` raises
:class:`BoardRejects` for everything either of them rejects, and also for what they accept but
then show wrongly (a 12-byte core header, a top-down image, truncated pixel data), because for
a user the result is the same: no picture.

:func:`colours` then returns, pixel by pixel, the RGB888 value the board's pixel shader hands to
the display, which truncates it to RGB565.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MIN_FILE_SIZE = 138
HEADER_SIZES = (12, 40, 108, 124)
MASKS_565 = (0xF800, 0x07E0, 0x001F)
MASKS_555 = (0x7C00, 0x03E0, 0x001F)


class BoardRejects(ValueError):
    """OnDiskBitmap would raise on this BMP, or show something other than the picture."""


@dataclass(frozen=True)
class BmpInfo:
    """What the board takes from the header."""

    width: int
    height: int
    bits_per_pixel: int
    compression: int
    header_size: int
    data_offset: int
    stride: int
    palette: tuple[int, ...] | None  # 0xRRGGBB per entry, for <= 8 bits per pixel
    masks: tuple[int, int, int] | None  # for 16 bits per pixel


def _word(data: bytes, offset: int) -> int:
    return struct.unpack_from("<I", data, offset)[0]


def _half(data: bytes, offset: int) -> int:
    return struct.unpack_from("<H", data, offset)[0]


def check(data: bytes) -> BmpInfo:
    """Parse ``data`` as the board does.

    :raises BoardRejects: with the reason, when the board or Blinka would refuse the file or
        show it wrongly.
    """
    data = bytes(data)
    if len(data) < 26 or data[:2] != b"BM":
        raise BoardRejects("invalid file: not a BMP (the board wants b'BM' and 26 header bytes)")
    if len(data) < MIN_FILE_SIZE:
        raise BoardRejects(f"{len(data)} bytes: Blinka and older firmware need >= {MIN_FILE_SIZE}")
    header_size = _word(data, 14)
    if header_size not in HEADER_SIZES:
        raise BoardRejects(
            f"only Windows format, uncompressed BMP supported: header size {header_size}"
        )
    if header_size == 12:
        raise BoardRejects(
            "12-byte core header: the board reads 40-byte-header offsets and misreads it"
        )
    if len(data) < 14 + header_size:
        raise BoardRejects("invalid file: the header is cut short")
    compression = _word(data, 30)
    if compression not in (0, 3):
        raise BoardRejects(f"RLE-compressed BMP not supported (compression {compression})")
    bits = _half(data, 28)
    if bits not in (1, 2, 4, 8, 16, 24, 32):
        raise BoardRejects(f"{bits} bits per pixel: the board has no decoder for it")
    if compression == 3 and bits not in (16, 32):
        raise BoardRejects(f"BI_BITFIELDS with {bits} bits per pixel is not decoded by the board")
    width, height = struct.unpack_from("<ii", data, 18)
    if height < 0:
        raise BoardRejects("top-down BMP (negative height): the board only reads bottom-up rows")
    if not (0 < width < 1 << 16 and 0 < height < 1 << 16):
        raise BoardRejects(f"size {width}x{height}: the board keeps each side in 16 bits")
    data_offset = _word(data, 10)
    if data_offset >= 1 << 16:
        raise BoardRejects(f"pixel data at offset {data_offset}: the board keeps it in 16 bits")

    palette = masks = None
    if bits == 16:
        if header_size >= 56 or compression == 3:
            masks = (_word(data, 54), _word(data, 58), _word(data, 62))
        else:
            masks = MASKS_555
        if masks not in (MASKS_565, MASKS_555):
            raise BoardRejects(f"16-bit masks {[hex(m) for m in masks]}: only 565 or 555 decode")
    elif bits <= 8:
        palette = _palette(data, header_size, bits, data_offset)

    stride = (width * bits + 31) // 32 * 4
    if data_offset + stride * height > len(data):
        raise BoardRejects(
            f"truncated pixel data: {stride * height} bytes needed at offset {data_offset}, "
            f"file has {len(data)}"
        )
    return BmpInfo(
        width, height, bits, compression, header_size, data_offset, stride, palette, masks
    )


def _palette(data: bytes, header_size: int, bits: int, data_offset: int) -> tuple[int, ...]:
    count = _word(data, 46)
    if count == 0 and bits == 8:
        raise BoardRejects("8-bit BMP with biClrUsed = 0: Blinka refuses it")
    count = count or 1 << bits
    if count > 1 << bits:
        raise BoardRejects(f"{count} palette colours for {bits} bits per pixel")
    if count == 1:
        raise BoardRejects("one palette colour: the board ignores it and uses black and white")
    start = 14 + header_size  # the board ignores the data offset when it reads the palette
    end = start + 4 * count
    if end > len(data):
        raise BoardRejects("unable to read color palette data: the file ends inside it")
    if end > data_offset:
        raise BoardRejects("the palette overlaps the pixel data")
    return tuple(_word(data, start + 4 * i) & 0xFFFFFF for i in range(count))


def indices(data: bytes, info: BmpInfo | None = None) -> np.ndarray:
    """The stored value of every pixel, top row first (palette index, or raw pixel word)."""
    info = info or check(data)
    raw = np.frombuffer(bytes(data), np.uint8, info.stride * info.height, info.data_offset)
    rows = raw.reshape(info.height, info.stride)[::-1]  # stored bottom-up
    bits = info.bits_per_pixel
    if bits < 8:
        # get_pixel: the byte at x / pixels_per_byte, shifted right by
        # (8 - bits) - (x % pixels_per_byte) * bits, masked to bits
        per_byte = 8 // bits
        x = np.arange(info.width)
        shift = ((8 - bits) - (x % per_byte) * bits).astype(np.uint8)
        return ((rows[:, x // per_byte] >> shift) & ((1 << bits) - 1)).astype(np.uint32)
    size = bits // 8
    pixels = rows[:, : info.width * size].reshape(info.height, info.width, size).astype(np.uint32)
    words: np.ndarray = pixels[..., 0]
    for i in range(1, size):
        words = words | pixels[..., i] << (8 * i)
    return words


def colours(data: bytes) -> np.ndarray:
    """The RGB888 colour the board's pixel shader gives each pixel, as an (h, w, 3) uint8 array.

    Like the firmware, 16-bit pixels come out as ``code << (8 - bits)`` (low bits zero): the
    display then truncates every colour to RGB565.
    """
    info = check(data)
    values = indices(data, info)
    if info.palette is not None:
        if int(values.max()) >= len(info.palette):
            raise BoardRejects(
                f"pixel index {int(values.max())} beyond {len(info.palette)} colours"
            )
        rgb = np.asarray(info.palette, np.uint32)[values]
    elif info.bits_per_pixel == 16:
        assert info.masks is not None  # check() requires them at 16 bits
        red_mask, green_mask, blue_mask = info.masks
        if green_mask == 0x07E0:
            red, green = (values & red_mask) >> 11, (values & green_mask) >> 5
        else:  # the board's 555 path: green shifted to a 6-bit scale
            red, green = (values & red_mask) >> 10, (values & green_mask) >> 4
        rgb = red << 19 | green << 10 | (values & blue_mask) << 3
    else:
        rgb = values & 0xFFFFFF
    return np.stack([(rgb >> 16) & 0xFF, (rgb >> 8) & 0xFF, rgb & 0xFF], axis=-1).astype(np.uint8)


def rgb565(colours_888: np.ndarray) -> np.ndarray:
    """The (h, w) RGB565 codes displayio sends to the panel for RGB888 colours (truncation)."""
    c = colours_888.astype(np.uint16)
    return (c[..., 0] >> 3) << 11 | (c[..., 1] >> 2) << 5 | c[..., 2] >> 3
