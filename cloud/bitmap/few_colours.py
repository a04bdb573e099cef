"""A photo in 16 colours (``depth=4``): two palettes tried, dithered in bands, the closer kept.

Measured on the bench's photos (``bench.bitmap``'s ``quantisers_d4`` table; the numbers are in
``cloud/mars/README.md``):

1. **The palette** is chosen in CIELAB (:func:`~cloud.bitmap.lab_palette.palette_for`).
2. **Dithered in bands** of ``BAND_ROWS`` rows: Floyd-Steinberg (Pillow's, in C) within each
   band, the error left at a band's lower edge dropped. With 16 colours plain error diffusion
   carries a flat area's error a long way, until it fires a far colour (green calibration-chip
   dots on a grey deck, white dots in the sky); after the eye's blur that noise costs more
   than the slightly wrong shade that passing on less of the error gives. A reduced error gain
   does that best, but needs a loop Pillow does not have (in Python, six times the whole
   conversion's budget); bands of 3 rows come close for a millisecond. 2 rows lose detail, 6
   keep noise.
3. **A second palette**, :func:`~cloud.bitmap.lab_palette.refined` against that dither, dithered
   the same way.
4. **The closer kept**, as :class:`~cloud.bitmap.likeness.Likeness` judges them (the first on a
   tie): the refined palette suits photos of a few large areas (rover deck, sky) and dulls
   photos of many colours, and a cheap look at both tells them apart.
"""

from __future__ import annotations

from PIL import Image

from cloud.bitmap import lab_palette
from cloud.bitmap.likeness import Likeness

BAND_ROWS = 3


def dithered(photo: Image.Image, colours: int, reserved: list[int]) -> Image.Image:
    """``photo`` (RGB) as a mode ``P`` image of at most ``colours`` chosen panel colours
    followed by the ``reserved`` ones (flat ``[r, g, b, ...]``, which the dithering may use)."""
    lab = lab_palette.lab_bytes(photo)
    first = dither_in_bands(photo, lab_palette.palette_for(photo, colours, lab=lab) + reserved)
    palette = lab_palette.refined(photo, first, colours, lab_palette.lightness(lab))
    second = dither_in_bands(photo, palette + reserved)
    likeness = Likeness(photo)
    return second if likeness.of(second) > likeness.of(first) else first


def dither_in_bands(image: Image.Image, palette: list[int], rows: int = BAND_ROWS
                    ) -> Image.Image:
    """``image`` (RGB) Floyd-Steinberg dithered onto ``palette`` (flat ``[r, g, b, ...]``) in
    bands of ``rows`` rows, each band's error kept within it."""
    holder = Image.new("P", (1, 1))
    holder.putpalette(palette)
    indexed = Image.new("P", image.size)
    indexed.putpalette(palette)
    for top in range(0, image.height, rows):
        box = (0, top, image.width, min(image.height, top + rows))
        indexed.paste(image.crop(box).quantize(palette=holder, dither=Image.Dither.FLOYDSTEINBERG),
                      box[:2])
    return indexed
