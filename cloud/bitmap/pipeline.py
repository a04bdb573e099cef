"""Any photo in, a BMP that the PyPortal's ``displayio.OnDiskBitmap`` shows out.

The pipeline, one module per step:

1. :mod:`~cloud.bitmap.decode` opens the bytes, refuses decompression bombs before decoding,
   lets libjpeg decode at a reduced scale when the screen is much smaller, applies the EXIF
   orientation and normalises the mode;
2. :mod:`~cloud.bitmap.fit` crops (``cover``) or letterboxes (``contain``) with Lanczos;
3. :mod:`~cloud.bitmap.quantise` (``depth=8``: 256 colours; ``depth=4``: 16, chosen by
   :mod:`~cloud.bitmap.lab_palette`) or :mod:`~cloud.bitmap.rgb565` (``depth=16``) turn the
   colours into what the RGB565 panel can show;
4. :mod:`~cloud.bitmap.bmp` writes the bytes in the exact layout the board parses.

Only Pillow is needed, so the Lambda package stays small.
"""

from PIL import Image

from cloud.bitmap import bmp as bmp_format
from cloud.bitmap import decode, quantise, rgb565
from cloud.bitmap.errors import BitmapError
from cloud.bitmap.fit import FITS, fit_image, scale

MIN_SIDE, MAX_SIDE = 16, 1024
DEPTHS = (4, 8, 16)
DEPTHS_TEXT = f"{', '.join(map(str, DEPTHS[:-1]))} or {DEPTHS[-1]}"  # for messages


def convert(
    data: bytes,
    width: int,
    height: int,
    depth: int = 8,
    fit: str = "cover",
    *,
    max_pixels: int = 40_000_000,
) -> bytes:
    """Decode any image bytes and return a BMP for the device (depth 4, 8 or 16).

    :param data: the encoded image (JPEG, PNG, GIF, BMP, WebP or TIFF).
    :param width: output width in pixels, ``MIN_SIDE`` to ``MAX_SIDE``.
    :param height: output height in pixels, ``MIN_SIDE`` to ``MAX_SIDE``.
    :param depth: 4 for a 16-colour palette BMP (half the bytes of 8), 8 for a 256-colour
        palette BMP, 16 for an RGB565 ``BI_BITFIELDS`` BMP.
    :param fit: ``"cover"`` (centre crop, fills the screen) or ``"contain"`` (black bars).
    :param max_pixels: images declaring more pixels than this are refused undecoded.
    :returns: an uncompressed, bottom-up BMP of at least 138 bytes.
    :raises BitmapError: a parameter is out of range (the message names it), or the bytes are
        not a readable image, are corrupt or truncated, or declare too many pixels.
    """
    _check_parameters(data, width, height, depth, fit, max_pixels)
    framed, photo_box = frame(data, (width, height), fit, max_pixels)
    if depth == 16:
        bmp = bmp_format.write_rgb565(rgb565.pack(rgb565.snap(framed)))
    elif depth == 8:
        bmp = bmp_format.write_indexed(quantise.quantise(framed, photo_box))
    else:
        bmp = bmp_format.write_indexed4(quantise.quantise(framed, photo_box, 1 << depth))
    if len(bmp) < bmp_format.MIN_FILE_SIZE:  # cannot happen at 16x16 and up; keep it so
        raise AssertionError(f"BMP of {len(bmp)} bytes is shorter than the board accepts")
    return bmp


def frame(data: bytes, target: tuple[int, int], fit: str,
          max_pixels: int) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Steps 1 and 2: the photo decoded and fitted to ``target``, as ``RGB``, and the box it
    occupies (see :func:`~cloud.bitmap.fit.fit_image`). Parameters are not checked here."""
    with decode.open_image(bytes(data), max_pixels) as image:
        source = image.size
        if decode.orientation(image) in decode.SWAPS_AXES:
            source = (source[1], source[0])
        decode.draft_for(image, scale(source, target, fit))
        pixels = decode.load(image)
    return fit_image(pixels, target, fit)


def panel_view(bmp: bytes) -> Image.Image:
    """The BMP as the RGB565 panel shows it (decode, truncate each pixel to RGB565, expand).

    :raises BitmapError: ``bmp`` is not a readable BMP.
    """
    return rgb565.panel(bmp_format.read(bmp))


def _check_parameters(
    data: bytes, width: int, height: int, depth: int, fit: str, max_pixels: int
) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BitmapError(f"data must be bytes, not {type(data).__name__}")
    if len(data) == 0:
        raise BitmapError("data is empty: no image to convert")
    for name, side in (("width", width), ("height", height)):
        if not _is_int(side) or not MIN_SIDE <= side <= MAX_SIDE:
            raise BitmapError(
                f"{name} must be an integer from {MIN_SIDE} to {MAX_SIDE}, not {side!r}"
            )
    if not _is_int(depth) or depth not in DEPTHS:
        raise BitmapError(f"depth must be {DEPTHS_TEXT}, not {depth!r}")
    if fit not in FITS:
        raise BitmapError(f"fit must be 'cover' or 'contain', not {fit!r}")
    if not _is_int(max_pixels) or max_pixels < 1:
        raise BitmapError(f"max_pixels must be a positive integer, not {max_pixels!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
