"""How close a device bitmap looks to its photo: the one measure of the bitmap bench and tests.

* **reference**: an aspect-correct Lanczos resize of the original to the screen (the centre crop
  that ``cover`` shows), in full RGB888;
* **shown**: :func:`cloud.bitmap.panel_view` of the bitmap, the colours the RGB565 panel emits;
* **perceived SSIM**: both blurred by a Gaussian of sigma 1 pixel, then SSIM. At arm's length
  the eye merges neighbouring pixels of a 2.4-3.5 inch panel, which is what dithering relies on;
  without the blur SSIM scores a dithered picture as noise;
* **raw SSIM**: the same without the blur.

SSIM is scikit-image's (7x7 window, per channel, then the mean), on 0..255 values.
:func:`original_sample` is the conversion of the project's original sample, for comparison.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.metrics import structural_similarity

from cloud.bitmap import fit, panel_view

BLUR_SIGMA = 1.0


def reference(photo: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """The ideal picture: ``photo`` (any mode) resized with Lanczos to the ``cover`` crop."""
    rgb = photo.convert("RGB")
    box = fit.crop_box(rgb.size, size)
    return np.asarray(rgb.resize(size, Image.Resampling.LANCZOS, box=box))


def shown(bmp: bytes) -> np.ndarray:
    """What the panel shows for ``bmp``, as an (h, w, 3) uint8 array."""
    return np.asarray(panel_view(bmp))


def raw_ssim(ideal: np.ndarray, seen: np.ndarray) -> float:
    return float(structural_similarity(ideal, seen, channel_axis=2, data_range=255))


def perceived_ssim(ideal: np.ndarray, seen: np.ndarray) -> float:
    def blur(pixels: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(pixels.astype(float), (BLUR_SIGMA, BLUR_SIGMA, 0))

    return float(structural_similarity(blur(ideal), blur(seen), channel_axis=2, data_range=255))


def scores(photo: Image.Image, bmp: bytes, size: tuple[int, int]) -> tuple[float, float]:
    """``(perceived, raw)`` SSIM of ``bmp`` against ``photo`` on a screen of ``size``."""
    ideal, seen = reference(photo, size), shown(bmp)
    return perceived_ssim(ideal, seen), raw_ssim(ideal, seen)


def original_sample(photo: Image.Image, size: tuple[int, int], keep_aspect: bool = False
                    ) -> bytes:
    """The original sample's conversion: a plain resize to the screen (aspect ignored, Pillow's
    default filter), a fixed web-safe palette, no dithering, an 8-bit BMP.

    :param keep_aspect: resize to the ``cover`` crop instead, to tell what the palette costs
        from what the distortion costs.
    """
    rgb = photo.convert("RGB")
    box = fit.crop_box(rgb.size, size) if keep_aspect else None
    indexed = rgb.resize(size, box=box).convert(
        "P", palette=Image.Palette.WEB, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    indexed.save(buffer, "BMP")
    return buffer.getvalue()
