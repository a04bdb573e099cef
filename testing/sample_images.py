"""Test images for the bitmap pipeline, generated in code so the repository holds no binaries.

Natural photographs come from the samples shipped inside scikit-image; everything else (flat
colours, bands, EXIF-rotated JPEGs, 16-bit PNGs, hostile PNG headers) is built here.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
from PIL import Image

NATURAL_PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
)
"""scikit-image's colour photographs (not its synthetic test patterns)."""

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


@functools.cache
def photo(name: str) -> Image.Image:
    """A scikit-image sample photograph as an RGB image."""
    from skimage import data

    return Image.fromarray(getattr(data, name)()).convert("RGB")


@functools.cache
def photo_png(name: str) -> bytes:
    """``photo(name)`` as a PNG, encoded once per run. PNG is lossless, so the fastest
    compression gives the same pixels at a fifth of the encoding time."""
    return encode(photo(name), compress_level=1)


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    """``image`` saved in ``fmt`` (a Pillow format name), as bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def flat(colour, size=(64, 48), mode: str = "RGB") -> Image.Image:
    """One colour everywhere."""
    return Image.new(mode, size, colour)


def bands(colours, size=(300, 300), vertical: bool = False) -> Image.Image:
    """Equal bands of ``colours``, top to bottom (or left to right when ``vertical``)."""
    image = Image.new("RGB", size)
    count = len(colours)
    for index, colour in enumerate(colours):
        if vertical:
            box = (size[0] * index // count, 0, size[0] * (index + 1) // count, size[1])
        else:
            box = (0, size[1] * index // count, size[0], size[1] * (index + 1) // count)
        image.paste(colour, box)
    return image


def exif_jpeg(image: Image.Image, orientation: int) -> bytes:
    """A JPEG of ``image`` as stored, with an EXIF orientation tag telling viewers to turn it."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", quality=95, exif=exif.tobytes())


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_raw(width: int, height: int, bit_depth: int, colour_type: int, rows: bytes | None) -> bytes:
    """A PNG written by hand: Pillow cannot write some variants (16-bit RGB) or lies (headers).

    :param rows: filtered scanlines (each starting with filter byte 0); ``None`` for no IDAT.
    """
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    body = _chunk(b"IHDR", header)
    if rows is not None:
        body += _chunk(b"IDAT", zlib.compress(rows, 9))
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b"")


def png16_rgb(colour16: tuple[int, int, int], size=(40, 30)) -> bytes:
    """A 16-bit-per-channel RGB PNG of one colour."""
    width, height = size
    row = b"\x00" + struct.pack(">3H", *colour16) * width
    return png_raw(width, height, 16, 2, row * height)


def png16_grey(level16: int, size=(40, 30)) -> bytes:
    """A 16-bit greyscale PNG of one level."""
    width, height = size
    row = b"\x00" + struct.pack(">H", level16) * width
    return png_raw(width, height, 16, 0, row * height)


def png_bomb(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` and carries almost no data."""
    return png_raw(width, height, 8, 2, b"\x00" * 16)


def zlib_bomb_png(side: int) -> bytes:
    """A genuinely valid greyscale PNG of ``side`` x ``side`` zeros: tiny file, huge decode."""
    row = b"\x00" * (side + 1)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def large_png(min_bytes: int = 3_000_000) -> bytes:
    """A several-megabyte PNG: a photo blown up with grain, so it compresses poorly."""
    base = photo("coffee").resize((1800, 1200), Image.Resampling.BICUBIC)
    grain = np.random.default_rng(7).integers(-24, 25, (1200, 1800, 3))
    pixels = np.clip(np.asarray(base, np.int16) + grain, 0, 255).astype(np.uint8)
    data = encode(Image.fromarray(pixels), "PNG", compress_level=1)
    assert len(data) >= min_bytes, len(data)
    return data
