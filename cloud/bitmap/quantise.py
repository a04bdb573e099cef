"""Choosing a palette for the RGB565 panel and diffusing the error (``depth=8`` and ``depth=4``).

An adaptive palette fits a photo far better than a fixed web palette, but the panel cannot show
most RGB888 colours: displayio truncates them to 565. So every palette entry is snapped to the
nearest panel colour (256 are chosen from the photo already moved to panel colours); what the
panel shows is then exactly what the quantiser chose, and Floyd-Steinberg diffuses the real
error (photo minus shown colour) instead of an error the panel would add afterwards.

256 colours are chosen in RGB (here); 16 in CIELAB (:mod:`~cloud.bitmap.lab_palette`), where
the choice decides far more of the picture, and dithered as :mod:`~cloud.bitmap.few_colours`
says.
"""

from PIL import Image

from cloud.bitmap import few_colours, lab_palette, rgb565

COLOURS = 256
FEW_COLOURS = 16
KMEANS_SETTLED = 1 / 150
"""k-means refinement after median cut stops once fewer than this share of the pixels change
colour: on natural photos that keeps nearly all of the gain (~+0.002 SSIM) for a third of the
time full convergence takes."""


def palette_for(image: Image.Image, colours: int = COLOURS) -> list[int]:
    """An adaptive palette of at most ``colours`` panel colours (flat ``[r, g, b, ...]``)."""
    if colours <= FEW_COLOURS:
        return lab_palette.palette_for(image, colours)
    chosen = rgb565.snap(image).quantize(
        colors=colours,
        method=Image.Quantize.MEDIANCUT,
        kmeans=max(1, round(image.width * image.height * KMEANS_SETTLED)),
        dither=Image.Dither.NONE,
    )
    flat = (chosen.getpalette("RGB") or [0, 0, 0])[: 3 * colours]
    return [rgb565.SNAP_LUT[256 * (i % 3) + value] for i, value in enumerate(flat)]


def quantise(image: Image.Image, photo_box: tuple[int, int, int, int] | None = None,
             colours: int = COLOURS) -> Image.Image:
    """``image`` (RGB) as a mode ``P`` image of at most ``colours`` panel colours,
    Floyd-Steinberg dithered (16 or fewer: :func:`few_colours.dithered`).

    :param photo_box: where the photo lies when the rest is letterbox bars. The bars get a
        reserved pure black entry and are kept out of the dithering, which would otherwise
        spill the photo's error into them as stray coloured dots.
    """
    if photo_box is None or photo_box == (0, 0, *image.size):
        return _dithered(image, colours, [])
    photo = _dithered(image.crop(photo_box), colours - 1, [0, 0, 0])
    palette = photo.getpalette("RGB") or [0, 0, 0]
    canvas = Image.new("P", image.size, len(palette) // 3 - 1)  # the black entry, last
    canvas.putpalette(palette)
    canvas.paste(photo, photo_box[:2])
    return canvas


def _dithered(photo: Image.Image, colours: int, reserved: list[int]) -> Image.Image:
    """``photo`` on ``colours`` chosen colours followed by the ``reserved`` ones."""
    if colours <= FEW_COLOURS:
        return few_colours.dithered(photo, colours, reserved)
    return dither(photo, palette_for(photo, colours) + reserved)


def dither(image: Image.Image, palette: list[int]) -> Image.Image:
    """``image`` (RGB) Floyd-Steinberg dithered onto ``palette`` (flat ``[r, g, b, ...]``)."""
    holder = Image.new("P", (1, 1))
    holder.putpalette(palette)
    return image.quantize(palette=holder, dither=Image.Dither.FLOYDSTEINBERG)
