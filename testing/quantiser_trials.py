"""Depth-4 quantisers tried and not shipped, for ``bench.bitmap``'s ``quantisers_d4`` table.

They need numpy or a per-pixel Python loop, which the Lambda has neither the package nor the
time for (its conversion budget is 60 ms; one loop below takes a few hundred):

* :func:`error_diffusion`: Floyd-Steinberg in Python, with the variants Pillow's C loop lacks:
  serpentine scanning, a reduced error gain, a clamped error. Its plain run scores a little
  below Pillow's (float error, another nearest-colour table), so the variants are compared
  with it, not with Pillow's;
* :func:`weighted_palette`: k-means in CIELAB with each pixel weighted by its colour's
  saturation or by the local contrast around it, so that small saturated or detailed areas
  weigh more than their share of pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from cloud.bitmap import lab_palette, rgb565

_CELL = 4  # the nearest-colour table holds one entry per 4x4x4 RGB cell (as Pillow's)
SATURATION_SCALE = 20


def _nearest_table(palette: list[int]) -> list[int]:
    """The index of the nearest palette entry for each cell's centre, flat over (r, g, b)."""
    entries = np.asarray(palette, float).reshape(-1, 3)
    centres = np.arange(_CELL / 2 - 0.5, 256, _CELL)
    red, green, blue = np.meshgrid(centres, centres, centres, indexing="ij")
    cells = np.stack([red.ravel(), green.ravel(), blue.ravel()], 1)
    nearest = np.empty(len(cells), np.int64)
    for start in range(0, len(cells), 65536):
        chunk = cells[start : start + 65536]
        nearest[start : start + 65536] = ((chunk[:, None] - entries[None]) ** 2).sum(2).argmin(1)
    return nearest.tolist()


def error_diffusion(image: Image.Image, palette: list[int], *, gain: float = 1.0,
                    clamp: float = 255.0, serpentine: bool = False) -> Image.Image:
    """``image`` (RGB) Floyd-Steinberg dithered onto ``palette`` in Python.

    :param gain: the share of each pixel's error passed on (1 is Floyd-Steinberg).
    :param clamp: the largest error per channel passed on.
    :param serpentine: scan every other row right to left.
    """
    width, height = image.size
    entries = [tuple(palette[i : i + 3]) for i in range(0, len(palette), 3)]
    table, side = _nearest_table(palette), 256 // _CELL
    pixels = list(image.getdata())
    out = bytearray(width * height)
    below = [0.0] * (3 * (width + 2))
    for y in range(height):
        here, below = below, [0.0] * (3 * (width + 2))
        step = -1 if serpentine and y % 2 else 1
        for x in range(width) if step == 1 else range(width - 1, -1, -1):
            red, green, blue = pixels[y * width + x]
            at = 3 * (x + 1)
            red = min(255.0, max(0.0, red + here[at]))
            green = min(255.0, max(0.0, green + here[at + 1]))
            blue = min(255.0, max(0.0, blue + here[at + 2]))
            index = table[(int(red) // _CELL * side + int(green) // _CELL) * side
                          + int(blue) // _CELL]
            out[y * width + x] = index
            got = entries[index]
            errors = [min(clamp, max(-clamp, gain * (red - got[0]))),
                      min(clamp, max(-clamp, gain * (green - got[1]))),
                      min(clamp, max(-clamp, gain * (blue - got[2])))]
            ahead, behind = at + 3 * step, at - 3 * step
            for channel in range(3):
                error = errors[channel] / 16
                here[ahead + channel] += 7 * error
                below[behind + channel] += 3 * error
                below[at + channel] += 5 * error
                below[ahead + channel] += error
    indexed = Image.frombytes("P", image.size, bytes(out))
    indexed.putpalette(palette)
    return indexed


def weighted_palette(image: Image.Image, weight: str, colours: int = 16,
                     rounds: int = 10) -> list[int]:
    """Depth 4's palette, its k-means continued with each pixel weighted, then exact means,
    extremes and panel colours as depth 4 does.

    :param weight: ``"saturation"``: by ``(1 + chroma / SATURATION_SCALE) ** 2`` (CIELAB
        chroma: Mars dust is about 20, a calibration chip 60 to 80); ``"contrast"``: by the
        local standard deviation of the blurred photo (7x7 pixels, as SSIM sees it), floored
        at SSIM's constant (``sqrt(C2)``, 7.65).
    """
    lab = lab_palette.scaled_lab(image)
    points = np.asarray(lab, float).reshape(-1, 3)
    if weight == "saturation":
        chroma = np.hypot(points[:, 1] - 128, points[:, 2] - 128) / lab_palette.LAB_SCALE
        weights = (1 + chroma / SATURATION_SCALE) ** 2
    else:
        blurred = ndimage.gaussian_filter(np.asarray(image, float), (1, 1, 0))
        mean = ndimage.uniform_filter(blurred, (7, 7, 1))
        variance = ndimage.uniform_filter(blurred**2, (7, 7, 1)) - mean**2
        weights = np.sqrt(np.clip(variance, 0, None).mean(2) + (0.03 * 255) ** 2).ravel()
    start = lab_palette.palette_for(image, colours, keep_extremes=False)
    centres = np.asarray(lab_palette.scaled_lab(
        Image.frombytes("RGB", (len(start) // 3, 1), bytes(start))), float).reshape(-1, 3)
    for _ in range(rounds):
        labels = ((points[:, None] - centres[None]) ** 2).sum(2).argmin(1)
        total = np.bincount(labels, weights, len(centres))
        for channel in range(3):
            summed = np.bincount(labels, weights * points[:, channel], len(centres))
            centres[:, channel] = np.where(total > 0, summed / np.maximum(total, 1e-9),
                                           centres[:, channel])
    labels = ((points[:, None] - centres[None]) ** 2).sum(2).argmin(1)
    rgb = np.asarray(image, float).reshape(-1, 3)
    count = np.bincount(labels, minlength=len(centres))
    means = [np.bincount(labels, rgb[:, channel], len(centres)) / np.maximum(count, 1)
             for channel in range(3)]
    entries = [[round(float(means[c][i])) for c in range(3)]
               for i in range(len(centres)) if count[i]]
    lab_palette.stretch_extremes(entries, lab_palette.lightness(lab_palette.lab_bytes(image)))
    return list(rgb565.snap(lab_palette.row_image(entries)).tobytes())
