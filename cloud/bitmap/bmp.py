"""Writing the three BMP layouts the device reads, and reading any BMP back.

CircuitPython's ``displayio.OnDiskBitmap`` parses the header itself and is strict: it reads
header sizes 12/40/108/124 only, rejects compression other than 0 (``BI_RGB``) and 3
(``BI_BITFIELDS``), reads rows bottom-up with an unsigned height, takes the palette from just
after the info header with ``biClrUsed`` entries (Blinka refuses 0), and on some builds fails on
files under 138 bytes. So we write only the classic layouts:

* 8 bits: 14-byte file header, 40-byte ``BITMAPINFOHEADER``, 256 palette entries (BGRX), rows
  padded to 4 bytes, bottom-up. 320x240 is ``1078 + 76800 = 77878`` bytes. Pillow's encoder
  writes exactly this once the palette is padded to 256 entries.
* 4 bits: the same header with ``biClrUsed`` = 16, 16 palette entries (BGRX), two pixels a
  byte with the left one in the high nibble (the firmware's ``get_pixel`` shifts by
  ``(8 - bits) - (x % 2) * bits``), rows padded to 4 bytes, bottom-up. 320x240 is
  ``118 + 38400 = 38518`` bytes. Pillow reads this layout but writes none under 8 bits, so it
  is written here, with Pillow packing the nibbles (raw mode ``P;4``).
* 16 bits: the same header with ``BI_BITFIELDS`` and the three RGB565 masks (F800/07E0/001F)
  right after it, then little-endian 565 words, rows padded to 4 bytes, bottom-up. Pillow
  cannot write this one (it has no 565 save mode), so it is written here.
"""

import io
import struct

from PIL import Image

from cloud.bitmap.errors import BitmapError

FILE_HEADER = 14
INFO_HEADER = 40
PALETTE_ENTRIES = 256
NIBBLE_ENTRIES = 16
MASKS_565 = (0xF800, 0x07E0, 0x001F)
MIN_FILE_SIZE = 138
"""Blinka (and CircuitPython before 10) read the first 138 bytes in one go."""

_BI_BITFIELDS = 3
_DPI = 72  # readers ignore it, some tools show it
_PIXELS_PER_METRE = 2835  # 72 dpi, as Pillow rounds it


def stride(width: int, bits_per_pixel: int) -> int:
    """Bytes per stored row: rows are padded to a multiple of 4 bytes."""
    return (width * bits_per_pixel + 31) // 32 * 4


def _headers(width: int, height: int, bits: int, compression: int, extra: int,
             colours: int = 0) -> bytes:
    """File header + ``BITMAPINFOHEADER``; ``extra`` is what sits between it and the pixels,
    ``colours`` the palette entries in it (``biClrUsed``)."""
    image_size = stride(width, bits) * height
    offset = FILE_HEADER + INFO_HEADER + extra
    file_header = struct.pack("<2sIHHI", b"BM", offset + image_size, 0, 0, offset)
    info = struct.pack(
        "<IiiHHIIiiII",
        INFO_HEADER,
        width,
        height,  # positive: bottom-up, the only order OnDiskBitmap reads
        1,
        bits,
        compression,
        image_size,
        _PIXELS_PER_METRE,
        _PIXELS_PER_METRE,
        colours,
        0,  # biClrImportant: all
    )
    return file_header + info


def _rows(image: Image.Image, rawmode: str, row_bytes: int) -> bytes:
    """The raw pixel rows, bottom-up, each padded to ``row_bytes``."""
    return image.tobytes("raw", rawmode, row_bytes, -1)


def write_indexed(image: Image.Image) -> bytes:
    """A BMP of a mode ``P`` image with a palette of at most 256 colours.

    Pillow's own BMP encoder writes exactly the 8-bit layout above once the palette is padded
    to 256 entries (it would otherwise write only the entries in use) and the resolution is
    given as 72 dpi.
    """
    if image.mode != "P":
        raise ValueError(f"write_indexed needs a mode P image, not {image.mode}")
    palette = (image.getpalette("RGB") or [])[: 3 * PALETTE_ENTRIES]
    padded = image.copy()
    padded.putpalette(palette + [0] * (3 * PALETTE_ENTRIES - len(palette)))
    buffer = io.BytesIO()
    padded.save(buffer, "BMP", dpi=(_DPI, _DPI))
    return buffer.getvalue()


def write_indexed4(image: Image.Image) -> bytes:
    """A 4-bit BMP of a mode ``P`` image whose indices are all below 16.

    The palette is padded to 16 entries, so ``biClrUsed`` is always 16 and a photo with fewer
    colours still has a palette the board reads in full.
    """
    if image.mode != "P":
        raise ValueError(f"write_indexed4 needs a mode P image, not {image.mode}")
    highest = image.getextrema()[1]
    if not isinstance(highest, int) or highest >= NIBBLE_ENTRIES:
        raise ValueError(f"write_indexed4 needs indices below 16, found {highest}")
    palette = (image.getpalette("RGB") or [])[: 3 * NIBBLE_ENTRIES]
    palette += [0] * (3 * NIBBLE_ENTRIES - len(palette))
    entries = Image.frombytes("RGB", (NIBBLE_ENTRIES, 1), bytes(palette)).tobytes("raw", "BGRX")
    width, height = image.size
    header = _headers(width, height, 4, 0, len(entries), NIBBLE_ENTRIES)
    return header + entries + _rows(image, "P;4", stride(width, 4))


def write_rgb565(words: Image.Image) -> bytes:
    """A ``BI_BITFIELDS`` RGB565 BMP from the ``LA`` image made by ``rgb565.pack``."""
    if words.mode != "LA":
        raise ValueError(f"write_rgb565 needs the LA image from pack(), not {words.mode}")
    width, height = words.size
    masks = struct.pack("<III", *MASKS_565)
    header = _headers(width, height, 16, _BI_BITFIELDS, len(masks))
    return header + masks + _rows(words, "LA", stride(width, 16))


def read(bmp: bytes) -> Image.Image:
    """Decode a BMP into an RGB image (channels at full 8-bit scale).

    :raises BitmapError: the bytes are not a BMP Pillow can decode.
    """
    if not isinstance(bmp, bytes | bytearray | memoryview) or bytes(bmp[:2]) != b"BM":
        raise BitmapError("not a BMP: it must start with b'BM'")
    try:
        with Image.open(io.BytesIO(bmp), formats=["BMP"]) as image:
            return image.convert("RGB")
    except (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError) as error:
        raise BitmapError(f"corrupt BMP: {error}") from error
