"""Fitting a photo to the screen without distortion: ``cover`` (centre crop) or ``contain``.

Both keep the aspect ratio. ``cover`` fills the screen and crops the overflow equally from both
sides; ``contain`` shows the whole photo and fills the rest with black bars, which on the
panel look like the bezel. Resampling is Lanczos; Pillow first box-reduces by whole factors
while the image is over ``REDUCING_GAP`` times too large, which keeps a several-megapixel PNG
fast with no visible loss.
"""

from PIL import Image

FITS = ("cover", "contain")
REDUCING_GAP = 3.0
_LANCZOS = Image.Resampling.LANCZOS


def scale(source: tuple[int, int], target: tuple[int, int], fit: str) -> float:
    """Output pixels per source pixel for ``fit``."""
    ratios = (target[0] / source[0], target[1] / source[1])
    return max(ratios) if fit == "cover" else min(ratios)


def crop_box(source: tuple[int, int],
             target: tuple[int, int]) -> tuple[float, float, float, float]:
    """The centred region of ``source`` that ``cover`` shows, in (fractional) source pixels."""
    factor = scale(source, target, "cover")
    width, height = target[0] / factor, target[1] / factor
    left, top = (source[0] - width) / 2, (source[1] - height) / 2
    # Clamp: rounding can put an edge a hair outside the image, which Pillow refuses.
    return (
        max(0.0, left),
        max(0.0, top),
        min(source[0], left + width),
        min(source[1], top + height),
    )


def inner_size(source: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """The size of the photo inside the ``contain`` letterbox (at least 1x1)."""
    factor = scale(source, target, "contain")
    width = min(target[0], max(1, round(source[0] * factor)))
    height = min(target[1], max(1, round(source[1] * factor)))
    return width, height


def fit_image(
    image: Image.Image, target: tuple[int, int], fit: str
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """Resize ``image`` (``L``, ``RGB`` or ``RGBA``) to exactly ``target`` as ``RGB``.

    Transparent areas become black, as if the photo lay on the black panel.

    :returns: the framed image, and the box the photo occupies in it (the whole frame for
        ``cover``; inside the black bars for ``contain``).
    """
    if fit == "cover":
        box = crop_box(image.size, target)
        framed = image.resize(target, _LANCZOS, box=box, reducing_gap=REDUCING_GAP)
        offset = (0, 0)
    else:
        framed = image.resize(inner_size(image.size, target), _LANCZOS, reducing_gap=REDUCING_GAP)
        offset = ((target[0] - framed.width) // 2, (target[1] - framed.height) // 2)
    photo_box = (*offset, offset[0] + framed.width, offset[1] + framed.height)
    if framed.mode == "RGB" and framed.size == target:
        return framed, photo_box
    canvas = Image.new("RGB", target, (0, 0, 0))
    # Pillow resizes RGBA premultiplied, so pasting with the alpha mask is compositing on black.
    mask = framed.getchannel("A") if framed.mode == "RGBA" else None
    canvas.paste(framed.convert("RGB"), offset, mask)
    return canvas, photo_box
