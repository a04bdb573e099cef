"""Checks a BMP header the way ``displayio.OnDiskBitmap`` will read it, before it is trusted.

The firmware raises ``ValueError`` on formats it cannot show (RLE, for one) and the desktop
renders garbage instead, so a new photo replaces the last good one only after this check.
The photos are palette BMPs of 4 or 8 bits (or RGB565): OnDiskBitmap.c takes ``biClrUsed``
colours (``1 << bits`` when 0) from just after the header, and a palette of one colour it
replaces with black and white.
"""

import struct

from errors import BadBitmap

HEADER_BYTES = 54  # file header (14) + BITMAPINFOHEADER (40): enough for every check
MIN_BYTES = 138  # smaller files fail in OnDiskBitmap


def row_bytes(width, bpp):
    """Bytes of one pixel row, padded to 4 bytes."""
    return ((width * bpp + 31) // 32) * 4


def max_size(width, height):
    """The largest file a ``width`` x ``height`` photo may be: 16 bpp, V5 header and masks."""
    return 14 + 124 + 12 + 1024 + row_bytes(width, 16) * height


def check(head, width, height):
    """Check the first :data:`HEADER_BYTES` of a BMP.

    :param head: the first bytes of the file.
    :param width: the width the screen needs.
    :param height: the height the screen needs.
    :returns: the file size the header announces.
    :raises BadBitmap: saying in a few words what is wrong.
    """
    if len(head) < HEADER_BYTES or head[0:2] != b"BM":
        raise BadBitmap("not a BMP")
    file_size, _, _, offset = struct.unpack_from("<IHHI", head, 2)
    size, w, h, planes, bpp, compression = struct.unpack_from("<IiiHHI", head, 14)
    # palette entries: biClrUsed, or all that the bits can index when it is 0
    colours = (struct.unpack_from("<I", head, 46)[0] or 1 << bpp) if bpp <= 8 else 0
    if size not in (40, 108, 124):
        raise BadBitmap("BMP header size %d" % size)
    if compression not in (0, 3) or (compression == 3 and bpp != 16):
        raise BadBitmap("compressed BMP (%d)" % compression)
    if planes != 1 or bpp not in (4, 8, 16):
        raise BadBitmap("BMP of %d bpp" % bpp)
    if h < 0:
        raise BadBitmap("top-down BMP")  # OnDiskBitmap reads the height as unsigned
    if w != width or h != height:
        raise BadBitmap("BMP %dx%d, want %dx%d" % (w, h, width, height))
    if file_size < MIN_BYTES or file_size > max_size(width, height):
        raise BadBitmap("BMP size %d" % file_size)
    if bpp <= 8 and not 2 <= colours <= 1 << bpp:
        raise BadBitmap("BMP palette of %d colours at %d bpp" % (colours, bpp))
    if offset < 14 + size + 4 * colours or offset + row_bytes(w, bpp) * h > file_size:
        raise BadBitmap("BMP pixels out of file")
    return file_size
