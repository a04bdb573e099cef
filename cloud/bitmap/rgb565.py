"""Colour arithmetic of the PyPortal's RGB565 panel, as lookup tables for Pillow.

The panel (an ILI9341/HX8357 in 16-bit mode) shows 32 levels of red and blue and 64 of green.
displayio truncates every RGB888 colour to RGB565 before sending it; the light the panel emits
for a 565 code is best modelled by expanding the code back with bit replication (5-bit 31 ->
255, not 248). Every table here is a 256-entry list per channel, so that ``Image.point`` applies
it to a whole image in C, and the cloud needs nothing beyond Pillow.
"""

from PIL import Image, ImageChops

RED_BITS, GREEN_BITS, BLUE_BITS = 5, 6, 5


def expand(code: int, bits: int) -> int:
    """The 8-bit level the panel shows for a ``bits``-wide code (bit replication)."""
    return (code << (8 - bits)) | (code >> (2 * bits - 8))


def truncate(value: int, bits: int) -> int:
    """The code displayio sends for an 8-bit channel value: its top ``bits`` bits."""
    return value >> (8 - bits)


def nearest_code(value: int, bits: int) -> int:
    """The code whose panel level is closest to ``value`` (ties go to the lower code)."""
    best = truncate(value, bits)
    candidates = (best, min(best + 1, (1 << bits) - 1))
    return min(candidates, key=lambda code: abs(expand(code, bits) - value))


def _table(function, bits: int) -> list[int]:
    return [function(value, bits) for value in range(256)]


def _panel(value: int, bits: int) -> int:
    return expand(truncate(value, bits), bits)


def _snap(value: int, bits: int) -> int:
    return expand(nearest_code(value, bits), bits)


# Per-channel tables concatenated in R, G, B order, the layout ``Image.point`` takes for RGB.
PANEL_LUT = _table(_panel, RED_BITS) + _table(_panel, GREEN_BITS) + _table(_panel, BLUE_BITS)
"""RGB888 -> what the panel shows (truncate to 565, expand)."""

SNAP_LUT = _table(_snap, RED_BITS) + _table(_snap, GREEN_BITS) + _table(_snap, BLUE_BITS)
"""RGB888 -> the nearest colour the panel can show. Idempotent, and fixed by ``PANEL_LUT``."""

# The two bytes of a little-endian 565 word, built from per-channel parts whose bits do not
# overlap, so that adding two parts never carries: high = RRRRRGGG, low = GGGBBBBB.
_HIGH_R = [truncate(v, RED_BITS) << 3 for v in range(256)]
_HIGH_G = [truncate(v, GREEN_BITS) >> 3 for v in range(256)]
_LOW_G = [(truncate(v, GREEN_BITS) & 0x7) << 5 for v in range(256)]
_LOW_B = [truncate(v, BLUE_BITS) for v in range(256)]


def snap(image: Image.Image) -> Image.Image:
    """Move every pixel of an RGB image to the nearest colour the panel can show."""
    return image.point(SNAP_LUT)


def panel(image: Image.Image) -> Image.Image:
    """What the panel shows for an RGB image that displayio truncates to 565."""
    return image.point(PANEL_LUT)


def pack(image: Image.Image) -> Image.Image:
    """Pack an RGB image into RGB565 words (by truncation), as an ``LA`` image.

    ``L`` holds each word's low byte and ``A`` its high byte, so ``tobytes("raw", "LA")`` yields
    the little-endian words a BMP stores.
    """
    red, green, blue = image.split()
    # Add the disjoint parts of each byte (no carries, see above), then interleave low/high.
    high = ImageChops.add(red.point(_HIGH_R), green.point(_HIGH_G))
    low = ImageChops.add(green.point(_LOW_G), blue.point(_LOW_B))
    return Image.merge("LA", (low, high))
